"""The export's SQL, written once in Databricks SQL: gate counts, the split plan, pages of lines.

Every statement builds on one candidate query, so the plan, the preview and the files agree
on which pairs pass which gate, whether their messages can be read, their label value (the
stratum) and their seeded draw. A pair's draw is md5(seed:id): the same on a laptop and on a
warehouse, so a seed gives the same split on both.

The per-pair work of an export happens here, in the engine: the split (a pair's (draw, id)
against its stratum's cut, bound from the plan), its copies, its chat JSONL line, the line's
sha256 and its manifest entry. Python only writes what a page returns.
"""

from __future__ import annotations

from typing import Any

from services.data.sheet_items import IMAGE_EXTENSIONS
from services.train.export_governance import ExportGovernance
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
_PAIR_COLUMNS = "id, training_sheet_id, ordinal, messages, media_refs, status"
# A list parameter is never empty: the warehouse connector types an array by its elements.
# No stratum key and no Training Sheet id is this.
NO_MATCH = "#"


def summary_sql(pairs: str) -> str:
    """One aggregate: pairs by sheet, status, gate results and (for labeled pairs) their stored
    constraints, which the export's governance tightens into the reason (services/train/export_summary)."""
    def labeled(value: str) -> str:
        return f"CASE WHEN status = 'labeled' THEN {value} END"

    return (
        "SELECT training_sheet_id, status, train_ok, validation_ok, reason, classification, allowed, prohibited, count(*) AS pairs FROM ("
        f"SELECT training_sheet_id, status, {_GATE_FLAGS}, {labeled(_coalesced('usage_reason'))} AS reason, "
        f"{labeled(_coalesced('data_classification'))} AS classification, "
        f"{labeled('array_join(coalesce(allowed_uses, array()), :list_separator)')} AS allowed, "
        f"{labeled('array_join(coalesce(prohibited_uses, array()), :list_separator)')} AS prohibited "
        f"FROM {pairs} WHERE array_contains(:training_sheet_ids, training_sheet_id)) AS g "
        "GROUP BY training_sheet_id, status, train_ok, validation_ok, reason, classification, allowed, prohibited"
    )


def _coalesced(column: str) -> str:
    return f"coalesce({column}, '')"


def summary_params(training_sheet_ids: list[str], governance: ExportGovernance) -> dict[str, Any]:
    return {"training_sheet_ids": training_sheet_ids, "list_separator": LIST_SEPARATOR, **gate_params(governance)}


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
        f"SELECT r.id, r.training_sheet_id, r.ordinal, r.messages, r.media_refs, r.status, "
        f"r.train_ok, r.validation_ok, md5(concat(:seed, ':', r.id)) AS draw, "
        f"CASE WHEN r.last_role = 'assistant' AND r.response IS NOT NULL THEN 1 ELSE 0 END AS readable, {_stratum(config)} AS stratum "
        f"FROM ({answered}) AS r"
    )


def keyed_params(config: SplitConfig, governance: ExportGovernance) -> dict[str, Any]:
    params: dict[str, Any] = {"seed": str(config.seed), **gate_params(governance)}
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


def plan_params(training_sheet_ids: list[str], config: SplitConfig, governance: ExportGovernance) -> dict[str, Any]:
    return {"training_sheet_ids": training_sheet_ids, "validation_fraction": config.validation_fraction, **keyed_params(config, governance)}


def pages_sql(pairs: str) -> str:
    """The pages to read: per Training Sheet, each range of `:page_rows` ordinals holding a candidate."""
    return (
        "SELECT training_sheet_id, CAST(floor(ordinal / :page_rows) AS BIGINT) AS page FROM "
        f"{pairs} WHERE array_contains(:training_sheet_ids, training_sheet_id) AND (({_TRAIN}) OR ({_VALIDATION})) "
        "GROUP BY training_sheet_id, CAST(floor(ordinal / :page_rows) AS BIGINT) ORDER BY training_sheet_id, page"
    )


