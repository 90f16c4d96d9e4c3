"""The parsed documents of volumes: per file, per page and per chunk (migration 020)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pandas as pd

from services.core.workbench import Workbench
from services.data.document_parsing import ParsedDocument


class FileStatus:
    PARSED = "parsed"
    FAILED = "failed"


@dataclass(frozen=True)
class FileParse:
    """One file's parse to store: the document, or why it could not be read."""

    file_path: str
    fingerprint: str
    parsed: ParsedDocument | None
    error: str | None


@dataclass(frozen=True)
class DocumentFile:
    file_path: str
    status: str
    error: str | None
    page_count: int | None
    parsed_text: str | None
    parsed_at: datetime | None


@dataclass(frozen=True)
class DocumentPage:
    file_path: str
    page_number: int
    method: str
    confidence: float | None
    text: str


@dataclass(frozen=True)
class VolumeParseSummary:
    parsed: int
    failed: int
    pages: int
    ocr_pages: int


def file_stem(file_path: str) -> str:
    """The name without its extension: how a volume's file joins a sheet's item."""
    return file_path.rsplit("/", 1)[-1].rsplit(".", 1)[0]


class DocumentsStore:
    def __init__(self, workbench: Workbench) -> None:
        self._wb = workbench
        self._engine = workbench.backend.engine
        self._files = workbench.table("document_files")
        self._pages = workbench.table("document_pages")
        self._chunks = workbench.table("document_chunks")

    def fingerprints(self, volume_path: str) -> dict[str, str]:
        """file path → the fingerprint it had when last parsed (or failed)."""
        rows = self._engine.query(
            f"SELECT file_path, fingerprint FROM {self._files} WHERE volume_path = :volume", {"volume": volume_path}
        )
        return {r["file_path"]: r["fingerprint"] for r in rows}

    def save(
        self, volume_path: str, file_path: str, fingerprint: str, parsed: ParsedDocument | None, error: str | None,
        job_id: str | None,
    ) -> None:
        """Replace what was stored for the file with this parse (or its failure)."""
        self.save_many(volume_path, [FileParse(file_path, fingerprint, parsed, error)], job_id)

    def save_many(self, volume_path: str, parses: list[FileParse], job_id: str | None) -> None:
        """Replace what was stored for these files, set-based: three deletes, three bulk inserts."""
        if not parses:
            return
        paths = [p.file_path for p in parses]
        with self._engine.transaction():
            for table in (self._chunks, self._pages, self._files):
                self._engine.execute(f"DELETE FROM {table} WHERE array_contains(:paths, file_path)", {"paths": paths})
            self._engine.insert_rows(self._files, self._files_frame(volume_path, parses, job_id))
            pages = [_pages_frame(volume_path, p.file_path, p.parsed) for p in parses if p.parsed and p.parsed.pages]
            if pages:
                self._engine.insert_rows(self._pages, pd.concat(pages, ignore_index=True))
            chunks = [_chunks_frame(volume_path, p.file_path, p.parsed) for p in parses if p.parsed and p.parsed.chunks]
            if chunks:
                self._engine.insert_rows(self._chunks, pd.concat(chunks, ignore_index=True))

    def _files_frame(self, volume_path: str, parses: list[FileParse], job_id: str | None) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "file_path": [p.file_path for p in parses],
                "volume_path": volume_path,
                "file_stem": [file_stem(p.file_path) for p in parses],
                "fingerprint": [p.fingerprint for p in parses],
                "status": [FileStatus.PARSED if p.parsed else FileStatus.FAILED for p in parses],
                "error": [p.error for p in parses],
                "page_count": pd.Series([len(p.parsed.pages) if p.parsed else None for p in parses], dtype="Int32"),
                "parsed_text": [p.parsed.text if p.parsed else None for p in parses],
                "job_id": job_id,
                "parsed_by": self._wb.user.email,
                "parsed_at": pd.Timestamp.now(tz="UTC"),
            }
        )

    def files(self, volume_path: str) -> list[DocumentFile]:
        rows = self._engine.query(
            f"SELECT file_path, status, error, page_count, parsed_text, parsed_at FROM {self._files} "
            "WHERE volume_path = :volume ORDER BY file_path",
            {"volume": volume_path},
        )
        return [DocumentFile(**r) for r in rows]

    def file(self, file_path: str) -> DocumentFile | None:
        row = self._engine.query_one(
            f"SELECT file_path, status, error, page_count, parsed_text, parsed_at FROM {self._files} WHERE file_path = :file_path",
            {"file_path": file_path},
        )
        return DocumentFile(**row) if row else None

    def pages(self, file_path: str) -> list[DocumentPage]:
        rows = self._engine.query(
            f"SELECT file_path, page_number, method, confidence, text FROM {self._pages} WHERE file_path = :file_path "
            "ORDER BY page_number",
            {"file_path": file_path},
        )
        return [DocumentPage(**r) for r in rows]

    def summary(self, volume_path: str) -> VolumeParseSummary:
        row = self._engine.query_one(
            f"SELECT count_if(f.status = 'parsed') AS parsed, count_if(f.status = 'failed') AS failed, "
            f"(SELECT count(*) FROM {self._pages} AS p WHERE p.volume_path = :volume) AS pages, "
            f"(SELECT count(*) FROM {self._pages} AS p WHERE p.volume_path = :volume AND p.method = 'ocr') AS ocr_pages "
            f"FROM {self._files} AS f WHERE f.volume_path = :volume",
            {"volume": volume_path},
        )
        return VolumeParseSummary(*(int((row or {}).get(k) or 0) for k in ("parsed", "failed", "pages", "ocr_pages")))


def _pages_frame(volume_path: str, file_path: str, parsed: ParsedDocument) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "file_path": file_path, "volume_path": volume_path,
            "page_number": pd.Series([p.number for p in parsed.pages], dtype="int32"),
            "method": [str(p.method) for p in parsed.pages],
            "confidence": pd.Series([p.confidence for p in parsed.pages], dtype="float64"),
            "text": [p.text for p in parsed.pages],
        }
    )


def _chunks_frame(volume_path: str, file_path: str, parsed: ParsedDocument) -> pd.DataFrame:
    chunks = parsed.chunks
    return pd.DataFrame(
        {
            "file_path": file_path, "volume_path": volume_path,
            "page_number": pd.Series([c.page_number for c in chunks], dtype="int32"),
            "chunk_index": pd.Series([c.index for c in chunks], dtype="int32"),
            "text": [c.text for c in chunks],
            **{axis: pd.Series([getattr(c, axis) for c in chunks], dtype="float64") for axis in ("x0", "y0", "x1", "y1")},
        }
    )
