"""Explanations, the batch object: rows and features sliced, tables, round trips, base values.

Real explanations of a logistic regression on a 4-column table (kernel_shap and
exact_shapley are exact at d = 4), a small torch MLP behind the same table and hand-made
token explanations (rows whose features do not align).
"""

from __future__ import annotations

import dataclasses
import json
import sys
import types

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.linear_model import LogisticRegression

import xplain
from xplain.display import FeatureDisplay
from xplain.errors import InvalidInputError, XplainError
from xplain.explanations import Explanations, restrict
from xplain.methods import Smooth
from xplain.methods.gradient.integrated_gradients import IntegratedGradients
from xplain.report import BatchReport
from xplain.scale.run import explain_dataset

COLUMNS = ["age", "sex", "income", "hours"]


@pytest.fixture(scope="module")
def frame():
    rng = np.random.default_rng(0)
    return pd.DataFrame(rng.normal(size=(120, 4)), columns=COLUMNS)


@pytest.fixture(scope="module")
def explainer(frame):
    y = (frame.age + 0.5 * frame.income - frame.hours > 0).astype(int)
    return xplain.Explainer(LogisticRegression().fit(frame, y), data=frame, background_size=20)


@pytest.fixture(scope="module")
def es(explainer, frame):
    return explainer.explain_batch(frame.iloc[:6], "kernel_shap", target=1)


def _same_but_cost(a: xplain.Explanation, b: xplain.Explanation) -> bool:
    return dataclasses.replace(a, seconds=b.seconds, n_model_evals=b.n_model_evals) == b


def _tokens(tokens: list[str], values: list[float]) -> xplain.Explanation:
    """A hand-made explanation of a text (features: its tokens)."""
    return xplain.Explanation(
        features=tokens, values=np.array(values), target=1, target_label="pos",
        prediction=np.array([0.3, 0.7]), labels=["neg", "pos"], method="saliency",
        params={}, diagnostics={}, n_model_evals=1, seconds=0.0, modality="text",
        output="probability", special=np.array([t == "[CLS]" for t in tokens]),
        display=FeatureDisplay("tokens"),
    )


# -- explain_batch and the dataset ---------------------------------------------------------
@pytest.mark.parametrize("method", ["kernel_shap", "exact_shapley"])  # batched, one by one
def test_explain_batch_returns_explanations_equal_to_explain(explainer, frame, method):
    batch = explainer.explain_batch(frame.iloc[:4], method, target=1)
    assert isinstance(batch, Explanations) and len(batch) == 4
    for i, e in enumerate(batch):
        assert _same_but_cost(e, explainer.explain(frame.iloc[i], method, target=1))


def test_the_dataset_materialises_rows_as_explanations(explainer, frame, tmp_path):
    ds = explain_dataset(explainer, frame.iloc[:10], "exact_shapley", output=tmp_path / "o",
                         engine="serial", partition_rows=4, progress=False)
    chosen = ds.explanations([7, 2, 5])
    assert isinstance(chosen, Explanations) and len(chosen) == 3
    assert chosen == [ds.explanation(7), ds.explanation(2), ds.explanation(5)]
    every = ds.explanations()
    assert isinstance(every, Explanations) and len(every) == 10
    np.testing.assert_array_equal(every[[7, 2, 5]].values, chosen.values)
    assert _same_but_cost(every[3], explainer.explain(frame.iloc[3], "exact_shapley"))


# -- rows ----------------------------------------------------------------------------------
def test_rows_by_position_slice_list_and_mask(es):
    items, values = list(es), es.values
    assert es[2] is items[2] and es[-1] is items[-1] and es[np.int64(1)] is items[1]
    np.testing.assert_array_equal(es[1:5:2].values, values[1:5:2])
    np.testing.assert_array_equal(es[[4, 0, 0]].values, values[[4, 0, 0]])
    mask = np.array([True, False, True, True, False, False])
    for key in (mask, list(mask), pd.Series(mask), np.array([0, 2, 3]), [-6, 2, -3]):
        assert list(es[key]) == [items[0], items[2], items[3]]
    assert isinstance(es[:0], Explanations) and len(es[:0]) == 0


