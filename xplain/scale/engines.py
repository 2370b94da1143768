"""Engines schedule partitions: in this process, on local processes (loky), or on Dask.

Each engine runs :func:`xplain.scale.partition.explain_partition` on the partitions it is
given and yields ``(index, table)`` for each finished one, or ``(index, exception)`` for
each that failed, as they finish. At most ``2 x workers`` partitions are in flight, so the
driver's memory is bounded by the partition size, not the dataset's.
"""

from __future__ import annotations

import concurrent.futures as cf
import hashlib
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa

from xplain.errors import InvalidParameterError, MissingDependencyError
from xplain.scale.partition import ExplainerRef, PartitionSpec, explain_partition, explainer_of

Task = tuple[int, pd.DataFrame]
Outcome = tuple[int, "pa.Table | BaseException"]


def worker_count(n_jobs: int) -> int:
    """joblib's convention: -1 = every core, -2 = all but one..."""
    cores = os.cpu_count() or 1
    if not isinstance(n_jobs, int) or isinstance(n_jobs, bool) or n_jobs == 0:
        raise InvalidParameterError(
            f"n_jobs must be a positive number of workers, or -1 (every core), -2 (all but "
            f"one)... Got {n_jobs!r}."
        )
    return n_jobs if n_jobs > 0 else max(1, cores + 1 + n_jobs)


def run_serial(explainer: Any, spec: PartitionSpec, tasks: Iterable[Task]) -> Iterator[Outcome]:
    """Every partition in this process, one after the other."""
    for index, table in tasks:
        try:
            yield index, explain_partition(explainer, table, spec)
        except Exception as err:  # reported per partition; the run goes on
            yield index, err


def _work(
    ref: ExplainerRef, table: pd.DataFrame, spec: PartitionSpec, blob: bytes | None = None
) -> pa.Table:
    """A worker's task: the explainer loaded once per process (from ``blob`` when Dask
    scattered it), then one partition."""
    return explain_partition(explainer_of(ref, blob), table, spec)


def pickled(explainer: Any) -> tuple[bytes, str]:
    """The explainer as cloudpickle bytes (plain callables and lambdas included), and its
    fingerprint, under which workers keep it."""
    import cloudpickle  # a dependency of joblib (loky) and of dask

    try:
        blob = cloudpickle.dumps(explainer)
    except Exception as err:
        raise InvalidParameterError(
            f"The explainer cannot be sent to worker processes ({type(err).__name__}: {err}); "
            "use engine='serial', or make the model picklable."
        ) from err
    return blob, hashlib.blake2b(blob, digest_size=16).hexdigest()


_LAST_LOCAL: dict[str, str] = {}  # the explainer the reusable loky workers hold


