"""Hybrid rows assembled in the final estimator's columns past a column-wise preprocessing."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import (
    FunctionTransformer,
    KBinsDiscretizer,
    OneHotEncoder,
    OrdinalEncoder,
    PolynomialFeatures,
    StandardScaler,
)
from test_tabular_adapter import CATEGORICAL, NUMERIC, adult_like, interventional_by_hand

import xplain
from xplain.adapters import TabularAdapter
from xplain.adapters._tabular_backends import RowSpace
from xplain.adapters._tabular_model_space import ModelSpace

QUANTILES = {"quantile_method": "averaged_inverted_cdf"}  # KBinsDiscretizer's future default


@pytest.fixture(scope="module")
def table() -> tuple[pd.DataFrame, np.ndarray]:
    return adult_like()


def fitted(table, pre, model=None) -> Pipeline:
    model = model if model is not None else LogisticRegression(max_iter=500)
    return Pipeline([("pre", pre), ("model", model)]).fit(*table)


def ordinal_trees(table) -> Pipeline:
    pre = ColumnTransformer(
        [("cat", OrdinalEncoder(), CATEGORICAL), ("num", "passthrough", NUMERIC)]
    )
    return fitted(table, pre, GradientBoostingClassifier(n_estimators=20, random_state=0))


def assert_interventional(model, frame, adapter, row, masks) -> None:
    """The scores of ``masks`` of ``row``'s view are the model's mean over the hybrid rows
    built in pandas from each background row."""
    view = adapter.interpretable_view(adapter.encode(row), "probability")
    background = adapter.schema.to_frame(adapter.background.rows)
    for mask, scores in zip(masks, view.evaluate(masks), strict=True):
        expected = interventional_by_hand(
            model, frame, row, mask, background, adapter.background.weights
        )
        np.testing.assert_allclose(scores, expected, rtol=0, atol=1e-12)


class TransformCalls:
    """Rows the Pipeline's preprocessing is called on, call by call."""

    def __init__(self, pipeline: Pipeline, monkeypatch: pytest.MonkeyPatch) -> None:
        self.rows: list[int] = []
        step = pipeline.named_steps["pre"]
        transform = step.transform

        def counted(X, *args, **kwargs):
            self.rows.append(len(X))
            return transform(X, *args, **kwargs)

        monkeypatch.setattr(step, "transform", counted)


def test_hybrids_skip_the_preprocessing_and_score_as_the_pipeline(table, monkeypatch) -> None:
    frame, _ = table
    model = ordinal_trees(table)
    adapter = TabularAdapter(model, frame, background_size=15)
    space = adapter.backend.space
    assert isinstance(space, ModelSpace)
    names = list(model.named_steps["pre"].get_feature_names_out())
    owners = [adapter.schema.names[j] for j in space.owners]
    assert [name.split("__")[1] for name in names] == owners  # each model column's source
    view = adapter.interpretable_view(adapter.encode(frame.iloc[5]), "probability")
    calls = TransformCalls(model, monkeypatch)
    masks = np.random.default_rng(0).random((40, 6)) < 0.5
    view.evaluate(masks)
    assert calls.rows == []  # 40 masks x 15 background rows, no preprocessing
    assert_interventional(model, frame, adapter, frame.iloc[5], masks)


@pytest.mark.parametrize("method", ["exact_shapley", "kernel_shap", "occlusion"])
def test_explanations_equal_those_through_the_whole_pipeline(table, method) -> None:
    frame, _ = table
    model = ordinal_trees(table)
    fast = xplain.Explainer(model, data=frame, background_size=12)
    slow = xplain.Explainer(model, data=frame, background_size=12)
    # every hybrid through the Pipeline
    slow.adapter.backend.__dict__["space"] = RowSpace(
        slow.adapter.backend, slow.adapter.background.rows
    )
    assert isinstance(fast.adapter.backend.space, ModelSpace)
    rows = frame.iloc[[3, 17, 40]]
    a = fast.explain_batch(rows, method, target=1)
    b = slow.explain_batch(rows, method, target=1)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_allclose(x.values, y.values, rtol=0, atol=1e-12)
        assert x.n_model_evals == y.n_model_evals  # the setup check is not counted
        np.testing.assert_allclose(x.prediction, y.prediction, rtol=0, atol=1e-12)


