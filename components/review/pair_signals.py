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


def _masked(signal: PairSignal) -> str:
    """What the reason counts, as the masked values the rules kept (never the values), per place:
    enough for a reviewer to see what was taken for personal data. Empty for `ai_mask`'s signal."""
    places = [
        ", ".join(f"`{str(finding.get('masked', '')).replace('`', '')}`" for finding in findings) + f" in the {place}"
        for place, findings in (signal.details or {}).items()
        if isinstance(findings, list) and findings
    ]
    return "; ".join(places)


def _pii(signals: PairSignals, pair: QaPair, signal: PairSignal, key: str) -> None:
    if not signal.flagged:
        st.caption(f"PII: {signal.reason} ({signal.source})")
        return
    masked = _masked(signal)
    st.warning(f"**PII signal** ({signal.source}): {signal.reason}" + (f"  \nMasked: {masked}." if masked else ""), icon=_ICONS[SignalKind.PII])
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


def _duplicate(signals: PairSignals, pair: QaPair, signal: PairSignal, key: str) -> None:
    st.info(f"**Duplicate signal** ({signal.source}): {signal.reason}", icon=_ICONS[SignalKind.DUPLICATE])
    members = signals.duplicate_group(pair.training_sheet_id, signal.group_id or "")
    if len(members) < 2:
        return  # a near-duplicate of canonically labeled items only: nothing in this sheet to resolve
    with st.expander(f"Resolve this group of {len(members)} pairs at once", icon=":material/merge:"):
        refs = {m.pair_id: f"{m.item_ref} ({m.status})" for m in members}
        keep = st.radio("Keep", list(refs), format_func=refs.get, index=list(refs).index(pair.id) if pair.id in refs else 0, key=f"{key}_keep_{pair.id}")
        st.caption("The others are rejected unless a person already decided them (approved, rejected or flagged).")
        if st.button("Keep this one, reject the rest", key=f"{key}_resolve_{pair.id}", icon=":material/done_all:"):
            with shown_errors():
                resolved = signals.resolve_duplicates(pair.training_sheet_id, signal.group_id or "", keep)
                left = f"; {resolved.left_alone} already decided left as they were" if resolved.left_alone else ""
                flash(f"Kept {refs[keep]}; rejected {resolved.rejected} near-duplicate(s){left}.")
                st.rerun()


def _quality(pair: QaPair, signal: PairSignal) -> None:
    score = f" {signal.score:.2f}" if signal.score is not None else ""
    text = f"**Quality signal{score}** ({signal.source}): " + " ".join(signal.details.get("reasons", [signal.reason]))
    (st.info if signal.flagged else st.caption)(text)
    if pair.quality_score is not None and signal.score is not None and abs(pair.quality_score - signal.score) > 1e-9:
        st.caption(f"The pair's quality score {pair.quality_score:.2f} comes from another source (the DSPy optimizer's metric); this check left it as it is.")


def show(signals: PairSignals, pair: QaPair, key: str = "pair_signals") -> None:
    """The pair's current signals (stale ones recomputed first)."""
    found = signals.for_pair(pair)
    for signal in found:
        if signal.kind == SignalKind.PII:
            _pii(signals, pair, signal, key)
        elif signal.kind == SignalKind.DUPLICATE and signal.flagged:
            _duplicate(signals, pair, signal, key)
        elif signal.kind == SignalKind.QUALITY:
            _quality(pair, signal)
        elif signal.flagged:
            st.info(f"**{signal.kind.title()} signal** ({signal.source}): {signal.reason}", icon=_ICONS.get(SignalKind(signal.kind)))
        else:
            st.caption(f"{signal.kind.title()}: {signal.reason}")
