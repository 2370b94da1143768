"""TreeSHAP through the tabular adapter against brute-force Shapley values and shap itself."""

from __future__ import annotations

from math import factorial

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import (
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    RandomForestClassifier,
)
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder

import xplain
from xplain.adapters import TabularAdapter

shap = pytest.importorskip("shap")
xgboost = pytest.importorskip("xgboost")
lightgbm = pytest.importorskip("lightgbm")

D = 6
TOL = 1e-6


def brute_force_shapley(evaluate, d: int, target: int) -> np.ndarray:
    """Shapley values of v(S) = evaluate(mask of S)[target], from all 2^d coalitions."""
    codes = np.arange(2**d)
    masks = ((codes[:, None] >> np.arange(d)) & 1).astype(bool)  # [2^d, d]
    v = np.asarray(evaluate(masks))[:, target]
    sizes = masks.sum(1)
    phi = np.zeros(d)
    for i in range(d):
        without = codes[~masks[:, i]]
        weight = np.array([factorial(s) * factorial(d - s - 1) for s in sizes[without]])
        phi[i] = (weight / factorial(d)) @ (v[without | (1 << i)] - v[without])
    return phi


@pytest.fixture(scope="module")
def table() -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    n = 300
    frame = pd.DataFrame(rng.normal(size=(n, D)), columns=[f"f{j}" for j in range(D)])
    frame["f5"] = rng.integers(0, 5, n)  # an integer column
    score = frame.f0 + frame.f1 * frame.f2 - 0.5 * frame.f3 + 0.3 * frame.f5
    y = (score + rng.normal(0, 0.3, n) > 0.5).to_numpy().astype(int)
    y3 = np.digitize(score, [0.0, 1.0])
    return frame, y, y3


BINARY = {
    "sklearn_gb": lambda: GradientBoostingClassifier(n_estimators=20, max_depth=3, random_state=0),
    "random_forest": lambda: RandomForestClassifier(n_estimators=15, max_depth=5, random_state=0),
    "xgboost": lambda: xgboost.XGBClassifier(n_estimators=20, max_depth=3, n_jobs=1),
    "lightgbm": lambda: lightgbm.LGBMClassifier(
        n_estimators=20, num_leaves=8, verbose=-1, n_jobs=1
    ),
}


@pytest.fixture(scope="module")
def fitted(table) -> dict:
    frame, y, _ = table
    return {name: make().fit(frame, y) for name, make in BINARY.items()}


def margin_output(name: str) -> str:
    return "probability" if name == "random_forest" else "log_odds"


@pytest.mark.parametrize("name", list(BINARY))
def test_interventional_equals_brute_force_shapley_of_the_view(name, table, fitted) -> None:
    frame, _, _ = table
    explainer = xplain.Explainer(fitted[name], data=frame, output=margin_output(name))
    adapter = explainer.adapter
    assert not np.allclose(adapter.background.weights, adapter.background.weights[0])
    row = frame.iloc[11]
    view = adapter.interpretable_view(adapter.encode(row), explainer.output)
    for target in (0, 1):
        explanation = explainer.explain(row, "tree_shap", target=target)
        expected = brute_force_shapley(view.evaluate, D, target)
        np.testing.assert_allclose(explanation.values, expected, atol=TOL)
        assert explanation.diagnostics["feature_perturbation"] == "interventional"
        assert explanation.diagnostics["efficiency_gap"] < TOL
        assert explanation.diagnostics["base_value"] == pytest.approx(
            view.base_scores[target], abs=TOL
        )
    assert explanation.n_model_evals <= 2 + len(adapter.background.rows)


@pytest.mark.parametrize("name", list(BINARY))
def test_path_dependent_equals_shap_tree_explainer(name, table, fitted) -> None:
    frame, _, _ = table
    model = fitted[name]
    explainer = xplain.Explainer(model, data=frame, output=margin_output(name))
    row = frame.iloc[[11]]
    theirs = shap.TreeExplainer(model, feature_perturbation="tree_path_dependent")
    values = np.asarray(theirs.shap_values(row))[0]  # [D] or [D, 2]
    for target in (0, 1):
        explanation = explainer.explain(
            row.iloc[0], "tree_shap", target=target, feature_perturbation="tree_path_dependent"
        )
        expected = values[:, target] if values.ndim == 2 else (2 * target - 1) * values
        np.testing.assert_allclose(explanation.values, expected, atol=TOL)
        assert explanation.diagnostics["efficiency_gap"] < TOL