def test_bad_row_keys_are_refused_clearly(es):
    with pytest.raises(IndexError, match="Row 6 is out of range: this batch has 6"):
        es[6]
    with pytest.raises(XplainError, match="Position -7 is out of range"):
        es[[0, -7]]
    with pytest.raises(InvalidInputError, match="one flag per row \\(6\\); got 2"):
        es[[True, False]]
    with pytest.raises(InvalidInputError, match=r"es\[:, 'age'\]"):
        es["age"]
    with pytest.raises(InvalidInputError, match="Select rows with an int"):
        es[1.5]


# -- features ------------------------------------------------------------------------------
def test_features_by_name_position_slice_and_mask(es):
    values = es.values
    np.testing.assert_array_equal(es[:, "income"], values[:, 2])
    np.testing.assert_array_equal(es[1:3, "age"], values[1:3, 0])
    assert es[4, "hours"] == values[4, 3] and es[4, -1] == values[4, 3]
    pair = es[:, ["income", "age"]]
    assert pair.features == ["income", "age"] and len(pair) == len(es)
    np.testing.assert_array_equal(pair.values, values[:, [2, 0]])
    for key in ([2, 0], np.array([2, 0])):
        np.testing.assert_array_equal(es[:, key].values, values[:, [2, 0]])
    np.testing.assert_array_equal(es[:, 1:3].values, values[:, 1:3])
    np.testing.assert_array_equal(es[:, np.array([True, False, False, True])].values,
                                  values[:, [0, 3]])
    one = es[3, ["sex"]]
    assert isinstance(one, xplain.Explanation) and one.features == ["sex"]
    assert es[:, COLUMNS] == es  # every feature in order: the explanations themselves


def test_unknown_and_repeated_features_are_refused(es):
    with pytest.raises(InvalidInputError, match="Row 0 has no feature 'incme'. Did you mean "
                                                "'income'?"):
        es[:, "incme"]
    with pytest.raises(InvalidInputError, match="name 'age' \\(position 0\\) more than once"):
        es[:, ["age", "age"]]
    with pytest.raises(InvalidInputError, match="Feature position 4 is out of range"):
        es[:, 4]


def test_a_restricted_explanation_keeps_per_feature_arrays_and_drops_sum_diagnostics(es):
    e = es[2]
    assert e.diagnostics["exact"] and "efficiency_gap" in e.diagnostics  # exact kernel_shap
    err = np.array([0.1, 0.2, 0.3, 0.4])
    e = dataclasses.replace(e, diagnostics={**e.diagnostics, "std_err": err},
                            interactions=np.arange(16.0).reshape(4, 4))
    r = restrict(e, [3, 1])
    assert r.features == ["hours", "sex"]
    np.testing.assert_array_equal(r.values, e.values[[3, 1]])
    np.testing.assert_array_equal(r.diagnostics["std_err"], err[[3, 1]])
    np.testing.assert_array_equal(r.interactions, [[15.0, 13.0], [7.0, 5.0]])
    assert r.display.shown == (e.display.shown[3], e.display.shown[1])
    assert r.base_value == e.base_value
    assert "efficiency_gap" not in r.diagnostics  # about the sum of all four values
    # delta = f(x) - f(reference) holds whichever features are kept: f(x) stays known
    assert r.diagnostics["delta"] == e.diagnostics["delta"]
    assert r.base_value + r.diagnostics["delta"] == pytest.approx(e.prediction[1], abs=1e-9)
    left = r.diagnostics["restricted"]
    assert left["features_left_out"] == 2
    # the full total is still there: base + kept + left out = base + sum(all) = f(x)
    total = r.base_value + r.values.sum() + left["values_left_out"]
    assert total == pytest.approx(e.prediction[1], abs=1e-9)
    assert xplain.Explanation.from_dict(json.loads(json.dumps(r.to_dict()))) == r


def test_a_restricted_grid_becomes_bars():
    grid = dataclasses.replace(
        _tokens(["p0", "p1", "p2", "p3"], [1.0, -2.0, 3.0, 0.5]),
        display=FeatureDisplay("grid", shape=(2, 2)),
    )
    assert grid.image_shape == (2, 2)
    r = restrict(grid, [0, 2])
    assert r.display.kind == "bars" and r.image_shape is None


def test_data_holds_the_shown_feature_values(es, frame):
    np.testing.assert_allclose(es.data, frame.iloc[:6].to_numpy())
    np.testing.assert_allclose(es[:, ["hours", "age"]].data, frame.iloc[:6][["hours", "age"]])


