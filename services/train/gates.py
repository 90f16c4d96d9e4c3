"""The dual gate of both TRAIN uses in one statement.

The rule is services.core.governance.usable_for_sql, the one every consumer shares; it binds
the use as `:use`. An export tests training and validation on the same rows, so each copy of
the predicate is bound under its own name. Nothing here decides anything on its own.
"""

from __future__ import annotations

import re

from services.core.domain.governance import Use
from services.core.governance import usable_for_sql

TRAINING_PARAM = "training_use"
VALIDATION_PARAM = "validation_use"
_USE_PARAM = re.compile(r":use\b")


def gate_sql(param: str, alias: str = "") -> str:
    """usable_for_sql(alias) with its `:use` bound as `:<param>`."""
    predicate = usable_for_sql(alias)
    renamed = _USE_PARAM.sub(f":{param}", predicate)
    if renamed == predicate:
        raise RuntimeError("The dual gate no longer binds :use; bind the export's two uses the way it now expects.")
    return renamed


def gate_params() -> dict[str, str]:
    return {TRAINING_PARAM: Use.TRAINING.value, VALIDATION_PARAM: Use.VALIDATION.value}
