"""Scoring a prediction against a pair's approved answer, field by field."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from services.dspy.records import Metric


def _normalised(text: Any) -> Any:
    """Equal answers compare equal however they are spaced, cased or JSON-formatted."""
    value = str(text if text is not None else "").strip()
    try:
        parsed = json.loads(value)
    except ValueError:
        return value.casefold()
    if isinstance(parsed, str):
        return parsed.strip().casefold()
    return json.dumps(parsed, sort_keys=True).casefold()


def score(metric: Metric, expected: Mapping[str, str], predicted: Mapping[str, Any]) -> float:
    """Per-field match: the share of expected fields predicted equal; exact match: 1 only when all are."""
    if not expected:
        return 0.0
    matched = sum(_normalised(predicted.get(name)) == _normalised(value) for name, value in expected.items())
    if metric is Metric.EXACT:
        return 1.0 if matched == len(expected) else 0.0
    return matched / len(expected)
