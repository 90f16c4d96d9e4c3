"""Text shown in Markdown, written so that what it holds cannot break the formatting."""

from __future__ import annotations

import re


def code(text: str) -> str:
    """Inline code for any text: one that holds a backtick (a filter over `state code`) is fenced
    with two and padded with spaces, as CommonMark reads it."""
    return f"`` {text} ``" if "`" in text else f"`{text}`"


_MARKDOWN = re.compile(r"([\\`*_{}\[\]<>()#+\-.!|~])")


def plain(text: str) -> str:
    """Text shown as it is in Markdown: a value someone typed (a correction, an item ref) cannot
    turn into emphasis, a link or a heading."""
    return _MARKDOWN.sub(r"\\\1", text)
