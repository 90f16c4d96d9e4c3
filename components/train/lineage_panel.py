"""Lineage of a trained model: its Training Sheets, the models trained on them compared, and the
exact pairs it learned from, each leading to its canonical label and the source item it came from."""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from components import source_viewer
from components.feedback import shown_errors
from components.train import version_comparison
from services.core.workbench import Workbench
from services.train.lineage import PAIRS_PAGE, LineageService, TrainedModel, TrainedPair
from services.train.version_comparison import VersionComparisonService


def show(workbench: Workbench, key: str) -> TrainedModel | None:
    lineage = LineageService(workbench)
    models = lineage.models()
    if not models:
        st.info("No model has been trained yet: its lineage appears here once a run registers one.", icon=":material/account_tree:")
        return None
    model = st.selectbox(
        "Model", models, key=f"{key}_model",
        format_func=lambda m: f"{m.model_name} v{m.model_version} · {m.train_pair_count:,} training pairs",
    )
    sheets = lineage.training_sheets_of(model.model_id)
    st.markdown("**Trained on** " + ", ".join(f"{s.name} ({s.labeled_pairs:,} labeled pairs, {s.labeling_mode})" for s in sheets))
    if feedback := lineage.feedback_of(model.model_id):
        st.markdown(f"**Learned from {len(feedback):,} feedback items:** " + ", ".join(f"`{f}`" for f in feedback))
    _against_previous(workbench, model)
    for sheet in sheets:
        with st.expander(f"Models trained on {sheet.name}"):
            _compared(lineage, sheet.id)
    _pairs(workbench, lineage, model, key)
    return model


def _against_previous(workbench: Workbench, model: TrainedModel) -> None:
    versions = VersionComparisonService(workbench)
    previous = versions.previous_version(model.model_name, model.model_version)
    if previous is None:
        return
    with st.expander(f"v{model.model_version} beside v{previous} on the same evaluation pairs"):
        compared = versions.compare(model.model_name, previous, model.model_version)
        if compared is None:
            st.caption(f"v{previous} or v{model.model_version} was trained without an evaluation: nothing to compare.")
        else:
            version_comparison.show(compared)


def _compared(lineage: LineageService, training_sheet_id: str) -> None:
    compared = lineage.compare_models(training_sheet_id)
    st.dataframe(
        pd.DataFrame(
            {
                "Model": [f"{c.model_name} v{c.model_version}" for c in compared],
                "Training pairs": [c.train_pair_count for c in compared],
                "Base model": [c.base_model for c in compared],
                "Learning rate": [c.learning_rate for c in compared],
                "Accuracy": [c.accuracy for c in compared],
                "F1": [c.f1_score for c in compared],
                "Base accuracy": [c.base_accuracy for c in compared],
            }
        ),
        hide_index=True, width="stretch",
        column_config={c: st.column_config.NumberColumn(format="%.2f") for c in ("Accuracy", "F1", "Base accuracy")},
    )


def _pairs(workbench: Workbench, lineage: LineageService, model: TrainedModel, key: str) -> None:
    st.markdown("**The pairs it learned from**")
    page_key = f"{key}_page_{model.model_id}"
    page = st.session_state.get(page_key, 0)
    pairs = lineage.pairs_of(model.model_id, limit=PAIRS_PAGE, offset=page * PAIRS_PAGE)
    st.dataframe(
        pd.DataFrame(
            {
                "Split": [p.split for p in pairs],
                "Item": [p.item_ref for p in pairs],
                "Answer": [p.messages[-1].content if p.messages else "" for p in pairs],
                "Canonical label": [json.dumps(p.label_data) if p.label_data is not None else "—" for p in pairs],
                "Label version": [p.label_version for p in pairs],
                "Status": [p.status for p in pairs],
            }
        ),
        hide_index=True, width="stretch",
    )
    back, where, forward = st.columns([1, 3, 1])
    if back.button("Previous", key=f"{key}_prev", disabled=page == 0):
        st.session_state[page_key] = page - 1
        st.rerun()
    where.caption(f"Pairs {page * PAIRS_PAGE + 1:,}–{page * PAIRS_PAGE + len(pairs):,} of {model.train_pair_count:,} training pairs and the validation split")
    if forward.button("Next", key=f"{key}_next", disabled=len(pairs) < PAIRS_PAGE):
        st.session_state[page_key] = page + 1
        st.rerun()
    chosen = st.selectbox(
        "Trace a pair to its label and source", pairs, index=None, key=f"{key}_pair_{model.model_id}_{page}",
        format_func=lambda p: f"{p.item_ref} · {p.split}", placeholder="Choose a pair",
    )
    if chosen is not None:
        _pair(workbench, lineage, chosen, key)


def _pair(workbench: Workbench, lineage: LineageService, pair: TrainedPair, key: str) -> None:
    label, source = st.columns(2)
    with label:
        st.markdown(f"**{pair.item_ref}** · {pair.split} split · pair `{pair.pair_id[:8]}`")
        for message in pair.messages:
            st.markdown(f"*{message.role}*")
            st.code(message.content, language="json" if message.role == "assistant" else None, wrap_lines=True)
        if pair.canonical_label_id:
            st.markdown(f"**Canonical label** v{pair.label_version} by {pair.labeled_by or 'unknown'}")
            st.json(pair.label_data or {})
        else:
            st.caption("This pair was approved in review without a canonical label.")
    with source, shown_errors():
        item = lineage.source_item(pair)
        source_viewer.show(workbench, item.media, key=f"{key}_source_{pair.pair_id}", fields=item.fields)
