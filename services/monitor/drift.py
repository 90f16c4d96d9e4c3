"""Drift of a model version's traffic from its training set, each measure with a threshold and a
sentence saying what moved:

- predicted values: PSI of each compared answer field (categories, or numbers in the training
  deciles) against the answers the model trained on;
- numeric input fields: PSI of each number column of the sheet that the template reads, for the
  requests rendered from a sheet item, against the training items' values;
- text inputs: the distance between the mean embedding of the live prompts and of the training
  prompts (the local sentence-embedding model; cosine distance of the two centroids).

Counts and bins come from SQL; only the PSI sums and the embeddings are computed here."""

from __future__ import annotations

import json
import re

import numpy as np

from data_access.catalog.browser import CatalogObjectNotFound
from data_access.embeddings.embedder import Embedder
from data_access.embeddings.factory import open_embedder
from data_access.sql.names import TableName, quote
from services.core.domain.qa_pair import messages_from_json
from services.core.errors import NotFoundError, WorkbenchError
from services.core.workbench import Workbench
from services.data.sheets import SheetService
from services.monitor.binning import bin_counts, bin_labels, decile_edges
from services.monitor.log_scope import ANSWERED, LOG_FILTER, LogScope
from services.monitor.predictions import FieldDistribution
from services.monitor.psi import PSI_MOVED, DriftFinding, biggest_moves, psi, verdict
from services.monitor.watched_model import WatchedModel
from services.templates.rendering import placeholders

# Prompts embedded per side: the most recent live prompts and a spread of training prompts. Two
# halves of 200 invoice prompts differ by about 0.02, so 100 a side keeps the noise well under the
# threshold; embedding 200 prompts took 8 s on this 2-core machine under load, so the page runs
# it on request.
TEXT_SAMPLE = 100
# Cosine distance between the two centroids (all-MiniLM-L6-v2, measured here): two halves of the
# same invoice prompts 0.02; the same invoices from another provider 0.21; detector telemetry
# in place of invoices 0.71.
TEXT_SHIFT_MOVED = 0.1
MIN_PER_SIDE = 5  # fewer live or training values than this says nothing about a distribution
_NUMERIC_TYPE = re.compile(r"^(tiny|small|big)?int|^integer|^long|^short|^byte|^float|^double|^real|^decimal|^numeric", re.IGNORECASE)


def prediction_drift(distributions: list[FieldDistribution]) -> list[DriftFinding]:
    """PSI of each predicted field (PredictionService.distributions, which the page draws too)."""
    return [_finding(f"Predicted {d.field}", list(d.bins), d.training, d.live) for d in distributions
            if d.live_total >= MIN_PER_SIDE and d.training_total >= MIN_PER_SIDE]


def _finding(measure: str, bins: list[str], training: tuple[int, ...] | list[int], live: tuple[int, ...] | list[int]) -> DriftFinding:
    value = psi(training, live)
    sentence = f"{measure} {verdict(value)} (PSI {value:.2f}, threshold {PSI_MOVED}): {biggest_moves(bins, training, live)}."
    return DriftFinding(measure, "PSI", value, PSI_MOVED, sentence, sum(live), sum(training))


