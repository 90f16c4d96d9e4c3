"""Constructed feedback with known answers, for the IMPROVE tests: a crystal-defect model trained on
chosen pairs (each with its expert label, as approval links them; the lineage through TRAIN's store),
requests it answered written to the inference log, and feedback on them through FeedbackStore."""

from __future__ import annotations

import json
from dataclasses import dataclass

from services.core.domain.canonical_label import LabelContent, LabelKey
from services.core.domain.template import FieldType, SchemaField, Template, TemplateDraft
from services.core.workbench import Workbench
from services.improve.feedback_store import FeedbackStore
from services.improve.records import Feedback, FeedbackKind, FeedbackOrigin, NewFeedback
from services.labels.canonical_labels import CanonicalLabelService
from services.templates.prompt_templates import TemplateService
from tests.monitor_builders import logged_request, write_log
from tests.train_builders import PairSpec, build_training_sheet
from tests.train_model_builders import recorded_run

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


def improve_sql_flow(wb: Workbench) -> None:
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
