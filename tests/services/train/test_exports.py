"""The export against a real store: gates, split, files, versions."""

from __future__ import annotations

import hashlib
import json
import random
import tracemalloc
from collections import Counter
from pathlib import Path

import pytest

from services.core.domain.governance import ALL_USES
from services.core.errors import ValidationError
from services.core.governance import constraints_from_tags
from services.core.jobs import JobRunner
from services.core.workbench import Workbench
from services.train import export_job
from services.train.chat_jsonl import chat_line
from services.train.export_records import ExportVersion, Split, SplitConfig, Stratify
from services.train.export_sql import export_params, export_sql
from services.train.exports import ExportService
from tests.train_builders import IMAGES, PairSpec, build_training_sheet

JOB_WAIT_S = 120
PHI = PairSpec(allowed=("evaluation", "few_shot"), prohibited=("training", "validation"), reason="Contains PHI - HIPAA compliance", classification="restricted")
HELD_OUT = PairSpec(allowed=("evaluation",), prohibited=("training", "validation", "few_shot"), reason="Held-out test set - no leakage")
BY_DEFECT = SplitConfig(0.2, 7, Stratify.FIELD, "defect_type")


def _defect(value: str, **kwargs: object) -> PairSpec:
    return PairSpec(answer=json.dumps({"defect_type": value, "note": "seen"}), **kwargs)  # type: ignore[arg-type]


def _export(wb: Workbench, ids: list[str], config: SplitConfig) -> ExportVersion:
    service = ExportService(wb)
    job = JobRunner(wb).wait(service.start(ids, config), JOB_WAIT_S)
    assert job.status == "succeeded", job.error
    return service.get(job.result["export_id"])


def _lines(wb: Workbench, path: str) -> list[str]:
    return wb.backend.files.read_bytes(path).decode().splitlines()


def _manifest(wb: Workbench, version: ExportVersion) -> dict:
    return json.loads(wb.backend.files.read_bytes(version.manifest_path))


def test_the_summary_counts_what_the_gates_let_out_and_groups_the_reasons(workbench):
    specs = [_defect("crack")] * 10 + [PHI] * 4 + [HELD_OUT] * 2 + [PairSpec(status=s) for s in ("unlabeled", "unlabeled", "rejected", "flagged")]
    sheet = build_training_sheet(workbench, specs)

    counts = ExportService(workbench).summary([sheet.id]).total

    assert (counts.total, counts.labeled, counts.training_allowed, counts.training_prohibited) == (20, 16, 10, 6)
    assert (counts.unlabeled, counts.rejected, counts.flagged, counts.validation_allowed) == (2, 1, 1, 10)
    assert counts.reasons_line == "4 Contains PHI · 2 Held-out test set"
    assert [(r.classification, r.pairs) for r in counts.reasons] == [("restricted", 4), ("internal", 2)]


def test_the_same_seed_gives_the_same_split_and_another_seed_another(workbench):
    sheet = build_training_sheet(workbench, [_defect(("crack", "none", "inclusion")[i % 3]) for i in range(90)])
    service = ExportService(workbench)

    first, again = _export(workbench, [sheet.id], BY_DEFECT), _export(workbench, [sheet.id], BY_DEFECT)
    other = _export(workbench, [sheet.id], SplitConfig(0.2, 8, Stratify.FIELD, "defect_type"))

    assert service.pair_ids(first.id, Split.VALIDATION) == service.pair_ids(again.id, Split.VALIDATION)
    assert _lines(workbench, first.train_path) == _lines(workbench, again.train_path)
    assert set(service.pair_ids(first.id, Split.VALIDATION)) != set(service.pair_ids(other.id, Split.VALIDATION))


def test_each_label_value_keeps_the_validation_share(workbench):
    values = ["crack"] * 50 + ["none"] * 30 + ["inclusion"] * 20
    sheet = build_training_sheet(workbench, [_defect(v) for v in values])

    version = _export(workbench, [sheet.id], SplitConfig(0.2, 3, Stratify.FIELD, "defect_type"))

    validation = Counter(json.loads(json.loads(line)["messages"][-1]["content"])["defect_type"] for line in _lines(workbench, version.validation_path))
    assert validation == {"crack": 10, "none": 6, "inclusion": 4}
    assert (version.train_count, version.validation_count) == (80, 20)


