"""IMPROVE → TRAIN: retrain a model on its Training Sheets once experts approved feedback-derived pairs.

A retrain repeats the model's latest run: the same Training Sheets, exported again (the export
now holds the approved pairs made from feedback) with the previous export's split settings,
then trained with the previous run's configuration and registered as the model's next version.
It runs as a job: the export is TRAIN's own export work (`ExportService.run_export`), the
training TRAIN's own run (`start_training`), so nothing of the trainer is repeated here.

Its id is derived from the model and the exact feedback-derived pairs it was started for, and
it is recorded by an insert that only writes when that id is new: the same pairs never start
two retrains, whoever (a person, a rule check, the schedule) asks first.

A rule per model starts one when at least N such pairs wait; it is checked when IMPROVE or
TRAIN is opened and on the app's schedule (services/improve/retrain_schedule.py).
"""

from __future__ import annotations

import hashlib
import logging
import uuid
from dataclasses import dataclass, replace
from typing import Any

from services.core.domain.governance import Use
from services.core.errors import NotFoundError, ValidationError, WorkbenchError
from services.core.jobs import JobContext, JobRunner, new_job_id, register_job_type
from services.core.workbench import Workbench
from services.generate.generation import GenerationService
from services.improve.retrain_records import Retrain, RetrainRule, RetrainStatus, WaitingModel
from services.improve.retrain_store import RetrainStore
from services.train.export_governance import current_governance
from services.train.export_records import SplitConfig
from services.train.exports import ExportRequest, ExportService
from services.train.records import EvaluationSource, TrainingConfig, TrainingRun
from services.train.runs_store import TrainingRunsStore
from services.train.training import start_training

log = logging.getLogger(__name__)

JOB_TYPE = "retrain_model"
RECENT_RETRAINS = 20
MAX_MIN_PAIRS = 100_000  # a threshold above any Training Sheet's size would never fire: refused as a mistake
_CONFIG_FIELDS = frozenset(TrainingConfig.__dataclass_fields__)


@dataclass(frozen=True)
class RuleCheck:
    """What one check of a rule found and did."""

    model_name: str
    waiting_pairs: int
    min_pairs: int
    note: str
    retrain: Retrain | None = None


def retrain_id(model_name: str, pair_ids: tuple[str, ...]) -> str:
    """The same model and the same pairs make the same id, whatever order they were read in."""
    digest = hashlib.sha256("\n".join([model_name, *sorted(pair_ids)]).encode()).hexdigest()
    return str(uuid.UUID(digest[:32]))


def previous_config(run: TrainingRun) -> TrainingConfig:
    """The run's configuration as recorded, to train the next version the same way."""
    recorded = {k: v for k, v in run.config.items() if k in _CONFIG_FIELDS}
    return TrainingConfig(**recorded).checked()


def previous_evaluation(run: TrainingRun, training_sheet_ids: tuple[str, ...]) -> EvaluationSource:
    """The previous run's evaluation settings (how many held-out pairs, which seed), so both
    versions are evaluated on the same held-out pairs where those are still held out."""
    recorded = run.config.get("evaluation") or {}
    default = EvaluationSource(training_sheet_ids)
    return replace(default, max_pairs=int(recorded.get("max_pairs", default.max_pairs)), seed=int(recorded.get("seed", default.seed)))


