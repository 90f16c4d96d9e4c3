"""PyMuPDF, without the optional packages it imports when they are installed.

PyMuPDF 2.0 installs pymupdf-layout and pymupdf4llm as dependencies and imports both on its own
import: about 1.5 s and 75 MB (an ONNX layout model, networkx) in every process that reads a PDF.
The workbench uses neither (text, blocks, rendering and OCR are PyMuPDF's own), so they are marked
absent first; PyMuPDF catches the ImportError as it does when they are not installed. Import
PyMuPDF from here, never directly.
"""

import sys

for _optional in ("pymupdf.layout", "pymupdf4llm"):
    sys.modules.setdefault(_optional, None)  # type: ignore[arg-type]

import pymupdf  # noqa: E402

__all__ = ["pymupdf"]
