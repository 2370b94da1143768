"""The Adult data set and demo models (xplain.datasets.load_adult, xplain.zoo.adult_models)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from xplain import zoo
from xplain.datasets import load_adult

NUMERIC = ["age", "fnlwgt", "education-num", "capital-gain", "capital-loss", "hours-per-week"]
COLUMNS = [
    "age", "workclass", "fnlwgt", "education", "education-num", "marital-status", "occupation",
    "relationship", "race", "sex", "capital-gain", "capital-loss", "hours-per-week",
    "native-country",
]  # fmt: skip
FAST = {"background_size": 20, "background_method": "sample"}  # k-means on 8,000 rows: ~3 s


@pytest.fixture(scope="module")
def models() -> zoo.AdultModels:
    return zoo.adult_models(seed=0)


def test_load_adult_columns_dtypes_and_labels():
    X, y = load_adult()
    assert X.shape == (10_000, 14) and list(X.columns) == COLUMNS
    assert len(y) == len(X) and set(np.unique(y)) == {0, 1} and y.dtype == np.int64
    assert 0.2 < y.mean() < 0.3  # 24% earn >50K in the whole UCI file as in the sample
    for column in COLUMNS:
        if column in NUMERIC:
            assert X[column].dtype == np.int64, column
        else:
            assert isinstance(X[column].dtype, pd.CategoricalDtype), column
            categories = list(X[column].cat.categories)
            assert all(c == c.strip() and c for c in categories), column
    assert not X.isna().any().any()
    for column in ("workclass", "occupation", "native-country"):  # missing values kept as "?"
        assert (X[column] == "?").any()
    assert "?" not in X["education"].cat.categories
    assert {"Male", "Female"} == set(X["sex"].cat.categories)


def test_adult_models_are_accurate_and_seeded(models):
    assert models.gbt_accuracy >= 0.82 and models.mlp_accuracy >= 0.82  # measured 0.863, 0.849
    assert len(models.X_train) == 8000 and len(models.X_test) == 2000
    assert models.y_train.mean() == pytest.approx(models.y_test.mean(), abs=0.005)  # stratified
    state = torch.random.get_rng_state()
    again = zoo.adult_models(seed=0)
    assert torch.equal(torch.random.get_rng_state(), state)
    X = models.X_test
    np.testing.assert_array_equal(again.gbt.predict_proba(X), models.gbt.predict_proba(X))
    np.testing.assert_array_equal(again.mlp_predict_proba(X), models.mlp_predict_proba(X))
    assert again.gbt_accuracy == models.gbt_accuracy
    assert again.mlp_accuracy == models.mlp_accuracy


def test_every_method_gives_one_value_per_original_column(models):
    row = models.X_test.iloc[3]
    gbt, mlp = models.gbt_explainer(**FAST), models.mlp_explainer(**FAST)
    runs = [
        (gbt, "lime", {"num_samples": 500, "seed": 0}),
        (gbt, "kernel_shap", {"max_evals": 512, "seed": 0}),
        (gbt, "tree_shap", {}),
        (mlp, "integrated_gradients", {}),
        (mlp, "input_x_gradient", {}),
    ]
    for explainer, method, params in runs:
        e = explainer.explain(row, method=method, **params)
        assert e.features == COLUMNS, method
        assert e.values.shape == (14,) and np.isfinite(e.values).all(), method
        assert e.labels == ["<=50K", ">50K"], method
    ig = mlp.explain(row, method="integrated_gradients")
    assert ig.diagnostics["completeness_gap"] < 1e-2


def test_kernel_shap_values_sum_to_the_prediction_minus_the_background_mean(models):
    ex = models.gbt_explainer(**FAST)
    row = models.X_test.iloc[0]
    e = ex.explain(row, method="kernel_shap", max_evals=1024, seed=0, target=">50K")
    f_x = ex.adapter.scores(ex.adapter.encode(row).row[None], ex.output)[0]
    base = ex.adapter.base_scores(ex.output)
    assert e.values.sum() == pytest.approx(f_x[1] - base[1], abs=1e-6)
    assert e.prediction[1] == pytest.approx(f_x[1], abs=1e-12)


def test_tree_shap_matches_exact_shapley_on_the_same_background(models):
    # the margin (log-odds) of the boosted trees is what shap explains exactly; each column
    # is one model column (ordinal codes), so TreeSHAP's players are the columns themselves
    ex = models.gbt_explainer(background_size=8, background_method="sample", output="log_odds")
    row = models.X_test.iloc[1]
    tree = ex.explain(row, method="tree_shap", target=">50K")
    exact = ex.explain(row, method="exact_shapley", target=">50K")  # 2^14 coalitions x 8 rows
    assert tree.diagnostics["feature_perturbation"] == "interventional"
    np.testing.assert_allclose(tree.values, exact.values, atol=1e-8)
    assert np.abs(exact.values).max() > 0.1  # not a trivially zero explanation
