"""Trust findings 11 (text) and 20: texts empty after tokenisation, LIME's degenerate
regressions, and duck-typed scikit-learn models."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import xplain
from xplain.errors import InvalidInputError, InvalidParameterError, MethodNotApplicableError


@pytest.fixture(scope="module")
def text_explainer(tiny_bert, minilm_tokenizer):
    return xplain.Explainer(tiny_bert, tokenizer=minilm_tokenizer)


@pytest.mark.parametrize(
    "text", ["\u200b\u200b", "\x00\x01\x02", "\ufeff\u200d", "\u0301", "[SEP] [PAD]"], ids=repr
)
def test_f11_text_without_tokens_is_refused_like_the_empty_text(text_explainer, text):
    for method in ("saliency", "occlusion"):
        with pytest.raises(InvalidInputError, match="no token but the special ones"):
            text_explainer.explain(text, method=method)
    with pytest.raises(InvalidInputError, match="empty"):
        text_explainer.explain("", method="saliency")
    # one real word among them is explained, with the invisible characters dropped
    e = text_explainer.explain(f"{text}good", method="occlusion")
    assert "good" in e.features


# -- LIME's regression ----------------------------------------------------------------------
def _proba(frame) -> np.ndarray:
    x = np.asarray(frame, dtype=np.float64)
    p = 1 / (1 + np.exp(-(x[:, 0] + 2 * x[:, 1])))
    return np.column_stack([1 - p, p])


def _data(n: int = 100) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({"a": rng.normal(size=n), "b": rng.normal(size=n)})


@pytest.mark.parametrize("width", [1e-300, 1e-3])
def test_f20_lime_kernel_too_narrow_is_refused_not_all_zero(text_explainer, width):
    tabular = xplain.Explainer(_proba, data=_data())
    for explainer, instance in ((tabular, _data().iloc[3]), (text_explainer, "a fine film")):
        # was: NaN sample weights (1e-300) or every coefficient 0 (1e-3)
        with pytest.raises(InvalidParameterError, match="kernel_width=.* is too narrow"):
            explainer.explain(instance, method="lime", kernel_width=width)


def test_f20_lime_kernel_width_huge_is_the_unweighted_fit():
    ex = xplain.Explainer(_proba, data=_data())
    row = _data().iloc[3]
    wide = ex.explain(row, method="lime", kernel_width=1e300)  # was: OverflowError
    flat = ex.explain(row, method="lime", kernel_width=1e150)  # every weight 1 as well
    np.testing.assert_allclose(wide.values, flat.values)
    assert np.abs(wide.values).sum() > 0


@pytest.mark.parametrize("rows", [1, 40], ids=["one row", "identical rows"])
def test_f20_lime_on_data_without_variation_is_refused(rows):
    data = pd.concat([_data().iloc[:1]] * rows, ignore_index=True)
    ex = xplain.Explainer(_proba, data=data)
    with pytest.raises(MethodNotApplicableError, match="no variation"):
        ex.explain(_data().iloc[3], method="lime")  # was: every coefficient 0


# -- duck-typed models -----------------------------------------------------------------------
class DuckClassifier:
    """fit / predict / predict_proba / classes_, without scikit-learn's BaseEstimator."""

    classes_ = np.array(["no", "yes"])

    def fit(self, X, y):
        return self

    def predict_proba(self, X):
        return _proba(X)

    def predict(self, X):
        return self.classes_[_proba(X).argmax(1)]


class ProbaOnly:
    """fit / predict_proba only, no classes_."""

    def fit(self, X, y):
        return self

    def predict_proba(self, X):
        return _proba(X)


def test_f20_duck_typed_classifier_is_explained_like_a_function():
    data = _data()
    duck = xplain.Explainer(DuckClassifier(), data=data)  # was: __sklearn_tags__ error
    function = xplain.Explainer(_proba, data=data, labels=["no", "yes"])
    assert duck.adapter.labels == ["no", "yes"]
    got = duck.explain(data.iloc[3], method="kernel_shap")
    expected = function.explain(data.iloc[3], method="kernel_shap")
    np.testing.assert_allclose(got.values, expected.values)
    np.testing.assert_allclose(got.prediction, _proba(data.iloc[[3]])[0])


def test_f20_model_with_predict_proba_but_no_classes_says_how_to_wrap_it():
    with pytest.raises(InvalidParameterError, match="has no classes_.*lambda rows"):
        xplain.Explainer(ProbaOnly(), data=_data())
