import pytest

from services.core.domain.canonical_label import LabelContent, LabelKey
from services.core.domain.governance import UsageConstraints
from services.core.errors import NotFoundError, StaleWriteError, ValidationError
from services.labels.canonical_labels import CanonicalLabelService
from services.labels.constraint_audit import LabelConstraintAudit
from services.labels.label_schemas import ImageSize
from services.labels.labeling_session import BrowseFilter, LabelingSession, StatusFilter
from tests.labeling_builders import ENTITY_FIELDS, URGENCY_FIELDS, invoice_sheet, photo_sheet, published_template

UNLABELED = BrowseFilter(StatusFilter.UNLABELED)
LABELED = BrowseFilter(StatusFilter.LABELED)


@pytest.fixture
def invoices(workbench):
    sheet = invoice_sheet(workbench, sample_size=12)
    published_template(workbench, "classification", URGENCY_FIELDS, sheet_id=sheet.id)
    labels = CanonicalLabelService(workbench)
    for ref in ("INV-0002", "INV-0003", "INV-0007"):
        labels.save(LabelKey(sheet.id, ref, "classification"), LabelContent({"urgency": "routine"}), 0)
    labels.save(LabelKey(sheet.id, "INV-0003", "summarization"), LabelContent({"text": "A visit."}), 0)
    labels.save(LabelKey(sheet.id, "INV-0005", "summarization"), LabelContent({"text": "Another visit."}), 0)
    return LabelingSession(workbench, sheet, "classification")


def refs(page):
    return [i.item_ref for i in page.items]


def test_progress_counts_labels_of_the_session_type_against_the_sheets_items(invoices):
    progress = invoices.progress()
    assert (progress.labeled, progress.total) == (3, 12)


def test_a_page_of_all_items_shows_which_are_labeled_and_with_what(invoices):
    page = invoices.page(BrowseFilter(), 0, 4)
    assert refs(page) == ["INV-0000", "INV-0001", "INV-0002", "INV-0003"] and page.total == 12
    by_ref = {i.item_ref: i for i in page.items}
    assert by_ref["INV-0003"].label_types == ("classification", "summarization") and by_ref["INV-0003"].labeled
    assert not by_ref["INV-0000"].labeled and by_ref["INV-0000"].preview_kind == "pdf"
    assert "total_amount: 0.00" in by_ref["INV-0000"].summary


def test_filters_by_status_and_by_the_label_types_an_item_holds(invoices):
    assert refs(invoices.page(LABELED, 0, 10)) == ["INV-0002", "INV-0003", "INV-0007"]
    unlabeled = invoices.page(UNLABELED, 2, 3)
    assert refs(unlabeled) == ["INV-0004", "INV-0005", "INV-0006"] and unlabeled.total == 9
    summarized = BrowseFilter(has_label_type="summarization")
    assert refs(invoices.page(summarized, 0, 10)) == ["INV-0003", "INV-0005"]
    assert refs(invoices.page(BrowseFilter(StatusFilter.UNLABELED, "summarization"), 0, 10)) == ["INV-0005"]
    assert refs(invoices.page(BrowseFilter(StatusFilter.LABELED, "summarization"), 0, 10)) == ["INV-0003"]


def test_previous_and_next_move_within_the_filter_even_from_an_item_outside_it(invoices):
    assert (invoices.neighbours(BrowseFilter(), "INV-0002").previous, invoices.neighbours(BrowseFilter(), "INV-0002").next) == ("INV-0001", "INV-0003")
    around = invoices.neighbours(UNLABELED, "INV-0003")  # itself labeled
    assert (around.previous, around.next) == ("INV-0001", "INV-0004")
    labeled = invoices.neighbours(LABELED, "INV-0005")
    assert (labeled.previous, labeled.next) == ("INV-0003", "INV-0007")
    assert invoices.neighbours(LABELED, "INV-0007").next is None
    assert invoices.neighbours(BrowseFilter(), "INV-0000").previous is None


