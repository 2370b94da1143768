"""A hostile pass over explain_dataset: bad rows, awkward names and sizes, damaged outputs,
concurrent runs. Each case ends in the right numbers or one clear XplainError naming the
problem."""

from __future__ import annotations

import json
import shutil
import threading

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.linear_model import LogisticRegression

import xplain
from xplain.display import FeatureDisplay
from xplain.errors import (
    DatasetOutputError,
    InvalidInputError,
    ModelOutputError,
    PartitionsFailedError,
)
from xplain.explanation import Explanation
from xplain.scale.schema import to_explanation, to_table
from xplain.scale.source import partition_hash

COLUMNS = list("abcd")
KERNEL = {"max_evals": 20}


def run(explainer, data, out, method="kernel_shap", params=None, **kw):
    kw = {"engine": "serial", "progress": False, "batch_rows": 2, "partition_rows": 4, **kw}
    params = KERNEL if params is None and method == "kernel_shap" else params or {}
    return explainer.explain_dataset(data, method, params=params, output=out, **kw)


def rows(ds) -> pd.DataFrame:
    return ds.to_pandas().drop(columns=["seconds"])


@pytest.fixture(scope="module")
def table():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(12, 4)), columns=COLUMNS)
    model = LogisticRegression().fit(frame, (frame.a - frame.c > 0).astype(int))
    return xplain.Explainer(model, data=frame.iloc[:6]), frame


@pytest.fixture(scope="module")
def reference(table, tmp_path_factory):
    """The uninterrupted output of the table (partitions of 4 rows: 0..3, 4..7, 8..11)."""
    explainer, frame = table
    return run(explainer, frame, tmp_path_factory.mktemp("reference") / "out")


def explanation(features, diagnostics, kind="bars") -> Explanation:
    return Explanation(
        features=features, values=np.arange(len(features), dtype=float), target=1,
        target_label="b", prediction=np.array([0.25, 0.75]), labels=["a", "b"], method="m",
        params={}, diagnostics=diagnostics, n_model_evals=3, seconds=0.5,
        modality="tabular", output="probability", display=FeatureDisplay(kind=kind),
    )


def round_trip(explanations, features):
    table = to_table(range(len(explanations)), explanations, features)
    return table, [to_explanation(row, features) for row in table.to_pylist()]


# -- bad rows: the row is named, nothing non-finite is written ------------------------------
def test_a_nan_cell_fails_its_partition_naming_the_row(table, tmp_path):
    explainer, frame = table
    bad = frame.copy()
    bad.loc[5, "b"] = np.nan
    with pytest.raises(PartitionsFailedError, match=r"row 5 failed: InvalidInputError.*'b'"):
        run(explainer, bad, tmp_path)
    done = xplain.open_dataset(tmp_path)
    assert done.missing_partitions == [1]
    assert np.isfinite(done.to_pandas().filter(like="value:").to_numpy()).all()


class NanForOneRow:
    """A logistic model of column ``a`` whose scores are NaN where column ``b`` is 7."""

    classes_ = np.array([0, 1])

    def predict_proba(self, rows) -> np.ndarray:
        x = np.asarray(rows, dtype=np.float64)
        p = 1.0 / (1.0 + np.exp(-x[:, 0]))
        p = np.where(x[:, 1] == 7.0, np.nan, p)
        return np.column_stack([1 - p, p])


def test_a_model_nan_for_one_row_fails_its_partition_naming_the_row(table, tmp_path):
    _, frame = table
    bad = frame.copy()
    bad.loc[9, "b"] = 7.0
    explainer = xplain.Explainer(NanForOneRow(), data=frame.iloc[:6])
    with pytest.raises(PartitionsFailedError, match=r"row 9 failed: ModelOutputError.*NaN") as info:
        run(explainer, bad, tmp_path)
    assert list(info.value.failed) == [2]
    with pytest.raises(ModelOutputError):  # the same row alone: the same refusal
        explainer.explain(bad.iloc[9], "kernel_shap", **KERNEL)