def test_a_pair_allowed_for_one_use_only_goes_to_that_split(workbench):
    train_only = _defect("crack", allowed=("training",), reason="Validation withheld")
    validation_only = _defect("crack", allowed=("validation", "evaluation"), prohibited=("training",), reason="Validation only")
    sheet = build_training_sheet(workbench, [train_only] * 6 + [validation_only] * 6 + [_defect("crack")] * 8)
    service = ExportService(workbench)

    version = _export(workbench, [sheet.id], SplitConfig(0.5, 1, Stratify.FIELD, "defect_type"))

    refs = {p["qa_pair_id"]: p["split"] for p in _manifest(workbench, version)["pairs"]}
    ordinal = {pid: i for i, pid in enumerate(sorted(refs, key=lambda pid: _ordinal(workbench, pid)))}
    assert all(refs[pid] == "train" for pid, i in ordinal.items() if i < 6)
    assert all(refs[pid] == "validation" for pid, i in ordinal.items() if 6 <= i < 12)
    assert version.validation_count == 10  # half of the 20, made up from the pairs allowed for both
    assert len(service.pair_ids(version.id, Split.TRAIN)) == version.train_count == 10


def _ordinal(wb: Workbench, pair_id: str) -> int:
    return int(wb.backend.engine.scalar(f"SELECT ordinal FROM {wb.table('qa_pairs')} WHERE id = :id", {"id": pair_id}))


def test_oversampling_copies_minority_train_pairs_and_never_validation_pairs(workbench):
    sheet = build_training_sheet(workbench, [_defect("crack")] * 40 + [_defect("none")] * 10)

    version = _export(workbench, [sheet.id], SplitConfig(0.2, 5, Stratify.FIELD, "defect_type", oversample=True))

    train = Counter(json.loads(json.loads(line)["messages"][-1]["content"])["defect_type"] for line in _lines(workbench, version.train_path))
    assert train == {"crack": 32, "none": 32}  # 8 'none' train pairs, 4 copies each
    assert version.oversample_copies == {"none": 4} and version.train_lines == 64 and version.train_count == 40
    copies = {p["copies"] for p in _manifest(workbench, version)["pairs"] if p["split"] == "validation"}
    assert copies == {1}
    manifest = _manifest(workbench, version)
    assert manifest["split_config"]["oversample_copies"] == [{"value": "none", "copies": 4}]


def test_combined_training_sheets_make_one_export_that_keeps_each_sheets_id(workbench):
    first = build_training_sheet(workbench, [_defect("crack")] * 5 + [PHI] * 2, name="Batch A")
    second = build_training_sheet(workbench, [_defect("none")] * 7, name="Batch B")

    version = _export(workbench, [second.id, first.id], SplitConfig(0.0, 1, Stratify.NONE))

    assert set(version.training_sheet_ids) == {first.id, second.id} and version.version == 1
    by_sheet = Counter(p["training_sheet_id"] for p in _manifest(workbench, version)["pairs"])
    assert by_sheet == {first.id: 5, second.id: 7}
    rows = workbench.backend.engine.query(
        f"SELECT training_sheet_id, count(*) AS n FROM {workbench.table('training_export_pairs')} WHERE export_id = :id GROUP BY training_sheet_id",
        {"id": version.id},
    )
    assert {r["training_sheet_id"]: r["n"] for r in rows} == {first.id: 5, second.id: 7}
    assert version.gate_counts.training_prohibited == 2 and _manifest(workbench, version)["gate_counts"]["by_training_sheet"][first.id]["training_prohibited"] == 2


def test_a_second_export_is_version_2_and_leaves_version_1_untouched(workbench):
    sheet = build_training_sheet(workbench, [_defect("crack")] * 12)
    first = _export(workbench, [sheet.id], BY_DEFECT)
    directory = Path(workbench.backend.files.local_path(first.directory))
    before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in directory.iterdir()}
    rows_before = _pair_rows(workbench, first.id)

    second = _export(workbench, [sheet.id], SplitConfig(0.5, 9, Stratify.NONE))

    assert (first.version, second.version) == (1, 2) and second.directory != first.directory
    assert (second.train_count, second.validation_count) == (6, 6)  # not stratified: one stratum, half of it drawn
    assert {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in directory.iterdir()} == before
    assert _pair_rows(workbench, first.id) == rows_before
    assert ExportService(workbench).get(first.id) == first
    assert hashlib.sha256(before["manifest.json"][0]).hexdigest() == first.manifest_sha256


def _pair_rows(wb: Workbench, export_id: str) -> list[dict]:
    return wb.backend.engine.query(
        f"SELECT * FROM {wb.table('training_export_pairs')} WHERE export_id = :id ORDER BY position", {"id": export_id}
    )


