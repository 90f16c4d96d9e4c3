"""Files in Unity Catalog Volumes: `/Volumes/<catalog>/<schema>/<volume>/<path>`.

Locally the same paths are mirrored under `WORKBENCH_HOME/volumes/`; on Databricks they go
through `WorkspaceClient().files`. Every path is parsed before use, so `..`, absolute
escapes and paths outside the volumes a caller allows are refused, never resolved.
Locally a path must also stay in its own volume once links are followed: a volume's grants
cover its own files, so a link into another catalog's volume, or a volume that is itself a
link, is not served.
"""

from __future__ import annotations

import errno
import os
import posixpath
import re
import uuid
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

_PART = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_\-]*\Z")
_FILE_PART = re.compile(r"^[^/\\\x00]+\Z")

# A preview never needs more than this; larger files are refused before they are read.
MAX_READ_BYTES = 64 * 1024 * 1024
# What file systems (and the Files API) accept: longer names fail with ENAMETOOLONG.
MAX_NAME_BYTES = 255
MAX_PATH_BYTES = 4096
# Large sequential writes (exports) go out in chunks this size; far fewer system calls than lines.
WRITE_BUFFER_BYTES = 1024 * 1024


class VolumePathError(ValueError):
    """A path is not a well-formed `/Volumes/...` path, or lies outside what is allowed."""


class VolumeFileError(OSError):
    """A file could not be read or written (missing, too large, no permission)."""


@dataclass(frozen=True)
class VolumePath:
    catalog: str
    schema: str
    volume: str
    relative: str = ""

    @classmethod
    def parse(cls, path: str) -> VolumePath:
        if not isinstance(path, str) or not path.startswith("/Volumes/"):
            raise VolumePathError(f"{path!r} is not a /Volumes/<catalog>/<schema>/<volume>/… path.")
        if "\\" in path or "\x00" in path:
            raise VolumePathError(f"{path!r} contains characters a volume path cannot have.")
        if len(path.encode()) > MAX_PATH_BYTES:
            raise VolumePathError(f"{_shortened(path)} is too long: a path may have at most {MAX_PATH_BYTES:,} bytes.")
        parts = path[len("/Volumes/") :].split("/")
        if any(len(part.encode()) > MAX_NAME_BYTES for part in parts):
            raise VolumePathError(f"{_shortened(path)} is too long: a file or folder name may have at most {MAX_NAME_BYTES} bytes.")
        if any(part in ("..", ".") for part in parts):
            raise VolumePathError(f"{path!r} uses '.' or '..'; give the path inside the volume directly.")
        parts = [p for p in parts if p]
        if len(parts) < 3 or not all(_PART.match(p) for p in parts[:3]):
            raise VolumePathError(f"{path!r} does not name a catalog, schema and volume.")
        if not all(_FILE_PART.match(p) for p in parts[3:]):
            raise VolumePathError(f"{path!r} has an empty or invalid file name part.")
        return cls(parts[0], parts[1], parts[2], "/".join(parts[3:]))

    @property
    def volume_root(self) -> str:
        return f"/Volumes/{self.catalog}/{self.schema}/{self.volume}"

    def __str__(self) -> str:
        return f"{self.volume_root}/{self.relative}" if self.relative else self.volume_root

    def child(self, name: str) -> VolumePath:
        return VolumePath.parse(posixpath.join(str(self), name))

    def is_within(self, other: VolumePath) -> bool:
        if (self.catalog, self.schema, self.volume) != (other.catalog, other.schema, other.volume):
            return False
        if not other.relative:
            return True
        return self.relative == other.relative or self.relative.startswith(other.relative + "/")


def _shortened(path: str, keep: int = 80) -> str:
    return path if len(path) <= keep else f"{path[:keep]}…"


def check_allowed(path: str, allowed_roots: Iterable[str]) -> VolumePath:
    """Parse `path` and make sure it lies inside one of `allowed_roots` (also paths)."""
    parsed = VolumePath.parse(path)
    roots = [VolumePath.parse(root) for root in allowed_roots]
    if not any(parsed.is_within(root) for root in roots):
        names = ", ".join(str(r) for r in roots) or "none"
        raise VolumePathError(f"{parsed} is outside this sheet's volumes ({names}).")
    return parsed


@dataclass(frozen=True)
class VolumeEntry:
    path: str
    name: str
    is_directory: bool
    size: int | None


class VolumeFiles(ABC):
    """Read, list and write files in volumes."""

    @abstractmethod
    def read_bytes(self, path: str, max_bytes: int = MAX_READ_BYTES) -> bytes: ...

    @abstractmethod
    def write_bytes(self, path: str, data: bytes) -> None: ...

    @abstractmethod
    def open_new_file(self, path: str) -> AbstractContextManager[BinaryIO]:
        """A new file written in pieces, in constant memory (exports of any size).

        The file appears, complete, when the block ends without an error; after an error it
        does not exist. An existing file is never replaced: writing one is refused.
        """

    @abstractmethod
    def delete_file(self, path: str) -> None:
        """Remove a file; one that does not exist is not an error."""

    @abstractmethod
    def list_directory(self, path: str) -> list[VolumeEntry]: ...

    @abstractmethod
    def size(self, path: str) -> int: ...

    @abstractmethod
    def fingerprint(self, path: str) -> str:
        """Changes when the file does (size and modification time): for caches of renders."""

    def exists(self, path: str) -> bool:
        try:
            self.size(path)
        except VolumeFileError:
            return False
        return True


