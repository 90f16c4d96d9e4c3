"""Arrow columns for `SqlEngine.insert_rows`: vectors as one list column over a float32 buffer,
and one value repeated down a column, without a Python object per row."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np
import pyarrow as pa

TIMESTAMP = pa.timestamp("us", tz="UTC")


def vector_column(matrix: np.ndarray) -> pa.ListArray:
    """An (n, dimension) matrix as n variable-length lists (`ARRAY<FLOAT>`), sharing its buffer."""
    rows = np.ascontiguousarray(matrix, dtype=np.float32)
    count, dimension = rows.shape
    offsets = pa.array(np.arange(0, (count + 1) * dimension, dimension, dtype=np.int32))
    return pa.ListArray.from_arrays(offsets, pa.array(rows.reshape(-1)))


def repeated(value: Any, count: int, type_: pa.DataType) -> pa.Array:
    return pa.repeat(pa.scalar(value, type_), count)


def timestamps(at: datetime, count: int) -> pa.Array:
    return repeated(at, count, TIMESTAMP)