# -- rows whose features differ (texts) ----------------------------------------------------
def test_rows_of_different_tokens_are_refused_by_the_matrices_only():
    es = Explanations([
        _tokens(["[CLS]", "good", "film"], [0.0, 0.5, 0.1]),
        _tokens(["[CLS]", "bad", "film", "overall"], [0.0, -0.7, 0.2, 0.05]),
    ])
    for read in (lambda: es.values, lambda: es.features, lambda: es.to_frame(wide=True),
                 lambda: es.mean_abs(), lambda: es[:, 1]):
        with pytest.raises(InvalidInputError, match="row 0 has 3 features and row 1 has 4.*"
                                                    "to_frame"):
            read()
    long = es.to_frame()
    assert len(long) == 7 and list(long["row"]) == [0, 0, 0, 1, 1, 1, 1]
    assert list(long["feature"]) == ["[CLS]", "good", "film", "[CLS]", "bad", "film", "overall"]
    assert list(long["special"]) == [True, False, False, True, False, False, False]
    np.testing.assert_array_equal(es[:, "film"], [0.1, 0.2])  # by name: found in each row
    np.testing.assert_array_equal(es[:, ["film", "[CLS]"]].values, [[0.1, 0.0], [0.2, 0.0]])
    with pytest.raises(InvalidInputError, match="Row 0 has no feature 'bad'"):
        es[:, "bad"]
    same_length = Explanations([_tokens(["a", "b"], [1.0, 2.0]), _tokens(["a", "c"], [1, 2])])
    with pytest.raises(InvalidInputError, match="feature 1 is 'b' in row 0 and 'c' in row 1"):
        _ = same_length.values
    twice = Explanations([_tokens(["the", "film", "the"], [0.1, 0.2, 0.3])])
    with pytest.raises(InvalidInputError, match="'the' occurs 2 times in row 0"):
        twice[:, "the"]


# -- tables --------------------------------------------------------------------------------
def test_to_frame_long_and_wide(es):
    values = es.values
    long = es.to_frame()
    assert list(long.columns) == ["row", "position", "feature", "value", "special",
                                  "base_value", "target", "target_label", "method"]
    np.testing.assert_array_equal(long["value"], values.ravel())
    assert list(long["feature"]) == COLUMNS * len(es)
    np.testing.assert_array_equal(long["row"], np.repeat(np.arange(6), 4))
    np.testing.assert_array_equal(long["base_value"], np.repeat(es.base_values, 4))
    assert set(long["method"]) == {"kernel_shap"} and set(long["target"]) == {1}
    wide = es.to_frame(wide=True)
    assert list(wide.columns) == COLUMNS and wide.index.name == "row"
    np.testing.assert_array_equal(wide.to_numpy(), values)


def test_mean_abs_is_the_mean_of_the_absolute_values(es):
    expected = np.abs(es.values).mean(0)
    got = es.mean_abs()
    assert list(got.values) == sorted(expected, reverse=True)
    for name, value in got.items():
        assert value == expected[COLUMNS.index(name)]


def test_columns_per_row(es):
    np.testing.assert_array_equal(es.targets, [1] * 6)
    assert es.target_labels == [es[0].target_label] * 6
    np.testing.assert_array_equal(es.predictions, [e.prediction for e in es])
    np.testing.assert_array_equal(es.base_values, [e.base_value for e in es])
    assert es.method == "kernel_shap"
    mixed = Explanations([es[0], _tokens(["a", "b"], [1.0, 2.0])])
    with pytest.raises(InvalidInputError, match="mixes the methods 'kernel_shap', 'saliency'"):
        _ = mixed.method
    assert np.isnan(mixed.base_values[1]) and mixed.base_values[0] == es[0].base_value


# -- plain data and views ------------------------------------------------------------------
def test_round_trip_through_json(es):
    plain = json.loads(json.dumps(es.to_dict(), allow_nan=False))
    back = Explanations.from_dict(plain)
    assert back == es and back is not es and back != es[1:]
    assert Explanations.from_dict(es[:, ["age"]].to_dict()) == es[:, ["age"]]
    with pytest.raises(InvalidInputError, match="dict written by Explanations.to_dict"):
        Explanations.from_dict([e.to_dict() for e in es])


def test_equality_and_construction(es):
    assert es == list(es) and es == tuple(es) and es == Explanations(es)
    assert es != list(es)[::-1] and es != "es" and (es == 3) is False
    with pytest.raises(InvalidInputError, match="item 1 is a str"):
        Explanations([es[0], "x"])
    with pytest.raises(InvalidInputError, match="wrap one explanation in a list"):
        Explanations(es[0])
    assert repr(es) == "Explanations(n=6, method='kernel_shap', n_features=4)"


