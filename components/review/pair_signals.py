"""LABEL signals on the review card: what the checks found beside the pair and why, never a
decision. A PII finding offers one click that tightens the pair's governance (audited)."""

from __future__ import annotations

import streamlit as st

from components.feedback import flash, shown_errors
from services.core.domain.qa_pair import QaPair
from services.core.domain.signals import PairSignal, SignalKind
from services.core.governance import badge_texts
from services.review.signals import PairSignals

_ICONS = {SignalKind.PII: ":material/badge:", SignalKind.DUPLICATE: ":material/content_copy:", SignalKind.QUALITY: ":material/grade:"}


def _pii(signals: PairSignals, pair: QaPair, signal: PairSignal, key: str) -> None:
    if not signal.flagged:
        st.caption(f"PII: {signal.reason} ({signal.source})")
        return
    st.warning(f"**PII signal** ({signal.source}): {signal.reason}", icon=_ICONS[SignalKind.PII])
    proposed = signals.proposed_governance(pair, signal)
    if proposed is None:
        st.caption("Its governance already keeps it out of training and validation.")
        return
    st.caption("Proposed: " + "; ".join(badge_texts(proposed)) + f"; {proposed.data_classification}. Nothing changes until you confirm.")
    if st.button("Tighten governance for personal data", key=f"{key}_tighten_{pair.id}", icon=":material/lock:"):
        with shown_errors():
            signals.tighten_for_pii(pair, pair.row_version)
            flash("Governance tightened for personal data: training and validation prohibited, restricted (audited).")
            st.rerun()


def show(signals: PairSignals, pair: QaPair, key: str = "pair_signals") -> None:
    """The pair's current signals (stale ones recomputed first)."""
    found = signals.for_pair(pair)
    for signal in found:
        if signal.kind == SignalKind.PII:
            _pii(signals, pair, signal, key)
        elif signal.flagged:
            st.info(f"**{signal.kind.title()} signal** ({signal.source}): {signal.reason}", icon=_ICONS.get(SignalKind(signal.kind)))
        else:
            st.caption(f"{signal.kind.title()}: {signal.reason}")
