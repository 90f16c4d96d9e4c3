"""How far a model's answer matches an approved one, field by field: the one comparison the DSPy
metric and the Example Store's effectiveness measurement share."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any


def normalised_answer(text: Any) -> Any:
    """Equal answers compare equal however they are spaced, cased or JSON-formatted."""
    value = str(text if text is not None else "").strip()
    try:
        parsed = json.loads(value)
    except ValueError:
        return value.casefold()
    if isinstance(parsed, str):
        return parsed.strip().casefold()
    return json.dumps(parsed, sort_keys=True).casefold()


def matched_fields(expected: Mapping[str, Any], predicted: Mapping[str, Any]) -> int:
    """How many of the expected fields the prediction has equal."""
    return sum(normalised_answer(predicted.get(name)) == normalised_answer(value) for name, value in expected.items())


def field_match(expected: Mapping[str, Any], predicted: Mapping[str, Any]) -> float:
    """The share of expected fields predicted equal (0 when nothing is expected)."""
    return matched_fields(expected, predicted) / len(expected) if expected else 0.0
