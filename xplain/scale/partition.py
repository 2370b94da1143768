"""The pure core of ``explain_dataset``: explain one partition, a table in and a table out.

Engines only schedule calls of :func:`explain_partition`; a Spark ``mapInPandas`` or any
other scheduler can call it the same way. Results do not depend on how rows are split
into partitions, nor on which process explains them:

* a method that samples (a ``seed`` parameter: lime, kernel_shap, smoothgrad...) gets
  the row's own seed ``[seed, row_id]``, i.e. ``numpy.random.default_rng([seed, row_id])``,
  and explains the row alone;
* a method that explains many rows in one pass (``Method.batched()``, e.g. tree_shap)
  gets fixed blocks of ``batch_rows`` rows, ``row_id // batch_rows``, so partitions must
  hold whole blocks;
* any other method explains each row alone.

Models whose outputs depend on torch's thread count (float32 reductions) may differ in
the last bits between processes with other thread counts; each part records its own.
"""

from __future__ import annotations

import dataclasses
import json
import pickle
import threading
from dataclasses import dataclass, field, replace
from itertools import groupby
from typing import TYPE_CHECKING, Any

import pandas as pd
import pyarrow as pa

from xplain.errors import InvalidInputError, RowError
from xplain.limits import Limits, override
from xplain.registry import get_method
from xplain.scale.schema import to_table

if TYPE_CHECKING:
    from xplain.explainer import Explainer
    from xplain.explanation import Explanation

ROW_ID = "row_id"
WORKER_KEY = b"xplain_worker"  # the part's metadata on the process that computed it
DEFAULT_BATCH_ROWS = 256  # tree_shap: 300 rows/s in blocks of 64 rows, 510 in 256, 790 in 1024


@dataclass(frozen=True)
class PartitionSpec:
    """What to compute for every row of a partition.

    ``method`` (a registered name) with ``params`` for class ``target``; ``seed`` seeds
    each row of a sampling method as ``[seed, row_id]``; ``batch_rows`` is the block size
    of batched methods; ``column`` names the input column holding the instances (None:
    each row of the table is an instance, for tabular models); ``features`` are the
    output's value columns when every row has the same features (else None: list columns).
    """

    method: str
    params: dict[str, Any] = field(default_factory=dict)
    target: int | str | None = None
    seed: int = 0
    batch_rows: int = DEFAULT_BATCH_ROWS
    column: str | None = None
    features: list[str] | None = None
    # the ceilings of xplain.limits in force where the run started (an override there is
    # thread-local and would not reach worker processes otherwise); None: the worker's own
    limits: Limits | None = None

    @property
    def seeded(self) -> bool:
        """Whether the method samples, and so gets a seed per row."""
        return "seed" in get_method(self.method).parameters

    @property
    def blocks(self) -> bool:
        """Whether rows are explained in blocks of ``batch_rows`` (a batched method that
        does not sample); else one by one, and ``batch_rows`` does not matter."""
        return not self.seeded and get_method(self.method).batched()


