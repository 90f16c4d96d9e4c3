"""Choose a registered model version, its Training Sheet, training date, base model and
evaluation beside it; `?model=<name>/<version>` preselects one."""

from __future__ import annotations

import streamlit as st

from services.deploy.records import DeployableModel

QUERY_PARAM = "model"


def _score(value: float | None) -> str:
    return "—" if value is None else f"{value:.0%}"


def show(models: list[DeployableModel], key: str) -> DeployableModel:
    by_id = {m.model_id: m for m in models}
    if key not in st.session_state or st.session_state[key] not in by_id:
        linked = st.query_params.get(QUERY_PARAM)
        st.session_state[key] = linked if linked in by_id else models[0].model_id
    chosen = by_id[st.selectbox(
        "Model version", list(by_id), key=key,
        format_func=lambda i: f"{by_id[i].model_name} v{by_id[i].model_version} · {by_id[i].training_sheet_name or 'Training Sheet removed'}",
    )]
    trained = chosen.trained_at.strftime("%Y-%m-%d %H:%M UTC") if chosen.trained_at else "—"
    st.dataframe(
        [{
            "Training Sheet": chosen.training_sheet_name or chosen.training_sheet_id,
            "Trained": trained,
            "Base model": chosen.base_model or "—",
            "Accuracy": _score(chosen.accuracy),
            "Base model accuracy": _score(chosen.base_accuracy),
            "F1": _score(chosen.f1_score),
            "Valid output": _score(chosen.valid_output_rate),
            "Evaluated on": "—" if chosen.evaluation_pair_count is None else f"{chosen.evaluation_pair_count:,} held-out pairs",
        }],
        hide_index=True, key=f"{key}_details",
    )
    return chosen
