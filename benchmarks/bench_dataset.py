"""Whole datasets: ``explain_dataset`` on its three engines vs the incumbents in a plain loop.

Rows explained per second by ``Explainer.explain_dataset`` (every row written to Parquet
parts in a temporary directory, removed afterwards) with ``engine="serial"``, ``"local"``
(``--n-jobs`` loky worker processes) and ``"dask"`` (a LocalCluster of ``--n-jobs``
one-thread processes, started and closed by the call), next to the same attributions
computed by the incumbent in a plain Python loop (kept in memory, nothing written):

(a) tree_shap on ``10000 x --rows-scale`` Adult test rows (the split sampled with
    replacement up to that count) for P(>50K) of the demo gradient-boosted trees
    (``xplain.zoo.adult_models().gbt``), 100 sampled training rows as the background, vs
    ``shap.TreeExplainer(data=the same rows, feature_perturbation="interventional",
    model_output="probability")`` called once per chunk of ``partition_rows`` rows (the
    pipeline's preprocessing in shap's time);
(b) kernel_shap, ``params={"max_evals": 512}``, on ``1000 x --rows-scale`` Adult test rows,
    the same model and background, vs ``shap.KernelExplainer(nsamples=512)`` row by row
    (shap scores ``512 x 100`` background-filled model rows per explained row, xplain at
    most as many); xplain
    serial is also set against Alibi's published ~1.07 rows/s/core (Ray-based
    ``DistributedExplainer``, KernelSHAP on Adult);
(c) integrated_gradients (default params: adaptive Gauss-Legendre from 16 steps) on
    ``200 x --rows-scale`` SST-2 dev sentences for the predicted class of the demo
    sentiment model (``xplain.zoo.sentiment_classifier``), vs Captum's
    LayerIntegratedGradients on the embeddings at its defaults (50 Gauss-Legendre steps,
    the PAD baseline keeping [CLS]/[SEP], as in ``bench_text_gradients.py``), the
    prediction of each sentence included;
(d) peak memory (max RSS) of ``explain_dataset(engine="serial")`` with a fixed
    ``partition_rows`` on ``1000 x --rows-scale`` vs ten times as many Adult rows, each in
    a fresh subprocess: the process's peak, and how much the run raised it above the peak
    before the call (loading data and models).

Serial runs and the incumbents run in this process with ``--threads`` torch / BLAS
threads; engine workers get ``cores // n_jobs`` threads each (the engines' own setting).
Every engine run starts cold, as a script calling ``explain_dataset`` once would: loky's
reusable workers are shut down before each local run, and each Dask run starts its
cluster. So process start, unpickling the explainer in every worker and per-partition
overhead are inside the figures; the "fixed cost" line (each engine on the first 64 rows,
8 sentences for IG: one partition; also the warm-up) shows their size. Median of
``--repeats`` runs. Each engine's output is checked against the serial one (largest
absolute difference; the issue promises identical results).

Run: ``.venv/bin/python benchmarks/bench_dataset.py [--rows-scale 0.1] [--parts abcd]
[--engines serial,local,dask] [--n-jobs 2] [--threads 2] [--repeats 1]``
(quick: ``--rows-scale 0.1 --no-fixed-cost``, about 2 minutes on 2 idle cores; full:
10-20 minutes).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from threadpoolctl import threadpool_limits

import xplain
from xplain.zoo import AdultModels, adult_models

ALIBI_ROWS_PER_S_PER_CORE = 1.07  # Alibi's DistributedExplainer, KernelSHAP on Adult
TARGET_LOCAL_SPEEDUP = 1.6  # local(2) vs serial, kernel_shap and IG
TARGET_VS_ALIBI = 5.0  # xplain serial kernel_shap vs Alibi's rows/s/core
TARGET_MEMORY_RATIO = 1.2  # peak RSS, 10x the rows vs 1x
MEMORY_PARTITION_ROWS = 256
BACKGROUND_ROWS = 100


@dataclass
class Work:
    """One dataset explained by xplain (``run``: engine -> values read back) and by the
    incumbent in a loop (``incumbent``: -> values)."""

    name: str
    rows: int
    method: str
    target: int | None
    params: dict[str, Any]
    data: Any
    explainer: xplain.Explainer
    incumbent_name: str
    incumbent: Callable[[Any], np.ndarray]
    small: Any  # one partition of data (batch_rows rows): the fixed-cost run
    same_values: bool = False  # whether the incumbent computes the same numbers (exactly)
    seconds: dict[str, float] = field(default_factory=dict)
    fixed: dict[str, float] = field(default_factory=dict)  # the runs on ``small``
    values: dict[str, np.ndarray] = field(default_factory=dict)


# -- running xplain and the incumbents -------------------------------------------------------
def cold_local_workers() -> None:
    """Shut loky's reusable workers down, so that the next local run starts its own."""
    from joblib.externals.loky import get_reusable_executor

    get_reusable_executor().shutdown(wait=True, kill_workers=True)