@pytest.mark.parametrize(
    "change, words",
    [
        (lambda f: f.set_axis(["a", "b", "c", "a"], axis=1), "column 'a' more than once"),
        (lambda f: f.assign(row_id=0), "column named 'row_id'"),
    ],
)
def test_duplicate_and_reserved_columns_are_refused(table, tmp_path, change, words):
    explainer, frame = table
    with pytest.raises(InvalidInputError, match=words):
        run(explainer, change(frame), tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_mixed_type_column_names_the_row(table, tmp_path):
    explainer, frame = table
    mixed = frame.astype(object)
    mixed.loc[6, "c"] = "seven"
    with pytest.raises(PartitionsFailedError, match=r"row 6 failed: InvalidInputError.*'c'"):
        run(explainer, mixed, tmp_path)


def test_texts_unicode_long_and_empty(tiny_bert, minilm_tokenizer, tmp_path):
    explainer = xplain.Explainer(tiny_bert, tokenizer=minilm_tokenizer)
    texts = ["café ☕ 東京", "😀 " * 5, "a long one " * 300, "", "fine"]
    with pytest.raises(PartitionsFailedError, match=r"row 3 failed: InvalidInputError") as info:
        run(explainer, texts, tmp_path, "saliency", partition_rows=2)
    assert list(info.value.failed) == [1]
    done = xplain.open_dataset(tmp_path)
    for i in (0, 1, 4):  # row 2 shares the failed partition with row 3
        made = explainer.explain(texts[i], "saliency")
        assert done.explanation(i).features == made.features
        np.testing.assert_array_equal(done.explanation(i).values, made.values)


# -- sizes and names -------------------------------------------------------------------------
@pytest.mark.parametrize(
    "data_rows, kw",
    [
        (12, dict(partition_rows=400)),  # one partition larger than the data
        (1, dict()),  # one row
        (5, dict(batch_rows=1, partition_rows=1)),
    ],
)
def test_awkward_sizes_give_the_reference_rows(table, reference, tmp_path, data_rows, kw):
    explainer, frame = table
    got = rows(run(explainer, frame.iloc[:data_rows], tmp_path / "out", **kw))
    # the same values; a diagnostic that some rows lack (kernel_shap's 'games') reads as
    # int64 where every row read has it, float64 (NaN) where not
    pd.testing.assert_frame_equal(got, rows(reference).iloc[:data_rows], check_exact=True,
                                  check_dtype=False)



def test_more_workers_than_partitions(table, reference, tmp_path):
    explainer, frame = table
    got = rows(run(explainer, frame, tmp_path / "out", engine="local", n_jobs=6,
                   partition_rows=8))
    pd.testing.assert_frame_equal(got, rows(reference), check_exact=True)


def test_an_output_path_with_spaces_and_unicode(table, reference, tmp_path):
    explainer, frame = table
    out = tmp_path / "my attrs/résumé 東京"
    run(explainer, frame, out)
    pd.testing.assert_frame_equal(rows(xplain.open_dataset(out)), rows(reference),
                                  check_exact=True)


def test_two_threads_on_two_outputs(table, reference, tmp_path):
    explainer, frame = table
    errors: list[BaseException] = []

    def one(name: str) -> None:
        try:
            run(explainer, frame, tmp_path / name)
        except BaseException as err:  # noqa: BLE001 - reported by the test
            errors.append(err)

    threads = [threading.Thread(target=one, args=(name,)) for name in ("x", "y")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for name in ("x", "y"):
        pd.testing.assert_frame_equal(rows(xplain.open_dataset(tmp_path / name)),
                                      rows(reference), check_exact=True)


# -- damaged outputs -------------------------------------------------------------------------
@pytest.mark.parametrize("damage", ["truncate", "empty", "delete", "swap"])
def test_a_damaged_part_is_recomputed_on_resume(table, reference, tmp_path, damage):
    explainer, frame = table
    out = tmp_path / "out"
    shutil.copytree(reference.directory, out)
    part = out / "part-000001.parquet"
    if damage == "truncate":
        part.write_bytes(part.read_bytes()[: part.stat().st_size // 2])
    elif damage == "empty":
        part.write_bytes(b"")
    elif damage == "delete":
        part.unlink()
        assert len(xplain.open_dataset(out)) == 8  # reopened while partial
    else:  # another partition's complete part under this name
        shutil.copy(out / "part-000002.parquet", part)
    if damage != "delete":
        with pytest.raises(DatasetOutputError, match="part-000001"):
            xplain.open_dataset(out).to_pandas()
    run(explainer, frame, out)
    pd.testing.assert_frame_equal(rows(xplain.open_dataset(out)), rows(reference),
                                  check_exact=True)


def edit_manifest(reference, tmp_path, **changes):
    out = tmp_path / "out"
    shutil.copytree(reference.directory, out)
    manifest = json.loads((out / "_manifest.json").read_text())
    manifest.update(changes)
    (out / "_manifest.json").write_text(json.dumps(manifest))
    return out


def test_a_manifest_naming_a_feature_no_part_has(reference, tmp_path):
    """Before the fix: a raw KeyError 'value:zzz' from reading the row."""
    out = edit_manifest(reference, tmp_path, features=["a", "b", "c", "zzz"])
    with pytest.raises(DatasetOutputError, match="'value:zzz'"):
        xplain.open_dataset(out).explanation(0)


def test_global_importance_of_a_manifest_naming_a_feature_no_part_has(reference, tmp_path):
    out = edit_manifest(reference, tmp_path, features=["a", "b", "c", "zzz"])
    with pytest.raises(DatasetOutputError, match="zzz"):
        xplain.open_dataset(out).global_importance()


def test_a_manifest_whose_method_disagrees_with_its_fingerprint(reference, tmp_path):
    out = edit_manifest(reference, tmp_path, method="lime")
    with pytest.raises(DatasetOutputError, match="method"):
        xplain.open_dataset(out)


def test_an_array_explain_batch_refuses_is_refused(tmp_path):
    torch.manual_seed(0)
    grey = torch.nn.Sequential(
        torch.nn.Conv2d(1, 2, 3, padding=1), torch.nn.AdaptiveAvgPool2d(1),
        torch.nn.Flatten(), torch.nn.Linear(2, 2),
    ).double().eval()
    explainer = xplain.Explainer(grey, modality="image")
    image = np.random.default_rng(0).random((6, 5, 1))  # one grey image [H, W, C]
    with pytest.raises(InvalidInputError, match="one image"):
        explainer.explain_batch(image[None][0], "saliency")
    # explain_dataset explained it as 6 images of 5 x 1 pixels
    with pytest.raises(InvalidInputError, match="one image"):
        run(explainer, image, tmp_path / "out", "saliency")


# -- the schema: names and diagnostics of any kind ------------------------------------------
def test_h01_input_fingerprint_is_the_same_in_every_run_and_separates_values():
    """Before the fix: a str column (pandas' default for text) was hashed by its object
    pointers (a new fingerprint on every run: no resume), and values were separated by a
    terminator that a value could contain (two different inputs, one fingerprint: stale
    parts resumed)."""
    texts = pd.DataFrame({"s": ["a fine film", "dull"]})
    copy = pd.DataFrame({"s": [str(t) + "" for t in ["a fine film", "dull"]]})
    assert partition_hash(texts) == partition_hash(copy.copy(deep=True))
    a = pd.DataFrame({"s": pd.Series(["x\0sy", "z"], dtype=object)})
    b = pd.DataFrame({"s": pd.Series(["x", "y\0sz"], dtype=object)})
    assert partition_hash(a) != partition_hash(b)


def test_h02_a_diagnostic_named_like_a_column_keeps_the_explanation():
    """Before the fix, a scalar diagnostic named 'tokens' took the column the reader takes
    the features from: the explanation came back with other features."""
    made = [explanation(["x", "y"], {"tokens": "zz", "values": 1.0, "value:x": 2.0,
                                     "explanation": 3.0, "target": 4.0, "std_err": 5.0})]
    for features in (None, ["x", "y"]):
        table, back = round_trip(made, features)
        assert back == made
        assert "tokens" not in table.column_names and "std_err" not in table.column_names


def test_h03_diagnostics_of_mixed_kinds_stay_in_the_json():
    """Before the fix: a raw ArrowTypeError / ArrowInvalid / OverflowError."""
    made = [explanation(["x", "y"], {"note": "s", "flag": True, "big": 2**70, "n": 3}),
            explanation(["x", "y"], {"note": 1.5, "flag": 1, "big": 1, "n": 4.5})]
    table, back = round_trip(made, ["x", "y"])
    assert back == made
    assert table.column("n").type == "double"
    assert not {"note", "flag", "big"} & set(table.column_names)


def test_h04_duplicate_features_are_refused_not_merged():
    """Before the fix, both value columns were one: the second value overwrote the first."""
    with pytest.raises(InvalidInputError, match="'x' appears more than once"):
        to_table([0], [explanation(["x", "x"], {})], ["x", "x"])
