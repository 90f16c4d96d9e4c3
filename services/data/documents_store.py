"""The parsed documents of volumes: per file, per page and per chunk (migration 021)."""

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
        key = {"file_path": file_path}
        with self._engine.transaction():
            for table in (self._chunks, self._pages, self._files):
                self._engine.execute(f"DELETE FROM {table} WHERE file_path = :file_path", key)
            self._engine.execute(
                f"INSERT INTO {self._files} (file_path, volume_path, file_stem, fingerprint, status, error, page_count, "
                "parsed_text, job_id, parsed_by, parsed_at) VALUES (:file_path, :volume, :stem, :fingerprint, :status, "
                ":error, :page_count, :text, :job_id, :user, current_timestamp())",
                {
                    **key, "volume": volume_path, "stem": file_stem(file_path), "fingerprint": fingerprint,
                    "status": FileStatus.PARSED if parsed else FileStatus.FAILED, "error": error,
                    "page_count": len(parsed.pages) if parsed else None, "text": parsed.text if parsed else None,
                    "job_id": job_id, "user": self._wb.user.email,
                },
            )
            if parsed is None:
                return
            self._engine.insert_rows(self._pages, _pages_frame(volume_path, file_path, parsed))
            if parsed.chunks:
                self._engine.insert_rows(self._chunks, _chunks_frame(volume_path, file_path, parsed))

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
