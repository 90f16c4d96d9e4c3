"""Effectiveness by ablation against a real store, the real embedding model for retrieval and a
scripted model behind the loopback OpenAI-compatible fake: which examples help, hurt or do nothing."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest

from services.core.domain.template import FewShotExample, TemplateDraft
from services.core.errors import ValidationError
from services.core.jobs import JobRunner
from services.core.workbench import Workbench
from services.example_store.effectiveness import FULL, EvaluationItem, Shown, prompts, prune_suggestions
from services.example_store.effectiveness_job import launch
from services.example_store.examples import ExampleStore
from services.example_store.records import ExampleDraft
from tests.dspy_builders import provider_training_sheet
from tests.effectiveness_builders import HELPS, HURTS, NEUTRAL, ablation_answer, add_ablation_examples
from tests.fakes.chat_server import ChatScript, FakeChatServer, message_text

JOB_WAIT_S = 120


@pytest.fixture
def model_server() -> Iterator[FakeChatServer]:
    with FakeChatServer(ChatScript(answer=ablation_answer)) as server:
        yield server


@pytest.fixture
def wb(workbench: Workbench, model_server: FakeChatServer) -> Workbench:
    settings = replace(workbench.settings, llm_base_url=model_server.base_url, llm_model="scripted")
    return Workbench(replace(workbench.backend, settings=settings))


def _measured(wb: Workbench, training_sheet_id: str) -> dict[str, Any]:
    job = JobRunner(wb).wait(launch(wb, training_sheet_id), JOB_WAIT_S)
    assert job.status.value == "succeeded", job.error
    return job.result


def test_each_retrieved_example_gets_its_score_with_it_minus_without_it(wb: Workbench) -> None:
    training = provider_training_sheet(wb, pairs=12, retrieved_examples_k=3)
    store = ExampleStore(wb)
    ids = add_ablation_examples(store)

    result = _measured(wb, training.id)

    assert result["baseline"] == 0.5 and result["pairs"] == 12  # hospitals right, clinics spoiled by HURTS
    assert result["model_calls"] == 12 * 4 and result["failed_calls"] == 0
    effects = {e["example_id"]: (e["effect"], e["pairs"], e["helped"], e["hurt"]) for e in result["effects"]}
    assert effects == {ids[HELPS]: (0.5, 12, 6, 0), ids[HURTS]: (-0.5, 12, 0, 6), ids[NEUTRAL]: (0.0, 12, 0, 0)}
    stored = {e.example_id: (e.effectiveness_score, e.usage_count) for e in store.measured()}
    assert stored == {ids[HELPS]: (0.5, 0), ids[HURTS]: (-0.5, 0), ids[NEUTRAL]: (0.0, 0)}  # measuring is not using
    assert [e.example_id for e in store.measured()] == [ids[HURTS], ids[NEUTRAL], ids[HELPS]]  # worst first


def test_an_evaluation_pair_never_sees_the_example_synced_from_itself(wb: Workbench, model_server: FakeChatServer) -> None:
    training = provider_training_sheet(wb, pairs=6, retrieved_examples_k=2)
    store = ExampleStore(wb)
    assert len(store.sync(training.id).added) == 6  # every pair is allowed few-shot use, and evaluation

    _measured(wb, training.id)

    for request in model_server.received:
        users = [message_text(m) for m in request.body["messages"] if m["role"] == "user"]
        assert users[-1] not in users[:-1]


def test_a_template_that_shows_no_example_is_refused_with_a_reason(wb: Workbench) -> None:
    training = provider_training_sheet(wb, pairs=4)
    job = JobRunner(wb).wait(launch(wb, training.id), JOB_WAIT_S)
    assert job.status.value == "failed" and "nothing to measure" in job.error


def test_a_sheet_without_enough_evaluation_pairs_is_refused_before_anything_runs(wb: Workbench) -> None:
    training = provider_training_sheet(wb, pairs=3, uses={0: ("few_shot",), 1: ("few_shot",)}, retrieved_examples_k=1)
    with pytest.raises(ValidationError, match="may be used for evaluation"):
        launch(wb, training.id)


def test_a_fixed_example_is_left_out_of_one_prompt_and_kept_in_the_others() -> None:
    template = TemplateDraft("t", "c", user_prompt_template="Q: {{ q }}", examples=(FewShotExample({"q": "fixed one"}, "A1"),))
    item = EvaluationItem("p1", "i1", {"q": "item"}, {"answer": "x"}, (Shown("ex-1", "retrieved one", "A2", "ex-1"),))

    planned = prompts(template, [item])

    contents = {p.left_out: [m.content for m in p.messages] for p in planned}
    assert contents[FULL] == ["Q: fixed one", "A1", "retrieved one", "A2", "Q: item"]
    assert contents["fixed:0"] == ["retrieved one", "A2", "Q: item"]
    assert contents["ex-1"] == ["Q: fixed one", "A1", "Q: item"]


def test_pruning_is_suggested_for_examples_measured_not_to_help(wb: Workbench) -> None:
    training = provider_training_sheet(wb, pairs=4, retrieved_examples_k=3)
    store = ExampleStore(wb)
    ids = add_ablation_examples(store)
    store.add(ExampleDraft("Never measured", "x"))
    _measured(wb, training.id)
    assert {e.example_id for e in prune_suggestions(store.browse())} == {ids[HURTS], ids[NEUTRAL]}
