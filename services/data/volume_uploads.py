"""Files uploaded into a volume from the DATA page: named safely, checked like every other file.

An upload is checked before a byte is written: its name is made a plain file name (no folders,
no dots in front, no characters a volume path refuses), its size is within what the workbench
will ever read, its kind is one a sheet can show, and it opens through file_decoding with the
same hostile-file rules as every preview (a damaged, encrypted, empty or oversized file is
refused with its reason). A file that already exists is never replaced.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from data_access.volumes import MAX_NAME_BYTES, MAX_READ_BYTES, VolumeFileError, VolumePathError
from services.core.workbench import Workbench
from services.data.file_decoding import PreviewError, displayable, opened_image, opened_pdf
from services.data.sheet_items import IMAGE_EXTENSIONS, PDF_EXTENSIONS
from services.data.volume_parsing import volume_of

MAX_UPLOAD_BYTES = MAX_READ_BYTES  # a file larger than the workbench reads could be stored but never shown or parsed
UPLOAD_EXTENSIONS = PDF_EXTENSIONS | IMAGE_EXTENSIONS
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class UploadOutcome:
    given_name: str
    path: str | None  # where it was written; None when refused
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


def safe_file_name(name: str) -> str:
    """The last part of a path, letters outside [A-Za-z0-9._-] as "_", no leading dots, at most
    MAX_NAME_BYTES; the extension kept. "" when nothing usable is left."""
    base = re.split(r"[\\/]", name)[-1]
    ascii_only = unicodedata.normalize("NFKD", base).encode("ascii", "ignore").decode("ascii")
    cleaned = _UNSAFE.sub("_", ascii_only).lstrip(".")
    stem, dot, extension = cleaned.rpartition(".")
    if not dot:
        stem, extension = cleaned, ""
    suffix = f".{extension.lower()}" if extension else ""
    stem = stem.strip("_") or ""
    return f"{stem[: MAX_NAME_BYTES - len(suffix)]}{suffix}" if stem else ""


def upload(workbench: Workbench, volume_path: str, name: str, data: bytes) -> UploadOutcome:
    """Write one uploaded file into the volume, or say why it was refused (nothing written)."""
    volume = volume_of(volume_path)
    safe = safe_file_name(name)
    try:
        _check(workbench, name, safe, data)
        path = f"{volume}/{safe}"
        with workbench.backend.files.open_new_file(path) as handle:
            handle.write(data)
    except (PreviewError, VolumeFileError, VolumePathError) as error:
        return UploadOutcome(name, None, str(error))
    return UploadOutcome(name, path)


def _check(workbench: Workbench, given: str, safe: str, data: bytes) -> None:
    extension = "." + safe.rsplit(".", 1)[-1] if "." in safe else ""
    if not safe or extension not in UPLOAD_EXTENSIONS:
        kinds = ", ".join(sorted(UPLOAD_EXTENSIONS))
        raise PreviewError(f"{given} is not a kind of file a sheet can show; upload one of {kinds}.")
    if len(data) > MAX_UPLOAD_BYTES:
        raise PreviewError(f"{given} is {len(data) / 1e6:.1f} MB; the limit is {MAX_UPLOAD_BYTES / 1e6:.0f} MB.")
    if extension in PDF_EXTENSIONS:
        with opened_pdf(data, given):
            return
    with opened_image(data, given, workbench.settings.max_image_pixels) as image:
        displayable(image)  # decodes every pixel: a truncated or damaged image fails here, not in a preview