class DriftService:
    def __init__(self, workbench: Workbench, embedder: Embedder | None = None) -> None:
        self._wb = workbench
        self._engine = workbench.backend.engine
        self._embedder = embedder
        self._log = workbench.table("inference_log")
        self._pairs = workbench.table("qa_pairs")
        self._lineage = workbench.table("model_training_lineage")

    def _training_items(self) -> str:
        return f"SELECT q.item_ref FROM {self._pairs} q WHERE q.id IN (SELECT explode(train_pair_ids) FROM {self._lineage} WHERE id = :lineage_id)"

    def numeric_inputs(self, scope: LogScope, model: WatchedModel) -> list[DriftFinding]:
        """One finding per number column the template reads, over requests rendered from the model's sheet."""
        if model.template is None or model.sheet_id is None:
            return []
        try:
            sheet = SheetService(self._wb).get(model.sheet_id)
            table = self._wb.backend.catalog.get_table(sheet.primary_table)
        except (NotFoundError, CatalogObjectNotFound) as error:  # deleted since training: nothing to compare with
            raise WorkbenchError(f"The model's sheet or its table cannot be read now: {error}") from error
        read = placeholders(model.template.user_prompt_template)
        columns = [c.name for c in table.columns if c.name in read and c.name != sheet.item_ref_column and _NUMERIC_TYPE.match(c.type_name)]
        source, key = TableName.parse(sheet.primary_table).quoted, f"CAST(s.{quote(sheet.item_ref_column)} AS STRING)"
        params = {**scope.params(), "lineage_id": model.lineage_id, "sheet_id": model.sheet_id}
        findings = []
        for column in columns:
            value = f"try_cast(s.{quote(column)} AS DOUBLE)"
            live_sql = (f"SELECT {value} AS v FROM {self._log} l JOIN {source} s ON {key} = l.item_ref "
                        f"WHERE {LOG_FILTER} AND l.sheet_id = :sheet_id")
            training_sql = f"SELECT {value} AS v FROM {source} s WHERE {key} IN ({self._training_items()})"
            edges = decile_edges(self._engine, training_sql, params)
            training, live = bin_counts(self._engine, training_sql, params, edges), bin_counts(self._engine, live_sql, params, edges)
            if sum(live) >= MIN_PER_SIDE and sum(training) >= MIN_PER_SIDE:
                findings.append(_finding(f"Input {column}", bin_labels(edges), training, live))
        return findings

    def text_inputs(self, scope: LogScope, model: WatchedModel) -> DriftFinding | None:
        """The prompts' shift; None when either side has fewer than MIN_PER_SIDE prompts."""
        rows = self._engine.query(
            f"SELECT l.request FROM {self._log} l WHERE {LOG_FILTER} AND {ANSWERED} ORDER BY l.created_at DESC LIMIT :limit",
            {**scope.params(), "limit": TEXT_SAMPLE},
        )
        live = [t for t in (request_prompt(r["request"]) for r in rows) if t]
        rows = self._engine.query(
            f"SELECT q.messages FROM {self._pairs} q WHERE q.id IN (SELECT explode(train_pair_ids) FROM {self._lineage} "
            "WHERE id = :lineage_id) ORDER BY md5(q.id) LIMIT :limit",
            {"lineage_id": model.lineage_id, "limit": TEXT_SAMPLE},
        )
        training = [t for t in (pair_prompt(r["messages"]) for r in rows) if t]
        if len(live) < MIN_PER_SIDE or len(training) < MIN_PER_SIDE:
            return None
        embedder = self._embedder or open_embedder(self._wb.settings)
        live_vectors, training_vectors = embedder.embed(live), embedder.embed(training)
        centre = training_vectors.mean(axis=0)
        distance = _cosine_distance(live_vectors.mean(axis=0), centre)
        farthest = live[int(np.argmin(live_vectors @ centre))]
        how = "" if embedder.is_semantic else " (by shared words: the embedding model is not available here)"
        sentence = (f"Prompt text {'moved' if distance >= TEXT_SHIFT_MOVED else 'is stable'} (mean embedding distance {distance:.3f}, "
                    f"threshold {TEXT_SHIFT_MOVED}){how}; the live prompt least like training: “{_clip(farthest)}”.")
        return DriftFinding("Prompt text", "mean embedding distance", distance, TEXT_SHIFT_MOVED, sentence, len(live), len(training))


def _cosine_distance(a: np.ndarray, b: np.ndarray) -> float:
    norms = float(np.linalg.norm(a) * np.linalg.norm(b))
    return 1.0 - float(a @ b) / norms if norms else 1.0


def request_prompt(request: str | None) -> str | None:
    """The last user message of a logged chat request."""
    try:
        messages = json.loads(request or "").get("messages") or []
    except (ValueError, AttributeError):
        return None
    users = [m.get("content") for m in messages if isinstance(m, dict) and m.get("role") == "user"]
    return users[-1] if users and isinstance(users[-1], str) else None


def pair_prompt(messages: str | None) -> str | None:
    users = [m.content for m in messages_from_json(messages) if m.role == "user"]
    return users[-1] if users else None


def _clip(text: str, limit: int = 160) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"
