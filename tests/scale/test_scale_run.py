"""explain_dataset: the same Parquet whatever the engine, workers or partition size;
resume after failures; bad input refused before any work."""

from __future__ import annotations

import glob
import json
import os
import sys
from dataclasses import replace

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
import torch
from flaky import MARKER, FlakyModel
from sklearn.linear_model import LogisticRegression

import xplain
from xplain.errors import (
    DatasetOutputError,
    InvalidInputError,
    InvalidParameterError,
    MissingDependencyError,
    PartitionsFailedError,
)
from xplain.methods.perturbation.kernel_shap import KernelShap

COLUMNS = list("abcdefgh")


def read_parts(directory) -> pd.DataFrame:
    """Every part's rows in row order, without the timing column (the only one that may
    differ between runs)."""
    tables = [pq.read_table(p).to_pandas() for p in sorted(glob.glob(f"{directory}/part-*"))]
    frame = pd.concat(tables).sort_values("row_id").reset_index(drop=True)
    return frame.drop(columns=["seconds"])


@pytest.fixture(scope="module")
def table_data():
    rng = np.random.default_rng(1)
    X = pd.DataFrame(rng.normal(size=(120, 8)), columns=COLUMNS)
    y = (X.a - X.c + 0.5 * X.e > 0).astype(int)
    return X, LogisticRegression().fit(X, y)


@pytest.fixture(scope="module")
def tabular(table_data):
    X, model = table_data
    return xplain.Explainer(model, data=X.iloc[:30]), X.iloc[30:54].reset_index(drop=True)


@pytest.fixture(scope="module")
def text(tiny_bert, minilm_tokenizer):
    sentences = ["a fine film", "dull and long", "the best acting of the year", "not good",
                 "it works", "what a mess of a plot", "charming", "an odd , slow story"] * 2
    return xplain.Explainer(tiny_bert, tokenizer=minilm_tokenizer), sentences


CASES = {
    "kernel_shap": ("tabular", {"max_evals": 40}),  # 8 features: sampled, not exact
    "lime": ("tabular", {"num_samples": 50}),
    "integrated_gradients": ("text", {"n_steps": 8}),
}


def run(explainer, data, method, params, out, **kw):
    kw.setdefault("progress", False)
    kw.setdefault("batch_rows", 4)
    return explainer.explain_dataset(data, method, params=params, output=out, **kw)


@pytest.mark.parametrize("method", list(CASES))
def test_identical_whatever_engine_workers_and_partitions(method, request, tmp_path):
    modality, params = CASES[method]
    explainer, data = request.getfixturevalue(modality)
    from dask.distributed import Client

    runs = {
        "serial/4": dict(engine="serial", partition_rows=4),
        "serial/8": dict(engine="serial", partition_rows=8),
        "local1/8": dict(engine="local", n_jobs=1, partition_rows=8),
        "local2/4": dict(engine="local", n_jobs=2, partition_rows=4),
    }
    frames = {}
    for name, kw in runs.items():
        out = tmp_path / name.replace("/", "_")
        run(explainer, data, method, params, out, **kw)
        frames[name] = read_parts(out)
    with Client(processes=False, n_workers=1, threads_per_worker=2) as client:
        run(explainer, data, method, params, tmp_path / "dask", engine=client, partition_rows=8)
        frames["dask-threads/8"] = read_parts(tmp_path / "dask")
    first = frames.pop("serial/4")
    assert len(first) == len(data) and list(first.row_id) == list(range(len(data)))
    for name, frame in frames.items():
        pd.testing.assert_frame_equal(first, frame, check_exact=True, obj=name)
    # each row has its own seed: rows are not explained with one shared sample
    if method != "integrated_gradients":
        params_of = [json.loads(j)["params"]["seed"] for j in first.explanation[:3]]
        assert params_of == [[0, 0], [0, 1], [0, 2]]


def test_dask_local_cluster_of_two_processes(tabular, tmp_path):
    explainer, data = tabular
    params = CASES["kernel_shap"][1]
    run(explainer, data, "kernel_shap", params, tmp_path / "serial", engine="serial",
        partition_rows=8)
    run(explainer, data, "kernel_shap", params, tmp_path / "dask", engine="dask", n_jobs=2,
        partition_rows=4)
    pd.testing.assert_frame_equal(read_parts(tmp_path / "serial"), read_parts(tmp_path / "dask"),
                                  check_exact=True)


