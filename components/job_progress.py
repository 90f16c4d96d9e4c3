"""A job's progress bar that refreshes itself while the job runs, with Cancel and Resume.

The bar is a fragment that reruns itself every POLL_INTERVAL_S while the job is unfinished
(`run_every` is read when the full app run renders it). When a rerun finds the job finished it
asks for one full-app rerun: the page then shows the results, and renders this fragment again
without `run_every`, which stops the polling (the browser drops every fragment timer at the
start of a full run and only sets again the ones that run declares).
"""

from __future__ import annotations

import streamlit as st

from components.feedback import shown_errors
from services.core.domain.job import JobRun, JobStatus
from services.core.errors import NotFoundError
from services.core.jobs import JobRunner

POLL_INTERVAL_S = 1.0  # matches how often a job writes its progress; faster would redraw the same numbers


def show(runner: JobRunner, job_id: str, key: str, unit: str = "items") -> JobRun | None:
    """Renders the job's progress, counted in `unit`; returns the job as this run read it, None if
    it does not exist."""
    try:
        job = runner.get(job_id)
    except NotFoundError as error:
        st.warning(str(error), icon=":material/help:")
        return None
    polling = not job.is_finished
    panel = st.fragment(_panel, run_every=POLL_INTERVAL_S if polling else None)
    panel(runner, job_id, key, polling, unit)
    return job


def _panel(runner: JobRunner, job_id: str, key: str, polling: bool, unit: str) -> None:
    job = runner.get(job_id)
    if polling and job.is_finished:
        st.rerun(scope="app")
    st.progress(job.progress, text=progress_text(job, unit))
    if who := actors_text(job):
        st.caption(who)
    if not job.is_finished:
        st.button(
            "Cancelling…" if job.cancel_requested else "Cancel",
            key=f"{key}_cancel",
            icon=":material/stop_circle:",
            disabled=job.cancel_requested,
            on_click=runner.cancel,
            args=(job_id,),
        )
        return
    if job.status is JobStatus.FAILED and job.error:
        st.error(job.error, icon=":material/error:")
    if job.status is JobStatus.INTERRUPTED:
        st.warning("The app stopped while this job was running. Resume continues where it stopped.", icon=":material/pause_circle:")
    if job.can_resume and st.button("Resume", key=f"{key}_resume", icon=":material/play_circle:"):
        with shown_errors():
            runner.resume(job_id)
            st.rerun(scope="app")  # the full run renders the bar again, polling


def actors_text(job: JobRun) -> str:
    """Who stopped or restarted the job, when someone did ("" otherwise)."""
    if not job.cancelled_by and not job.resumed_by:
        return ""
    parts = [f"Started by {job.created_by or 'someone'}"]
    if job.cancelled_by:
        parts.append(f"cancelled by {job.cancelled_by}")
    if job.resumed_by:
        when = f" at {job.resumed_at:%Y-%m-%d %H:%M} UTC" if job.resumed_at else ""
        parts.append(f"resumed by {job.resumed_by}{when}")
    return " · ".join(parts)


def progress_text(job: JobRun, unit: str = "items") -> str:
    status = "cancelling" if job.cancel_requested and not job.is_finished else job.status.value
    if job.total_items is None:
        return status
    return f"{job.processed_items:,} of {job.total_items:,} {unit} · {status}"
