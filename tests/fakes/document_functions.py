"""`read_files(..., format => 'binaryFile')` and `ai_parse_document` on the DB-API fake warehouse.

read_files lists a volume's files as Databricks does (`path` as `dbfs:/Volumes/…`, `content`,
`length`, `modificationTime`), from the files the loopback workspace holds, copied into the
warehouse by `publish_volume_files` (a real warehouse reads the volume itself). ai_parse_document
returns the function's output schema 2.0 as JSON: one page entry per page, the page's text
blocks as elements in reading order with their box on the page (PDF points here), and a file
that does not open as no pages and an `error_status` message. It reads text layers only: the
fake stands in for the service's wire shape, not for its vision model.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pymupdf

from tests.fakes.databricks_rest import FakeDatabricksRest
from tests.fakes.dbapi_fake import FakeWarehouse

_FILES_TABLE = "memory.main.fake_volume_files"


def install_document_functions(warehouse: FakeWarehouse) -> None:
    database = warehouse.database
    database.execute(f"CREATE TABLE IF NOT EXISTS {_FILES_TABLE} (path VARCHAR, content BLOB, length BIGINT, modificationTime TIMESTAMP)")
    database.execute(
        "CREATE OR REPLACE MACRO read_files(p, format := 'text') AS TABLE "
        f"SELECT path, content, length, modificationTime FROM {_FILES_TABLE} WHERE starts_with(path, 'dbfs:' || p || '/')"
    )
    database.create_function("ai_parse_document", _parse, ["BLOB", "MAP(VARCHAR, VARCHAR)"], "JSON", side_effects=True)


def publish_volume_files(warehouse: FakeWarehouse, rest: FakeDatabricksRest) -> None:
    """The workspace's volume files as the warehouse's read_files sees them now."""
    files = [(path, stored.data, stored.modified) for path, stored in rest.stored_files().items()]
    warehouse.database.execute(f"DELETE FROM {_FILES_TABLE}")
    for path, data, modified in files:
        warehouse.database.execute(
            f"INSERT INTO {_FILES_TABLE} VALUES (?, ?, ?, ?)",
            [f"dbfs:{path}", data, len(data), datetime.fromtimestamp(modified, UTC).replace(tzinfo=None)],
        )


def _parse(content: bytes, options: dict[str, str]) -> str:
    try:
        document = pymupdf.open(stream=content, filetype="pdf")
    except Exception as error:  # whatever MuPDF raises, the function reports it, as the service does
        return json.dumps(_failed(f"The document could not be read: {type(error).__name__}."))
    with document:
        if document.page_count == 0 or document.needs_pass:
            return json.dumps(_failed("The document has no readable pages."))
        pages, elements = [], []
        for page_id, page in enumerate(document):
            pages.append({"id": page_id, "image_uri": None})
            for block in page.get_text("blocks", sort=True):
                if block[6] == 0 and block[4].strip():
                    elements.append({
                        "id": len(elements), "type": "text", "content": block[4].strip(), "description": None,
                        "bbox": [{"coord": [round(v, 1) for v in block[:4]], "page_id": page_id}],
                    })
    return json.dumps({
        "document": {"pages": pages, "elements": elements}, "error_status": [],
        "metadata": {"id": "fake", "version": options.get("version", "2.0")},
    })


def _failed(message: str) -> dict[str, object]:
    return {"document": {"pages": [], "elements": []}, "error_status": [{"error_message": message, "page_id": 0}], "metadata": {}}