def test_a_sparse_one_hot_output_is_assembled_densely(table) -> None:
    frame, _ = table
    pre = ColumnTransformer(
        [("cat", OneHotEncoder(), CATEGORICAL), ("num", StandardScaler(), NUMERIC)],
        sparse_threshold=1.0,  # always scipy sparse
    )
    model = fitted(table, pre)
    assert hasattr(model.named_steps["pre"].transform(frame.iloc[:3]), "toarray")
    adapter = TabularAdapter(model, frame, background_size=10)
    space = adapter.backend.space
    assert isinstance(space, ModelSpace)
    assert sorted(set(space.owners.tolist())) == list(range(6))  # one-hot groups per column
    masks = np.random.default_rng(1).random((20, 6)) < 0.5
    assert_interventional(model, frame, adapter, frame.iloc[11], masks)


@pytest.mark.parametrize(
    "pre",
    [
        pytest.param(
            ColumnTransformer(
                [
                    ("cat", OneHotEncoder(handle_unknown="ignore"), ["education", "sex"]),
                    ("bins", KBinsDiscretizer(4, encode="ordinal", **QUANTILES), ["age"]),
                    ("log", FunctionTransformer(np.log1p), ["capital"]),
                ],
                remainder="drop",  # hours and married never reach the model
            ),
            id="bins-log-dropped",
        ),
        pytest.param(
            ColumnTransformer(
                [
                    (
                        "cat",
                        Pipeline(
                            [
                                ("impute", SimpleImputer(strategy="most_frequent")),
                                ("encode", OrdinalEncoder()),
                            ]
                        ),
                        CATEGORICAL,
                    ),
                ],
                remainder=StandardScaler(),
            ),
            id="nested-remainder",
        ),
    ],
)
def test_other_column_wise_preprocessing_is_assembled_exactly(table, pre) -> None:
    frame, _ = table
    model = fitted(table, pre)
    adapter = TabularAdapter(model, frame, background_size=10)
    assert isinstance(adapter.backend.space, ModelSpace)
    masks = np.random.default_rng(3).random((20, 6)) < 0.5
    assert_interventional(model, frame, adapter, frame.iloc[8], masks)


def batch_centred(X: np.ndarray) -> np.ndarray:
    """Depends on the other rows of the batch: no hybrid can be assembled from parts."""
    return X - X.mean(axis=0)


@pytest.mark.parametrize(
    "pre",
    [
        pytest.param(
            Pipeline(
                [
                    ("enc", ColumnTransformer([("num", "passthrough", NUMERIC)])),
                    ("poly", PolynomialFeatures(2)),
                ]
            ),
            id="columns-mixed",
        ),
        pytest.param(
            ColumnTransformer([("num", FunctionTransformer(batch_centred), NUMERIC)]),
            id="batch-dependent",
        ),
        pytest.param(
            ColumnTransformer(
                [
                    ("cat", OneHotEncoder(sparse_output=False), CATEGORICAL),
                    ("num", StandardScaler(), NUMERIC),
                ]
            ).set_output(transform="pandas"),
            id="dataframe-output",
        ),
    ],
)
def test_other_preprocessing_keeps_the_whole_pipeline(table, pre, request) -> None:
    frame, _ = table
    model = fitted(table, pre)
    adapter = TabularAdapter(model, frame, background_size=10)
    assert isinstance(adapter.backend.space, RowSpace)
    if "batch-dependent" in request.node.name:
        return  # its scores depend on the batch: no row-by-row value to compare with
    masks = np.random.default_rng(2).random((10, 6)) < 0.5
    assert_interventional(model, frame, adapter, frame.iloc[2], masks)


def test_a_lone_estimator_has_no_preprocessing_to_skip(table) -> None:
    frame, y = table
    numeric = frame[NUMERIC]
    adapter = TabularAdapter(LogisticRegression(max_iter=500).fit(numeric, y), numeric)
    assert isinstance(adapter.backend.space, RowSpace)
