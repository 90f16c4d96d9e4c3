import random
import re
import threading
from collections import defaultdict

import pytest

from data_access.sql.transpile import to_duckdb
from services.core.domain.canonical_label import ChangeKind, LabelContent, LabelKey
from services.core.domain.governance import UsageConstraints
from services.core.errors import StaleWriteError, ValidationError
from services.labels.canonical_labels import CanonicalLabelService, diff_versions
from services.labels.canonical_labels_store import CanonicalLabelsStore

KEY = LabelKey("sheet-1", "invoice_042.pdf", "classification")


@pytest.fixture
def labels(workbench):
    return CanonicalLabelService(workbench)


def test_a_new_label_is_version_one_and_its_id_follows_from_its_key(labels):
    label = labels.save(KEY, LabelContent({"urgency": "routine"}), read_version=0)
    assert (label.id, label.version, label.labeled_by) == (KEY.label_id, 1, "tester@example.com")
    assert [v.change_kind for v in labels.history(label.id)] == ["create"]


def test_the_same_item_holds_one_label_per_label_type(labels):
    labels.save(KEY, LabelContent({"urgency": "routine"}), 0)
    labels.save(LabelKey(KEY.sheet_id, KEY.item_ref, "summarization"), LabelContent({"text": "Routine visit."}), 0)
    assert [label.key.label_type for label in labels.for_item(KEY.sheet_id, KEY.item_ref)] == ["classification", "summarization"]
    with pytest.raises(StaleWriteError, match=re.escape("labeled invoice_042.pdf")):
        labels.save(KEY, LabelContent({"urgency": "urgent"}), 0)  # a second "first" label for the same key
    assert labels.count(KEY.sheet_id, "classification") == 1


def test_a_stale_edit_is_refused_and_the_newer_label_is_kept(labels):
    labels.save(KEY, LabelContent({"urgency": "routine"}), 0)
    labels.save(KEY, LabelContent({"urgency": "urgent"}), 1)
    with pytest.raises(StaleWriteError, match=re.escape("tester@example.com changed this classification label")):
        labels.save(KEY, LabelContent({"urgency": "emergency"}), 1)
    assert labels.find(KEY).label_data == {"urgency": "urgent"}


def test_every_change_keeps_the_previous_version_and_a_rollback_is_a_new_version(labels):
    labels.save(KEY, LabelContent({"urgency": "routine"}, notes="first look"), 0)
    labels.save(KEY, LabelContent({"urgency": "urgent"}, notes="late notice"), 1)
    rolled = labels.rollback(KEY.label_id, to_version=1, read_version=2)
    assert (rolled.version, rolled.label_data) == (3, {"urgency": "routine"})
    history = labels.history(KEY.label_id)
    assert [(v.version, v.change_kind) for v in history] == [(1, "create"), (2, "edit"), (3, "rollback")]
    assert labels.as_of(KEY.label_id, 2).content.notes == "late notice"
    changes = {c.field: (c.before, c.after) for c in diff_versions(history[0], history[1])}
    assert changes == {"label.urgency": ("routine", "urgent"), "notes": ("first look", "late notice")}


class _Sent:
    """An engine that keeps the statements a store sends and runs none of them."""

    def __init__(self) -> None:
        self.statements: list[tuple[str, dict]] = []

    def execute(self, sql: str, params: dict | None = None) -> int:
        self.statements.append((sql, dict(params or {})))
        return 1


