"""The rows of a dataset to explain, read one partition at a time.

``data`` may be a DataFrame, a Parquet file, directory or glob, a list of instances
(texts, images...), an array or tensor whose first axis indexes the instances, or a
Hugging Face ``datasets.Dataset``. Each partition is a DataFrame with a ``row_id``
column (the row's position in ``data``) and the instances: a table's own columns, or one
column ``instance`` holding them.
"""

from __future__ import annotations

import glob
import hashlib
import os
import pickle
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from xplain.errors import InvalidInputError
from xplain.scale.partition import ROW_ID

INSTANCE = "instance"  # the column of a partition made from a list or an array


@dataclass
class Source:
    """``n_rows`` rows of ``data``; :meth:`partition` reads rows ``[start, stop)``."""

    data: Any
    n_rows: int
    kind: str  # "frame", "parquet", "items", "hf"
    columns: list[str]

    @property
    def default_column(self) -> str | None:
        """The instance column of a list or array (None: a table, its rows are instances)."""
        return INSTANCE if self.kind == "items" else None

    def partition(self, start: int, stop: int) -> pd.DataFrame:
        """Rows ``[start, stop)`` with their ``row_id``."""
        if self.kind == "frame":
            frame = self.data.iloc[start:stop].reset_index(drop=True)
        elif self.kind == "parquet":
            frame = self.data.take(np.arange(start, stop)).to_pandas()
        elif self.kind == "hf":
            frame = self.data.select(range(start, stop)).to_pandas()
        else:
            frame = pd.DataFrame({INSTANCE: pd.Series(list(self.data[start:stop]), dtype=object)})
        if ROW_ID in frame.columns:
            raise InvalidInputError(
                f"The data has a column named {ROW_ID!r}, the name xplain gives each row's "
                "position; rename it."
            )
        frame.insert(0, ROW_ID, np.arange(start, stop, dtype=np.int64))
        return frame


def open_source(data: Any) -> Source:
    """A :class:`Source` over ``data`` (see the module docstring)."""
    if isinstance(data, pd.DataFrame):
        return Source(data, len(data), "frame", [str(c) for c in data.columns])
    if isinstance(data, str | os.PathLike):
        return _parquet(os.fspath(data))
    if type(data).__name__ == "Dataset" and hasattr(data, "select") and hasattr(data, "to_pandas"):
        return Source(data, len(data), "hf", list(data.column_names))
    if isinstance(data, pd.Series | dict | set) or not hasattr(data, "__len__"):
        raise InvalidInputError(
            "explain_dataset takes a DataFrame, a Parquet path or glob, a list of instances, "
            f"an array or tensor, or a datasets.Dataset. Got {type(data).__name__}."
        )
    items = data if hasattr(data, "__getitem__") else list(data)
    return Source(items, len(items), "items", [INSTANCE])


def _parquet(path: str) -> Source:
    import pyarrow.dataset as ds

    paths = sorted(glob.glob(path)) if glob.has_magic(path) else [path]
    if not paths or not all(os.path.exists(p) for p in paths):
        raise InvalidInputError(f"No Parquet file or directory matches {path!r}.")
    try:
        dataset = ds.dataset(paths[0] if len(paths) == 1 else paths, format="parquet")
        n = dataset.count_rows()
    except (OSError, ValueError) as err:  # pyarrow.ArrowInvalid is a ValueError
        raise InvalidInputError(f"{path!r} is not readable as Parquet: {err}") from err
    return Source(dataset, n, "parquet", list(dataset.schema.names))


def partition_hash(frame: pd.DataFrame) -> str:
    """A fingerprint of a partition's content (column names and every value)."""
    digest = hashlib.blake2b(digest_size=16)
    for name in frame.columns:
        digest.update(repr(name).encode())
        column = frame[name]
        if column.dtype != object:
            values = column.to_numpy()
            digest.update(str(values.dtype).encode())
            digest.update(np.ascontiguousarray(values).tobytes())
            continue
        for value in column:
            digest.update(_value_bytes(value))
    return digest.hexdigest()


def _value_bytes(value: Any) -> bytes:
    if hasattr(value, "detach"):  # a torch tensor
        value = value.detach().cpu().numpy()
    if isinstance(value, np.ndarray):
        head = f"{value.dtype}{value.shape}".encode()
        return head + np.ascontiguousarray(value).tobytes()
    if isinstance(value, str):
        return b"s" + value.encode() + b"\0"
    return pickle.dumps(value, protocol=4)


def combined_hash(hashes: Sequence[str]) -> str:
    """One fingerprint of the whole input, from its partitions' fingerprints."""
    return hashlib.blake2b("".join(hashes).encode(), digest_size=16).hexdigest()