class RetrainService:
    def __init__(self, workbench: Workbench) -> None:
        self._wb = workbench
        self._store = RetrainStore(workbench)

    # -- what waits and what ran -------------------------------------------------------
    def waiting(self) -> list[WaitingModel]:
        self._settle_stopped()
        return self._store.waiting(self._permitted_sheets())

    def waiting_for(self, model_name: str) -> WaitingModel | None:
        self._settle_stopped()
        found = self._store.waiting(self._permitted_sheets(), model_name)
        return found[0] if found else None

    def _permitted_sheets(self) -> list[str]:
        """The trained Training Sheets whose source's current Unity Catalog tags permit training,
        read as the export reads them: a pair the export would leave out never counts as waiting."""
        generation, sheets = GenerationService(self._wb), []
        for training_sheet_id in self._store.trained_sheet_ids():
            try:
                sheets.append(generation.get(training_sheet_id))
            except NotFoundError:  # deleted since, with its pairs
                continue
        return current_governance(self._wb, sheets).sheets_permitting(Use.TRAINING)

    def recent(self, limit: int = RECENT_RETRAINS) -> list[Retrain]:
        self._settle_stopped()
        return self._store.recent(limit)

    def _settle_stopped(self) -> None:
        """A retrain whose job ended while it was exporting (the app stopped, it was cancelled)
        is failed: its pairs wait again, and Retrain tries it again."""
        runner = JobRunner(self._wb)
        for retrain in self._store.exporting():
            try:
                job = runner.get(retrain.job_id)
            except NotFoundError:  # a job being submitted this moment (its row comes right after)
                continue
            if job.is_finished:
                self._store.set_failed(retrain.id, job.error or f"Its job ended ({job.status}) before the training run started.")

    def get(self, retrain_id_: str) -> Retrain:
        found = self._store.get(retrain_id_)
        if found is None:
            raise NotFoundError("That retrain does not exist.")
        return found

    # -- starting ----------------------------------------------------------------------
    def start(self, model_name: str, *, by_rule: bool = False) -> Retrain:
        """Start retraining the model on the pairs waiting now; refused when none wait or a
        retrain for exactly these pairs was already started."""
        waiting = self.waiting_for(model_name)
        if waiting is None:
            raise ValidationError(f"No approved feedback-derived pairs wait for {model_name}: nothing new to learn from.")
        runs = TrainingRunsStore(self._wb)
        previous = runs.get(waiting.lineage_id)
        if previous is None:
            raise NotFoundError(f"The run that trained {model_name} v{waiting.model_version} is no longer recorded.")
        previous_config(previous)  # a recorded configuration this app can no longer train with is refused before anything starts
        retrain = Retrain(
            id=retrain_id(model_name, waiting.pair_ids), model_name=model_name, previous_lineage_id=previous.id,
            feedback_pair_ids=waiting.pair_ids, feedback_ids=waiting.feedback_ids, export_id=str(uuid.uuid4()),
            lineage_id=None, job_id=new_job_id(), status=RetrainStatus.EXPORTING, error=None,
            started_by=self._wb.user.email, started_by_rule=by_rule, started_at=None,
        )
        if not self._store.claim(retrain):
            return self._started_before(retrain, waiting, by_rule)
        try:
            JobRunner(self._wb).submit(JOB_TYPE, {"retrain_id": retrain.id}, target_id=retrain.id, job_id=retrain.job_id)
        except Exception as error:
            self._store.set_failed(retrain.id, f"The retrain job could not start: {error}")
            raise
        return self.get(retrain.id)

    def _started_before(self, retrain: Retrain, waiting: WaitingModel, by_rule: bool) -> Retrain:
        """These very pairs were claimed before: a person asking again retries that retrain if it
        failed before training; a rule never retries one (a retrain that keeps failing would
        otherwise start at every check)."""
        earlier = self.get(retrain.id)
        if earlier.status is RetrainStatus.FAILED and not by_rule:
            self.resume(earlier.id)
            return self.get(earlier.id)
        what = "its training run is resumed on TRAIN" if earlier.lineage_id else "a person can retry it with Retrain"
        raise ValidationError(
            f"A retrain of {retrain.model_name} for exactly these {waiting.pairs} pairs was already started by "
            f"{earlier.started_by} ({earlier.status}); {what}."
        )

    def resume(self, retrain_id_: str) -> None:
        """Run a retrain that failed before its training run started again, under the same id
        (its export is kept if it was written)."""
        retrain = self.get(retrain_id_)
        if retrain.status is not RetrainStatus.FAILED:
            raise ValidationError("Only a retrain that failed before its training run started can be retried here; "
                                  "a training run that failed is resumed on TRAIN.")
        runner = JobRunner(self._wb)
        try:
            resumable = runner.get(retrain.job_id).can_resume
        except NotFoundError:
            resumable = False
        if resumable:
            self._store.set_exporting(retrain.id)
            runner.resume(retrain.job_id)
            return
        job_id = new_job_id()  # its job is gone or ended otherwise: a new job for the same retrain
        self._store.set_exporting(retrain.id, job_id)
        try:
            runner.submit(JOB_TYPE, {"retrain_id": retrain.id}, target_id=retrain.id, job_id=job_id)
        except Exception as error:
            self._store.set_failed(retrain.id, f"The retrain job could not start: {error}")
            raise

    # -- rules -------------------------------------------------------------------------
    def rules(self) -> list[RetrainRule]:
        return self._store.rules()

    def save_rule(self, model_name: str, min_pairs: int, enabled: bool) -> None:
        if not model_name.strip():
            raise ValidationError("Choose the model the rule retrains.", "model_name")
        if not 1 <= min_pairs <= MAX_MIN_PAIRS:
            raise ValidationError(f"N must be between 1 and {MAX_MIN_PAIRS:,} approved pairs.", "min_pairs")
        if self._store.latest_run_id(model_name) is None:
            raise ValidationError(f"{model_name} has no succeeded training run to repeat.", "model_name")
        self._store.save_rule(model_name, min_pairs, enabled, self._wb.user.email)

    def check_rules(self) -> list[RuleCheck]:
        """Check every enabled rule once: a model with at least N pairs waiting is retrained
        (unless a retrain for exactly those pairs was already started). Each check is recorded."""
        waiting = {w.model_name: w for w in self.waiting()}
        return [self._check(rule, waiting.get(rule.model_name)) for rule in self._store.rules(enabled_only=True)]

    def _check(self, rule: RetrainRule, waiting: WaitingModel | None) -> RuleCheck:
        count = waiting.pairs if waiting else 0
        started: Retrain | None = None
        if count < rule.min_pairs:
            note = f"{count} of {rule.min_pairs} approved feedback-derived pairs waiting."
        else:
            try:
                started = self.start(rule.model_name, by_rule=True)
                note = f"{count} pairs waiting (N = {rule.min_pairs}): started a retrain."
            except WorkbenchError as error:  # already started for these pairs, or the run cannot be repeated
                note = f"{count} pairs waiting (N = {rule.min_pairs}), not started: {error}"
        self._store.record_check(rule.model_name, count, note, started.id if started else None)
        return RuleCheck(rule.model_name, count, rule.min_pairs, note, started)


