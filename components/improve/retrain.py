"""IMPROVE's Retrain section: models with approved feedback-derived pairs waiting, a Retrain
button (the retrain's job, then its training run, live as on TRAIN), the rule form and the
record of rules and retrains."""

from __future__ import annotations

import time

import pandas as pd
import streamlit as st

from components import job_progress
from components.feedback import flash, show_flash, shown_errors
from components.train import training_panel
from services.core.jobs import JobRunner
from services.core.workbench import Workbench
from services.improve.retrain import RetrainService, RuleCheck
from services.improve.retrain_records import Retrain, RetrainStatus, WaitingModel
from services.train.lineage import LineageService

# A rule check reads the lineage and every feedback-derived pair: once a minute per visitor is
# soon enough for a threshold of approvals that builds up over hours, and keeps reruns cheap.
CHECK_ON_LOAD_EVERY_S = 60.0
_CHECKED_AT = "improve_retrain_checked_at"
_WATCHED = "improve_retrain_watched"
DEFAULT_MIN_PAIRS = 20


def check_on_load(workbench: Workbench) -> list[RuleCheck]:
    """Check the retrain rules when IMPROVE or TRAIN is opened (at most once a minute per visitor,
    as that visitor); says so when a rule started a retrain."""
    last = st.session_state.get(_CHECKED_AT)
    if last is not None and time.monotonic() - last < CHECK_ON_LOAD_EVERY_S:
        return []
    st.session_state[_CHECKED_AT] = time.monotonic()
    with shown_errors():
        checks = RetrainService(workbench).check_rules()
        for check in checks:
            if check.retrain is not None:
                st.toast(f"The retrain rule of {check.model_name} started a retrain: {check.note}", icon=":material/model_training:")
        return checks
    return []


def section(wb: Workbench) -> None:
    service = RetrainService(wb)
    st.subheader("Retrain")
    show_flash()
    st.caption("A retrain exports the model's Training Sheets again (with the feedback-derived pairs experts approved since) "
               "and trains the next version with the previous run's configuration.")
    check_on_load(wb)
    with shown_errors():
        _waiting(service, service.waiting())
    if watched := st.session_state.get(_WATCHED):
        _live(wb, service, watched)
    with st.expander("Retrain rules"):
        _rule_form(wb, service)
        _rules(service)
    _retrains(service, service.recent())


def _waiting(service: RetrainService, waiting: list[WaitingModel]) -> None:
    if not waiting:
        st.info("No model has approved feedback-derived pairs waiting: add feedback to a Training Sheet above and approve "
                "its pairs in LABEL; they appear here.", icon=":material/hourglass_empty:")
        return
    for model in waiting:
        text, button = st.columns([4, 1])
        text.markdown(f"**{model.model_name}** v{model.model_version}: {model.pairs:,} approved feedback-derived pairs waiting "
                      f"(from {len(model.feedback_ids):,} feedback items)")
        if button.button("Retrain", key=f"retrain_{model.model_name}", type="primary", icon=":material/model_training:"):
            with shown_errors():
                started = service.start(model.model_name)
                st.session_state[_WATCHED] = started.id
                flash(f"Retrain of {model.model_name} started: the export runs first, then the training.")
                st.rerun()


def _live(wb: Workbench, service: RetrainService, retrain_id: str) -> None:
    with shown_errors():
        retrain = service.get(retrain_id)
        st.markdown(f"**Retraining {retrain.model_name}** on {len(retrain.feedback_pair_ids):,} new feedback-derived pairs")
        job_progress.show(JobRunner(wb), retrain.job_id, key=f"retrain_job_{retrain.id}")
        if retrain.lineage_id:
            training_panel.show_run(wb, retrain.lineage_id, key=f"retrain_run_{retrain.id}")


def _rule_form(wb: Workbench, service: RetrainService) -> None:
    names = list(dict.fromkeys(m.model_name for m in LineageService(wb).models()))
    if not names:
        st.caption("A rule retrains a registered model: train one on TRAIN first.")
        return
    rules = {r.model_name: r for r in service.rules()}
    with st.form("retrain_rule"):
        name = st.selectbox("Model", names, key="retrain_rule_model")
        current = rules.get(name)
        min_pairs = st.number_input("Retrain when this many approved feedback-derived pairs wait (N)", min_value=1,
                                    value=current.min_pairs if current else DEFAULT_MIN_PAIRS, step=1, key="retrain_rule_n")
        enabled = st.toggle("On", value=current.enabled if current else True, key="retrain_rule_on")
        if st.form_submit_button("Save rule", icon=":material/save:"):
            with shown_errors():
                service.save_rule(name, int(min_pairs), enabled)
                flash(f"Retrain rule of {name} saved: N = {int(min_pairs)}, {'on' if enabled else 'off'}.")
                st.rerun()


def _rules(service: RetrainService) -> None:
    rules = service.rules()
    if not rules:
        st.caption("No retrain rule yet.")
        return
    st.dataframe(
        pd.DataFrame(
            {
                "Model": [r.model_name for r in rules],
                "N": [r.min_pairs for r in rules],
                "On": [r.enabled for r in rules],
                "Created by": [r.created_by for r in rules],
                "Created": [r.created_at for r in rules],
                "Last check": [r.last_checked_at for r in rules],
                "What it found": [r.last_check_note or "—" for r in rules],
                "Last retrain started": [r.last_run_started_at for r in rules],
            }
        ),
        hide_index=True, width="stretch",
    )


def _status(retrain: Retrain) -> str:
    if retrain.status is RetrainStatus.TRAINING and retrain.run_status:
        version = f" (v{retrain.model_version})" if retrain.model_version else ""
        return f"training run {retrain.run_status}{version}"
    return str(retrain.status) + (f": {retrain.error}" if retrain.error else "")


def _retrains(service: RetrainService, retrains: list[Retrain]) -> None:
    if not retrains:
        return
    st.markdown("**Retrains started**")
    st.dataframe(
        pd.DataFrame(
            {
                "Model": [r.model_name for r in retrains],
                "Started": [r.started_at for r in retrains],
                "By": [f"rule (as {r.started_by})" if r.started_by_rule else r.started_by for r in retrains],
                "New pairs": [len(r.feedback_pair_ids) for r in retrains],
                "Feedback items": [", ".join(r.feedback_ids) for r in retrains],
                "Status": [_status(r) for r in retrains],
            }
        ),
        hide_index=True, width="stretch",
    )
    failed = [r for r in retrains if r.status is RetrainStatus.FAILED]
    if failed:
        chosen = st.selectbox("Retry a retrain that failed before training", failed, index=None, key="retrain_resume_pick",
                              format_func=lambda r: f"{r.model_name} · {r.started_at:%Y-%m-%d %H:%M} · {r.error or ''}"[:120])
        if chosen is not None and st.button("Retry", key="retrain_resume", icon=":material/replay:"):
            with shown_errors():
                service.resume(chosen.id)
                st.session_state[_WATCHED] = chosen.id
                st.rerun()
    watch = st.selectbox("Follow a retrain", retrains, index=None, key="retrain_follow",
                         format_func=lambda r: f"{r.model_name} · {_status(r)}")
    if watch is not None and st.session_state.get(_WATCHED) != watch.id:
        st.session_state[_WATCHED] = watch.id
        st.rerun()
