"""Training on an export: the base model and hyperparameters, "Start training", then the run.

The run shows itself in a fragment that refreshes every second while it is going (status, step,
ETA, the loss curve, Cancel) and, once it ends, the registered model, its evaluation beside the
base model's, and "View in MLflow"; a failed, cancelled or interrupted run offers Resume.
"""

from __future__ import annotations

from dataclasses import replace

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from components.feedback import shown_errors
from services.core.workbench import Workbench
from services.train.evaluation import Comparison
from services.train.records import (
    MAX_EVALUATION_PAIRS,
    EvaluationSource,
    RunProgress,
    RunStatus,
    TrainingConfig,
    TrainingInput,
    TrainingRun,
)
from services.train.training import TrainingService, start_training

POLL_INTERVAL_S = 1.0  # a CPU step takes seconds; a faster refresh would redraw the same curve
SHOWN_ANSWERS = 20  # evaluation pairs listed side by side; the metrics cover them all
_STATUS_TEXT = {
    RunStatus.QUEUED: "Queued",
    RunStatus.SUBMITTED: "Submitted to Databricks, waiting for compute",
    RunStatus.LOADING: "Loading the base model and the export",
    RunStatus.TRAINING: "Training",
    RunStatus.EVALUATING: "Answering the evaluation set with the base and the fine-tuned model",
    RunStatus.REGISTERING: "Saving and registering the model",
    RunStatus.SUCCEEDED: "Registered",
    RunStatus.FAILED: "Failed",
    RunStatus.CANCELLED: "Cancelled",
    RunStatus.INTERRUPTED: "Interrupted: the app stopped while it ran",
}


def show(workbench: Workbench, training_input: TrainingInput, key: str) -> TrainingRun | None:
    """The configuration form for this export and, once started, its run; returns the run shown."""
    service = TrainingService(workbench)
    base_model, where = service.trainer_description()
    st.markdown(f"**Base model:** {base_model} · {where}")
    if "135M" in base_model:
        st.caption(
            "A small model (135M parameters) fine-tuned for real: it learns the answer format and simple labels "
            "from the experts' pairs, not an expert's judgment."
        )
    summary = st.empty()  # above the form, which decides how many pairs are evaluated
    config, evaluation = _config_form(key, training_input.evaluation)
    summary.markdown(
        f"{len(training_input.train_pair_ids):,} training pairs · {len(training_input.validation_pair_ids):,} validation pairs · "
        f"evaluated on up to {evaluation.max_pairs:,} held-out pairs that pass the evaluation gate"
    )
    if st.button("Start training", key=f"{key}_start", type="primary", icon=":material/model_training:"):
        with shown_errors():
            st.session_state[f"{key}_run"] = start_training(workbench, replace(training_input, evaluation=evaluation), config).id
    run_id = st.session_state.get(f"{key}_run")
    return show_run(workbench, run_id, f"{key}_run") if run_id else None


def _config_form(key: str, evaluation: EvaluationSource) -> tuple[TrainingConfig, EvaluationSource]:
    defaults = TrainingConfig()
    # Keyed, so it stays open when the export's progress above it goes away.
    with st.expander("Hyperparameters", expanded=False, key=f"{key}_hyperparameters"):
        left, middle, right = st.columns(3)
        epochs = left.number_input("Epochs", 1, 20, defaults.epochs, key=f"{key}_epochs")
        max_steps = left.number_input("Max steps (0: all epochs)", 0, 100_000, defaults.max_steps, key=f"{key}_max_steps")
        batch_size = left.number_input("Batch size", 1, 64, defaults.batch_size, key=f"{key}_batch")
        learning_rate = middle.number_input("Learning rate", 1e-6, 1.0, defaults.learning_rate, format="%.0e", key=f"{key}_lr")
        lora_rank = middle.number_input("LoRA rank", 1, 256, defaults.lora_rank, key=f"{key}_rank")
        lora_alpha = middle.number_input("LoRA alpha", 1, 1024, defaults.lora_alpha, key=f"{key}_alpha")
        max_length = right.number_input("Max tokens per pair", 32, 8192, defaults.max_length, key=f"{key}_max_length")
        seed = right.number_input("Seed", 0, 2**31 - 1, defaults.seed, key=f"{key}_seed")
        model_name = right.text_input("Registered model name (optional)", key=f"{key}_model_name", placeholder="from the Training Sheet's name")
        evaluation_pairs = middle.number_input(
            "Evaluation pairs (at most)", 0, MAX_EVALUATION_PAIRS, evaluation.max_pairs, key=f"{key}_evaluation_pairs",
            help="Each is answered by the base and the fine-tuned model (about 2 s each on a laptop's CPU); 0 skips the evaluation.",
        )
    config = TrainingConfig(
        model_name=model_name.strip(), epochs=int(epochs), max_steps=int(max_steps), batch_size=int(batch_size),
        learning_rate=float(learning_rate), lora_rank=int(lora_rank), lora_alpha=int(lora_alpha), max_length=int(max_length), seed=int(seed),
    )
    return config, replace(evaluation, max_pairs=int(evaluation_pairs))


def show_run(workbench: Workbench, run_id: str, key: str) -> TrainingRun | None:
    """One run: live while it goes, its outcome once it ends."""
    service = TrainingService(workbench)
    with shown_errors():
        run = service.get(run_id)
        polling = not run.is_finished
        st.fragment(_live, run_every=POLL_INTERVAL_S if polling else None)(service, run_id, key, polling)
        return run
    return None


