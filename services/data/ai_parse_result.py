"""What Databricks' `ai_parse_document` returns (output schema version 2.0), as a ParsedDocument.

The result is `{"document": {"pages": [{"id", "image_uri"}], "elements": [{"id", "type",
"content", "bbox": [{"coord": [x0, y0, x1, y1], "page_id"}], "description"}]}, "error_status":
[{"error_message", "page_id"}], "metadata": {...}}`; page ids count from 0. Elements come in
reading order; each becomes a chunk on the page of its first box, at that box (in the units the
function reports, the rendered page image's pixels). A page's text is its elements' content in
order. The function reports no confidence, so pages carry none. A document whose every page
failed, or that has no pages, is an error with the function's own message.
"""

from __future__ import annotations

import json
from typing import Any

from services.data.document_parsing import Chunk, PageMethod, ParsedDocument, ParsedPage


class ParseResultError(ValueError):
    """The function could not read the document; the message is its own."""


def parsed_from_ai_parse_document(result_json: str | None) -> ParsedDocument:
    try:
        result = json.loads(result_json or "null")
    except json.JSONDecodeError as error:
        raise ParseResultError("ai_parse_document returned something that is not JSON.") from error
    if not isinstance(result, dict):
        raise ParseResultError("ai_parse_document returned no result for this file.")
    document = result.get("document") or {}
    errors = [e.get("error_message") or "unknown error" for e in result.get("error_status") or [] if isinstance(e, dict)]
    page_ids = [p.get("id") for p in document.get("pages") or [] if isinstance(p, dict)]
    if not page_ids:
        raise ParseResultError("; ".join(errors) or "ai_parse_document found no pages in this file.")
    chunks_by_page: dict[int, list[Chunk]] = {page_id: [] for page_id in page_ids}
    for element in document.get("elements") or []:
        chunk = _chunk(element)
        if chunk is not None and chunk.page_number - 1 in chunks_by_page:
            chunks_by_page[chunk.page_number - 1].append(chunk)
    pages, chunks = [], []
    for page_id in page_ids:
        page_chunks = [Chunk(c.page_number, i, c.text, c.x0, c.y0, c.x1, c.y1) for i, c in enumerate(chunks_by_page[page_id])]
        pages.append(ParsedPage(page_id + 1, PageMethod.AI_PARSE_DOCUMENT, None, "\n".join(c.text for c in page_chunks)))
        chunks += page_chunks
    return ParsedDocument(tuple(pages), tuple(chunks))


def _chunk(element: Any) -> Chunk | None:
    if not isinstance(element, dict) or not str(element.get("content") or "").strip():
        return None
    boxes = [b for b in element.get("bbox") or [] if isinstance(b, dict) and len(b.get("coord") or []) == 4]
    if not boxes:
        return None
    x0, y0, x1, y1 = (float(v) for v in boxes[0]["coord"])
    return Chunk(int(boxes[0].get("page_id") or 0) + 1, 0, str(element["content"]).strip(), x0, y0, x1, y1)
