"""Parse a volume in the SQL warehouse: one statement reads every new or changed PDF with
`read_files(..., format => 'binaryFile')` and parses it with `ai_parse_document`; the app only
stores what comes back (pages, chunks, the file's text), in batches, reporting progress.

A file's fingerprint is its size and modification time as read_files reports them, so a
resumed or repeated job asks the warehouse only for what is new or changed. A file the function
cannot read is stored as failed with the function's own message. Cancel stops reading results
at the next batch (the statement itself cannot be stopped part way); what was stored stays.
"""

from __future__ import annotations

from typing import Any

from data_access.sql.engine import SqlError
from services.core.errors import ValidationError
from services.core.jobs import JobContext
from services.core.workbench import Workbench
from services.data.ai_parse_result import ParseResultError, parsed_from_ai_parse_document
from services.data.documents_store import DocumentsStore, FileParse

STORE_BATCH = 50  # files stored per round of inserts: a few seconds of the warehouse's parsing each
_PATH = "regexp_replace(f.path, '^dbfs:', '')"  # read_files names volume files dbfs:/Volumes/…
_FINGERPRINT = "concat(CAST(f.length AS STRING), ':', CAST(unix_millis(f.modificationTime) AS STRING))"
# Every PDF of the volume beside its stored parse when its fingerprint still matches (a join,
# not EXISTS: Spark takes subquery predicates only in filters).
_PDFS = (
    "read_files(:volume, format => 'binaryFile') AS f LEFT JOIN {files} AS d "
    f"ON d.file_path = {_PATH} AND d.fingerprint = {_FINGERPRINT} WHERE lower(f.path) LIKE '%.pdf'"
)


def parse_in_warehouse(workbench: Workbench, volume: str, context: JobContext) -> dict[str, Any]:
    engine = workbench.backend.engine
    store = DocumentsStore(workbench)
    pdfs = _PDFS.format(files=workbench.table("document_files"))
    params = {"volume": volume}
    try:
        counts = engine.query_one(
            f"SELECT count(*) AS pdfs, count(d.file_path) AS unchanged FROM {pdfs}", params
        ) or {"pdfs": 0, "unchanged": 0}
        total, done = int(counts["pdfs"]), int(counts["unchanged"])
        context.report(done, total)
        parsed = failed = 0
        results = engine.stream(
            f"SELECT {_PATH} AS file_path, {_FINGERPRINT} AS fingerprint, "
            f"to_json(ai_parse_document(f.content, map('version', '2.0'))) AS result FROM {pdfs} AND d.file_path IS NULL",
            params, batch_rows=STORE_BATCH,
        )
        for batch in results:
            parses = [_file_parse(row) for row in batch]
            store.save_many(volume, parses, context.job_id)
            failed += sum(p.parsed is None for p in parses)
            parsed += sum(p.parsed is not None for p in parses)
            done += len(parses)
            context.report(done, total)
            if context.cancelled():
                break
    except SqlError as error:
        raise ValidationError(f"The warehouse could not parse {volume}: {error}") from error
    return {"volume_path": volume, "files": total, "parsed": parsed, "failed": failed, "unchanged": int(counts["unchanged"])}


def _file_parse(row: dict[str, Any]) -> FileParse:
    try:
        document = parsed_from_ai_parse_document(row["result"])
    except ParseResultError as error:
        name = str(row["file_path"]).rsplit("/", 1)[-1]
        return FileParse(row["file_path"], row["fingerprint"], None, f"{name} could not be parsed: {error}")
    return FileParse(row["file_path"], row["fingerprint"], document, None)
