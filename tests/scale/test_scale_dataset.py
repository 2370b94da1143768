"""ExplanationDataset: reading explain_dataset outputs back, whole or partial.

Outputs are real runs (engine="serial") of a logistic regression on a 6-column table (wide
layout, kernel_shap) and of the tiny BERT (token lists, integrated_gradients).
"""

from __future__ import annotations

import dataclasses
import shutil
import warnings

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

import xplain
from xplain.errors import (
    DatasetOutputError,
    InvalidInputError,
    InvalidParameterError,
    ResourceLimitError,
)
from xplain.metrics import deletion_auc, infidelity
from xplain.report import BatchReport
from xplain.scale import dataset as dataset_module
from xplain.scale.dataset import ExplanationDataset, open_dataset
from xplain.scale.run import explain_dataset
from xplain.scale.store import MANIFEST, SUCCESS, part_name

COLUMNS = ["age", "hours", "gain", "loss", "score", "<b>x</b>"]
N_ROWS, PARTITION_ROWS = 40, 16  # partitions: rows 0..15, 16..31, 32..39
KERNEL = {"max_evals": 24}  # sampled: 6 features have 62 coalitions
SENTENCES = [
    "a great film", "not good at all", "the plot was dull", "I loved it",
    "boring and far too long", "an honest, moving story",
]


def _same_but_timing(read: xplain.Explanation, made: xplain.Explanation) -> bool:
    return dataclasses.replace(read, seconds=made.seconds, n_model_evals=made.n_model_evals) == made


@pytest.fixture(scope="module")
def table():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(N_ROWS, len(COLUMNS))), columns=COLUMNS)
    y = (frame.age + frame.hours - frame["<b>x</b>"] > 0).astype(int)
    explainer = xplain.Explainer(LogisticRegression().fit(frame, y), data=frame,
                                 background_size=10)
    return explainer, frame


@pytest.fixture(scope="module")
def tabular(table, tmp_path_factory):
    explainer, frame = table
    out = tmp_path_factory.mktemp("tabular") / "<i>out"
    ds = explain_dataset(explainer, frame, "kernel_shap", params=KERNEL, output=out,
                         engine="serial", partition_rows=PARTITION_ROWS, batch_rows=8,
                         seed=3, progress=False)
    return ds


@pytest.fixture(scope="module")
def text(tiny_bert, minilm_tokenizer, tmp_path_factory):
    explainer = xplain.Explainer(tiny_bert, tokenizer=minilm_tokenizer)
    ds = explain_dataset(explainer, SENTENCES, "integrated_gradients", params={"n_steps": 8},
                         output=tmp_path_factory.mktemp("text") / "out", engine="serial",
                         partition_rows=2, batch_rows=2, progress=False)
    return explainer, ds


@pytest.fixture
def partial(tabular, tmp_path):
    """A copy of the tabular output whose partition 1 never finished."""
    out = tmp_path / "partial"
    shutil.copytree(tabular.directory, out)
    (out / part_name(1)).unlink()
    (out / SUCCESS).unlink()
    return open_dataset(out)


def test_explanation_equals_explain_with_the_row_seed(table, tabular) -> None:
    explainer, frame = table
    assert tabular.complete and len(tabular) == tabular.n_rows == N_ROWS
    assert tabular.finished_partitions == [0, 1, 2] and tabular.missing_partitions == []
    for row_id in (0, 17, 39):
        made = explainer.explain(frame.iloc[row_id], "kernel_shap", seed=[3, row_id], **KERNEL)
        assert _same_but_timing(tabular.explanation(row_id), made)
    # another row's seed gives other values: the row's own seed is the one read back
    other = explainer.explain(frame.iloc[17], "kernel_shap", seed=[3, 16], **KERNEL)
    assert not _same_but_timing(tabular.explanation(17), other)
    assert not tabular.explanation(17).diagnostics["exact"]
    # explanations: the given order, each part read once; limit keeps the first ones
    got = tabular.explanations([39, 0, 17])
    assert [e.instance["age"] for e in got] == list(frame.age.iloc[[39, 0, 17]])
    assert len(tabular.explanations(limit=20)) == 20


