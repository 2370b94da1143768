"""tree_shap's interaction values against shap's own ``shap_interaction_values``."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import (
    GradientBoostingClassifier,
    GradientBoostingRegressor,
    RandomForestClassifier,
    RandomForestRegressor,
)
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

import xplain
from xplain.errors import InvalidInputError, InvalidParameterError, MethodNotApplicableError

shap = pytest.importorskip("shap")
xgboost = pytest.importorskip("xgboost")
lightgbm = pytest.importorskip("lightgbm")

D = 5
ROWS = [0, 7, 42]
TOL = 1e-8
# xgboost computes the matrix itself, in float32: its rows sum to its values within that
FLOAT32 = 1e-6


@pytest.fixture(scope="module")
def table() -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(200, D)), columns=[f"f{j}" for j in range(D)])
    score = frame.f0 + 2 * frame.f1 * frame.f2 - frame.f3 * (frame.f4 > 0)
    binary = (score > 0).to_numpy().astype(int)
    three = np.digitize(score, [-0.5, 0.5])
    return frame, score.to_numpy(), binary, three


# name -> (model, labels "regression" / "binary" / "multiclass", Explainer output)
MODELS = {
    "xgboost_classifier": (
        lambda: xgboost.XGBClassifier(n_estimators=15, max_depth=3, n_jobs=1), "binary", "log_odds"
    ),
    "xgboost_regressor": (
        lambda: xgboost.XGBRegressor(n_estimators=15, max_depth=3, n_jobs=1), "regression", None
    ),
    "xgboost_multiclass": (
        lambda: xgboost.XGBClassifier(n_estimators=10, max_depth=3, n_jobs=1), "multiclass", "raw"
    ),
    "lightgbm_classifier": (
        lambda: lightgbm.LGBMClassifier(n_estimators=15, num_leaves=8, verbose=-1, n_jobs=1),
        "binary",
        "log_odds",
    ),
    "lightgbm_multiclass": (
        lambda: lightgbm.LGBMClassifier(n_estimators=10, num_leaves=8, verbose=-1, n_jobs=1),
        "multiclass",
        "raw",
    ),
    "random_forest_classifier": (
        lambda: RandomForestClassifier(n_estimators=10, max_depth=5, random_state=0),
        "binary",
        "probability",
    ),
    "random_forest_multiclass": (
        lambda: RandomForestClassifier(n_estimators=10, max_depth=5, random_state=0),
        "multiclass",
        "probability",
    ),
    "random_forest_regressor": (
        lambda: RandomForestRegressor(n_estimators=10, max_depth=5, random_state=0),
        "regression",
        None,
    ),
    "gradient_boosting_classifier": (
        lambda: GradientBoostingClassifier(n_estimators=15, random_state=0), "binary", "log_odds"
    ),
    "gradient_boosting_regressor": (
        lambda: GradientBoostingRegressor(n_estimators=15, random_state=0), "regression", None
    ),
}


@pytest.fixture(scope="module")
def fitted(table) -> dict:
    frame, score, binary, three = table
    y = {"regression": score, "binary": binary, "multiclass": three}
    return {name: make().fit(frame, y[kind]) for name, (make, kind, _) in MODELS.items()}


def shaps_matrix(model, rows: np.ndarray, target: int) -> np.ndarray:
    """shap's interaction values ``[n, d, d]`` of ``target``: its one output for a
    regressor or a binary boosted model (negated for class 0), else the target's."""
    pairs = np.asarray(shap.TreeExplainer(model).shap_interaction_values(rows), dtype=np.float64)
    if pairs.ndim == 3:
        return pairs if target != 0 or not hasattr(model, "classes_") else -pairs
    return pairs[..., target]


def tolerance(name: str) -> float:
    return FLOAT32 if name.startswith("xgboost") else TOL


