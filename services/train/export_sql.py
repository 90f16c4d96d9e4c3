"""The export's SQL, written once in Databricks SQL: gate counts, the split plan, pages of pairs.

Every statement builds on one candidate query, so the plan, the preview and the files agree
on which pairs pass which gate, whether their messages can be read, their label value (the
stratum) and their seeded draw. A pair's draw is md5(seed:id): the same on a laptop and on a
warehouse, so a seed gives the same split on both.
"""

from __future__ import annotations

from typing import Any

from services.train.export_records import SplitConfig, Stratify
from services.train.gates import TRAINING_PARAM, VALIDATION_PARAM, gate_params, gate_sql

RESPONSE_BUCKETS_HEX_DIGITS = 1  # stratify by response: 16 groups of identical-answer hashes
# A pair with more messages than this (a template with 39 few-shot examples) reads as unreadable
# and is skipped, counted: the last message is looked up by a constant path per count.
MAX_MESSAGES = 80
_LAST_MESSAGE = "CASE n.message_count " + " ".join(
    f"WHEN {count} THEN get_json_object(n.messages, '$[{count - 1}]')" for count in range(1, MAX_MESSAGES + 1)
) + " END"

_TRAIN = gate_sql(TRAINING_PARAM)
_VALIDATION = gate_sql(VALIDATION_PARAM)
_GATE_FLAGS = f"CASE WHEN {_TRAIN} THEN 1 ELSE 0 END AS train_ok, CASE WHEN {_VALIDATION} THEN 1 ELSE 0 END AS validation_ok"
# Arrays travel joined into one string: the driver turns a list column into Python lists five
# times slower than a string (measured on a page of 10,000 pairs).
LIST_SEPARATOR = "\x1f"  # ASCII unit separator: in no use name and no file name our volumes list
_PAIR_COLUMNS = (
    "id, training_sheet_id, ordinal, messages, array_join(media_refs, :list_separator) AS media_refs, status, "
    "array_join(allowed_uses, :list_separator) AS allowed_uses, array_join(prohibited_uses, :list_separator) AS prohibited_uses"
)


def summary_sql(pairs: str) -> str:
    """One aggregate: pairs by sheet, status, gate results and (for labeled pairs) why."""
    return (
        "SELECT training_sheet_id, status, train_ok, validation_ok, reason, classification, count(*) AS pairs FROM ("
        f"SELECT training_sheet_id, status, {_GATE_FLAGS}, "
        "CASE WHEN status = 'labeled' THEN coalesce(usage_reason, '') END AS reason, "
        "CASE WHEN status = 'labeled' THEN coalesce(data_classification, '') END AS classification "
        f"FROM {pairs} WHERE array_contains(:training_sheet_ids, training_sheet_id)) AS g "
        "GROUP BY training_sheet_id, status, train_ok, validation_ok, reason, classification"
    )


def summary_params(training_sheet_ids: list[str]) -> dict[str, Any]:
    return {"training_sheet_ids": training_sheet_ids, **gate_params()}


def _stratum(config: SplitConfig) -> str:
    if config.stratify is Stratify.FIELD:
        return "CASE WHEN try_parse_json(r.response) IS NOT NULL THEN get_json_object(r.response, :stratify_path) END"
    if config.stratify is Stratify.RESPONSE:
        return f"substr(md5(r.response), 1, {RESPONSE_BUCKETS_HEX_DIGITS})"
    return "CAST(NULL AS STRING)"


def _keyed(candidates: str, config: SplitConfig) -> str:
    """Candidates with what the split needs: readable (valid JSON, the assistant's answer last),
    the stratum and the draw.

    The last message is found by its index with a constant JSON path per message count: a path
    built per row costs ten times as much in DuckDB (measured), and an inline path does not
    survive the transpile. The count is a column of an inner query so it is computed once.
    """
    counted = (
        "SELECT c.*, CASE WHEN try_parse_json(c.messages) IS NOT NULL THEN json_array_length(c.messages) END AS message_count "
        f"FROM ({candidates}) AS c"
    )
    last = f"SELECT n.*, {_LAST_MESSAGE} AS last_message FROM ({counted}) AS n"
    answered = (
        "SELECT m.*, get_json_object(m.last_message, '$.role') AS last_role, "
        "get_json_object(m.last_message, '$.content') AS response "
        f"FROM ({last}) AS m"
    )
    return (
        f"SELECT r.id, r.training_sheet_id, r.ordinal, r.messages, r.media_refs, r.status, r.allowed_uses, r.prohibited_uses, "
        f"r.train_ok, r.validation_ok, md5(concat(:seed, ':', r.id)) AS draw, "
        f"CASE WHEN r.last_role = 'assistant' AND r.response IS NOT NULL THEN 1 ELSE 0 END AS readable, {_stratum(config)} AS stratum "
        f"FROM ({answered}) AS r"
    )