def run_xplain(
    work: Work, data: Any, engine: str, args: argparse.Namespace, keep: bool = False
) -> tuple[float, np.ndarray | None]:
    """Seconds of one cold explain_dataset call (into a temp dir); its values if ``keep``."""
    if engine == "local":
        cold_local_workers()
    with tempfile.TemporaryDirectory(prefix="bench-dataset-") as folder:
        start = time.perf_counter()
        result = work.explainer.explain_dataset(
            data, work.method, work.target, work.params, output=Path(folder) / "out",
            engine=engine, n_jobs=args.n_jobs, partition_rows=args.partition_rows,
            progress=False,
        )
        seconds = time.perf_counter() - start
        return seconds, attributions(result.to_pandas()) if keep else None


def attributions(frame: pd.DataFrame) -> np.ndarray:
    """Every attribution of an output, flat, in row order (wide or list layout)."""
    wide = [c for c in frame.columns if c.startswith("value:")]
    if wide:
        return frame[wide].to_numpy(float).ravel()
    return np.concatenate([np.asarray(v, float) for v in frame["values"]])


def median_seconds(fn: Callable[[], float], repeats: int) -> float:
    return statistics.median(fn() for _ in range(repeats))


def measure(work: Work, engines: Sequence[str], args: argparse.Namespace) -> None:
    """Warm-up (timed on every engine with ``--fixed-cost``, else serial only), then the
    timed runs, into ``work.seconds`` / ``work.values``."""
    warm = engines if args.fixed_cost else [e for e in engines if e == "serial"]
    fixed = work.fixed
    for engine in warm:
        fixed[engine] = run_xplain(work, work.small, engine, args)[0]
    start = time.perf_counter()
    work.incumbent(work.small)
    fixed["incumbent"] = time.perf_counter() - start
    print(f"  fixed cost (one partition of {len(work.small)} rows, cold): "
          + ", ".join(f"{name} {s:.2f} s" for name, s in fixed.items()))
    for engine in engines:
        seconds, values = run_xplain(work, work.data, engine, args, keep=True)
        if args.repeats > 1:
            seconds = median_seconds(
                lambda e=engine: run_xplain(work, work.data, e, args)[0], args.repeats - 1
            )
        work.seconds[engine], work.values[engine] = seconds, values
        print(f"  {engine:<7} {seconds:8.2f} s  {work.rows / seconds:9.2f} rows/s")

    def incumbent_seconds() -> float:
        start = time.perf_counter()
        work.values["incumbent"] = work.incumbent(work.data)
        return time.perf_counter() - start

    seconds = median_seconds(incumbent_seconds, args.repeats)
    work.seconds["incumbent"] = seconds
    print(f"  {work.incumbent_name} loop {seconds:8.2f} s  {work.rows / seconds:9.2f} rows/s")
    if "serial" in work.values:
        for engine in engines:
            if engine != "serial":
                diff = np.abs(work.values[engine] - work.values["serial"]).max()
                print(f"  max |{engine} - serial| over all values: {diff:.2e}")
        if work.same_values:
            diff = np.abs(work.values["incumbent"] - work.values["serial"]).max()
            print(f"  max |serial - {work.incumbent_name}| over all values: {diff:.2e}")


