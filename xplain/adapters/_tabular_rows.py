"""A table row as the tabular adapter encodes it, and what is computed once per such row.

:class:`EncodedRow` is written once, at encoding, and never after. What the adapter learns
about a row later (its scores per output, its inputs in the model's space) lives in a
:class:`RowMemo` of the adapter, keyed weakly by the row object: predicting a row and
building its views then cost one model call between them, not two, and the memo forgets a
row with the row itself.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import numpy as np

from xplain.adapters.base import Encoded

V = TypeVar("V")


@dataclass(eq=False)
class EncodedRow(Encoded):
    """One validated table row: ``row`` holds its schema-matrix values ``[d]``."""

    row: np.ndarray = field(kw_only=True)  # [d] float, categories as codes

    # identity semantics: a row is its own memo key (its fields hold arrays)
    __eq__ = object.__eq__
    __hash__ = object.__hash__


class RowMemo(Generic[V]):
    """Values computed once per (encoded row, key), for many rows in one computation.

    Thread-safe: the table is read and written under a lock; the computation runs outside
    it, so concurrent calls on other rows are not serialised (two threads asking for the
    same row object at once may both compute it; the first answer stays).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._values: weakref.WeakKeyDictionary[EncodedRow, dict[Hashable, V]] = (
            weakref.WeakKeyDictionary()
        )

    def __getstate__(self) -> dict[str, Any]:
        return {}  # a memo is a cache: a pickled copy (a worker process) starts empty

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__()

    def get(
        self,
        rows: Sequence[EncodedRow],
        key: Hashable,
        compute: Callable[[list[EncodedRow]], Sequence[V]],
    ) -> list[V]:
        """The value of each row for ``key``; ``compute(missing)`` gives those not known."""
        with self._lock:  # each row's table, looked up once (a weak reference per lookup)
            tables = [self._values.get(r) for r in rows]
        missing = list(
            {id(r): r for r, t in zip(rows, tables, strict=True) if t is None or key not in t}
            .values()
        )
        if missing:
            computed = compute(missing)
            with self._lock:
                for row, value in zip(missing, computed, strict=True):
                    self._values.setdefault(row, {}).setdefault(key, value)
                tables = [self._values[r] for r in rows]
        with self._lock:
            return [t[key] for t in tables]  # type: ignore[index]
