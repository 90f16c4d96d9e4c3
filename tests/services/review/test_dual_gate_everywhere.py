"""The dual gate, end to end on the real store: random label constraints, random source tags and
random review decisions, and every consumer that says "usable for U" must agree with the rule:
approved (status labeled) AND the label permits U AND the source's current tags permit U."""

import random

from services.core.domain.canonical_label import LabelContent, LabelKey
from services.core.domain.governance import ALL_USES, DataClassification, UsageConstraints
from services.core.domain.qa_pair import LabelingMode
from services.core.domain.review import QueueFilter
from services.core.domain.sheet import SheetDraft
from services.core.governance import constraints_from_tags, usable_for, usable_for_sql
from services.data.sheets import SheetService
from services.generate.generation import GenerationService
from services.generate.reuse_report import ReuseReport
from services.labels.canonical_labels import CanonicalLabelService
from services.review.actions import ReviewService
from services.review.queue import ReviewQueue
from tests.review_builders import generate, publish_template

ITEMS = 60
ROUNDS = 4
TAG_SETS = ({}, {"PHI": "restricted"}, {"pii": "HIPAA"}, {"Confidential": "no"}, {"PHI": "x", "CONFIDENTIAL": "y"}, {"owner": "billing"})
DECISIONS = ("keep", "approve", "reject", "flag")


def _random_constraints(rng):
    prohibited = tuple(u for u in ALL_USES if rng.random() < 0.3)
    allowed = tuple(u for u in ALL_USES if rng.random() < 0.7 and u not in prohibited)
    return UsageConstraints(allowed, prohibited, rng.choice(["", "Cleared", "Held-out"]), rng.choice(list(DataClassification)).value)


def _retag(wb, tags):
    wb.backend.engine.execute("DELETE FROM main.uc_table_tags WHERE table_name = 'invoices'")
    if tags:
        wb.backend.catalog.set_table_tags("mirion_vital.raw.invoices", tags)


def test_no_pair_failing_either_gate_is_ever_counted_listed_or_exported_as_usable(invoice_source):
    wb, rng = invoice_source, random.Random(20260907)
    sheet = SheetService(wb).create(SheetDraft("Invoices", "mirion_vital.raw.invoices", "invoice_id", sample_size=ITEMS))
    template = publish_template(wb)
    labels = {}
    for i in rng.sample(range(ITEMS), ITEMS // 2):
        ref, constraints = f"INV-{i:04d}", _random_constraints(rng)
        CanonicalLabelService(wb).save(LabelKey(sheet.id, ref, "classification"), LabelContent({"urgency": "routine"}, constraints=constraints), 0)
        labels[ref] = constraints
    review, queue, engine = ReviewService(wb), ReviewQueue(wb), wb.backend.engine
    for _ in range(ROUNDS):
        tags = rng.choice(TAG_SETS)
        _retag(wb, tags)
        rule = constraints_from_tags(tags)
        ts = generate(wb, sheet.id, template.id, LabelingMode.MANUAL).id
        status = {}
        for pair in GenerationService(wb).first_pairs(ts, ITEMS):
            decision = rng.choice(DECISIONS)
            if decision == "approve":
                review.approve(pair, pair.row_version, response='{"urgency": "urgent"}')
                labels.setdefault(pair.item_ref, rule)  # a label the approval created takes the pair's constraints
            elif decision == "reject":
                review.reject(pair, pair.row_version)
            elif decision == "flag":
                review.flag(pair, pair.row_version, note="unsure")
            status[pair.item_ref] = "labeled" if decision == "approve" else {"reject": "rejected", "flag": "flagged"}.get(decision, pair.status)
        stored = GenerationService(wb).first_pairs(ts, ITEMS)
        for use in ALL_USES:
            truth = {
                ref for ref, s in status.items()
                if s == "labeled" and rule.permits(use) and (ref not in labels or labels[ref].permits(use))
            }
            assert {p.item_ref for p in stored if usable_for(p.status, p.constraints, use)} == truth, (tags, use)
            assert queue.count(ts, QueueFilter(permitted_use=use)) == len(truth)  # counted
            assert queue.count(ts, QueueFilter(prohibited_use=use)) == ITEMS - len(truth)
            assert {p.item_ref for p in queue.page(ts, QueueFilter(permitted_use=use), limit=ITEMS).pairs} == truth  # listed
            exported = engine.query(
                f"SELECT item_ref FROM {wb.table('qa_pairs')} WHERE training_sheet_id = :ts AND {usable_for_sql()}", {"ts": ts, "use": use}
            )
            assert {r["item_ref"] for r in exported} == truth  # what an export selects
        listed = {r.item_ref for r in ReuseReport(wb).pre_approved(ts) if r.training_allowed}
        training = {ref for ref, s in status.items() if s == "labeled" and rule.permits("training") and ref in labels and labels[ref].permits("training")}
        assert listed <= training and listed == {r.item_ref for r in ReuseReport(wb).pre_approved(ts)} & training
