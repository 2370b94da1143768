"""Hostile try-out of issue 13's batch object and plots: what a plot says must be what the
explanation holds (f(x), the explained class, the labels), and user mistakes raise
XplainError."""

from __future__ import annotations

from collections.abc import Iterator

import matplotlib
import numpy as np
import pandas as pd
import pytest
from matplotlib import cbook
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

import xplain
import xplain.plot
from xplain.comparison import Comparison
from xplain.errors import InvalidInputError, InvalidParameterError

matplotlib.use("Agg")


@pytest.fixture(autouse=True)
def _close_figures() -> Iterator[None]:
    import matplotlib.pyplot as plt

    yield
    plt.close("all")


def _data(columns: list[str] | None = None) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(200, 4)), columns=columns or ["a", "b", "c", "d"])
    return X, (X.iloc[:, 0] + X.iloc[:, 1] > 0).to_numpy().astype(int)


@pytest.fixture(scope="module")
def classifier() -> tuple[xplain.Explainer, pd.DataFrame, RandomForestClassifier]:
    X, y = _data()
    model = RandomForestClassifier(n_estimators=8, max_depth=3, random_state=0).fit(X, y)
    return xplain.Explainer(model, data=X.iloc[:40]), X, model


def _legend(ax) -> list[str]:
    return [t.get_text() for t in ax.get_legend().get_texts()]


def _solid_line_x(ax) -> float:
    """x of the waterfall's solid (f(x)) line."""
    (line,) = [line for line in ax.get_lines() if line.get_linestyle() == "-"]
    return float(line.get_xdata()[0])


def test_h13_waterfall_of_restricted_explanation_puts_fx_at_fx(classifier) -> None:
    ex, X, model = classifier
    es = ex.explain_batch([X.iloc[0], X.iloc[1]], method="kernel_shap")
    full = es[0]
    fx = float(model.predict_proba(X.iloc[[0]])[0, full.target])
    restricted = es[:, ["a", "c"]][0]
    ax = restricted.plot()
    # the line called f(x) is at the model's f(x), not at base value + the two values kept
    assert _solid_line_x(ax) == pytest.approx(fx, abs=1e-9)
    left = restricted.diagnostics["restricted"]["values_left_out"]
    assert abs(left) > 1e-3  # the two left out matter, so the old line was visibly off
    label = _legend(ax)[1]
    assert label.startswith(f"f(x) = {fx:.4g}") and "2 features left out" in label


def test_h13_lime_waterfall_fx_is_the_model_not_the_surrogate() -> None:
    X, _ = _data()
    y = 3 * X["a"] + X["b"]
    model = RandomForestRegressor(n_estimators=8, max_depth=3, random_state=0).fit(X, y)
    e = xplain.Explainer(model, data=X.iloc[:40]).explain(X.iloc[0], method="lime", seed=0)
    fx = float(model.predict(X.iloc[[0]])[0])
    surrogate = e.diagnostics["local_prediction"]
    assert abs(surrogate - fx) > 1e-2  # LIME's local fit misses f(x): the case at stake
    ax = e.plot(kind="waterfall")
    assert _solid_line_x(ax) == pytest.approx(fx)
    assert _legend(ax)[1].startswith(f"f(x) = {fx:.4g} (values sum to {surrogate:.4g})")


def test_h13_regressor_plots_name_no_class() -> None:
    X, _ = _data()
    model = RandomForestRegressor(n_estimators=4, max_depth=2, random_state=0).fit(X, X["a"])
    ex = xplain.Explainer(model, data=X.iloc[:40])
    es = ex.explain_batch([X.iloc[0], X.iloc[1]], method="tree_shap")
    ax = es[0].plot()
    for text in (ax.get_title(), ax.get_xlabel(), es.plot().get_title()):
        assert "class" not in text and "target 'prediction'" in text


def test_h13_dollar_signs_in_names_are_drawn_literally() -> None:
    # two "$" make matplotlib read mathtext: "price $5-$10" in italics, "$x_$" an error
    names = ["price $5-$10", "$x_$", "c", "d"]
    X, y = _data(names)
    model = RandomForestClassifier(n_estimators=4, max_depth=3, random_state=0).fit(X, y)
    ex = xplain.Explainer(model, data=X.iloc[:40])
    es = ex.explain_batch([X.iloc[i] for i in range(4)], method="tree_shap", target=1)
    e = ex.explain(X.iloc[0], method="tree_shap", interactions=True)
    drawn = [e.plot(), es.plot(), es.plot.bar(), es.plot.dependence("$x_$", color_by="c"),
             e.plot(kind="interactions"), xplain.plot.text(e)]
    for ax in drawn:
        ax.figure.canvas.draw()  # raised a mathtext ParseException before
        labels = [t.get_text() for t in ax.get_yticklabels() + ax.texts if t.get_text()]
        assert not any(cbook.is_math_text(label) for label in labels)
    ticks = [t.get_text().replace("\\$", "$") for t in drawn[1].get_yticklabels()]
    assert set(names[:2]) <= set(ticks)


def test_h13_batch_plots_say_which_class_and_when_classes_are_mixed(classifier) -> None:
    ex, X, model = classifier
    rows = [X.iloc[i] for i in range(12)]
    predicted = model.predict(pd.DataFrame(rows))
    assert len(set(predicted)) == 2  # explain_batch's default: each row's predicted class
    mixed = ex.explain_batch(rows, method="tree_shap")
    for ax in (mixed.plot(), mixed.plot.bar(), mixed.plot.dependence("a")):
        assert "mixed: class '0'" in ax.get_title() and "target=" in ax.get_title()
    one = ex.explain_batch(rows, method="tree_shap", target=1)
    assert one.plot().get_title() == "tree_shap \u00b7 12 explanations of class '1'"


def test_h13_comparison_plot_refuses_other_features_or_targets(classifier) -> None:
    ex, X, _ = classifier
    e = ex.explain(X.iloc[0], method="kernel_shap", target=0)
    part = xplain.Explanations([e])[:, ["a", "b"]][0]
    with pytest.raises(InvalidInputError, match="other features"):
        Comparison(None, {"all": e, "part": part}).plot()
    other = ex.explain(X.iloc[0], method="lime", target=1)
    with pytest.raises(InvalidInputError, match="another target"):
        Comparison(None, {"kernel_shap": e, "lime": other}).plot()


def test_h13_dependence_refuses_an_ambiguous_feature_name(classifier) -> None:
    ex, X, _ = classifier
    e = ex.explain(X.iloc[0], method="kernel_shap", target=1)
    twice = xplain.Explanation.from_dict({**e.to_dict(), "features": ["a", "a", "c", "d"]})
    with pytest.raises(InvalidParameterError, match="occurs 2 times"):
        xplain.plot.dependence([twice, twice], "a")


def test_h13_plot_names_an_unknown_keyword(classifier) -> None:
    ex, X, _ = classifier
    e = ex.explain(X.iloc[0], method="kernel_shap")
    with pytest.raises(InvalidParameterError, match="'max_dispaly'.*max_display"):
        e.plot(max_dispaly=3)
    with pytest.raises(InvalidParameterError, match="Allowed parameters: ax, alpha"):
        e.plot(kind="image", max_display=3)
