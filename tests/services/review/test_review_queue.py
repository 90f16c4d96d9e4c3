from dataclasses import replace

import pytest
import sqlglot

from data_access.backends import Backend, open_local_backend
from data_access.identity import User
from data_access.sql.duckdb_engine import release_home
from data_access.sql.transpile import to_duckdb
from services.core.domain.governance import UsageConstraints
from services.core.domain.review import QueueFilter, ReviewAction
from services.core.errors import ValidationError
from services.core.workbench import Workbench, forget_prepared_stores, open_workbench
from services.generate.generation import GenerationService
from services.labels.canonical_labels import CanonicalLabelService
from services.review.actions import ReviewService
from services.review.queue import ReviewQueue
from tests.review_builders import CALIBRATION_REFS, ITEMS, LABELED_REFS, STARTING_LABELS, build_review_setup
from tests.test_sql_statements_parse_as_databricks import RecordingEngine

STARTING_REFS = set(LABELED_REFS) | set(CALIBRATION_REFS)  # pre-approved from canonical labels
PHI = UsageConstraints(("evaluation", "testing"), ("training", "validation"), "Contains PHI", "restricted")


@pytest.fixture
def setup(invoice_source):
    return build_review_setup(invoice_source, with_source=False)


@pytest.fixture
def queue(invoice_source):
    return ReviewQueue(invoice_source)


def _pairs(wb, setup):
    return GenerationService(wb).first_pairs(setup.training_sheet.id, 100)


def test_the_default_queue_is_every_pair_in_ordinal_order_paged_in_sql(setup, queue):
    ts = setup.training_sheet.id
    first = queue.page(ts, QueueFilter(), offset=0, limit=15)
    second = queue.page(ts, QueueFilter(), offset=15, limit=15)
    assert first.total == ITEMS
    assert [p.ordinal for p in first.pairs + second.pairs] == list(range(30))
    last = queue.page(ts, QueueFilter(), offset=ITEMS - 5, limit=15)
    assert [p.item_ref for p in last.pairs] == [f"INV-00{n}" for n in range(ITEMS - 5, ITEMS)]


def test_filters_by_status_mode_confidence_use_classification_and_text(invoice_source, setup, queue):
    ts = setup.training_sheet.id
    pairs = _pairs(invoice_source, setup)
    review = ReviewService(invoice_source)
    review.reject(pairs[10], 1)
    review.change_constraints(pairs[11], 1, PHI)

    def refs(**filters):
        found = queue.page(ts, QueueFilter(**filters), limit=100)
        assert found.total == len(found.pairs)
        return {p.item_ref for p in found.pairs}

    assert refs(statuses=("labeled",)) == STARTING_REFS
    assert refs(statuses=("rejected", "flagged")) == {"INV-0010"}
    assert refs(modes=("canonical",)) == STARTING_REFS
    high = {p.item_ref for p in pairs if p.ai_confidence is not None and p.ai_confidence >= 0.95}
    assert refs(confidence_min=0.95) == high
    assert refs(confidence_min=0.0, confidence_max=1.0) == {p.item_ref for p in pairs if p.ai_confidence is not None}
    assert refs(permitted_use="training") == STARTING_REFS  # approved and permitted
    assert len(refs(prohibited_use="training")) == ITEMS - STARTING_LABELS and "INV-0011" in refs(prohibited_use="training")
    assert refs(data_classification="restricted") == {"INV-0011"}
    assert refs(search="inv-0039") == {"INV-0039"}
    assert refs(search="Lakeside", statuses=("unlabeled",), confidence_max=0.9) == {
        p.item_ref for p in pairs if p.ai_confidence is not None and p.ai_confidence <= 0.9 and int(p.item_ref[-2:]) % 2
    }


def test_usable_for_lists_only_approved_pairs_whose_governance_permits_the_use(invoice_source, setup, queue):
    ts = setup.training_sheet.id
    pairs = {p.item_ref: p for p in _pairs(invoice_source, setup)}
    review = ReviewService(invoice_source)
    review.reject(pairs["INV-0001"], pairs["INV-0001"].row_version, note="Wrong invoice")  # pre-approved, then rejected
    review.flag(pairs["INV-0002"], pairs["INV-0002"].row_version, note="Check the amount")
    approved = review.approve(pairs["INV-0004"], 1).pair
    review.change_constraints(approved, approved.row_version, PHI)
    usable = queue.page(ts, QueueFilter(permitted_use="training"), limit=100)
    assert {p.item_ref for p in usable.pairs} == {"INV-0003", *CALIBRATION_REFS} and usable.total == 1 + len(CALIBRATION_REFS)
    # INV-0003, the calibration labels, and INV-0004 under PHI:
    assert queue.count(ts, QueueFilter(permitted_use="evaluation")) == 2 + len(CALIBRATION_REFS)
    assert queue.count(ts, QueueFilter(prohibited_use="training")) == ITEMS - 1 - len(CALIBRATION_REFS)


