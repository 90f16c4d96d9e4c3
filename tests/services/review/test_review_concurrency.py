"""Eight reviewers at once on overlapping items (two Training Sheets over the same sheet):
approving, editing and rolling back. Afterwards every composite key has exactly one label,
its versions are contiguous, and every acknowledged write is in the history as written."""

import random
import threading
from collections import defaultdict

from services.core.domain.canonical_label import LabelKey
from services.core.domain.qa_pair import LabelingMode
from services.core.errors import StaleWriteError
from services.labels.canonical_labels import CanonicalLabelService
from services.review.actions import ReviewService
from services.review.queue import ReviewQueue
from tests.review_builders import build_review_setup, generate

THREADS = 8
STEPS = 25


def test_eight_reviewers_approving_editing_and_rolling_back_overlapping_items_lose_nothing(workbench):
    wb = workbench
    setup = build_review_setup(wb, items=10)
    second = generate(wb, setup.sheet.id, setup.template.id, LabelingMode.MANUAL)
    queue, labels = ReviewQueue(wb), CanonicalLabelService(wb)
    pair_ids = [p.id for ts in (setup.training_sheet, second) for p in queue.page(ts.id, _all(), 0, 50).pairs]
    acknowledged: dict[str, list[tuple[int, dict]]] = defaultdict(list)
    record = threading.Lock()
    errors: list[BaseException] = []

    def reviewer(seed: int) -> None:
        rng, review = random.Random(seed), ReviewService(wb)
        try:
            for step in range(STEPS):
                pair = queue.pair(rng.choice(pair_ids))
                key = LabelKey(pair.sheet_id, pair.item_ref, pair.label_type)
                try:
                    label = labels.find(key)
                    if label is not None and label.version > 1 and rng.random() < 0.25:
                        written = labels.rollback(key.label_id, rng.randint(1, label.version - 1), label.version)
                    else:
                        urgency = rng.choice(("routine", "urgent"))
                        written = review.approve(pair, pair.row_version, response=f'{{"urgency": "{urgency}"}}', note=f"r{seed}-{step}").label
                except StaleWriteError:
                    continue
                with record:
                    acknowledged[written.id].append((written.version, written.label_data))
        except BaseException as error:  # surfaced below; a thread's exception is otherwise lost
            errors.append(error)

    threads = [threading.Thread(target=reviewer, args=(seed,)) for seed in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    duplicates = wb.backend.engine.query(
        f"SELECT sheet_id, item_ref, label_type FROM {wb.table('canonical_labels')} "
        "GROUP BY sheet_id, item_ref, label_type HAVING count(*) > 1"
    )
    assert duplicates == []
    assert sum(len(writes) for writes in acknowledged.values()) > THREADS * STEPS // 4
    for label_id, writes in acknowledged.items():
        history = labels.history(label_id)
        assert [v.version for v in history] == list(range(1, len(history) + 1))
        as_written = {v.version: v.content.label_data for v in history}
        for version, data in writes:
            assert as_written[version] == data
        assert labels.get(label_id).version == len(history)


def _all():
    from services.review.queue import QueueFilter

    return QueueFilter()
