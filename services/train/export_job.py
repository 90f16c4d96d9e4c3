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
from typing import Any, BinaryIO

import pandas as pd

from data_access.sql.engine import SqlEngine
from data_access.volumes import VolumeFiles
from services.core.jobs import JobContext, register_job_type
from services.core.workbench import Workbench
from services.train.chat_jsonl import UnreadablePair, chat_line
from services.train.export_governance import ExportGovernance
from services.train.export_records import MANIFEST_FILE, TRAIN_FILE, VALIDATION_FILE, ExportSummary, Split, SplitConfig
from services.train.export_sql import LIST_SEPARATOR, page_params, page_sql, pages_sql
from services.train.exports_store import TrainingExportsStore
from services.train.gates import gate_params
from services.train.split_plan import SplitPlan

JOB_TYPE = "export_training_sheets"
EXPORT_PAGE_ROWS = 10_000  # ~20 MB of messages at 2 KB a pair: one page in memory at a time


def export_directory(volume_path: str, export_id: str) -> str:
    return f"{volume_path}/exports/{export_id}"


def line_pages(engine: SqlEngine, pairs_table: str, run: ExportScope, page_rows: int | None = None) -> Iterator[LinePage]:
    """Every pair passing a gate, decided and written as its line, a page at a time: Training
    Sheets in id order, each by ordinal.

    A page is a range of `page_rows` ordinals (generation numbers a Training Sheet's items 0, 1,
    2, …, so a page holds at most that many pairs); only ranges holding a candidate are read,
    listed by one aggregate (a row per page, not per pair). The next page is read in the
    background while the caller works on this one: the engine runs it without Python's lock.
    (Two pages read at once were no faster on 2 cores, and took 20 MB more: measured.)
    """
    width = page_rows or EXPORT_PAGE_ROWS
    sql, params = page_sql(pairs_table, run.config), page_params(run.config, run.governance, run.plan.sql_params())
    listed = engine.query(pages_sql(pairs_table), {"training_sheet_ids": run.training_sheet_ids, "page_rows": width, **gate_params(run.governance)})
    pages = [(r["training_sheet_id"], int(r["page"]) * width) for r in listed]

    def read(page: tuple[str, int]) -> list[dict[str, Any]]:
        sheet, start = page
        return engine.query(sql, {**params, "training_sheet_id": sheet, "from_ordinal": start, "to_ordinal": start + width})

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="export-read") as reader:
        pending = reader.submit(read, pages[0]) if pages else None
        for following in [*pages[1:], None]:
            rows = pending.result() if pending is not None else []
            pending = reader.submit(read, following) if following is not None else None
            if rows:
                yield LinePage.from_rows(rows)


@dataclass(frozen=True)
class ExportScope:
    """What decides an export's lines: its Training Sheets, split, plan and current governance."""

    training_sheet_ids: list[str]
    config: SplitConfig
    plan: SplitPlan
    governance: ExportGovernance


@dataclass
class LinePage:
    """One page's pairs as written, column-wise: a line per pair (its copies apart), its split,
    sha256 and manifest entry, made by the engine (page_sql) or, for the few it leaves, by
    chat_jsonl here; and how many candidates could not be read."""

    ids: list[str] = field(default_factory=list)
    sheets: list[str] = field(default_factory=list)
    splits: list[str] = field(default_factory=list)
    copies: list[int] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    digests: list[str] = field(default_factory=list)
    entries: list[str] = field(default_factory=list)
    skipped: int = 0

    @classmethod
    def from_rows(cls, rows: list[dict[str, Any]]) -> LinePage:
        page = cls()
        for row in rows:
            line, digest, entry = row["line"], row["line_sha256"], row["manifest_entry"]
            if line is None:
                made = _made_in_python(row) if row["readable"] == 1 else None
                if made is None:
                    page.skipped += 1
                    continue
                line, digest, entry = made
            page.ids.append(row["id"])
            page.sheets.append(row["training_sheet_id"])
            page.splits.append(row["split"])
            page.copies.append(int(row["copies"]))
            page.lines.append(line)
            page.digests.append(digest)
            page.entries.append(entry)
        return page

    def text(self, split: Split) -> str:
        """The page's lines of one split, each as many times as its copies, each ending in a newline."""
        return "".join(
            f"{line}\n" * copies for line, s, copies in zip(self.lines, self.splits, self.copies, strict=True) if s == split.value
        )

    def count(self, split: Split) -> int:
        return self.splits.count(split.value)

    def frame(self, export_id: str, first_position: int) -> pd.DataFrame:
        return pd.DataFrame({
            "export_id": export_id, "qa_pair_id": self.ids, "training_sheet_id": self.sheets,
            "position": range(first_position, first_position + len(self.ids)), "split": self.splits,
            "content_sha256": self.digests, "copies": self.copies,
        })


def _made_in_python(row: dict[str, Any]) -> tuple[str, str, str] | None:
    """A line the engine left to Python (a layout it does not splice): line, sha256, entry."""
    media = row["fallback_media"]
    try:
        line = chat_line(row["fallback_messages"] or "", tuple(media.split(LIST_SEPARATOR)) if media else ())
    except UnreadablePair:
        return None
    digest = hashlib.sha256(line.encode()).hexdigest()
    entry = {"qa_pair_id": row["id"], "training_sheet_id": row["training_sheet_id"], "split": row["split"], "content_sha256": digest, "copies": int(row["copies"])}
    return line, digest, json.dumps(entry, ensure_ascii=False, separators=(",", ":"))


@dataclass
class _SplitFile:
    handle: BinaryIO
    digest: Any = field(default_factory=hashlib.sha256)
    lines: int = 0
    pairs: int = 0

    def write(self, text: str) -> None:
        if text:
            data = text.encode()
            self.handle.write(data)
            self.digest.update(data)
            self.lines += text.count("\n")


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
class ExportRun(ExportScope):
    export_id: str
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
            for page in line_pages(self._engine, self._pairs_table, run):
                first_position = outputs[Split.TRAIN].pairs + outputs[Split.VALIDATION].pairs
                for split, output in outputs.items():
                    output.write(page.text(split))
                    output.pairs += page.count(split)
                manifest.pairs(page.entries)
                if pending is not None:
                    pending.result()
                pending = inserter.submit(self._store.insert_pairs, page.frame(run.export_id, first_position)) if page.ids else None
                skipped += page.skipped
                processed += len(page.ids) + page.skipped
                context.report(min(processed, total), total)
                if context.cancelled():
                    if pending is not None:
                        pending.result()
                    raise _Cancelled
            if pending is not None:
                pending.result()
        return skipped


def _manifest_head(run: ExportRun) -> str:
    head = {
        "export_id": run.export_id, "format": "chat-jsonl", "directory": run.directory,
        "training_sheet_ids": sorted(run.training_sheet_ids),
        "split_config": {**run.config.to_json(), "oversample_copies": run.plan.copies_json()},
        "gate_counts": run.summary.to_json(),
    }
    return json.dumps(head, ensure_ascii=False, indent=1)[:-2] + ',\n "pairs": ['


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
