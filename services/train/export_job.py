"""Writing an export: a job that streams gated pairs, in batches, into chat JSONL on a volume.

One statement decides and writes every pair (export_sql.export_sql: split, copies, line,
sha256, manifest entry), read through one pass over the messages; Python only appends the
ready strings to the files. Constant memory on the Python side whatever the size: the rows
are fetched from the cursor a batch at a time, and each batch's exported-pair rows are
inserted (one set-based insert) while the next batch is written. The manifest's pairs are
spooled to a local temporary file, since its head names the oversampling the stream reveals.
The version row is inserted last, so an export exists only once complete; a cancelled or
failed run removes what it wrote, and a resumed run starts again under the same export id
(its files and rows are never half there).
"""

from __future__ import annotations

import hashlib
import json
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from json.encoder import encode_basestring
from typing import IO, TYPE_CHECKING, Any, BinaryIO

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from data_access.sql.engine import SqlEngine
from data_access.volumes import VolumeFiles
from services.core.jobs import JobContext, register_job_type
from services.core.workbench import Workbench
from services.train.chat_jsonl import UnreadablePair, chat_line
from services.train.export_governance import ExportGovernance
from services.train.export_records import MANIFEST_FILE, TRAIN_FILE, VALIDATION_FILE, ExportSummary, Split, SplitConfig
from services.train.export_sql import LIST_SEPARATOR, export_params, export_sql
from services.train.exports_store import TrainingExportsStore

if TYPE_CHECKING:
    from services.train.exports import ExportRequest, ExportService

JOB_TYPE = "export_training_sheets"
# The tags read when Export was pressed still decide a job that starts this soon after; a job
# that waited longer for a slot (or is resumed) reads them again: governance is checked at export.
GATE_READING_FRESH_S = 5.0
EXPORT_BATCH_ROWS = 5_000  # ~10 MB of lines at 2 KB a pair: one batch in Python's memory at a time (and one being inserted)
_COPY_CHUNK_BYTES = 1024 * 1024  # the spooled manifest entries are copied into the manifest file this much at a time


def export_directory(volume_path: str, export_id: str) -> str:
    return f"{volume_path}/exports/{export_id}"


def export_lines(engine: SqlEngine, pairs_table: str, scope: ExportScope, batch_rows: int | None = None) -> Iterator[LinePage]:
    """Every pair passing a gate, decided and written as its line, a batch at a time: Training
    Sheets in id order, each by ordinal. Closing the iterator early closes the cursor."""
    sql = export_sql(pairs_table, scope.config)
    params = export_params(scope.training_sheet_ids, scope.config, scope.governance)
    for batch in engine.stream_arrow(sql, params, batch_rows or EXPORT_BATCH_ROWS):
        yield LinePage.from_batch(batch)


@dataclass(frozen=True)
class ExportScope:
    """What decides an export's lines: its Training Sheets, split and current governance."""

    training_sheet_ids: list[str]
    config: SplitConfig
    governance: ExportGovernance


