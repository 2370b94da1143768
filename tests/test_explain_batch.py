"""explain_batch: batched tree_shap equals explain row by row; batches of rows are split."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

import xplain
from xplain.errors import InvalidInputError, InvalidTargetError

pytest.importorskip("shap")
xgboost = pytest.importorskip("xgboost")
lightgbm = pytest.importorskip("lightgbm")

N_ROWS = 50
TOL = 1e-12


@pytest.fixture(scope="module")
def table() -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(1)
    n = 300
    frame = pd.DataFrame(rng.normal(size=(n, 4)), columns=["a", "b", "c", "d"])
    frame["colour"] = rng.choice(["red", "green", "blue"], n)
    frame["count"] = rng.integers(0, 5, n)
    score = frame.a + frame.b * frame.c + (frame.colour == "red") - 0.3 * frame["count"]
    y = (score + rng.normal(0, 0.3, n) > 0.3).to_numpy().astype(int)
    y3 = np.digitize(score, [-0.5, 0.8])
    return frame, y, y3


def gb_pipeline() -> Pipeline:
    encode = ColumnTransformer(
        [("onehot", OneHotEncoder(handle_unknown="ignore"), ["colour"])],
        remainder="passthrough",
    )
    model = GradientBoostingClassifier(n_estimators=15, max_depth=3, random_state=0)
    return Pipeline([("encode", encode), ("trees", model)])


def numeric(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.drop(columns="colour")


MODELS = {
    "sklearn_gb_pipeline": lambda: gb_pipeline(),
    "xgboost": lambda: xgboost.XGBClassifier(n_estimators=15, max_depth=3, n_jobs=1),
    "lightgbm": lambda: lightgbm.LGBMClassifier(
        n_estimators=15, num_leaves=8, verbose=-1, n_jobs=1
    ),
}


@pytest.fixture(scope="module")
def fitted(table) -> dict:
    frame, y, _ = table
    out = {}
    for name, make in MODELS.items():
        data = frame if name == "sklearn_gb_pipeline" else numeric(frame)
        out[name] = (make().fit(data, y), data)
    return out


def assert_same(batched: list, single: list) -> None:
    """Each batched Explanation is the per-row one (up to cost bookkeeping)."""
    assert len(batched) == len(single)
    for b, s in zip(batched, single, strict=True):
        np.testing.assert_allclose(b.values, s.values, rtol=0, atol=TOL)
        assert (b.target, b.target_label) == (s.target, s.target_label)
        np.testing.assert_allclose(b.prediction, s.prediction, rtol=0, atol=TOL)
        assert b.features == s.features and b.labels == s.labels
        np.testing.assert_equal(b.instance, s.instance)
        for name in ("method", "params", "output", "modality"):
            assert getattr(b, name) == getattr(s, name)
        assert b.diagnostics.keys() == s.diagnostics.keys()
        for key, value in s.diagnostics.items():
            if isinstance(value, float | np.ndarray):
                np.testing.assert_allclose(b.diagnostics[key], value, rtol=0, atol=TOL)
            else:
                assert b.diagnostics[key] == value


# background: "sample" gives equal weights (one shap pass over all references);
# k-means with fewer rows than the batch gives unequal ones (one pass per reference).
CASES = [
    (name, perturbation, background)
    for name in MODELS
    for perturbation, background in (
        ("interventional", "sample"),
        ("interventional", "kmeans"),
        ("tree_path_dependent", "kmeans"),
    )
]


@pytest.mark.parametrize(("name", "perturbation", "background"), CASES)
def test_batched_tree_shap_equals_explain_per_row(name, perturbation, background, fitted) -> None:
    model, data = fitted[name]
    explainer = xplain.Explainer(
        model, data=data, output="log_odds", background_size=20, background_method=background
    )
    weights = explainer.adapter.background.weights
    assert np.all(weights == weights[0]) == (background == "sample")
    rows = data.iloc[:N_ROWS]
    batched = explainer.explain_batch(rows, "tree_shap", feature_perturbation=perturbation)
    single = [
        explainer.explain(rows.iloc[i], "tree_shap", feature_perturbation=perturbation)
        for i in range(N_ROWS)
    ]
    assert_same(batched, single)
    assert {e.diagnostics["feature_perturbation"] for e in batched} == {perturbation}
    assert max(e.diagnostics["efficiency_gap"] for e in batched) < 1e-6
    assert len({e.target for e in batched}) == 2  # both classes are explained


def test_batched_probability_and_fewer_rows_than_background(fitted) -> None:
    """Shap's rescaled probabilities, and the per-row reference path (rows < background)."""
    model, data = fitted["sklearn_gb_pipeline"]
    explainer = xplain.Explainer(model, data=data, background_size=30)
    assert explainer.output == "probability"
    rows = data.iloc[100:110]
    batched = explainer.explain_batch(rows, "tree_shap")
    assert_same(batched, [explainer.explain(rows.iloc[i], "tree_shap") for i in range(10)])
    assert "note" in batched[0].diagnostics