def test_each_exported_pairs_hash_is_the_sha256_of_its_line(workbench):
    sheet = build_training_sheet(workbench, [_defect("crack", media=(f"{IMAGES}/c{i}.png",)) for i in range(6)])
    version = _export(workbench, [sheet.id], SplitConfig(0.0, 1, Stratify.NONE))

    lines = _lines(workbench, version.train_path)
    rows = _pair_rows(workbench, version.id)
    assert [r["content_sha256"] for r in rows] == [hashlib.sha256(line.encode()).hexdigest() for line in lines]
    assert [p["content_sha256"] for p in _manifest(workbench, version)["pairs"]] == [r["content_sha256"] for r in rows]
    assert _manifest(workbench, version)["files"]["train.jsonl"]["sha256"] == version.train_sha256


def test_pairs_whose_messages_cannot_be_read_are_skipped_and_counted(workbench):
    broken = [PairSpec(messages="{not json"), PairSpec(messages='[{"role": "user", "content": "no answer"}]')]
    sheet = build_training_sheet(workbench, [_defect("crack")] * 4 + broken)

    version = _export(workbench, [sheet.id], SplitConfig(0.0, 1, Stratify.FIELD, "defect_type"))

    assert (version.train_count, version.skipped_count) == (4, 2)
    assert all(json.loads(line)["messages"][-1]["role"] == "assistant" for line in _lines(workbench, version.train_path))


def test_an_export_refuses_what_it_cannot_do_and_writes_nothing(workbench):
    sheet = build_training_sheet(workbench, [PHI] * 3 + [PairSpec(status="unlabeled")])
    generating = build_training_sheet(workbench, [_defect("crack")], name="Busy", status="generating")
    service = ExportService(workbench)

    with pytest.raises(ValidationError, match="training gate"):
        service.start([sheet.id], SplitConfig())
    with pytest.raises(ValidationError, match="still generating"):
        service.start([generating.id], SplitConfig())
    with pytest.raises(ValidationError, match="validation share"):
        service.start([sheet.id], SplitConfig(validation_fraction=0.9))
    with pytest.raises(ValidationError, match="not a categorical output field"):
        service.plan([sheet.id], SplitConfig(stratify=Stratify.FIELD, stratify_field="x') OR 1=1 --"))
    assert service.versions() == [] and JobRunner(workbench).recent() == []


def test_a_cancelled_export_leaves_no_version_no_rows_and_no_files(workbench, monkeypatch):
    monkeypatch.setattr(export_job, "EXPORT_BATCH_ROWS", 5)
    sheet = build_training_sheet(workbench, [_defect("crack")] * 40)
    service, runner = ExportService(workbench), JobRunner(workbench)
    job_id = service.start([sheet.id], SplitConfig(0.0, 1, Stratify.NONE))
    runner.cancel(job_id)

    job = runner.wait(job_id, JOB_WAIT_S)

    assert job.status == "cancelled" and service.versions() == []
    assert workbench.backend.engine.scalar(f"SELECT count(*) AS n FROM {workbench.table('training_export_pairs')}") == 0
    exports = Path(workbench.backend.files.local_path(workbench.settings.export_volume_path))
    assert not exports.exists() or not [p for p in exports.rglob("*") if p.is_file()]


def test_a_cancelled_export_resumed_completes_under_the_same_id_without_duplicates(workbench, monkeypatch):
    monkeypatch.setattr(export_job, "EXPORT_BATCH_ROWS", 5)
    sheet = build_training_sheet(workbench, [_defect(("crack", "none")[i % 2]) for i in range(30)])
    service, runner = ExportService(workbench), JobRunner(workbench)
    job_id = service.start([sheet.id], BY_DEFECT)
    runner.cancel(job_id)
    assert runner.wait(job_id, JOB_WAIT_S).status == "cancelled"

    runner.resume(job_id)
    job = runner.wait(job_id, JOB_WAIT_S)

    assert job.status == "succeeded", job.error
    version = service.get(job.result["export_id"])
    assert [v.id for v in service.versions()] == [version.id] and version.version == 1
    assert len(_pair_rows(workbench, version.id)) == version.train_count + version.validation_count == 30
    assert len(_lines(workbench, version.train_path)) == version.train_count


# -- the property: no line from a pair failing its gate, and the counts add up -------------
_TAGS = ({}, {"PHI": "true"}, {"PII": "yes"}, {"CONFIDENTIAL": "true"}, {"PHI": "true", "CONFIDENTIAL": "1"})
_STATUSES = ("labeled", "labeled", "labeled", "unlabeled", "rejected", "flagged")


