"""From a PDF to a pair flagged for personal data, in headless Chromium on a real server and store.

In the browser: DATA uploads a referral letter (a PDF with a patient's name, date of birth, phone
and e-mail, made here with PyMuPDF) into the sheet's volume, parses the volume and shows the
letter's text on its item's card; GENERATE makes a Training Sheet from the sheet with a published
template that reads `{{ parsed_text }}` (manual mode); LABEL shows the pair's PII signal with its
reason and masked values, lists it under the PII filter, and tightens its governance in one click.
Built through the services before the server starts: the source table, the volume with one other
(clean) letter, the sheet and the published template. Read back through the services after the
server stops: the pair's constraints and the audit row of the change."""

import re

import pytest
from playwright.sync_api import expect

from data_access.pymupdf_lean import pymupdf
from services.core.domain.qa_pair import PairStatus
from services.core.domain.sheet import SecondarySource, SheetDraft, SourceKind
from services.core.domain.template import FieldType, SchemaField, TemplateDraft
from services.core.workbench import Workbench
from services.data.sheets import SheetService
from services.generate.generation import GenerationService
from services.review.actions import ReviewService
from services.templates.prompt_templates import TemplateService
from tests.browser.conftest import (
    choose,
    open_expander,
    open_page,
    serve_built_store,
    stop_app,
    store_after,
    wait_for_app,
)
from tests.browser.document_steps import parse_documents, parsed_text_card, upload_into_volume

LETTERS = "/Volumes/mirion_vital/raw/referral_letters"
CLEAN_LETTER = ("Referral letter REF-0001", "Routine follow-up of a sprained ankle.")
PERSONAL_LETTER = (
    "Referral letter REF-0002",
    "Patient: Jane Doe",
    "DOB: 1980-04-12",
    "Phone: (415) 555-0132",
    "Email: jane.doe@example.com",
    "Reason: follow-up of a knee injury.",
)
SHEET, TEMPLATE = "Referrals", "Referral summary"
REASON = "Personal data in the prompt: 1 person's name, 1 date of birth, 1 phone number, 1 e-mail address."
PAGE_TIMEOUT_MS = 90_000  # a page state after an action, on a busy 2-core machine beside other tests
JOB_TIMEOUT_MS = 120_000  # a job's end (parsing two one-page PDFs, generating two pairs), or the first signals


def letter_pdf(lines: tuple[str, ...]) -> bytes:
    document = pymupdf.open()
    page = document.new_page()
    for row, line in enumerate(lines):
        page.insert_text((72, 90 + row * 28), line, fontsize=14)
    return document.tobytes()


def _referrals(wb: Workbench) -> str:
    """Two referrals (REF-0001's clean letter already in the volume), their sheet, and a published
    template over the letters' parsed text; returns the sheet's id."""
    wb.backend.engine.execute("CREATE SCHEMA IF NOT EXISTS mirion_vital.raw")
    wb.backend.engine.execute(
        "CREATE TABLE mirion_vital.raw.referrals AS SELECT * FROM VALUES "
        "('REF-0001', 'Lakeside Clinic'), ('REF-0002', 'City Medical Center') AS r(referral_id, clinic)"
    )
    wb.backend.files.write_bytes(f"{LETTERS}/REF-0001.pdf", letter_pdf(CLEAN_LETTER))
    volume = SecondarySource(SourceKind.VOLUME, LETTERS, "referral_id")
    sheet = SheetService(wb).create(SheetDraft(SHEET, "mirion_vital.raw.referrals", "referral_id", secondary_sources=(volume,)))
    templates = TemplateService(wb)
    templates.publish(templates.create(TemplateDraft(
        TEMPLATE, "summarization", system_prompt="You summarise referral letters.",
        user_prompt_template="Referral {{ referral_id }} from {{ clinic }}:\n{{ parsed_text }}",
        output_schema=(SchemaField("summary", FieldType.STRING),),
    )))
    return sheet.id


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    app, sheet_id = serve_built_store(tmp_path_factory.mktemp("upload-to-pii") / "home", _referrals)
    yield app, sheet_id
    stop_app(app)


