"""Scoring a prediction against a pair's approved answer, field by field."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from services.dspy.records import Metric
from services.templates.answer_match import field_match, matched_fields


def score(metric: Metric, expected: Mapping[str, str], predicted: Mapping[str, Any]) -> float:
    """Per-field match: the share of expected fields predicted equal; exact match: 1 only when all are."""
    if not expected:
        return 0.0
    if metric is Metric.EXACT:
        return 1.0 if matched_fields(expected, predicted) == len(expected) else 0.0
    return field_match(expected, predicted)
