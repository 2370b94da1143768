"""``explain_dataset``: explain every row of a dataset into a directory of Parquet parts.

The data is split into partitions of ``partition_rows`` consecutive rows; an engine
(:mod:`xplain.scale.engines`) runs :func:`xplain.scale.partition.explain_partition` on
each; the driver writes each finished partition atomically (:mod:`xplain.scale.store`).
A rerun with ``resume=True`` keeps the partitions already written for the same run and
computes the rest.
"""

from __future__ import annotations

import contextlib
import math
import os
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import torch

from xplain._identity import config_fingerprint
from xplain._progress import progress_bar
from xplain._version import __version__
from xplain.errors import InvalidParameterError, PartitionsFailedError
from xplain.explanation import jsonable
from xplain.limits import current as current_limits
from xplain.methods.base import Method
from xplain.scale import engines, store
from xplain.scale.partition import DEFAULT_BATCH_ROWS, PartitionSpec, instances_of
from xplain.scale.source import (
    Source,
    combined_hash,
    is_hf_dataset,
    open_source,
    partition_hash,
)

if TYPE_CHECKING:
    from xplain.explainer import Explainer
    from xplain.scale.dataset import ExplanationDataset

MAX_DEFAULT_PARTITION_ROWS = 4096


def explain_dataset(
    explainer: Explainer,
    data: Any,
    method: str | None = None,
    target: int | str | None = None,
    params: Mapping[str, Any] | None = None,
    *,
    output: str | os.PathLike,
    engine: Any = "local",
    n_jobs: int = -1,
    partition_rows: int | None = None,
    batch_rows: int | None = None,
    column: str | None = None,
    seed: int = 0,
    resume: bool = True,
    overwrite: bool = False,
    progress: bool = True,
) -> ExplanationDataset:
    """See :meth:`xplain.Explainer.explain_dataset`."""
    method = explainer._default_method() if method is None else method
    params = _checked_params(explainer, method, params)
    client = _checked_engine(engine)
    workers = engines.worker_count(n_jobs)
    _check_int("seed", seed, 0)
    batch_rows = DEFAULT_BATCH_ROWS if batch_rows is None else batch_rows
    _check_int("batch_rows", batch_rows, 1)
    for name, flag in (("resume", resume), ("overwrite", overwrite), ("progress", progress)):
        if not isinstance(flag, bool):
            raise InvalidParameterError(f"{name} must be True or False. Got {flag!r}.")
    if not isinstance(output, str | os.PathLike) or not os.fspath(output):
        raise InvalidParameterError(
            f"output must be the path of a directory for the Parquet parts. Got {output!r}."
        )
    source = open_source(_instances(explainer, data))
    if source.n_rows == 0:
        raise InvalidParameterError("The data has no rows to explain.")
    column = source.default_column if column is None else column
    if column is not None and column not in source.columns:
        raise InvalidParameterError(
            f"The data has no column {column!r}; its columns are "
            f"{', '.join(map(repr, source.columns[:20]))}."
        )
    spec = PartitionSpec(method, params, target, seed, batch_rows, column,
                         explainer.adapter.fixed_features(), current_limits())
    partition_rows = _partition_rows(partition_rows, source.n_rows, spec)
    first = _check_first_row(explainer, source, spec)

    bounds = [(start, min(start + partition_rows, source.n_rows))
              for start in range(0, source.n_rows, partition_rows)]
    hashes = [partition_hash(source.partition(a, b)) for a, b in bounds]
    fingerprint = jsonable({
        "model_id": explainer.model_id,
        "adapter": config_fingerprint(explainer.adapter.identity()),
        "output": explainer.output,
        "method": method,
        "params": params,
        "target": target,
        "seed": seed,
        "column": column,
        "batch_rows": batch_rows,
        "partition_rows": partition_rows,
        "n_rows": source.n_rows,
        "input": combined_hash(hashes),
        "xplain_version": __version__,
    })
    manifest = jsonable({
        "format": store.FORMAT,
        "fingerprint": fingerprint,
        "n_rows": source.n_rows,
        "partition_rows": partition_rows,
        "batch_rows": batch_rows,
        "partitions": [list(b) for b in bounds],
        "features": spec.features,
        "method": method, "params": params, "seed": seed, "target": target,
        "modality": explainer.modality, "output": explainer.output,
        "labels": first.labels,
        "model_id": explainer.model_id,
        "xplain_version": __version__,
        "torch": {"deterministic": torch.are_deterministic_algorithms_enabled(),
                  "threads": torch.get_num_threads()},
    })
    directory = Path(output)
    store.prepare(directory, manifest, resume=resume, overwrite=overwrite)
    todo = [i for i, (a, b) in enumerate(bounds)
            if not store.finished_part(directory, i, hashes[i], fingerprint)]
    (directory / store.SUCCESS).unlink(missing_ok=True)

    def tasks() -> Iterator[engines.Task]:
        for i in todo:
            yield i, source.partition(*bounds[i])

    failed: dict[int, str] = {}
    bar = progress_bar(total=source.n_rows, initial=source.n_rows - sum(b - a for a, b in
                       (bounds[i] for i in todo)), disable=not progress, desc=method, unit="row")
    try:
        if client is None and engine == "serial":
            outcomes = engines.run_serial(explainer, spec, tasks())
        elif client is None and engine == "local":
            outcomes = engines.run_local(explainer, spec, tasks(), workers)
        else:
            outcomes = engines.run_dask(explainer, spec, tasks(), client, workers, bar.write)
        # closing: an interrupt or a write error here also stops the engine's workers
        with contextlib.closing(outcomes):
            for index, result in outcomes:
                if isinstance(result, BaseException):
                    failed[index] = f"{type(result).__name__}: {result}"
                    continue
                a, b = bounds[index]
                meta = {"fingerprint": fingerprint, "partition": index, "rows": [a, b],
                        "input_hash": hashes[index], "method": method, "seed": seed,
                        "model_id": explainer.model_id, "xplain_version": __version__}
                store.write_part(directory, index, result, jsonable(meta))
                bar.update(b - a)
    except KeyboardInterrupt:
        print(_interrupted(directory, bounds), file=sys.stderr)
        raise
    finally:
        bar.close()
    if failed:
        raise PartitionsFailedError(_failure_message(directory, bounds, failed), failed,
                                    _opened(directory))
    (directory / store.SUCCESS).write_text("")
    return _opened(directory)


