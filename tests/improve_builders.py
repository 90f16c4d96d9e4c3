"""Builders for the IMPROVE tests: a deployed urgency model with requests written straight to its
inference log (capture, queue, curation), and constructed feedback with known answers on a
crystal-defect model trained on chosen pairs (gap analysis and the trace to training data)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime

from services.core.domain.canonical_label import LabelContent, LabelKey
from services.core.domain.template import FieldType, SchemaField, Template, TemplateDraft
from services.core.workbench import Workbench
from services.deploy.deployments_store import DeploymentsStore
from services.deploy.records import DeployableModel, Deployment, DeploymentStatus, Target
from services.improve.feedback_store import FeedbackStore
from services.improve.records import Feedback, FeedbackKind, FeedbackOrigin, NewFeedback
from services.labels.canonical_labels import CanonicalLabelService
from services.templates.prompt_templates import TemplateService
from tests.deploy_builders import trained_model
from tests.monitor_builders import logged_request, write_log
from tests.train_builders import PairSpec, build_training_sheet
from tests.train_model_builders import recorded_run

DEPLOYMENT_ID = "d"  # the deployment tests/monitor_builders.logged_request names


def deployed_model(wb: Workbench, threshold: float | None = None) -> DeployableModel:
    """The urgency model deployed at the endpoint `urgency` as deployment `d`."""
    model = trained_model(wb)
    DeploymentsStore(wb).insert(Deployment(
        id=DEPLOYMENT_ID, endpoint_name="urgency", model_name=model.model_name, model_version=model.model_version,
        model_id=model.model_id, target=Target.LOCAL, status=DeploymentStatus.READY, lineage_id=model.lineage_id,
        training_sheet_id=model.training_sheet_id, template_id=model.template_id, max_tokens=64, schema_guardrail=True,
        mlflow_run_id=None, created_by="ops@example.com", created_at=datetime.now(UTC),
    ))
    if threshold is not None:
        DeploymentsStore(wb).set_low_confidence_threshold("urgency", threshold)
    return model


def model_sheet_id(wb: Workbench, model: DeployableModel) -> str:
    """The sheet whose items the model was trained on (invoices INV-0000 …)."""
    row = wb.backend.engine.query_one(f"SELECT sheet_id FROM {wb.table('training_sheets')} WHERE id = :id", {"id": model.training_sheet_id})
    assert row is not None
    return row["sheet_id"]


def improve_sql_flow(wb: Workbench) -> None:
    """Every statement IMPROVE's capture, queue and curation issue: for the Databricks SQL check."""
    from data_access.embeddings.lexical import LexicalEmbedder
    from data_access.schema.migrate import migrate
    from services.improve.capture import FeedbackCapture, FeedbackInput
    from services.improve.curation import FeedbackCuration
    from services.improve.queue import FeedbackQueue, QueueFilters
    from services.improve.records import FeedbackKind, FeedbackOrigin

    migrate(wb.backend.engine, wb.settings)
    model = deployed_model(wb, threshold=0.5)
    sheet_id = model_sheet_id(wb, model)
    write_log(wb, [logged_request(i, sheet_id=sheet_id, item_ref=f"INV-{i:04d}") for i in range(1, 6)])
    wb.backend.engine.execute(f"UPDATE {wb.table('inference_log')} SET confidence = 0.1 WHERE id = 'log-1-5'")
    capture = FeedbackCapture(wb)
    capture.submit(capture.log_id_for(request_id="r1"), FeedbackInput("down", correction='{"urgency": "urgent"}'), FeedbackOrigin.API)
    capture.submit(capture.log_id_for(trace_id="trace-2"), FeedbackInput("down"), FeedbackOrigin.MONITOR)
    capture.submit("log-1-3", FeedbackInput("up"), FeedbackOrigin.PLAYGROUND)
    capture.submit("log-1-4", FeedbackInput("down", correction='{"urgency": "urgent"}'), FeedbackOrigin.MONITOR)
    queue = FeedbackQueue(wb, LexicalEmbedder())
    queue.groups(QueueFilters(endpoint="urgency", model_version="1", value="down", kind=FeedbackKind.CORRECTION))
    queue.choices()
    items = {i.inference_log_id: i for i in queue.items()}
    curation = FeedbackCuration(wb)
    curation.training_sheets_for([items["log-1-1"]])
    curation.add_to_training_sheet([items["log-1-1"]], training_sheet_id=model.training_sheet_id)
    curation.add_to_training_sheet([items["log-1-2"]], new_name="Urgency from production")
    curation.update_canonical_label(items["log-1-4"])
    curation.flag([items["log-1-5"]], "Odd request.")
    curation.dismiss([items["log-1-3"]])


MODEL = "crystal_defects"
DEFECTS = ("crack", "inclusion", "delamination", "none")
# What a crystal with each defect looks like in a prompt: the words the trace finds them by.
LOOKS = {
    "crack": "a thin dark line runs across the polished face",
    "inclusion": "a small bubble is trapped inside the clear body",
    "delamination": "the coating peels away from the edge in layers",
    "none": "the surface is clean and uniform everywhere",
}


@dataclass(frozen=True)
class TrainedDefects:
    training_sheet_id: str
    sheet_id: str
    pair_ids: tuple[str, ...]  # in training order
    labels: tuple[str, ...]  # each pair's expert defect_type