def _random_spec(rng: random.Random, i: int) -> PairSpec:
    answer = json.dumps({"defect_type": rng.choice(("crack", "none", "inclusion"))})
    media = (f"{IMAGES}/c{i}.png",) if rng.random() < 0.3 else ()
    if rng.random() < 0.4:  # constraints inherited from the source's Unity Catalog tags
        c = constraints_from_tags(rng.choice(_TAGS))
        return PairSpec(rng.choice(_STATUSES), c.allowed_uses, c.prohibited_uses, c.usage_reason, c.data_classification, answer, media)
    allowed = tuple(u for u in ALL_USES if rng.random() < 0.7)
    prohibited = tuple(u for u in ALL_USES if rng.random() < 0.2)  # may overlap allowed: prohibited wins
    return PairSpec(rng.choice(_STATUSES), allowed, prohibited, "random", "internal", answer, media)


def _passes(spec: PairSpec, use: str) -> bool:
    """The dual gate as the PRD states it, independently of the code under test."""
    return spec.status == "labeled" and use in spec.allowed and use not in spec.prohibited


@pytest.mark.parametrize("seed", range(6))
def test_no_exported_line_comes_from_a_pair_failing_its_gate_and_the_counts_add_up(workbench, seed):
    rng = random.Random(seed)
    specs = [_random_spec(rng, i) for i in range(rng.randint(20, 80))]
    sheet = build_training_sheet(workbench, specs, name=f"Random {seed}")
    by_id = {p["id"]: specs[p["ordinal"]] for p in workbench.backend.engine.query(
        f"SELECT id, ordinal FROM {workbench.table('qa_pairs')} WHERE training_sheet_id = :id", {"id": sheet.id})}
    config = SplitConfig(rng.choice((0.0, 0.2, 0.5)), seed, rng.choice(tuple(Stratify)), oversample=False)
    if config.stratify is Stratify.FIELD:
        config = SplitConfig(config.validation_fraction, seed, Stratify.FIELD, "defect_type", oversample=rng.random() < 0.5)
    if not any(_passes(s, "training") for s in specs):
        specs.append(_defect("crack"))
        sheet = build_training_sheet(workbench, specs, name=f"Random {seed} b")
        by_id = {p["id"]: specs[p["ordinal"]] for p in workbench.backend.engine.query(
            f"SELECT id, ordinal FROM {workbench.table('qa_pairs')} WHERE training_sheet_id = :id", {"id": sheet.id})}

    version = _export(workbench, [sheet.id], config)

    manifest = _manifest(workbench, version)
    splits = {p["qa_pair_id"]: p for p in manifest["pairs"]}
    use = {"train": "training", "validation": "validation"}
    assert all(_passes(by_id[pid], use[p["split"]]) for pid, p in splits.items())
    hashes = {name: Counter(hashlib.sha256(line.encode()).hexdigest() for line in _lines(workbench, f"{version.directory}/{name}.jsonl"))
              for name in ("train", "validation")}
    for p in splits.values():  # every line is a listed pair's, in its split, as many times as its copies
        assert hashes[p["split"]][p["content_sha256"]] >= p["copies"]
    assert sum(hashes["train"].values()) == version.train_lines == sum(p["copies"] for p in splits.values() if p["split"] == "train")
    assert sum(hashes["validation"].values()) == version.validation_count
    either = [pid for pid, s in by_id.items() if _passes(s, "training") or _passes(s, "validation")]
    assert version.train_count + version.validation_count == len(either) == len(splits)
    assert version.gate_counts.training_allowed == sum(_passes(s, "training") for s in by_id.values())
    assert version.gate_counts.training_allowed + version.gate_counts.training_prohibited == sum(s.status == "labeled" for s in by_id.values())


# -- streaming --------------------------------------------------------------------------
def _padded_sheet(wb: Workbench, pairs: int, name: str) -> str:
    sheet = build_training_sheet(wb, [_defect(("crack", "none")[i % 2]) for i in range(pairs)], name=name)
    wb.backend.engine.execute(  # ~1.7 KB a pair
        f"UPDATE {wb.table('qa_pairs')} SET messages = replace(messages, 'Look closely.', :padding) WHERE training_sheet_id = :id",
        {"padding": "x" * 1500, "id": sheet.id},
    )
    return sheet.id