def adult_rows(models: AdultModels, n: int) -> pd.DataFrame:
    """``n`` Adult test rows: the first n, or the split sampled with replacement (seed 0)."""
    X = models.X_test
    if n <= len(X):
        return X.iloc[:n].reset_index(drop=True)
    return X.sample(n, replace=True, random_state=0).reset_index(drop=True)


# -- (a) tree_shap -----------------------------------------------------------------------------
def tree_work(models: AdultModels, args: argparse.Namespace) -> Work:
    import shap

    ex = models.gbt_explainer(background_size=BACKGROUND_ROWS, background_method="sample")
    adapter = ex.adapter
    preprocess, trees = models.gbt[:-1], models.gbt[-1]
    background = preprocess.transform(adapter.schema.to_frame(adapter.background.rows))
    names = list(preprocess.get_feature_names_out())
    rows = adult_rows(models, round(10_000 * args.rows_scale))
    order = [names.index(column) for column in rows.columns]  # model column of each column
    chunk = args.partition_rows or 640  # explain_dataset's default for 10k rows

    def loop(frame: pd.DataFrame) -> np.ndarray:
        explainer = shap.TreeExplainer(trees, data=background.astype(float),
                                       feature_perturbation="interventional",
                                       model_output="probability")
        out = [
            np.asarray(explainer.shap_values(preprocess.transform(
                frame.iloc[i:i + chunk]).astype(float)))[:, order]
            for i in range(0, len(frame), chunk)
        ]
        return np.concatenate(out).ravel()

    return Work("tree_shap", len(rows), "tree_shap", 1, {}, rows, ex, "shap TreeExplainer",
                loop, rows.iloc[:64], same_values=True)


# -- (b) kernel_shap ---------------------------------------------------------------------------
def kernel_work(models: AdultModels, args: argparse.Namespace) -> Work:
    import shap

    ex = models.gbt_explainer(background_size=BACKGROUND_ROWS, background_method="sample")
    schema, background = ex.adapter.schema, ex.adapter.background.rows  # [K, 14]
    rows = adult_rows(models, round(1000 * args.rows_scale))

    def f(matrix: np.ndarray) -> np.ndarray:  # what shap calls: P(>50K) of schema rows
        return models.gbt.predict_proba(schema.to_frame(np.asarray(matrix, float)))[:, 1]

    kernel = shap.KernelExplainer(f, background)

    def loop(frame: pd.DataFrame) -> np.ndarray:
        out = []
        for r in range(len(frame)):
            np.random.seed(r)  # shap samples with the global numpy RNG
            point = schema.row(frame.iloc[r])[None]
            out.append(kernel.shap_values(point, nsamples=args.max_evals, silent=True))
        return np.concatenate(out).ravel()

    return Work("kernel_shap", len(rows), "kernel_shap", 1, {"max_evals": args.max_evals},
                rows, ex, "shap KernelExplainer", loop, rows.iloc[:64])


# -- (c) integrated_gradients ------------------------------------------------------------------
def ig_work(args: argparse.Namespace) -> Work:
    from captum.attr import LayerIntegratedGradients

    from xplain.datasets import load_sst2
    from xplain.zoo import sentiment_classifier

    model, tokenizer = sentiment_classifier()
    sentences = load_sst2("dev")["sentence"].tolist()[: round(200 * args.rows_scale)]
    ex = xplain.Explainer(model, tokenizer=tokenizer)

    def forward(input_ids, attention_mask, token_type_ids):  # noqa: ANN001, ANN202
        return model(input_ids=input_ids, attention_mask=attention_mask,
                     token_type_ids=token_type_ids).logits

    lig = LayerIntegratedGradients(forward, model.get_input_embeddings())

    def loop(texts: list[str]) -> np.ndarray:
        out = []
        for text in texts:
            enc = tokenizer(text, return_tensors="pt", return_special_tokens_mask=True)
            special = enc.pop("special_tokens_mask").bool()
            with torch.no_grad():
                target = int(model(**enc).logits.argmax(-1))
            baseline = torch.where(special, enc["input_ids"], tokenizer.pad_token_id)
            attr = lig.attribute(
                enc["input_ids"], baselines=baseline, target=target,
                additional_forward_args=(enc["attention_mask"], enc["token_type_ids"]),
            )
            out.append(attr.sum(-1).detach().numpy().ravel())  # per token
        return np.concatenate(out)

    return Work("integrated_gradients", len(sentences), "integrated_gradients", None, {},
                sentences, ex, "Captum LIG", loop, sentences[:8])


