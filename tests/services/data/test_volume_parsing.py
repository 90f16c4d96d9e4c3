"""Parsing a volume as a job: text layer or OCR per page, chunks with their place, a bad file
failing alone, progress, Cancel and Resume, and only new or changed files parsed again."""

from __future__ import annotations

import threading

import pytest

from data_access.ocr.recognizer import TesseractRecognizer, Word
from services.core.errors import ValidationError
from services.core.jobs import JobRunner
from services.data.documents_store import DocumentsStore
from services.data.sheets import SheetService
from services.data.volume_parsing import JOB_TYPE, ParseVolumeWork, VolumeParsing
from tests import hostile_files as corpus
from tests.builders import INVOICE_PDFS, joined_invoice_draft
from tests.document_builders import LETTER, digital_pdf, scanned_pdf
from tests.job_works import WAIT_S

VOLUME = "/Volumes/mirion_vital/raw/letters"


def _write(workbench, files: dict[str, bytes]) -> None:
    for name, data in files.items():
        workbench.backend.files.write_bytes(f"{VOLUME}/{name}", data)


def _run(workbench) -> dict:
    runner = JobRunner(workbench)
    job = runner.wait(VolumeParsing(workbench).start(VOLUME), WAIT_S)
    assert job.status == "succeeded", job.error
    return job.result


def test_each_page_is_read_from_its_text_layer_or_by_ocr_and_cut_into_chunks_in_reading_order(workbench):
    _write(workbench, {"digital.pdf": digital_pdf(pages=2), "scanned.pdf": scanned_pdf(), "notes.txt": b"not a pdf"})
    result = _run(workbench)
    assert result == {"volume_path": VOLUME, "files": 2, "parsed": 2, "failed": 0, "unchanged": 0}
    store = DocumentsStore(workbench)
    digital = store.pages(f"{VOLUME}/digital.pdf")
    assert [(p.page_number, p.method, p.confidence) for p in digital] == [(1, "text_layer", 1.0), (2, "text_layer", 1.0)]
    assert digital[1].text.splitlines() == [*LETTER, "Page 2 of 2"]
    [scanned] = store.pages(f"{VOLUME}/scanned.pdf")
    assert scanned.method == "ocr" and 0.8 < scanned.confidence <= 1.0
    assert "INV-7001" in scanned.text and "ACC-55120" in scanned.text
    chunks = workbench.backend.engine.query(
        f"SELECT chunk_index, text, x0, y0, x1, y1 FROM {workbench.table('document_chunks')} "
        "WHERE file_path = :path ORDER BY chunk_index", {"path": f"{VOLUME}/scanned.pdf"},
    )
    assert chunks and all(0 <= c["x0"] < c["x1"] <= 612 and 0 <= c["y0"] < c["y1"] <= 792 for c in chunks)
    assert [c["y0"] for c in chunks] == sorted(c["y0"] for c in chunks)
    file = store.file(f"{VOLUME}/scanned.pdf")
    assert file.status == "parsed" and file.page_count == 1 and "Total due" in file.parsed_text


def test_a_bad_pdf_is_recorded_as_failed_with_its_reason_and_the_others_are_parsed(workbench):
    _write(workbench, {f.name: f.data() for f in corpus.HOSTILE_PDFS} | {"good.pdf": digital_pdf()})
    result = _run(workbench)
    assert result["parsed"] == 1 and result["failed"] == len(corpus.HOSTILE_PDFS)
    files = {f.file_path.rsplit("/", 1)[-1]: f for f in DocumentsStore(workbench).files(VOLUME)}
    assert files["good.pdf"].status == "parsed"
    for hostile in corpus.HOSTILE_PDFS:
        stored = files[hostile.name]
        assert stored.status == "failed" and hostile.message in stored.error and hostile.name in stored.error
        assert DocumentsStore(workbench).pages(stored.file_path) == []


def test_only_new_or_changed_files_are_parsed_again(workbench):
    _write(workbench, {"a.pdf": digital_pdf(), "b.pdf": digital_pdf()})
    _run(workbench)
    _write(workbench, {"b.pdf": digital_pdf(("Changed since",)), "c.pdf": digital_pdf()})
    assert _run(workbench) | {"volume_path": VOLUME} == {"volume_path": VOLUME, "files": 3, "parsed": 2, "failed": 0, "unchanged": 1}
    assert DocumentsStore(workbench).file(f"{VOLUME}/b.pdf").parsed_text.startswith("Changed since")