def keyed_params(config: SplitConfig) -> dict[str, Any]:
    params: dict[str, Any] = {"seed": str(config.seed), "list_separator": LIST_SEPARATOR, **gate_params()}
    if config.stratify is Stratify.FIELD:
        params["stratify_path"] = f"$.{config.stratify_field}"
    return params


def candidates_sql(pairs: str, config: SplitConfig) -> str:
    """Every pair of the chosen Training Sheets that passes the training or the validation gate."""
    gated = (
        f"SELECT {_PAIR_COLUMNS}, {_GATE_FLAGS} FROM {pairs} "
        f"WHERE array_contains(:training_sheet_ids, training_sheet_id) AND (({_TRAIN}) OR ({_VALIDATION}))"
    )
    return _keyed(gated, config)


def plan_sql(pairs: str, config: SplitConfig) -> str:
    """Per stratum: pairs allowed for training only, validation only, or both; how many of the
    'both' pairs go to validation (`picks`, so the stratum's validation share comes closest to
    the fraction asked), and the draw of the last one picked (pairs at or below it go)."""
    both = "k.train_ok = 1 AND k.validation_ok = 1"
    counted = (
        f"SELECT k.stratum, k.id, k.draw, k.train_ok, k.validation_ok, "
        f"CASE WHEN {both} THEN row_number() OVER (PARTITION BY k.stratum, k.train_ok, k.validation_ok ORDER BY k.draw, k.id) END AS both_rank, "
        "count(*) OVER (PARTITION BY k.stratum) AS stratum_pairs, "
        f"sum(CASE WHEN {both} THEN 1 ELSE 0 END) OVER (PARTITION BY k.stratum) AS both_pairs, "
        "sum(CASE WHEN k.train_ok = 0 THEN 1 ELSE 0 END) OVER (PARTITION BY k.stratum) AS validation_only_pairs "
        f"FROM ({candidates_sql(pairs, config)}) AS k WHERE k.readable = 1"
    )
    picked = (
        "SELECT p.*, greatest(0, least(p.both_pairs, CAST(round(:validation_fraction * p.stratum_pairs) AS INT) - p.validation_only_pairs)) AS picks "
        f"FROM ({counted}) AS p"
    )
    return (
        "SELECT s.stratum, sum(CASE WHEN s.train_ok = 1 AND s.validation_ok = 0 THEN 1 ELSE 0 END) AS train_only, "
        "sum(CASE WHEN s.train_ok = 0 THEN 1 ELSE 0 END) AS validation_only, "
        "sum(CASE WHEN s.train_ok = 1 AND s.validation_ok = 1 THEN 1 ELSE 0 END) AS both_uses, max(s.picks) AS picks, "
        "max(CASE WHEN s.both_rank = s.picks THEN s.draw END) AS cut_draw, max(CASE WHEN s.both_rank = s.picks THEN s.id END) AS cut_id "
        f"FROM ({picked}) AS s GROUP BY s.stratum ORDER BY s.stratum"
    )


def plan_params(training_sheet_ids: list[str], config: SplitConfig) -> dict[str, Any]:
    return {"training_sheet_ids": training_sheet_ids, "validation_fraction": config.validation_fraction, **keyed_params(config)}


def pages_sql(pairs: str) -> str:
    """The pages to read: per Training Sheet, each range of `:page_rows` ordinals holding a candidate."""
    return (
        "SELECT training_sheet_id, CAST(floor(ordinal / :page_rows) AS BIGINT) AS page FROM "
        f"{pairs} WHERE array_contains(:training_sheet_ids, training_sheet_id) AND (({_TRAIN}) OR ({_VALIDATION})) "
        "GROUP BY training_sheet_id, CAST(floor(ordinal / :page_rows) AS BIGINT) ORDER BY training_sheet_id, page"
    )


def page_sql(pairs: str, config: SplitConfig) -> str:
    """One Training Sheet's candidates with ordinals in [from, to), in (ordinal, id) order.

    Plain range comparisons are pushed into the engine's scan, which then skips what lies
    outside the page (an ORDER BY … LIMIT page would scan every later pair for each page).
    The expensive columns (JSON checks, stratum, draw) are computed for the page's rows only.
    """
    page = (
        f"SELECT {_PAIR_COLUMNS}, {_GATE_FLAGS} FROM {pairs} "
        "WHERE training_sheet_id = :training_sheet_id AND ordinal >= :from_ordinal AND ordinal < :to_ordinal "
        f"AND (({_TRAIN}) OR ({_VALIDATION}))"
    )
    return f"SELECT * FROM ({_keyed(page, config)}) AS k ORDER BY k.ordinal, k.id"