def test_batched_multiclass_margins(table) -> None:
    frame, _, y3 = table
    data = numeric(frame)
    model = xgboost.XGBClassifier(n_estimators=10, max_depth=3, n_jobs=1).fit(data, y3)
    explainer = xplain.Explainer(model, data=data, output="raw", background_size=10)
    rows = data.iloc[:20]
    for target in (None, 2):
        batched = explainer.explain_batch(rows, "tree_shap", target=target)
        single = [explainer.explain(rows.iloc[i], "tree_shap", target=target) for i in range(20)]
        assert_same(batched, single)


@pytest.mark.parametrize("target", [None, 0, 1, "high", "LOW"])
def test_targets_none_index_and_label(target, fitted) -> None:
    model, data = fitted["xgboost"]
    explainer = xplain.Explainer(model, data=data, labels=["low", "high"], output="log_odds")
    rows = data.iloc[:N_ROWS]
    batched = explainer.explain_batch(rows, "tree_shap", target=target)
    single = [explainer.explain(rows.iloc[i], "tree_shap", target=target) for i in range(N_ROWS)]
    assert_same(batched, single)
    if target is None:
        assert [e.target for e in batched] == [e.predicted_class for e in batched]
    else:
        expected = {0: 0, 1: 1, "high": 1, "LOW": 0}[target]
        assert {e.target for e in batched} == {expected}


def test_bad_target_is_reported(fitted) -> None:
    model, data = fitted["xgboost"]
    explainer = xplain.Explainer(model, data=data)
    with pytest.raises(InvalidTargetError, match="out of range"):
        explainer.explain_batch(data.iloc[:3], "tree_shap", target=5)


def test_model_evaluations_and_seconds_are_shared_out(fitted) -> None:
    model, data = fitted["sklearn_gb_pipeline"]
    explainer = xplain.Explainer(model, data=data, background_size=20)
    adapter = explainer.adapter
    explainer.explain_batch(data.iloc[:2], "tree_shap")  # warm caches (background scores)
    before = adapter.n_model_evals
    batched = explainer.explain_batch(data.iloc[:7], "tree_shap")
    evals = [e.n_model_evals for e in batched]
    assert sum(evals) == adapter.n_model_evals - before
    assert max(evals) - min(evals) <= 1 and evals == sorted(evals, reverse=True)
    assert len({e.seconds for e in batched}) == 1 and batched[0].seconds > 0


def test_dataframe_list_and_2d_array_batches_agree(fitted) -> None:
    model, data = fitted["sklearn_gb_pipeline"]
    explainer = xplain.Explainer(model, data=data, background_size=20)
    rows = data.iloc[5:12]
    from_frame = explainer.explain_batch(rows, "tree_shap")
    from_list = explainer.explain_batch([rows.iloc[i] for i in range(7)], "tree_shap")
    from_array = explainer.explain_batch(rows.to_numpy(dtype=object), "tree_shap")
    assert len(from_frame) == 7
    assert_same(from_frame, from_list)
    assert_same(from_array, from_list)
    assert from_frame[0].instance["colour"] == rows.iloc[0]["colour"]


