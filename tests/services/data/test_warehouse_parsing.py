"""Parse documents on Databricks: one warehouse statement (read_files + ai_parse_document) through
the real databricks-sql-connector path against the DB-API fake, files through the real SDK
against the loopback workspace."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from data_access.backends import Backend
from data_access.catalog.databricks_browser import DatabricksCatalogBrowser
from data_access.schema.migrate import migrate
from data_access.settings import load_settings
from data_access.sql.databricks_engine import DatabricksSqlEngine
from data_access.volumes_databricks import DatabricksVolumeFiles
from services.core.jobs import JobRunner
from services.core.workbench import Workbench
from services.data.documents_store import DocumentsStore
from services.data.volume_parsing import VolumeParsing
from services.data.volume_uploads import upload
from tests.document_builders import LETTER, digital_pdf
from tests.fakes.databricks_rest import FakeDatabricksRest
from tests.fakes.dbapi_fake import FakeWarehouse
from tests.fakes.document_functions import install_document_functions, publish_volume_files
from tests.job_works import WAIT_S
from tests.monitor_databricks_builders import USER

VOLUME = "/Volumes/mirion_vital/raw/letters"


@contextmanager
def _databricks() -> Iterator[tuple[FakeDatabricksRest, FakeWarehouse, Workbench]]:
    with FakeDatabricksRest() as rest:
        warehouse = FakeWarehouse()
        install_document_functions(warehouse)
        engine = DatabricksSqlEngine(warehouse.connect)
        settings = load_settings({"WORKBENCH_BACKEND": "databricks", "DATABRICKS_WAREHOUSE_ID": "abc123", "WORKBENCH_DEMO_DATA": "0"})
        client = rest.client(USER.access_token)
        wb = Workbench(Backend(settings, engine, DatabricksVolumeFiles(client), DatabricksCatalogBrowser(client, engine), USER))
        migrate(engine, settings)
        rest.add_volume("mirion_vital.raw.letters")
        try:
            yield rest, warehouse, wb
        finally:
            engine.close()
            warehouse.close()


def _parse(wb: Workbench) -> dict:
    job = JobRunner(wb).wait(VolumeParsing(wb).start(VOLUME), WAIT_S)
    assert job.status == "succeeded", job.error
    return job.result


def test_on_databricks_one_statement_parses_the_volume_in_the_warehouse_and_its_text_is_stored():
    with _databricks() as (rest, warehouse, wb):
        wb.backend.files.write_bytes(f"{VOLUME}/a.pdf", digital_pdf(pages=2))
        wb.backend.files.write_bytes(f"{VOLUME}/broken.pdf", b"%PDF-1.7 cut short")
        wb.backend.files.write_bytes(f"{VOLUME}/notes.txt", b"not a pdf")
        publish_volume_files(warehouse, rest)
        assert _parse(wb) == {"volume_path": VOLUME, "files": 2, "parsed": 1, "failed": 1, "unchanged": 0}
        parsing = [s.sql for s in warehouse.received if "ai_parse_document" in s.sql]
        assert len(parsing) == 1 and "read_files(:volume, format => 'binaryFile')" in parsing[0]
        store = DocumentsStore(wb)
        pages = store.pages(f"{VOLUME}/a.pdf")
        assert [(p.page_number, p.method, p.confidence) for p in pages] == [(1, "ai_parse_document", None), (2, "ai_parse_document", None)]
        assert pages[1].text.splitlines() == [*LETTER, "Page 2 of 2"]
        broken = store.file(f"{VOLUME}/broken.pdf")
        assert broken.status == "failed" and broken.error == "broken.pdf could not be parsed: The document could not be read: FileDataError."
        # Again: nothing changed, so the warehouse is asked to parse nothing.
        assert _parse(wb)["unchanged"] == 2
        wb.backend.files.write_bytes(f"{VOLUME}/c.pdf", digital_pdf())
        publish_volume_files(warehouse, rest)
        assert _parse(wb) | {"volume_path": VOLUME} == {"volume_path": VOLUME, "files": 3, "parsed": 1, "failed": 0, "unchanged": 2}


def test_on_databricks_an_upload_goes_through_the_files_api_and_never_replaces_a_file():
    with _databricks() as (rest, _, wb):
        first = upload(wb, VOLUME, "../INV 9.pdf", digital_pdf())
        assert first.ok and first.path == f"{VOLUME}/INV_9.pdf"
        again = upload(wb, VOLUME, "INV_9.pdf", digital_pdf(("Other",)))
        assert not again.ok and "INV_9.pdf" in again.error
        refused = upload(wb, VOLUME, "broken.pdf", b"%PDF-1.7 cut short")
        assert "cannot be opened: the file is damaged or is not a PDF" in refused.error
        assert sorted(rest.stored_files()) == [f"{VOLUME}/INV_9.pdf"]