def test_the_next_unlabeled_item_wraps_around_to_the_start(invoices):
    assert invoices.next_unlabeled("INV-0001") == "INV-0004"
    assert invoices.next_unlabeled("INV-0011") == "INV-0000"
    assert invoices.next_unlabeled(None) == "INV-0000"


def test_saving_checks_the_label_and_starts_from_the_sources_governance(invoices):
    saved = invoices.save("INV-0004", {"urgency": "urgent"}, read_version=0, notes="Final notice stamp")
    assert saved.version == 1 and saved.label_data == {"urgency": "urgent"}
    assert not saved.constraints.permits("training") and saved.constraints.data_classification == "restricted"
    assert invoices.progress().labeled == 4
    with pytest.raises(ValidationError, match="allowed: routine, priority, urgent"):
        invoices.save("INV-0006", {"urgency": "whenever"}, read_version=0)
    with pytest.raises(NotFoundError, match="INV-0150 is not an item of 'Invoices'"):
        invoices.save("INV-0150", {"urgency": "urgent"}, read_version=0)  # in the table, outside the sheet's sample
    with pytest.raises(StaleWriteError):
        invoices.save("INV-0004", {"urgency": "routine"}, read_version=0)
    assert invoices.label("INV-0006") is None and invoices.label("INV-0004").label_data == {"urgency": "urgent"}


def test_clearing_a_label_for_training_needs_a_reason_and_is_audited(invoices, workbench):
    cleared = UsageConstraints(usage_reason="Source tagged PHI in Unity Catalog")
    with pytest.raises(ValidationError, match="say why in the reason"):
        invoices.save("INV-0004", {"urgency": "routine"}, 0, constraints=cleared)
    assert invoices.label("INV-0004") is None
    saved = invoices.save("INV-0004", {"urgency": "routine"}, 0, constraints=UsageConstraints(usage_reason="No PHI in an urgency label"))
    assert saved.constraints.permits("training")
    entries = LabelConstraintAudit(workbench).for_label(saved.id)
    assert len(entries) == 1 and entries[0].reason == "No PHI in an urgency label"
    assert entries[0].before.startswith("allowed: evaluation, few_shot, testing; prohibited: training, validation")
    assert entries[0].modified_by == "tester@example.com"
    invoices.save("INV-0004", {"urgency": "urgent"}, 1, constraints=saved.constraints)  # governance unchanged: no new entry
    assert len(LabelConstraintAudit(workbench).for_label(saved.id)) == 1


def test_a_rollback_is_a_new_version_and_audits_the_governance_it_restores(invoices, workbench):
    first = invoices.save("INV-0004", {"urgency": "routine"}, 0)
    invoices.save("INV-0004", {"urgency": "urgent"}, 1, constraints=UsageConstraints(usage_reason="Cleared by compliance"))
    rolled = invoices.rollback(first.id, to_version=1, read_version=2)
    assert (rolled.version, rolled.label_data) == (3, {"urgency": "routine"})
    assert not rolled.constraints.permits("training")
    assert len(LabelConstraintAudit(workbench).for_label(first.id)) == 2


def test_entity_labels_must_carry_every_required_entity(workbench):
    sheet = invoice_sheet(workbench, sample_size=5)
    published_template(workbench, "entity_extraction", ENTITY_FIELDS)
    session = LabelingSession(workbench, sheet, "entity_extraction")
    with pytest.raises(ValidationError, match="Missing required entity 'patient_name'"):
        session.save("INV-0001", {"total_amount": 10.0}, 0)
    assert session.progress().labeled == 0


def test_boxes_are_checked_against_the_items_image(workbench):
    sheet = photo_sheet(workbench)
    session = LabelingSession(workbench, sheet, "localization")
    item = session.item("INSP-001")
    assert session.image_size(item) == ImageSize(320, 240)
    box = {"x_min": 100, "y_min": 60, "x_max": 220, "y_max": 180, "label": "crack"}
    saved = session.save("INSP-001", {"boxes": [box]}, 0)
    assert saved.constraints.data_classification == "confidential"
    with pytest.raises(ValidationError, match="reaches outside the 320×240 image"):
        session.save("INSP-002", {"boxes": [{**box, "x_max": 400}]}, 0)