def test_row_seed_reproduces_the_single_explanation(tabular, tmp_path):
    explainer, data = tabular
    run(explainer, data, "kernel_shap", {"max_evals": 40}, tmp_path, engine="serial")
    frame = read_parts(tmp_path)
    for i in (0, 5, 17):
        e = explainer.explain(data.iloc[i], "kernel_shap", max_evals=40, seed=[0, i])
        got = frame.loc[i, [f"value:{c}" for c in COLUMNS]].to_numpy(dtype=float)
        np.testing.assert_array_equal(got, e.values)
    # another seed gives other values: the seed reaches the sampler
    run(explainer, data, "kernel_shap", {"max_evals": 40}, tmp_path / "s1", engine="serial",
        seed=1)
    assert not np.array_equal(read_parts(tmp_path / "s1").filter(like="value:").to_numpy(),
                              frame.filter(like="value:").to_numpy())


# -- faults and resume ------------------------------------------------------------------
def flaky_setup(tmp_path, kill=False):
    rng = np.random.default_rng(2)
    X = pd.DataFrame(rng.normal(size=(20, 8)), columns=COLUMNS)
    X.loc[13, "a"] = MARKER  # partition 3 of 5 (rows 12..15)
    flag = tmp_path / "fault-on"
    model = FlakyModel(rng.normal(size=8), flag, kill=kill)
    explainer = xplain.Explainer(model, data=X.iloc[:6].assign(a=0.0))
    return explainer, X, flag


def mtimes(directory):
    return {p: os.stat(p).st_mtime_ns for p in sorted(glob.glob(f"{directory}/part-*"))}


@pytest.mark.parametrize("engine", ["serial", "local"])
def test_failed_partition_is_reported_and_resumed_alone(engine, tmp_path):
    explainer, X, flag = flaky_setup(tmp_path)
    params = {"max_evals": 40}
    run(explainer, X, "kernel_shap", params, tmp_path / "clean", engine="serial",
        partition_rows=4)
    flag.touch()
    out = tmp_path / "out"
    with pytest.raises(PartitionsFailedError, match="injected fault") as info:
        run(explainer, X, "kernel_shap", params, out, engine=engine, n_jobs=2, partition_rows=4)
    assert set(info.value.failed) == {3}
    assert "row 13" in info.value.failed[3] and "resume=True" in str(info.value)
    assert not (out / "_SUCCESS").exists()
    before = mtimes(out)
    assert len(before) == 4  # partitions 0, 1, 2 and 4 are written and readable
    assert read_parts(out).row_id.tolist() == [*range(12), *range(16, 20)]
    flag.unlink()
    run(explainer, X, "kernel_shap", params, out, engine=engine, n_jobs=2, partition_rows=4)
    after = mtimes(out)
    changed = [p for p in after if before.get(p) != after[p]]
    assert [os.path.basename(p) for p in changed] == ["part-000003.parquet"]
    assert (out / "_SUCCESS").exists()
    pd.testing.assert_frame_equal(read_parts(out), read_parts(tmp_path / "clean"),
                                  check_exact=True)


def test_killed_worker_is_survived(tmp_path):
    explainer, X, flag = flaky_setup(tmp_path, kill=True)
    params = {"max_evals": 40}
    run(explainer, X, "kernel_shap", params, tmp_path / "clean", engine="serial",
        partition_rows=4)
    flag.touch()
    out = tmp_path / "out"
    with pytest.raises(PartitionsFailedError) as info:
        run(explainer, X, "kernel_shap", params, out, engine="local", n_jobs=2,
            partition_rows=4)
    assert 3 in info.value.failed  # and maybe the partition the other worker held
    assert len(mtimes(out)) == 5 - len(info.value.failed)
    flag.unlink()
    run(explainer, X, "kernel_shap", params, out, engine="local", n_jobs=2, partition_rows=4)
    pd.testing.assert_frame_equal(read_parts(out), read_parts(tmp_path / "clean"),
                                  check_exact=True)


def test_interrupt_keeps_finished_partitions(tmp_path, monkeypatch):
    explainer, X, _ = flaky_setup(tmp_path)
    calls = {"n": 0}
    original = xplain.scale.partition.explain_partition

    def interrupted(explainer, table, spec):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return original(explainer, table, spec)

    monkeypatch.setattr("xplain.scale.engines.explain_partition", interrupted)
    with pytest.raises(KeyboardInterrupt):
        run(explainer, X, "kernel_shap", {"max_evals": 40}, tmp_path / "out", engine="serial",
            partition_rows=4)
    assert read_parts(tmp_path / "out").row_id.tolist() == list(range(8))


