"""The export's SQL, written once in Databricks SQL: gate counts, the split plan, the lines.

Every statement builds on one candidate query, so the plan, the preview and the files agree
on which pairs pass which gate, whether their messages can be read, their label value (the
stratum) and their seeded draw. A pair's draw is md5(seed:id): the same on a laptop and on a
warehouse, so a seed gives the same split on both.

The per-pair work of an export happens here, in the engine, in one pass over the messages:
the split (a pair's rank by draw within its stratum against the stratum's picks, window
functions over the same rows), its copies and its chat JSONL line. Python hashes each line and
writes what the statement returns (export_job).
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


# -- a pair's split and copies, decided in the same statement that writes its line ----------
MAX_OVERSAMPLE_COPIES = 10  # beyond this a model memorises a few examples rather than learning their class


def _counted(keyed: str) -> str:
    """Each readable candidate with its stratum's counts and, when allowed for both uses, its
    rank by seeded draw among the stratum's pairs allowed for both (window functions: no pass
    of its own)."""
    both = "k.train_ok = 1 AND k.validation_ok = 1"
    stratum = "PARTITION BY k.readable, k.stratum"
    return (
        f"SELECT k.*, CASE WHEN {both} THEN row_number() OVER ({stratum}, k.train_ok, k.validation_ok ORDER BY k.draw, k.id) END AS both_rank, "
        f"count(*) OVER ({stratum}) AS stratum_pairs, sum(CASE WHEN {both} THEN 1 ELSE 0 END) OVER ({stratum}) AS both_pairs, "
        f"sum(CASE WHEN k.train_ok = 0 THEN 1 ELSE 0 END) OVER ({stratum}) AS validation_only_pairs, "
        f"count(*) OVER () AS candidates FROM ({keyed}) AS k"
    )


def _picked(counted: str) -> str:
    """`picks`: how many of the stratum's pairs allowed for both go to validation, so its
    validation share comes closest to the fraction asked; `stratum_train`: its train pairs."""
    picks = "greatest(0, least(c.both_pairs, CAST(round(:validation_fraction * c.stratum_pairs) AS INT) - c.validation_only_pairs))"
    return (
        f"SELECT p.*, p.stratum_pairs - p.validation_only_pairs - p.picks AS stratum_train FROM ("
        f"SELECT c.*, {picks} AS picks FROM ({counted}) AS c) AS p"
    )


def _decided(keyed: str, config: SplitConfig) -> str:
    """Adds `split` (a pair allowed for both validates when its rank is within its stratum's
    picks) and `stratum_copies`: with oversampling, each label value's train pairs are copied
    so it comes near the largest value's count (at most MAX_OVERSAMPLE_COPIES)."""
    split = (
        "CASE WHEN q.train_ok = 1 AND q.validation_ok = 1 THEN (CASE WHEN q.both_rank <= q.picks THEN 'validation' ELSE 'train' END) "
        "WHEN q.train_ok = 1 THEN 'train' ELSE 'validation' END"
    )
    largest = "max(q.stratum_train) OVER (PARTITION BY q.readable)"
    copies = (
        f"CASE WHEN q.stratum_train > 0 THEN least({MAX_OVERSAMPLE_COPIES}, greatest(1, "
        f"CAST(floor(CAST({largest} AS DOUBLE) / q.stratum_train + 0.5) AS INT))) ELSE 1 END"
        if config.oversample and config.stratify is Stratify.FIELD else "1"
    )
    return f"SELECT q.*, {split} AS split, {copies} AS stratum_copies FROM ({_picked(_counted(keyed))}) AS q"


def plan_sql(pairs: str, config: SplitConfig) -> str:
    """Per stratum: pairs allowed for training only, validation only or both, how many of the
    'both' go to validation, and the train copies: the export's own decision, aggregated."""
    return (
        "SELECT s.stratum, sum(CASE WHEN s.train_ok = 1 AND s.validation_ok = 0 THEN 1 ELSE 0 END) AS train_only, "
        "sum(CASE WHEN s.train_ok = 0 THEN 1 ELSE 0 END) AS validation_only, "
        "sum(CASE WHEN s.train_ok = 1 AND s.validation_ok = 1 THEN 1 ELSE 0 END) AS both_uses, max(s.picks) AS picks, "
        f"max(s.stratum_copies) AS copies FROM ({_decided(candidates_sql(pairs, config), config)}) AS s "
        "WHERE s.readable = 1 GROUP BY s.stratum ORDER BY s.stratum"
    )


def plan_params(training_sheet_ids: list[str], config: SplitConfig, governance: ExportGovernance) -> dict[str, Any]:
    return {"training_sheet_ids": training_sheet_ids, "validation_fraction": config.validation_fraction, **keyed_params(config, governance)}


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