# -- a pair's split and copies: its (draw, id) against its stratum's cut ----------------------
# The draw is 32 hex digits, so comparing draw||id as text orders as comparing (draw, id).
STRATUM_KEY = "coalesce(concat('=', k.stratum), '')"


def stratum_key(value: str | None) -> str:
    """STRATUM_KEY in Python: a stratum's key in the plan's parameters (None: no label value)."""
    return "" if value is None else f"={value}"


def _lookup(keys: str, values: str, key: str) -> str:
    return f"CASE WHEN array_position(:{keys}, {key}) > 0 THEN element_at(:{values}, array_position(:{keys}, {key})) END"


def _decided(keyed: str) -> str:
    cut = _lookup("cut_strata", "cut_keys", STRATUM_KEY)
    split = (
        f"CASE WHEN k.train_ok = 1 AND k.validation_ok = 1 THEN (CASE WHEN concat(k.draw, k.id) <= {cut} THEN 'validation' ELSE 'train' END) "
        "WHEN k.train_ok = 1 THEN 'train' ELSE 'validation' END"
    )
    return f"SELECT k.*, {split} AS split, {_lookup('copy_strata', 'copy_counts', STRATUM_KEY)} AS stratum_copies FROM ({keyed}) AS k"


# -- a pair's chat JSONL line (services/train/chat_jsonl.py does the same in Python) ----------
_LINE_START = '{"messages": '
_USER = '{"role": "user", "content": '
_ASSISTANT = '{"role": "assistant", "content": '
_IMAGE = " OR ".join(f"lower(p) LIKE '%{ext}'" for ext in sorted(IMAGE_EXTENSIONS))
# A path is written as it is between quotes only when JSON needs no escape in it; any other is
# left to Python (chat_jsonl), as is text with a newline or a layout the splice does not know.
_PLAIN_PATH = "instr(p, '\"') = 0 AND instr(p, '\\\\') = 0 AND NOT p RLIKE '\\\\p{Cc}'"


