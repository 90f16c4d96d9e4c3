"""DSPy's MLflow autologging (`mlflow.dspy.autolog`) around one optimization run.

Autologging is process-wide in MLflow 3: traces go to the process's tracking URI and experiment,
and its callback is installed in DSPy's global settings, which DSPy lets only the thread that first
set them change. So it runs only in a process that serves one run at a time (the optimizer's worker,
`services/dspy/worker.py`), on that process's main thread, never in the app's own process.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

_enabled = False


@dataclass(frozen=True)
class TraceDestination:
    """Where a run's traces go: the tracking server, and the experiment and run they belong to."""

    tracking_uri: str
    experiment_id: str
    run_id: str


@contextmanager
def autologged(destination: TraceDestination | None) -> Iterator[None]:
    """DSPy's calls inside traced to `destination`'s run (each program call a trace of its
    module, adapter and model spans); with no destination, not traced."""
    import mlflow
    import mlflow.dspy

    global _enabled
    if destination is None:
        if _enabled:  # a run before this one traced: the callback is process-wide
            mlflow.dspy.autolog(disable=True, silent=True)
            _enabled = False
        yield
        return
    mlflow.set_tracking_uri(destination.tracking_uri)
    mlflow.set_experiment(experiment_id=destination.experiment_id)
    if not _enabled:
        # Traces of the compile too: with them off, autolog turns tracing off for the whole process
        # while the optimizer runs, and the baseline scored beside it would go untraced. Compile
        # logging would start a run on each candidate thread of a random search; the workbench
        # logs the run's config, scores and program itself (services/dspy/optimization.py).
        mlflow.dspy.autolog(log_traces=True, log_traces_from_compile=True, log_compiles=False, log_evals=False, silent=True)
        _enabled = True
    with mlflow.start_run(run_id=destination.run_id):
        yield
    mlflow.flush_trace_async_logging()