def explain_partition(explainer: Explainer, table: pd.DataFrame, spec: PartitionSpec) -> pa.Table:
    """Explain every row of ``table`` (a ``row_id`` column plus the instances) as ``spec``
    says; one output row per input row, in ``row_id`` order (see :mod:`xplain.scale.schema`)."""
    if ROW_ID not in table.columns:
        raise InvalidInputError(f"A partition table needs a {ROW_ID!r} column (the row's "
                                "position in the dataset).")
    if spec.limits is not None:
        with override(**dataclasses.asdict(spec.limits)):
            return explain_partition(explainer, table, replace(spec, limits=None))
    table = table.sort_values(ROW_ID, kind="stable")
    row_ids = [int(i) for i in table[ROW_ID]]
    items = instances_of(explainer, table.drop(columns=[ROW_ID]), spec.column)
    explanations: list[Explanation] = []
    if spec.blocks:
        # one method object for the partition: what it builds once (tree_shap's
        # per-background-row explainers) serves every block
        algorithm = explainer._build(spec.method, dict(spec.params))
        pairs = zip(row_ids, items, strict=True)
        for _, block in groupby(pairs, key=lambda pair: pair[0] // spec.batch_rows):
            ids, block_items = zip(*block, strict=True)
            with _naming_rows(ids):
                explanations += explainer.explain_batch(list(block_items), algorithm, spec.target)
    else:
        for row_id, item in zip(row_ids, items, strict=True):
            seed = {"seed": [spec.seed, row_id]} if spec.seeded else {}
            with _naming_rows([row_id]):
                explanations.append(
                    explainer.explain(item, spec.method, spec.target, **spec.params, **seed)
                )
    table = to_table(row_ids, explanations, spec.features)
    # what computed the part (float32 torch models may differ in the last bits between
    # thread counts): kept in the part's metadata
    import torch

    worker = {"torch_threads": torch.get_num_threads(),
              "torch_deterministic": torch.are_deterministic_algorithms_enabled()}
    return table.replace_schema_metadata({WORKER_KEY: json.dumps(worker).encode()})


def instances_of(explainer: Explainer, table: pd.DataFrame, column: str | None) -> list[Any]:
    """The instances of a partition: the values of ``column``, else the table's rows as
    the explainer's adapter splits a table."""
    if column is None:
        return explainer.adapter.split_batch(table)
    if column not in table.columns:
        raise InvalidInputError(
            f"The data has no column {column!r}; its columns are "
            f"{', '.join(map(repr, table.columns[:20]))}."
        )
    return table[column].tolist()


class _naming_rows:  # noqa: N801 - a context manager used like a function
    """Re-raise an error of the rows ``ids`` as a RowError naming them."""

    def __init__(self, ids: Any) -> None:
        self.ids = list(ids)

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type | None, err: BaseException | None, tb: Any) -> bool:
        if err is None or not isinstance(err, Exception) or isinstance(err, RowError):
            return False
        rows = (f"row {self.ids[0]}" if len(self.ids) == 1
                else f"rows {self.ids[0]}..{self.ids[-1]}")
        raise RowError(f"Explaining {rows} failed: {type(err).__name__}: {err}") from err


# -- one explainer per worker process ------------------------------------------------------
@dataclass(frozen=True)
class ExplainerRef:
    """How a worker gets the explainer: the pickle ``blob`` (or a file ``path`` holding it),
    loaded once per process and kept under ``fingerprint``; ``threads`` (when set) limits
    torch and BLAS in that process, so that workers do not oversubscribe the cores."""

    fingerprint: str
    path: str | None = None
    blob: bytes | None = None
    threads: int | None = None


_LOADED: dict[str, Explainer] = {}
_LOAD_LOCK = threading.Lock()


def explainer_of(ref: ExplainerRef, blob: bytes | None = None) -> Explainer:
    """The explainer ``ref`` names, unpickled on first use in this process (only the latest
    one is kept); ``blob`` overrides ``ref.blob`` (a Dask-scattered copy)."""
    with _LOAD_LOCK:
        explainer = _LOADED.get(ref.fingerprint)
        if explainer is None:
            data = blob if blob is not None else ref.blob
            if data is None:
                assert ref.path is not None
                with open(ref.path, "rb") as f:
                    data = f.read()
            if ref.threads is not None:
                _limit_threads(ref.threads)
            explainer = pickle.loads(data)  # noqa: S301 - the pickle this run wrote
            _LOADED.clear()
            _LOADED[ref.fingerprint] = explainer
        return explainer


def _limit_threads(threads: int) -> None:
    """torch's intra-op threads and the BLAS pools of this worker process."""
    import torch
    from threadpoolctl import threadpool_limits

    torch.set_num_threads(threads)
    threadpool_limits(threads)
