"""Drawing bounding boxes on an image: a small Components v2 widget (box_drawer.js, no build step).

The drawer owns `<key>_boxes` in session state: the boxes as label data, in the image's
pixels. The browser writes it as a person draws; `set_boxes` replaces it (the numeric entry
below the image, a test, a reset), and the drawer redraws from it. AppTest cannot run the
JavaScript, so everything around the drawing reads and writes that one key.
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import streamlit as st

from services.labels.label_schemas import BOX_COORDINATES, ImageSize

_CSS = """
.vbd-root { font-family: var(--st-font, sans-serif); color: var(--st-text-color, inherit); }
.vbd-toolbar { display: flex; gap: 1rem; align-items: center; margin-bottom: .5rem; flex-wrap: wrap; }
.vbd-hint { opacity: .7; font-size: .85rem; }
.vbd-stage { position: relative; width: 100%; max-width: 720px; cursor: crosshair; user-select: none; touch-action: none;
  outline: none; }
.vbd-stage img { display: block; width: 100%; height: auto; }
.vbd-overlay { position: absolute; inset: 0; }
.vbd-box { position: absolute; border: 2px solid #e4572e; box-sizing: border-box; cursor: pointer; }
.vbd-box.vbd-selected { border-color: #ffc914; box-shadow: 0 0 0 1px #000 inset; }
.vbd-tag { position: absolute; top: -1.3rem; left: -2px; background: #e4572e; color: #fff; font-size: .75rem;
  padding: 0 .3rem; white-space: nowrap; }
.vbd-band { position: absolute; border: 2px dashed #17bebb; background: rgba(23, 190, 187, .12); }
.vbd-list { margin: .5rem 0 0; padding-left: 1.5rem; }
.vbd-row { display: flex; gap: .75rem; align-items: center; margin: .2rem 0; }
.vbd-row.vbd-selected { font-weight: 600; }
.vbd-coords { font-size: .85rem; opacity: .8; }
.vbd-empty { list-style: none; opacity: .7; }
.vbd-remove { border: 1px solid rgba(128, 128, 128, .5); background: transparent; color: inherit; border-radius: .3rem;
  cursor: pointer; padding: .1rem .5rem; }
.vbd-class select, .vbd-class input { font: inherit; padding: .1rem .3rem; margin-left: .3rem; }
"""
_HTML = '<div class="vbd-root"></div>'
_JS = Path(__file__).with_name("box_drawer.js").read_text(encoding="utf-8")
_drawer = st.components.v2.component("vital_box_drawer", html=_HTML, css=_CSS, js=_JS)


def value_key(key: str) -> str:
    return f"{key}_boxes"


def _revision_key(key: str) -> str:
    return f"{key}_revision"


def boxes(key: str) -> list[dict[str, Any]]:
    return [dict(b) for b in st.session_state.get(value_key(key), [])]


def set_boxes(key: str, new_boxes: Sequence[dict[str, Any]]) -> None:
    """Replace the boxes and redraw the drawer from them."""
    st.session_state[value_key(key)] = [dict(b) for b in new_boxes]
    st.session_state[_revision_key(key)] = st.session_state.get(_revision_key(key), 0) + 1


def show(
    image_png: bytes, size: ImageSize, classes: Sequence[str], open_classes: bool, initial: Sequence[dict[str, Any]], key: str
) -> list[dict[str, Any]]:
    """The image with its boxes to draw on; returns the boxes as they are now."""
    if value_key(key) not in st.session_state:
        st.session_state[value_key(key)] = [dict(b) for b in initial]
    # A new surface key after set_boxes: the browser starts over from the boxes Python holds.
    surface = f"{key}_surface_{st.session_state.get(_revision_key(key), 0)}"

    def drawn() -> None:
        state = st.session_state.get(surface) or {}
        st.session_state[value_key(key)] = [_box(b) for b in state.get("boxes") or [] if isinstance(b, dict)]

    current = boxes(key)
    _drawer(
        key=surface,
        data={
            "image": "data:image/png;base64," + base64.b64encode(image_png).decode("ascii"),
            "width": size.width,
            "height": size.height,
            "classes": list(classes),
            "open_classes": open_classes,
            "default_class": next((b["label"] for b in reversed(current) if b.get("label")), classes[0] if classes else ""),
            "boxes": current,
        },
        default={"boxes": current},
        on_boxes_change=drawn,
    )
    _numeric_entry(key, size, classes)
    return boxes(key)


def _numeric_entry(key: str, size: ImageSize, classes: Sequence[str]) -> None:
    """Boxes by numbers: exact coordinates, or a keyboard instead of a mouse."""
    with st.expander("Add a box by coordinates"):
        columns = st.columns(4)
        limits = (size.width, size.height, size.width, size.height)
        values = [
            column.number_input(name, 0, limit, step=1, key=f"{key}_{name}")
            for column, name, limit in zip(columns, BOX_COORDINATES, limits, strict=True)
        ]
        label = (
            st.selectbox("Class", list(classes), key=f"{key}_class", accept_new_options=True)
            if classes
            else st.text_input("Class", key=f"{key}_class")
        )
        add, clear = st.columns(2)
        if add.button("Add box", key=f"{key}_add", icon=":material/add_box:"):
            set_boxes(key, [*boxes(key), dict(zip(BOX_COORDINATES, (int(v) for v in values), strict=True), label=label or "")])
            st.rerun()
        if clear.button("Remove all boxes", key=f"{key}_clear", disabled=not boxes(key)):
            set_boxes(key, [])
            st.rerun()


def _box(raw: dict[str, Any]) -> dict[str, Any]:
    box: dict[str, Any] = {c: raw.get(c) for c in BOX_COORDINATES}
    box["label"] = str(raw.get("label") or "")
    return box
