"""Text shown in Markdown, written so that what it holds cannot break the formatting."""

from __future__ import annotations


def code(text: str) -> str:
    """Inline code for any text: one that holds a backtick (a filter over `state code`) is fenced
    with two and padded with spaces, as CommonMark reads it."""
    return f"`` {text} ``" if "`" in text else f"`{text}`"
