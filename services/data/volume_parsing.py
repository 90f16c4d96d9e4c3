"""Parse a volume as a job: every PDF in it becomes text (document_parsing), stored per file,
page and chunk (documents_store), with the job's progress, Cancel and Resume.

Resumable by contract: a file whose fingerprint (size, modification time) is stored from an
earlier parse is skipped, so a resumed or repeated job does only what is new or changed. A file
that cannot be read is recorded as failed with its reason and the job goes on with the next.
On Databricks the whole volume is parsed in the warehouse in one statement instead
(warehouse_parsing).
"""

from __future__ import annotations

from typing import Any

from data_access.ocr.recognizer import TesseractRecognizer, TextRecognizer
from data_access.volumes import VolumeEntry, VolumeFileError, VolumePath, VolumePathError
from services.core.domain.job import JobRun
from services.core.errors import ValidationError
from services.core.jobs import JobContext, JobRunner, register_job_type
from services.core.workbench import Workbench
from services.data.document_parsing import parse_pdf
from services.data.documents_store import DocumentsStore
from services.data.file_decoding import PreviewError
from services.data.sheet_items import PDF_EXTENSIONS

JOB_TYPE = "parse_volume"


def volume_of(path: str) -> str:
    """The volume a path names, checked: a parse covers a whole volume, as a sheet joins one."""
    try:
        parsed = VolumePath.parse(path.strip())
    except VolumePathError as error:
        raise ValidationError(str(error), "volume_path") from error
    if parsed.relative:
        raise ValidationError(f"{path} is a folder inside a volume; parse the volume {parsed.volume_root}.", "volume_path")
    return str(parsed)


class VolumeParsing:
    """What the DATA page asks of parsing: start it, and how the latest run of a volume went."""

    def __init__(self, workbench: Workbench) -> None:
        self._wb = workbench

    def start(self, volume_path: str) -> str:
        volume = volume_of(volume_path)
        return JobRunner(self._wb).submit(JOB_TYPE, {"volume_path": volume}, target_id=volume)

    def latest_job(self, volume_path: str) -> JobRun | None:
        volume = volume_of(volume_path)
        jobs = JobRunner(self._wb).recent(job_type=JOB_TYPE)
        return next((j for j in jobs if j.params.get("volume_path") == volume), None)


class ParseVolumeWork:
    def __init__(self, workbench: Workbench, params: dict[str, Any], recognizer: TextRecognizer | None = None) -> None:
        volume = params.get("volume_path")
        if not isinstance(volume, str):
            raise ValidationError("Say which volume to parse.", "volume_path")
        self._wb = workbench
        self._volume = volume_of(volume)
        self._recognizer = recognizer or TesseractRecognizer()

    def run(self, context: JobContext) -> dict[str, Any]:
        if self._wb.settings.is_databricks:
            from services.data.warehouse_parsing import parse_in_warehouse

            return parse_in_warehouse(self._wb, self._volume, context)
        store = DocumentsStore(self._wb)
        pdfs = self._pdfs()
        known = store.fingerprints(self._volume)
        todo = [(entry, fingerprint) for entry, fingerprint in pdfs if known.get(entry.path) != fingerprint]
        done = len(pdfs) - len(todo)
        context.report(done, len(pdfs))
        parsed = failed = 0
        for entry, fingerprint in todo:
            if context.cancelled():
                break
            error = self._parse_one(store, entry, fingerprint, context.job_id)
            parsed, failed = parsed + (error is None), failed + (error is not None)
            done += 1
            context.report(done, len(pdfs))
        return {"volume_path": self._volume, "files": len(pdfs), "parsed": parsed, "failed": failed, "unchanged": len(pdfs) - len(todo)}

    def _pdfs(self) -> list[tuple[VolumeEntry, str]]:
        files = self._wb.backend.files
        try:
            entries = files.list_directory(self._volume)
        except (VolumeFileError, VolumePathError) as error:
            raise ValidationError(f"The volume cannot be listed: {error}", "volume_path") from error
        pdfs = [e for e in entries if not e.is_directory and "." + e.name.rsplit(".", 1)[-1].lower() in PDF_EXTENSIONS]
        return [(entry, self._fingerprint(entry)) for entry in pdfs]

    def _fingerprint(self, entry: VolumeEntry) -> str:
        try:
            return self._wb.backend.files.fingerprint(entry.path)
        except (VolumeFileError, VolumePathError):
            return f"unreadable:{entry.size}"  # read again, and recorded as failed, on the next run

    def _parse_one(self, store: DocumentsStore, entry: VolumeEntry, fingerprint: str, job_id: str) -> str | None:
        """Parse and store one file; the reason it failed, or None."""
        try:
            data = self._wb.backend.files.read_bytes(entry.path)
            document = parse_pdf(data, entry.name, self._recognizer)
        except (PreviewError, VolumeFileError, VolumePathError) as error:
            store.save(self._volume, entry.path, fingerprint, None, str(error), job_id)
            return str(error)
        store.save(self._volume, entry.path, fingerprint, document, None, job_id)
        return None


register_job_type(JOB_TYPE, ParseVolumeWork)
