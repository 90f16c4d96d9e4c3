"""Governance rules: constraints from Unity Catalog tags, effective constraints, and the dual gate.

The dual gate is one rule for every consumer (training export, validation split, example
store, evaluation sets, DSPy sets, and every page that says a pair may be used for U): a pair
may be used for U only when it is approved (`status = 'labeled'`) and U is allowed and not
prohibited. `usable_for` is the rule in Python, `usable_for_sql` the same rule in a query.

Governance only tightens by itself (invariant 9): a pair made from a canonical label carries
the most restrictive combination of the label's constraints and the source's current tags
(`effective_constraints`, and `effective_constraints_sql` for the warehouse path).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from services.core.domain.governance import (
    ALL_USES,
    CLASSIFICATION_RANK,
    DataClassification,
    UsageConstraints,
    Use,
    normalised,
)
from services.core.domain.qa_pair import PairStatus
from services.core.errors import ValidationError

PERSONAL_DATA_TAGS = ("PHI", "PII")
CONFIDENTIAL_TAGS = ("CONFIDENTIAL",)

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
_UNTAGGED = UsageConstraints(usage_reason="No governance tags on the source", data_classification=DataClassification.INTERNAL)
# An unknown classification counts as the strictest: governance fails closed.
_STRICTEST_RANK = max(CLASSIFICATION_RANK.values())


# -- tags ------------------------------------------------------------------------------------
def _tagged(tags: Mapping[str, str], names: tuple[str, ...]) -> list[str]:
    """The governance tags present, whatever their value: `PHI=restricted`, `PHI=HIPAA` and even
    `PHI=false` all say the table holds PHI (fail closed); keys compare case-insensitively."""
    present = {k.strip().upper() for k in tags}
    return [n for n in names if n in present]


def tag_rule(tags: Mapping[str, str]) -> UsageConstraints | None:
    """What the source's governance tags impose, or None when it has none.

    DESIGN invariant 8: PHI/PII → training and validation prohibited, `restricted`;
    CONFIDENTIAL → training and validation only, `confidential`. Several combine to the strictest.
    """
    applied = [(found, rule) for found, rule in ((_tagged(tags, PERSONAL_DATA_TAGS), _PERSONAL), (_tagged(tags, CONFIDENTIAL_TAGS), _CONFIDENTIAL)) if found]
    if not applied:
        return None
    names = ", ".join(name for found, _ in applied for name in found)
    combined = applied[0][1]
    for _, rule in applied[1:]:
        combined = most_restrictive(combined, rule)
    return UsageConstraints(combined.allowed_uses, combined.prohibited_uses, f"Source tagged {names} in Unity Catalog", combined.data_classification)


def personal_data_rule(reason: str) -> UsageConstraints:
    """What personal data found in a pair itself imposes: the same rule as a PII tag on its source."""
    return UsageConstraints(_PERSONAL.allowed_uses, _PERSONAL.prohibited_uses, reason, _PERSONAL.data_classification)


def constraints_from_tags(tags: Mapping[str, str]) -> UsageConstraints:
    """What a pair or label without a person's decision may be used for: the tag rule, or every
    use (`internal`) when the source has no governance tag."""
    return tag_rule(tags) or _UNTAGGED


# -- combining ---------------------------------------------------------------------------------
def rank(classification: str | None) -> int:
    return CLASSIFICATION_RANK.get(str(classification or ""), _STRICTEST_RANK)


def _known(classification: str | None) -> str:
    return str(classification) if str(classification or "") in CLASSIFICATION_RANK else DataClassification.RESTRICTED.value


def most_restrictive(first: UsageConstraints, second: UsageConstraints, reason: str | None = None) -> UsageConstraints:
    """Both at once: allowed where both allow, prohibited where either prohibits, the stricter
    classification (an unknown one reads as restricted). The reason is `reason`, else the first's."""
    classification = _known(first.data_classification if rank(first.data_classification) >= rank(second.data_classification) else second.data_classification)
    return normalised(
        UsageConstraints(
            tuple(set(first.allowed_uses) & set(second.allowed_uses)),
            tuple(set(first.prohibited_uses) | set(second.prohibited_uses)),
            first.usage_reason if reason is None else reason,
            classification,
        )
    )


def governance_changed(before: UsageConstraints, after: UsageConstraints) -> bool:
    """Uses or classification differ (the reason alone is not a change of governance)."""
    return (
        set(before.allowed_uses) != set(after.allowed_uses)
        or set(before.prohibited_uses) != set(after.prohibited_uses)
        or str(before.data_classification) != str(after.data_classification)
    )


def effective_constraints(label: UsageConstraints, source_tags: Mapping[str, str]) -> UsageConstraints:
    """What a pair made from a canonical label may be used for: the label's constraints tightened
    by its source's current Unity Catalog tags, so a tag added after labeling still binds. When
    the tags restrict more than the label did, the reason names the tag rule, then the label's."""
    return tightened(label, tag_rule(source_tags))


