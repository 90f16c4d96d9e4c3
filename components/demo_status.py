"""The first start: the demo data being built, one line per seed step, instead of a bare spinner."""

from __future__ import annotations

import streamlit as st

from services.core.workbench import Workbench
from services.demo import SeedProgress, prepare_demo

BUILDING = "Building the demo data (first start only)"


def build_demo_with_status(workbench: Workbench) -> None:
    """Generate the demo into this store, showing each step as it starts and ends."""
    with st.status(f"{BUILDING}…", expanded=True) as status:

        def show(progress: SeedProgress) -> None:
            if progress.seconds is None:
                status.update(label=f"{BUILDING}: step {progress.index} of {progress.total}, {progress.title.lower()}…")
                return
            wrote = ", ".join(f"{count:,} {name.replace('_', ' ')}" for name, count in progress.counts.items())
            status.write(f":material/check: {progress.title}" + (f": {wrote}" if wrote else "")
                         + f" ({progress.seconds:.1f} s)")

        summary = prepare_demo(workbench, show)
        label = f"Demo data ready in {summary.seconds:.0f} s" if summary else "Demo data ready"
        status.update(label=label, state="complete", expanded=False)
