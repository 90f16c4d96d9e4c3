"""The demo's wow moment: label an item in the Canonical Labeling Tool, generate a new Training
Sheet from the same sheet with a template of that label type, and the item arrives pre-approved."""

import json

from services.core.domain.governance import UsageConstraints
from services.core.domain.qa_pair import LabelingMode
from services.core.governance import effective_constraints
from services.core.jobs import JobRunner
from services.generate.generation import GenerationRequest, GenerationService
from services.labels.label_schemas import LabelSchemaService, label_data_from_form
from services.labels.labeling_session import LabelingSession
from tests.labeling_builders import URGENCY_FIELDS, invoice_sheet, published_template

WAIT_S = 120


def _generate(workbench, sheet_id, template_id):
    service = GenerationService(workbench)
    training_sheet = service.start(GenerationRequest(sheet_id, template_id, LabelingMode.MANUAL))
    job = JobRunner(workbench).wait(training_sheet.job_id, WAIT_S)
    assert job.status == "succeeded", job.error
    return {p.item_ref: p for p in service.first_pairs(training_sheet.id, 100)}


def test_an_item_labeled_in_the_tool_arrives_pre_approved_in_every_new_training_sheet(workbench):
    sheet = invoice_sheet(workbench, sample_size=12)
    published_template(workbench, "classification", URGENCY_FIELDS, sheet_id=sheet.id, name="Triage")
    # The tool: the form follows the sheet's classification template; the expert clears the label for training.
    session = LabelingSession(workbench, sheet, "classification")
    schema = LabelSchemaService(workbench).for_type(sheet.id, "classification")
    cleared = UsageConstraints(usage_reason="No PHI in an urgency label - cleared by compliance")
    label = session.save("INV-0007", label_data_from_form(schema, {"urgency": "urgent"}), 0, "high", "Final notice", cleared)

    # A new template of that label type, then a new Training Sheet from the same sheet.
    improved = published_template(workbench, "classification", URGENCY_FIELDS, sheet_id=sheet.id, name="Triage, better prompt")
    pairs = _generate(workbench, sheet.id, improved.id)
    reused = pairs["INV-0007"]
    assert (reused.status, reused.labeling_mode, reused.canonical_label_id) == ("labeled", "canonical", label.id)
    assert json.loads(reused.response) == {"urgency": "urgent"}
    # The label says what compliance cleared; the pair also answers to the table's PHI tag (invariant 9).
    assert label.constraints.permits("training")
    assert reused.constraints == effective_constraints(label.constraints, sheet.tags)
    assert not reused.constraints.permits("training") and reused.constraints.usage_reason.startswith("Source tagged PHI")
    others = [p for ref, p in pairs.items() if ref != "INV-0007"]
    assert len(others) == 11 and {(p.status, p.labeling_mode) for p in others} == {("unlabeled", "manual")}
    assert not any(p.constraints.permits("training") for p in others)  # the rest keep the source's PHI rule

    # And again with the next template: no re-labeling.
    again = _generate(workbench, sheet.id, published_template(workbench, "classification", URGENCY_FIELDS, sheet_id=sheet.id, name="Triage 3").id)
    assert (again["INV-0007"].status, again["INV-0007"].canonical_label_id) == ("labeled", label.id)
