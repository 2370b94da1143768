"""explain_dataset's inputs: every form of ``data`` gives the output of the same rows as a
DataFrame or a list (all columns but ``seconds``), and a rerun resumes it (the input's
fingerprint is the same in every run); what is no dataset is refused clearly."""

from __future__ import annotations

import dataclasses
import glob
import os

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.linear_model import LogisticRegression

import xplain
from xplain.errors import InvalidInputError, InvalidParameterError

COLUMNS = ["age", "hours", "gain", "loss"]
SENTENCES = ["a fine film", "dull and long", "the best acting of the year", "not good",
             "it works", "charming"]


def run(explainer, data, out, method="kernel_shap", params=None, **kw):
    kw = {"engine": "serial", "progress": False, "batch_rows": 2, "partition_rows": 4, **kw}
    return explainer.explain_dataset(data, method, params=params or {}, output=out, **kw)


def rows(ds) -> pd.DataFrame:
    return ds.to_pandas().drop(columns=["seconds"])


def mtimes(directory) -> dict[str, int]:
    return {p: os.stat(p).st_mtime_ns for p in sorted(glob.glob(f"{directory}/part-*"))}


def same_but_timing(read: xplain.Explanation, made: xplain.Explanation) -> bool:
    return dataclasses.replace(read, seconds=made.seconds) == made


@pytest.fixture(scope="module")
def table():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(10, 4)), columns=COLUMNS)
    model = LogisticRegression().fit(frame, (frame.age - frame.gain > 0).astype(int))
    return xplain.Explainer(model, data=frame.iloc[:6]), frame


@pytest.fixture(scope="module")
def text(tiny_bert, minilm_tokenizer):
    return xplain.Explainer(tiny_bert, tokenizer=minilm_tokenizer)


@pytest.fixture(scope="module")
def images():
    torch.manual_seed(0)
    cnn = torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(2),
        torch.nn.Flatten(), torch.nn.Linear(16, 3),
    ).double().eval()
    rng = np.random.default_rng(0)
    return xplain.Explainer(cnn, modality="image"), [rng.random((6, 5, 3)) for _ in range(5)]


