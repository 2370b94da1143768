"""Tabular perturbation methods on Adult: xplain vs shap and lime, side by side.

The model is the demo gradient-boosted trees (``xplain.zoo.adult_models``), explained for
its probability of ``>50K`` on the 14 original columns. In one process, with the same
thread settings (torch and BLAS / OpenMP via threadpoolctl), warm-up first, median of
several repeats, interleaved so machine noise hits both sides:

1. KernelSHAP: xplain ``kernel_shap`` vs ``shap.KernelExplainer`` (its default ``l1_reg``
   and ``l1_reg=False``) at equal model-evaluation budgets (coalitions of the mean game:
   ``max_evals`` = ``nsamples``; shap scores ``nsamples x K`` model rows, xplain at most as
   many), both on the same background rows (uniform weights), so both estimate the same
   interventional Shapley values; error = mean |phi - exact| against ``exact_shapley``
   (all 2^14 coalitions). Ratios are xplain / the better (lower) of shap's two. xplain's
   time is one ``explain_batch`` of the rows (the 1-by-1 column: ``explain`` per row); then,
   at equal error, the smallest xplain budget that matches shap's.
2. TreeSHAP: xplain ``explain_batch(..., method="tree_shap")`` vs one
   ``shap.TreeExplainer(data=background).shap_values(rows)`` (the pipeline's preprocessing
   included in shap's time), interventional, same 100 background rows.
3. LIME: xplain ``lime`` vs ``lime.lime_tabular.LimeTabularExplainer`` at equal
   ``num_samples`` (5000, lime's default; quartile discretisation, all 14 features): time,
   and agreement of the top-5 features by |weight| (shared / 5), with each library's
   agreement with itself under another seed as the noise floor.

Every part runs through the shared harness (``benchmarks/_harness.py``): warm-up, then
``--repeats`` interleaved rounds, medians, ``--load N`` CPU burner processes beside it, and
Markdown rows for the README at the end (ratios xplain / incumbent).

Run: ``.venv/bin/python benchmarks/bench_tabular.py [--rows 6] [--repeats 5] [--threads 2]
[--load 0] [--parts abc] [--quick]`` (``--parts bc``: TreeSHAP and LIME only; ``--quick``:
300 TreeSHAP rows, budgets 512 and 2048 for KernelSHAP).
"""

from __future__ import annotations

import argparse
import time
import warnings
from collections.abc import Callable

import numpy as np
import shap
from _harness import add_common_arguments, bench_session, print_table, ratio
from _harness import side_by_side as harness_side_by_side
from lime.lime_tabular import LimeTabularExplainer
from threadpoolctl import threadpool_limits

from xplain.zoo import AdultModels, adult_models

BUDGETS = (512, 2048, 8192)
TOP_K = 5
ROWS: list[list[object]] = []  # README rows: work, incumbent, ratio, check, command


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def side_by_side(runs: dict[str, Callable[[], object]], repeats: int) -> dict[str, tuple]:
    """The harness's interleaved medians as ``{name: (median seconds, first result)}``."""
    timings = harness_side_by_side(runs, repeats)
    return {name: (t.median, t.result) for name, t in timings.items()}


def spread(times: list[float], base: list[float]) -> str:
    """The range of the per-round ratios ``times[i] / base[i]`` (same round: same noise)."""
    each = sorted(a / b for a, b in zip(times, base, strict=True))
    return f"{each[0]:.3g}-{each[-1]:.3g}"


