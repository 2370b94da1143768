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
    columns: list[Any]  # the column labels as the data has them (a DataFrame's may be ints)

    @property
    def default_column(self) -> str | None:
        """The instance column of a list or array (None: a table, its rows are instances)."""
        return INSTANCE if self.kind == "items" else None

    def partition(self, start: int, stop: int) -> pd.DataFrame:
        """Rows ``[start, stop)`` with their ``row_id``."""
        if self.kind == "frame":
            frame = self.data.iloc[start:stop].reset_index(drop=True)
        elif self.kind == "parquet":
            try:
                frame = self.data.take(np.arange(start, stop)).to_pandas()
            except (OSError, ValueError, TypeError) as err:  # ArrowInvalid, ArrowTypeError
                raise InvalidInputError(
                    f"Reading rows {start}..{stop - 1} of the Parquet data failed "
                    f"({type(err).__name__}: {err}); check that its files are readable and "
                    "that every file gives each column the same type."
                ) from err
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
        return Source(data, len(data), "frame", list(data.columns))
    if isinstance(data, str | os.PathLike):
        return _parquet(os.fspath(data))
    if is_hf_dataset(data):
        return Source(data, len(data), "hf", list(data.column_names))
    if isinstance(data, pd.Series | dict | set) or not hasattr(data, "__len__"):
        raise InvalidInputError(
            "explain_dataset takes a DataFrame, a Parquet path or glob, a list of instances, "
            f"an array or tensor, or a datasets.Dataset. Got {type(data).__name__}."
        )
    items = data if hasattr(data, "__getitem__") else list(data)
    return Source(items, len(items), "items", [INSTANCE])


def is_hf_dataset(data: Any) -> bool:
    """Whether ``data`` is (or looks like) a Hugging Face ``datasets.Dataset``."""
    return type(data).__name__ == "Dataset" and all(
        hasattr(data, name) for name in ("select", "to_pandas", "column_names")
    )


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
    names = list(dataset.schema.names)
    # pyarrow takes the first file's schema and reads a column another file lacks as
    # nulls: refuse files whose columns differ rather than explain made-up missing values
    for fragment in dataset.get_fragments():
        theirs = fragment.physical_schema.names
        if sorted(theirs) != sorted(names):
            missing = ", ".join(repr(c) for c in names if c not in theirs)
            extra = ", ".join(repr(c) for c in theirs if c not in names)
            differences = " and ".join(
                [f"lacks {missing}"] * bool(missing) + [f"has {extra}, which the first lacks"]
                * bool(extra)
            )
            raise InvalidInputError(
                f"The Parquet files of {path!r} do not all have the same columns: "
                f"{fragment.path!r} {differences}. Pass the files of one table (or a glob "
                "that matches only those)."
            )
    return Source(dataset, n, "parquet", names)


def partition_hash(frame: pd.DataFrame) -> str:
    """A fingerprint of a partition's content (column names, dtypes and every value), the
    same in every process and session."""
    digest = hashlib.blake2b(digest_size=16)
    for name in frame.columns:
        column = frame[name]
        _update(digest, repr(name).encode())
        _update(digest, str(column.dtype).encode())
        values = column.to_numpy()
        if values.dtype != object:  # numbers, bools, datetimes: their bytes
            _update(digest, np.ascontiguousarray(values).tobytes())
            continue
        # strings (pandas' str dtype too), mixed objects, arrays: value by value; the
        # bytes of an object array would be its pointers, which differ on every run
        for value in values:
            _update(digest, _value_bytes(value))
    return digest.hexdigest()


def _update(digest: Any, data: bytes) -> None:
    """Feed ``data`` with its length, so that no two sequences of values give one stream
    (``["a", "b"]`` and ``["a<sep>b"]`` differ whatever the separator)."""
    digest.update(len(data).to_bytes(8, "little"))
    digest.update(data)


def _value_bytes(value: Any) -> bytes:
    if hasattr(value, "detach"):  # a torch tensor
        value = value.detach().cpu().numpy()
    if isinstance(value, np.ndarray):
        head = f"{value.dtype}{value.shape}".encode()
        return head + np.ascontiguousarray(value).tobytes()
    if isinstance(value, str):
        return b"s" + value.encode()
    return pickle.dumps(value, protocol=4)


def combined_hash(hashes: Sequence[str]) -> str:
    """One fingerprint of the whole input, from its partitions' fingerprints."""
    return hashlib.blake2b("".join(hashes).encode(), digest_size=16).hexdigest()