def _os_error_message(path: str, error: OSError) -> str:
    if error.errno == errno.ENAMETOOLONG:
        return f"{_shortened(path)} is too long for the file system."
    if error.errno in (errno.EACCES, errno.EPERM):
        return f"{path}: permission denied."
    if error.errno == errno.ELOOP:
        return f"{path} is a link that leads round in a loop."
    return f"{path}: {error.strerror or error}."


@contextmanager
def _os_errors(path: str) -> Iterator[None]:
    """Whatever the file system says about one path becomes a VolumeFileError about that path."""
    try:
        yield
    except VolumeFileError:
        raise
    except OSError as error:
        raise VolumeFileError(_os_error_message(path, error)) from error
    except RuntimeError as error:  # pathlib's word for a symlink loop met while resolving
        raise VolumeFileError(f"{path} is a link that leads round in a loop.") from error


class LocalVolumeFiles(VolumeFiles):
    """The laptop mirror: `/Volumes/c/s/v/x` lives at `<home>/volumes/c/s/v/x`."""

    def __init__(self, home: Path) -> None:
        self.root = (home / "volumes").resolve()

    def local_path(self, path: str) -> Path:
        """Where `path` lives once links are followed; refused unless that is inside its own volume."""
        parsed = VolumePath.parse(path)
        volume = self.root.joinpath(parsed.catalog, parsed.schema, parsed.volume)
        local = volume.joinpath(*filter(None, parsed.relative.split("/")))
        with _os_errors(path):
            resolved = local.resolve()
            if resolved == volume or volume in resolved.parents:
                return resolved
            volume_is_a_link = volume.resolve() != volume  # only worth a second look when refusing
        if volume_is_a_link:
            raise VolumePathError(
                f"Volume {parsed.volume_root} is a link to a folder elsewhere; a volume must be a folder of the store, so it is not served."
            )
        raise VolumePathError(f"{parsed} is a link that leads out of its volume, so it is not served.")

    def read_bytes(self, path: str, max_bytes: int = MAX_READ_BYTES) -> bytes:
        local = self.local_path(path)
        size = self.size(path)
        if size > max_bytes:
            raise VolumeFileError(f"{path} is {size / 1e6:.1f} MB; the limit here is {max_bytes / 1e6:.0f} MB.")
        with _os_errors(path):
            return local.read_bytes()

    def write_bytes(self, path: str, data: bytes) -> None:
        local = self.local_path(path)
        with _os_errors(path):
            local.parent.mkdir(parents=True, exist_ok=True)
            local.write_bytes(data)

    @contextmanager
    def open_new_file(self, path: str) -> Iterator[BinaryIO]:
        local = self.local_path(path)
        if local.exists():
            raise VolumeFileError(f"{path} already exists; it is never replaced.")
        local.parent.mkdir(parents=True, exist_ok=True)
        # Written under a hidden name beside it, then linked into place: a reader never sees a
        # half-written file, and the link fails rather than replace a file that appeared meanwhile.
        partial = local.with_name(f".{local.name}.{uuid.uuid4().hex}.part")
        try:
            with partial.open("xb", buffering=WRITE_BUFFER_BYTES) as handle:
                yield handle
            try:
                os.link(partial, local)
            except FileExistsError as error:
                raise VolumeFileError(f"{path} already exists; it is never replaced.") from error
        finally:
            partial.unlink(missing_ok=True)

    def delete_file(self, path: str) -> None:
        local = self.local_path(path)
        if local.is_dir():
            raise VolumeFileError(f"{path} is a directory, not a file.")
        local.unlink(missing_ok=True)

    def list_directory(self, path: str) -> list[VolumeEntry]:
        local = self.local_path(path)
        base = str(VolumePath.parse(path))
        with _os_errors(path):
            if not local.is_dir():
                raise VolumeFileError(f"{path} is not a directory.")
            with os.scandir(local) as listing:
                children = sorted(listing, key=lambda child: child.name)
            return [self._entry(f"{base}/{child.name}", child) for child in children]

    def _entry(self, path: str, child: os.DirEntry[str]) -> VolumeEntry:
        """A listed file; a link that cannot be served is listed without a size, and says why when read."""
        if child.is_symlink():
            try:
                target = self.local_path(path)
            except (VolumePathError, VolumeFileError):
                return VolumeEntry(path, child.name, False, None)
            is_dir = target.is_dir()
            return VolumeEntry(path, child.name, is_dir, None if is_dir or not target.is_file() else target.stat().st_size)
        is_dir = child.is_dir(follow_symlinks=False)
        return VolumeEntry(path, child.name, is_dir, None if is_dir else child.stat(follow_symlinks=False).st_size)

    def size(self, path: str) -> int:
        local = self.local_path(path)
        with _os_errors(path):
            if not local.is_file():
                raise VolumeFileError(f"{path} does not exist.")
            return local.stat().st_size

    def fingerprint(self, path: str) -> str:
        local = self.local_path(path)
        with _os_errors(path):
            if not local.is_file():
                raise VolumeFileError(f"{path} does not exist.")
            stat = local.stat()
        return f"{stat.st_size}:{stat.st_mtime_ns}"

    def volume_names(self, catalog: str, schema: str) -> list[str]:
        directory = self.root / catalog / schema
        return sorted(p.name for p in directory.iterdir() if p.is_dir()) if directory.is_dir() else []

    def create_volume(self, catalog: str, schema: str, volume: str) -> str:
        path = VolumePath.parse(f"/Volumes/{catalog}/{schema}/{volume}")
        local = self.local_path(str(path))
        with _os_errors(str(path)):
            local.mkdir(parents=True, exist_ok=True)
        return str(path)
