"""Files in Unity Catalog Volumes through the SDK's Files API (`WorkspaceClient().files`).

Every path is parsed with VolumePath before it reaches the API, so `..`, other roots and odd
characters are refused here, never sent. The client acts for whoever it was built for (the
signed-in user with on-behalf-of-user auth), so the volume's grants decide what they can see.
"""

from __future__ import annotations

import io
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, BinaryIO

from data_access.volumes import MAX_READ_BYTES, VolumeEntry, VolumeFileError, VolumeFiles, VolumePath, VolumePathError

# A file being written stays in memory up to this size, then spills to a local temporary file
# until it is uploaded whole: memory stays bounded whatever the export's size.
SPOOL_IN_MEMORY_BYTES = 8 * 1024 * 1024

if TYPE_CHECKING:
    from databricks.sdk import WorkspaceClient
    from databricks.sdk.service.files import DirectoryEntry


@contextmanager
def _file_errors(path: VolumePath, action: str) -> Iterator[None]:
    """SDK errors as VolumeFileError with a message a person can act on."""
    # Imported here: the SDK is loaded by the time a client exists, and not before.
    from databricks.sdk.errors import AlreadyExists, DatabricksError, NotFound, PermissionDenied, ResourceAlreadyExists

    try:
        yield
    except (AlreadyExists, ResourceAlreadyExists) as error:
        raise VolumeFileError(f"{path} already exists; it is never replaced.") from error
    except NotFound as error:
        raise VolumeFileError(f"{path} does not exist.") from error
    except PermissionDenied as error:
        raise VolumeFileError(f"You do not have permission to {action} {path} (ask for READ VOLUME/WRITE VOLUME on {path.volume_root}).") from error
    except DatabricksError as error:
        raise VolumeFileError(f"Could not {action} {path}: {error}") from error


def _file(path: str) -> VolumePath:
    parsed = VolumePath.parse(path)
    if not parsed.relative:
        raise VolumeFileError(f"{parsed} is a volume, not a file inside it.")
    return parsed


def _entry(listed: DirectoryEntry) -> VolumeEntry | None:
    """A listed file or folder; a name our paths cannot address is left out rather than mangled."""
    try:
        path = VolumePath.parse((listed.path or "").rstrip("/"))
    except VolumePathError:
        return None
    if not path.relative:
        return None
    is_directory = bool(listed.is_directory)
    return VolumeEntry(str(path), path.relative.rsplit("/", 1)[-1], is_directory, None if is_directory else listed.file_size)


class DatabricksVolumeFiles(VolumeFiles):
    def __init__(self, client: WorkspaceClient) -> None:
        self._files = client.files

    def read_bytes(self, path: str, max_bytes: int = MAX_READ_BYTES) -> bytes:
        parsed = _file(path)
        size = self.size(str(parsed))
        if size > max_bytes:
            raise VolumeFileError(f"{parsed} is {size / 1e6:.1f} MB; the limit here is {max_bytes / 1e6:.0f} MB.")
        with _file_errors(parsed, "read"):
            download = self._files.download(str(parsed))
            try:
                # Read one byte past the limit: a file that grew since get_metadata is refused too.
                data = download.contents.read(max_bytes + 1)
            finally:
                download.contents.close()
        if len(data) > max_bytes:
            raise VolumeFileError(f"{parsed} is larger than {max_bytes / 1e6:.0f} MB; the limit here.")
        return data

    def write_bytes(self, path: str, data: bytes) -> None:
        parsed = _file(path)
        with _file_errors(parsed, "write"):
            self._files.upload(str(parsed), io.BytesIO(data), overwrite=True)

    @contextmanager
    def open_new_file(self, path: str) -> Iterator[BinaryIO]:
        parsed = _file(path)
        with tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY_BYTES) as spool:
            yield spool  # type: ignore[misc]  # a SpooledTemporaryFile is a binary file
            spool.seek(0)
            with _file_errors(parsed, "write"):
                # overwrite=False: the Files API refuses to replace a file (exports are immutable).
                self._files.upload(str(parsed), spool, overwrite=False)

    def delete_file(self, path: str) -> None:
        from databricks.sdk.errors import NotFound

        parsed = _file(path)
        try:
            with _file_errors(parsed, "delete"):
                self._files.delete(str(parsed))
        except VolumeFileError as error:
            if not isinstance(error.__cause__, NotFound):
                raise

    def list_directory(self, path: str) -> list[VolumeEntry]:
        parsed = VolumePath.parse(path)
        with _file_errors(parsed, "list"):
            listed = list(self._files.list_directory_contents(str(parsed)))
        entries = [entry for entry in map(_entry, listed) if entry is not None]
        return sorted(entries, key=lambda entry: entry.name)

    def size(self, path: str) -> int:
        return int(self._metadata(path).content_length)

    def fingerprint(self, path: str) -> str:
        metadata = self._metadata(path)
        return f"{metadata.content_length}:{metadata.last_modified}"

    def _metadata(self, path: str) -> Any:
        parsed = _file(path)
        with _file_errors(parsed, "read"):
            metadata = self._files.get_metadata(str(parsed))
        if metadata.content_length is None:
            raise VolumeFileError(f"{parsed} has no size; it may be a directory.")
        return metadata