def _text(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _split(text: str, marker: str) -> str:
    """`text` split at each `marker` (the split takes a regular expression: the marker's own
    characters are escaped). A split, not a search from the end: DuckDB's reverse() costs ten
    times as much (measured)."""
    pattern = "".join(f"\\{c}" if c in "\\^$.|?*+()[]{}" else c for c in marker)
    return f"split({text}, {_text(pattern)})"


_ANSWER_AFTER_TEXT = "}, " + _ASSISTANT  # the user message's text ends, the assistant's answer starts


def _lined(decided: str) -> str:
    """Adds `line`: the pair's chat JSONL line when it is made here, NULL when Python makes it.

    Without images the line is the stored messages inside {"messages": …}. With images, their
    content parts go into the last user message when the text has the layout our writers
    produce: `…, {"role": "user", "content": "…"}, {"role": "assistant", "content": …}]`.
    `pieces` is what follows the last user marker, cut where the answer starts: exactly two
    pieces (the user's text, a JSON string; the answer to the end, with no other message)
    when the layout is ours. Each piece is computed once and read many times, from columns.
    """
    images = f"filter(d.media_refs, p -> {_IMAGE})"
    one_line = "instr(d.messages, '\\n') = 0 AND instr(d.messages, '\\r') = 0"
    found = (
        f"SELECT d.*, {images} AS images, CASE WHEN {one_line} THEN 1 ELSE 0 END AS one_line, "
        f"{_split('d.messages', _USER)} AS after_users FROM ({decided}) AS d"
    )
    cut = (
        f"SELECT f.*, size(f.after_users) AS user_parts, {_split('element_at(f.after_users, -1)', _ANSWER_AFTER_TEXT)} AS pieces "
        f"FROM ({found}) AS f"
    )
    named = "SELECT c.*, element_at(c.pieces, 1) AS user_text, element_at(c.pieces, -1) AS answer FROM (" + cut + ") AS c"
    ours = (
        "u.user_parts >= 2 AND size(u.pieces) = 2 AND length(u.user_text) >= 2 AND left(u.user_text, 1) = '\"' "
        "AND right(u.user_text, 1) = '\"' AND instr(u.user_text, '\", \"') = 0 AND instr(u.user_text, '{\"role\": ') = 0 "
        "AND instr(u.answer, '{\"role\": ') = 0"
    )
    parts = "array_join(transform(u.images, p -> concat(', {\"type\": \"image_url\", \"image_url\": {\"url\": \"', p, '\"}}')), '')"
    before_user = f"length(u.messages) - length(u.user_text) - length(u.answer) - {len(_ANSWER_AFTER_TEXT) + len(_USER)}"
    spliced = (
        f"left(u.messages, {before_user}), {_text(_USER)}, '[{{\"type\": \"text\", \"text\": ', u.user_text, '}}', "
        f"{parts}, ']', {_text(_ANSWER_AFTER_TEXT)}, u.answer"
    )
    line = (
        f"CASE WHEN u.readable = 0 OR u.one_line = 0 THEN NULL WHEN size(u.images) = 0 THEN concat({_text(_LINE_START)}, u.messages, '}}') "
        f"WHEN size(filter(u.images, p -> NOT ({_PLAIN_PATH}))) > 0 THEN NULL "
        f"WHEN {ours} THEN concat({_text(_LINE_START)}, {spliced}, '}}') END"
    )
    return f"SELECT u.*, {line} AS line FROM ({named}) AS u"


def page_sql(pairs: str, config: SplitConfig) -> str:
    """One Training Sheet's candidates with ordinals in [from, to), in (ordinal, id)
    order, decided and written: split, copies, line, its sha256 and its manifest entry.

    Plain range comparisons are pushed into the engine's scan, which then skips what lies
    outside the page (an ORDER BY … LIMIT page would scan every later pair for each page).
    The expensive columns (JSON checks, stratum, draw, line) are computed for the page's rows
    only. A pair whose line Python must make (`line` NULL) comes with its messages and media.
    """
    page = (
        f"SELECT {_PAIR_COLUMNS}, {_GATE_FLAGS} FROM {pairs} "
        "WHERE training_sheet_id = :training_sheet_id AND ordinal >= :from_ordinal AND ordinal < :to_ordinal "
        f"AND (({_TRAIN}) OR ({_VALIDATION}))"
    )
    lined = _lined(_decided(_keyed(page, config)))
    copies = "CASE WHEN w.split = 'train' THEN coalesce(w.stratum_copies, 1) ELSE 1 END"
    hashed = f"SELECT w.*, {copies} AS copies, sha2(w.line, 256) AS line_sha256 FROM ({lined}) AS w"
    entry = (
        "to_json(named_struct('qa_pair_id', h.id, 'training_sheet_id', h.training_sheet_id, 'split', h.split, "
        "'content_sha256', h.line_sha256, 'copies', h.copies))"
    )
    return (
        f"SELECT h.id, h.training_sheet_id, h.ordinal, h.readable, h.split, h.copies, h.line, h.line_sha256, "
        f"CASE WHEN h.line IS NOT NULL THEN {entry} END AS manifest_entry, "
        "CASE WHEN h.readable = 1 AND h.line IS NULL THEN h.messages END AS fallback_messages, "
        "CASE WHEN h.readable = 1 AND h.line IS NULL THEN array_join(h.media_refs, :list_separator) END AS fallback_media "
        f"FROM ({hashed}) AS h ORDER BY h.ordinal, h.id"
    )


def page_params(config: SplitConfig, governance: ExportGovernance, split_params: dict[str, list[Any]]) -> dict[str, Any]:
    """The page's parameters but its sheet and ordinal range; `split_params` from SplitPlan.sql_params."""
    return {**keyed_params(config, governance), **split_params, "list_separator": LIST_SEPARATOR}