def test_an_empty_batch(explainer, frame):
    empty = explainer.explain_batch(frame.iloc[:0], "kernel_shap")
    assert isinstance(empty, Explanations) and len(empty) == 0 and list(empty) == []
    assert empty.values.shape == (0, 0) and empty.features == [] and empty.method is None
    assert empty.to_frame().empty and list(empty.to_frame().columns)[:3] == ["row", "position",
                                                                            "feature"]
    assert empty.mean_abs().empty and empty.base_values.shape == (0,)
    assert repr(empty) == "Explanations(n=0)" and empty._repr_html_() is None
    with pytest.raises(InvalidInputError, match="This batch is empty"):
        empty.to_html()


def test_html_is_the_batch_report(es, tmp_path):
    assert es.to_html(max_display=3) == BatchReport(list(es), max_display=3).to_html()
    assert es._repr_html_() == es.to_html()
    path = es.save_html(tmp_path / "batch.html")
    assert path.read_text(encoding="utf-8") == BatchReport(list(es)).to_html(full_page=True)


def test_the_plot_accessor_calls_xplain_plot(es, monkeypatch):
    calls = []

    def record(name):
        return lambda *args, **kwargs: calls.append((name, args, kwargs)) or name

    fake = types.SimpleNamespace(
        beeswarm=record("beeswarm"), importance=record("importance"),
        dependence=record("dependence"),
    )
    monkeypatch.setitem(sys.modules, "xplain.plot", fake)
    assert es.plot() == "beeswarm"
    assert es.plot.bar(max_display=3) == "importance"
    assert es.plot.dependence("age", color_by="sex") == "dependence"
    assert calls == [
        ("beeswarm", (es,), {"ax": None, "max_display": 10}),
        ("importance", (es,), {"ax": None, "max_display": 3}),
        ("dependence", (es, "age"), {"ax": None, "color_by": "sex"}),
    ]


# -- base values ---------------------------------------------------------------------------
@pytest.mark.parametrize("options", [{}, {"num_features": 2}])
def test_lime_values_add_up_from_the_intercept_to_the_local_prediction(explainer, frame,
                                                                       options):
    e = explainer.explain(frame.iloc[3], "lime", num_samples=300, **options)
    d = e.diagnostics
    assert e.base_value == d["intercept"]
    assert abs(e.base_value + e.values.sum() - d["local_prediction"]) < 1e-9
    # ... and not to the model's score: the gap is the surrogate's fit error
    assert d["local_prediction"] != pytest.approx(e.prediction[e.target], abs=1e-6)


def test_lime_without_bins_has_no_base_value(explainer, frame):
    e = explainer.explain(frame.iloc[3], "lime", num_samples=300, discretize_continuous=False)
    assert e.base_value is None and "intercept" in e.diagnostics


def test_lime_on_masks_adds_up_from_the_intercept(small_text_explainer):
    e = small_text_explainer.explain("a fine, quiet film", "lime", num_samples=60)
    assert e.base_value == e.diagnostics["intercept"]
    assert abs(e.base_value + e.values.sum() - e.diagnostics["local_prediction"]) < 1e-9


@pytest.mark.parametrize("method", ["kernel_shap", "exact_shapley"])
def test_shapley_values_add_up_from_the_base_value_to_the_prediction(explainer, frame, method):
    e = explainer.explain(frame.iloc[5], method, target=0)
    assert e.output == "probability" and e.base_value is not None
    assert e.base_value + e.values.sum() == pytest.approx(e.prediction[0], abs=1e-9)


@pytest.fixture(scope="module")
def mlp_explainer(frame):
    torch.manual_seed(0)
    mlp = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2))
    return xplain.Explainer(mlp.double(), data=frame, modality="tabular")


@pytest.mark.parametrize("method", ["integrated_gradients", "deeplift"])
def test_gradient_methods_with_a_reference_add_up_from_it(mlp_explainer, frame, method):
    row = frame.iloc[0].to_numpy()
    e = mlp_explainer.explain(row, method, target=1)
    exact = mlp_explainer.explain(row, "exact_shapley", target=1)
    fx = exact.base_value + exact.values.sum()  # the explained logit (exact at d = 4)
    assert e.output == "logits" and e.base_value != exact.base_value  # f(0) vs E f(background)
    assert e.base_value + e.diagnostics["delta"] == pytest.approx(fx, abs=1e-9)
    assert e.base_value + e.values.sum() == pytest.approx(fx, abs=1e-3)