def test_resume_skips_finished_work_and_refuses_another_run(tabular, tmp_path):
    explainer, data = tabular
    run(explainer, data, "kernel_shap", {"max_evals": 40}, tmp_path, engine="serial")
    before = mtimes(tmp_path)
    run(explainer, data, "kernel_shap", {"max_evals": 40}, tmp_path, engine="serial")
    assert mtimes(tmp_path) == before
    with pytest.raises(DatasetOutputError, match="changed: params"):
        run(explainer, data, "kernel_shap", {"max_evals": 60}, tmp_path, engine="serial")
    changed_data = data.assign(a=data.a + 1)
    with pytest.raises(DatasetOutputError, match="changed: input"):
        run(explainer, changed_data, "kernel_shap", {"max_evals": 40}, tmp_path,
            engine="serial")
    other = xplain.Explainer(LogisticRegression().fit(data, np.arange(len(data)) % 2),
                             data=data)
    with pytest.raises(DatasetOutputError, match="model_id"):
        run(other, data, "kernel_shap", {"max_evals": 40}, tmp_path, engine="serial")
    run(other, data, "kernel_shap", {"max_evals": 40}, tmp_path, engine="serial",
        overwrite=True)
    assert mtimes(tmp_path) != before
    # resume=False recomputes everything of the same run
    before = mtimes(tmp_path)
    run(other, data, "kernel_shap", {"max_evals": 40}, tmp_path, engine="serial",
        resume=False)
    assert all(mtimes(tmp_path)[p] != before[p] for p in before)


# -- bad input, before any work ---------------------------------------------------------
def test_bad_input_is_refused_before_work(tabular, text, tmp_path):
    explainer, data = tabular
    out = tmp_path / "never"
    cases = [
        (dict(data=data.drop(columns=["c"])), InvalidInputError, "c"),
        (dict(engine="spark"), InvalidParameterError, "engine must be"),
        (dict(params={"seed": 3}), InvalidParameterError, "seeds each row itself"),
        (dict(params={"max_evalz": 3}), InvalidParameterError, "max_evalz"),
        (dict(data=data.iloc[:0]), InvalidParameterError, "no rows"),
        (dict(column="zzz"), InvalidParameterError, "no column 'zzz'"),
        (dict(n_jobs=0), InvalidParameterError, "n_jobs"),
        (dict(seed=-1), InvalidParameterError, "seed"),
        (dict(target="no-such-class"), xplain.InvalidTargetError, "no-such-class"),
    ]
    for kw, error, words in cases:
        kw = {"data": data, "params": {"max_evals": 40}, **kw}
        with pytest.raises(error, match=words):
            run(explainer, kw.pop("data"), "kernel_shap", kw.pop("params"), out, **kw)
        assert not out.exists(), kw
    # a budget above xplain.limits fails on the first row, before the output exists
    with xplain.limits.override(max_model_rows=100), \
            pytest.raises(xplain.ResourceLimitError, match="lower max_evals"):
        run(explainer, data, "kernel_shap", {"max_evals": 200}, out, engine="serial")
    assert not out.exists()
    with pytest.raises(InvalidParameterError, match="registered method name"):
        explainer.explain_dataset(data, KernelShap(), output=out)
    text_explainer, sentences = text
    with pytest.raises(InvalidInputError, match="column"):
        run(text_explainer, pd.DataFrame({"sentence": sentences}), "integrated_gradients",
            {}, out, engine="serial")
    frame = pd.DataFrame({"sentence": sentences})
    done = run(text_explainer, frame, "saliency", {}, tmp_path / "text", engine="serial",
               column="sentence")
    assert len(done) == len(sentences)


def test_output_directory_problems(tabular, tmp_path):
    explainer, data = tabular
    a_file = tmp_path / "file.parquet"
    a_file.write_text("x")
    with pytest.raises(DatasetOutputError, match="is a file"):
        run(explainer, data, "kernel_shap", {"max_evals": 40}, a_file, engine="serial")
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("mine")
    with pytest.raises(DatasetOutputError, match="other files"):
        run(explainer, data, "kernel_shap", {"max_evals": 40}, busy, engine="serial")
    assert (busy / "notes.txt").read_text() == "mine"
    if os.geteuid() != 0:  # root writes anywhere
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        with pytest.raises(DatasetOutputError, match="not writable"):
            run(explainer, data, "kernel_shap", {"max_evals": 40}, locked, engine="serial")


