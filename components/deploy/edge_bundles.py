"""The edge bundles built so far, each with its download.

The download button gets a callable that opens the archive: Streamlit runs it only when the
person clicks, so a rerun of the page never reads the ~0.5 GB archive (a file object or bytes
passed directly would be read into memory on every run).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import BinaryIO

import streamlit as st

from services.deploy.edge_exports import BuiltBundle
from services.deploy.records import DeploymentStatus

MEGABYTE = 1024 * 1024


def show(bundles: list[BuiltBundle], open_archive: Callable[[str], BinaryIO], key: str) -> None:
    if not bundles:
        st.info("No edge bundle yet: export the version above.")
        return
    st.dataframe(
        [{
            "Archive": b.file_name,
            "Model": b.model_name,
            "Version": b.model_version,
            "Status": "archive gone: export again" if b.status is DeploymentStatus.READY and not b.downloadable else b.status.value,
            "Size": "—" if b.size_bytes is None else f"{b.size_bytes / MEGABYTE:,.1f} MB",
            "sha256": b.sha256 or "—",
            "Exported by": b.created_by,
            "Exported": b.created_at.strftime("%Y-%m-%d %H:%M UTC") if b.created_at else "—",
            "Why it failed": b.error or "",
        } for b in bundles],
        hide_index=True, key=key,
    )
    for bundle in bundles:
        if bundle.downloadable:
            st.download_button(
                f"Download {bundle.file_name}", data=lambda deployment_id=bundle.deployment_id: open_archive(deployment_id),
                file_name=bundle.file_name, mime="application/zip", on_click="ignore", icon=":material/download:",
                key=f"{key}_{bundle.deployment_id}",
            )
