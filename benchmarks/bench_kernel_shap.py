"""KernelSHAP on 16 continuous features: xplain vs shap and shapiq, side by side.

The game: 16 independent standard-normal features, a cheap smooth model
``f(x) = sigmoid(g(x))`` with ``g`` a fixed-seed sum of linear terms, 24 pairwise products,
8 three-way products and a few ``sin`` terms (so the game is of order > 3), passed to
xplain as a function of DataFrames (``f(DataFrame) -> [n]``, explained as ``raw``) and
to shap / shapiq as a function of arrays. The background is ``--background`` rows drawn
from the same distribution, so no background value equals the row's: every baseline game
has all 16 players and xplain estimates the mean (interventional) game. Exact values: all
2^16 coalitions of that mean game, enumerated with numpy, for each explained row.

In one process (harness ``benchmarks/_harness.py``: warm-up, interleaved rounds, medians;
``--load N`` runs N CPU burners beside it):

(a) xplain ``explain_batch(rows, "kernel_shap", max_evals=B)`` vs
    ``shap.KernelExplainer(f, background).shap_values(row, nsamples=B)`` (default
    ``l1_reg`` and ``l1_reg=False``; ratios against the better): mean |phi - exact| over
    rows, features and ``--seeds`` seeds, and the wall time to explain the rows; xplain
    at its defaults (``order=3``: the 3-additive fit, 696 parameters, wherever the budget
    holds 2.5 coalitions per parameter, as 2048 does; the additive fit below) and with
    ``order=1`` (KernelSHAP's additive fit at every budget); ``model_alone``: the model
    on ``B x K`` rows per explained row, the floor of both libraries' time (its error
    column is 0).
(b) the same xplain call vs ``shapiq.approximator`` KernelSHAP, kADDSHAP (``max_order=2``),
    SVARM and UnbiasedKernelSHAP (``approximate(B, game)``, their default settings, a game
    of boolean coalitions -> mean-game values over the same model and background), at
    budgets 512 and 2048: error ratio against the best of them, and time ratio.

Run: ``.venv/bin/python benchmarks/bench_kernel_shap.py [--rows 4] [--seeds 3]
[--repeats 3] [--load 0] [--parts ab]`` (about 2.5 minutes on 2 busy cores).
"""

from __future__ import annotations

import argparse
import sys
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from _harness import add_common_arguments, bench_session, print_table, ratio, side_by_side

D = 16