def bench_kernel_shap(models: AdultModels, args: argparse.Namespace) -> None:
    ex = models.gbt_explainer(background_size=args.background, background_method="sample")
    schema, background = ex.adapter.schema, ex.adapter.background.rows  # [K, 14]
    frame = models.X_test.iloc[: args.rows]
    rows = [frame.iloc[i] for i in range(args.rows)]
    points = np.stack([schema.row(row) for row in rows])  # [R, 14] schema matrix

    def f(matrix: np.ndarray) -> np.ndarray:  # what shap calls: P(>50K) of schema rows
        return models.gbt.predict_proba(schema.to_frame(np.asarray(matrix, float)))[:, 1]

    kernel = shap.KernelExplainer(f, background)
    exact = np.stack([ex.explain(row, "exact_shapley", target=1).values for row in rows])
    constant = ((background[None] == points[:, None]).all(1)).sum(1)  # [R]
    k = len(background)
    print(
        f"(a) KernelSHAP: {args.rows} test rows, {k} background rows, 14 features; rows "
        f"where shap drops columns equal in the row and every background row (exact null "
        f"players): {int((constant > 0).sum())} (dropped per row: {constant.tolist()}).\n"
        f"Budget = shap's nsamples = xplain's max_evals: coalitions of the mean game; shap "
        f"scores budget x {k} model rows per row, xplain at most as many (its 'rows' column)."
        f"\nxplain: explain_batch of the {args.rows} rows (one model call for their masked "
        f"rows); 1-by-1: explain per row."
    )
    print(
        f"{'budget':>7} {'xplain err':>11} {'shap err':>10} {'shap l1=F':>10} "
        f"{'err ratio':>9} | {'rows/row':>8} {'xplain s':>9} {'1-by-1 s':>9} {'shap s':>8} "
        f"{'l1=F s':>8} {'time ratio':>10}"
    )

    def ours(budget: int, order: int | None = None) -> Callable[[], list]:
        params = {} if order is None else {"order": order}  # None: the defaults
        return lambda: ex.explain_batch(
            frame, "kernel_shap", target=1, max_evals=budget, **params
        )

    def ours_one_by_one(budget: int) -> Callable[[], list]:
        return lambda: [
            ex.explain(row, "kernel_shap", target=1, max_evals=budget) for row in rows
        ]

    def theirs(budget: int, **kw: object) -> Callable[[], np.ndarray]:
        def run() -> np.ndarray:
            out = []
            for r, point in enumerate(points):
                np.random.seed(r)  # shap samples with the global numpy RNG
                out.append(kernel.shap_values(point[None], nsamples=budget, silent=True, **kw))
            return np.concatenate(out).reshape(len(points), -1)

        return run

    def values(result: object) -> np.ndarray:  # shap's array, or xplain's Explanations
        if isinstance(result, np.ndarray):
            return result
        return np.stack([e.values for e in result])  # type: ignore[attr-defined]

    budgets = BUDGETS[:2] if args.quick else BUDGETS
    shap_best: dict[int, tuple[float, float]] = {}
    for budget in budgets:
        result = side_by_side(
            {
                "xplain": ours(budget),
                "one_by_one": ours_one_by_one(budget),
                "shap": theirs(budget),
                "shap_l1_false": theirs(budget, l1_reg=False),
            },
            args.repeats,
        )
        err = {name: float(np.abs(values(v) - exact).mean()) for name, (_, v) in result.items()}
        sec = {name: seconds for name, (seconds, _) in result.items()}
        best_err = min(err["shap"], err["shap_l1_false"])
        best_sec = min(sec["shap"], sec["shap_l1_false"])
        shap_best[budget] = (best_err, best_sec)
        used = np.mean([e.diagnostics["n_coalitions"] for e in result["xplain"][1]])
        print(
            f"{budget:>7} {err['xplain']:11.2e} {err['shap']:10.2e} {err['shap_l1_false']:10.2e} "
            f"{ratio(err['xplain'], best_err):>9} | {used:8.0f} {sec['xplain']:9.3f} "
            f"{sec['one_by_one']:9.3f} {sec['shap']:8.3f} {sec['shap_l1_false']:8.3f} "
            f"{ratio(sec['xplain'], best_sec):>10}"
        )
    print("targets: err ratio <= 0.5, time ratio <= 0.2")
    print("xplain order=3 (3-additive fit in the sampled baseline games), same budgets:")
    for budget in budgets:
        seconds, result = side_by_side({"order3": ours(budget, order=3)}, args.repeats)["order3"]
        best_err, best_sec = shap_best[budget]
        err3 = float(np.abs(values(result) - exact).mean())
        print(
            f"  {budget:>5}: err {err3:.2e} (ratio {ratio(err3, best_err).strip()}), "
            f"{seconds:.3f} s (time ratio {ratio(seconds, best_sec).strip()})"
        )
    print("equal error: the smallest xplain max_evals (of 28 x 2^i) at or below shap's best error")
    for budget, (target_err, target_sec) in shap_best.items():
        small = 28
        while small < budget:
            seconds, result = side_by_side({"xplain": ours(small)}, args.repeats)["xplain"]
            if float(np.abs(values(result) - exact).mean()) <= target_err:
                break
            small *= 2
        print(
            f"  shap at {budget}: xplain max_evals={small} ({seconds:.3f} s), time ratio "
            f"{ratio(seconds, target_sec)}"
        )
    model_rows = points[:1].repeat(budgets[-1] * k, 0)
    seconds, _ = timed(lambda: f(model_rows))
    print(
        f"model alone on {budgets[-1]} x {k} rows (one budget-{budgets[-1]} shap "
        f"explanation's evaluations): {seconds:.3f} s per row explained\n"
    )


