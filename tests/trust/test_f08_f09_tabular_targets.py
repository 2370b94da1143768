"""Trust findings 8 and 9: ambiguous column names, and integer class labels as targets."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from sklearn.linear_model import LogisticRegression

import xplain
from xplain import cli
from xplain.errors import InvalidInputError, InvalidParameterError, InvalidTargetError


def _frame(columns) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({c: rng.normal(size=60) for c in columns})


def _proba(frame) -> np.ndarray:
    """A model reading the columns by position: p(class 1) = sigmoid(x0 + 2 x1)."""
    x = np.asarray(frame, dtype=np.float64)
    p = 1 / (1 + np.exp(-(x[:, 0] + 2 * x[:, 1])))
    return np.column_stack([1 - p, p])


@pytest.mark.parametrize(
    "columns", [[0, "0"], ["a", "a"], [1.5, "1.5"], [True, "True"]], ids=repr
)
def test_f08_column_names_equal_as_text_are_refused_in_the_data(columns):
    frame = pd.DataFrame(np.random.default_rng(0).normal(size=(60, 2)), columns=columns)
    with pytest.raises(InvalidParameterError, match="not unique once written as text") as err:
        xplain.Explainer(_proba, data=frame)
    assert repr(columns[0]) in str(err.value) and "rename" in str(err.value)


def test_f08_duplicate_feature_names_for_an_array_are_refused():
    data = np.random.default_rng(0).normal(size=(60, 2))
    with pytest.raises(InvalidParameterError, match="'feature_names'.*'a' \\(str\\), 'a'"):
        xplain.Explainer(_proba, data=data, feature_names=["a", "a"])


@pytest.mark.parametrize(
    "instance",
    [
        pd.Series([0.5, 1.0, -3.0], index=["a", "b", "b"]),
        pd.DataFrame([[0.5, 1.0, -3.0]], columns=["a", "b", "b"]),
        {"a": 0.5, "b": 1.0, "B": 2.0, 0: 1.0, "0": 2.0},
    ],
    ids=["series", "frame", "dict"],
)
def test_f08_instances_with_ambiguous_keys_are_refused(instance):
    ex = xplain.Explainer(_proba, data=_frame(["a", "b"]))
    with pytest.raises(InvalidInputError, match="instance has column names that are not uniq"):
        ex.explain(instance, method="occlusion")
    # the unambiguous row is explained at the values it was given
    row = pd.Series({"a": 0.5, "b": 1.0})
    np.testing.assert_allclose(ex.explain(row, method="occlusion").prediction, _proba([row])[0])


# -- finding 9: integer class labels --------------------------------------------------------
@pytest.fixture(scope="module")
def one_two():
    """A LogisticRegression with classes_ = [1, 2] (labels "1", "2") and its data."""
    frame = _frame(["a", "b"])
    y = np.where(frame["a"] + frame["b"] > 0, 2, 1)
    model = LogisticRegression().fit(frame, y)
    return model, frame


def test_f09_int_target_that_is_another_class_label_is_refused(one_two):
    model, frame = one_two
    ex = xplain.Explainer(model, data=frame)
    assert ex.adapter.labels == ["1", "2"]
    with pytest.raises(InvalidTargetError, match="target=1 is ambiguous.*target='2'.*target='1'"):
        ex.explain(frame.iloc[0], method="occlusion", target=1)
    # a str is a label, an int that no class has as its label an index
    for target, index in (("1", 0), ("2", 1), (0, 0)):
        e = ex.explain(frame.iloc[0], method="occlusion", target=target)
        assert (e.target, e.target_label) == (index, ex.adapter.labels[index])
    with pytest.raises(InvalidTargetError, match="out of range.*pass target='2'"):
        ex.explain(frame.iloc[0], method="occlusion", target=2)
    # labels "0", "1" (a function's default) are their own indices: nothing is ambiguous
    plain = xplain.Explainer(_proba, data=frame)
    assert plain.adapter.labels == ["0", "1"]
    assert plain.explain(frame.iloc[0], method="occlusion", target=1).target == 1


def _cli_target(tmp_path, model, frame, *target: str):
    import joblib

    path, csv = tmp_path / "m.joblib", tmp_path / "rows.csv"
    joblib.dump(model, path)
    frame.to_csv(csv, index=False)
    args = ["table", "--model", str(path), "--data", str(csv), "--trust-model", "--row", "0"]
    args += ["--methods", "occlusion", "--out", str(tmp_path / "r.html"), *target]
    return CliRunner().invoke(cli.cli, args)


def test_f09_cli_and_api_agree_on_integer_labels(one_two, tmp_path):
    model, frame = one_two
    ex = xplain.Explainer(model, data=frame)
    # ambiguous in both: the CLI asks for --target-index, the API for a label string
    result = _cli_target(tmp_path, model, frame, "--target", "1")
    assert result.exit_code == 2 and "--target 1 is ambiguous" in result.stderr
    assert "--target-index 0 or --target-index 1" in result.stderr
    # the same class through both doors
    cases = [("--target", "2", "2"), ("--target-index", "0", "1"), ("--target-index", "1", "2")]
    for option, value, api_target in cases:
        result = _cli_target(tmp_path, model, frame, option, value)
        assert result.exit_code == 0, result.stderr
        expected = ex.explain(frame.iloc[0], method="occlusion", target=api_target)
        assert f"explained class: {expected.target_label} " in result.stdout


# -- labels that a string names twice (second try-out) ----------------------------------------
def test_str_target_matching_two_labels_is_refused():
    from xplain.explainer import resolve_target

    probabilities = np.array([0.2, 0.3, 0.5])
    with pytest.raises(InvalidTargetError, match="names 2 classes"):
        resolve_target("cat", probabilities, ["cat", "cat", "dog"])
    with pytest.raises(InvalidTargetError, match="names 2 classes"):
        resolve_target("CAT", probabilities, ["Cat", "cat", "dog"])
    # an exact match wins over a case-folded one
    assert resolve_target("cat", probabilities, ["Cat", "cat", "dog"]) == 1
    assert resolve_target("DOG", probabilities, ["Cat", "cat", "dog"]) == 2