def test_search_takes_wildcards_literally(setup, queue):
    ts = setup.training_sheet.id
    assert queue.count(ts, QueueFilter(search="%")) == 0
    assert queue.count(ts, QueueFilter(search="INV_00")) == 0
    assert queue.count(ts, QueueFilter(search="'; DROP TABLE qa_pairs; --")) == 0
    assert queue.count(ts, QueueFilter()) == ITEMS


def test_next_and_previous_step_through_the_filtered_queue(invoice_source, setup, queue):
    ts = setup.training_sheet.id
    unlabeled = QueueFilter(statuses=("unlabeled",))
    first = queue.first(ts, unlabeled)
    assert first.item_ref == "INV-0000"
    after = queue.next_after(ts, unlabeled, first.ordinal)
    assert after.item_ref == "INV-0004"  # 1-3 arrived pre-approved
    assert queue.previous_before(ts, unlabeled, after.ordinal).item_ref == "INV-0000"
    assert queue.previous_before(ts, unlabeled, first.ordinal) is None
    assert queue.next_after(ts, unlabeled, 39) is None
    assert queue.position(ts, unlabeled, after) == 1
    # At the end of the queue, the next pair to review is the first one still waiting.
    assert queue.following(ts, unlabeled, 39).item_ref == "INV-0000"


def test_the_progress_block_counts_pre_approved_and_what_needs_review_per_reviewer(invoice_source, setup, queue):
    ts = setup.training_sheet.id
    pairs = _pairs(invoice_source, setup)
    mine, dana = ReviewService(invoice_source), ReviewService(replace(invoice_source, backend=replace(invoice_source.backend, user=User("dana@x", "dana"))))
    mine.approve(pairs[4], 1)
    mine.reject(pairs[5], 1)
    dana.flag(pairs[6], 1, "unsure")
    dana.approve(pairs[7], 1)
    progress = queue.progress(ts)
    assert (progress.total, progress.labeled, progress.canonical) == (ITEMS, STARTING_LABELS + 2, STARTING_LABELS)
    assert (progress.unlabeled, progress.rejected, progress.flagged, progress.needs_review) == (33, 1, 1, 35)
    counts = {r.reviewer: (r.labeled, r.rejected, r.flagged) for r in queue.reviewers(ts)}
    assert counts == {"tester@example.com": (1, 1, 0), "dana@x": (1, 0, 1)}


def test_the_progress_branches_add_up_to_the_total_as_pairs_are_decided(invoice_source, setup, queue):
    ts = setup.training_sheet.id
    pairs = _pairs(invoice_source, setup)
    review = ReviewService(invoice_source)
    review.approve(pairs[4], 1)
    review.approve(pairs[5], 1)
    review.reject(pairs[1], 1, "the canonical label does not fit this template")  # a pre-approved pair, rejected
    review.flag(pairs[6], 1, "unsure")
    p = queue.progress(ts)
    assert (p.labeled, p.canonical, p.approved_in_review) == (STARTING_LABELS + 1, STARTING_LABELS - 1, 2)
    assert p.labeled == p.canonical + p.from_source_column + p.approved_in_review
    assert p.needs_review == p.unlabeled + p.rejected + p.flagged == ITEMS - STARTING_LABELS - 1
    assert p.labeled + p.needs_review == p.total == ITEMS
    review.approve(pairs[1], 2)  # approved again by a reviewer: theirs now, no longer pre-approved
    p = queue.progress(ts)
    assert (p.labeled, p.canonical, p.approved_in_review, p.labeled + p.needs_review) == (STARTING_LABELS + 2, STARTING_LABELS - 1, 3, ITEMS)
    assert GenerationService(invoice_source).get(ts).counts == p  # the Training Sheet list counts alike


def test_the_pre_approved_chip_shows_pairs_that_arrived_labeled_and_nobody_reviewed_since(invoice_source, setup, queue):
    ts = setup.training_sheet.id
    chip = QueueFilter(pre_approved=True)
    pre_approved = sorted([*LABELED_REFS, *CALIBRATION_REFS])
    assert [p.item_ref for p in queue.page(ts, chip, limit=ITEMS).pairs] == pre_approved
    pairs = _pairs(invoice_source, setup)
    ReviewService(invoice_source).reject(pairs[2], 1, "stale label")
    assert [p.item_ref for p in queue.page(ts, chip, limit=ITEMS).pairs] == [ref for ref in pre_approved if ref != "INV-0002"]
    assert queue.count(ts, chip) == queue.progress(ts).canonical == STARTING_LABELS - 1
    assert chip.describe() == "pre-approved from canonical labels"
    shown = queue.page(ts, chip).pairs
    authors = queue.labelers(shown)
    assert {pair_id: (a.by, a.version) for pair_id, a in authors.items()} == {p.id: ("tester@example.com", 1) for p in shown}


