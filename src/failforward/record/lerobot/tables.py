"""Parquet files of the dataset (pyarrow): frame tables, the tasks table and the episodes table.

Vector columns ``[T, D]`` are stored as fixed-size lists of ``D`` (``datasets.Sequence(length=D)``), scalar columns
as plain values; one row group per episode in the data files.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

PANDAS_VERSION = "2.2.3"  # stated in the tasks table's pandas metadata (the layout pandas has read since 1.x)


def frame_table(columns: dict[str, np.ndarray]) -> pa.Table:
    """``[T]`` / ``[T, D]`` numpy columns → an arrow table (``[T, D]`` as fixed-size lists)."""
    arrays = {}
    for name, values in columns.items():
        if values.ndim == 2:
            flat = pa.array(values.reshape(-1), type=pa.from_numpy_dtype(values.dtype))
            arrays[name] = pa.FixedSizeListArray.from_arrays(flat, values.shape[1])
        else:
            arrays[name] = pa.array(values, type=pa.from_numpy_dtype(values.dtype))
    return pa.table(arrays)


class DataFile:
    """One ``data/chunk-*/file-*.parquet`` being written, a row group per episode."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path, self.rows = path, 0
        self._writer: pq.ParquetWriter | None = None

    def append(self, table: pa.Table) -> None:
        if self._writer is None:
            self._writer = pq.ParquetWriter(self.path, table.schema, compression="snappy")
        self._writer.write_table(table, row_group_size=max(1, table.num_rows))
        self.rows += table.num_rows

    def size_mb(self) -> float:
        return self.path.stat().st_size / 2**20 if self.path.exists() else 0.0

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()


def write_tasks(path: Path, tasks: list[str]) -> None:
    """``meta/tasks.parquet``: ``task_index`` per task string, the task as the (pandas) index named ``task``."""
    table = pa.table({"task_index": pa.array(range(len(tasks)), pa.int64()), "task": pa.array(tasks, pa.string())})
    _write(path, table.replace_schema_metadata({b"pandas": json.dumps(_pandas_metadata()).encode()}))


def write_episodes(path: Path, rows: list[dict[str, Any]]) -> None:
    """``meta/episodes/chunk-000/file-000.parquet``: one row per episode."""
    _write(path, pa.Table.from_pylist(rows))


def _write(path: Path, table: pa.Table) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, path, compression="snappy")


def _pandas_metadata() -> dict[str, Any]:
    """What pandas' ``to_parquet`` stores for a frame with a ``task_index`` column indexed by ``task``."""
    column = {"metadata": None}
    return {
        "index_columns": ["task"],
        "column_indexes": [
            {
                "name": None,
                "field_name": None,
                "pandas_type": "unicode",
                "numpy_type": "object",
                "metadata": {"encoding": "UTF-8"},
            }
        ],
        "columns": [
            {"name": "task_index", "field_name": "task_index", "pandas_type": "int64", "numpy_type": "int64", **column},
            {"name": "task", "field_name": "task", "pandas_type": "unicode", "numpy_type": "object", **column},
        ],
        "creator": {"library": "pyarrow", "version": pa.__version__},
        "pandas_version": PANDAS_VERSION,
    }
