"""Reads a .safetensors file with numpy alone.

The format is small enough to read directly (8-byte little-endian header length, a JSON
header of name → dtype/shape/byte range, then raw little-endian buffers), which spares a
dependency.
"""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path

import numpy as np

_DTYPES = {
    "F64": np.dtype("<f8"),
    "F32": np.dtype("<f4"),
    "F16": np.dtype("<f2"),
    "I64": np.dtype("<i8"),
    "I32": np.dtype("<i4"),
    "I16": np.dtype("<i2"),
    "I8": np.dtype("i1"),
    "U8": np.dtype("u1"),
    "BOOL": np.dtype("?"),
}
# A header is a few kB of JSON; anything near this is a damaged or foreign file.
_MAX_HEADER_BYTES = 100_000_000


def read_safetensors(path: Path) -> dict[str, np.ndarray]:
    """All tensors in the file, by name. Raises ValueError naming the file if it is malformed."""
    path = Path(path)
    with path.open("rb") as file:
        size = os.fstat(file.fileno()).st_size
        prefix = file.read(8)
        if len(prefix) < 8:
            raise ValueError(f"{path} is too short to be a safetensors file.")
        (header_length,) = struct.unpack("<Q", prefix)
        if header_length > min(_MAX_HEADER_BYTES, size - 8):
            raise ValueError(f"{path} is not a safetensors file (header length {header_length}).")
        try:
            header = json.loads(file.read(header_length))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise ValueError(f"{path} has an unreadable safetensors header: {error}") from error
        if not isinstance(header, dict):
            raise ValueError(f"{path} has a safetensors header that is not a JSON object.")
        body_start, body_size = 8 + header_length, size - 8 - header_length
        tensors: dict[str, np.ndarray] = {}
        for name, entry in header.items():
            if name == "__metadata__":
                continue
            dtype, shape, start, end = _layout(path, name, entry, body_size)
            # One tensor in memory at a time, rather than the whole file and then its copies.
            file.seek(body_start + start)
            tensors[name] = np.frombuffer(file.read(end - start), dtype=dtype).reshape(shape)
    return tensors


def _layout(path: Path, name: str, entry: object, body_size: int) -> tuple[np.dtype, tuple[int, ...], int, int]:
    try:
        dtype = _DTYPES[entry["dtype"]]  # type: ignore[index]
        shape = tuple(int(size) for size in entry["shape"])  # type: ignore[index]
        start, end = (int(offset) for offset in entry["data_offsets"])  # type: ignore[index]
    except (KeyError, TypeError, ValueError) as error:
        raise ValueError(f"{path}: tensor {name!r} has an unusable header entry ({error}).") from error
    expected = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if not 0 <= start <= end <= body_size or end - start != expected:
        raise ValueError(f"{path}: tensor {name!r} points outside the file or has the wrong size.")
    return dtype, shape, start, end
