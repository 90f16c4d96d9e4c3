"""Generation inside the SQL warehouse: one INSERT … SELECT with `ai_query`.

At Databricks scale the app should not pull every item through itself. When a template's
user prompt is plain text with `{{ column }}` (or `{{ row["column name"] }}`) placeholders, it compiles to a SQL `concat`
(the template's text travels as parameters), and the whole Training Sheet is made by one
statement: items with a canonical label reuse it (invariant 2) with its constraints tightened
by the source's current tags in SQL, by the same rule as the app path (invariant 9,
`effective_constraints_sql`); the others are answered by
`ai_query(endpoint, prompt, failOnError => false)`, whose error, if any, is kept on the pair.
Items that already have a pair are skipped, so a rerun never duplicates. Templates with
few-shot examples, filters, loops or conditions use the app-side path instead.

The prompt sent by ai_query is the system prompt, a blank line, and the user prompt: the
function takes one request string. Values print as SQL casts them to text (the same as the
app path for text, integers, decimals and dates).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from jinja2 import Environment, nodes

from data_access.sql.names import quote
from services.core.domain.template import Template
from services.core.errors import ValidationError
from services.core.governance import constraints_from_tags, effective_constraints_params, effective_constraints_sql
from services.data.sheet_items import ItemQuery
from services.templates.rendering import ROW


@dataclass(frozen=True)
class PromptSql:
    expression: str  # over the alias `items`
    params: dict[str, str]


def prompt_sql(user_prompt: str, columns: list[str]) -> PromptSql | None:
    """The prompt as a SQL expression, or None when the template needs Jinja itself."""
    try:
        tree = Environment().parse(user_prompt)
    except Exception:  # a template that does not compile is refused elsewhere, with its line
        return None
    if len(tree.body) != 1 or not isinstance(tree.body[0], nodes.Output):
        return None
    known = {c.lower(): c for c in columns}
    parts, params = [], {}
    for node in tree.body[0].nodes:
        if isinstance(node, nodes.TemplateData):
            name = f"prompt_text_{len(params)}"
            params[name] = node.data
            parts.append(f":{name}")
        elif isinstance(node, nodes.Name) and node.name.lower() in known:
            parts.append(_printed(known[node.name.lower()]))
        elif (column := _row_column(node, columns)) is not None:
            parts.append(_printed(column))
        else:
            return None
    return PromptSql(f"concat({', '.join(parts)})" if parts else "''", params)


def _printed(column: str) -> str:
    return f"coalesce(CAST(items.{quote(column)} AS STRING), 'null')"


def _row_column(node: nodes.Node, columns: list[str]) -> str | None:
    """The column of `{{ row["state code"] }}` (named exactly, as the app path reads it), unless a column is called row."""
    if not (isinstance(node, nodes.Getitem) and isinstance(node.node, nodes.Name) and node.node.name == ROW):
        return None
    if ROW in columns or not isinstance(node.arg, nodes.Const) or node.arg.value not in columns:
        return None
    return node.arg.value


def why_not_in_warehouse(template: Template, columns: list[str]) -> str | None:
    if template.examples:
        return "it has few-shot examples"
    if prompt_sql(template.user_prompt_template, columns) is None:
        return "its prompt uses Jinja beyond {{ column }} placeholders"
    return None


def insert_statement(
    qa_pairs: str, canonical_labels: str, items: ItemQuery, item_ref_column: str, prompt: PromptSql, template: Template,
) -> str:
    ref = quote(item_ref_column)
    system = "named_struct('role', 'system', 'content', :system_prompt), " if template.system_prompt.strip() else ""
    numbered = (
        f"SELECT CAST(items.{ref} AS STRING) AS item_ref, CAST(row_number() OVER (ORDER BY items.{ref}) - 1 AS INT) AS ordinal, "
        f"{prompt.expression} AS prompt FROM ({items.items_sql}) AS items"
    )
    todo = (
        f"SELECT n.* FROM ({numbered}) AS n WHERE NOT EXISTS (SELECT 1 FROM {qa_pairs} AS q "
        "WHERE q.training_sheet_id = :training_sheet_id AND q.item_ref = n.item_ref)"
    )
    label_match = "cl.sheet_id = :sheet_id AND cl.label_type = :label_type AND cl.item_ref = t.item_ref"
    effective = effective_constraints_sql("cl")
    governed = (  # the sheet's labels with their effective constraints (e_*), the reason over those
        f"SELECT cl.*, {effective['e_usage_reason']} AS e_usage_reason FROM (SELECT cl.*, "
        + ", ".join(f"{effective[c]} AS {c}" for c in ("e_allowed_uses", "e_prohibited_uses", "e_data_classification"))
        + f" FROM {canonical_labels} AS cl WHERE cl.sheet_id = :sheet_id AND cl.label_type = :label_type) AS cl"
    )
    reused = (
        "SELECT t.item_ref, t.ordinal, t.prompt, cl.id AS label_id, "
        "CASE WHEN startswith(cl.label_data, '{\"text\": ') THEN get_json_object(cl.label_data, '$.text') ELSE cl.label_data END AS response, "
        "CAST(NULL AS STRING) AS error, cl.e_allowed_uses AS allowed_uses, cl.e_prohibited_uses AS prohibited_uses, "
        "cl.e_usage_reason AS usage_reason, cl.e_data_classification AS data_classification "
        f"FROM ({todo}) AS t JOIN ({governed}) AS cl ON {label_match}"
    )
    drafted = (
        "SELECT a.item_ref, a.ordinal, a.prompt, CAST(NULL AS STRING) AS label_id, a.answer.result AS response, "
        "a.answer.errorMessage AS error, CAST(NULL AS ARRAY<STRING>) AS allowed_uses, CAST(NULL AS ARRAY<STRING>) AS prohibited_uses, "
        "CAST(NULL AS STRING) AS usage_reason, CAST(NULL AS STRING) AS data_classification FROM ("
        "SELECT t.*, ai_query(:endpoint, concat(:request_prefix, t.prompt), failOnError => false) AS answer "
        f"FROM ({todo}) AS t WHERE NOT EXISTS (SELECT 1 FROM {canonical_labels} AS cl WHERE {label_match})) AS a"
    )
    return (
        f"INSERT INTO {qa_pairs} (id, training_sheet_id, sheet_id, item_ref, ordinal, label_type, messages, original_response, "
        "media_refs, canonical_label_id, status, labeling_mode, allowed_uses, prohibited_uses, usage_reason, data_classification, "
        "generation_error, created_at, updated_at, row_version) "
        "SELECT uuid(), :training_sheet_id, :sheet_id, d.item_ref, d.ordinal, :label_type, "
        f"to_json(array({system}named_struct('role', 'user', 'content', d.prompt), "
        "named_struct('role', 'assistant', 'content', coalesce(d.response, '')))), "
        "CASE WHEN d.label_id IS NULL THEN coalesce(d.response, '') END, CAST(array() AS ARRAY<STRING>), d.label_id, "
        "CASE WHEN d.label_id IS NULL THEN 'unlabeled' ELSE 'labeled' END, "
        "CASE WHEN d.label_id IS NULL THEN 'ai_generated' ELSE 'canonical' END, "
        "coalesce(d.allowed_uses, :default_allowed_uses), coalesce(d.prohibited_uses, :default_prohibited_uses), "
        "coalesce(d.usage_reason, :default_usage_reason), coalesce(d.data_classification, :default_classification), "
        "d.error, current_timestamp(), current_timestamp(), 1 "
        f"FROM ({reused} UNION ALL {drafted}) AS d"
    )


def statement_params(
    training_sheet_id: str, sheet_id: str, template: Template, endpoint: str, prompt: PromptSql, items: ItemQuery, source_tags: Mapping[str, str],
) -> dict[str, object]:
    """The statement's parameters: the source's current tags give both the drafted pairs'
    constraints and what tightens the reused labels'."""
    defaults = constraints_from_tags(source_tags)
    if not endpoint:
        raise ValidationError("Name the serving endpoint in the template's base model to generate in the warehouse.", "base_model")
    system = template.system_prompt.strip()
    return {
        **items.params, **prompt.params,
        "training_sheet_id": training_sheet_id, "sheet_id": sheet_id, "label_type": template.label_type,
        "endpoint": endpoint, "request_prefix": f"{system}\n\n" if system else "",
        **({"system_prompt": template.system_prompt} if system else {}),
        "default_allowed_uses": list(defaults.allowed_uses), "default_prohibited_uses": list(defaults.prohibited_uses),
        "default_usage_reason": defaults.usage_reason, "default_classification": str(defaults.data_classification),
        **effective_constraints_params(source_tags),
    }
