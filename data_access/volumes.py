"""Files in Unity Catalog Volumes: `/Volumes/<catalog>/<schema>/<volume>/<path>`.

Locally the same paths are mirrored under `WORKBENCH_HOME/volumes/`; on Databricks they go
through `WorkspaceClient().files`. Every path is parsed before use, so `..`, absolute
escapes and paths outside the volumes a caller allows are refused, never resolved.
"""

from __future__ import annotations

import posixpath
import re
from abc import ABC, abstractmethod
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

_PART = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_\-]*\Z")
_FILE_PART = re.compile(r"^[^/\\\x00]+\Z")

# A preview never needs more than this; larger files are refused before they are read.
MAX_READ_BYTES = 64 * 1024 * 1024


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
        parts = path[len("/Volumes/") :].split("/")
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


class LocalVolumeFiles(VolumeFiles):
    """The laptop mirror: `/Volumes/c/s/v/x` lives at `<home>/volumes/c/s/v/x`."""

    def __init__(self, home: Path) -> None:
        self.root = (home / "volumes").resolve()

    def local_path(self, path: str) -> Path:
        parsed = VolumePath.parse(path)
        local = self.root.joinpath(parsed.catalog, parsed.schema, parsed.volume, *filter(None, parsed.relative.split("/")))
        # Symlinks inside the mirror could still point elsewhere; resolve and re-check.
        resolved = local.resolve()
        if resolved != self.root and self.root not in resolved.parents:
            raise VolumePathError(f"{path!r} resolves outside the volumes.")
        return resolved

    def read_bytes(self, path: str, max_bytes: int = MAX_READ_BYTES) -> bytes:
        local = self.local_path(path)
        size = self.size(path)
        if size > max_bytes:
            raise VolumeFileError(f"{path} is {size / 1e6:.1f} MB; the limit here is {max_bytes / 1e6:.0f} MB.")
        return local.read_bytes()

    def write_bytes(self, path: str, data: bytes) -> None:
        local = self.local_path(path)
        local.parent.mkdir(parents=True, exist_ok=True)
        local.write_bytes(data)

    def list_directory(self, path: str) -> list[VolumeEntry]:
        local = self.local_path(path)
        if not local.is_dir():
            raise VolumeFileError(f"{path} is not a directory.")
        base = str(VolumePath.parse(path))
        entries = []
        for child in sorted(local.iterdir()):
            is_dir = child.is_dir()
            entries.append(VolumeEntry(f"{base}/{child.name}", child.name, is_dir, None if is_dir else child.stat().st_size))
        return entries

    def size(self, path: str) -> int:
        local = self.local_path(path)
        if not local.is_file():
            raise VolumeFileError(f"{path} does not exist.")
        return local.stat().st_size

    def fingerprint(self, path: str) -> str:
        local = self.local_path(path)
        if not local.is_file():
            raise VolumeFileError(f"{path} does not exist.")
        stat = local.stat()
        return f"{stat.st_size}:{stat.st_mtime_ns}"

    def volume_names(self, catalog: str, schema: str) -> list[str]:
        directory = self.root / catalog / schema
        return sorted(p.name for p in directory.iterdir() if p.is_dir()) if directory.is_dir() else []

    def create_volume(self, catalog: str, schema: str, volume: str) -> str:
        path = VolumePath.parse(f"/Volumes/{catalog}/{schema}/{volume}")
        self.local_path(str(path)).mkdir(parents=True, exist_ok=True)
        return str(path)