# -- (d) peak memory ---------------------------------------------------------------------------
def memory_child(rows: int, partition_rows: int) -> None:
    """In a fresh process: the peak RSS before and after one serial explain_dataset call."""
    warnings.filterwarnings("ignore")
    models = adult_models(seed=0)
    ex = models.gbt_explainer(background_size=BACKGROUND_ROWS, background_method="sample")
    data = adult_rows(models, rows)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB -> MiB
    with tempfile.TemporaryDirectory(prefix="bench-dataset-") as folder:
        ex.explain_dataset(data, "tree_shap", 1, output=Path(folder) / "out", engine="serial",
                           partition_rows=partition_rows, progress=False)
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"before": before, "after": after}))


def bench_memory(args: argparse.Namespace) -> None:
    """Run first, while this process is small: on Linux a child's ru_maxrss starts at the
    peak of the process image it was forked from (this one), which exec does not reset."""
    small = round(1000 * args.rows_scale)
    peaks = {}
    for rows in (small, 10 * small):
        command = [sys.executable, __file__, "--memory-child", str(rows),
                   "--threads", str(args.threads)]
        out = subprocess.run(command, capture_output=True, text=True, check=True)
        peaks[rows] = json.loads(out.stdout.strip().splitlines()[-1])
    print(f"(d) peak RSS of explain_dataset(engine='serial'), tree_shap, partition_rows="
          f"{MEMORY_PARTITION_ROWS}, each in a fresh process:")
    for rows, peak in peaks.items():
        print(f"  {rows:>6} rows: peak {peak['after']:7.1f} MiB (before the call "
              f"{peak['before']:7.1f} MiB, raised by {peak['after'] - peak['before']:6.1f} MiB)")
    a, b = (peaks[small]["after"], peaks[10 * small]["after"])
    grow_a = peaks[small]["after"] - peaks[small]["before"]
    grow_b = peaks[10 * small]["after"] - peaks[10 * small]["before"]
    print(f"  ratio {10 * small} / {small} rows: peak {b / a:.3f} (target <= "
          f"{TARGET_MEMORY_RATIO}); raise by the call {grow_b:.1f} vs {grow_a:.1f} MiB\n")


def worker_floor() -> float:
    """Seconds a fresh Python process takes to import what a worker needs (xplain, shap)."""
    start = time.perf_counter()
    command = [sys.executable, "-c", "import shap, xplain.scale.partition"]
    subprocess.run(command, check=True, capture_output=True)
    return time.perf_counter() - start


def load() -> str:
    return "load average (1, 5, 15 min): " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


# -- the table -----------------------------------------------------------------------------------
def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b > 0 else "inf"


