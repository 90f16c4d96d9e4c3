"""A Training Sheet exported as a DSPy dataset.

The signature comes from the template: its input schema (else the columns its user prompt reads)
and its output schema (else one `answer` field). Values come from the sheet's items and the
pairs' approved answers; a pair missing a field is left out and named before anything runs.

Demos pass the few-shot gate and the evaluation set the evaluation gate (the one dual gate,
`usable_for_sql`), and the source sheet's current tags bind too (governance only tightens).
A pair allowed both ways goes to one side only, by a seeded hash, so the scores are measured on
pairs the optimizer never saw.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from services.core.domain.governance import Use
from services.core.domain.qa_pair import messages_from_json
from services.core.domain.template import Template
from services.core.errors import NotFoundError, ValidationError
from services.core.governance import tag_rule, usable_for_sql
from services.core.workbench import Workbench
from services.data.sheets import SheetService
from services.dspy.records import DspyDataset, DspyRecord, SignatureField
from services.templates.output_parsing import parse_output
from services.templates.prompt_templates import TemplateService
from services.templates.rendering import RESERVED_NAMES, placeholders

ANSWER_FIELD = "answer"  # the one output field of a template without an output schema
MAX_DEMO_POOL = 200  # optimizers bootstrap from a few dozen; more only multiplies model calls
MAX_EVAL_PAIRS = 200  # every run scores the set twice (baseline and optimized): calls grow with it
MIN_EVAL_PAIRS = 2  # a score on one pair says nothing
MAX_PROBLEMS_SHOWN = 20  # the rest are counted, not listed


def signature_fields(template: Template) -> tuple[tuple[SignatureField, ...], tuple[SignatureField, ...]]:
    """The signature's input and output fields, from the template's schemas."""
    if template.input_schema:
        inputs = tuple(SignatureField(f.name, f.description, f.type, f.choices) for f in template.input_schema)
    else:
        inputs = tuple(SignatureField(name) for name in sorted(placeholders(template.user_prompt_template) - RESERVED_NAMES))
    if template.output_schema:
        outputs = tuple(SignatureField(f.name, f.description, f.type, f.choices) for f in template.output_schema)
    else:
        outputs = (SignatureField(ANSWER_FIELD, "the answer"),)
    return inputs, outputs


def check_signature(inputs: tuple[SignatureField, ...], outputs: tuple[SignatureField, ...]) -> None:
    if not inputs:
        raise ValidationError("The template names no input fields (no input schema, and its user prompt reads no column): "
                              "DSPy needs at least one input field.")
    both = {f.name for f in inputs} & {f.name for f in outputs}
    if both:
        raise ValidationError(f"{', '.join(sorted(both))} is both an input and an output field of the template; rename one.")


def _text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


class DatasetExporter:
    def __init__(self, workbench: Workbench) -> None:
        self._wb = workbench

    def export(self, training_sheet_id: str, seed: int = 0) -> DspyDataset:
        """Raises NotFoundError for an unknown sheet, ValidationError when nothing can run."""
        sheet_row = self._training_sheet(training_sheet_id)
        template = TemplateService(self._wb).get(sheet_row["template_id"])
        inputs, outputs = signature_fields(template)
        check_signature(inputs, outputs)
        sheets = SheetService(self._wb)
        sheet = sheets.with_tags(sheets.get(sheet_row["sheet_id"]))
        rule = tag_rule(sheet.tags)
        rows = self._gated_pairs(training_sheet_id, seed)
        items = {i.item_ref: i.fields for i in sheets.items_for_refs(sheet, [r["item_ref"] for r in rows])}
        problems: list[str] = []
        demos: list[DspyRecord] = []
        evalset: list[DspyRecord] = []
        for row in rows:
            record = self._record(row, items.get(row["item_ref"]), template, inputs, outputs, problems)
            if record is None:
                continue
            few_shot = bool(row["few_shot_ok"]) and (rule is None or rule.permits(Use.FEW_SHOT))
            evaluation = bool(row["evaluation_ok"]) and (rule is None or rule.permits(Use.EVALUATION))
            if evaluation and (not few_shot or _to_eval(seed, row["id"])):
                evalset.append(record)
            elif few_shot:
                demos.append(record)
        if rule is not None and not (rule.permits(Use.FEW_SHOT) and rule.permits(Use.EVALUATION)):
            problems.insert(0, f"The source sheet's tags restrict its pairs: {rule.usage_reason}")
        return DspyDataset(training_sheet_id, template, template.system_prompt, inputs, outputs,
                           tuple(demos[:MAX_DEMO_POOL]), tuple(evalset[:MAX_EVAL_PAIRS]), _shown(problems))

    def _training_sheet(self, training_sheet_id: str) -> dict[str, Any]:
        rows = self._wb.backend.engine.query(
            f"SELECT id, sheet_id, template_id FROM {self._wb.table('training_sheets')} WHERE id = :id", {"id": training_sheet_id})
        if not rows:
            raise NotFoundError(f"Training Sheet {training_sheet_id} does not exist.")
        return rows[0]

    def _gated_pairs(self, training_sheet_id: str, seed: int) -> list[dict[str, Any]]:
        """Approved pairs usable for few-shot or evaluation with each gate's answer, in a seeded
        order so the caps take a spread, not the first rows."""
        few_shot, evaluation = usable_for_sql("q", "few_shot_use"), usable_for_sql("q", "evaluation_use")
        return self._wb.backend.engine.query(
            f"SELECT q.id, q.item_ref, q.messages, {few_shot} AS few_shot_ok, {evaluation} AS evaluation_ok "
            f"FROM {self._wb.table('qa_pairs')} q WHERE q.training_sheet_id = :training_sheet_id AND ({few_shot} OR {evaluation}) "
            "ORDER BY md5(concat(:seed, q.id))",
            {"training_sheet_id": training_sheet_id, "seed": str(seed),
             "few_shot_use": Use.FEW_SHOT.value, "evaluation_use": Use.EVALUATION.value},
        )

    @staticmethod
    def _record(row: dict[str, Any], fields: dict[str, Any] | None, template: Template, inputs: tuple[SignatureField, ...],
                outputs: tuple[SignatureField, ...], problems: list[str]) -> DspyRecord | None:
        pair = f"Pair {row['id']} (item {row['item_ref']})"
        if fields is None:
            problems.append(f"{pair}: its item is no longer in the sheet.")
            return None
        missing = [f.name for f in inputs if fields.get(f.name) is None]
        if missing:
            problems.append(f"{pair}: missing input field(s) {', '.join(missing)}.")
            return None
        messages = messages_from_json(row["messages"])
        answer = messages[-1].content if messages and messages[-1].role == "assistant" else ""
        if not answer.strip():
            problems.append(f"{pair}: no approved answer.")
            return None
        if not template.output_schema:
            return DspyRecord(row["id"], {f.name: _text(fields[f.name]) for f in inputs}, {ANSWER_FIELD: answer.strip()})
        parsed = parse_output(answer, template.output_schema)
        value = parsed.value or {}
        absent = [f.name for f in outputs if value.get(f.name) is None and any(s.name == f.name and s.required for s in template.output_schema)]
        if parsed.value is None or absent:
            why = f"missing output field(s) {', '.join(absent)}" if absent else "; ".join(parsed.errors)
            problems.append(f"{pair}: {why}.")
            return None
        return DspyRecord(row["id"], {f.name: _text(fields[f.name]) for f in inputs},
                          {f.name: _text(value.get(f.name, "")) for f in outputs})


def _to_eval(seed: int, pair_id: str) -> bool:
    """A seeded coin for a pair allowed both ways: the same on both backends and in every run with the seed."""
    return hashlib.md5(f"{seed}:{pair_id}".encode()).digest()[0] % 2 == 0


def _shown(problems: list[str]) -> tuple[str, ...]:
    if len(problems) <= MAX_PROBLEMS_SHOWN:
        return tuple(problems)
    return (*problems[:MAX_PROBLEMS_SHOWN], f"… and {len(problems) - MAX_PROBLEMS_SHOWN} more.")


def check_runnable(dataset: DspyDataset) -> None:
    """What must hold before a run spends model calls; the message says what to do."""
    if len(dataset.evalset) < MIN_EVAL_PAIRS:
        raise ValidationError(f"Only {len(dataset.evalset)} pair(s) of this Training Sheet may be used for evaluation and have every "
                              f"field; a run needs at least {MIN_EVAL_PAIRS}. Approve more pairs or allow evaluation.")
    if not dataset.demos:
        raise ValidationError("No pair of this Training Sheet may be used as a few-shot example (or each lacks a field): "
                              "the optimizer has nothing to learn from. Approve more pairs or allow few-shot use.")
