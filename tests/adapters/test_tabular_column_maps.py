"""A column-wise preprocessing replayed as lookups: the same model inputs as calling it, and
the same LIME / TreeSHAP results as the path that calls it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import (
    FunctionTransformer,
    OneHotEncoder,
    OrdinalEncoder,
    StandardScaler,
)
from test_tabular_adapter import CATEGORICAL, NUMERIC, adult_like

import xplain
from xplain.adapters import TabularAdapter
from xplain.adapters._tabular_model_space import ModelSpace, _preprocessed


@pytest.fixture(scope="module")
def table() -> tuple[pd.DataFrame, np.ndarray]:
    return adult_like()


def pipeline(table, encoder, numeric="passthrough", model=None) -> Pipeline:
    pre = ColumnTransformer(
        [("cat", encoder, CATEGORICAL), ("num", numeric, NUMERIC)],
        verbose_feature_names_out=False,
    )
    model = model if model is not None else GradientBoostingClassifier(
        n_estimators=20, random_state=0
    )
    return Pipeline([("pre", pre), ("model", model)]).fit(*table)


def without_maps(space: ModelSpace) -> None:
    """Back to the path that calls the preprocessing (the incumbent)."""
    object.__setattr__(space, "maps", None)


def samples(adapter: TabularAdapter, n: int, seed: int) -> np.ndarray:
    """Schema rows as LIME draws them: codes, and numbers off the data's values."""
    rng = np.random.default_rng(seed)
    rows = adapter.data[rng.integers(0, adapter.data.shape[0], n)].copy()
    for j, column in enumerate(adapter.schema.columns):
        if not column.categorical:
            rows[:, j] += rng.normal(0, 3, n)
    return rows


@pytest.mark.parametrize(
    "encoder", [OrdinalEncoder(), OneHotEncoder(sparse_output=False)], ids=["ordinal", "onehot"]
)
def test_lookups_equal_the_preprocessing_exactly(table, encoder) -> None:
    frame, _ = table
    model = pipeline(table, encoder)
    adapter = TabularAdapter(model, frame, background_size=10)
    space = adapter.backend.space
    assert isinstance(space, ModelSpace) and space.maps is not None
    for n, seed in ((1, 0), (7, 1), (300, 2)):
        rows = samples(adapter, n, seed)
        expected = _preprocessed(space.model, space.schema, rows)
        got = space.transform(rows)
        assert got.dtype == expected.dtype
        np.testing.assert_array_equal(got, expected)


def test_a_scaler_keeps_the_preprocessing(table) -> None:
    frame, _ = table
    model = pipeline(table, OrdinalEncoder(), StandardScaler(), LogisticRegression())
    space = TabularAdapter(model, frame, background_size=10).backend.space
    assert isinstance(space, ModelSpace) and space.maps is None


def test_a_function_that_acts_beyond_the_probes_keeps_the_preprocessing(table) -> None:
    """A clip at 10x the data's largest value passes every probe (data rows, values within
    4x the largest) but not a row beyond it: only "passthrough" proves a copy."""
    frame, _ = table
    cap = 10 * float(frame["capital"].abs().max())
    clip = FunctionTransformer(lambda X: np.clip(np.asarray(X, dtype=float), None, cap))
    model = pipeline(table, OrdinalEncoder(), clip, LogisticRegression())
    adapter = TabularAdapter(model, frame, background_size=10)
    assert adapter.backend.space.maps is None
    row = frame.iloc[[0]].copy()
    row["capital"] = 100 * cap
    np.testing.assert_array_equal(
        adapter.backend.space.transform(adapter.schema.row(row.iloc[0].to_dict())[None]),
        model[:-1].transform(row),
    )


def test_lime_gives_the_same_coefficients_as_through_the_preprocessing(table) -> None:
    frame, _ = table
    model = pipeline(table, OrdinalEncoder())
    fast = xplain.Explainer(model, data=frame, background_size=10)
    slow = xplain.Explainer(model, data=frame, background_size=10)
    without_maps(slow.adapter.backend.space)
    for i in range(3):
        row = frame.iloc[i]
        a = fast.explain(row, "lime", target=1, num_samples=400, seed=i)
        b = slow.explain(row, "lime", target=1, num_samples=400, seed=i)
        np.testing.assert_array_equal(a.values, b.values)
        assert a.diagnostics["intercept"] == b.diagnostics["intercept"]
        np.testing.assert_array_equal(a.prediction, b.prediction)


def test_lime_scores_equal_the_whole_pipeline(table) -> None:
    frame, _ = table
    model = pipeline(table, OrdinalEncoder())
    adapter = TabularAdapter(model, frame, background_size=10)
    rows = samples(adapter, 200, 3)
    expected = model.predict_proba(adapter.schema.to_frame(rows))
    np.testing.assert_array_equal(adapter.scores(rows, "probability"), expected)


def test_tree_shap_batch_equals_shap_and_the_preprocessing_path(table) -> None:
    shap = pytest.importorskip("shap")
    frame, _ = table
    model = pipeline(table, OrdinalEncoder())
    fast = xplain.Explainer(model, data=frame, background_size=20, background_method="sample")
    slow = xplain.Explainer(model, data=frame, background_size=20, background_method="sample")
    without_maps(slow.adapter.backend.space)
    rows = frame.iloc[:40]
    a = fast.explain_batch(rows, "tree_shap", target=1).values
    b = slow.explain_batch(rows, "tree_shap", target=1).values
    np.testing.assert_array_equal(a, b)
    pre, trees = model[:-1], model[-1]
    background = fast.adapter.schema.to_frame(fast.adapter.background.rows)
    explainer = shap.TreeExplainer(
        trees,
        data=pre.transform(background).astype(float),
        feature_perturbation="interventional",
        model_output="probability",
    )
    theirs = np.asarray(explainer.shap_values(pre.transform(rows).astype(float)))
    names = list(pre.get_feature_names_out())
    np.testing.assert_array_equal(a, theirs[:, [names.index(c) for c in rows.columns]])