def unreadable_tags_rule(source: str, error: str) -> UsageConstraints:
    """What a source whose tags cannot be read imposes: nothing may be used (governance fails closed)."""
    return UsageConstraints((), ALL_USES, f"Unity Catalog tags of {source} could not be read ({error})", DataClassification.RESTRICTED)


def tightened(label: UsageConstraints, rule: UsageConstraints | None) -> UsageConstraints:
    """`label` under a source's rule (`tag_rule`, `unreadable_tags_rule`; None: no rule): the most
    restrictive of both, the rule's reason first when it restricts more than the label did."""
    if rule is None:
        return label
    combined = most_restrictive(label, rule)
    if not governance_changed(label, combined):
        return label
    reason = f"{rule.usage_reason}; label: {label.usage_reason}" if label.usage_reason.strip() else rule.usage_reason
    return UsageConstraints(combined.allowed_uses, combined.prohibited_uses, reason, combined.data_classification)


def _rank_sql(column: str) -> str:
    ranks = " ".join(f"WHEN '{name}' THEN {value}" for name, value in CLASSIFICATION_RANK.items())
    return f"(CASE {column} {ranks} ELSE {_STRICTEST_RANK} END)"


def effective_constraints_sql(alias: str) -> dict[str, str]:
    """`effective_constraints` as SQL over a labels table `alias`: column name → expression.

    Bind `effective_constraints_params(tags)`. Uses are filtered from the fixed list of uses, so
    arrays come out in the same order as in Python; the reason needs the other three columns and
    reads them as `e_allowed_uses`, `e_prohibited_uses`, `e_data_classification` of the same row,
    so select the first three in an inner query and the reason over it.
    """
    a = alias
    label_prohibited = f"array_contains(coalesce({a}.prohibited_uses, array()), u)"
    prohibited = f"{label_prohibited} OR array_contains(:gov_tag_prohibited, u)"
    allowed = f"array_contains(coalesce({a}.allowed_uses, array()), u) AND array_contains(:gov_tag_allowed, u) AND NOT ({prohibited})"
    known = "', '".join(CLASSIFICATION_RANK)
    label_class = f"(CASE WHEN {a}.data_classification IN ('{known}') THEN {a}.data_classification ELSE '{DataClassification.RESTRICTED.value}' END)"
    return {
        "e_allowed_uses": f"filter(:gov_all_uses, u -> {allowed})",
        "e_prohibited_uses": f"filter(:gov_all_uses, u -> {prohibited})",
        "e_data_classification": (
            f"CASE WHEN :gov_tag_rank < 0 THEN {a}.data_classification "
            f"WHEN {_rank_sql(f'{a}.data_classification')} >= :gov_tag_rank THEN {label_class} ELSE :gov_tag_classification END"
        ),
        "e_usage_reason": (
            f"CASE WHEN size({a}.e_allowed_uses) <> size(coalesce({a}.allowed_uses, array())) "
            f"OR size({a}.e_prohibited_uses) <> size(coalesce({a}.prohibited_uses, array())) "
            f"OR {a}.e_data_classification <> coalesce({a}.data_classification, '') "
            f"THEN (CASE WHEN trim(coalesce({a}.usage_reason, '')) <> '' THEN concat(:gov_tag_reason, '; label: ', {a}.usage_reason) "
            f"ELSE :gov_tag_reason END) ELSE {a}.usage_reason END"
        ),
    }


def effective_constraints_params(source_tags: Mapping[str, str]) -> dict[str, Any]:
    """The parameters of `effective_constraints_sql` for a source's current tags."""
    rule = tag_rule(source_tags)
    return {
        "gov_all_uses": list(ALL_USES),
        "gov_tag_allowed": list(rule.allowed_uses if rule else ALL_USES),
        "gov_tag_prohibited": list(rule.prohibited_uses if rule else ()),
        "gov_tag_rank": rank(rule.data_classification) if rule else -1,
        "gov_tag_classification": str(rule.data_classification) if rule else "",
        "gov_tag_reason": rule.usage_reason if rule else "",
    }


# -- the dual gate -----------------------------------------------------------------------------
def usable_for(status: str | None, constraints: UsageConstraints, use: str) -> bool:
    """The dual gate: approved (`status = 'labeled'`) AND the use allowed AND not prohibited."""
    return status == PairStatus.LABELED.value and constraints.permits(use)


def why_not_usable(status: str | None, constraints: UsageConstraints, use: str) -> str:
    """Which gate refuses the use, in a person's words ("" when the pair may be used)."""
    if status != PairStatus.LABELED.value:
        return f"Status: {status or 'unknown'}"
    if not constraints.permits(use):
        return constraints.usage_reason or f"Not allowed for {use}"
    return ""


def usable_for_sql(alias: str = "", use_param: str = "use") -> str:
    """The dual gate as a SQL predicate over a pairs table (parenthesised); bind `:<use_param>` to the Use."""
    prefix = f"{alias}." if alias else ""
    return (
        f"({prefix}status = 'labeled' AND array_contains(coalesce({prefix}allowed_uses, array()), :{use_param}) "
        f"AND NOT array_contains(coalesce({prefix}prohibited_uses, array()), :{use_param}))"
    )


# -- a person's change -------------------------------------------------------------------------
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
