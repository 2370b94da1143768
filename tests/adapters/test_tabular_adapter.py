"""The tabular adapter: its value function, background, LIME neighbourhood and encodings."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import GradientBoostingClassifier, RandomForestRegressor
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

import xplain
from xplain.adapters import TabularAdapter, TabularEncoder
from xplain.methods.perturbation._neighbourhood import LimeSampler, neighbourhood
from xplain.models.callable import CallableModel

CATEGORICAL = ["education", "sex", "married"]
NUMERIC = ["age", "hours", "capital"]


def adult_like(n: int = 240, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """A small Adult-like table: int, float, str, category and bool columns."""
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(
        {
            "age": rng.integers(18, 80, n),
            "education": rng.choice(["HS-grad", "Bachelors", "Masters", "Doctorate"], n),
            "hours": rng.normal(40, 10, n).round(1),
            "sex": pd.Categorical(rng.choice(["Female", "Male"], n)),
            "capital": rng.exponential(800, n).round(),
            "married": rng.random(n) < 0.5,
        }
    )
    score = (
        0.06 * (frame["age"] - 45)
        + 1.2 * frame["education"].isin(["Masters", "Doctorate"])
        + 0.05 * (frame["hours"] - 40)
        + 0.8 * frame["married"]
        + rng.normal(0, 0.5, n)
    )
    return frame, (score > 0.5).to_numpy().astype(int)


def one_hot_pipeline(model) -> Pipeline:
    pre = ColumnTransformer(
        [("cat", OneHotEncoder(), CATEGORICAL), ("num", StandardScaler(), NUMERIC)]
    )
    return Pipeline([("pre", pre), ("model", model)])


@pytest.fixture(scope="module")
def table() -> tuple[pd.DataFrame, np.ndarray]:
    return adult_like()


@pytest.fixture(scope="module")
def pipeline(table) -> Pipeline:
    frame, y = table
    return one_hot_pipeline(LogisticRegression(max_iter=500)).fit(frame, y)


def interventional_by_hand(model, frame, row, mask, background, weights) -> np.ndarray:
    """v(S) built with pandas: absent columns copied from each background row."""
    hybrid = background.copy()
    for column, present in zip(frame.columns, mask, strict=True):
        if present:
            hybrid[column] = [row[column]] * len(hybrid)
    return weights @ model.predict_proba(hybrid)


# -- the interventional value function -------------------------------------------------
def test_features_are_the_original_columns_of_a_one_hot_pipeline(table, pipeline) -> None:
    frame, _ = table
    explanation = xplain.Explainer(pipeline, data=frame).explain(frame.iloc[0], "kernel_shap")
    assert explanation.features == list(frame.columns)
    assert explanation.values.shape == (6,)
    assert explanation.labels == ["0", "1"]
    assert explanation.instance["education"] == frame.loc[0, "education"]


def test_all_present_is_the_model_on_the_row(table, pipeline) -> None:
    frame, _ = table
    adapter = TabularAdapter(pipeline, frame)
    view = adapter.interpretable_view(adapter.encode(frame.iloc[7]), "probability")
    expected = pipeline.predict_proba(frame.iloc[[7]])[0]
    np.testing.assert_allclose(view.evaluate(np.ones((1, 6), bool))[0], expected, atol=1e-12)
    np.testing.assert_allclose(view.scores, expected, atol=1e-12)


def test_all_absent_is_the_mean_over_the_background(table, pipeline) -> None:
    frame, _ = table
    small = frame.iloc[:60]  # fewer distinct rows than background_size: used whole
    adapter = TabularAdapter(pipeline, small)
    view = adapter.interpretable_view(adapter.encode(frame.iloc[100]), "probability")
    expected = pipeline.predict_proba(small).mean(0)
    np.testing.assert_allclose(view.evaluate(np.zeros((1, 6), bool))[0], expected, atol=1e-12)
    np.testing.assert_allclose(view.base_scores, expected, atol=1e-12)


def test_a_mask_scores_the_weighted_interventional_expectation(table, pipeline) -> None:
    frame, _ = table
    adapter = TabularAdapter(pipeline, frame, background_size=25)
    rows = adapter.schema.to_frame(adapter.background.rows)
    weights = adapter.background.weights
    assert len(rows) == 25 and not np.allclose(weights, weights[0])  # k-means weights
    row = frame.iloc[3]
    view = adapter.interpretable_view(adapter.encode(row), "probability")
    masks = np.random.default_rng(1).random((5, 6)) < 0.5
    got = view.evaluate(masks)
    for mask, scores in zip(masks, got, strict=True):
        expected = interventional_by_hand(pipeline, frame, row, mask, rows, weights)
        np.testing.assert_allclose(scores, expected, atol=1e-12)
    # chunking the model calls changes nothing
    chunked = TabularAdapter(pipeline, frame, background_size=25, max_batch_rows=7)
    chunked_view = chunked.interpretable_view(chunked.encode(row), "probability")
    np.testing.assert_allclose(chunked_view.evaluate(masks), got, atol=1e-12)


def test_each_distinct_masked_row_is_scored_once_in_large_calls(table) -> None:
    frame, y = table
    calls = []

    def model(rows: pd.DataFrame) -> np.ndarray:
        calls.append(len(rows))
        p = 1 / (1 + np.exp(-(rows["age"].to_numpy() - 45) / 10))
        return np.stack([1 - p, p], 1)

    adapter = TabularAdapter(model, frame, background_size=10, max_batch_rows=1000)
    encoded = adapter.encode(frame.iloc[0])
    view = adapter.interpretable_view(encoded, "probability")
    calls.clear()
    view.evaluate(np.ones((250, 6), bool))
    assert calls == [1]  # every hybrid is the row itself: scored once
    masks = np.random.default_rng(0).random((3000, 6)) < 0.5
    row, rows = encoded.row, adapter.background.rows
    hybrids = np.where(masks[:, None, :], row, rows[None]).reshape(-1, 6)  # [30000, 6]
    differs = rows != row[None]  # [10, 6]
    # a hybrid is keyed by its background row and the columns it takes from it
    keys = {(k, tuple(np.flatnonzero(~m & differs[k]))) for m in masks for k in range(10)}
    keys = {(k, cols) for k, cols in keys if cols}  # the row itself is already known
    calls.clear()
    scores = view.evaluate(masks)
    assert sum(calls) == len(keys) < len(hybrids) / 50  # 30,000 hybrids, a few hundred calls
    assert len({tuple(h) for h in hybrids.tolist()}) <= sum(calls) + 1
    assert max(calls) <= 1000
    p = 1 / (1 + np.exp(-(hybrids[:, 0].astype(float) - 45) / 10))  # "age" is column 0
    expected = (p.reshape(3000, 10) * adapter.background.weights).sum(1)
    np.testing.assert_allclose(scores[:, 1], expected, atol=1e-12)
    calls.clear()
    view.evaluate(masks[:100])  # remembered: nothing is scored again
    assert calls == []


def test_kmeans_background_summarises_the_data(table) -> None:
    frame, _ = table
    model = one_hot_pipeline(LogisticRegression(max_iter=500)).fit(*table)
    adapter = TabularAdapter(model, frame, background_size=30)
    rows, weights = adapter.background.rows, adapter.background.weights
    assert rows.shape == (30, 6) and weights.sum() == pytest.approx(1.0)
    data = adapter.data
    for j in range(6):
        assert set(rows[:, j]) <= set(data[:, j])  # observed values / known categories
    # cluster means weighted by cluster sizes give back the data mean (snapping aside)
    numeric = ~adapter.schema.categorical
    drift = np.abs(weights @ rows[:, numeric] - data[:, numeric].mean(0)) / data[:, numeric].std(0)
    assert drift.max() < 0.1
    sampled = TabularAdapter(model, frame, background_size=30, background_method="sample")
    np.testing.assert_allclose(sampled.background.weights, np.full(30, 1 / 30))
    assert {tuple(r) for r in sampled.background.rows} <= {tuple(r) for r in data}


# -- outputs and model kinds -----------------------------------------------------------
def test_classifier_outputs_probability_log_odds_and_margin(table, pipeline) -> None:
    frame, _ = table
    adapter = TabularAdapter(pipeline, frame)
    assert adapter.outputs == ("probability", "log_odds", "raw")
    rows = adapter.data[:5]
    p = pipeline.predict_proba(frame.iloc[:5])
    z = pipeline.decision_function(frame.iloc[:5])
    np.testing.assert_allclose(adapter.scores(rows, "probability"), p, atol=1e-12)
    np.testing.assert_allclose(adapter.scores(rows, "raw"), np.stack([-z, z], 1), atol=1e-12)
    np.testing.assert_allclose(
        adapter.scores(rows, "log_odds"), np.log(p / (1 - p)), rtol=1e-9, atol=1e-9
    )
    predicted = adapter.predict(adapter.encode(frame.iloc[0]))
    np.testing.assert_allclose(predicted, p[0], atol=1e-12)


def test_boosted_log_odds_are_its_margin(table) -> None:
    frame, y = table
    numeric = frame[NUMERIC]
    model = GradientBoostingClassifier(n_estimators=15, random_state=0).fit(numeric, y)
    adapter = TabularAdapter(model, numeric)
    assert adapter.model.link == "logistic"
    z = model.decision_function(numeric.iloc[:4])
    np.testing.assert_array_equal(adapter.scores(adapter.data[:4], "log_odds")[:, 1], z)


def test_regressor_predicts_one_value_labelled_prediction(table) -> None:
    frame, _ = table
    numeric = frame[NUMERIC]
    target = numeric["age"] * 0.2 + numeric["hours"] * 0.1
    model = RandomForestRegressor(n_estimators=10, max_depth=3, random_state=0)
    model.fit(numeric, target)
    explainer = xplain.Explainer(model, data=numeric)
    assert explainer.output == "raw" and explainer.adapter.outputs == ("raw",)
    explanation = explainer.explain(numeric.iloc[2], "exact_shapley")
    assert explanation.labels == ["prediction"]
    np.testing.assert_allclose(explanation.prediction, model.predict(numeric.iloc[[2]]))


def test_any_callable_of_a_dataframe(table) -> None:
    frame, _ = table

    def p_old(rows: pd.DataFrame) -> np.ndarray:  # depends on age only
        return 1 / (1 + np.exp(-(rows["age"].to_numpy() - 45) / 10))

    regression = xplain.Explainer(p_old, data=frame)
    assert regression.adapter.labels == ["prediction"]
    explanation = regression.explain(frame.iloc[0], "exact_shapley")
    others = np.delete(explanation.values, list(frame.columns).index("age"))
    np.testing.assert_allclose(others, 0, atol=1e-12)  # a null player gets nothing
    classifier = xplain.Explainer(
        CallableModel(p_old, labels=["young", "old"], returns="probability"), data=frame
    )
    assert classifier.adapter.outputs == ("probability", "log_odds")
    explanation = classifier.explain(frame.iloc[0], "exact_shapley", target="old")
    assert explanation.values.sum() == pytest.approx(
        p_old(frame.iloc[[0]])[0] - p_old(frame).mean(),
        abs=0.02,  # k-means background
    )


# -- LIME neighbourhood ----------------------------------------------------------------
def lime_neighbourhood(view, n: int, *, discretize: bool):
    """LIME's samples around the view's row, drawn from the training data it carries."""
    return neighbourhood(
        view.distribution,
        n,
        np.random.default_rng(0),
        discretize=discretize,
        discretizer="quartile",
        sample_around_instance=False,
    )


def test_lime_quartile_neighbourhood_matches_lime_tabular(table, pipeline) -> None:
    from lime.lime_tabular import LimeTabularExplainer

    frame, _ = table
    adapter = TabularAdapter(pipeline, frame)
    row = frame.iloc[5]
    view = adapter.interpretable_view(adapter.encode(row), "probability")
    hood = lime_neighbourhood(view, 4000, discretize=True)
    rep = hood.representation
    assert rep.shape == (4000, 6) and set(np.unique(rep)) <= {0.0, 1.0}
    np.testing.assert_array_equal(rep[0], np.ones(6))
    np.testing.assert_allclose(hood.distances, np.sqrt((1 - rep).sum(1)))
    np.testing.assert_allclose(hood.scores[0], pipeline.predict_proba(frame.iloc[[5]])[0])

    # lime itself, on the same data with categories as integer codes
    codes = pd.DataFrame(adapter.data, columns=frame.columns)
    categorical = [list(frame.columns).index(c) for c in CATEGORICAL]
    lime = LimeTabularExplainer(codes.to_numpy(), categorical_features=categorical, random_state=0)
    theirs, _ = lime._LimeTabularExplainer__data_inverse(adapter.data[5], 4000)
    # P(same bin / category as the instance), column by column, agrees within sampling error
    np.testing.assert_allclose(rep[1:].mean(0), theirs[1:].mean(0), atol=0.035)


def test_lime_samples_stay_in_their_quartile(table, pipeline) -> None:
    frame, _ = table
    adapter = TabularAdapter(pipeline, frame)
    sampler = LimeSampler(
        adapter._training, discretize=True, discretizer="quartile", sample_around_instance=False
    )
    representation, rows, _ = sampler.sample(adapter.data[0], 500, np.random.default_rng(3))
    j = list(frame.columns).index("hours")
    edges = np.percentile(adapter.data[:, j], [25, 50, 75])
    same = np.searchsorted(edges, rows[:, j]) == np.searchsorted(edges, adapter.data[0, j])
    np.testing.assert_array_equal(same, representation[:, j] == 1)


def test_lime_gaussian_neighbourhood_without_discretisation(table, pipeline) -> None:
    frame, _ = table
    adapter = TabularAdapter(pipeline, frame)
    view = adapter.interpretable_view(adapter.encode(frame.iloc[0]), "probability")
    hood = lime_neighbourhood(view, 5000, discretize=False)
    j = list(frame.columns).index("hours")
    scaled = hood.representation[1:, j]  # (value - mean) / std ~ N(0, 1)
    assert abs(scaled.mean()) < 0.05 and abs(scaled.std() - 1) < 0.05
    expected = np.linalg.norm(hood.representation - hood.representation[0], axis=1)
    np.testing.assert_allclose(hood.distances, expected)


# -- torch networks over the encoding ---------------------------------------------------
def test_encoder_standardises_and_one_hot_encodes(table) -> None:
    frame, _ = table
    encoder = TabularEncoder().fit(frame)
    encoded = encoder.transform(frame)
    names = encoder.get_feature_names_out()
    assert encoded.shape == (len(frame), 3 + 4 + 2 + 2) and len(names) == encoded.shape[1]
    age = encoded[:, names.index("age")]
    assert abs(age.mean()) < 1e-6 and abs(age.std() - 1) < 1e-5
    doctorate = encoded[:, names.index("education=Doctorate")]
    np.testing.assert_array_equal(doctorate, frame["education"] == "Doctorate")
    one_hot = [i for i, name in enumerate(names) if "=" in name]
    np.testing.assert_array_equal(encoded[:, one_hot].sum(1), 3)  # one per categorical


def test_integrated_gradients_per_column_on_a_torch_mlp(table) -> None:
    from captum.attr import IntegratedGradients

    frame, _ = table
    encoder = TabularEncoder().fit(frame)
    torch.manual_seed(0)
    mlp = torch.nn.Sequential(
        torch.nn.Linear(11, 16), torch.nn.Tanh(), torch.nn.Linear(16, 2)
    ).double()
    explainer = xplain.Explainer(mlp, data=frame, encoder=encoder)
    assert explainer.output == "logits"
    assert "integrated_gradients" in explainer.applicable_methods()
    row = frame.iloc[4]
    explanation = explainer.explain(row, "integrated_gradients", n_steps=8, target=1)
    assert explanation.features == list(frame.columns)

    adapter = explainer.adapter
    x = torch.as_tensor(encoder.transform(frame.iloc[[4]]), dtype=torch.float64)
    background = torch.as_tensor(encoder.encode(adapter.background.rows))
    baseline = torch.as_tensor(adapter.background.weights) @ background
    with torch.no_grad():
        delta = (mlp(x)[0, 1] - mlp(baseline[None])[0, 1]).item()
    # completeness per original column, and the one-hot groups summed as captum's IG
    assert explanation.values.sum() == pytest.approx(delta, abs=1e-6)
    assert explanation.diagnostics["completeness_gap"] < 1e-6
    theirs = IntegratedGradients(mlp).attribute(x, baseline[None], target=1, n_steps=8)[0]
    np.testing.assert_allclose(explanation.values, encoder.to_columns(theirs.numpy()), atol=1e-10)
    # the same network through the perturbation view
    shap = explainer.explain(row, "exact_shapley", target=1)
    full = adapter.scores(adapter.data[4:5], "logits")[0, 1]
    assert shap.values.sum() == pytest.approx(full - adapter.base_scores("logits")[1])
