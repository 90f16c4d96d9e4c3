"""Writing an export: a job that streams gated pairs, page by page, into chat JSONL on a volume.

Constant memory whatever the size: pairs are read a page (a range of ordinals of one Training
Sheet) at a time, with the next page read while this one is written; each page's lines go to
the files, and its exported-pair rows are inserted while the next page is written. The version
row is inserted last, so an export exists only once complete; a cancelled or failed run
removes what it wrote, and a resumed run starts again under the same export id (its files and
rows are never half there).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from json.encoder import encode_basestring
from typing import Any, BinaryIO

import pandas as pd

from data_access.sql.engine import SqlEngine
from data_access.volumes import VolumeFiles
from services.core.jobs import JobContext, register_job_type
from services.core.workbench import Workbench
from services.train.chat_jsonl import UnreadablePair, chat_line
from services.train.export_records import MANIFEST_FILE, TRAIN_FILE, VALIDATION_FILE, ExportSummary, Split, SplitConfig
from services.train.export_sql import keyed_params, page_sql, pages_sql
from services.train.exports_store import TrainingExportsStore
from services.train.gates import gate_params
from services.train.split_plan import ExportCandidate, SplitPlan

JOB_TYPE = "export_training_sheets"
EXPORT_PAGE_ROWS = 10_000  # ~20 MB of messages at 2 KB a pair: one page in memory at a time


def export_directory(volume_path: str, export_id: str) -> str:
    return f"{volume_path}/exports/{export_id}"


def candidate_pages(engine: SqlEngine, pairs_table: str, training_sheet_ids: list[str], config: SplitConfig,
                    page_rows: int | None = None) -> Iterator[list[ExportCandidate]]:
    """Every pair passing a gate, a page at a time: Training Sheets in id order, each by ordinal.

    A page is a range of `page_rows` ordinals (generation numbers a Training Sheet's items 0, 1,
    2, …, so a page holds at most that many pairs); only ranges holding a candidate are read,
    listed by one aggregate (a row per page, not per pair). The next page is read in the
    background while the caller works on this one: the engine runs it without Python's lock.
    """
    sql, params, width = page_sql(pairs_table, config), keyed_params(config), page_rows or EXPORT_PAGE_ROWS
    pages = [
        (r["training_sheet_id"], int(r["page"]) * width)
        for r in engine.query(pages_sql(pairs_table), {"training_sheet_ids": training_sheet_ids, "page_rows": width, **gate_params()})
    ]

    def read(page: tuple[str, int]) -> list[dict[str, Any]]:
        sheet, start = page
        return engine.query(sql, {**params, "training_sheet_id": sheet, "from_ordinal": start, "to_ordinal": start + width})

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="export-read") as reader:
        pending = reader.submit(read, pages[0]) if pages else None
        for following in [*pages[1:], None]:
            rows = pending.result() if pending is not None else []
            pending = reader.submit(read, following) if following is not None else None
            if rows:
                yield [ExportCandidate.from_row(r) for r in rows]


@dataclass
class _SplitFile:
    handle: BinaryIO
    digest: Any = field(default_factory=hashlib.sha256)
    lines: int = 0
    pairs: int = 0

    def write(self, lines: list[bytes]) -> None:
        if lines:
            data = b"\n".join(lines) + b"\n"
            self.handle.write(data)
            self.digest.update(data)
            self.lines += len(lines)


@dataclass
class _Manifest:
    handle: BinaryIO
    digest: Any = field(default_factory=hashlib.sha256)
    _first: bool = True

    def write(self, text: str) -> None:
        data = text.encode()
        self.handle.write(data)
        self.digest.update(data)

    def pairs(self, entries: list[str]) -> None:
        if entries:
            self.write(("\n  " if self._first else ",\n  ") + ",\n  ".join(entries))
            self._first = False


class _Cancelled(Exception):
    """Leaves the file blocks with an error, so no file of a cancelled export appears."""


@dataclass(frozen=True)
class ExportRun:
    export_id: str
    training_sheet_ids: list[str]
    config: SplitConfig
    plan: SplitPlan
    summary: ExportSummary
    directory: str


class ExportWriter:
    """Writes one export's files and exported-pair rows; returns what it wrote."""

    def __init__(self, engine: SqlEngine, files: VolumeFiles, pairs_table: str, store: TrainingExportsStore) -> None:
        self._engine, self._files, self._pairs_table, self._store = engine, files, pairs_table, store

    def write(self, run: ExportRun, context: JobContext) -> dict[str, Any] | None:
        """The counts and digests of a complete export; None when cancelled (nothing left behind)."""
        try:
            with ExitStack() as files:
                train = _SplitFile(files.enter_context(self._files.open_new_file(f"{run.directory}/{TRAIN_FILE}")))
                validation = _SplitFile(files.enter_context(self._files.open_new_file(f"{run.directory}/{VALIDATION_FILE}")))
                manifest = _Manifest(files.enter_context(self._files.open_new_file(f"{run.directory}/{MANIFEST_FILE}")))
                manifest.write(_manifest_head(run))
                skipped = self._stream(run, context, {Split.TRAIN: train, Split.VALIDATION: validation}, manifest)
                counts = {"train_pairs": train.pairs, "validation_pairs": validation.pairs, "train_lines": train.lines, "skipped": skipped}
                digests = {TRAIN_FILE: train.digest.hexdigest(), VALIDATION_FILE: validation.digest.hexdigest()}
                manifest.write(_manifest_tail(counts, {TRAIN_FILE: (digests[TRAIN_FILE], train.lines), VALIDATION_FILE: (digests[VALIDATION_FILE], validation.lines)}))
        except _Cancelled:
            self.discard(run)
            return None
        except BaseException:
            self.discard(run)
            raise
        return {**counts, "train_sha256": digests[TRAIN_FILE], "validation_sha256": digests[VALIDATION_FILE], "manifest_sha256": manifest.digest.hexdigest()}

    def discard(self, run: ExportRun) -> None:
        """What an unfinished run of this export left: its pair rows and any file."""
        self._store.delete_pairs(run.export_id)
        for name in (TRAIN_FILE, VALIDATION_FILE, MANIFEST_FILE):
            self._files.delete_file(f"{run.directory}/{name}")

    def _stream(self, run: ExportRun, context: JobContext, outputs: dict[Split, _SplitFile], manifest: _Manifest) -> int:
        total, processed, skipped = run.plan.pairs, 0, 0
        context.report(0, total)
        # A page's rows are inserted while the next page is written: the insert runs in the
        # engine without Python's lock. One insert in flight at a time, in order.
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="export-rows") as inserter:
            pending: Future[int] | None = None
            for page in candidate_pages(self._engine, self._pairs_table, run.training_sheet_ids, run.config):
                written = _written(page, run, first_position=outputs[Split.TRAIN].pairs + outputs[Split.VALIDATION].pairs)
                for split, output in outputs.items():
                    output.write(written.lines[split])
                    output.pairs += written.pairs[split]
                manifest.pairs(written.entries)
                if pending is not None:
                    pending.result()
                pending = inserter.submit(self._store.insert_pairs, written.frame(run.export_id)) if written.ids else None
                skipped += written.skipped
                processed += len(page)
                context.report(min(processed, total), total)
                if context.cancelled():
                    if pending is not None:
                        pending.result()
                    raise _Cancelled
            if pending is not None:
                pending.result()
        return skipped