@pytest.mark.parametrize("method, params", [
    ("saliency", {}), ("input_x_gradient", {}), ("occlusion", {}),
    ("smoothgrad", {"noise_samples": 2}),
    ("integrated_gradients", {"n_steps": 8, "noise_samples": 2}),  # Smooth IG
])
def test_methods_without_an_additive_reference_have_none(mlp_explainer, frame, method, params):
    e = mlp_explainer.explain(frame.iloc[0].to_numpy(), method, target=1, **params)
    assert e.base_value is None
    assert np.isnan(Explanations([e, e]).base_values).all()


def test_smooth_ig_reports_no_base_value_of_a_noisy_copy(mlp_explainer, frame):
    row = frame.iloc[0].to_numpy()
    plain = mlp_explainer.explain(row, "integrated_gradients", target=1, n_steps=8)
    smooth = mlp_explainer.explain(row, Smooth(IntegratedGradients(n_steps=8), noise_samples=2),
                                   target=1)
    assert plain.base_value is not None and smooth.base_value is None
    assert "delta" not in smooth.diagnostics


# -- Parquet -------------------------------------------------------------------------------
def test_parquet_round_trip_of_table_rows(es, frame, tmp_path):
    from sklearn.ensemble import RandomForestRegressor

    y = frame.age * frame.income + frame.hours
    forest = RandomForestRegressor(n_estimators=5, max_depth=3, random_state=0).fit(frame, y)
    trees = xplain.Explainer(forest, data=frame, background_size=10)
    pairs = trees.explain_batch(frame.iloc[:3], "tree_shap", interactions=True)
    restricted = es[:, ["income", "age"]]  # diagnostics["restricted"], per-feature std_err
    for i, batch in enumerate([es, pairs, restricted]):
        path = tmp_path / f"batch{i}.parquet"
        batch.to_parquet(path)
        back = Explanations.read_parquet(path)
        assert back == batch and back is not batch
        assert [e.diagnostics.keys() for e in back] == [e.diagnostics.keys() for e in batch]
    # one float column per feature, as in explain_dataset's parts
    import pyarrow.parquet as pq

    columns = pq.read_table(tmp_path / "batch0.parquet").column_names
    assert [c for c in columns if c.startswith("value:")] == [f"value:{c}" for c in COLUMNS]
    back = Explanations.read_parquet(str(tmp_path / "batch1.parquet"))
    assert all(e.interactions is not None for e in back)
    np.testing.assert_array_equal(back[2].interactions, pairs[2].interactions)
    assert back[0].interactions.shape == (4, 4)
    back = Explanations.read_parquet(tmp_path / "batch2.parquet")
    assert back[1].diagnostics["restricted"] == restricted[1].diagnostics["restricted"]
    np.testing.assert_array_equal(back[1].diagnostics["std_err"],
                                  restricted[1].diagnostics["std_err"])


def test_parquet_round_trip_of_tokens_specials_and_unsigned_values(tmp_path):
    a = _tokens(["[CLS]", "the", "film", "the"], [0.5, 0.1, -0.2, 0.3])  # a token twice
    b = dataclasses.replace(_tokens(["[CLS]", "bad"], [0.0, 0.4]), signed=False)
    for i, batch in enumerate([Explanations([a, b]), Explanations([a, a]), Explanations()]):
        path = tmp_path / f"tokens{i}.parquet"
        batch.to_parquet(path)
        back = Explanations.read_parquet(path)
        assert back == batch and len(back) == len(batch)
    back = Explanations.read_parquet(tmp_path / "tokens0.parquet")
    assert back[0].features == ["[CLS]", "the", "film", "the"]
    assert back[0]._special_flags().tolist() == [True, False, False, False]
    assert back[1].signed is False and back[0].display == FeatureDisplay("tokens")


def test_read_parquet_refuses_other_files(tmp_path):
    with pytest.raises(InvalidInputError, match="not a readable Parquet file"):
        Explanations.read_parquet(tmp_path / "missing.parquet")
    other = tmp_path / "frame.parquet"
    pd.DataFrame({"a": [1.0, 2.0]}).to_parquet(other)
    with pytest.raises(InvalidInputError, match="not written by Explanations.to_parquet"):
        Explanations.read_parquet(other)