def summary(works: list[Work], engines: Sequence[str], args: argparse.Namespace) -> None:
    cores = f"{args.n_jobs}"
    head = [f"{e}({cores})" if e != "serial" else e for e in engines]
    print(f"rows/s ({args.n_jobs} workers for local and dask; serial and the incumbent on "
          f"{args.threads} threads):")
    print(f"  {'work':<34} " + " ".join(f"{h:>10}" for h in head) + f" {'incumbent':>10}")
    for work in works:
        cells = [f"{work.rows / work.seconds[e]:10.2f}" for e in engines]
        print(f"  {work.name + f' ({work.rows} rows)':<34} " + " ".join(cells)
              + f" {work.rows / work.seconds['incumbent']:10.2f}")
    print("ratios (rows/s):")
    for work in works:
        s = work.seconds
        parts = [f"{e}/serial {ratio(s['serial'], s[e])}" for e in engines if e != "serial"
                 and "serial" in s]
        best = min(s[e] for e in engines)
        parts += [f"serial/{work.incumbent_name} {ratio(s['incumbent'], s['serial'])}"
                  if "serial" in s else "",
                  f"best/{work.incumbent_name} {ratio(s['incumbent'], best)}"]
        target = (f" (target local/serial >= {TARGET_LOCAL_SPEEDUP}x)"
                  if work.name != "tree_shap" else "")
        print(f"  {work.name:<22} " + ", ".join(p for p in parts if p) + target)
        # start-up = an engine's one-partition run less serial's: what a longer run amortises
        startup = {e: work.fixed[e] - work.fixed["serial"] for e in engines
                   if e != "serial" and e in work.fixed and "serial" in work.fixed
                   and work.fixed[e] > work.fixed["serial"]}
        if startup:
            print(f"  {'':<22} less each engine's start-up: " + ", ".join(
                f"{e}/serial {ratio(s['serial'], max(s[e] - up, 1e-9))} ({up:.1f} s start-up)"
                for e, up in startup.items()))
    kernel = next((w for w in works if w.name == "kernel_shap"), None)
    if kernel is not None and "serial" in kernel.seconds:
        rate = kernel.rows / kernel.seconds["serial"]
        print(f"kernel_shap serial {rate:.2f} rows/s vs Alibi's {ALIBI_ROWS_PER_S_PER_CORE} "
              f"rows/s/core: {rate / ALIBI_ROWS_PER_S_PER_CORE:.1f}x (target >= "
              f"{TARGET_VS_ALIBI}x; serial uses {args.threads} threads, the GBT scores on one)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows-scale", type=float, default=1.0,
                        help="scales every row count (10k tree, 1k kernel, 200 IG, 1k/10k memory)")
    parser.add_argument("--parts", default="abcd",
                        help="a tree_shap, b kernel_shap, c integrated_gradients, d memory")
    parser.add_argument("--engines", default="serial,local,dask")
    parser.add_argument("--n-jobs", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--max-evals", type=int, default=512)
    parser.add_argument("--partition-rows", type=int, default=None,
                        help="explain_dataset's partition_rows (default: its own, ~16 parts)")
    parser.add_argument("--fixed-cost", action=argparse.BooleanOptionalAction, default=True,
                        help="time every engine on one partition first (2 extra cold starts)")
    parser.add_argument("--memory-child", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    torch.set_num_threads(args.threads)
    with threadpool_limits(args.threads):
        if args.memory_child is not None:
            memory_child(args.memory_child, MEMORY_PARTITION_ROWS)
            return
        print(f"{os.cpu_count()} cores, {args.threads} threads in this process, n_jobs="
              f"{args.n_jobs}, median of {args.repeats} run(s), every engine run cold; {load()}")
        if "d" in args.parts:
            bench_memory(args)
        engines = [e for e in args.engines.split(",") if e]
        if "dask" in engines:
            import dask.distributed  # noqa: F401 - imported before any timing

            # the Nanny's "still alive after 4 s, killing" at cluster close is the only
            # warning; the time it costs is inside the dask figures
            logging.getLogger("distributed").setLevel(logging.ERROR)
        print(f"a fresh process importing xplain and shap (each worker's floor): "
              f"{worker_floor():.2f} s\n")
        models = adult_models(seed=0) if set("ab") & set(args.parts) else None
        builders = {"a": lambda: tree_work(models, args), "b": lambda: kernel_work(models, args),
                    "c": lambda: ig_work(args)}
        works = []
        for part, build in builders.items():
            if part in args.parts:
                work = build()
                print(f"({part}) {work.name}, {work.rows} rows, params {work.params}")
                measure(work, engines, args)
                works.append(work)
                print()
        if works:
            summary(works, engines, args)
        print(load())


if __name__ == "__main__":
    main()