class _GatedRecognizer(TesseractRecognizer):
    """Tesseract, held at its first page until the test opens the gate."""

    def __init__(self) -> None:
        super().__init__()
        self.entered, self.gate = threading.Event(), threading.Event()

    def words(self, png: bytes, dpi: int) -> list[Word]:
        self.entered.set()
        self.gate.wait(WAIT_S)
        return super().words(png, dpi)


def test_a_cancelled_parse_stops_after_the_file_in_hand_and_resumes_under_the_same_id(workbench):
    _write(workbench, {"a-scan.pdf": scanned_pdf(), "b.pdf": digital_pdf(), "c.pdf": digital_pdf()})
    recognizer = _GatedRecognizer()
    params = {"volume_path": VOLUME}
    runner = JobRunner(workbench)
    job_id = runner.submit(JOB_TYPE, params, work=ParseVolumeWork(workbench, params, recognizer))
    assert recognizer.entered.wait(WAIT_S)
    runner.cancel(job_id)
    recognizer.gate.set()
    cancelled = runner.wait(job_id, WAIT_S)
    assert cancelled.status == "cancelled" and (cancelled.processed_items, cancelled.total_items) == (1, 3)
    assert [f.file_path.rsplit("/", 1)[-1] for f in DocumentsStore(workbench).files(VOLUME)] == ["a-scan.pdf"]
    runner.resume(job_id)
    resumed = runner.wait(job_id, WAIT_S)
    assert resumed.status == "succeeded" and resumed.result["parsed"] == 2 and resumed.result["unchanged"] == 1
    assert VolumeParsing(workbench).latest_job(VOLUME).id == job_id
    assert len(DocumentsStore(workbench).files(VOLUME)) == 3


def test_a_folder_inside_a_volume_or_a_path_outside_volumes_is_refused(workbench):
    with pytest.raises(ValidationError, match="folder inside a volume"):
        VolumeParsing(workbench).start(f"{VOLUME}/sub")
    with pytest.raises(ValidationError):
        VolumeParsing(workbench).start("/tmp/elsewhere")


def test_a_sheet_joining_a_parsed_volume_gives_each_item_its_files_text_as_a_column(invoice_source):
    wb = invoice_source
    sheet = SheetService(wb).create(joined_invoice_draft())
    before = SheetService(wb).items(sheet, limit=2).items[0]
    assert before.fields["parsed_text"] is None
    runner = JobRunner(wb)
    job = runner.wait(VolumeParsing(wb).start(INVOICE_PDFS), WAIT_S)
    assert (job.result["parsed"], job.result["failed"]) == (5, 1)
    items = {i.item_ref: i for i in SheetService(wb).items(sheet, limit=7).items}
    assert items["INV-0003"].fields["parsed_text"] == "INV-0003 page 1\n\nINV-0003 page 2"
    assert items["INV-0005"].fields["parsed_text"] is None  # its PDF is damaged: failed, with its reason
    assert "parsed_text" in SheetService(wb).check_for_reading(sheet).query.columns


def test_a_template_reads_an_items_parsed_text_as_a_placeholder(invoice_source):
    from services.core.domain.template import FieldType, SchemaField, TemplateDraft
    from services.templates.prompt_templates import TemplateService

    wb = invoice_source
    sheet = SheetService(wb).create(joined_invoice_draft(sample_size=2))
    assert JobRunner(wb).wait(VolumeParsing(wb).start(INVOICE_PDFS), WAIT_S).status == "succeeded"
    draft = TemplateDraft(
        name="Summaries", label_type="summarization", user_prompt_template="Summarize this invoice:\n{{ parsed_text }}",
        output_schema=(SchemaField("summary", FieldType.STRING),), source_sheet_id=sheet.id,
    )
    results = TemplateService(wb).test_on_sheet(draft, sheet.id, n_rows=2)
    assert [r.messages[-1].content for r in results] == [
        "Summarize this invoice:\nINV-0000 page 1\n\nINV-0000 page 2", "Summarize this invoice:\nINV-0001 page 1\n\nINV-0001 page 2",
    ]


def test_without_tesseract_a_scanned_file_fails_saying_what_to_install_and_digital_ones_still_parse(workbench, monkeypatch):
    _write(workbench, {"digital.pdf": digital_pdf(), "scanned.pdf": scanned_pdf()})
    monkeypatch.setenv("PATH", "/nonexistent")
    result = _run(workbench)
    assert (result["parsed"], result["failed"]) == (1, 1)
    error = DocumentsStore(workbench).file(f"{VOLUME}/scanned.pdf").error
    assert error.startswith("scanned.pdf, page 1: Tesseract is not installed") and "brew install tesseract" in error
