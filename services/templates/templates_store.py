"""The `templates` table: one row per version; versions of one template share a family_id."""

from __future__ import annotations

from dataclasses import dataclass

from data_access.sql.engine import Row, SqlEngine
from data_access.sql.names import TableName
from services.core.domain.template import (
    Template,
    TemplateDraft,
    TemplateStatus,
    examples_from_json,
    examples_to_json,
    schema_from_json,
    schema_to_json,
)

_COLUMNS = (
    "id, family_id, name, description, version, status, label_type, system_prompt, user_prompt_template, "
    "input_schema, output_schema, base_model, temperature, max_tokens, examples, source_sheet_id, "
    "source_catalog, source_schema, source_table, source_volume, created_by, created_at, updated_by, updated_at, "
    "published_at, row_version, retrieved_examples_k"
)

# Versions rank by their numbers, not as text ("1.10.0" is after "1.9.0").
_VERSION_ORDER = (
    "CAST(split_part(version, '.', 1) AS INT) DESC, CAST(split_part(version, '.', 2) AS INT) DESC, "
    "CAST(split_part(version, '.', 3) AS INT) DESC"
)
_LIKE_ESCAPE = "!"


@dataclass(frozen=True)
class TemplateFilter:
    search: str = ""  # matched against name and description, case-insensitively
    status: TemplateStatus | None = None
    label_type: str | None = None
    all_versions: bool = False  # else only the newest matching version of each family


def _to_template(row: Row) -> Template:
    return Template(
        name=row["name"],
        label_type=row["label_type"],
        description=row["description"] or "",
        system_prompt=row["system_prompt"] or "",
        user_prompt_template=row["user_prompt_template"] or "",
        input_schema=schema_from_json(row["input_schema"]),
        output_schema=schema_from_json(row["output_schema"]),
        base_model=row["base_model"] or "",
        temperature=float(row["temperature"] if row["temperature"] is not None else 0.0),
        max_tokens=int(row["max_tokens"] or 0),
        examples=examples_from_json(row["examples"]),
        source_sheet_id=row["source_sheet_id"],
        retrieved_examples_k=int(row["retrieved_examples_k"] or 0),
        id=row["id"],
        family_id=row["family_id"],
        version=row["version"],
        status=TemplateStatus(row["status"]),
        created_by=row["created_by"] or "",
        created_at=row["created_at"],
        updated_by=row["updated_by"] or "",
        updated_at=row["updated_at"],
        published_at=row["published_at"],
        row_version=row["row_version"],
    )


def _draft_params(draft: TemplateDraft, source_table: str | None) -> dict[str, object]:
    source = TableName.parse(source_table) if source_table else None
    return {
        "name": draft.name,
        "description": draft.description,
        "label_type": draft.label_type,
        "system_prompt": draft.system_prompt,
        "user_prompt_template": draft.user_prompt_template,
        "input_schema": schema_to_json(draft.input_schema),
        "output_schema": schema_to_json(draft.output_schema),
        "base_model": draft.base_model,
        "temperature": float(draft.temperature),
        "max_tokens": int(draft.max_tokens),
        "examples": examples_to_json(draft.examples),
        "source_sheet_id": draft.source_sheet_id,
        "source_catalog": source.catalog if source else None,
        "source_schema": source.schema if source else None,
        "source_table": source.table if source else None,
        "retrieved_examples_k": int(draft.retrieved_examples_k),
    }


def _like_pattern(search: str) -> str:
    escaped = search.replace(_LIKE_ESCAPE, _LIKE_ESCAPE * 2).replace("%", f"{_LIKE_ESCAPE}%").replace("_", f"{_LIKE_ESCAPE}_")
    return f"%{escaped}%"


