"""Small dense algebra beside torch's thread pool, with and without CPU load (issue 15).

In a process that has imported torch and run a forward pass (its OpenMP pool alive), with
numpy's BLAS pool at ``--blas-threads`` threads, side by side (interleaved medians):

1. KernelSHAP's per-row solve, ``ShapleyFit.solve`` on a factorised ``[2048, 16]`` design,
   with xplain's one-thread BLAS limit (``xplain._blas.single_threaded_blas``) and with
   the limit switched off (monkeypatched: no library to limit); a torch forward pass
   runs before each call, as a model call does before each fit in an explain loop.
2. A whole small KernelSHAP explanation: a logistic regression on 16 continuous
   features, 10 background rows, 2048 evaluations; xplain with / without the limit vs
   ``shap.KernelExplainer`` (``nsamples=2048``, ``l1_reg=False``) on the same model and
   background.
3. The limit's own cost: entering and leaving it around nothing.

Each row runs once with no load, then with ``--load`` busy-looping processes (default 2,
the cores of the box) beside it. Ratios are to the limited run.

Run: ``.venv/bin/python benchmarks/bench_threads.py [--repeats 7] [--load 2] [--calls 20]``
"""

from __future__ import annotations

import argparse
import copy
import statistics
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import numpy as np
import torch
from _harness import add_common_arguments, bench_session, cpu_load, print_table, ratio, side_by_side
from threadpoolctl import threadpool_limits

from xplain import _blas
from xplain.methods.perturbation._sampling import shapley_design
from xplain.methods.perturbation._shapley_fit import ShapleyFit


@contextmanager
def limit_off() -> Iterator[None]:
    """xplain's BLAS limit switched off: it finds no library to limit."""
    real = _blas._blas_controllers
    _blas._blas_controllers = lambda: []
    try:
        yield
    finally:
        _blas._blas_controllers = real


def unlimited(fn: Callable[[], object]) -> Callable[[], object]:
    """``fn`` run with the limit switched off."""

    def run() -> object:
        with limit_off():
            return fn()

    return run


def interleaved_fits(
    limited: Callable[[], float], free: Callable[[], float], repeats: int
) -> dict[str, float]:
    """Median over interleaved rounds of each run's median fit time (its return value)."""
    limited(), free()  # warm-up
    times: dict[str, list[float]] = {"limit": [], "no limit": []}
    for _ in range(repeats):
        times["limit"].append(limited())
        times["no limit"].append(free())
    return {name: statistics.median(values) for name, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_arguments(parser, repeats=7)
    parser.set_defaults(load=2)
    parser.add_argument("--blas-threads", type=int, default=2, help="numpy's BLAS pool")
    parser.add_argument("--calls", type=int, default=20, help="fits per timed run (row 1)")
    args = parser.parse_args()
    quiet = copy.copy(args)
    quiet.load = 0  # the header's session: burners are started per phase below
    with bench_session(quiet), threadpool_limits(limits=args.blas_threads, user_api="blas"):
        run(args)


def run(args: argparse.Namespace) -> None:
    import shap
    from sklearn.linear_model import LogisticRegression

    from xplain import Explainer

    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(64, 256), torch.nn.ReLU(), torch.nn.Linear(256, 2))
    x = torch.randn(512, 64)

    def forward() -> None:
        with torch.no_grad():
            net(x)

    forward()  # torch's OpenMP pool is alive from here on
    rng = np.random.default_rng(0)
    design_fit = ShapleyFit.of(shapley_design(16, 2048, True, rng))  # factorised once
    y = rng.normal(size=design_fit.design.masks.shape[0])

    def fits() -> float:
        """Median time of one fit over ``args.calls`` fits, each after a forward pass."""
        times = []
        for _ in range(args.calls):
            forward()
            start = time.perf_counter()
            design_fit.solve(y, 1.0)
            times.append(time.perf_counter() - start)
        return statistics.median(times)

    features = rng.normal(size=(400, 16))
    labels = (features @ rng.normal(size=16) + rng.normal(size=400) > 0).astype(int)
    model = LogisticRegression().fit(features, labels)
    background, row = features[:10], features[10]
    ex = Explainer(model, data=background)

    def ours() -> object:
        return ex.explain(row, "kernel_shap", target=1, max_evals=2048).values

    def prob(data: np.ndarray) -> np.ndarray:
        return model.predict_proba(data)[:, 1]

    kernel = shap.KernelExplainer(prob, background, silent=True)

    def theirs() -> object:
        np.random.seed(0)
        return kernel.shap_values(row[None], nsamples=2048, l1_reg=False, silent=True)

    def enter_leave() -> None:
        for _ in range(1000):
            with _blas.single_threaded_blas():
                pass

    rows = []
    for load in (0, args.load):
        with cpu_load(load), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = interleaved_fits(fits, unlimited(fits), args.repeats)
            t = side_by_side(
                {
                    "ks limit": ours,
                    "ks no limit": unlimited(ours),
                    "shap": theirs,
                    "enter/leave": enter_leave,
                },
                args.repeats,
            )
            rows.append([
                f"KernelSHAP solve, 2048x16 design, after a forward pass, load {load}",
                f"{fit['limit'] * 1e3:.3f} ms",
                f"{ratio(fit['no limit'], fit['limit'])}x",
                "-",
            ])
            rows.append([
                f"kernel_shap explain, 16 features, 2048 evals, load {load}",
                f"{t['ks limit'].median * 1e3:.1f} ms",
                f"{ratio(t['ks no limit'].median, t['ks limit'].median)}x",
                f"{ratio(t['shap'].median, t['ks limit'].median)}x",
            ])
            rows.append([
                f"entering + leaving the limit, load {load}",
                f"{t['enter/leave'].median * 1e3:.1f} us",  # 1000 entries: ms -> us each
                "-",
                "-",
            ])
    print_table(
        ["work (torch loaded, forward pass run)", "with limit", "no limit / limit",
         "shap / limit"],
        rows,
    )


if __name__ == "__main__":
    main()