@pytest.mark.parametrize("name", list(MODELS))
def test_interactions_equal_shaps_and_rows_sum_to_the_values(name, table, fitted) -> None:
    frame = table[0]
    model, (_, kind, output) = fitted[name], MODELS[name]
    explainer = xplain.Explainer(model, data=frame, output=output)
    target = {"regression": 0, "binary": 1, "multiclass": 2}[kind]
    batch = explainer.explain_batch(frame.iloc[ROWS], "tree_shap", target, interactions=True)
    expected = shaps_matrix(model, frame.iloc[ROWS].to_numpy(), target)  # [n, d, d]
    for e, theirs in zip(batch, expected, strict=True):
        assert e.interactions.shape == (D, D)
        np.testing.assert_allclose(e.interactions, theirs, rtol=0, atol=TOL)
        # rows sum to the values, the matrix is symmetric
        np.testing.assert_allclose(e.interactions.sum(1), e.values, atol=tolerance(name))
        np.testing.assert_allclose(e.interactions, e.interactions.T, atol=tolerance(name))
        assert e.diagnostics["interaction_gap"] <= tolerance(name)
        # the values are the path-dependent ones, and say so; completeness still holds
        assert e.diagnostics["feature_perturbation"] == "tree_path_dependent"
        assert e.params["interactions"] is True
        assert e.diagnostics["efficiency_gap"] < 1e-5
        assert e.diagnostics["completeness_gap_shown"] < 1e-5
    # one row explained alone equals its row of the batch (the batched path)
    single = explainer.explain(frame.iloc[ROWS[1]], "tree_shap", target, interactions=True)
    np.testing.assert_array_equal(single.interactions, batch[1].interactions)
    np.testing.assert_array_equal(single.values, batch[1].values)


def test_values_are_the_path_dependent_values_without_interactions(table, fitted) -> None:
    frame = table[0]
    explainer = xplain.Explainer(fitted["xgboost_classifier"], data=frame, output="log_odds")
    with_pairs = explainer.explain(frame.iloc[3], "tree_shap", interactions=True)
    path = explainer.explain(frame.iloc[3], "tree_shap", feature_perturbation="tree_path_dependent")
    interventional = explainer.explain(frame.iloc[3], "tree_shap")
    np.testing.assert_array_equal(with_pairs.values, path.values)
    assert path.interactions is None and interventional.interactions is None
    assert interventional.diagnostics["feature_perturbation"] == "interventional"
    assert not np.allclose(interventional.values, with_pairs.values)  # not mixed up


def test_class_zero_of_a_binary_boosted_model_negates_the_matrix(table, fitted) -> None:
    frame = table[0]
    explainer = xplain.Explainer(fitted["lightgbm_classifier"], data=frame, output="log_odds")
    one = explainer.explain(frame.iloc[5], "tree_shap", target=1, interactions=True)
    zero = explainer.explain(frame.iloc[5], "tree_shap", target=0, interactions=True)
    np.testing.assert_allclose(zero.interactions, -one.interactions, atol=TOL)
    np.testing.assert_allclose(zero.interactions.sum(1), zero.values, atol=TOL)


def test_one_hot_blocks_are_summed_on_both_axes(table) -> None:
    frame = table[0]
    # three colours with three effects: the trees split on two indicators of one column
    colour = np.where(frame.f4 > 0.5, "red", np.where(frame.f4 > -0.5, "green", "blue"))
    data = frame.drop(columns="f4").assign(colour=colour)
    score = frame.f0 + 2 * frame.f1 * frame.f2 + 1.5 * (colour == "red") - 1.5 * (colour == "blue")
    binary = (score > 0).to_numpy().astype(int)
    pipeline = Pipeline(
        [
            (
                "pre",
                ColumnTransformer([("cat", OneHotEncoder(), ["colour"])], remainder="passthrough"),
            ),
            ("gb", GradientBoostingClassifier(n_estimators=15, random_state=0)),
        ]
    ).fit(data, binary)
    explainer = xplain.Explainer(pipeline, data=data, output="log_odds")
    e = explainer.explain(data.iloc[11], "tree_shap", target=1, interactions=True)

    # shap on the model's own 3 + 4 columns, then summed over the colour block both ways
    model_rows = pipeline[:-1].transform(data.iloc[[11]])
    theirs = shaps_matrix(pipeline[-1], model_rows, 1)[0]  # [7, 7]
    owner = {"colour": [0, 1, 2], "f0": [3], "f1": [4], "f2": [5], "f3": [6]}
    groups = np.zeros((len(data.columns), model_rows.shape[1]))  # [d, m] membership
    for i, column in enumerate(data.columns):
        groups[i, owner[column]] = 1.0
    np.testing.assert_allclose(e.interactions, groups @ theirs @ groups.T, atol=TOL)
    np.testing.assert_allclose(e.interactions.sum(1), e.values, atol=TOL)
    # within the colour block the indicators interact: summing only its diagonal would fail
    block = theirs[:3, :3]
    assert np.abs(block - np.diag(np.diag(block))).max() > 1e-3
    assert e.interactions[4, 4] == pytest.approx(block.sum(), abs=TOL)


