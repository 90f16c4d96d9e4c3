"""The model version behind a MONITOR view, with what its training left on record: the lineage
(which pairs it trained on), the template it answers (its output schema and label type) and the
sheet its items came from. Comparisons with the training set start here."""

from __future__ import annotations

import re
from dataclasses import dataclass

from services.core.domain.template import FieldType, SchemaField, Template
from services.core.workbench import Workbench
from services.monitor.log_scope import LOG_FILTER, LogScope
from services.templates.prompt_templates import TemplateService

_PLAIN_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*\Z")


@dataclass(frozen=True)
class WatchedModel:
    model_name: str
    model_version: str
    lineage_id: str
    template: Template | None  # None when the template was deleted since training
    sheet_id: str | None

    @property
    def output_schema(self) -> tuple[SchemaField, ...]:
        return self.template.output_schema if self.template else ()

    @property
    def label_type(self) -> str | None:
        return self.template.label_type if self.template else None


def is_categorical(field: SchemaField) -> bool:
    return field.type is FieldType.BOOLEAN or (field.type is FieldType.STRING and bool(field.choices))


def is_numeric(field: SchemaField) -> bool:
    return field.type in (FieldType.INTEGER, FieldType.NUMBER)


def has_plain_name(field: SchemaField) -> bool:
    """A JSON path both engines read alike: `$.name` with a plain ASCII name. A name with spaces
    needs `$['a b']` on Databricks and `$."a b"` on DuckDB, so such a field is not compared."""
    return bool(_PLAIN_NAME.match(field.name))


def compared_fields(schema: tuple[SchemaField, ...]) -> tuple[SchemaField, ...]:
    """The answer's fields whose distribution means something: a fixed set of values, or numbers.
    Free text (a summary, a reason) has as many values as answers."""
    return tuple(f for f in schema if (is_categorical(f) or is_numeric(f)) and has_plain_name(f))


def watched_model(workbench: Workbench, scope: LogScope) -> WatchedModel | None:
    """The version the scope names, or the only version its window saw; None when the window saw
    several (a comparison with one training set needs one version) or the version has no lineage."""
    engine = workbench.backend.engine
    versions = engine.query(
        f"SELECT DISTINCT l.model_name, l.model_version FROM {workbench.table('inference_log')} l "
        f"WHERE {LOG_FILTER} AND l.model_version IS NOT NULL LIMIT 2",
        scope.params(),
    )
    if len(versions) != 1:
        return None
    return trained_model(workbench, versions[0]["model_name"], str(versions[0]["model_version"]))


def trained_model(workbench: Workbench, model_name: str, model_version: str) -> WatchedModel | None:
    """The version with its latest lineage row, template and sheet; None when it has no lineage."""
    row = workbench.backend.engine.query_one(
        f"SELECT m.id, m.model_name, m.model_version, ts.template_id, ts.sheet_id FROM {workbench.table('model_training_lineage')} m "
        f"LEFT JOIN {workbench.table('training_sheets')} ts ON ts.id = m.training_sheet_id "
        "WHERE m.model_name = :name AND m.model_version = :version ORDER BY m.trained_at DESC LIMIT 1",
        {"name": model_name, "version": model_version},
    )
    if row is None:
        return None
    template = TemplateService(workbench).find(row["template_id"]) if row["template_id"] else None
    return WatchedModel(row["model_name"], str(row["model_version"]), row["id"], template, row["sheet_id"])
