"""IMPROVE figures (issue 11): gap analysis of a version trained on a 100,000-pair lineage with
100,000 feedback rows on its answers, ≤ 1 s; the similar-training-pairs lookup of one feedback
item, p95 ≤ 50 ms.

The store holds a crystal-defect model as TRAIN records it (tests/improve_builders.py), its
Training Sheet grown set-based to 100,000 labeled pairs (crack 50 %, inclusion 30 %, none 19.9 %,
delamination 0.1 %) that its lineage names, 100,000 answered requests and one feedback row on
each (a fifth corrections, some to a value the schema lacks; a third of the rest thumbs down).

The lookup reads the version's stored prompt vectors. Embedding 100,000 training prompts with the
local model would take about 8 minutes on this machine unloaded (64 prompts in 0.31 s), longer
loaded, so the stored vectors are random unit vectors of the model's dimension. Each lookup embeds
its request's prompt with the real model (distinct prompts, none cached) and searches the version's
vectors as services/improve/pair_vectors.py does above 20,000: the nearest tenth of about √n
groups (random vectors fall evenly into the groups; real prompts less evenly, so a probe there may
score more or fewer rows). The first lookup of a version, which reads the stored vectors into
memory and groups them, is reported apart. Beside each lookup, its floor: the work it stands on,
raw and nothing around it (embedding one prompt, reading the logged request, the k pairs and
their labels by key)."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa

from bench.measure import Measurement, at_most, median, over_floor, p95, timings_ms
from data_access.embeddings.factory import open_embedder
from data_access.settings import load_settings
from data_access.sql.duckdb_engine import release_home
from data_access.sql.key_lists import in_list, key_chunks
from services.core.workbench import Workbench, forget_prepared_stores, open_workbench
from services.improve.feedback_store import FeedbackStore
from services.improve.gaps import GapService
from services.improve.records import Feedback
from services.improve.training_embeddings import TrainingEmbeddings
from services.improve.training_trace import TrainingTraceService

PAIRS = 100_000
FEEDBACK = 100_000
GAPS_GOAL_S = 1.0
LOOKUP_GOAL_MS = 50
REPEAT = 5
# The lookup's own work (the vector search, the answers compared, the trace built) at most as
# much again as the embedding and the key reads it stands on.
LOOKUP_FLOOR_RATIO = 2.0
LOOKUPS = 60  # distinct feedback items traced: enough for a p95
MODEL = "crystal_defects"


def _build(wb: Workbench) -> str:
    """The model, its 100k-pair lineage, the log and the feedback; returns the lineage id."""
    from tests.improve_builders import trained_defects

    defects = trained_defects(wb, ["crack", "inclusion", "delamination", "none"])
    engine, pairs, labels = wb.backend.engine, wb.table("qa_pairs"), wb.table("canonical_labels")
    value = ("CASE WHEN i % 1000 = 0 THEN 'delamination' WHEN i % 10 < 5 THEN 'crack' WHEN i % 10 < 8 THEN 'inclusion' "
             "ELSE 'none' END")
    # The model answers delamination a little more often than it was taught (one in 97), and as often as
    # taught otherwise.
    predicted = value.replace("i % 1000", "i % 97")
    looks = "concat('Crystal CRY-', CAST(i AS STRING), ': ', CASE WHEN i % 2 = 0 THEN 'a thin line' ELSE 'a small bubble' END)"
    params = {"ts": defects.training_sheet_id, "sheet": defects.sheet_id, "rows": PAIRS}
    engine.execute(
        f"INSERT INTO {labels} (id, sheet_id, item_ref, label_type, label_data, allowed_uses, prohibited_uses, data_classification, "
        "labeled_by, labeled_at, version, created_at) "
        f"SELECT concat('bench-label-', CAST(i AS STRING)), :sheet, concat('B-', CAST(i AS STRING)), 'classification', "
        f"concat('{{\"defect_type\": \"', {value}, '\", \"note\": \"\"}}'), array('training', 'validation'), array(), 'internal', "
        "'bench@example.com', current_timestamp(), 1, current_timestamp() FROM range(:rows) AS t(i)",
        params,
    )
    engine.execute(
        f"INSERT INTO {pairs} (id, training_sheet_id, sheet_id, item_ref, ordinal, label_type, messages, canonical_label_id, status, "
        "labeling_mode, allowed_uses, prohibited_uses, data_classification, created_at, updated_at, row_version) "
        f"SELECT concat('bench-pair-', CAST(i AS STRING)), :ts, :sheet, concat('B-', CAST(i AS STRING)), 10 + i, 'classification', "
        f"concat('[{{\"role\": \"user\", \"content\": \"', {looks}, '\"}}]'), concat('bench-label-', CAST(i AS STRING)), 'labeled', "
        "'canonical', array('training', 'validation'), array(), 'internal', current_timestamp(), current_timestamp(), 1 "
        "FROM range(:rows) AS t(i)",
        params,
    )
    lineage = wb.table("model_training_lineage")
    engine.execute(
        f"UPDATE {lineage} SET train_pair_ids = (SELECT collect_list(id) FROM {pairs} WHERE training_sheet_id = :ts), "
        f"train_pair_count = (SELECT count(*) FROM {pairs} WHERE training_sheet_id = :ts) WHERE training_sheet_id = :ts",
        {"ts": defects.training_sheet_id},
    )
    engine.execute(
        f"INSERT INTO {wb.table('inference_log')} (id, deployment_id, endpoint_name, request_id, request, response, prediction, "
        "latency_ms, status_code, created_at, model_name, model_version, requester, trace_id, guardrails, guardrails_passed, source, replayed) "
        f"SELECT concat('log-', CAST(i AS STRING)), 'd', 'defects', concat('r', CAST(i AS STRING)), "
        f"concat('{{\"messages\": [{{\"role\": \"user\", \"content\": \"Crystal LIVE-', CAST(i AS STRING), ' shows ', "
        "CASE WHEN i % 2 = 0 THEN 'a fine crack near the edge' ELSE 'a cloudy spot inside' END, '\"}]}'), '{\"content\": \"x\"}', "
        f"concat('{{\"defect_type\": \"', {predicted}, '\"}}'), 20.0, 200, current_timestamp(), :model, '1', "
        "'bench@example.com', concat('t', CAST(i AS STRING)), '[]', true, 'api', false FROM range(:rows) AS t(i)",
        {"rows": FEEDBACK, "model": MODEL},
    )
    engine.execute(
        f"INSERT INTO {wb.table('feedback')} (id, inference_log_id, model_id, deployment_id, endpoint_name, model_name, model_version, "
        "request_id, trace_id, feedback_type, origin, feedback_value, correction, status, created_by, created_at, version) "
        "SELECT concat('fb-', l.id), l.id, concat(l.model_name, '/', l.model_version), l.deployment_id, l.endpoint_name, l.model_name, "
        "l.model_version, l.request_id, l.trace_id, CASE WHEN n % 5 = 0 THEN 'correction' ELSE 'rating' END, 'api', "
        "CASE WHEN n % 5 = 0 OR n % 3 = 0 THEN 'down' ELSE 'up' END, "
        "CASE WHEN n % 10 = 0 THEN '{\"defect_type\": \"micro-crack\"}' WHEN n % 5 = 0 THEN '{\"defect_type\": \"inclusion\"}' END, "
        "'open', 'bench@example.com', current_timestamp(), 1 "
        f"FROM (SELECT l.*, CAST(substr(l.id, 5) AS INT) AS n FROM {wb.table('inference_log')} l) l",
    )
    return str(engine.scalar(f"SELECT id FROM {lineage} WHERE training_sheet_id = :ts", {"ts": defects.training_sheet_id}))


def _store_vectors(wb: Workbench, lineage_id: str) -> None:
    """Random unit vectors of the model's dimension for every training pair, written in one insert."""
    embedder = open_embedder(wb.settings)
    ids = [r["id"] for r in wb.backend.engine.query(
        f"SELECT explode(train_pair_ids) AS id FROM {wb.table('model_training_lineage')} WHERE id = :id", {"id": lineage_id})]
    vectors = np.random.default_rng(11).standard_normal((len(ids), embedder.dimension), dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    embedding = pa.FixedSizeListArray.from_arrays(pa.array(vectors.reshape(-1)), embedder.dimension).cast(pa.list_(pa.float32()))
    frame = pa.table({"lineage_id": [lineage_id] * len(ids), "qa_pair_id": ids, "embedding_model": [embedder.name] * len(ids),
                      "embedding": embedding})
    connection = wb.backend.engine.connection  # the embedded engine's own connection: a bulk load, setup only
    connection.register("bench_vectors", frame)
    connection.execute(f"INSERT INTO {wb.table('training_pair_embeddings')} BY NAME SELECT *, current_timestamp AS created_at FROM bench_vectors")
    connection.unregister("bench_vectors")


def _feedback_items(wb: Workbench) -> list[Feedback]:
    store = FeedbackStore(wb)
    return [store.get(f"fb-log-{i}") for i in range(0, LOOKUPS * 7, 7)]


def _reads_by_key(wb: Workbench, log_id: str, pair_ids: list[str], label_ids: list[str]) -> None:
    """The reads a lookup cannot do without, raw: its logged request, the k pairs and their labels."""
    engine = wb.backend.engine
    engine.query_one(f"SELECT request, prediction FROM {wb.table('inference_log')} WHERE id = :id", {"id": log_id})
    for pairs in key_chunks(pair_ids):
        engine.query(f"SELECT id, sheet_id, item_ref, label_type, messages, canonical_label_id FROM {wb.table('qa_pairs')} "
                     f"WHERE id IN {in_list(pairs)}", pairs)
    for labels in key_chunks(label_ids):
        engine.query(f"SELECT id, label_data FROM {wb.table('canonical_labels')} WHERE id IN {in_list(labels)}", labels)


def run() -> list[Measurement]:
    root = Path(tempfile.mkdtemp(prefix="vital-bench-improve-"))
    home = root / "home"
    try:
        forget_prepared_stores()
        wb = open_workbench(load_settings({"WORKBENCH_HOME": str(home), "WORKBENCH_DEMO_DATA": "0", "WORKBENCH_USER": "bench@example.com"}))
        lineage_id = _build(wb)
        _store_vectors(wb, lineage_id)
        gaps = GapService(wb)
        seconds = median(timings_ms(lambda: gaps.report(MODEL, "1"), REPEAT, warmup=1)) / 1000
        started = time.process_time()
        report = gaps.report(MODEL, "1")
        cpu = time.process_time() - started
        load = os.getloadavg()[0]
        results = [at_most(
            "IMPROVE gap analysis: 100,000 feedback rows, 100,000-pair lineage", seconds, GAPS_GOAL_S, "s",
            f"median of {REPEAT}; {report.feedback:,} judged feedback, {sum(v.training_pairs for v in report.values):,} training labels "
            f"counted; {cpu:.2f} s of CPU per run on {os.cpu_count()} cores; load average {load:.1f}",
        )]
        service = TrainingTraceService(wb)
        items = _feedback_items(wb)
        started = time.perf_counter()
        first = service.trace(items[0])
        first_ms = (time.perf_counter() - started) * 1000
        assert first.training_pairs == PAIRS + 4, "the lookup did not search the whole lineage"
        # The floor, timed just before each lookup so both see the same moment of the machine's
        # load: a prompt of the same kind embedded, and the reads by key of the lookup before it.
        embedder = open_embedder(wb.settings)
        label_of = {r["id"]: r["canonical_label_id"] for r in wb.backend.engine.query(f"SELECT id, canonical_label_id FROM {wb.table('qa_pairs')}")}
        floors, samples, shown = [], [], first.pairs
        for n, item in enumerate(items[1:]):
            started = time.perf_counter()
            embedder.embed_one(f"Crystal FLOOR-{n} shows a fine crack near the edge")
            _reads_by_key(wb, item.inference_log_id, [p.pair_id for p in shown], [label_of[p.pair_id] for p in shown if label_of[p.pair_id]])
            middle = time.perf_counter()
            shown = service.trace(item).pairs
            floors.append((middle - started) * 1000)
            samples.append((time.perf_counter() - middle) * 1000)
        load = os.getloadavg()[0]
        centroids = TrainingEmbeddings(wb, embedder).vectors(lineage_id).centroids
        groups = 0 if centroids is None else len(centroids)
        lookup = at_most(
            "IMPROVE similar-training-pairs lookup over 100,000 pairs: p95", p95(samples), LOOKUP_GOAL_MS, "ms",
            f"{len(samples)} feedback items, each prompt embedded by {embedder.name} (not cached), the nearest tenth of the "
            f"version's {groups} vector groups searched; median {median(samples):.1f} ms; the version's "
            f"first lookup (reads the {first.training_pairs:,} stored vectors and groups them) {first_ms:,.0f} ms; load average {load:.1f}",
        )
        results.append(over_floor(lookup, "its prompt embedded and its reads by key, alone (p95)", p95(floors), LOOKUP_FLOOR_RATIO))
        return results
    finally:
        forget_prepared_stores()
        release_home(home)
        shutil.rmtree(root, ignore_errors=True)