def bench_tree_shap(models: AdultModels, args: argparse.Namespace) -> None:
    ex = models.gbt_explainer(background_size=100, background_method="sample")
    adapter = ex.adapter
    rows = models.X_test.iloc[: args.tree_rows]
    preprocess, trees = models.gbt[:-1], models.gbt[-1]
    background = adapter.schema.to_frame(adapter.background.rows)  # the same 100 rows
    names = list(preprocess.get_feature_names_out())
    order = [names.index(column) for column in rows.columns]  # model column of each column

    def ours() -> np.ndarray:  # the DataFrame's rows, in one batched pass
        return np.stack([e.values for e in ex.explain_batch(rows, "tree_shap", target=1)])

    def theirs() -> np.ndarray:
        explainer = shap.TreeExplainer(
            trees,
            data=preprocess.transform(background).astype(float),
            feature_perturbation="interventional",
            model_output="probability",
        )
        values = explainer.shap_values(preprocess.transform(rows).astype(float))
        return np.asarray(values)[:, order]

    result = harness_side_by_side({"xplain": ours, "shap": theirs}, args.repeats)
    ours_t, shap_t = result["xplain"], result["shap"]
    gap = float(np.abs(ours_t.result - shap_t.result).max())
    print(
        f"(b) TreeSHAP, {len(rows)} rows, 100 background rows (interventional, probability)\n"
        f"xplain explain_batch {ours_t.median:8.3f} s   shap {shap_t.median:7.3f} s   "
        f"ratio {ratio(ours_t.median, shap_t.median)} (per round "
        f"{spread(ours_t.times, shap_t.times)})   (target <= 1.05)\n"
        f"max |xplain - shap| over all values: {gap:.2e}\n"
    )
    ROWS.append([
        f"TreeSHAP, {len(rows)} rows", "shap TreeExplainer",
        f"{ratio(ours_t.median, shap_t.median)}x ({spread(ours_t.times, shap_t.times)})",
        f"max gap {gap:.1e}", "`--parts b`",
    ])