_ANSWER_AFTER_TEXT = "}, " + _ASSISTANT  # the user message's text ends, the assistant's answer starts


def _lined(decided: str) -> str:
    """Adds `line`: the pair's chat JSONL line when it is made here, NULL when Python makes it.

    Without images the line is the stored messages inside {"messages": …}. With images, their
    content parts go into the last user message when the text has the layout our writers
    produce: `…, {"role": "user", "content": "…"}, {"role": "assistant", "content": …}]`.
    `after` is what follows the last user marker (split_part from the end: a literal search,
    three times cheaper than a split by regular expression, measured); it is ours when the
    answer marker cuts it in exactly two (the user's text, a JSON string; the answer to the
    end, with no other message), which is when the two pieces and the marker add up to it.
    Each piece is computed once, only for pairs with images, and read many times, from columns.
    """
    images = f"filter(d.media_refs, p -> {_IMAGE})"
    one_line = "instr(d.messages, '\\n') = 0 AND instr(d.messages, '\\r') = 0"
    after = f"CASE WHEN size(d.images) > 0 AND instr(d.messages, {_text(_USER)}) > 0 THEN split_part(d.messages, {_text(_USER)}, -1) END"
    found = f"SELECT d.*, {after} AS after FROM (SELECT d.*, {images} AS images FROM ({decided}) AS d) AS d"
    named = (
        f"SELECT f.*, CASE WHEN {one_line.replace('d.', 'f.')} THEN 1 ELSE 0 END AS one_line, "
        f"split_part(f.after, {_text(_ANSWER_AFTER_TEXT)}, 1) AS user_text, split_part(f.after, {_text(_ANSWER_AFTER_TEXT)}, -1) AS answer "
        f"FROM ({found}) AS f"
    )
    ours = (
        f"length(u.user_text) + {len(_ANSWER_AFTER_TEXT)} + length(u.answer) = length(u.after) AND length(u.user_text) >= 2 "
        "AND left(u.user_text, 1) = '\"' AND right(u.user_text, 1) = '\"' AND instr(u.user_text, '\", \"') = 0 "
        "AND instr(u.user_text, '{\"role\": ') = 0 AND instr(u.answer, '{\"role\": ') = 0"
    )
    parts = "array_join(transform(u.images, p -> concat(', {\"type\": \"image_url\", \"image_url\": {\"url\": \"', p, '\"}}')), '')"
    before_user = f"length(u.messages) - length(u.after) - {len(_USER)}"
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


def export_sql(pairs: str, config: SplitConfig) -> str:
    """Every candidate of the chosen Training Sheets, decided and written in one pass over their
    messages: split, copies and line, in the files' order
    (Training Sheets by id, each by ordinal). The split's counts are window functions over the
    same rows, so no plan is read first. A pair whose line Python must make (`line` NULL) comes
    with its messages and media; `copied_stratum` and `stratum_copies` give the oversampling per
    value. The line travels as UTF-8 bytes: hashed and written as it comes, never decoded.
    """
    # The split's windows hold narrow rows (no text): the messages are read once more from the
    # table, by id, for the lines (a scan, no JSON parsed twice). Faster, and 60 MB less at
    # 100k pairs than windows over the text (measured).
    keys = (
        "SELECT n.id, n.training_sheet_id, n.ordinal, n.train_ok, n.validation_ok, n.readable, n.stratum, n.draw "
        f"FROM ({candidates_sql(pairs, config)}) AS n"
    )
    texts = f"SELECT d.*, p.messages, p.media_refs FROM ({_decided(keys, config)}) AS d JOIN {pairs} AS p ON p.id = d.id"
    return (
        "SELECT w.id, w.training_sheet_id, w.readable, w.split, CASE WHEN w.split = 'train' THEN w.stratum_copies ELSE 1 END AS copies, "
        "encode(w.line, 'UTF-8') AS line, CASE WHEN w.readable = 1 AND w.line IS NULL THEN w.messages END AS fallback_messages, "
        "CASE WHEN w.readable = 1 AND w.line IS NULL THEN array_join(w.media_refs, :list_separator) END AS fallback_media, "
        "CASE WHEN w.stratum_copies <> 1 THEN w.stratum END AS copied_stratum, w.stratum_copies, w.candidates "
        f"FROM ({_lined(texts)}) AS w ORDER BY w.training_sheet_id, w.ordinal, w.id"
    )


def export_params(training_sheet_ids: list[str], config: SplitConfig, governance: ExportGovernance) -> dict[str, Any]:
    return {**plan_params(training_sheet_ids, config, governance), "list_separator": LIST_SEPARATOR}
