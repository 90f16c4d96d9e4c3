"""Writing an edge bundle: one zip file, streamed to disk a chunk at a time.

Each file is hashed while it is written, so the weights are read once; the archive appears
under its final name only when it is complete (a failed build leaves nothing behind).
Weights go in stored (safetensors barely compress and deflating 0.5 GB costs tens of seconds);
text files are deflated.
"""

from __future__ import annotations

import hashlib
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import IO

CHUNK_BYTES = 1024 * 1024  # how much of a file is held in memory at once
_STORED_SUFFIXES = (".safetensors", ".bin", ".pt", ".gguf", ".parquet")


@dataclass(frozen=True)
class ArchivedFile:
    path: str  # inside the archive, with forward slashes
    sha256: str
    size: int


class BundleArchive:
    """`with BundleArchive(target) as archive: archive.add_file(...)`; the zip is `target` once closed cleanly."""

    def __init__(self, target: Path) -> None:
        self.target = target
        self._partial = target.with_name(f".{target.name}.partial")
        self._zip: zipfile.ZipFile | None = None

    def __enter__(self) -> BundleArchive:
        self.target.parent.mkdir(parents=True, exist_ok=True)
        self._zip = zipfile.ZipFile(self._partial, "w", allowZip64=True)
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None) -> None:
        assert self._zip is not None
        try:
            self._zip.close()
        finally:
            if kind is None:
                self._partial.replace(self.target)
            else:
                self._partial.unlink(missing_ok=True)

    def add_file(self, path: str, source: Path) -> ArchivedFile:
        digest, size = hashlib.sha256(), 0
        with source.open("rb") as reader, self._open(path, source.name) as writer:
            while chunk := reader.read(CHUNK_BYTES):
                digest.update(chunk)
                writer.write(chunk)
                size += len(chunk)
        return ArchivedFile(path, digest.hexdigest(), size)

    def add_bytes(self, path: str, data: bytes) -> ArchivedFile:
        with self._open(path, path) as writer:
            writer.write(data)
        return ArchivedFile(path, hashlib.sha256(data).hexdigest(), len(data))

    def _open(self, path: str, name: str) -> IO[bytes]:
        assert self._zip is not None, "use BundleArchive in a with block"
        info = zipfile.ZipInfo(path, date_time=time.localtime()[:6])
        info.external_attr = 0o644 << 16  # readable files when unpacked with unzip
        info.compress_type = zipfile.ZIP_STORED if name.endswith(_STORED_SUFFIXES) else zipfile.ZIP_DEFLATED
        return self._zip.open(info, "w", force_zip64=True)
