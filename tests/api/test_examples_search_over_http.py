"""Example search through the API on the real server, by raw HTTP and by the repo's client.
The store is seeded before the server starts (it then holds the DuckDB file); one synced
example's pair is rejected before the start, so the gate at retrieval time is what hides it."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from clients.workbench_client import WorkbenchApiError, WorkbenchClient
from data_access.settings import load_settings
from data_access.sql.duckdb_engine import release_home
from services.core.workbench import forget_prepared_stores, open_workbench
from services.example_store.examples import ExampleStore, example_id_for_pair
from services.example_store.records import ExampleDraft
from tests.api.test_api_over_http import call
from tests.browser.conftest import ServedApp, start_app, stop_app
from tests.example_store_builders import pair_ids, set_pair, sheet_with_pairs
from tests.train_builders import PairSpec

DRAFTS = (
    ExampleDraft("The detector reads 40 µSv/h near the waste drum", '{"alert": "high"}', function_name="dose_alert", domain="radiation", quality_score=0.9),
    ExampleDraft("Background dose in the office is 0.1 µSv/h", '{"alert": "none"}', function_name="dose_alert", domain="radiation", quality_score=0.4),
    ExampleDraft("Invoice total is 1,200 dollars, due in 30 days", '{"urgency": "routine"}', function_name="invoice_urgency", domain="finance", quality_score=0.6),
)
URL = "/api/v1/examples/search"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServedApp, dict[str, str]]]:
    home = tmp_path_factory.mktemp("examples-api") / "home"
    settings = load_settings({"WORKBENCH_HOME": str(home), "WORKBENCH_DEMO_DATA": "0", "WORKBENCH_USER": "expert@mirion.example"})
    forget_prepared_stores()
    workbench = open_workbench(settings)
    store = ExampleStore(workbench)
    ids = {d.input: store.add(d).example_id for d in DRAFTS}
    sheet = sheet_with_pairs(workbench, [PairSpec(), PairSpec()])
    store.sync(sheet.id)
    rejected = pair_ids(workbench, sheet.id)[0]
    set_pair(workbench, rejected, status="rejected")
    ids["rejected"] = example_id_for_pair(rejected)
    forget_prepared_stores()
    release_home(home)
    app = start_app(home, {"WORKBENCH_DEMO_DATA": "0"})
    yield app, ids
    stop_app(app)


def post(app: ServedApp, body: object) -> tuple[int, dict]:
    reply = call(f"{app.url}{URL}", "POST", json.dumps(body).encode(), {"Content-Type": "application/json"})
    return reply.status, reply.json()


def test_a_post_finds_the_nearest_examples_with_scores_best_first(served):
    app, ids = served
    status, body = post(app, {"query": "dose near a drum", "k": 2, "filters": {"domain": "radiation"}})
    assert status == 200
    assert [r["example_id"] for r in body["results"]] == [ids[DRAFTS[0].input], ids[DRAFTS[1].input]]
    first = body["results"][0]
    assert (first["expected_output"], first["function_name"], first["quality_score"]) == ('{"alert": "high"}', "dose_alert", 0.9)
    assert first["score"] > body["results"][1]["score"]


def test_a_get_takes_the_same_search_as_query_parameters(served):
    app, ids = served
    reply = call(f"{app.url}{URL}?q=dose+near+a+drum&k=5&function_name=dose_alert&function_name=invoice_urgency&min_quality=0.5")
    assert reply.status == 200
    assert {r["example_id"] for r in reply.json()["results"]} == {ids[DRAFTS[0].input], ids[DRAFTS[2].input]}


def test_an_example_whose_pair_was_rejected_after_sync_is_never_returned(served):
    app, ids = served
    _, body = post(app, {"query": "Crystal Crystals-00000", "k": 50, "min_score": -1.0})
    returned = {r["example_id"] for r in body["results"]}
    assert ids["rejected"] not in returned and len(returned) == len(DRAFTS) + 1


@pytest.mark.parametrize(("body", "message"), [
    ({"k": 3}, "'query' (the text to find examples for) is required."),
    ({"query": "dose", "k": 0}, "Ask for between 1 and 50 examples."),
    ({"query": "dose", "k": "three"}, "'k' must be a whole number."),
    ({"query": "dose", "filters": {"colour": "red"}}, "Unknown filter(s): colour."),
    ({"query": "dose", "filters": {"function_names": "dose_alert"}}, "'function_names' must be a list of names."),
    ({"query": "   "}, "Type what the example should be about."),
])
def test_a_bad_search_is_a_400_that_says_what_to_fix(served, body, message):
    status, answer = post(served[0], body)
    assert (status, answer) == (400, {"error": {"code": "INVALID_REQUEST", "message": message}})


def test_the_client_searches_with_filters_and_raises_the_apis_refusal(served):
    app, ids = served
    client = WorkbenchClient(app.url)
    found = client.search_examples("invoice due next month", k=1, function_names=["invoice_urgency"], min_quality=0.5)
    assert [(f.example_id, f.expected_output, f.domain) for f in found] == [(ids[DRAFTS[2].input], '{"urgency": "routine"}', "finance")]
    with pytest.raises(WorkbenchApiError) as refused:
        client.search_examples("dose", k=99)
    assert (refused.value.status, refused.value.code) == (400, "INVALID_REQUEST")
    with pytest.raises(WorkbenchApiError) as unreachable:
        WorkbenchClient("http://127.0.0.1:9", timeout_s=2).search_examples("dose")
    assert unreachable.value.code == "UNREACHABLE"
