"""Property: retrieval never returns an example whose source pair fails the few-shot gate at
the moment of retrieval (DESIGN invariant 10), whatever happened to the pair or its source
after sync; and it returns every example that still passes (so the check is not vacuous)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.core.domain.governance import ALL_USES, UsageConstraints, Use
from services.core.governance import tag_rule, usable_for
from services.core.workbench import Workbench
from services.example_store.examples import ExampleStore
from tests.example_store_builders import SOURCE_TABLE, pair_ids, set_pair, sheet_with_pairs, source_sheet_id, tag_source
from tests.train_builders import PairSpec

STATUSES = ("labeled", "review", "rejected", "flagged")
TAGS = ({}, {"CONFIDENTIAL": "true"}, {"PHI": "patient"}, {"PII": "false"})

pair_specs = st.builds(
    PairSpec,
    status=st.sampled_from(STATUSES),
    allowed=st.lists(st.sampled_from(ALL_USES), unique=True).map(tuple),
    prohibited=st.lists(st.sampled_from(ALL_USES), unique=True, max_size=2).map(tuple),
)
# After sync: each pair may get a new status, lose few_shot, or disappear.
changes = st.sampled_from(("keep", "reject", "relabel", "prohibit", "delete"))


@pytest.fixture
def source(workbench: Workbench) -> Workbench:
    source_sheet_id(workbench)
    return workbench


def _reset(wb: Workbench) -> None:
    engine = wb.backend.engine
    ExampleStore(wb).prune([r["example_id"] for r in engine.query(f"SELECT example_id FROM {wb.table('example_store')}")])
    for table in ("qa_pairs", "training_sheets", "templates"):
        engine.execute(f"DELETE FROM {wb.table(table)}")
    engine.raw("DELETE FROM main.uc_table_tags")  # type: ignore[attr-defined]


def _apply(wb: Workbench, pair_id: str, change: str) -> None:
    if change == "reject":
        set_pair(wb, pair_id, status="rejected")
    elif change == "relabel":
        set_pair(wb, pair_id, status="labeled")
    elif change == "prohibit":
        set_pair(wb, pair_id, prohibited=["few_shot"])
    elif change == "delete":
        wb.backend.engine.execute(f"DELETE FROM {wb.table('qa_pairs')} WHERE id = :id", {"id": pair_id})


def _usable_now(wb: Workbench) -> set[str]:
    """The pairs the few-shot gate lets through now, judged in Python, pair by pair."""
    tags = wb.backend.catalog.get_table(SOURCE_TABLE).tags
    rule = tag_rule(tags)
    if rule is not None and not rule.permits(Use.FEW_SHOT):
        return set()
    rows = wb.backend.engine.query(f"SELECT id, status, allowed_uses, prohibited_uses FROM {wb.table('qa_pairs')}")
    return {
        r["id"] for r in rows
        if usable_for(r["status"], UsageConstraints(tuple(r["allowed_uses"] or ()), tuple(r["prohibited_uses"] or ())), Use.FEW_SHOT)
    }


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(specs=st.lists(pair_specs, min_size=1, max_size=8), later=st.lists(changes, min_size=8, max_size=8), tags=st.sampled_from(TAGS))
def test_retrieval_returns_exactly_the_synced_examples_whose_pair_passes_the_gate_now(
    source: Workbench, specs: list[PairSpec], later: list[str], tags: dict[str, str],
) -> None:
    wb = source
    _reset(wb)
    sheet = sheet_with_pairs(wb, specs)
    store = ExampleStore(wb)
    store.sync(sheet.id)
    synced = {e.source_qa_pair_id for e in store.browse()}
    for pair_id, change in zip(pair_ids(wb, sheet.id), later, strict=False):
        _apply(wb, pair_id, change)
    if tags:
        tag_source(wb, tags)

    returned = {h.example.source_qa_pair_id for h in store.search("crystal defect", k=50, min_score=-1.0)}

    assert returned <= _usable_now(wb)
    assert returned == synced & _usable_now(wb)