def _checked_params(
    explainer: Explainer, method: Any, params: Mapping[str, Any] | None
) -> dict[str, Any]:
    """``params`` validated for ``method`` on this explainer (before any work starts)."""
    if isinstance(method, Method) or not isinstance(method, str):
        raise InvalidParameterError(
            "explain_dataset takes a registered method name with params={...} (it seeds "
            f"each row itself); got {method!r}. E.g. method='kernel_shap', "
            "params={'max_evals': 512}."
        )
    if params is not None and not isinstance(params, Mapping):
        raise InvalidParameterError(f"params must be a dict of the method's parameters. "
                                    f"Got {type(params).__name__}.")
    params = dict(params or {})
    if "seed" in params:
        raise InvalidParameterError(
            "explain_dataset seeds each row itself ([seed, row_id]); pass seed=... to "
            "explain_dataset instead of params={'seed': ...}."
        )
    explainer._build(method, dict(params))  # unknown names, bad values, not applicable
    return params


def _checked_engine(engine: Any) -> Any:
    """The Dask client to use (None otherwise), or an error for an unknown engine."""
    if isinstance(engine, str) and engine in ("serial", "local"):
        return None
    if (isinstance(engine, str) and engine == "dask") or type(engine).__name__ == "Client":
        return engines.dask_client(engine)
    raise InvalidParameterError(
        f"engine must be 'local' (processes on this machine), 'serial', 'dask' (a Dask "
        f"LocalCluster) or a dask.distributed Client. Got {engine!r}."
    )


def _instances(explainer: Explainer, data: Any) -> Any:
    """``data`` as :func:`open_source` takes it: a table, a path or a Dataset as they are;
    anything else (a list, an array, a tensor) split into instances by the adapter, as
    explain_batch splits it (which refuses e.g. one image given as a batch)."""
    kept = (pd.DataFrame, pd.Series, str, os.PathLike, dict, set)  # open_source's to judge
    if isinstance(data, kept) or is_hf_dataset(data) or not hasattr(data, "__len__"):
        return data
    return explainer.adapter.split_batch(data)


def _check_int(name: str, value: Any, least: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < least:
        raise InvalidParameterError(f"{name} must be an int >= {least}. Got {value!r}.")


def _partition_rows(given: int | None, n_rows: int, spec: PartitionSpec) -> int:
    """``given``, checked to hold whole blocks of a batched method; by default about 16
    partitions (of whole blocks, at most 4096 rows), whatever the number of workers, so
    that a rerun with other workers resumes the same partitions."""
    block = spec.batch_rows if spec.blocks else 1
    if given is None:
        blocks = math.ceil(math.ceil(n_rows / 16) / block)
        return max(block, min(blocks * block, MAX_DEFAULT_PARTITION_ROWS))
    _check_int("partition_rows", given, 1)
    if given % block:
        raise InvalidParameterError(
            f"partition_rows={given} is not a multiple of batch_rows={block}: "
            f"{spec.method} explains fixed blocks of batch_rows rows, which a partition must "
            "hold whole (so that results do not depend on the partitioning). Use e.g. "
            f"partition_rows={max(1, round(given / block)) * block}."
        )
    return given


def _check_first_row(explainer: Explainer, source: Source, spec: PartitionSpec) -> Any:
    """The first row explained as the run will explain it (its labels are the run's), so
    that what would fail every row (a missing column, a table given to a text model, a
    target the model lacks, a budget above ``xplain.limits``) fails before any work
    starts."""
    table = source.partition(0, 1).drop(columns=["row_id"])
    item = instances_of(explainer, table, spec.column)[0]
    seed = {"seed": [spec.seed, 0]} if spec.seeded else {}
    return explainer.explain(item, spec.method, spec.target, **spec.params, **seed)


def _opened(directory: Path) -> ExplanationDataset:
    from xplain.scale.dataset import open_dataset

    return open_dataset(directory)


def _failure_message(directory: Path, bounds: list[tuple[int, int]], failed: dict[int, str]) -> str:
    lines = [f"  partition {i} (rows {bounds[i][0]}..{bounds[i][1] - 1}): {failed[i]}"
             for i in sorted(failed)][:10]
    more = f"\n  ... and {len(failed) - 10} more" if len(failed) > 10 else ""
    return (
        f"{len(failed)} of {len(bounds)} partitions failed; the other partitions are written "
        f"to {str(directory)!r}. Fix the cause and rerun explain_dataset with resume=True to "
        "compute only the failed ones (xplain.open_dataset reads the partial output):\n"
        + "\n".join(lines) + more
    )


def _interrupted(directory: Path, bounds: list[tuple[int, int]]) -> str:
    written = sum((directory / store.part_name(i)).exists() for i in range(len(bounds)))
    return (
        f"explain_dataset interrupted: {written} of {len(bounds)} partitions are written to "
        f"{str(directory)!r}; rerun with resume=True to compute the rest."
    )
