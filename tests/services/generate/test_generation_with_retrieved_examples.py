"""Dynamic few-shot wired in: a template asks for k retrieved examples per item; generation and
the template test fill them at run time from the Example Store, and each pair records which."""

from __future__ import annotations

from dataclasses import replace

import pytest

from services.core.domain.qa_pair import LabelingMode
from services.core.domain.sheet import SheetDraft
from services.core.domain.template import FieldType, SchemaField, TemplateDraft
from services.core.errors import ValidationError
from services.core.jobs import JobRunner
from services.data.sheets import SheetService
from services.example_store.dynamic_few_shot import TemplateFewShot
from services.example_store.examples import ExampleStore
from services.example_store.records import ExampleDraft
from services.generate.generation import GenerationRequest, GenerationService
from services.templates.prompt_templates import MAX_RETRIEVED_EXAMPLES, TemplateService

WAIT_S = 120
DRAFT = TemplateDraft(
    name="Invoice urgency", label_type="classification", system_prompt="You classify invoices.",
    user_prompt_template="Invoice {{ invoice_id }} from {{ provider_name }} for {{ total_amount }}.",
    output_schema=(SchemaField("urgency", FieldType.STRING, choices=("routine", "urgent")),), retrieved_examples_k=1,
)


@pytest.fixture
def setup(invoice_source):
    wb = invoice_source
    sheet = SheetService(wb).create(SheetDraft("Invoices", "mirion_vital.raw.invoices", "invoice_id", sample_size=3))
    store = ExampleStore(wb)
    same_task = store.add(ExampleDraft("Invoice X-1 from City Medical Center for 15.00.", '{"urgency": "routine"}', function_name="classification"))
    other_task = store.add(ExampleDraft("Invoice X-2 from City Medical Center for 15.00.", "A routine visit.", function_name="summarization"))
    service = TemplateService(wb)
    template = service.publish(service.create(DRAFT))
    return wb, sheet, template, same_task.example_id, other_task.example_id


def test_a_template_keeps_how_many_examples_it_retrieves_and_refuses_too_many(workbench):
    service = TemplateService(workbench)
    saved = service.create(replace(DRAFT, retrieved_examples_k=3))
    assert service.get(saved.id).retrieved_examples_k == 3
    with pytest.raises(ValidationError, match=f"between 0 and {MAX_RETRIEVED_EXAMPLES}") as refused:
        service.update(saved, replace(DRAFT, retrieved_examples_k=MAX_RETRIEVED_EXAMPLES + 1))
    assert refused.value.field == "retrieved_examples_k" and service.get(saved.id).retrieved_examples_k == 3


def test_generation_puts_each_items_retrieved_example_before_it_and_records_its_id(setup):
    wb, sheet, template, same_task, _ = setup
    service = GenerationService(wb)
    training_sheet = service.start(GenerationRequest(sheet.id, template.id, LabelingMode.MANUAL))
    assert JobRunner(wb).wait(training_sheet.job_id, WAIT_S).status == "succeeded"

    rows = wb.backend.engine.query(
        f"SELECT messages, few_shot_example_ids FROM {wb.table('qa_pairs')} WHERE training_sheet_id = :id", {"id": training_sheet.id}
    )
    assert len(rows) == 3
    for row in rows:
        assert list(row["few_shot_example_ids"]) == [same_task]  # the other task's example is never retrieved
        assert "Invoice X-1 from City Medical Center" in row["messages"] and "A routine visit" not in row["messages"]
    assert ExampleStore(wb).get(same_task).usage_count == 3


def test_a_template_that_retrieves_is_refused_for_generation_in_the_warehouse(setup):
    wb, sheet, template, _, _ = setup
    with pytest.raises(ValidationError, match="retrieves few-shot examples per item"):
        GenerationService(wb).start(GenerationRequest(sheet.id, template.id, LabelingMode.AI_GENERATED, in_warehouse=True))


def test_the_template_test_shows_the_examples_retrieved_for_each_item(setup):
    wb, sheet, template, same_task, _ = setup
    results = TemplateService(wb).test_on_sheet(template, sheet.id, 2, few_shot=TemplateFewShot.for_template(wb, template).complete)

    assert [r.few_shot_example_ids for r in results] == [(same_task,), (same_task,)]
    assert [m.role for m in results[0].messages] == ["system", "user", "assistant", "user"]
    assert results[0].messages[2].content == '{"urgency": "routine"}'


def test_a_template_without_retrieval_leaves_the_example_store_alone(setup):
    wb, sheet, template, same_task, _ = setup
    fixed = replace(template, retrieved_examples_k=0)
    (result,) = TemplateService(wb).test_on_sheet(fixed, sheet.id, 1, few_shot=TemplateFewShot.for_template(wb, fixed).complete)
    assert result.few_shot_example_ids == () and len(result.messages) == 2
    assert ExampleStore(wb).get(same_task).usage_count == 0
