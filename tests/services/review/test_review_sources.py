import pytest

from services.core.domain.canonical_label import LabelContent, LabelKey
from services.data.source_previews import Box
from services.generate.generation import GenerationService
from services.labels.canonical_labels import CanonicalLabelService
from services.review.sources import boxes_in, source_of
from tests.builders import INVOICE_PDFS
from tests.review_builders import build_review_setup


@pytest.fixture
def setup(invoice_source):
    return build_review_setup(invoice_source, with_source=False)


def test_the_card_shows_the_row_its_files_and_the_boxes_of_the_items_labels(invoice_source, setup):
    boxes = {"boxes": [{"x_min": 1, "y_min": 2, "x_max": 30, "y_max": 40, "label": "stamp"}, {"x_min": "left"}, "box"]}
    CanonicalLabelService(invoice_source).save(LabelKey(setup.sheet.id, "INV-0000", "localization"), LabelContent(boxes), 0)
    pair = next(p for p in GenerationService(invoice_source).first_pairs(setup.training_sheet.id, 5) if p.item_ref == "INV-0000")
    source = source_of(invoice_source, pair)
    assert source.problem is None
    assert (source.fields["invoice_id"], source.fields["provider_name"]) == ("INV-0000", "City Medical Center")
    assert [m.path for m in source.media] == [f"{INVOICE_PDFS}/INV-0000.pdf"]
    assert source.boxes == [Box(1, 2, 30, 40, "stamp")]


def test_malformed_boxes_are_skipped_and_the_rest_drawn():
    assert boxes_in({"boxes": [{"x_min": 5, "y_min": 5, "x_max": 1, "y_max": 9}, {"x_min": 0, "y_min": 0, "x_max": 2, "y_max": 2}]}) == [Box(0, 0, 2, 2)]
    assert boxes_in({"urgency": "routine"}) == [] and boxes_in(None) == [] and boxes_in({"boxes": "none"}) == []
