from __future__ import annotations

from services.core.domain.template import FewShotExample, TemplateDraft
from services.core.workbench import Workbench
from services.example_store.dynamic_few_shot import render_with_retrieved
from services.example_store.examples import ExampleStore
from services.example_store.records import ExampleDraft, ExampleFilters

TEMPLATE = TemplateDraft(
    "Dose alerts", "alert", system_prompt="You raise dose alerts.", user_prompt_template="Reading: {{ reading }}",
    examples=(FewShotExample({"reading": "0.1 µSv/h in the office"}, '{"alert": "none"}'),),
)


def test_each_item_gets_the_retrieved_examples_nearest_to_it_between_the_fixed_ones_and_the_item(workbench: Workbench) -> None:
    store = ExampleStore(workbench)
    dose = store.add(ExampleDraft("Reading: 40 µSv/h beside the waste drum", '{"alert": "high"}', function_name="alert"))
    store.add(ExampleDraft("Invoice 7 is overdue by 90 days", '{"urgency": "urgent"}', function_name="invoice"))

    rendered = render_with_retrieved(store, TEMPLATE, {"reading": "35 µSv/h next to a drum of waste"}, k=1)

    assert [m.role for m in rendered.messages] == ["system", "user", "assistant", "user", "assistant", "user"]
    assert rendered.messages[1].content == "Reading: 0.1 µSv/h in the office"
    assert (rendered.messages[3].content, rendered.messages[4].content) == (dose.input, dose.expected_output)
    assert rendered.messages[-1].content == "Reading: 35 µSv/h next to a drum of waste"
    assert rendered.example_ids == (dose.example_id,) and store.get(dose.example_id).usage_count == 1


def test_the_nearest_example_sits_closest_to_the_item_and_filters_apply(workbench: Workbench) -> None:
    store = ExampleStore(workbench)
    near = store.add(ExampleDraft("Reading: 40 µSv/h beside the waste drum", "high", function_name="alert"))
    far = store.add(ExampleDraft("Reading: background level in the car park", "none", function_name="alert"))
    store.add(ExampleDraft("Reading: 38 µSv/h at a drum", "high", function_name="other"))

    rendered = render_with_retrieved(store, TEMPLATE, {"reading": "39 µSv/h by the drum"}, k=2, filters=ExampleFilters(("alert",)), min_score=-1.0)

    assert rendered.example_ids == (far.example_id, near.example_id)
    assert rendered.scores[0] <= rendered.scores[1]
