"""Small dense algebra with the BLAS thread pools limited to one thread.

A least-squares fit on a ``[2048, 16]`` design is a few hundred microseconds of work; split
over a BLAS thread pool it waits for worker threads that, on a busy machine (a Jupyter
kernel beside other work, torch's OpenMP pool spinning after a forward pass), may not get
a core for a whole scheduler slice. Issue 15 measured 70-190 ms instead of 0.3 ms there.
One thread is as fast as two at this size and never waits, so the small-algebra call
sites of the surrogates run inside :func:`single_threaded_blas`.

The BLAS libraries are found once through threadpoolctl (a scikit-learn dependency) and
cached; entering and leaving the limit then costs a few ctypes calls (microseconds), not
threadpoolctl's per-call library scan (milliseconds).
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_lock = threading.Lock()
_cache: tuple[int, list[Any]] | None = None  # (len(sys.modules) at the scan, controllers)
_depth = 0  # threads inside the limit
_saved: list[tuple[Any, int]] = []  # (controller, its thread count before the outermost entry)


def _blas_controllers() -> list[Any]:
    """threadpoolctl's controllers of the loaded BLAS libraries, rescanned only after imports.

    Returns:
        One controller per loaded BLAS library (numpy's and scipy's OpenBLAS are two).
    """
    global _cache
    loaded = len(sys.modules)
    if _cache is None or _cache[0] != loaded:  # a new import may have loaded another BLAS
        from threadpoolctl import ThreadpoolController

        controllers = ThreadpoolController().select(user_api="blas").lib_controllers
        _cache = (loaded, list(controllers))
    return _cache[1]


@contextmanager
def single_threaded_blas() -> Iterator[None]:
    """Run the block (or, as a decorator, the function) with every BLAS pool at one thread.

    Re-entrant and thread-safe: the first thread in sets the limit, the last one out
    restores each library's previous thread count, also when the block raises. The
    results are those of the unlimited pool (BLAS splits a product's rows and columns
    among threads, not its sums).

    Yields:
        None, while the limit holds.
    """
    global _depth, _saved
    with _lock:
        if _depth == 0:
            _saved = [(c, c.get_num_threads()) for c in _blas_controllers()]
            for controller, _ in _saved:
                controller.set_num_threads(1)
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0:
                for controller, threads in _saved:
                    controller.set_num_threads(threads)
