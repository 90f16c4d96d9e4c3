"""The PII signal on Databricks: one MERGE runs `ai_mask` over the sheet's stale pairs in the
warehouse, through the real SQL engine and a DB-API connection shaped like the connector's."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest

from data_access.backends import Backend
from data_access.embeddings.lexical import LexicalEmbedder
from data_access.identity import User
from data_access.schema.migrate import migrate
from data_access.settings import load_settings
from data_access.sql.databricks_engine import DatabricksSqlEngine
from services.core.domain.review import QueueFilter
from services.core.workbench import Workbench
from services.review.pii_signals import AI_MASK_LABELS
from services.review.queue import ReviewQueue
from services.review.signals import PairSignals
from tests.fakes.dbapi_fake import FakeWarehouse

USER = User("tester@example.com", "tester", access_token="user-token")
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")


def fake_ai_mask(text: str, labels: list[str]) -> str:
    """The warehouse's `ai_mask`, scripted: masks e-mail addresses when asked for them, as the
    real function returns the text with each entity replaced by [MASKED]."""
    return _EMAIL.sub("[MASKED]", text) if "email" in labels else text


@pytest.fixture
def warehouse() -> Iterator[FakeWarehouse]:
    warehouse = FakeWarehouse()
    warehouse.database.create_function("ai_mask", fake_ai_mask, ["VARCHAR", "VARCHAR[]"], "VARCHAR")
    yield warehouse
    warehouse.close()


@pytest.fixture
def workbench(warehouse) -> Iterator[Workbench]:
    engine = DatabricksSqlEngine(warehouse.connect)
    settings = load_settings({"WORKBENCH_BACKEND": "databricks", "DATABRICKS_WAREHOUSE_ID": "abc123", "WORKBENCH_DEMO_DATA": "0"})
    migrate(engine, settings)
    yield Workbench(Backend(settings, engine, None, None, USER))  # only SQL is needed here
    engine.close()


def _add_pair(wb: Workbench, pair_id: str, ordinal: int, prompt: str) -> None:
    messages = json.dumps([{"role": "user", "content": prompt}, {"role": "assistant", "content": '{"urgency": "routine"}'}])
    wb.backend.engine.execute(
        f"INSERT INTO {wb.table('qa_pairs')} (id, training_sheet_id, sheet_id, item_ref, ordinal, messages, status, labeling_mode, "
        "allowed_uses, prohibited_uses, data_classification, row_version) VALUES (:id, 'ts', 's', :ref, :ordinal, :messages, "
        "'unlabeled', 'ai_generated', array('training', 'validation', 'evaluation', 'few_shot', 'testing'), array(), 'internal', 1)",
        {"id": pair_id, "ref": f"ITEM-{ordinal}", "ordinal": ordinal, "messages": messages},
    )


def test_ai_mask_flags_the_stale_pairs_of_a_sheet_in_one_warehouse_statement(workbench, warehouse):
    _add_pair(workbench, "p1", 0, "Reply to jane@example.com about the claim")
    _add_pair(workbench, "p2", 1, "Nothing personal")
    signals = PairSignals(workbench, LexicalEmbedder())
    sent = len(warehouse.received)
    assert signals.refresh_pii("ts") == 2
    merges = [s for s in warehouse.received[sent:] if "ai_mask" in s.sql]
    assert len(merges) == 1 and merges[0].sql.startswith("MERGE INTO")
    assert merges[0].parameters["labels"] == list(AI_MASK_LABELS)
    flagged = ReviewQueue(workbench).page("ts", QueueFilter(signal="pii"))
    assert [p.id for p in flagged.pairs] == ["p1"]
    found = next(s for s in signals.for_pair(flagged.pairs[0]) if s.kind == "pii")
    assert (found.source, found.reason) == ("ai_mask", "Personal data masked by ai_mask: 1 span(s) in the prompt or response.")
    assert signals.refresh_pii("ts") == 0  # computed for these messages already: nothing sent to ai_mask


def test_a_changed_pair_is_masked_again_and_its_signal_updated(workbench):
    _add_pair(workbench, "p1", 0, "Reply to jane@example.com")
    signals = PairSignals(workbench, LexicalEmbedder())
    signals.refresh_pii("ts")
    workbench.backend.engine.execute(
        f"UPDATE {workbench.table('qa_pairs')} SET messages = :m, row_version = row_version + 1 WHERE id = 'p1'", {"m": json.dumps([{"role": "user", "content": "No address now"}])}
    )
    assert signals.refresh_pii("ts") == 1
    pair = ReviewQueue(workbench).pair("p1")
    assert [(s.flagged, s.reason) for s in signals.for_pair(pair) if s.kind == "pii"] == [(False, "No personal data found by ai_mask.")]