def test_creating_and_changing_a_label_find_its_row_by_primary_key_not_by_reading_every_label(labels, workbench):
    # Every approval in LABEL writes a label: a write that matched the key's three columns
    # read every label of the store, and cost about twice an INSERT.
    for ref in ("invoice_040.pdf", "invoice_041.pdf", KEY.item_ref, "invoice_044.pdf"):
        labels.save(LabelKey(KEY.sheet_id, ref, KEY.label_type), LabelContent({"urgency": "routine"}), 0)
    sent = _Sent()
    store = CanonicalLabelsStore(sent, workbench.table("canonical_labels"), workbench.table("canonical_label_versions"))
    store.write(LabelKey(KEY.sheet_id, "invoice_043.pdf", KEY.label_type), LabelContent({"urgency": "urgent"}), 0, "a@example.com")
    store.write(KEY, LabelContent({"urgency": "urgent"}), 1, "a@example.com")
    cursor = workbench.backend.engine.connection.cursor()
    for sql, params in sent.statements:
        transpiled = to_duckdb(sql)
        cursor.execute("BEGIN TRANSACTION")
        plan = cursor.execute("EXPLAIN ANALYZE " + transpiled.sql, {n: params[n] for n in transpiled.parameter_names}).fetchall()[0][1]
        cursor.execute("ROLLBACK")
        assert "Sequential Scan" not in plan, plan


def test_usage_constraints_are_checked_and_stored_with_the_label(labels):
    phi = UsageConstraints(("evaluation", "testing"), ("training",), "Contains PHI", "restricted")
    label = labels.save(KEY, LabelContent({"urgency": "routine"}, constraints=phi), 0)
    assert label.constraints.permits("evaluation") and not label.constraints.permits("training")
    with pytest.raises(ValidationError, match="both allowed and prohibited"):
        labels.save(KEY, LabelContent({"urgency": "x"}, constraints=UsageConstraints(("training",), ("training",))), 1)
    with pytest.raises(ValidationError, match="Unknown use"):
        labels.save(KEY, LabelContent({"urgency": "x"}, constraints=UsageConstraints(("marketing",))), 1)


def test_an_empty_label_or_unknown_confidence_is_refused(labels):
    with pytest.raises(ValidationError, match="at least one value"):
        labels.save(KEY, LabelContent({}), 0)
    with pytest.raises(ValidationError, match="Confidence"):
        labels.save(KEY, LabelContent({"a": 1}, confidence="certain"), 0)
    assert labels.count() == 0


def test_eight_threads_on_overlapping_items_keep_one_label_per_key_and_contiguous_versions(labels):
    keys = [LabelKey("sheet-1", f"item-{i}", label_type) for i in range(6) for label_type in ("classification", "qa")]
    acknowledged: dict[LabelKey, list[tuple[int, dict]]] = defaultdict(list)
    lock = threading.Lock()

    def worker(seed: int) -> None:
        rng = random.Random(seed)
        for step in range(40):
            key = rng.choice(keys)
            current = labels.find(key)
            read = current.version if current else 0
            data = {"value": f"w{seed}-s{step}"}
            try:
                if current and current.version > 1 and rng.random() < 0.2:
                    saved = labels.rollback(key.label_id, rng.randint(1, current.version - 1), read)
                else:
                    saved = labels.save(key, LabelContent(data), read, ChangeKind.REVIEW if seed % 2 else ChangeKind.EDIT)
            except StaleWriteError:
                continue
            with lock:
                acknowledged[key].append((saved.version, saved.label_data))

    threads = [threading.Thread(target=worker, args=(seed,)) for seed in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    engine = labels._wb.backend.engine
    duplicates = engine.query(
        "SELECT sheet_id, item_ref, label_type, count(*) AS n FROM mirion_vital.workbench.canonical_labels "
        "GROUP BY sheet_id, item_ref, label_type HAVING count(*) > 1"
    )
    assert duplicates == []
    for key, writes in acknowledged.items():
        history = labels.history(key.label_id)
        assert [v.version for v in history] == list(range(1, len(history) + 1))  # contiguous
        by_version = {v.version: v.content.label_data for v in history}
        for version, data in writes:  # every acknowledged write is in the history as written
            assert by_version[version] == data
        assert labels.find(key).version == len(history)
    assert sum(len(w) for w in acknowledged.values()) > 40