def test_2d_array_of_an_array_model(table) -> None:
    frame, y, _ = table
    matrix = numeric(frame).to_numpy(dtype=np.float64)
    model = xgboost.XGBClassifier(n_estimators=10, max_depth=3, n_jobs=1).fit(matrix, y)
    explainer = xplain.Explainer(model, data=matrix, output="log_odds")
    batched = explainer.explain_batch(matrix[:10], "tree_shap")
    assert_same(batched, [explainer.explain(matrix[i], "tree_shap") for i in range(10)])


def test_unbatched_method_runs_row_by_row_on_a_dataframe(fitted) -> None:
    model, data = fitted["sklearn_gb_pipeline"]
    explainer = xplain.Explainer(model, data=data, background_size=5)
    rows = data.iloc[:4]
    assert not xplain.registry.get_method("lime").batched()
    assert xplain.registry.get_method("tree_shap").batched()
    batched = explainer.explain_batch(rows, "lime", target="1", num_samples=64, seed=3)
    single = [
        explainer.explain(rows.iloc[i], "lime", target="1", num_samples=64, seed=3)
        for i in range(4)
    ]
    assert_same(batched, single)
    # row by row, each its own cost (the first batched one also scored the background)
    assert [e.n_model_evals for e in batched[1:]] == [e.n_model_evals for e in single[1:]]


def test_kernel_shap_batch_equals_row_by_row(fitted) -> None:
    model, data = fitted["sklearn_gb_pipeline"]
    explainer = xplain.Explainer(model, data=data, background_size=5)
    rows = data.iloc[:6]
    assert xplain.registry.get_method("kernel_shap").batched()
    single = [
        explainer.explain(rows.iloc[i], "kernel_shap", target="1", max_evals=64, seed=3)
        for i in range(6)
    ]
    batched = explainer.explain_batch(rows, "kernel_shap", target="1", max_evals=64, seed=3)
    assert_same(batched, single)  # the same coalitions and values as one by one
    # rows with small baseline games and rows solved on the mean game, mixed in one batch
    assert {"games" in e.diagnostics for e in batched} == {True, False}


def test_empty_batch_and_bad_batches(fitted) -> None:
    model, data = fitted["xgboost"]
    explainer = xplain.Explainer(model, data=data)
    assert explainer.explain_batch(data.iloc[:0], "tree_shap") == []
    assert explainer.explain_batch([], "tree_shap") == []
    with pytest.raises(InvalidInputError, match="2-D array"):
        explainer.explain_batch(data.to_numpy()[0], "tree_shap")
    with pytest.raises(InvalidInputError, match="2-D array"):
        explainer.explain_batch(data.to_numpy()[None], "tree_shap")
    with pytest.raises(InvalidInputError, match="one string"):
        explainer.explain_batch("a", "tree_shap")
    with pytest.raises(InvalidInputError, match="iterable"):
        explainer.explain_batch(3, "tree_shap")
    with pytest.raises(InvalidInputError, match="lacks the column|missing column"):
        explainer.explain_batch(data.iloc[:3].drop(columns="a"), "tree_shap")


def test_image_batch_is_split_along_its_first_axis() -> None:
    torch = pytest.importorskip("torch")
    torch.manual_seed(0)
    model = torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3),
        torch.nn.ReLU(),
        torch.nn.AdaptiveAvgPool2d(1),
        torch.nn.Flatten(),
        torch.nn.Linear(4, 2),
    ).eval()
    explainer = xplain.Explainer(model, modality="image")
    images = torch.rand(3, 3, 16, 16)  # [N, C, H, W]
    batched = explainer.explain_batch(images, "saliency")
    assert len(batched) == 3
    assert_same(batched, [explainer.explain(images[i], "saliency") for i in range(3)])