def test_text_explanation_equals_explain(text) -> None:
    explainer, ds = text
    assert ds.features is None and len(ds) == len(SENTENCES)
    for row_id in (0, 3, 5):
        made = explainer.explain(SENTENCES[row_id], "integrated_gradients", n_steps=8)
        assert _same_but_timing(ds.explanation(row_id), made)


def test_to_pandas_sorted_without_the_json_column_unless_named(tabular) -> None:
    frame = tabular.to_pandas()
    assert frame["row_id"].tolist() == list(range(N_ROWS))
    assert "explanation" not in frame.columns and frame.columns[0] == "row_id"
    assert {f"value:{c}" for c in COLUMNS} <= set(frame.columns)
    values = np.array([tabular.explanation(i).values for i in (0, 39)])
    np.testing.assert_array_equal(frame.loc[[0, 39], [f"value:{c}" for c in COLUMNS]], values)
    only = tabular.to_pandas(columns=["explanation", "value:age"])
    assert list(only.columns) == ["row_id", "explanation", "value:age"]
    batches = list(tabular.iter_batches(columns=["value:age"]))
    assert [b["row_id"].tolist() for b in batches] == [list(range(0, 16)), list(range(16, 32)),
                                                       list(range(32, 40))]
    with pytest.raises(InvalidParameterError, match="'value:aeg'.*Did you mean 'value:age'"):
        tabular.to_pandas(columns=["value:aeg"])
    with pytest.raises(InvalidParameterError, match="iter_batches must be a list of column"):
        tabular.iter_batches(columns="value:age")  # refused when called, not when iterated


def test_to_pandas_refuses_more_memory_than_the_limit(tabular) -> None:
    with xplain.limits.override(max_memory_bytes=1000):
        with pytest.raises(ResourceLimitError, match="to_pandas.*iter_batches"):
            tabular.to_pandas()
        assert len(tabular.to_pandas(columns=["target"])) == N_ROWS  # ~700 bytes


def test_global_importance_equals_numpy_over_the_rows(tabular) -> None:
    frame = tabular.to_pandas()
    values = frame[[f"value:{c}" for c in COLUMNS]].to_numpy()
    expected = pd.DataFrame({"feature": COLUMNS, "mean_abs": np.abs(values).mean(axis=0),
                             "mean": values.mean(axis=0), "count": N_ROWS})
    expected = expected.sort_values("mean_abs", ascending=False).reset_index(drop=True)
    assert frame["target"].nunique() == 2  # each row explains its predicted class
    with pytest.warns(xplain.XplainWarning, match="different classes"):
        got = tabular.global_importance()
    assert got["feature"].tolist() == expected["feature"].tolist()
    np.testing.assert_allclose(got[["mean_abs", "mean"]], expected[["mean_abs", "mean"]],
                               rtol=1e-12, atol=1e-15)
    assert got["count"].tolist() == [N_ROWS] * len(COLUMNS)
    # one class: only the rows explaining it, by index or label, and no warning
    for target in (1, frame.loc[frame.target == 1, "target_label"].iloc[0]):
        with warnings.catch_warnings():
            warnings.simplefilter("error", xplain.XplainWarning)
            one = tabular.global_importance(target=target)
        rows = values[frame.target.to_numpy() == 1]
        assert one["count"].tolist() == [len(rows)] * len(COLUMNS)
        by_feature = one.set_index("feature")["mean_abs"]
        np.testing.assert_allclose(by_feature[COLUMNS], np.abs(rows).mean(axis=0), rtol=1e-12)
    with pytest.raises(xplain.InvalidParameterError, match="labels"):
        tabular.global_importance(target="no-such-class")


def test_global_importance_of_tokens_as_the_batch_report(text) -> None:
    _, ds = text
    got = ds.global_importance()
    expected = BatchReport(ds.explanations()).importance()
    assert "[CLS]" not in set(got["feature"]) and "[SEP]" not in set(got["feature"])
    assert sorted(got["feature"]) == sorted(expected["feature"])
    merged = got.merge(expected, on="feature", suffixes=("", "_report"))
    np.testing.assert_allclose(merged["mean_abs"], merged["mean_abs_report"], rtol=1e-12)
    np.testing.assert_allclose(merged["mean"], merged["mean_report"], rtol=1e-12, atol=1e-15)
    assert (merged["count"] == merged["count_report"]).all()