@dataclass
class _WrittenPage:
    """One page as lines per split, exported-pair rows (column-wise) and manifest entries."""

    lines: dict[Split, list[bytes]] = field(default_factory=lambda: {Split.TRAIN: [], Split.VALIDATION: []})
    pairs: dict[Split, int] = field(default_factory=lambda: {Split.TRAIN: 0, Split.VALIDATION: 0})
    ids: list[str] = field(default_factory=list)
    sheets: list[str] = field(default_factory=list)
    splits: list[str] = field(default_factory=list)
    digests: list[str] = field(default_factory=list)
    copies: list[int] = field(default_factory=list)
    entries: list[str] = field(default_factory=list)
    skipped: int = 0
    first_position: int = 0

    def frame(self, export_id: str) -> pd.DataFrame:
        return pd.DataFrame({
            "export_id": export_id, "qa_pair_id": self.ids, "training_sheet_id": self.sheets,
            "position": range(self.first_position, self.first_position + len(self.ids)), "split": self.splits,
            "content_sha256": self.digests, "copies": self.copies,
        })


def _written(page: list[ExportCandidate], run: ExportRun, first_position: int) -> _WrittenPage:
    """What a page adds to the export: every pair that passes its split's gate, as a line."""
    out = _WrittenPage(first_position=first_position)
    plan = run.plan
    for candidate in page:
        split = plan.split_of(candidate)
        if not candidate.readable or not candidate.permitted(split):
            out.skipped += 1
            continue
        try:
            line = chat_line(candidate.messages, candidate.media_refs).encode()
        except UnreadablePair:
            out.skipped += 1
            continue
        copies = plan.copies_of(candidate, split)
        digest = hashlib.sha256(line).hexdigest()
        if copies == 1:
            out.lines[split].append(line)
        else:
            out.lines[split].extend([line] * copies)
        out.pairs[split] += 1
        out.ids.append(candidate.id)
        out.sheets.append(candidate.training_sheet_id)
        out.splits.append(split.value)
        out.digests.append(digest)
        out.copies.append(copies)
        out.entries.append(_manifest_entry(candidate, split, digest, copies))
    return out


def _manifest_head(run: ExportRun) -> str:
    head = {
        "export_id": run.export_id, "format": "chat-jsonl", "directory": run.directory,
        "training_sheet_ids": sorted(run.training_sheet_ids),
        "split_config": {**run.config.to_json(), "oversample_copies": run.plan.copies_json()},
        "gate_counts": run.summary.to_json(),
    }
    return json.dumps(head, ensure_ascii=False, indent=1)[:-2] + ',\n "pairs": ['


def _manifest_entry(candidate: ExportCandidate, split: Split, digest: str, copies: int) -> str:
    # Formatted rather than json.dumps'd: a fifth of the export's Python time at 100,000 pairs.
    return (
        f'{{"qa_pair_id": {encode_basestring(candidate.id)}, "training_sheet_id": {encode_basestring(candidate.training_sheet_id)}, '
        f'"split": "{split.value}", "content_sha256": "{digest}", "copies": {copies}}}'
    )


def _manifest_tail(counts: dict[str, int], files: dict[str, tuple[str, int]]) -> str:
    tail = {"counts": counts, "files": {name: {"sha256": digest, "lines": lines} for name, (digest, lines) in files.items()}}
    return "\n ],\n" + json.dumps(tail, indent=1)[2:] + "\n"


class ExportWork:
    """The job: plan, write, then record the version (or return the version a previous run recorded)."""

    def __init__(self, workbench: Workbench, params: dict[str, Any]) -> None:
        from services.train.exports import ExportService  # the service registers this job type

        self._service = ExportService(workbench)
        self._request = self._service.checked_request(params)

    def run(self, context: JobContext) -> dict[str, Any]:
        return self._service.run_export(self._request, context)


def _work(workbench: Workbench, params: dict[str, Any]) -> ExportWork:
    return ExportWork(workbench, params)


register_job_type(JOB_TYPE, _work)
