"""A/B: two model versions of one endpoint side by side over the same window: traffic, latency,
errors and guardrails in one grouped query, and accuracy where the truth is known."""

from __future__ import annotations

from dataclasses import dataclass

from services.core.workbench import Workbench
from services.monitor.log_scope import LogScope
from services.monitor.predictions import PredictionService
from services.monitor.watched_model import watched_model
from services.train.version_comparison import SamePairsComparison, VersionComparisonService


@dataclass(frozen=True)
class VersionMetrics:
    version: str
    requests: int
    errors: int
    guardrails_passed: int
    p50_ms: float | None
    p95_ms: float | None
    compared: int  # requests whose answer is known
    correct: int
    window_seconds: float

    @property
    def error_rate(self) -> float | None:
        return self.errors / self.requests if self.requests else None

    @property
    def guardrail_pass_rate(self) -> float | None:
        return self.guardrails_passed / self.requests if self.requests else None

    @property
    def accuracy(self) -> float | None:
        return self.correct / self.compared if self.compared else None

    @property
    def requests_per_s(self) -> float:
        return self.requests / self.window_seconds


def compare_versions(workbench: Workbench, scope: LogScope, versions: tuple[str, str]) -> list[VersionMetrics]:
    """The two versions in the order given; a version with no requests in the window has zeros."""
    rows = workbench.backend.engine.query(
        "SELECT l.model_version, count(*) AS requests, count_if(l.status_code >= 400) AS errors, "
        "count_if(l.guardrails_passed) AS passed, percentile_approx(l.latency_ms, array(0.5, 0.95)) AS p "
        f"FROM {workbench.table('inference_log')} l WHERE l.endpoint_name = :endpoint AND l.created_at >= :since "
        "AND array_contains(:versions, l.model_version) GROUP BY l.model_version",
        {**scope.params(), "versions": list(versions)},
    )
    by_version = {str(r["model_version"]): r for r in rows}
    predictions = PredictionService(workbench)
    compared = []
    for version in versions:
        row = by_version.get(version, {})
        p50, p95 = row.get("p") or (None, None)
        model = watched_model(workbench, scope.for_version(version)) if row else None
        known = predictions.accuracy_over_time(scope.for_version(version), model) if model else []
        compared.append(VersionMetrics(
            version, int(row.get("requests") or 0), int(row.get("errors") or 0), int(row.get("passed") or 0), p50, p95,
            sum(b.compared for b in known), sum(b.correct for b in known), scope.window.span.total_seconds(),
        ))
    return compared


def evaluated_on_same_pairs(workbench: Workbench, scope: LogScope, versions: tuple[str, str]) -> SamePairsComparison | None:
    """TRAIN's evaluation of the two versions on the held-out pairs both runs answered; None when
    they are not versions of one model on record or one of them was never evaluated."""
    models = [watched_model(workbench, scope.for_version(version)) for version in versions]
    if models[0] is None or models[1] is None or models[0].model_name != models[1].model_name:
        return None
    return VersionComparisonService(workbench).compare(models[0].model_name, models[0].model_version, models[1].model_version)