def test_a_partial_output_reads_its_finished_rows(tabular, partial) -> None:
    assert not partial.complete
    assert partial.finished_partitions == [0, 2] and partial.missing_partitions == [1]
    assert len(partial) == 24 and partial.n_rows == N_ROWS
    frame = partial.to_pandas()
    assert frame["row_id"].tolist() == [*range(16), *range(32, 40)]
    whole = tabular.to_pandas(columns=list(frame.columns))  # "games": only partition 1 has it
    pd.testing.assert_frame_equal(frame, whole.iloc[[*range(16), *range(32, 40)]]
                                  .reset_index(drop=True))
    assert partial.explanation(35) == tabular.explanation(35)
    with pytest.raises(InvalidInputError, match=r"Row 20 .*partition 1 \(rows 16..31\).*"
                                                r"part-000001.parquet.*resume=True"):
        partial.explanation(20)
    with pytest.raises(InvalidInputError, match="partition 1"):
        partial.explanations([0, 20])
    with pytest.raises(InvalidInputError, match="Row 40 is out of range.*rows 0..39"):
        partial.explanation(40)
    with pytest.raises(InvalidInputError, match="must be an int"):
        partial.explanation(True)
    assert "missing=[1]" in repr(partial)
    # global importance over the finished rows only
    values = frame[[f"value:{c}" for c in COLUMNS]].to_numpy()
    with pytest.warns(xplain.XplainWarning, match="different classes"):
        got = partial.global_importance().set_index("feature").loc[COLUMNS]
    np.testing.assert_allclose(got["mean_abs"], np.abs(values).mean(axis=0), rtol=1e-12)
    assert (got["count"] == 24).all()


def test_resuming_the_partial_output_completes_it(table, tabular, partial) -> None:
    explainer, frame = table
    done = explain_dataset(explainer, frame, "kernel_shap", params=KERNEL,
                           output=partial.directory, engine="serial",
                           partition_rows=PARTITION_ROWS, batch_rows=8, seed=3, progress=False)
    assert partial.complete and done.complete  # the same directory, read again
    timing = ["seconds"]
    pd.testing.assert_frame_equal(done.to_pandas().drop(columns=timing),
                                  tabular.to_pandas().drop(columns=timing))


def test_html_escapes_feature_names_and_the_directory(tabular, tmp_path) -> None:
    html = tabular._repr_html_()
    assert "&lt;i&gt;out" in html and "<i>out" not in html  # the summary: directory
    assert "&lt;b&gt;x&lt;/b&gt;" in html and "<b>x</b>" not in html  # the batch report
    assert "3 of 3 finished" in html and "40 of 40 rows" in html
    page = tabular.report(max_instances=5, path=tmp_path / "report.html")
    assert page.startswith("<!DOCTYPE html>") and "over 5 instances" in page
    assert "<b>x</b>" not in page and "&lt;b&gt;x&lt;/b&gt;" in page
    assert (tmp_path / "report.html").read_text(encoding="utf-8") == page
    with pytest.raises(InvalidParameterError, match="'max_display' parameter of report.*Got 0"):
        tabular.report(max_display=0)


def test_html_of_a_partial_output_names_what_is_missing(partial) -> None:
    html = partial._repr_html_()
    assert "2 of 3 finished; missing: 1" in html and "resume=True" in html


def test_an_output_with_no_finished_partition(partial) -> None:
    for i in partial.finished_partitions:
        (partial.directory / part_name(i)).unlink()
    assert len(partial) == 0 and partial.missing_partitions == [0, 1, 2]
    assert partial.to_pandas().empty and partial.explanations() == []
    assert partial.global_importance().empty
    assert "0 of 40 rows" in partial._repr_html_()
    with pytest.raises(InvalidInputError, match="no finished partition yet.*resume=True"):
        partial.report()


def test_evaluate_scores_each_row_as_the_metrics_do(table, tabular) -> None:
    explainer, _ = table
    frame = tabular.evaluate(explainer, ["deletion_auc", "infidelity"], rows=[17, 2])
    assert frame.index.name == "row_id" and frame.index.tolist() == [17, 2]
    for row_id in (17, 2):
        e = tabular.explanation(row_id)
        assert frame.loc[row_id, "deletion_auc"] == deletion_auc(explainer, e)
        assert frame.loc[row_id, "infidelity"] == infidelity(explainer, e)
    assert frame.attrs["higher_is_better"] == {"deletion_auc": False, "infidelity": False}
    with pytest.raises(InvalidParameterError, match="returns a frame.*xplain.metrics"):
        tabular.evaluate(explainer, ["model_parameter_randomisation"], rows=[0])
    with pytest.raises(InvalidParameterError, match="'rows' parameter of evaluate.*Got int"):
        tabular.evaluate(explainer, ["deletion_auc"], rows=3)


