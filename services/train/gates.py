"""The dual gate of both TRAIN uses in one statement, under the sources' current tags.

The rule is services.core.governance.usable_for_sql, the one every consumer shares; it binds
the use as `:use`. An export tests training and validation on the same rows, so each copy of
the predicate is bound under its own name. A pair's stored constraints are tightened by its
source's current Unity Catalog tags (invariant 9): each copy also requires the pair's Training
Sheet to be among those whose source permits the use now (`:<param>_sheets`, from
services/train/export_governance.py). Nothing here decides anything on its own.
"""

from __future__ import annotations

import re
from typing import Any

from services.core.domain.governance import Use
from services.core.governance import usable_for_sql
from services.train.export_governance import ExportGovernance

TRAINING_PARAM = "training_use"
VALIDATION_PARAM = "validation_use"
_USE_PARAM = re.compile(r":use\b")


def gate_sql(param: str, alias: str = "") -> str:
    """usable_for_sql(alias) with its `:use` bound as `:<param>`, and the pair's Training Sheet
    in `:<param>_sheets` (the sheets whose source's current tags permit the use)."""
    predicate = usable_for_sql(alias)
    renamed = _USE_PARAM.sub(f":{param}", predicate)
    if renamed == predicate:
        raise RuntimeError("The dual gate no longer binds :use; bind the export's two uses the way it now expects.")
    prefix = f"{alias}." if alias else ""
    return f"({renamed} AND array_contains(:{param}_sheets, {prefix}training_sheet_id))"


def gate_params(governance: ExportGovernance) -> dict[str, Any]:
    return {
        TRAINING_PARAM: Use.TRAINING.value, VALIDATION_PARAM: Use.VALIDATION.value,
        **governance.params(TRAINING_PARAM, VALIDATION_PARAM),
    }
