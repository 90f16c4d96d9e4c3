"""The split: validation share, seed, what to stratify on, and oversampling."""

from __future__ import annotations

import streamlit as st

from services.train.export_records import MAX_SEED, MAX_VALIDATION_FRACTION, SplitConfig, Stratify

_RESPONSE = "__response__"
_NONE = "__none__"


def show(fields: list[str], key: str) -> SplitConfig:
    left, middle, right = st.columns([2, 1, 2])
    with left:
        percent = st.slider("Validation share", 0, int(MAX_VALIDATION_FRACTION * 100), 20, step=5, format="%d%%", key=f"{key}_fraction")
    with middle:
        seed = st.number_input("Seed", 0, MAX_SEED, 42, step=1, key=f"{key}_seed", help="The same seed gives the same split.")
    with right:
        labels = {**{f: f"Label value: {f}" for f in fields}, _RESPONSE: "Whole response (hash)", _NONE: "No stratification"}
        stratify_by = st.selectbox("Stratify by", list(labels), format_func=labels.__getitem__, key=f"{key}_stratify")
    by_field = stratify_by not in (_RESPONSE, _NONE)
    oversample = st.checkbox(
        "Oversample minority label values in train", key=f"{key}_oversample", disabled=not by_field,
        help="Each train pair of a rarer label value is written several times (recorded per pair in the manifest); validation is never oversampled.",
    )
    if by_field:
        return SplitConfig(percent / 100, int(seed), Stratify.FIELD, str(stratify_by), bool(oversample))
    return SplitConfig(percent / 100, int(seed), Stratify.RESPONSE if stratify_by == _RESPONSE else Stratify.NONE)