@dataclass
class LinePage:
    """One batch's pairs as written, column-wise: a line per pair (its copies apart, made by the
    engine, or for the few it leaves by chat_jsonl here), its split, sha256 and manifest entry;
    how many candidates could not be read; the label values it saw copied."""

    ids: list[str] = field(default_factory=list)
    sheets: list[str] = field(default_factory=list)
    splits: list[str] = field(default_factory=list)
    copies: list[int] = field(default_factory=list)
    lines: list[bytes] = field(default_factory=list)  # UTF-8, as the engine sends them: hashed and written as they are
    written: dict[str, list[bytes]] = field(default_factory=dict)  # split -> its lines as written (copies, newlines)
    digests: list[str] = field(default_factory=list)
    entries: list[str] = field(default_factory=list)
    skipped: int = 0
    copied: dict[str | None, int] = field(default_factory=dict)  # label value -> train copies, where not 1
    candidates: int = 0  # of the whole export: pairs passing a gate
    keys: pa.RecordBatch | None = None  # the engine's id, training_sheet_id, split and copies columns of the pairs written

    @classmethod
    def from_batch(cls, batch: pa.RecordBatch) -> LinePage:
        """A batch of export_sql's rows, read column by column: no Python object per row but
        the values written (per pair: its line, its sha256 and its manifest entry)."""
        page = cls(candidates=int(batch.column("candidates")[0].as_py()) if batch.num_rows else 0)
        keys = batch.select(("id", "training_sheet_id", "split", "copies"))
        lines = batch.column("line").to_pylist()
        if None in lines:  # lines Python makes, and unreadable pairs it skips (few)
            lines, kept = page._made_here(batch, lines)
            keys = keys.filter(pa.array(kept))
        if pc.any(pc.not_equal(batch.column("stratum_copies"), 1)).as_py():
            page._saw_copies(batch)
        page.keys = keys
        page.ids, page.sheets, page.splits, page.copies = (keys.column(i).to_pylist() for i in range(4))
        page.lines = lines
        page.digests = digests = [hashlib.sha256(line).hexdigest() for line in lines]
        sheet_json = {sheet: encode_basestring(sheet) for sheet in set(page.sheets)}
        # Compact JSON, keys in this order (encode_basestring: json.dumps of a string, without its
        # overhead). Hashed and made here, not in the engine: DuckDB's sha256 costs 3.5× hashlib's (measured).
        page.entries = [
            f'{{"qa_pair_id":{encode_basestring(i)},"training_sheet_id":{sheet_json[s]},"split":"{sp}","content_sha256":"{d}","copies":{c}}}'
            for i, s, sp, d, c in zip(page.ids, page.sheets, page.splits, digests, page.copies, strict=True)
        ]
        copied = any(c != 1 for c in page.copies)
        for split in dict.fromkeys(page.splits):
            if copied:
                page.written[split] = [part for line, s, c in zip(lines, page.splits, page.copies, strict=True) if s == split for part in (line, b"\n") * c]
            else:  # one copy of the text: the empty last line gives the last newline
                page.written[split] = [b"\n".join([*(line for line, s in zip(lines, page.splits, strict=True) if s == split), b""])]
        return page

    def _made_here(self, batch: pa.RecordBatch, lines: list[bytes | None]) -> tuple[list[bytes], list[bool]]:
        """The lines the engine left NULL made by chat_jsonl, and which rows are kept (unreadable ones are skipped)."""
        readable, messages, media = (batch.column(name).to_pylist() for name in ("readable", "fallback_messages", "fallback_media"))
        made: list[bytes] = []
        kept: list[bool] = []
        for i, line in enumerate(lines):
            if line is None and readable[i] == 1:
                text = _made_in_python(messages[i], media[i])
                line = text.encode() if text is not None else None
            kept.append(line is not None)
            if line is None:
                self.skipped += 1
            else:
                made.append(line)
        return made, kept

    def _saw_copies(self, batch: pa.RecordBatch) -> None:
        rows = zip(*(batch.column(name).to_pylist() for name in ("readable", "stratum_copies", "copied_stratum")), strict=True)
        self.copied.update({value: int(copies) for readable, copies, value in rows if copies != 1 and readable == 1})

    def text(self, split: Split) -> list[bytes]:
        """The page's lines of one split, each as many times as its copies, each ending in a newline, in pieces."""
        return self.written.get(split.value, [])

    def count(self, split: Split) -> int:
        return self.splits.count(split.value)

    def line_count(self, split: Split) -> int:
        return sum(c for s, c in zip(self.splits, self.copies, strict=True) if s == split.value)

    def frame(self, export_id: str, first_position: int) -> pd.DataFrame:
        """The exported-pair rows, from the engine's Arrow columns (no conversion of each value)."""
        n = len(self.ids)
        return pa.table({
            "export_id": pa.array([export_id] * n, pa.string()), "qa_pair_id": self.keys.column(0),
            "training_sheet_id": self.keys.column(1), "position": pa.array(range(first_position, first_position + n), pa.int32()),
            "split": self.keys.column(2), "content_sha256": pa.array(self.digests, pa.string()), "copies": self.keys.column(3),
        }).to_pandas(types_mapper=pd.ArrowDtype)


def _made_in_python(messages: str | None, media: str | None) -> str | None:
    """A line the engine left to Python (a layout it does not splice); None when unreadable."""
    try:
        return chat_line(messages or "", tuple(media.split(LIST_SEPARATOR)) if media else ())
    except UnreadablePair:
        return None


@dataclass
class _SplitFile:
    handle: BinaryIO
    digest: Any = field(default_factory=hashlib.sha256)
    lines: int = 0
    pairs: int = 0

    def write(self, pieces: list[bytes], lines: int) -> None:
        for data in pieces:
            self.handle.write(data)
            self.digest.update(data)
        self.lines += lines