def test_unknown_filter_values_are_refused(setup, queue):
    ts = setup.training_sheet.id
    for bad, message in (
        (QueueFilter(statuses=("approved",)), "Unknown status"),
        (QueueFilter(modes=("magic",)), "Unknown labeling mode"),
        (QueueFilter(confidence_min=1.5), "between 0 and 1"),
        (QueueFilter(confidence_min=0.9, confidence_max=0.5), "above the highest"),
        (QueueFilter(permitted_use="marketing"), "Unknown use"),
        (QueueFilter(data_classification="secret"), "Unknown data classification"),
        (QueueFilter(search="x" * 500), "at most 200"),
    ):
        with pytest.raises(ValidationError, match=message):
            queue.page(ts, bad)


def test_a_queue_filter_round_trips_through_json_and_describes_itself():
    queue = QueueFilter(statuses=("unlabeled",), confidence_min=0.95, prohibited_use="training", search="INV")
    assert QueueFilter.from_json(queue.to_json()) == queue
    assert QueueFilter.from_json(QueueFilter(pre_approved=True).to_json()).pre_approved
    assert queue.describe() == "status unlabeled, AI confidence ≥ 0.95, not usable for training, containing “INV”"


def test_every_review_statement_is_one_databricks_statement_that_runs_on_duckdb(settings):
    forget_prepared_stores()
    setup = build_review_setup(open_workbench(settings))
    forget_prepared_stores()
    local = open_local_backend(settings, User("tester@example.com", "tester"))
    recorder = RecordingEngine(local.engine)
    wb = Workbench(Backend(settings, recorder, local.files, local.catalog, local.user))
    ts = setup.training_sheet.id
    queue, review = ReviewQueue(wb), ReviewService(wb)
    everything = QueueFilter(
        statuses=("unlabeled", "flagged"), modes=("ai_generated",), confidence_min=0.1, confidence_max=1.0,
        permitted_use="training", prohibited_use="few_shot", data_classification="internal", search="INV",
    )
    queue.page(ts, everything)
    queue.page(ts, replace(everything, statuses=("labeled", "flagged"), pre_approved=True))  # the gate read in full
    queue.page(ts, everything, offset=10_000)  # past the end: the count alone, then the last page
    queue.progress(ts)
    queue.reviewers(ts)
    pairs = queue.page(ts, QueueFilter(statuses=("unlabeled",)), limit=10).pairs
    queue.following(ts, QueueFilter(), pairs[0].ordinal)
    queue.previous_before(ts, QueueFilter(), pairs[1].ordinal)
    queue.position(ts, QueueFilter(), pairs[1])
    review.approve(pairs[0], 1)
    review.approve(pairs[1], 1, response='{"urgency": "urgent"}')
    review.reject(pairs[2], 1, "no")
    review.flag(pairs[3], 1, "hm")
    review.undo_last(ts)
    review.undo_last(ts)
    review.undo_last(ts)
    review.undo_last(ts)
    canonical = queue.first(ts, QueueFilter(modes=("canonical",)))
    restricted = CanonicalLabelService(wb).get(canonical.canonical_label_id)  # an approval then tightens the pair
    CanonicalLabelService(wb).save(restricted.key, replace(restricted.content, constraints=PHI), restricted.version)
    review.approve(canonical, canonical.row_version, response='{"urgency": "urgent"}')
    review.undo_last(ts)
    linked = review.approve(pairs[4], 1).pair
    review.change_constraints(linked, linked.row_version, PHI)
    review.plan_bulk(ts, QueueFilter(confidence_min=0.95), ReviewAction.BULK_APPROVE)
    assert review.bulk_approve(ts, QueueFilter(confidence_min=0.95)).changed > 0
    assert review.bulk_reject(ts, QueueFilter(confidence_max=0.92)).changed > 0
    with pytest.raises(ValidationError):
        review.undo_last(ts)
    with pytest.raises(Exception, match="not saved"):
        review.reject(pairs[5], 7)
    assert recorder.statements
    for sql in dict.fromkeys(recorder.statements):
        parsed = [s for s in sqlglot.parse(sql, read="databricks") if s is not None]
        assert len(parsed) == 1, sql
        assert to_duckdb(sql).sql
    release_home(settings.home)