class TemplatesStore:
    def __init__(self, engine: SqlEngine, table: str) -> None:
        self._engine = engine
        self._table = table

    def list(self, where: TemplateFilter) -> list[Template]:
        conditions, params = ["1 = 1"], {}
        if where.search.strip():
            conditions.append(
                f"(name ILIKE :pattern ESCAPE '{_LIKE_ESCAPE}' OR coalesce(description, '') ILIKE :pattern ESCAPE '{_LIKE_ESCAPE}')"
            )
            params["pattern"] = _like_pattern(where.search.strip())
        if where.status is not None:
            conditions.append("status = :status")
            params["status"] = where.status.value
        if where.label_type:
            conditions.append("label_type = :label_type")
            params["label_type"] = where.label_type
        matching = f"SELECT {_COLUMNS} FROM {self._table} WHERE {' AND '.join(conditions)}"
        if where.all_versions:
            sql = f"{matching} ORDER BY lower(name), family_id, {_VERSION_ORDER}"
        else:
            sql = (
                f"SELECT {_COLUMNS} FROM (SELECT *, row_number() OVER (PARTITION BY family_id ORDER BY {_VERSION_ORDER}) "
                f"AS newest FROM ({matching}) AS matching) AS ranked WHERE newest = 1 ORDER BY lower(name), family_id"
            )
        return [_to_template(r) for r in self._engine.query(sql, params)]

    def get(self, template_id: str) -> Template | None:
        row = self._engine.query_one(f"SELECT {_COLUMNS} FROM {self._table} WHERE id = :id", {"id": template_id})
        return _to_template(row) if row else None

    def versions(self, family_id: str) -> list[Template]:
        """Every version of a template, newest first."""
        rows = self._engine.query(
            f"SELECT {_COLUMNS} FROM {self._table} WHERE family_id = :family_id ORDER BY {_VERSION_ORDER}",
            {"family_id": family_id},
        )
        return [_to_template(r) for r in rows]

    def name_taken(self, name: str, except_family_id: str | None = None) -> bool:
        count = self._engine.scalar(
            f"SELECT count(*) AS n FROM {self._table} WHERE lower(name) = lower(:name) AND family_id <> :family_id",
            {"name": name, "family_id": except_family_id or ""},
        )
        return bool(count)

    def names(self) -> set[str]:
        return {r["name"].lower() for r in self._engine.query(f"SELECT DISTINCT name FROM {self._table}")}

    def insert(
        self, template_id: str, family_id: str, version: str, draft: TemplateDraft, source_table: str | None, user: str
    ) -> None:
        self._engine.execute(
            f"INSERT INTO {self._table} ({_COLUMNS}) VALUES (:id, :family_id, :name, :description, :version, "
            ":status, :label_type, :system_prompt, :user_prompt_template, :input_schema, :output_schema, :base_model, "
            ":temperature, :max_tokens, :examples, :source_sheet_id, :source_catalog, :source_schema, :source_table, "
            "NULL, :user, current_timestamp(), :user, current_timestamp(), NULL, 1, :retrieved_examples_k)",
            {
                "id": template_id,
                "family_id": family_id,
                "version": version,
                "status": TemplateStatus.DRAFT.value,
                "user": user,
                **_draft_params(draft, source_table),
            },
        )

    def update_draft(
        self, template_id: str, draft: TemplateDraft, source_table: str | None, user: str, read_version: int
    ) -> bool:
        """Writes only a draft that still has the version the editor read; returns whether it did."""
        changed = self._engine.execute(
            f"UPDATE {self._table} SET name = :name, description = :description, label_type = :label_type, "
            "system_prompt = :system_prompt, user_prompt_template = :user_prompt_template, "
            "input_schema = :input_schema, output_schema = :output_schema, base_model = :base_model, "
            "temperature = :temperature, max_tokens = :max_tokens, examples = :examples, "
            "source_sheet_id = :source_sheet_id, source_catalog = :source_catalog, source_schema = :source_schema, "
            "source_table = :source_table, retrieved_examples_k = :retrieved_examples_k, updated_by = :user, updated_at = current_timestamp(), "
            "row_version = row_version + 1 "
            "WHERE id = :id AND row_version = :read_version AND status = :draft",
            {
                "id": template_id,
                "user": user,
                "read_version": read_version,
                "draft": TemplateStatus.DRAFT.value,
                **_draft_params(draft, source_table),
            },
        )
        return changed == 1

    def set_status(self, template_id: str, status: TemplateStatus, user: str, read_version: int) -> bool:
        """Publishing stamps published_at once; returns whether the row still had `read_version`."""
        changed = self._engine.execute(
            f"UPDATE {self._table} SET status = :status, updated_by = :user, updated_at = current_timestamp(), "
            "published_at = CASE WHEN :status = 'published' AND published_at IS NULL "
            "THEN current_timestamp() ELSE published_at END, row_version = row_version + 1 "
            "WHERE id = :id AND row_version = :read_version",
            {"id": template_id, "status": status.value, "user": user, "read_version": read_version},
        )
        return changed == 1

    def label_types(self) -> list[str]:
        return [r["label_type"] for r in self._engine.query(f"SELECT DISTINCT label_type FROM {self._table} ORDER BY 1")]

    def count(self) -> int:
        return int(self._engine.scalar(f"SELECT count(*) AS n FROM {self._table}") or 0)