def _live(service: TrainingService, run_id: str, key: str, polling: bool) -> None:
    progress = service.progress(run_id)
    run = progress.run
    if polling and run.is_finished:
        st.rerun(scope="app")  # the full run shows the outcome and stops this fragment's timer
    st.markdown(f"**{_STATUS_TEXT[run.status]}** · run `{run.id[:8]}`" + (f" · Databricks run {run.databricks_run_id}" if run.databricks_run_id else ""))
    if progress.total_steps:
        st.progress(progress.step / progress.total_steps, text=_progress_text(progress))
    if progress.points:
        st.plotly_chart(_loss_figure(progress), key=f"{key}_loss", width="stretch")
    if not run.is_finished:
        st.button("Cancel", key=f"{key}_cancel", icon=":material/stop_circle:", on_click=service.cancel, args=(run_id,))
        return
    if run.status is RunStatus.SUCCEEDED:
        _outcome(service, run)
    else:
        _stopped(service, run, key)


def _progress_text(progress: RunProgress) -> str:
    text = f"Step {progress.step:,} of {progress.total_steps:,} · loss {progress.points[-1].loss:.3f}"
    eta = progress.eta_s
    return text + (f" · about {_duration(eta)} left" if eta is not None else "")


def _duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    return f"{minutes} min {secs:02d} s" if minutes else f"{secs} s"


def _loss_figure(progress: RunProgress) -> go.Figure:
    figure = go.Figure(go.Scatter(x=[p.step for p in progress.points], y=[p.loss for p in progress.points], mode="lines+markers", name="training loss"))
    validation = progress.run.metrics.get("validation_loss")
    if validation is not None:
        figure.add_hline(y=validation, line_dash="dot", annotation_text=f"validation loss {validation:.3f}")
    figure.update_layout(height=260, margin={"l": 10, "r": 10, "t": 10, "b": 10}, xaxis_title="step", yaxis_title="loss")
    return figure


def _outcome(service: TrainingService, run: TrainingRun) -> None:
    st.success(f"Registered **{run.model_name}** version {run.model_version} as `{run.config.get('alias', '')}`.", icon=":material/verified:")
    url = service.mlflow_url(run)
    if url:
        st.link_button("View in MLflow", url, icon=":material/open_in_new:")
    metrics = run.metrics
    st.caption(
        f"{metrics.get('steps', 0):,} steps · {metrics.get('train_tokens', 0):,} tokens in {metrics.get('train_seconds', 0):.0f} s "
        f"({metrics.get('tokens_per_s', 0):.0f} tokens/s) · final loss {metrics.get('final_loss', 0):.3f}"
    )
    comparison = service.evaluation(run.id)
    if comparison is None:
        skipped = run.config.get("evaluation", {}).get("max_pairs") == 0
        reason = "it was set to 0 pairs" if skipped else "no held-out pair of these Training Sheets passes the evaluation gate"
        st.info(f"No evaluation: {reason}.", icon=":material/info:")
        return
    show_evaluation(comparison)


def show_evaluation(comparison: Comparison) -> None:
    """The fine-tuned model beside its base: overall, per field, and answer by answer."""
    (st.success if comparison.improved else st.warning)(comparison.verdict)
    base, tuned = comparison.base, comparison.fine_tuned
    rows = [("Accuracy (all fields right)", base.accuracy, tuned.accuracy), ("F1 (mean over fields)", base.f1_score, tuned.f1_score),
            ("Valid output", base.valid_output_rate, tuned.valid_output_rate)]
    tuned_fields = {f.name: f for f in tuned.fields}
    for field in base.fields:
        other = tuned_fields.get(field.name)
        rows.append((f"{field.name}: exact match", field.exact_match, other.exact_match if other else None))
        rows.append((f"{field.name}: {field.measure.replace('_', ' ')}", field.f1, other.f1 if other else None))
    st.dataframe(pd.DataFrame(rows, columns=["Metric", "Base model", "Fine-tuned"]), hide_index=True, width="stretch",
                 column_config={c: st.column_config.NumberColumn(format="%.2f") for c in ("Base model", "Fine-tuned")})
    answers = pd.DataFrame(
        {
            "Expected": [a.expected for a in tuned.answers[:SHOWN_ANSWERS]],
            "Base model": [a.answer for a in base.answers[:SHOWN_ANSWERS]],
            "Base right": [a.correct for a in base.answers[:SHOWN_ANSWERS]],
            "Fine-tuned": [a.answer for a in tuned.answers[:SHOWN_ANSWERS]],
            "Fine-tuned right": [a.correct for a in tuned.answers[:SHOWN_ANSWERS]],
        }
    )
    with st.expander(f"Answers side by side ({min(SHOWN_ANSWERS, tuned.pair_count)} of {tuned.pair_count})"):
        st.dataframe(answers, hide_index=True, width="stretch")


def _stopped(service: TrainingService, run: TrainingRun, key: str) -> None:
    message = f"{(run.error or _STATUS_TEXT[run.status]).rstrip('.')}. Nothing was registered."
    if run.status is RunStatus.FAILED:
        st.error(message, icon=":material/error:")
    else:
        st.warning(message, icon=":material/pause_circle:")
    if run.job_id and st.button("Resume (trains again from the start)", key=f"{key}_resume", icon=":material/play_circle:"):
        with shown_errors():
            service.resume(run.id)
            st.rerun(scope="app")
