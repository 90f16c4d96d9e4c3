"""The inference log under load: every request is one row, none lost, none twice, and the rows
are written off the request path in batches (a clean stop writes what is still queued)."""

from __future__ import annotations

from datetime import UTC, datetime

from services.deploy.endpoints import LocalEndpoints
from services.deploy.inference_log import BATCH_ROWS, InferenceLogStore, InferenceLogWriter
from services.deploy.records import ChatRequest, ChatTurn, InferenceRecord
from tests.deploy_builders import run_clients, trained_model
from tests.fakes.served_model import FakeModelLoader, FakeServedModel

CLIENTS = 8
REQUESTS_PER_CLIENT = 500


def test_eight_clients_sending_five_hundred_requests_each_leave_exactly_one_row_per_request(workbench):
    model = trained_model(workbench)
    served = FakeServedModel()
    registry = LocalEndpoints(workbench, FakeModelLoader({(model.model_name, "1"): served}))
    registry.deploy(workbench, model, "urgency")
    failures: list[BaseException] = []

    def client(number: int) -> None:
        try:
            for i in range(REQUESTS_PER_CLIENT):
                request = ChatRequest((ChatTurn("user", f"client {number} request {i}"),))
                registry.invoke("urgency", request, requester=f"client-{number}@example.com", request_id=f"c{number}-r{i}")
        except BaseException as error:  # reported below, with the rest of the outcome
            failures.append(error)

    run_clients(client, CLIENTS)
    registry.stop()  # the clean stop: whatever was still queued is written now

    assert failures == []
    assert served.answered == CLIENTS * REQUESTS_PER_CLIENT
    counts = workbench.backend.engine.query_one(
        f"SELECT count(*) AS n, count(DISTINCT request_id) AS ids, count(DISTINCT id) AS row_ids, "
        f"count(DISTINCT requester) AS requesters, min(status_code) AS lo, max(status_code) AS hi "
        f"FROM {workbench.table('inference_log')}"
    )
    total = CLIENTS * REQUESTS_PER_CLIENT
    assert (counts["n"], counts["ids"], counts["row_ids"], counts["requesters"]) == (total, total, total, CLIENTS)
    assert (counts["lo"], counts["hi"]) == (200, 200)
    prompts = workbench.backend.engine.query_one(
        f"SELECT count(*) AS n FROM {workbench.table('inference_log')} "
        "WHERE get_json_object(request, '$.messages[0].content') = concat('client ', regexp_extract(request_id, 'c([0-9]+)-', 1), "
        "' request ', regexp_extract(request_id, '-r([0-9]+)', 1))"
    )
    assert prompts["n"] == total  # each row holds its own request


class CountingStore(InferenceLogStore):
    """The real store, counting the inserts it is asked for."""

    def __init__(self, workbench) -> None:
        super().__init__(workbench)
        self.batches: list[int] = []

    def append(self, records) -> int:
        self.batches.append(len(records))
        return super().append(records)


def record(i: int) -> InferenceRecord:
    return InferenceRecord(
        id=f"row-{i}", deployment_id="d1", endpoint_name="urgency", model_name="m", model_version="1", request_id=f"r{i}",
        trace_id=f"t{i}", request="{}", response=None, prediction=None, latency_ms=1.0, status_code=200, input_tokens=None,
        output_tokens=None, guardrails="[]", guardrails_passed=True, error=None, requester="c@example.com", source="api",
        replayed=False, created_at=datetime.now(UTC),
    )


def test_the_writer_batches_and_a_stop_writes_what_is_still_queued(workbench):
    store = CountingStore(workbench)
    writer = InferenceLogWriter(store)
    rows = 3 * BATCH_ROWS + 7
    for i in range(rows):
        writer.add(record(i))
    writer.stop()
    assert sum(store.batches) == rows and max(store.batches) <= BATCH_ROWS and len(store.batches) < rows / 10
    assert store.count("urgency") == rows
    writer.add(record(rows))  # a straggler after the stop is written at once
    assert store.count("urgency") == rows + 1
