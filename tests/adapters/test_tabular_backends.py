"""TabularAdapter: one backend object per kind of model, and typed encoded rows."""

from __future__ import annotations

import gc
import threading

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from test_tabular_adapter import NUMERIC, adult_like, one_hot_pipeline

import xplain
from xplain.adapters import TabularAdapter
from xplain.adapters._tabular_backends import (
    CallableBackend,
    RowSpace,
    SklearnBackend,
    TorchBackend,
)
from xplain.adapters._tabular_encoder import TabularEncoder
from xplain.adapters._tabular_model_space import ModelSpace
from xplain.adapters._tabular_rows import EncodedRow


@pytest.fixture(scope="module")
def table() -> tuple[pd.DataFrame, np.ndarray]:
    return adult_like(160, seed=4)


@pytest.fixture(scope="module")
def logistic(table) -> LogisticRegression:
    frame, y = table
    return LogisticRegression(max_iter=500).fit(frame[NUMERIC], y)


def test_backend_chosen_once_by_the_kind_of_model(table, logistic) -> None:
    frame, y = table
    numeric = frame[NUMERIC]
    mlp = torch.nn.Sequential(torch.nn.Linear(3, 2)).double()
    pipeline = one_hot_pipeline(RandomForestClassifier(5, random_state=0)).fit(frame, y)
    cases = [
        (TabularAdapter(mlp, numeric), TorchBackend, True, False, RowSpace),
        (TabularAdapter(logistic, numeric), SklearnBackend, False, False, RowSpace),
        (TabularAdapter(pipeline, frame), SklearnBackend, False, True, ModelSpace),
        (
            TabularAdapter(lambda rows: logistic.predict_proba(rows), numeric),
            CallableBackend,
            False,
            False,
            RowSpace,
        ),
    ]
    for adapter, kind, gradients, trees, space in cases:
        assert type(adapter.backend) is kind
        assert adapter.supports("differentiable") is gradients
        assert adapter.supports("tree") is trees
        assert adapter.supports("interpretable")
        assert isinstance(adapter.backend.space, space)
        assert adapter.model is adapter.backend.model  # one counter of model rows


def test_encoded_row_is_typed_and_never_written_after_encoding(table) -> None:
    frame, y = table
    pipeline = one_hot_pipeline(RandomForestClassifier(5, random_state=0)).fit(frame, y)
    adapter = TabularAdapter(pipeline, frame, background_size=8)
    encoded = adapter.encode(frame.iloc[3])
    assert isinstance(encoded, EncodedRow)
    np.testing.assert_array_equal(encoded.row, adapter.schema.row(frame.iloc[3]))
    before = {name: value for name, value in vars(encoded).items()}
    row = encoded.row.copy()
    adapter.predict(encoded)
    adapter.interpretable_view(encoded, "probability")
    adapter.tree_view(encoded, "probability")
    assert encoded.data == {}  # no cache written into the instance
    assert vars(encoded).keys() == before.keys()
    assert all(vars(encoded)[name] is value for name, value in before.items())
    np.testing.assert_array_equal(encoded.row, row)


def test_predicting_and_building_views_score_the_row_once(table, logistic) -> None:
    frame, _ = table
    numeric = frame[NUMERIC]
    adapter = TabularAdapter(logistic, numeric, background_size=6)
    adapter.base_scores("probability")  # setup: the background's scores
    encoded = adapter.encode(numeric.iloc[7])
    start = adapter.n_model_evals
    prediction = adapter.predict(encoded)
    view = adapter.interpretable_view(encoded, "probability")
    assert adapter.n_model_evals - start == 1  # the view reused the prediction's scores
    np.testing.assert_allclose(view.scores, prediction, rtol=0, atol=0)
    np.testing.assert_allclose(prediction, logistic.predict_proba(numeric.iloc[[7]])[0])
    # another encoding of the same row is another instance: scored again
    adapter.predict(adapter.encode(numeric.iloc[7]))
    assert adapter.n_model_evals - start == 2


def test_remembered_values_are_forgotten_with_the_row(table, logistic) -> None:
    frame, _ = table
    adapter = TabularAdapter(logistic, frame[NUMERIC], background_size=6)
    encoded = adapter.encode(frame[NUMERIC].iloc[0])
    adapter.predict(encoded)
    assert len(adapter._memo._values) == 1
    del encoded
    gc.collect()
    assert len(adapter._memo._values) == 0


@pytest.mark.parametrize("method", ["exact_shapley", "kernel_shap", "occlusion", "lime"])
def test_same_values_through_every_backend(table, logistic, method) -> None:
    """One model as an estimator, a plain callable and a torch module: equal explanations."""
    frame, _ = table
    numeric = frame[NUMERIC]
    encoder = TabularEncoder().fit(numeric)
    # a torch linear layer on the standardised columns equal to the logistic regression
    linear = torch.nn.Linear(3, 2).double()
    coef, intercept = logistic.coef_[0], logistic.intercept_[0]
    scale, mean = encoder.scale_, encoder.mean_  # encode(x) = (x - mean) / scale
    with torch.no_grad():
        w = coef * scale  # logit(x) = w . encode(x) + b
        b = intercept + coef @ mean
        linear.weight[:] = torch.as_tensor(np.stack([-w / 2, w / 2]))
        linear.bias[:] = torch.as_tensor([-b / 2, b / 2])
    explainers = [
        xplain.Explainer(logistic, data=numeric, output="probability"),
        xplain.Explainer(lambda rows: logistic.predict_proba(rows), data=numeric),
        xplain.Explainer(linear, data=numeric, encoder=encoder, output="probability"),
    ]
    row = numeric.iloc[11]
    values = [ex.explain(row, method, target=1).values for ex in explainers]
    np.testing.assert_allclose(values[1], values[0], rtol=0, atol=1e-12)
    np.testing.assert_allclose(values[2], values[0], rtol=0, atol=1e-9)


def test_concurrent_predictions_share_one_backend(table, logistic) -> None:
    frame, _ = table
    numeric = frame[NUMERIC]
    adapter = TabularAdapter(logistic, numeric, background_size=6)
    rows = [adapter.encode(numeric.iloc[i]) for i in range(40)]
    results: dict[int, np.ndarray] = {}

    def work(i: int) -> None:
        results[i] = adapter.predict_batch(rows[i::4])

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    expected = logistic.predict_proba(numeric.iloc[:40])
    for i in range(4):
        np.testing.assert_allclose(results[i], expected[i::4], rtol=0, atol=1e-15)
    assert len(adapter._memo._values) == 40