class Model:
    """``sigmoid(g(x))`` with fixed-seed linear, pairwise, three-way and sine terms."""

    def __init__(self, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        self.linear = rng.normal(0.0, 0.5, D)  # [D]
        self.pairs = np.array([rng.choice(D, 2, replace=False) for _ in range(24)])  # [24, 2]
        self.pair_coef = rng.normal(0.0, 0.4, len(self.pairs))
        self.triples = np.array([rng.choice(D, 3, replace=False) for _ in range(8)])  # [8, 3]
        self.triple_coef = rng.normal(0.0, 0.3, len(self.triples))
        self.sines = rng.choice(D, 4, replace=False)  # [4]

    def __call__(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)  # [n, D]
        g = x @ self.linear
        g += (x[:, self.pairs[:, 0]] * x[:, self.pairs[:, 1]]) @ self.pair_coef
        g += x[:, self.triples].prod(axis=2) @ self.triple_coef
        g += np.sin(2.0 * x[:, self.sines]).sum(axis=1)
        return 1.0 / (1.0 + np.exp(-g))

    def frame(self, frame: pd.DataFrame) -> np.ndarray:
        """The same model on a DataFrame (what xplain calls)."""
        return self(frame.to_numpy(dtype=np.float64))


def mean_game(model: Model, row: np.ndarray, background: np.ndarray) -> Callable:
    """Coalitions ``[n, D]`` (bool) -> interventional values ``[n]`` of ``row``."""

    def value(coalitions: np.ndarray) -> np.ndarray:
        c = np.asarray(coalitions, dtype=bool)
        hybrids = np.where(c[:, None], row[None, None], background[None])  # [n, K, D]
        return model(hybrids.reshape(-1, D)).reshape(len(c), -1).mean(1)

    return value


def exact_values(game: Callable) -> np.ndarray:
    """Shapley values ``[D]`` of ``game`` from all 2^D coalitions (bits of the index)."""
    from xplain.methods.perturbation._sampling import all_coalitions
    from xplain.methods.perturbation.exact_shapley import shapley_from_values

    masks = all_coalitions(D)
    v = np.concatenate([game(masks[i : i + 4096]) for i in range(0, len(masks), 4096)])
    return shapley_from_values(v, D)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_arguments(parser, repeats=3)
    parser.add_argument("--rows", type=int, default=4, help="rows explained")
    parser.add_argument("--background", type=int, default=20, help="background rows")
    parser.add_argument("--seeds", type=int, default=3, help="seeds averaged in the errors")
    parser.add_argument("--parts", default="ab", help="a: vs shap, b: vs shapiq")
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    with bench_session(args):
        run(args)


def run(args: argparse.Namespace) -> None:
    import shap
    import shapiq.approximator as sa

    import xplain

    rng = np.random.default_rng(1)
    model = Model()
    background = rng.normal(size=(args.background, D))
    points = rng.normal(size=(args.rows, D))
    names = [f"x{j}" for j in range(D)]
    rows = pd.DataFrame(points, columns=names)
    ex = xplain.Explainer(model.frame, data=pd.DataFrame(background, columns=names))
    games = [mean_game(model, point, background) for point in points]
    exact = np.stack([exact_values(game) for game in games])  # [R, D]
    print(
        f"{args.rows} rows, {args.background} background rows, {D} continuous features; "
        f"errors: mean |phi - exact| over rows, features and {args.seeds} seeds; xplain "
        "at its defaults (order=3 where the budget allows) and with order=1 (additive)\n"
    )

    def ours(budget: int, seed: int, order: int | None = None) -> Callable[[], np.ndarray]:
        params = {} if order is None else {"order": order}

        def call() -> np.ndarray:
            out = ex.explain_batch(rows, "kernel_shap", max_evals=budget, seed=seed, **params)
            return np.stack([e.values for e in out])

        return call

    kernel = shap.KernelExplainer(model, background)

    def shap_run(budget: int, seed: int, **kw: object) -> Callable[[], np.ndarray]:
        def call() -> np.ndarray:
            np.random.seed(seed)  # shap samples with the global numpy RNG
            return np.stack(
                [
                    np.ravel(kernel.shap_values(p[None], nsamples=budget, silent=True, **kw))
                    for p in points
                ]
            )

        return call

    approximators = {
        "KernelSHAP": lambda seed: sa.KernelSHAP(D, random_state=seed),
        "kADD-SHAP": lambda seed: sa.kADDSHAP(D, max_order=2, random_state=seed),
        "SVARM": lambda seed: sa.SVARM(D, random_state=seed),
        "UnbiasedKernelSHAP": lambda seed: sa.UnbiasedKernelSHAP(D, random_state=seed),
    }

    def shapiq_run(name: str, budget: int, seed: int) -> Callable[[], np.ndarray]:
        def call() -> np.ndarray:
            out = []
            for game in games:
                values = approximators[name](seed).approximate(budget, game)
                out.append([values[(j,)] for j in range(D)])
            return np.array(out)

        return call

    def compare(runs: dict[str, Callable[[int], Callable[[], np.ndarray]]]) -> tuple[dict, dict]:
        """Mean error over seeds and median time (seed 0, interleaved) of each run."""
        err = {
            name: float(np.mean([np.abs(make(s)() - exact).mean() for s in range(args.seeds)]))
            for name, make in runs.items()
        }
        timing = side_by_side({name: make(0) for name, make in runs.items()}, args.repeats)
        return err, {name: t.median for name, t in timing.items()}

    if "a" in args.parts:
        budget = 2048
        # the floor: the model alone on the rows both libraries score (budget x K per row)
        coalitions = np.random.default_rng(0).random((budget, D)) < 0.5
        hybrids = [
            np.where(coalitions[:, None], p[None, None], background[None]).reshape(-1, D)
            for p in points
        ]

        def model_alone() -> np.ndarray:
            for rows_of_one in hybrids:
                model(rows_of_one)
            return exact

        runs_a = {
            "xplain": lambda s: ours(budget, s),
            "xplain_order1": lambda s: ours(budget, s, 1),
            "shap": lambda s: shap_run(budget, s),
            "shap_l1_false": lambda s: shap_run(budget, s, l1_reg=False),
            "model_alone": lambda s: model_alone,
        }
        err, sec = compare(runs_a)
        best = min(("shap", "shap_l1_false"), key=err.get)
        print(f"(a) vs shap.KernelExplainer at {budget} evaluations (better shap: {best})")
        print_table(
            ["contender", "err", "err ratio xplain/shap", "s", "time ratio xplain/shap"],
            [
                [
                    name,
                    f"{err[name]:.2e}",
                    ratio(err[name], err[best]),
                    f"{sec[name]:.3f}",
                    ratio(sec[name], sec[best]),
                ]
                for name in runs_a
            ],
        )
    if "b" in args.parts:
        for budget in (512, 2048):
            runs = {
                "xplain": lambda s, b=budget: ours(b, s),
                "xplain_order1": lambda s, b=budget: ours(b, s, 1),
            }
            for name in approximators:
                runs[name] = lambda s, b=budget, n=name: shapiq_run(n, b, s)
            err, sec = compare(runs)
            best = min(approximators, key=err.get)
            print(f"(b) vs shapiq at budget {budget} (best shapiq: {best})")
            print_table(
                [
                    "contender",
                    "err",
                    "xplain err / it",
                    "xplain order=1 err / it",
                    "s",
                    "xplain time / it",
                    "xplain order=1 time / it",
                ],
                [
                    [
                        name,
                        f"{err[name]:.2e}",
                        ratio(err["xplain"], err[name]),
                        ratio(err["xplain_order1"], err[name]),
                        f"{sec[name]:.3f}",
                        ratio(sec["xplain"], sec[name]),
                        ratio(sec["xplain_order1"], sec[name]),
                    ]
                    for name in runs
                ],
            )


if __name__ == "__main__":
    main()
