"""The lifecycle buttons for one template version: publish, archive, duplicate, edit as new version."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

import streamlit as st

from services.core.domain.template import Bump, Template, TemplateStatus

ActionKind = Literal["publish", "archive", "duplicate", "new_version"]


@dataclass(frozen=True)
class TemplateAction:
    kind: ActionKind
    bump: Bump = "minor"


def show(template: Template) -> TemplateAction | None:
    """The buttons that apply to this version's status; returns the one pressed."""
    publish, archive, duplicate, new_version, bump = st.columns([1, 1, 1, 1.4, 1.2], vertical_alignment="bottom")
    is_draft = template.status is TemplateStatus.DRAFT
    pressed: TemplateAction | None = None
    if publish.button("Publish", key=f"publish_{template.id}", type="primary", disabled=not is_draft,
                      icon=":material/publish:", help="Checks the template, then freezes this version."):
        pressed = TemplateAction("publish")
    if archive.button("Archive", key=f"archive_{template.id}", disabled=template.status is TemplateStatus.ARCHIVED,
                      icon=":material/archive:"):
        pressed = TemplateAction("archive")
    if duplicate.button("Duplicate", key=f"duplicate_{template.id}", icon=":material/content_copy:",
                        help="A new template with this content, starting at version 1.0.0."):
        pressed = TemplateAction("duplicate")
    kind = bump.selectbox("Version bump", get_args(Bump), index=1, key=f"bump_{template.id}", disabled=is_draft,
                          format_func=lambda part: f"{part} → v{template.semver.bumped(part)}",
                          help="Which part of the version number \"Edit as new version\" raises: major for a changed "
                               "output schema, minor for a changed prompt, patch for a wording fix.")
    if new_version.button("Edit as new version", key=f"new_version_{template.id}", disabled=is_draft,
                          icon=":material/edit_note:", help="A new draft in this family with the next version number."):
        pressed = TemplateAction("new_version", kind)
    return pressed