def test_dask_not_installed(tabular, tmp_path, monkeypatch):
    explainer, data = tabular
    monkeypatch.setitem(sys.modules, "dask.distributed", None)
    with pytest.raises(MissingDependencyError, match="pip install"):
        run(explainer, data, "kernel_shap", {}, tmp_path, engine="dask")


def test_batched_method_explains_fixed_blocks(tmp_path):
    """tree_shap is batched: blocks of batch_rows rows, whatever the partitions. With a
    weighted (k-means) background of 6 rows and blocks of 8 rows, each block is explained
    against one TreeExplainer per background row, built once per partition."""
    from sklearn.ensemble import GradientBoostingClassifier

    rng = np.random.default_rng(3)
    X = pd.DataFrame(rng.normal(size=(96, 4)), columns=list("wxyz"))
    model = GradientBoostingClassifier(n_estimators=5, max_depth=2).fit(X, X.w > 0)
    explainer = xplain.Explainer(model, data=X.iloc[:40], background_size=6)
    weights = explainer.adapter.background.weights
    assert len(weights) == 6 and not np.allclose(weights, weights[0])
    rows = X.iloc[40:]
    run(explainer, rows, "tree_shap", {}, tmp_path / "a", engine="serial", batch_rows=8,
        partition_rows=16)
    run(explainer, rows, "tree_shap", {}, tmp_path / "b", engine="local", n_jobs=2,
        batch_rows=8, partition_rows=32)
    with pytest.raises(InvalidParameterError, match="multiple of batch_rows"):
        run(explainer, rows, "tree_shap", {}, tmp_path / "c", batch_rows=8, partition_rows=12)
    # a method explaining rows one by one takes any partition size (blocks do not matter)
    run(explainer, rows.iloc[:6], "kernel_shap", {"max_evals": 20}, tmp_path / "d",
        engine="serial", partition_rows=5)
    a, b = read_parts(tmp_path / "a"), read_parts(tmp_path / "b")
    pd.testing.assert_frame_equal(a, b, check_exact=True)
    values = a.filter(like="value:").to_numpy()
    for start in (0, 24):  # a block of the first partition, and one of a later one
        expected = explainer.explain_batch(rows.iloc[start:start + 8], "tree_shap")
        np.testing.assert_array_equal(values[start:start + 8], [e.values for e in expected])
    assert torch.get_num_threads() >= 1  # the driver's threads are left as they were


def test_spark_recipe_gives_the_engines_numbers(tabular, tmp_path):
    """The README's mapInPandas recipe, without Spark: the pure core over arbitrary
    batches of rows (carrying their row_id) of a pickled explainer gives the same rows."""
    import cloudpickle

    from xplain.scale import PartitionSpec, explain_partition

    explainer, data = tabular
    params = {"max_evals": 40}
    run(explainer, data, "kernel_shap", params, tmp_path, engine="serial", seed=5)
    spec = PartitionSpec("kernel_shap", params, seed=5,
                         features=explainer.adapter.fixed_features())
    copy = cloudpickle.loads(cloudpickle.dumps(explainer))
    rows = data.assign(row_id=range(len(data)))
    frames = [explain_partition(copy, rows.iloc[a:b], spec).to_pandas()
              for a, b in [(0, 3), (3, 17), (17, len(data))]]
    got = pd.concat(frames).reset_index(drop=True).drop(columns=["seconds"])
    pd.testing.assert_frame_equal(got, read_parts(tmp_path), check_exact=True)


def test_a_dask_cluster_that_cannot_start_is_a_clear_error(tabular, tmp_path, monkeypatch):
    """A script without `if __name__ == "__main__":` makes LocalCluster fail with Dask's
    bare "Nanny failed to start"."""
    import dask.distributed

    def failing(*args, **kwargs):
        raise RuntimeError("Nanny failed to start.")

    monkeypatch.setattr(dask.distributed, "LocalCluster", failing)
    explainer, data = tabular
    with pytest.raises(InvalidParameterError, match="__main__"):
        run(explainer, data, "kernel_shap", {}, tmp_path, engine="dask")


