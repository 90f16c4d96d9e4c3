"""DSPy's MLflow autologging (`mlflow.dspy.autolog`) around one optimization run.

Autologging is process-wide in MLflow 3: traces go to the process's tracking URI and experiment,
and its callback is installed in DSPy's global settings, which DSPy lets only the thread that first
set them change. So it runs only in a process that serves one run at a time (the optimizer's worker,
`services/dspy/worker.py`), on that process's main thread, never in the app's own process.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass

log = logging.getLogger(__name__)

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
    module, adapter and model spans); with no destination, or one MLflow refuses, not traced:
    tracing is a record of the run, never a reason for it to fail."""
    if destination is None:  # the default: a worker that never traced never imports MLflow
        _stop_tracing()
        yield
        return
    import mlflow

    with ExitStack() as run:
        try:
            _start_tracing(destination)
            run.enter_context(mlflow.start_run(run_id=destination.run_id))
        except Exception as error:  # MLflow's own errors have no common base worth naming here
            log.warning("The optimization run is not traced: %s", error)
            _stop_tracing()
        yield
    with suppress(Exception):
        mlflow.flush_trace_async_logging()


def _start_tracing(destination: TraceDestination) -> None:
    import mlflow
    import mlflow.dspy

    global _enabled
    mlflow.set_tracking_uri(destination.tracking_uri)
    mlflow.set_experiment(experiment_id=destination.experiment_id)
    if not _enabled:
        # Traces of the compile too: with them off, autolog turns tracing off for the whole process
        # while the optimizer runs, and the baseline scored beside it would go untraced. Compile
        # logging would start a run on each candidate thread of a random search; the workbench
        # logs the run's config, scores and program itself (services/dspy/optimization.py).
        mlflow.dspy.autolog(log_traces=True, log_traces_from_compile=True, log_compiles=False, log_evals=False, silent=True)
        _enabled = True


def _stop_tracing() -> None:
    global _enabled
    if _enabled:  # a run before this one traced: the callback is process-wide
        import mlflow.dspy

        mlflow.dspy.autolog(disable=True, silent=True)
        _enabled = False
