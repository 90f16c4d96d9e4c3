"""Governance rules: constraints inherited from Unity Catalog tags, and the dual gate.

The dual gate is one rule for every consumer (training export, validation split, example
store, evaluation sets, DSPy sets): an item may be used for U only when it is approved
(`status = 'labeled'`) and U is allowed and not prohibited.
"""

from __future__ import annotations

from collections.abc import Mapping

from services.core.domain.governance import (
    ALL_USES,
    CLASSIFICATION_RANK,
    DataClassification,
    UsageConstraints,
    Use,
    normalised,
)
from services.core.errors import ValidationError

PERSONAL_DATA_TAGS = ("PHI", "PII")
CONFIDENTIAL_TAGS = ("CONFIDENTIAL",)
_TRUTHY = {"", "true", "yes", "1", "y"}

# Personal data must never reach model weights (training, validation); it may still be
# shown ephemerally, evaluated against or inspected by people.
_PERSONAL = UsageConstraints(
    allowed_uses=(Use.EVALUATION, Use.FEW_SHOT, Use.TESTING),
    prohibited_uses=(Use.TRAINING, Use.VALIDATION),
    data_classification=DataClassification.RESTRICTED,
)
# Confidential data may be trained on inside the secure pipeline but never exposed in
# runtime examples or shared evaluations that might be logged or traced.
_CONFIDENTIAL = UsageConstraints(
    allowed_uses=(Use.TRAINING, Use.VALIDATION),
    prohibited_uses=(Use.FEW_SHOT, Use.EVALUATION),
    data_classification=DataClassification.CONFIDENTIAL,
)


def _tagged(tags: Mapping[str, str], names: tuple[str, ...]) -> list[str]:
    upper = {k.upper(): (v or "").strip().lower() for k, v in tags.items()}
    return [n for n in names if n in upper and upper[n] in _TRUTHY]


def constraints_from_tags(tags: Mapping[str, str]) -> UsageConstraints:
    """DESIGN invariant 8: PHI/PII → training prohibited, restricted; CONFIDENTIAL →
    training and validation only, confidential. Several tags combine to the strictest."""
    rules: list[tuple[list[str], UsageConstraints]] = [
        (_tagged(tags, PERSONAL_DATA_TAGS), _PERSONAL),
        (_tagged(tags, CONFIDENTIAL_TAGS), _CONFIDENTIAL),
    ]
    applied = [(found, rule) for found, rule in rules if found]
    if not applied:
        return UsageConstraints(usage_reason="No governance tags on the source", data_classification=DataClassification.INTERNAL)
    allowed = set(ALL_USES)
    prohibited: set[str] = set()
    for _, rule in applied:
        allowed &= set(rule.allowed_uses)
        prohibited |= set(rule.prohibited_uses)
    classification = max((rule.data_classification for _, rule in applied), key=CLASSIFICATION_RANK.__getitem__)
    names = ", ".join(name for found, _ in applied for name in found)
    reason = f"Source tagged {names} in Unity Catalog"
    return normalised(UsageConstraints(tuple(allowed), tuple(prohibited), reason, classification))


def checked_constraints(constraints: UsageConstraints, reason_required: bool = True) -> UsageConstraints:
    """A person's change to constraints: known values only, and a reason for the audit."""
    unknown = (set(constraints.allowed_uses) | set(constraints.prohibited_uses)) - set(ALL_USES)
    if unknown:
        raise ValidationError(f"Unknown use(s): {', '.join(sorted(unknown))}. Uses are {', '.join(ALL_USES)}.")
    if constraints.data_classification not in CLASSIFICATION_RANK:
        raise ValidationError(f"Unknown data classification '{constraints.data_classification}'.")
    both = set(constraints.allowed_uses) & set(constraints.prohibited_uses)
    if both:
        raise ValidationError(f"{', '.join(sorted(both))} cannot be both allowed and prohibited.")
    if reason_required and not constraints.usage_reason.strip():
        raise ValidationError("Give a reason for the change; it is kept in the audit trail.")
    return normalised(constraints)


def usable_for_sql(alias: str = "") -> str:
    """The dual gate as a SQL predicate over a pairs table; bind `:use` to the Use."""
    prefix = f"{alias}." if alias else ""
    return (
        f"{prefix}status = 'labeled' AND array_contains(coalesce({prefix}allowed_uses, array()), :use) "
        f"AND NOT array_contains(coalesce({prefix}prohibited_uses, array()), :use)"
    )


def badge_texts(constraints: UsageConstraints) -> list[str]:
    """Short labels a reviewer reads at a glance, most restrictive first."""
    if constraints.all_uses_allowed:
        return ["All uses allowed"]
    badges = []
    reason = f": {constraints.usage_reason}" if constraints.usage_reason else ""
    if not constraints.permits(Use.TRAINING):
        badges.append(f"Training prohibited{reason}")
    if constraints.data_classification == DataClassification.CONFIDENTIAL:
        badges.append("Confidential")
    elif constraints.data_classification == DataClassification.RESTRICTED:
        badges.append("Restricted")
    others = [u for u in ALL_USES if u != Use.TRAINING and not constraints.permits(u)]
    if others:
        badges.append("Not for " + ", ".join(u.replace("_", "-") for u in others))
    return badges