def test_an_uploaded_letter_with_personal_data_becomes_a_flagged_pair_whose_governance_tightens_in_one_click(served, page, tmp_path):
    app, sheet_id = served
    page.set_default_timeout(PAGE_TIMEOUT_MS)
    expect.set_options(timeout=PAGE_TIMEOUT_MS)
    # DATA: the letter uploaded into the volume, parsed, its text on the item's card.
    letter = tmp_path / "REF-0002.pdf"
    letter.write_bytes(letter_pdf(PERSONAL_LETTER))
    open_page(page, app.page_url("data", sheet=sheet_id), "Data")
    upload_into_volume(page, letter, items=2)
    parse_documents(page, files=2)
    page.get_by_text("2 PDFs parsed (2 pages, 0 read by OCR) · 0 could not be read").wait_for()
    parsed_text_card(page, "REF-0002").get_by_text("Patient: Jane Doe", exact=False).wait_for()

    # GENERATE: the sheet's items as pairs whose prompts carry the parsed text.
    open_page(page, app.page_url("generate"), "Generate")
    choose(page, "Sheet", f"{SHEET} · 2 items")
    wait_for_app(page)
    choose(page, "Published template", f"{TEMPLATE} v1.0.0 · summarization")
    wait_for_app(page)
    page.get_by_text("Manual (empty responses for an expert to write)").click()
    wait_for_app(page)
    page.get_by_role("button", name="Generate Training Sheet").click()
    page.get_by_text("2 of 2 items · succeeded").wait_for(timeout=JOB_TIMEOUT_MS)
    wait_for_app(page)
    page.get_by_role("link", name="Review this Training Sheet").click()

    # LABEL: the PII filter lists the letter's pair; its card shows the signal, masked, and tightens.
    page.get_by_text("Progress: 0 / 2 labeled").wait_for(timeout=JOB_TIMEOUT_MS)  # after the signals, computed on queue load
    wait_for_app(page)
    open_expander(page, "Filter the queue")
    choose(page, "LABEL signal", "Personal data found (1)")
    wait_for_app(page)
    page.get_by_text(re.compile(r"^1 pairs in this queue \(.*flagged by the pii signal\)")).wait_for()
    page.get_by_text(re.compile(r"^REF-0002 unlabeled")).wait_for()
    warning = page.get_by_test_id("stAlertContentWarning").filter(has_text="PII signal")
    expect(warning).to_contain_text(f"PII signal (rules): {REASON}")
    assert warning.locator("code").all_inner_texts() == ["**** *oe", "****-**-12", "(***) ***-**32", "****.***@*******.*om"]
    assert not any(value in warning.inner_text() for value in ("Jane Doe", "1980-04-12", "555-0132", "jane.doe@example.com"))
    badges = page.get_by_test_id("stMarkdownContainer").filter(has_text=re.compile(r"^(All uses allowed|Training prohibited)"))
    expect(badges).to_have_text("All uses allowed internal")  # shown, not decided
    page.get_by_text(re.compile(r"^Proposed: Training prohibited: PII signal: .* restricted\. Nothing changes until you confirm\.$")).wait_for()
    page.get_by_role("button", name="Tighten governance for personal data").click()
    wait_for_app(page)
    page.get_by_text("Governance tightened for personal data: training and validation prohibited, restricted (audited).").wait_for()
    page.get_by_text("Its governance already keeps it out of training and validation.").wait_for()
    expect(badges).to_have_text(f"Training prohibited: PII signal: {REASON} Restricted Not for validation restricted")

    # The store: the pair's constraints tightened, and the change audited.
    with store_after(app) as wb:
        [training_sheet] = GenerationService(wb).list()
        pairs = {p.item_ref: p for p in GenerationService(wb).first_pairs(training_sheet.id, 10)}
        pair = pairs["REF-0002"]
        assert "Patient: Jane Doe" in pair.prompt_messages[-1].content
        assert pair.status == PairStatus.UNLABELED  # a signal decides nothing: only governance changed
        assert {"training", "validation"} <= set(pair.constraints.prohibited_uses)
        assert not {"training", "validation"} & set(pair.constraints.allowed_uses)
        assert pair.constraints.data_classification == "restricted"
        [audit] = ReviewService(wb).constraint_audit(pair.id)
        assert audit.modified_by == "expert@mirion.example"
        assert audit.new.data_classification == "restricted" and audit.reason.startswith("PII signal: Personal data in the prompt")
        assert ReviewService(wb).constraint_audit(pairs["REF-0001"].id) == []
