"""What the DSPy Optimizer works with: a dataset exported from a Training Sheet, and a run's outcome."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from services.core.domain.template import FieldType, Template


class Optimizer(StrEnum):
    BOOTSTRAP = "BootstrapFewShot"
    RANDOM_SEARCH = "BootstrapFewShotWithRandomSearch"
    MIPRO = "MIPROv2"
    GEPA = "GEPA"


class Metric(StrEnum):
    PER_FIELD = "per_field_match"  # the share of output fields equal to the expected ones
    EXACT = "exact_match"  # 1 when every output field is equal, else 0


class RunStatus(StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


class Decision(StrEnum):
    ACCEPTED = "accepted"
    REJECTED = "rejected"


@dataclass(frozen=True)
class SignatureField:
    name: str
    description: str = ""
    type: FieldType = FieldType.STRING
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class DspyRecord:
    """One pair as DSPy sees it: the values of the signature's input and output fields."""

    pair_id: str
    inputs: dict[str, str]
    outputs: dict[str, str]


@dataclass(frozen=True)
class DspyDataset:
    """A Training Sheet ready for DSPy: demos pass the few-shot gate, the evaluation set the
    evaluation gate, and no pair is in both. `problems` say what was left out and why."""

    training_sheet_id: str
    template: Template
    instructions: str
    inputs: tuple[SignatureField, ...]
    outputs: tuple[SignatureField, ...]
    demos: tuple[DspyRecord, ...]
    evalset: tuple[DspyRecord, ...]
    problems: tuple[str, ...] = ()

    @property
    def single_answer(self) -> bool:
        """The template has no output schema: the whole answer is one field."""
        return not self.template.output_schema


@dataclass(frozen=True)
class RunConfig:
    training_sheet_id: str
    optimizer: Optimizer
    metric: Metric
    max_demos: int = 4
    seed: int = 0
    trace_calls: bool = False  # every model call traced by mlflow.dspy.autolog: a record worth its cost only when asked for

    def to_json(self) -> dict[str, Any]:
        return {"training_sheet_id": self.training_sheet_id, "optimizer": self.optimizer.value, "metric": self.metric.value,
                "max_demos": self.max_demos, "seed": self.seed, "trace_calls": self.trace_calls}


@dataclass(frozen=True)
class ExampleScore:
    pair_id: str
    baseline: float
    optimized: float


@dataclass(frozen=True)
class OptimizedDemo:
    pair_id: str | None  # None: DSPy wrote it (a bootstrapped demo whose inputs match no pair)
    inputs: dict[str, str]
    outputs: dict[str, str]


@dataclass(frozen=True)
class RunResult:
    instructions: str
    demos: tuple[OptimizedDemo, ...]
    scores: tuple[ExampleScore, ...]
    model_calls: int
    program: dict[str, Any] = field(default_factory=dict)  # DSPy's saved state of the optimized program

    def to_json(self) -> dict[str, Any]:
        return {
            "instructions": self.instructions,
            "demos": [{"pair_id": d.pair_id, "inputs": d.inputs, "outputs": d.outputs} for d in self.demos],
            "scores": [{"pair_id": s.pair_id, "baseline": s.baseline, "optimized": s.optimized} for s in self.scores],
            "model_calls": self.model_calls,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunResult:
        return cls(
            str(data.get("instructions") or ""),
            tuple(OptimizedDemo(d.get("pair_id"), dict(d["inputs"]), dict(d["outputs"])) for d in data.get("demos") or ()),
            tuple(ExampleScore(s["pair_id"], float(s["baseline"]), float(s["optimized"])) for s in data.get("scores") or ()),
            int(data.get("model_calls") or 0),
        )


@dataclass(frozen=True)
class DspyRun:
    run_id: str
    training_sheet_id: str
    template_id: str
    optimizer: str
    metric: str
    status: RunStatus
    model: str
    config: dict[str, Any]
    baseline_score: float | None = None
    optimized_score: float | None = None
    result: RunResult | None = None
    mlflow_run_id: str | None = None
    job_id: str | None = None
    error: str | None = None
    decision: Decision | None = None
    decided_by: str | None = None
    decided_at: datetime | None = None
    accepted_template_id: str | None = None
    created_by: str = ""
    started_at: datetime | None = None
    completed_at: datetime | None = None
