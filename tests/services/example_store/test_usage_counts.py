"""Usage counts are written off the retrieval path: by the background writer a moment later, or
at once by any read of examples in the process."""

from __future__ import annotations

import time

from services.core.workbench import Workbench
from services.example_store.examples import ExampleStore
from services.example_store.records import ExampleDraft

WAIT_S = 10  # the writer waits a quarter of a second; never reached when it works


def _stored_count(wb: Workbench, example_id: str) -> int:
    """The row as the table has it, read without flushing the pending counts."""
    return int(wb.backend.engine.scalar(f"SELECT usage_count FROM {wb.table('example_store')} WHERE example_id = :id", {"id": example_id}))


def test_the_background_writer_adds_up_retrievals_without_any_read(workbench: Workbench) -> None:
    store = ExampleStore(workbench)
    example = store.add(ExampleDraft("Crystal shows a hairline crack", "crack"))
    for _ in range(3):
        store.search("a cracked crystal", k=1)

    deadline = time.monotonic() + WAIT_S
    while _stored_count(workbench, example.example_id) < 3 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _stored_count(workbench, example.example_id) == 3


def test_a_read_right_after_a_search_sees_its_count(workbench: Workbench) -> None:
    store = ExampleStore(workbench)
    example = store.add(ExampleDraft("Crystal shows a hairline crack", "crack"))
    store.search("a cracked crystal", k=1)
    assert store.get(example.example_id).usage_count == 1
    store.search("a cracked crystal", k=1)
    assert [e.usage_count for e in store.browse()] == [2]