def defect_template(wb: Workbench, name: str = "Crystal defects") -> Template:
    service = TemplateService(wb)
    return service.publish(service.create(TemplateDraft(
        name=name, label_type="classification", system_prompt="You inspect crystals.",
        user_prompt_template="Crystal {{ id }}: {{ looks }}",
        output_schema=(SchemaField("defect_type", FieldType.STRING, choices=DEFECTS), SchemaField("note", FieldType.STRING)),
    )))


def prompt_for(defect: str, i: int) -> str:
    return f"Crystal CRY-{i}: {LOOKS[defect]}."


def answer(defect: str) -> str:
    return json.dumps({"defect_type": defect, "note": ""})


def trained_defects(wb: Workbench, training: list[str], model_name: str = MODEL) -> TrainedDefects:
    """A model version 1 trained on one pair per entry of `training` (its expert defect_type), each
    pair's prompt describing what that defect looks like; the pairs linked to their canonical labels."""
    specs = [
        PairSpec(answer=answer(d), messages=json.dumps([
            {"role": "system", "content": "You inspect crystals."}, {"role": "user", "content": prompt_for(d, i)},
            {"role": "assistant", "content": answer(d)},
        ]))
        for i, d in enumerate(training)
    ]
    sheet = build_training_sheet(wb, specs, name=model_name, template=defect_template(wb, f"{model_name} defects"))
    labels = CanonicalLabelService(wb)
    for i, defect in enumerate(training):
        labels.save(LabelKey(sheet.sheet_id, f"{model_name}-{i:05d}", "classification"), LabelContent({"defect_type": defect, "note": ""}), 0)
    engine = wb.backend.engine
    engine.execute(
        f"UPDATE {wb.table('qa_pairs')} SET canonical_label_id = (SELECT c.id FROM {wb.table('canonical_labels')} c "
        f"WHERE c.sheet_id = {wb.table('qa_pairs')}.sheet_id AND c.item_ref = {wb.table('qa_pairs')}.item_ref "
        f"AND c.label_type = {wb.table('qa_pairs')}.label_type) WHERE training_sheet_id = :id",
        {"id": sheet.id},
    )
    rows = engine.query(f"SELECT id FROM {wb.table('qa_pairs')} WHERE training_sheet_id = :id ORDER BY ordinal", {"id": sheet.id})
    pair_ids = tuple(r["id"] for r in rows)
    recorded_run(wb, (sheet.id,), pair_ids, (), model_name=model_name, accuracy=1.0, base_accuracy=0.5)
    return TrainedDefects(sheet.id, sheet.sheet_id, pair_ids, tuple(training))


def mislabeled_crack(wb: Workbench) -> TrainedDefects:
    """A model trained on 2 crack, 1 inclusion and 2 clean pairs, where the inclusion pair's crystal
    is described as cracked: its expert label is the wrong one a trace should find (pair 2)."""
    defects = trained_defects(wb, ["crack", "crack", "inclusion", "none", "none"])
    wb.backend.engine.execute(
        f"UPDATE {wb.table('qa_pairs')} SET messages = replace(messages, :inclusion, :crack) WHERE id = :id",
        {"inclusion": LOOKS["inclusion"], "crack": LOOKS["crack"], "id": defects.pair_ids[2]},
    )
    return defects


@dataclass(frozen=True)
class Said:
    """One feedback item on one answered request: the model predicted `predicted`; the person said
    `value` (up/down) or corrected it to `corrected`."""

    predicted: str
    value: str | None = None
    corrected: str | None = None
    looks: str | None = None  # the defect the request's crystal shows (its prompt), default the predicted one


def feedback_on(wb: Workbench, said: list[Said], model_name: str = MODEL, version: str = "1", start: int = 0) -> list[Feedback]:
    """Logs one answered request per item and records its feedback; returns the feedback rows."""
    write_log(wb, [
        logged_request(start + i, prediction=answer(s.predicted), version=version, model_name=model_name,
                       prompt=prompt_for(s.looks or s.predicted, 1000 + start + i))
        for i, s in enumerate(said)
    ])
    store = FeedbackStore(wb)
    return [
        store.add(NewFeedback(
            f"log-{version}-{start + i}", FeedbackKind.CORRECTION if s.corrected else FeedbackKind.RATING, FeedbackOrigin.MONITOR,
            "expert@example.com", value=s.value or ("down" if s.corrected else None),
            correction=answer(s.corrected) if s.corrected else None,
        ))
        for i, s in enumerate(said)
    ]


def improve_gaps_sql_flow(wb: Workbench) -> None:
    """Every statement gap analysis and the trace to training data issue: for the Databricks SQL check."""
    from data_access.embeddings.lexical import LexicalEmbedder
    from data_access.schema.migrate import migrate
    from services.improve.gaps import GapService
    from services.improve.training_trace import TrainingTraceService

    migrate(wb.backend.engine, wb.settings)
    trained_defects(wb, ["crack", "crack", "inclusion", "none"])
    feedback = feedback_on(wb, [Said("crack", "up"), Said("inclusion", "down"), Said("crack", corrected="micro-crack")])
    gaps = GapService(wb)
    gaps.versions()
    gaps.report(MODEL, "1")
    trace = TrainingTraceService(wb, LexicalEmbedder())
    trace.untraced_pairs(feedback[2])
    trace.trace(feedback[2])