def test_regression_and_multiclass_margins(table) -> None:
    frame, _, y3 = table
    target = frame.f0 * 2 + frame.f1 * frame.f5
    regressor = GradientBoostingRegressor(n_estimators=20, random_state=0).fit(frame, target)
    multiclass = xgboost.XGBClassifier(n_estimators=10, max_depth=3, n_jobs=1).fit(frame, y3)
    for model, output, targets in ((regressor, "raw", (0,)), (multiclass, "raw", (0, 1, 2))):
        explainer = xplain.Explainer(model, data=frame, output=output)
        view = explainer.adapter.interpretable_view(explainer.adapter.encode(frame.iloc[3]), output)
        for t in targets:
            explanation = explainer.explain(frame.iloc[3], "tree_shap", target=t)
            expected = brute_force_shapley(view.evaluate, D, t)
            np.testing.assert_allclose(explanation.values, expected, atol=TOL)


def test_boosted_probability_is_shaps_rescaled_margin_values(table, fitted) -> None:
    """shap's probability output: per background row, margin Shapley values rescaled."""
    frame, _, _ = table
    model = fitted["sklearn_gb"]
    adapter = TabularAdapter(model, frame, background_size=12)
    row = adapter.data[20]
    fx = adapter.scores(row[None], "raw")[0, 1]
    expected = np.zeros(D)
    for b, w in zip(adapter.background.rows, adapter.background.weights, strict=True):

        def margin(masks, b=b):
            return adapter.scores(np.where(masks, row, b), "raw")

        fb = adapter.scores(b[None], "raw")[0, 1]
        scale = (1 / (1 + np.exp(-fx)) - 1 / (1 + np.exp(-fb))) / (fx - fb)
        expected += w * scale * brute_force_shapley(margin, D, 1)
    explainer = xplain.Explainer(model, adapter=adapter)
    explanation = explainer.explain(frame.iloc[20], "tree_shap", target=1)
    np.testing.assert_allclose(explanation.values, expected, atol=TOL)
    assert "rescaled" in explanation.diagnostics["note"]
    assert explanation.diagnostics["efficiency_gap"] < TOL


def test_pipeline_columns_are_mapped_back(table) -> None:
    frame, y, _ = table
    colour = np.where(frame.f4 > 0, "red", np.where(frame.f4 < -1, "blue", "green"))
    data = frame.assign(colour=colour)
    data = data.drop(columns="f4")
    numeric = ["f0", "f1", "f2", "f3", "f5"]
    # ordinal encoding: one model column per original column, in another order
    ordinal = Pipeline(
        [
            (
                "pre",
                ColumnTransformer([("cat", OrdinalEncoder(), ["colour"])], remainder="passthrough"),
            ),
            ("gb", GradientBoostingClassifier(n_estimators=20, random_state=0)),
        ]
    ).fit(data, y)
    explainer = xplain.Explainer(ordinal, data=data, output="log_odds")
    view = explainer.adapter.interpretable_view(explainer.adapter.encode(data.iloc[9]), "log_odds")
    explanation = explainer.explain(data.iloc[9], "tree_shap", target=1)
    assert explanation.features == list(data.columns)
    np.testing.assert_allclose(
        explanation.values, brute_force_shapley(view.evaluate, D, 1), atol=TOL
    )

    # one-hot encoding: a column's value is the sum over its indicator columns
    one_hot = Pipeline(
        [
            (
                "pre",
                ColumnTransformer([("cat", OneHotEncoder(), ["colour"])], remainder="passthrough"),
            ),
            ("xgb", xgboost.XGBClassifier(n_estimators=20, max_depth=3, n_jobs=1)),
        ]
    ).fit(data, y)
    explainer = xplain.Explainer(one_hot, data=data, output="log_odds", background_method="sample")
    explanation = explainer.explain(data.iloc[9], "tree_shap", target=1)
    background = explainer.adapter.schema.to_frame(explainer.adapter.background.rows)
    transform = one_hot[:-1].transform
    theirs = shap.TreeExplainer(
        one_hot[-1], data=transform(background), feature_perturbation="interventional"
    )
    values = theirs.shap_values(transform(data.iloc[[9]]))[0]  # [3 + 5]
    expected = dict(zip(numeric, values[3:], strict=True)) | {"colour": values[:3].sum()}
    np.testing.assert_allclose(explanation.values, [expected[c] for c in data.columns], atol=TOL)