class Dataset:
    """A stand-in for Hugging Face's ``datasets.Dataset`` (not installed here): the
    members explain_dataset uses."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self.frame = frame

    def select(self, indices) -> Dataset:
        return Dataset(self.frame.iloc[list(indices)].reset_index(drop=True))

    def to_pandas(self) -> pd.DataFrame:
        return self.frame

    @property
    def column_names(self) -> list[str]:
        return list(self.frame.columns)

    def __len__(self) -> int:
        return len(self.frame)


def test_parquet_file_directory_and_glob_equal_the_frame(table, tmp_path):
    explainer, frame = table
    params = {"max_evals": 20}
    expected = rows(run(explainer, frame, tmp_path / "frame", params=params))
    (tmp_path / "in").mkdir()
    frame.to_parquet(tmp_path / "all.parquet")
    frame.iloc[:7].to_parquet(tmp_path / "in" / "a.parquet")  # files split mid-partition
    frame.iloc[7:].to_parquet(tmp_path / "in" / "b.parquet")
    for name, data in [("file", tmp_path / "all.parquet"), ("dir", tmp_path / "in"),
                       ("glob", str(tmp_path / "in" / "*.parquet"))]:
        got = rows(run(explainer, data, tmp_path / name, params=params))
        pd.testing.assert_frame_equal(got, expected, check_exact=True, obj=name)
        before = mtimes(tmp_path / name)
        run(explainer, data, tmp_path / name, params=params)  # resumed: nothing recomputed
        assert mtimes(tmp_path / name) == before


def test_text_frame_parquet_and_hf_dataset_equal_the_list(text, tmp_path):
    """A column of texts (pandas' str dtype) from a DataFrame, Parquet or a datasets.Dataset
    gives the list's output, and a rerun resumes it: before the fix, the fingerprint of a
    str column hashed its object pointers, so every rerun was refused ('changed: input')."""
    expected = rows(run(text, SENTENCES, tmp_path / "list", "saliency"))
    frame = pd.DataFrame({"label": [0, 1] * 3, "sentence": SENTENCES})
    frame.to_parquet(tmp_path / "s.parquet")
    for name, data in [("frame", frame), ("parquet", tmp_path / "s.parquet"),
                       ("hf", Dataset(frame))]:
        out = tmp_path / name
        got = rows(run(text, data, out, "saliency", column="sentence"))
        pd.testing.assert_frame_equal(got, expected, check_exact=True, obj=name)
        before = mtimes(out)
        run(text, data, out, "saliency", column="sentence")
        assert mtimes(out) == before, name
    assert rows(xplain.open_dataset(tmp_path / "hf")).equals(expected)
    with pytest.raises(InvalidInputError, match="column='text'"):  # no column for a text model
        run(text, Dataset(frame), tmp_path / "no-column", "saliency")


def test_text_column_with_a_non_string_label(text, tmp_path):
    """A DataFrame's column labels are used as they are: column=0 names the column 0."""
    expected = rows(run(text, SENTENCES, tmp_path / "list", "saliency"))
    frame = pd.DataFrame({0: SENTENCES, 1: range(6)})
    got = rows(run(text, frame, tmp_path / "int", "saliency", column=0))
    pd.testing.assert_frame_equal(got, expected, check_exact=True)
    with pytest.raises(InvalidParameterError, match="no column '0'"):
        run(text, frame, tmp_path / "str", "saliency", column="0")


def test_numpy_rows_for_a_tabular_model(table, tmp_path):
    """A 2-D array's rows are the model's rows, in the order of the feature names."""
    explainer, frame = table
    params = {"max_evals": 20}
    expected = rows(run(explainer, frame, tmp_path / "frame", params=params))
    named = xplain.Explainer(explainer.model, data=frame.iloc[:6].to_numpy(),
                             feature_names=COLUMNS)
    got = rows(run(named, frame.to_numpy(), tmp_path / "array", params=params))
    value_columns = [f"value:{c}" for c in COLUMNS]
    assert [c for c in got.columns if c.startswith("value:")] == value_columns
    pd.testing.assert_frame_equal(got[value_columns], expected[value_columns],
                                  check_exact=True)
    e = named.explain(frame.to_numpy()[7], "kernel_shap", max_evals=20, seed=[0, 7])
    np.testing.assert_array_equal(got.loc[7, value_columns].to_numpy(float), e.values)


def test_images_as_a_list_an_array_and_a_tensor(images, tmp_path):
    explainer, pictures = images
    ds = run(explainer, pictures, tmp_path / "list", "saliency")
    frame = rows(ds)
    assert [len(v) for v in frame["values"]] == [6 * 5] * 5  # H * W values per image
    for i in (0, 3, 4):
        made = explainer.explain(pictures[i], "saliency")
        read = ds.explanation(i)
        assert read.image_shape == (6, 5)
        assert same_but_timing(read, made)
    stacked = np.stack(pictures)  # [N, H, W, C]
    tensor = torch.as_tensor(stacked.transpose(0, 3, 1, 2).copy())  # [N, C, H, W]
    for name, data in [("array", stacked), ("tensor", tensor)]:
        got = rows(run(explainer, data, tmp_path / name, "saliency"))
        pd.testing.assert_frame_equal(got, frame, check_exact=True, obj=name)


@pytest.mark.parametrize(
    "data, words",
    [
        ((s for s in SENTENCES), "Got generator"),
        ({"sentence": SENTENCES}, "Got dict"),
        (pd.Series(SENTENCES), "Got Series"),
        ("no/such/file.parquet", "No Parquet file"),
    ],
)
def test_what_is_no_dataset_is_refused(text, tmp_path, data, words):
    with pytest.raises(InvalidInputError, match=words):
        run(text, data, tmp_path / "out", "saliency")
    assert not (tmp_path / "out").exists()


def test_parquet_files_with_other_columns_are_refused(table, tmp_path):
    """pyarrow reads a column a file lacks as nulls: before the fix, that file's rows were
    explained (or failed row by row) as if the user's data had missing values."""
    explainer, frame = table
    (tmp_path / "in").mkdir()
    frame.iloc[:5].to_parquet(tmp_path / "in" / "a.parquet")
    frame.iloc[5:].drop(columns=["loss"]).to_parquet(tmp_path / "in" / "b.parquet")
    with pytest.raises(InvalidInputError, match=r"b\.parquet' lacks 'loss'"):
        run(explainer, tmp_path / "in", tmp_path / "out", params={"max_evals": 20})
    assert not (tmp_path / "out").exists()