def bench_lime(models: AdultModels, args: argparse.Namespace) -> None:
    ex = models.gbt_explainer(background_size=20, background_method="sample")
    schema, data = ex.adapter.schema, ex.adapter.data  # training rows as a schema matrix
    rows = [models.X_test.iloc[i] for i in range(args.lime_rows)]
    points = np.stack([schema.row(row) for row in rows])
    categorical = [j for j, c in enumerate(schema.columns) if c.categorical]

    def proba(matrix: np.ndarray) -> np.ndarray:
        return models.gbt.predict_proba(schema.to_frame(np.asarray(matrix, float)))

    def lime_package(seed: int) -> LimeTabularExplainer:
        return LimeTabularExplainer(
            data,
            mode="classification",
            feature_names=schema.names,
            categorical_features=categorical,
            categorical_names={j: list(schema.columns[j].categories) for j in categorical},
            discretize_continuous=True,
            random_state=seed,
        )

    def ours(seed: int) -> Callable[[], np.ndarray]:
        return lambda: np.stack(
            [
                ex.explain(row, "lime", target=1, num_samples=5000, seed=seed + r).values
                for r, row in enumerate(rows)
            ]
        )

    def theirs(seed: int) -> Callable[[], np.ndarray]:
        explainer = lime_package(seed)

        def run() -> np.ndarray:
            out = np.zeros((len(points), len(schema)))
            for r, point in enumerate(points):
                e = explainer.explain_instance(
                    point, proba, labels=(1,), num_features=len(schema), num_samples=5000
                )
                for j, weight in e.as_map()[1]:
                    out[r, j] = weight
            return out

        return run

    result = harness_side_by_side({"xplain": ours(0), "lime": theirs(0)}, args.repeats)
    ours_t, lime_t = result["xplain"], result["lime"]
    (ours_s, a), (lime_s, b) = (ours_t.median, ours_t.result), (lime_t.median, lime_t.result)
    a2, b2 = ours(1000)(), theirs(1000)()

    def agreement(u: np.ndarray, v: np.ndarray) -> float:
        top = lambda w: set(np.argsort(-np.abs(w), kind="stable")[:TOP_K])  # noqa: E731
        return float(np.mean([len(top(x) & top(y)) / TOP_K for x, y in zip(u, v, strict=True)]))

    print(
        f"(c) LIME, {len(rows)} rows, num_samples=5000\n"
        f"time: xplain {ours_s:7.3f} s   lime {lime_s:7.3f} s   ratio {ratio(ours_s, lime_s)} "
        f"(per round {spread(ours_t.times, lime_t.times)})   (target <= 1.0)\n"
        f"top-{TOP_K} agreement: xplain vs lime {agreement(a, b):.2f}   "
        f"xplain vs xplain (other seed) {agreement(a, a2):.2f}   "
        f"lime vs lime (other seed) {agreement(b, b2):.2f}\n"
    )
    ROWS.append([
        f"LIME tabular, 5000 samples, {len(rows)} rows", "lime LimeTabularExplainer",
        f"{ratio(ours_s, lime_s)}x ({spread(ours_t.times, lime_t.times)})",
        f"top-{TOP_K} agreement {agreement(a, b):.2f} (self, other seed: "
        f"{agreement(a, a2):.2f} / lime {agreement(b, b2):.2f})",
        "`--parts c`",
    ])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=6, help="rows for KernelSHAP")
    parser.add_argument("--background", type=int, default=20, help="KernelSHAP background")
    parser.add_argument("--tree-rows", type=int, default=1000)
    parser.add_argument("--lime-rows", type=int, default=10)
    parser.add_argument(
        "--parts", default="abc", help="which parts to run: a KernelSHAP, b TreeSHAP, c LIME"
    )
    parser.add_argument(
        "--quick", action="store_true", help="300 TreeSHAP rows, KernelSHAP budgets 512, 2048"
    )
    add_common_arguments(parser, repeats=5)
    args = parser.parse_args()
    if args.quick:
        args.tree_rows = min(args.tree_rows, 300)
    warnings.filterwarnings("ignore")
    models = adult_models(seed=0)
    print(f"Adult GBT (test accuracy {models.gbt_accuracy:.3f})")
    with bench_session(args), threadpool_limits(args.threads):
        parts = {"a": bench_kernel_shap, "b": bench_tree_shap, "c": bench_lime}
        for part, bench in parts.items():
            if part in args.parts:
                bench(models, args)
    if ROWS:
        print_table(["work", "incumbent", "xplain / incumbent (rounds)", "check", "flags"], ROWS)


if __name__ == "__main__":
    main()
