"""Mistakes with tabular models raise XplainError subclasses that say what to fix."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.decomposition import PCA
from sklearn.ensemble import GradientBoostingClassifier, RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

import xplain
from xplain.errors import (
    InvalidInputError,
    InvalidParameterError,
    MethodNotApplicableError,
    MissingDependencyError,
    ModelOutputError,
    XplainError,
)


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 120
    return pd.DataFrame(
        {
            "age": rng.integers(18, 80, n),
            "workclass": rng.choice(["Private", "Self-emp", "State-gov"], n),
            "hours": rng.normal(40, 8, n),
        }
    )


@pytest.fixture(scope="module")
def labels(frame) -> np.ndarray:
    return ((frame.age > 40) ^ (frame.workclass == "Private")).to_numpy().astype(int)


@pytest.fixture(scope="module")
def explainer(frame, labels) -> xplain.Explainer:
    pre = ColumnTransformer(
        [("cat", OneHotEncoder(), ["workclass"]), ("num", StandardScaler(), ["age", "hours"])]
    )
    model = Pipeline([("pre", pre), ("lr", LogisticRegression())]).fit(frame, labels)
    return xplain.Explainer(model, data=frame)


ROW = {"age": 39, "workclass": "Private", "hours": 40.0}


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"age": np.nan}, ["'age'", "nan"]),
        ({"hours": np.inf}, ["'hours'", "inf"]),
        ({"age": "forty"}, ["'age'", "numeric", "'forty'"]),
        ({"age": None}, ["'age'", "None"]),
        (
            {"workclass": "Privat"},
            ["'workclass'", "'Privat'", "Did you mean 'Private'", "'Self-emp'", "'State-gov'"],
        ),
    ],
)
def test_bad_values_name_the_column_and_value(explainer, change, words) -> None:
    with pytest.raises(InvalidInputError) as info:
        explainer.explain({**ROW, **change}, "kernel_shap")
    for word in words:
        assert word in str(info.value)


def test_missing_and_misnamed_columns_are_named_with_suggestions(explainer) -> None:
    with pytest.raises(InvalidInputError, match="missing column.*'hours'"):
        explainer.explain({"age": 39, "workclass": "Private"}, "kernel_shap")
    with pytest.raises(InvalidInputError) as info:
        explainer.explain({"Age": 39, "workclass": "Private", "hours": 40.0}, "kernel_shap")
    assert "unknown column(s) 'Age' (did you mean 'age'?)" in str(info.value)
    with pytest.raises(InvalidInputError, match="unknown column.*'colour'"):
        explainer.explain({**ROW, "colour": "red"}, "kernel_shap")


def test_wrong_shapes_of_the_instance(explainer, frame) -> None:
    with pytest.raises(InvalidInputError, match="one value per column"):
        explainer.explain([39, "Private"], "kernel_shap")
    with pytest.raises(InvalidInputError, match="2 rows"):
        explainer.explain(frame.iloc[:2], "kernel_shap")
    with pytest.raises(InvalidInputError, match="Got str"):
        explainer.explain("age=39", "kernel_shap")
    # the accepted forms agree: Series, one-row DataFrame, dict, array
    forms = [frame.iloc[0], frame.iloc[[0]], frame.iloc[0].to_dict(), frame.iloc[0].to_numpy()]
    values = [explainer.explain(form, "occlusion").values for form in forms]
    for other in values[1:]:
        np.testing.assert_array_equal(other, values[0])


def test_model_outputs_of_the_wrong_shape(frame) -> None:
    with pytest.raises(ModelOutputError, match=r"shape \[100\] or \[100, C\].*\[101\]"):
        xplain.Explainer(lambda rows: np.zeros(len(rows) + 1), data=frame)
    with pytest.raises(ModelOutputError, match="numeric scores"):
        xplain.Explainer(lambda rows: np.array(["yes"] * len(rows)), data=frame)

    class Broken:  # a classifier whose predict_proba has the wrong number of columns
        classes_ = np.array([0, 1])

        def predict(self, X):
            return np.zeros(len(X))

        def predict_proba(self, X):
            return np.full((len(X), 3), 1 / 3)

    with pytest.raises(ModelOutputError, match=r"2 score\(s\) per row.*\[100, 3\]"):
        xplain.Explainer(Broken(), data=frame)


def test_bad_data_and_adapter_parameters(frame, labels) -> None:
    model = RandomForestClassifier(n_estimators=5).fit(frame[["age", "hours"]], labels)
    with pytest.raises(InvalidParameterError, match="needs background rows"):
        xplain.Explainer(model, modality="tabular")
    holey = frame[["age", "hours"]].astype(float)
    holey.loc[3, "hours"] = np.nan
    with pytest.raises(InvalidParameterError, match="'hours' has 1 missing"):
        xplain.Explainer(model, data=holey)
    with pytest.raises(InvalidParameterError, match="'categorical'.*'agee'.*Did you mean 'age'"):
        xplain.Explainer(model, data=frame[["age", "hours"]], categorical=["agee"])
    with pytest.raises(InvalidParameterError, match="'background_size'.*>= 1. Got 0"):
        xplain.Explainer(model, data=frame[["age", "hours"]], background_size=0)
    with pytest.raises(InvalidParameterError, match="not fitted"):
        xplain.Explainer(RandomForestClassifier(), data=frame)
    with pytest.raises(InvalidParameterError, match="fitted on column.*'hours'"):
        xplain.Explainer(model, data=frame[["age"]])
    with pytest.raises(InvalidParameterError, match="'output'.*'probability', 'log_odds'"):
        xplain.Explainer(model, data=frame[["age", "hours"]], output="logits")


def test_gradient_methods_on_a_sklearn_model_name_the_methods_that_apply(explainer) -> None:
    with pytest.raises(MethodNotApplicableError) as info:
        explainer.explain(ROW, "integrated_gradients")
    message = str(info.value)
    assert "not differentiable" in message
    assert "Methods that apply: exact_shapley, kernel_shap, lime, occlusion." in message
    with pytest.raises(MethodNotApplicableError, match="tree ensemble"):
        explainer.explain(ROW, "tree_shap")


def test_tree_shap_says_which_outputs_it_cannot_explain(frame, labels) -> None:
    numeric = frame[["age", "hours"]]
    boosted = GradientBoostingClassifier(n_estimators=5).fit(numeric, labels)
    explainer = xplain.Explainer(boosted, data=numeric)  # output: probability
    with pytest.raises(InvalidParameterError, match="raw output only.*interventional"):
        explainer.explain(numeric.iloc[0], "tree_shap", feature_perturbation="tree_path_dependent")
    three = GradientBoostingClassifier(n_estimators=5).fit(numeric, frame.workclass)
    with pytest.raises(MethodNotApplicableError, match="multi-class boosted.*output='raw'"):
        xplain.Explainer(three, data=numeric).explain(numeric.iloc[0], "tree_shap")
    forest = RandomForestClassifier(n_estimators=5).fit(numeric, labels)
    with pytest.raises(MethodNotApplicableError, match="log_odds"):
        xplain.Explainer(forest, data=numeric, output="log_odds").explain(
            numeric.iloc[0], "tree_shap"
        )
    mixed = Pipeline([("pca", PCA(2)), ("rf", forest)]).fit(numeric, labels)
    explainer = xplain.Explainer(mixed, data=numeric)
    assert "tree_shap" not in explainer.applicable_methods()


def test_missing_shap_gives_the_install_line(frame, labels, monkeypatch) -> None:
    numeric = frame[["age", "hours"]]
    forest = RandomForestClassifier(n_estimators=5).fit(numeric, labels)
    explainer = xplain.Explainer(forest, data=numeric)
    monkeypatch.setitem(sys.modules, "shap", None)
    with pytest.raises(MissingDependencyError, match="pip install shap"):
        explainer.explain(numeric.iloc[0], "tree_shap")


def test_every_error_is_an_xplain_error() -> None:
    for error in (
        InvalidInputError,
        InvalidParameterError,
        ModelOutputError,
        MethodNotApplicableError,
        MissingDependencyError,
    ):
        assert issubclass(error, XplainError)
