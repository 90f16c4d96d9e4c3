"""Usage constraints: what an approved item may be used for (governance, beside quality)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Use(StrEnum):
    TRAINING = "training"  # permanent: in the model's weights
    VALIDATION = "validation"  # permanent: steers training
    EVALUATION = "evaluation"  # temporary: scoring
    FEW_SHOT = "few_shot"  # ephemeral: shown at inference
    TESTING = "testing"  # temporary: human inspection


ALL_USES: tuple[str, ...] = tuple(u.value for u in Use)


class DataClassification(StrEnum):
    PUBLIC = "public"
    INTERNAL = "internal"
    CONFIDENTIAL = "confidential"
    RESTRICTED = "restricted"


CLASSIFICATION_RANK = {c.value: rank for rank, c in enumerate(DataClassification)}


@dataclass(frozen=True)
class UsageConstraints:
    allowed_uses: tuple[str, ...] = ALL_USES
    prohibited_uses: tuple[str, ...] = ()
    usage_reason: str = ""
    data_classification: str = DataClassification.INTERNAL.value

    def permits(self, use: str) -> bool:
        """The governance half of the dual gate (the quality half is status = labeled)."""
        return use in self.allowed_uses and use not in self.prohibited_uses

    @property
    def permitted_uses(self) -> tuple[str, ...]:
        return tuple(u for u in ALL_USES if self.permits(u))

    @property
    def all_uses_allowed(self) -> bool:
        return self.permitted_uses == ALL_USES


def normalised(constraints: UsageConstraints) -> UsageConstraints:
    """Known uses only, in canonical order, without duplicates; a use cannot be both."""
    prohibited = tuple(u for u in ALL_USES if u in constraints.prohibited_uses)
    allowed = tuple(u for u in ALL_USES if u in constraints.allowed_uses and u not in prohibited)
    return UsageConstraints(allowed, prohibited, constraints.usage_reason.strip(), constraints.data_classification)
