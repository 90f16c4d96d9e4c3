"""One pair as one line of chat JSONL: {"messages": [...]}, the assistant's answer last.

The export's query makes these lines in the engine for the layouts our writers produce
(services/train/export_sql.py, tested byte for byte against this function); this function
makes the others (compact or indented JSON with images, content parts, a path JSON must
escape), and is the reference for what a line is. A pair's image files travel as content parts of its last user message, beside the text:
{"type": "image_url", "image_url": {"url": "/Volumes/..."}}. PDFs are not attached: the prompt
already carries their text.

Messages are stored as JSON that the export query has checked (valid JSON, the assistant's
answer last: `readable`). A line is then built from the stored text without parsing it again
(about 6 µs a pair saved, most of the export's time at 100,000 pairs): as is when there is no
image, and by splicing the image parts into the last user message when the stored text has the
layout our writers produce. Any other layout is parsed and written again.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from json.encoder import encode_basestring

from services.data.sheet_items import IMAGE_EXTENSIONS

_LINE_START = '{"messages": '
_USER = '{"role": "user", "content": '
_ASSISTANT = '{"role": "assistant", "content": '
_NEWLINES = ("\n", "\r")


class UnreadablePair(ValueError):
    """The stored messages are not a chat whose last message is the assistant's answer."""


_IMAGE_SUFFIXES = tuple(IMAGE_EXTENSIONS)


def image_paths(media_refs: Sequence[str]) -> tuple[str, ...]:
    return tuple(path for path in media_refs if path.lower().endswith(_IMAGE_SUFFIXES))


def chat_line(messages_json: str, media_refs: Sequence[str] = ()) -> str:
    """The JSONL line (without its newline) for a pair's checked messages and media."""
    images = image_paths(media_refs)
    if not any(n in messages_json for n in _NEWLINES):
        if not images:
            return f"{_LINE_START}{messages_json}}}"
        spliced = _spliced(messages_json, images)
        if spliced is not None:
            return f"{_LINE_START}{spliced}}}"
    return _rewritten(messages_json, images)


def _image_parts(images: Sequence[str]) -> str:
    return "".join(f', {{"type": "image_url", "image_url": {{"url": {encode_basestring(path)}}}}}' for path in images)


def _spliced(text: str, images: Sequence[str]) -> str | None:
    """The stored text with the image parts put into its last user message; None when the text
    is not laid out as `..., {"role": "user", "content": "…"}, {"role": "assistant", …}]`."""
    answer = text.rfind(_ASSISTANT)
    if answer < 3 or text[answer - 3 : answer] != "}, ":
        return None
    user = text.rfind(_USER, 0, answer)
    if user < 0:
        return None
    content = text[user + len(_USER) : answer - 3]
    # The text is valid JSON (checked in SQL). Inside a JSON string every quote is escaped, so
    # neither `{"role": ` nor `", "` can occur in one: without them, `content` is exactly the
    # user message's one string value, with no other key or message after it.
    if len(content) < 2 or content[0] != '"' or content[-1] != '"' or '", "' in content or '{"role": ' in content:
        return None
    parts = f'{_USER}[{{"type": "text", "text": {content}}}{_image_parts(images)}]}}'
    return f"{text[:user]}{parts}{text[answer - 2 :]}"


def _rewritten(messages_json: str, images: Sequence[str]) -> str:
    try:
        messages = json.loads(messages_json)
    except ValueError as error:
        raise UnreadablePair(f"The messages are not JSON: {error}") from error
    if not isinstance(messages, list) or not messages or not all(isinstance(m, dict) for m in messages):
        raise UnreadablePair("The messages are not a list of chat messages.")
    if messages[-1].get("role") != "assistant":
        raise UnreadablePair("The last message is not the assistant's answer.")
    if images:
        parts = [{"type": "image_url", "image_url": {"url": path}} for path in images]
        users = [i for i, m in enumerate(messages) if m.get("role") == "user"]
        if users:
            user = messages[users[-1]]
            content = user.get("content", "")
            existing = content if isinstance(content, list) else [{"type": "text", "text": content}]
            messages[users[-1]] = {**user, "content": [*existing, *parts]}
        else:
            messages.insert(len(messages) - 1, {"role": "user", "content": parts})
    return json.dumps({"messages": messages}, ensure_ascii=False)