def test_evaluate_refuses_another_models_explainer(table, tabular) -> None:
    explainer, frame = table
    other = LogisticRegression(C=0.01).fit(frame, (frame.gain > 0).astype(int))
    with pytest.raises(InvalidParameterError, match="another model.*Explainer that made"):
        tabular.evaluate(xplain.Explainer(other, data=frame), ["deletion_auc"], rows=[0])
    with pytest.raises(InvalidParameterError, match="must be the xplain.Explainer"):
        tabular.evaluate(other, ["deletion_auc"], rows=[0])


def test_evaluate_without_rows_is_bounded(table, tabular, monkeypatch) -> None:
    explainer, _ = table
    monkeypatch.setattr(dataset_module, "MAX_DEFAULT_EVALUATE_ROWS", 10)
    with pytest.raises(InvalidParameterError, match="all 40 explained rows.*rows=range"):
        tabular.evaluate(explainer, ["completeness_gap"])


def test_a_directory_that_is_no_output_is_refused(tmp_path) -> None:
    with pytest.raises(DatasetOutputError, match="not an explain_dataset output"):
        xplain.open_dataset(tmp_path)  # the public name
    (tmp_path / "file").write_text("x")
    with pytest.raises(DatasetOutputError, match="not an explain_dataset output"):
        open_dataset(tmp_path / "file")


def test_a_damaged_manifest_is_refused(tabular, tmp_path) -> None:
    out = tmp_path / "damaged"
    shutil.copytree(tabular.directory, out)
    text = (out / MANIFEST).read_text().replace('"n_rows": 40', '"n_rows": 41')
    (out / MANIFEST).write_text(text)
    with pytest.raises(DatasetOutputError, match="damaged"):
        ExplanationDataset(out)


def test_a_foreign_or_broken_part_is_refused(table, tabular, tmp_path) -> None:
    explainer, frame = table
    other = explain_dataset(explainer, frame, "kernel_shap", params=KERNEL,
                            output=tmp_path / "other", engine="serial",
                            partition_rows=PARTITION_ROWS, batch_rows=8, seed=4, progress=False)
    out = tmp_path / "mixed"
    shutil.copytree(tabular.directory, out)
    shutil.copy(other.directory / part_name(2), out / part_name(2))
    mixed = open_dataset(out)
    assert mixed.explanation(0) == tabular.explanation(0)
    with pytest.raises(DatasetOutputError, match="another run.*resume=True"):
        mixed.explanation(35)
    (out / part_name(2)).write_bytes(b"PAR1 not parquet")
    with pytest.raises(DatasetOutputError, match="not a readable Parquet part.*resume=True"):
        mixed.to_pandas()


def test_a_diagnostic_some_parts_lack_reads_with_one_dtype() -> None:
    """A part without a diagnostic (kernel_shap reports ``games`` only on some rows) and a
    part with it read as the same nullable dtypes, so partial and complete outputs agree."""
    import pyarrow as pa

    from xplain.scale.dataset import _frame

    with_it = pa.table({"row_id": [0, 1], "games": [3, 4], "exact": [True, False]})
    without = pa.table({"row_id": [2, 3]})
    schema = pa.unify_schemas([with_it.schema, without.schema], promote_options="permissive")
    columns = ["row_id", "games", "exact"]
    a, b = _frame(with_it, columns, schema), _frame(without, columns, schema)
    assert list(a.dtypes) == list(b.dtypes) == [np.dtype("int64"), pd.Int64Dtype(),
                                                pd.BooleanDtype()]
    assert a["games"].tolist() == [3, 4] and b["games"].isna().all()
    assert a["exact"].tolist() == [True, False] and b["exact"].isna().all()


def test_open_dataset_of_something_not_a_path() -> None:
    with pytest.raises(DatasetOutputError, match="path of an explain_dataset output"):
        xplain.open_dataset(5)
