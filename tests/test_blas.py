"""xplain._blas: small algebra at one BLAS thread gives the same bits and restores the pools."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

from xplain import _blas
from xplain._blas import single_threaded_blas
from xplain.methods.perturbation._sampling import shapley_design
from xplain.methods.perturbation._shapley_fit import ShapleyFit
from xplain.methods.perturbation._surrogate import ridge_surrogate


def _blas_threads() -> list[int]:
    return [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]


def _problem() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    masks = (rng.random((2048, 16)) < 0.5).astype(np.float64)  # [n, d]
    y = masks @ rng.normal(size=16) + 0.1 * rng.normal(size=2048)
    return masks, y, rng.random(2048)


@pytest.fixture
def two_threads():
    """Every BLAS pool at 2 threads (the case the limit changes), restored after."""
    with threadpool_limits(limits=2, user_api="blas"):
        yield


def test_limit_gives_bitwise_the_values_of_the_free_pool(two_threads):
    masks, y, w = _problem()
    # KernelSHAP's per-row solve of a [2048, 16] design, with the limit and undecorated
    fit = ShapleyFit.of(shapley_design(16, 2048, True, np.random.default_rng(0)))
    coalitions = np.random.default_rng(1).normal(size=fit.design.masks.shape[0])
    limited_phi, limited_err = fit.solve(coalitions, 1.5)
    free_phi, free_err = ShapleyFit.solve.__wrapped__(fit, coalitions, 1.5)
    np.testing.assert_array_equal(limited_phi, free_phi)
    np.testing.assert_array_equal(limited_err, free_err)
    limited = ridge_surrogate(masks, y, w, num_features=4, selection="highest_weights")
    free = ridge_surrogate.__wrapped__(masks, y, w, num_features=4, selection="highest_weights")
    np.testing.assert_array_equal(limited.coef, free.coef)
    assert limited.score == free.score


def test_the_limit_holds_inside_and_is_restored_after(two_threads):
    before = threadpool_info()
    with single_threaded_blas():
        inside = _blas_threads()
        with single_threaded_blas():  # re-entrant: the inner exit keeps the outer limit
            pass
        assert _blas_threads() == inside
    assert inside and set(inside) == {1}
    assert threadpool_info() == before


def test_the_limit_is_restored_when_the_body_raises(two_threads):
    before = threadpool_info()

    @single_threaded_blas()
    def failing() -> None:
        raise ZeroDivisionError

    with pytest.raises(ZeroDivisionError):
        failing()
    assert threadpool_info() == before
    assert _blas._depth == 0


def test_threads_overlapping_in_the_limit_restore_the_pools(two_threads):
    before = threadpool_info()
    inside, go = threading.Barrier(4), threading.Event()

    def work() -> None:
        with single_threaded_blas():
            inside.wait()
            go.wait()

    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    go.set()
    for thread in threads:
        thread.join()
    assert threadpool_info() == before


def test_a_library_loaded_after_the_first_use_is_limited_too(two_threads, monkeypatch):
    monkeypatch.setattr(_blas, "_cache", (-1, []))  # a stale scan: no library known
    with single_threaded_blas():
        assert set(_blas_threads()) == {1}
