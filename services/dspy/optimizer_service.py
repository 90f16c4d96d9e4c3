"""The DSPy Optimizer as a page uses it: preview a Training Sheet's dataset, launch and watch
runs, compare a result with its template, and accept or reject it.

Accept makes the next version of the template (a draft, minor bump) with the optimized
instructions and demos, linked to the run; Reject is recorded. Either way the run's per-pair
scores flow back: the optimized program's score on each evaluation pair becomes its quality
score, and an Example Store example made from a demo's pair gets the run's measured effect (the
optimized score minus the baseline on the same evaluation set).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace

from data_access.llm.configured import configured_chat_model, is_app_local_endpoint
from services.core.domain.governance import Use
from services.core.domain.template import FewShotExample, Template
from services.core.errors import NotFoundError, StaleWriteError, ValidationError
from services.core.governance import usable_for_sql
from services.core.jobs import JobRunner
from services.core.workbench import Workbench
from services.dspy.dataset import ANSWER_FIELD, DatasetExporter
from services.dspy.optimization import JOB_TYPE, run_config
from services.dspy.records import Decision, DspyDataset, DspyRun, OptimizedDemo, RunStatus
from services.dspy.runs_store import DspyRunsStore
from services.templates.prompt_templates import FieldDiff, TemplateService, diff_templates

RECENT_RUNS = 20


@dataclass(frozen=True)
class ModelNotice:
    """Which model an optimization run calls, and whether its scores mean anything beyond the mechanics."""

    description: str
    tiny_local: bool  # this app's own local endpoint: a small model on a laptop
    configured: bool


@dataclass(frozen=True)
class TrainingSheetChoice:
    id: str
    name: str
    template_title: str
    usable: int  # pairs through the few-shot or the evaluation gate by their own constraints: what a run can use


class DspyOptimizerService:
    def __init__(self, workbench: Workbench) -> None:
        self._wb = workbench
        self._store = DspyRunsStore(workbench)
        self._templates = TemplateService(workbench)

    # -- before a run ------------------------------------------------------------------------
    def training_sheets(self) -> list[TrainingSheetChoice]:
        """Training Sheets with the most pairs a run can use first (the dataset applies the source's
        current tags on top): a sheet whose pairs are all kept from few-shot and evaluation has
        nothing to optimize on."""
        gates = f"{usable_for_sql(use_param='few_shot')} OR {usable_for_sql(use_param='evaluation')}"
        rows = self._wb.backend.engine.query(
            "SELECT ts.id, ts.name, t.name AS template_name, t.version, coalesce(p.usable, 0) AS usable "
            f"FROM {self._wb.table('training_sheets')} ts JOIN {self._wb.table('templates')} t ON t.id = ts.template_id "
            f"LEFT JOIN (SELECT training_sheet_id, count_if({gates}) AS usable FROM {self._wb.table('qa_pairs')} "
            "GROUP BY training_sheet_id) p ON p.training_sheet_id = ts.id ORDER BY usable DESC, ts.name",
            {"few_shot": Use.FEW_SHOT.value, "evaluation": Use.EVALUATION.value},
        )
        return [TrainingSheetChoice(r["id"], r["name"], f"{r['template_name']} v{r['version']}", int(r["usable"])) for r in rows]

    def dataset(self, training_sheet_id: str, seed: int = 0) -> DspyDataset:
        return DatasetExporter(self._wb).export(training_sheet_id, seed)

    def model_notice(self, template: Template) -> ModelNotice:
        model = configured_chat_model(self._wb.settings, self._wb.user, template.base_model)
        if model is None:
            return ModelNotice("No language model is configured", False, False)
        return ModelNotice(model.describe(), is_app_local_endpoint(self._wb.settings), True)

    def launch(self, training_sheet_id: str, optimizer: str, metric: str, max_demos: int, seed: int = 0,
               trace_calls: bool | None = None) -> str:
        """Starts the run as a job (checked first: nothing is written for a run that cannot start).
        `trace_calls`: trace every model call in MLflow; None takes WORKBENCH_DSPY_TRACES."""
        traced = self._wb.settings.dspy_traces if trace_calls is None else trace_calls
        params = {"training_sheet_id": training_sheet_id, "optimizer": optimizer, "metric": metric, "max_demos": max_demos, "seed": seed,
                  "trace_calls": bool(traced)}
        run_config(params)
        return JobRunner(self._wb).submit(JOB_TYPE, params, training_sheet_id=training_sheet_id)

    # -- runs --------------------------------------------------------------------------------
    def recent(self, limit: int = RECENT_RUNS) -> list[DspyRun]:
        return self._store.recent(limit)

    def get(self, run_id: str) -> DspyRun:
        run = self._store.get(run_id)
        if run is None:
            raise NotFoundError(f"DSPy run {run_id} does not exist.")
        return run

    def run_of_job(self, job_id: str) -> DspyRun | None:
        return self._store.by_job(job_id)

    def proposed(self, run: DspyRun) -> tuple[Template, Template]:
        """The run's template and the version Accept would make (not written), for the diff."""
        template = self._templates.get(run.template_id)
        if run.status is not RunStatus.SUCCEEDED or run.result is None:
            raise ValidationError(f"The run {run.status.value}; only a finished run has a result to compare.")
        examples = tuple(_few_shot(demo) for demo in run.result.demos)
        draft = replace(template, system_prompt=run.result.instructions, examples=examples)
        return template, draft

    def diff(self, run: DspyRun) -> list[FieldDiff]:
        return diff_templates(*self.proposed(run))

    # -- deciding ----------------------------------------------------------------------------
    def accept(self, run_id: str) -> Template:
        run = self._decidable(run_id)
        template, proposed = self.proposed(run)
        version = self._templates.new_version_from(template, "minor")
        version = self._templates.update(version, replace(version.as_draft(), system_prompt=proposed.system_prompt, examples=proposed.examples))
        if not self._store.decide(run_id, Decision.ACCEPTED, self._wb.user.email, version.id):
            self._templates.archive(version)  # someone decided first: their decision stands, this draft goes
            raise self._decided(run_id)
        self._store.link_template(version.id, run_id)
        self._flow_back(run)
        return version

    def reject(self, run_id: str) -> None:
        run = self._decidable(run_id)
        if not self._store.decide(run_id, Decision.REJECTED, self._wb.user.email, None):
            raise self._decided(run_id)
        self._flow_back(run)

    def template_run(self, template_id: str) -> str | None:
        """The DSPy run a template version came from, if it did."""
        return self._store.template_run(template_id)

    def _decidable(self, run_id: str) -> DspyRun:
        run = self.get(run_id)
        if run.decision is not None:
            raise self._decided(run_id)
        if run.status is not RunStatus.SUCCEEDED:
            raise ValidationError(f"The run {run.status.value}; only a finished run can be accepted or rejected.")
        return run

    def _decided(self, run_id: str) -> StaleWriteError:
        run = self.get(run_id)
        return StaleWriteError(f"{run.decided_by or 'Someone'} already {run.decision.value if run.decision else 'decided on'} this run; "
                               "nothing was changed.")

    def _flow_back(self, run: DspyRun) -> None:
        """Measured per-pair scores are worth keeping whatever a person decides about the prompt."""
        result = run.result
        if result is None:
            return
        self._store.score_pairs({s.pair_id: s.optimized for s in result.scores})
        lift = (run.optimized_score or 0.0) - (run.baseline_score or 0.0)
        self._store.rate_examples({d.pair_id: lift for d in result.demos if d.pair_id})


def _few_shot(demo: OptimizedDemo) -> FewShotExample:
    """A demo as the template's few-shot example: its inputs, and the answer as the template asks for it."""
    single = list(demo.outputs) == [ANSWER_FIELD]
    answer = demo.outputs[ANSWER_FIELD] if single else json.dumps({k: _value(v) for k, v in demo.outputs.items()}, ensure_ascii=False)
    return FewShotExample(dict(demo.inputs), answer)


def _value(text: str) -> object:
    try:
        return json.loads(text)
    except ValueError:
        return text