def run_local(
    explainer: Any, spec: PartitionSpec, tasks: Iterable[Task], workers: int
) -> Iterator[Outcome]:
    """Partitions on ``workers`` local processes (joblib's loky), each limited to its share
    of the cores. A worker that dies (killed, out of memory) fails the partitions it held;
    the others go on in a fresh pool."""
    from joblib.externals.loky import get_reusable_executor

    blob, fingerprint = pickled(explainer)
    threads = max(1, (os.cpu_count() or 1) // workers)
    with tempfile.TemporaryDirectory(prefix="xplain-") as folder:
        path = Path(folder) / "explainer.pkl"
        path.write_bytes(blob)
        ref = ExplainerRef(fingerprint, path=str(path), threads=threads)

        # workers kept from a run of the same explainer are reused (it is loaded there);
        # for another explainer, fresh ones: loky restarts a worker whose memory grew by
        # 300 MB since its first task, which a second model would trigger mid-run
        get_reusable_executor(max_workers=workers, timeout=60,
                              reuse=_LAST_LOCAL.get("fingerprint") == fingerprint)
        _LAST_LOCAL["fingerprint"] = fingerprint

        used: list[Any] = []  # the pools submitted to (a new one after a worker died)

        def submit(task: Task) -> cf.Future:
            executor = get_reusable_executor(max_workers=workers, timeout=60)
            if not used or used[-1] is not executor:
                used.append(executor)
            return executor.submit(_work, ref, task[1], spec)

        def cancel(pending: list[cf.Future]) -> None:
            for future in pending:
                future.cancel()
            for executor in used:
                executor.shutdown(wait=False, kill_workers=True)

        yield from _bounded(submit, tasks, 2 * workers, _first_local, cancel)


def _first_local(futures: list[cf.Future]) -> set[cf.Future]:
    return cf.wait(futures, return_when=cf.FIRST_COMPLETED)[0]


def run_dask(
    explainer: Any, spec: PartitionSpec, tasks: Iterable[Task], client: Any, workers: int,
    notify: Callable[[str], None],
) -> Iterator[Outcome]:
    """Partitions on a Dask cluster: ``client`` as given, or a LocalCluster of ``workers``
    one-thread processes started here (its dashboard link goes to ``notify``) and closed
    at the end."""
    if client is None:
        from dask.distributed import Client, LocalCluster

    blob, fingerprint = pickled(explainer)
    own = client is None
    if own:
        threads = max(1, (os.cpu_count() or 1) // workers)
        try:
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                   dashboard_address=":0")
        except RuntimeError as err:  # e.g. "Nanny failed to start."
            raise InvalidParameterError(
                f"engine='dask' could not start a Dask LocalCluster ({err}). In a script, "
                "call explain_dataset under `if __name__ == \"__main__\":` (the worker "
                "processes import the script); or pass a dask.distributed.Client, or use "
                "engine='local'."
            ) from err
        client = Client(cluster)
        notify(f"Dask dashboard: {client.dashboard_link}")
        ref = ExplainerRef(fingerprint, threads=threads)
    else:
        ref = ExplainerRef(fingerprint)  # the user's cluster: its thread settings are theirs
    try:
        shared = client.scatter(blob, broadcast=True, hash=False)
        n_workers = max(1, len(client.scheduler_info().get("workers", {})))

        def submit(task: Task) -> Any:
            return client.submit(_work, ref, task[1], spec, shared, pure=False)

        yield from _bounded(submit, tasks, 2 * n_workers, _first_dask, client.cancel)
    finally:
        if own:
            client.close()
            cluster.close()


def _bounded(
    submit: Callable[[Task], Any],
    tasks: Iterable[Task],
    limit: int,
    first: Callable[[list[Any]], set[Any]],
    cancel: Callable[[list[Any]], Any],
) -> Iterator[Outcome]:
    """Submit tasks keeping at most ``limit`` in flight; yield outcomes as they finish.
    On an interrupt (Ctrl-C) or a closed generator, cancel what is in flight."""
    queue = iter(tasks)
    flight: dict[Any, int] = {}
    done_ok = False
    try:
        for task in queue:
            flight[submit(task)] = task[0]
            if len(flight) >= limit:
                break
        while flight:
            for future in first(list(flight)):
                index = flight.pop(future)
                yield index, _outcome(future)
                task = next(queue, None)
                if task is not None:
                    flight[submit(task)] = task[0]
        done_ok = True
    finally:
        if not done_ok and flight:
            cancel(list(flight))


def _first_dask(futures: list[Any]) -> set[Any]:
    from dask.distributed import wait

    return set(wait(futures, return_when="FIRST_COMPLETED").done)


def dask_client(engine: Any) -> Any:
    """The Client ``engine`` is (None for "dask": start a LocalCluster); a clear error when
    Dask is not installed."""
    try:
        from dask.distributed import Client
    except ImportError as err:
        raise MissingDependencyError(
            "engine='dask' needs Dask: pip install 'dask[distributed]' (or pip install "
            "'xplain-xai[dask]')."
        ) from err
    return engine if isinstance(engine, Client) else None


def _outcome(future: Any) -> pa.Table | BaseException:
    try:
        return future.result()
    except Exception as err:  # the partition's error, or its worker's death
        return err