@dataclass
class _Manifest:
    """The manifest's pair entries, spooled to a local file until the head can be written."""

    spool: IO[bytes]
    _first: bool = True

    def pairs(self, entries: list[str]) -> None:
        if entries:
            self.spool.write((("\n  " if self._first else ",\n  ") + ",\n  ".join(entries)).encode())
            self._first = False

    def write_to(self, handle: BinaryIO, head: str, tail: str) -> str:
        """Head, entries, tail into the manifest file; returns its sha256."""
        digest = hashlib.sha256()
        self.spool.seek(0)
        for data in (head.encode(), *iter(lambda: self.spool.read(_COPY_CHUNK_BYTES), b""), tail.encode()):
            handle.write(data)
            digest.update(data)
        return digest.hexdigest()


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
        """The counts, digests and oversampling of a complete export; None when cancelled
        (nothing left behind)."""
        try:
            with ExitStack() as files:
                train = _SplitFile(files.enter_context(self._files.open_new_file(f"{run.directory}/{TRAIN_FILE}")))
                validation = _SplitFile(files.enter_context(self._files.open_new_file(f"{run.directory}/{VALIDATION_FILE}")))
                manifest_file = files.enter_context(self._files.open_new_file(f"{run.directory}/{MANIFEST_FILE}"))
                manifest = _Manifest(files.enter_context(tempfile.TemporaryFile()))
                skipped, copied = self._stream(run, context, {Split.TRAIN: train, Split.VALIDATION: validation}, manifest)
                counts = {"train_pairs": train.pairs, "validation_pairs": validation.pairs, "train_lines": train.lines, "skipped": skipped}
                digests = {TRAIN_FILE: train.digest.hexdigest(), VALIDATION_FILE: validation.digest.hexdigest()}
                oversample = copies_json(copied)
                tail = _manifest_tail(counts, {TRAIN_FILE: (digests[TRAIN_FILE], train.lines), VALIDATION_FILE: (digests[VALIDATION_FILE], validation.lines)})
                manifest_sha256 = manifest.write_to(manifest_file, _manifest_head(run, oversample), tail)
        except _Cancelled:
            self.discard(run)
            return None
        except BaseException:
            self.discard(run)
            raise
        return {
            **counts, "train_sha256": digests[TRAIN_FILE], "validation_sha256": digests[VALIDATION_FILE],
            "manifest_sha256": manifest_sha256, "oversample_copies": oversample,
        }

    def discard(self, run: ExportRun) -> None:
        """What an unfinished run of this export left: its pair rows and any file."""
        self._store.delete_pairs(run.export_id)
        for name in (TRAIN_FILE, VALIDATION_FILE, MANIFEST_FILE):
            self._files.delete_file(f"{run.directory}/{name}")

    def _stream(self, run: ExportRun, context: JobContext, outputs: dict[Split, _SplitFile],
                manifest: _Manifest) -> tuple[int, dict[str | None, int]]:
        processed, skipped, copied = 0, 0, {}
        # A batch's rows are inserted while the next batch is written: the insert runs in the
        # engine without Python's lock. One insert in flight at a time, in order.
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="export-rows") as inserter:
            pending: Future[int] | None = None
            for page in export_lines(self._engine, self._pairs_table, run):
                first_position = outputs[Split.TRAIN].pairs + outputs[Split.VALIDATION].pairs
                for split, output in outputs.items():
                    output.write(page.text(split), page.line_count(split))
                    output.pairs += page.count(split)
                manifest.pairs(page.entries)
                if pending is not None:
                    pending.result()
                pending = inserter.submit(self._store.insert_pairs, page.frame(run.export_id, first_position)) if page.ids else None
                skipped += page.skipped
                copied.update(page.copied)
                processed += len(page.ids) + page.skipped
                context.report(processed, page.candidates or processed)
                if context.cancelled():
                    if pending is not None:
                        pending.result()
                    raise _Cancelled
            if pending is not None:
                pending.result()
        return skipped, copied


def copies_json(copied: dict[str | None, int]) -> list[dict[str, Any]]:
    """The oversampled label values and their copies, in the engine's order of values (no value first)."""
    return [{"value": v, "copies": c} for v, c in sorted(copied.items(), key=lambda vc: (vc[0] is not None, vc[0] or ""))]


def _manifest_head(run: ExportRun, oversample_copies: list[dict[str, Any]]) -> str:
    head = {
        "export_id": run.export_id, "format": "chat-jsonl", "directory": run.directory,
        "training_sheet_ids": sorted(run.training_sheet_ids),
        "split_config": {**run.config.to_json(), "oversample_copies": oversample_copies},
        "gate_counts": run.summary.to_json(),
    }
    return json.dumps(head, ensure_ascii=False, indent=1)[:-2] + ',\n "pairs": ['


def _manifest_tail(counts: dict[str, int], files: dict[str, tuple[str, int]]) -> str:
    tail = {"counts": counts, "files": {name: {"sha256": digest, "lines": lines} for name, (digest, lines) in files.items()}}
    return "\n ],\n" + json.dumps(tail, indent=1)[2:] + "\n"


@dataclass(frozen=True)
class GateReading:
    """The sources' tags and the gate counts as read when an export was asked for."""

    governance: ExportGovernance
    summary: ExportSummary
    read_at: float = field(default_factory=time.monotonic)

    def fresh(self) -> bool:
        return time.monotonic() - self.read_at <= GATE_READING_FRESH_S


class ExportWork:
    """The job: write, then record the version (or return the version a previous run recorded).
    A job started at once uses the reading its request made; one that waited for a slot, or a
    resume, reads the tags again."""

    def __init__(self, service: ExportService, request: ExportRequest, reading: GateReading | None = None) -> None:
        self._service, self._request, self._reading = service, request, reading

    def run(self, context: JobContext) -> dict[str, Any]:
        reading = self._reading if self._reading is not None and self._reading.fresh() else None
        return self._service.run_export(self._request, context, reading)


def _work(workbench: Workbench, params: dict[str, Any]) -> ExportWork:
    from services.train.exports import ExportService  # the service registers this job type

    service = ExportService(workbench)
    return ExportWork(service, service.checked_request(params))


register_job_type(JOB_TYPE, _work)