class RetrainWork:
    """The job: export the model's Training Sheets again, then start the training run. Resumed,
    it keeps its export (an export already written is returned as it is) and a run once started."""

    def __init__(self, workbench: Workbench, params: dict[str, Any]) -> None:
        self._wb = workbench
        self._store = RetrainStore(workbench)
        found = self._store.get(str(params.get("retrain_id", "")))
        if found is None:
            raise ValidationError("That retrain no longer exists.", "retrain_id")
        self._retrain = found

    def run(self, context: JobContext) -> dict[str, Any]:
        retrain = self._retrain
        if retrain.lineage_id:
            return {"status": "training", "run_id": retrain.lineage_id}
        self._store.set_exporting(retrain.id)
        try:
            return self._export_and_train(retrain, context)
        except Exception as error:
            self._store.set_failed(retrain.id, str(error) if isinstance(error, WorkbenchError) else f"{type(error).__name__}: {error}")
            raise

    def _export_and_train(self, retrain: Retrain, context: JobContext) -> dict[str, Any]:
        previous = TrainingRunsStore(self._wb).get(retrain.previous_lineage_id)
        if previous is None:
            raise WorkbenchError("The run this retrain repeats is no longer recorded.")
        exports = ExportService(self._wb)
        request = exports.checked_request(
            ExportRequest(retrain.export_id, list(previous.training_sheet_ids), self._split_config(exports, previous)).to_params()
        )
        exported = exports.run_export(request, context)
        if exported.get("status") == "cancelled":
            self._store.set_failed(retrain.id, "Cancelled while exporting; nothing was trained.")
            return {"status": "cancelled"}
        version = exports.get(retrain.export_id)
        training_input = replace(
            exports.training_input(version), evaluation=previous_evaluation(previous, version.training_sheet_ids)
        )
        run = start_training(self._wb, training_input, previous_config(previous))
        self._store.set_training(retrain.id, run.id)
        return {"status": "training", "run_id": run.id, "export_id": version.id, "export_version": version.version,
                "train_pairs": run.train_pair_count}

    def _split_config(self, exports: ExportService, previous: TrainingRun) -> SplitConfig:
        """The previous export's split settings; the sheets' defaults when that export is gone."""
        if previous.export_id:
            try:
                return exports.get(previous.export_id).split_config
            except NotFoundError:
                log.info("Export %s of run %s is gone: retraining with the default split", previous.export_id, previous.id)
        return exports.default_config(list(previous.training_sheet_ids))


register_job_type(JOB_TYPE, RetrainWork)
