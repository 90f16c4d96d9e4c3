"""Reading a PDF does not load PyMuPDF's optional layout analyser or pymupdf4llm (and the ONNX
runtime and networkx they bring): a fresh process that renders a page has none of them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
CODE = ("services", "data_access", "components", "pages", "api", "bench", "clients")


def test_a_process_that_renders_a_pdf_page_never_imports_the_layout_analyser():
    code = (
        "import sys\n"
        "from services.data.source_previews import *\n"
        "import pymupdf\n"
        "doc = pymupdf.open(); page = doc.new_page(); page.insert_text((72, 72), 'INV-0042'); page.get_pixmap()\n"
        "assert 'INV-0042' in page.get_text()\n"
        "print(sorted(m for m in ('onnxruntime', 'networkx', 'pymupdf4llm', 'pymupdf.layout') if sys.modules.get(m) is not None))\n"
    )
    run = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True, timeout=120)
    assert run.stdout.strip() == "[]", run.stdout + run.stderr


def test_pymupdf_is_imported_only_through_the_lean_module():
    direct = [
        str(path.relative_to(ROOT)) for folder in CODE for path in (ROOT / folder).rglob("*.py")
        if path.name != "pymupdf_lean.py" and any(
            line.strip() in ("import pymupdf", "import fitz") or line.strip().startswith("from pymupdf ")
            for line in path.read_text().splitlines()
        )
    ]
    assert direct == [], f"import PyMuPDF from data_access.pymupdf_lean: {direct}"