def _traced_export(wb: Workbench, sheet_id: str) -> tuple[ExportVersion, int]:
    tracemalloc.start()
    try:
        version = _export(wb, [sheet_id], BY_DEFECT)
        return version, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_exporting_20000_pairs_takes_no_more_memory_than_2000(workbench, monkeypatch):
    monkeypatch.setattr(export_job, "EXPORT_BATCH_ROWS", 1000)
    small, large = _padded_sheet(workbench, 2000, "Small"), _padded_sheet(workbench, 20_000, "Large")
    _traced_export(workbench, small)  # warms what is loaded once (statement transpiles, imports)

    _, small_peak = _traced_export(workbench, small)
    version, large_peak = _traced_export(workbench, large)

    written = workbench.backend.files.size(version.train_path) + workbench.backend.files.size(version.validation_path)
    assert version.train_count + version.validation_count == 20_000 and written > 30_000_000
    assert large_peak < 1.5 * small_peak, f"{large_peak:,} B for 20,000 pairs, {small_peak:,} B for 2,000"
    assert large_peak < written / 2  # a batch being written and one being inserted, not the export


def test_an_export_version_becomes_the_training_input_of_exactly_its_pairs(workbench):
    sheet = build_training_sheet(workbench, [_defect(("crack", "none")[i % 2]) for i in range(10)] + [HELD_OUT])
    version = _export(workbench, [sheet.id], BY_DEFECT)
    service = ExportService(workbench)

    training_input = service.training_input(version).checked()

    assert training_input.train_pair_ids == tuple(service.pair_ids(version.id, Split.TRAIN))
    assert training_input.validation_pair_ids == tuple(service.pair_ids(version.id, Split.VALIDATION))
    assert len(training_input.train_pair_ids) + len(training_input.validation_pair_ids) == 10
    assert (training_input.train_jsonl, training_input.validation_jsonl) == (version.train_path, version.validation_path)
    assert training_input.evaluation.training_sheet_ids == (sheet.id,)
    assert (training_input.export_id, training_input.export_version, training_input.train_digest) == (version.id, 1, version.train_sha256)


# -- the lines are made in the engine, byte for byte as chat_jsonl makes them ---------------
def _chat(*messages: tuple[str, str], **dumps: object) -> str:
    return json.dumps([{"role": role, "content": content} for role, content in messages], ensure_ascii=False, **dumps)  # type: ignore[arg-type]


_FEW_SHOT = _chat(("system", "Inspect."), ("user", "Example: CRY-1"), ("assistant", '{"defect_type": "none"}'),
                  ("user", 'Crystal "7" — ünïcode \\n {"role": "user"}'), ("assistant", '{"defect_type": "crack"}'))
_LAYOUTS = {  # stored messages, media, whether the engine makes the line (else chat_jsonl does)
    "plain": (None, (), True),
    "plain with images": (None, (f"{IMAGES}/a.png", f"{IMAGES}/b.JPEG", "/Volumes/c/s/v/doc.pdf"), True),
    "few-shot with an image": (_FEW_SHOT, (f"{IMAGES}/a.png",), True),
    "compact JSON with an image": (_chat(("user", "q"), ("assistant", "a"), separators=(",", ":")), (f"{IMAGES}/a.png",), False),
    "indented JSON": (_chat(("user", "q"), ("assistant", "a"), indent=2), (), False),
    "a path JSON must escape": (None, (f'{IMAGES}/say "cheese".png',), False),
    "content parts with an image": ('[{"role": "user", "content": [{"type": "text", "text": "hi"}]}, {"role": "assistant", "content": "ok"}]',
                                    (f"{IMAGES}/a.png",), False),
}


def test_the_engine_writes_each_line_as_chat_jsonl_would_and_leaves_only_unknown_layouts_to_python(workbench):
    specs = [PairSpec(messages=messages, media=media, answer='{"defect_type": "crack"}') for messages, media, _ in _LAYOUTS.values()]
    sheet = build_training_sheet(workbench, specs)
    service = ExportService(workbench)
    config = SplitConfig(0.0, 1, Stratify.NONE)

    version = _export(workbench, [sheet.id], config)

    stored = {r["id"]: (r["messages"], tuple(r["media_refs"])) for r in workbench.backend.engine.query(
        f"SELECT id, messages, media_refs FROM {workbench.table('qa_pairs')} WHERE training_sheet_id = :id", {"id": sheet.id})}
    assert _lines(workbench, version.train_path) == [chat_line(*stored[pid]) for pid in service.pair_ids(version.id, Split.TRAIN)]
    governance = service.governance([sheet.id])
    rows = workbench.backend.engine.query(export_sql(workbench.table("qa_pairs"), config), export_params([sheet.id], config, governance))
    assert {name: row["line"] is not None for name, row in zip(_LAYOUTS, rows, strict=True)} == {name: made for name, (_, _, made) in _LAYOUTS.items()}