def test_another_adapter_configuration_is_another_run(table_data, text, tmp_path):
    """Same model, same data, same method: an explainer configured otherwise (text
    aggregation, tabular background) must not resume the other's parts."""
    text_explainer, sentences = text
    model, tokenizer = text_explainer.model, text_explainer.adapter.tokenizer
    run(text_explainer, sentences[:4], "saliency", {}, tmp_path / "t", engine="serial")
    l2 = xplain.Explainer(model, tokenizer=tokenizer, aggregation="l2")
    with pytest.raises(DatasetOutputError, match="changed: adapter"):
        run(l2, sentences[:4], "saliency", {}, tmp_path / "t", engine="serial")
    same = xplain.Explainer(model, tokenizer=tokenizer)  # another object, same configuration
    run(same, sentences[:4], "saliency", {}, tmp_path / "t", engine="serial")

    X, model = table_data
    rows = X.iloc[60:66]
    run(xplain.Explainer(model, data=X.iloc[:30]), rows, "kernel_shap", {"max_evals": 40},
        tmp_path / "tab", engine="serial")
    with pytest.raises(DatasetOutputError, match="changed: adapter"):
        run(xplain.Explainer(model, data=X.iloc[30:60]), rows, "kernel_shap",
            {"max_evals": 40}, tmp_path / "tab", engine="serial")


def test_config_fingerprint_of_functions_is_stable_and_tells_them_apart():
    from xplain._identity import config_fingerprint

    def scale(k):
        return lambda x: x * k

    assert config_fingerprint({"f": scale(2)}) == config_fingerprint({"f": scale(2)})
    assert config_fingerprint({"f": scale(2)}) != config_fingerprint({"f": scale(3)})
    assert config_fingerprint({"f": lambda x: x + 1}) != config_fingerprint({"f": lambda x: x - 1})
    frame = pd.DataFrame({"a": range(100)})
    shifted = frame.assign(a=frame.a + 1)
    assert config_fingerprint({"d": frame}) != config_fingerprint({"d": shifted})


SCALE = 2.0


def test_config_fingerprint_sees_bound_state_globals_and_nested_code():
    """What the review found: a bound method's object, a module global the function reads,
    and nested code (whose repr holds an address) must all count, stably."""
    import subprocess

    from xplain._identity import config_fingerprint, model_fingerprint

    class Norm:
        def __init__(self, shift):
            self.shift = shift

        def apply(self, x):
            return x - self.shift

    assert config_fingerprint(Norm(0.0).apply) != config_fingerprint(Norm(0.5).apply)
    assert config_fingerprint(Norm(0.5).apply) == config_fingerprint(Norm(0.5).apply)

    def scaled(x):
        return x * SCALE

    before = config_fingerprint(scaled)
    globals()["SCALE"] = 3.0
    try:
        assert config_fingerprint(scaled) != before
    finally:
        globals()["SCALE"] = 2.0
    # a function holding a comprehension (nested code) hashes the same in a new process
    script = ("from xplain._identity import model_fingerprint\n"
              "def f(x):\n    return [v * 2 for v in x]\n"
              "print(model_fingerprint(f))")
    runs = {subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                           check=True).stdout for _ in range(2)}
    assert len(runs) == 1
    assert model_fingerprint(lambda x: x + 1) != model_fingerprint(lambda x: x + 2)


def test_a_failed_write_is_a_clear_error_and_keeps_earlier_parts(tabular, tmp_path, monkeypatch):
    import xplain.scale.store as store

    explainer, data = tabular
    calls = {"n": 0}
    original = store.pq.write_table

    def full_disk(table, where):
        calls["n"] += 1
        if calls["n"] == 2:
            raise OSError(28, "No space left on device")
        return original(table, where)

    monkeypatch.setattr(store.pq, "write_table", full_disk)
    with pytest.raises(DatasetOutputError, match="No space left.*resume=True"):
        run(explainer, data, "kernel_shap", {"max_evals": 40}, tmp_path, engine="serial",
            partition_rows=8)
    assert [os.path.basename(p) for p in mtimes(tmp_path)] == ["part-000000.parquet"]
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]


def test_the_drivers_limits_reach_the_workers(tabular, tmp_path):
    """xplain.limits.override is thread-local: the spec carries the ceilings in force where
    the run started, and explain_partition applies them wherever it runs."""
    from xplain.limits import Limits
    from xplain.scale import PartitionSpec, explain_partition

    explainer, data = tabular
    rows = data.iloc[:2].assign(row_id=[0, 1])
    low = PartitionSpec("kernel_shap", {"max_evals": 40}, limits=Limits(max_model_rows=300))
    with pytest.raises(xplain.RowError, match="ResourceLimitError"):
        explain_partition(explainer, rows, low)  # 30 background rows x 40 > 300
    assert len(explain_partition(explainer, rows, replace(low, limits=None))) == 2
    with xplain.limits.override(max_model_rows=300), pytest.raises(xplain.ResourceLimitError):
        run(explainer, data, "kernel_shap", {"max_evals": 40}, tmp_path, engine="serial")