def test_interactions_survive_to_dict_json_and_compare(table, fitted) -> None:
    frame = table[0]
    explainer = xplain.Explainer(fitted["random_forest_classifier"], data=frame)
    e = explainer.explain(frame.iloc[2], "tree_shap", interactions=True)
    assert not e.interactions.flags.writeable
    back = xplain.Explanation.from_dict(json.loads(json.dumps(e.to_dict(), allow_nan=False)))
    assert back == e
    np.testing.assert_array_equal(back.interactions, e.interactions)
    changed = e.interactions.copy()
    changed[0, 1] += 1.0
    other = xplain.Explanation.from_dict({**e.to_dict(), "interactions": changed.tolist()})
    assert other != e
    plain = explainer.explain(frame.iloc[2], "tree_shap")
    assert "interactions" not in plain.to_dict()
    assert xplain.Explanation.from_dict(plain.to_dict()).interactions is None
    with pytest.raises(InvalidInputError, match="interactions"):
        xplain.Explanation.from_dict({**e.to_dict(), "interactions": [[1.0, 2.0]]})


def test_explain_dataset_stores_the_interactions(table, fitted, tmp_path) -> None:
    frame = table[0]
    explainer = xplain.Explainer(fitted["xgboost_regressor"], data=frame)
    batch = explainer.explain_batch(frame.iloc[:4], "tree_shap", interactions=True)
    result = explainer.explain_dataset(
        frame.iloc[:4], "tree_shap", params={"interactions": True}, output=tmp_path / "out",
        engine="serial", progress=False,
    )
    for i, e in enumerate(batch):
        np.testing.assert_array_equal(result.explanation(i).interactions, e.interactions)


def test_refusals(table, fitted, monkeypatch) -> None:
    frame, _, _, three = table
    explainer = xplain.Explainer(fitted["xgboost_classifier"], data=frame, output="log_odds")
    with pytest.raises(InvalidParameterError, match="tree_path_dependent"):
        explainer.explain(
            frame.iloc[0], "tree_shap", interactions=True, feature_perturbation="interventional"
        )
    # the probability of a boosted model is no raw output: path-dependent cannot explain it
    probability = xplain.Explainer(fitted["xgboost_classifier"], data=frame)
    with pytest.raises(InvalidParameterError, match="output='log_odds'"):
        probability.explain(frame.iloc[0], "tree_shap", interactions=True)
    # shap cannot read a multi-class GradientBoostingClassifier at all
    multi = GradientBoostingClassifier(n_estimators=5, random_state=0).fit(frame, three)
    with pytest.raises(MethodNotApplicableError, match="kernel_shap"):
        xplain.Explainer(multi, data=frame, output="raw").explain(
            frame.iloc[0], "tree_shap", interactions=True
        )

    # a model whose interaction values shap refuses (shap asserts): a clear xplain error
    def refuse(self, X, y=None, tree_limit=None):
        raise AssertionError("Only model_output = 'raw' is supported")

    monkeypatch.setattr(shap.TreeExplainer, "shap_interaction_values", refuse)
    with pytest.raises(MethodNotApplicableError, match="interaction values of this XGBClassifier"):
        explainer.explain(frame.iloc[0], "tree_shap", interactions=True)
    with pytest.raises(InvalidParameterError, match="interactions"):
        explainer.explain(frame.iloc[0], "tree_shap", interactions="yes")
