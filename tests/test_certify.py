"""MuS certified stability (Xue, Alur and Wong 2023, arXiv:2307.05902): the derandomised
keep-masks, the smoothed model, its Lipschitz bound and the certified radii, checked by
enumerating every mask within the radius on models of at most 12 features.

Reference definitions (from the paper): ``g(alpha) = mean_j h(x masked by alpha * s_j)``
with each ``s_i`` kept in exactly ``floor(lambda q)`` of the ``q`` masks;
``||g(a) - g(a')||_inf <= lambda ||a - a'||_1``; ``r = (p_A - p_B) / (2 lambda)``.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.linear_model import LogisticRegression

import xplain
from xplain import metrics
from xplain.certification import SmoothedModel, _top_two, certify, keep_masks
from xplain.errors import InvalidParameterError, MethodNotApplicableError, XplainError
from xplain.views import InterpretableView

N_FEATURES = 8


@pytest.fixture(scope="module")
def tabular():
    """(explainer, row, explanation): a confident logistic regression of 8 columns whose
    absent columns are taken from 6 background rows."""
    rng = np.random.default_rng(0)
    columns = [f"x{i}" for i in range(N_FEATURES)]
    X = pd.DataFrame(rng.normal(size=(200, N_FEATURES)), columns=columns)
    w = np.array([3.0, -2.5, 2.0, 1.5, -1.0, 0.5, 0.25, 0.0])
    y = (X.to_numpy() @ w > 0).astype(int)
    model = LogisticRegression(C=100.0, max_iter=500).fit(X, y)
    explainer = xplain.Explainer(model, data=X.iloc[:6])
    row = X.iloc[10].to_dict()
    explanation = explainer.explain(row, "occlusion")
    return explainer, row, explanation


def _view(explainer, explanation) -> InterpretableView:
    from xplain.metrics._common import encode_again

    encoded = encode_again(explainer, explanation)
    return explainer.adapter.view(InterpretableView, encoded, "probability")


def _linear_view(weights: np.ndarray) -> InterpretableView:
    """A view whose class-1 probability is ``w . mask`` (w >= 0, sum w <= 1)."""

    def evaluate(masks: np.ndarray) -> np.ndarray:
        p = np.asarray(masks, dtype=np.float64) @ weights  # [n]
        return np.stack([1 - p, p], 1)

    d = len(weights)
    return InterpretableView(
        n_features=d, evaluate=evaluate, scores=evaluate(np.ones((1, d)))[0],
        base_scores=evaluate(np.zeros((1, d)))[0], active=np.arange(d), n_total=d,
    )


# -- the derandomised masks -----------------------------------------------------------------
@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 40),
    q=st.integers(1, 80),
    lam=st.floats(0.01, 1.0),
    seed=st.integers(0, 2**31),
)
def test_each_feature_is_kept_in_exactly_floor_lambda_q_masks(n, q, lam, seed):
    m = math.floor(lam * q + 1e-9)
    if m < 1:
        with pytest.raises(InvalidParameterError, match="lam \\* q must be >= 1"):
            keep_masks(n, lam, q, seed)
        return
    masks = keep_masks(n, lam, q, seed)
    assert masks.shape == (q, n) and masks.dtype == bool
    np.testing.assert_array_equal(masks.sum(0), np.full(n, m))
    # the paper's construction: mask j keeps i iff (v_i + j/q) mod 1 < m/q, one offset v_i
    # per feature; so mask j+1 is mask j with each feature's position shifted by one
    offsets = np.random.default_rng(seed).integers(0, q, size=n)
    expected = ((offsets[None] + np.arange(q)[:, None]) % q) < m
    np.testing.assert_array_equal(masks, expected)


def test_masks_are_reproducible_and_seeded():
    a = keep_masks(12, 0.25, 16, seed=3)
    np.testing.assert_array_equal(a, keep_masks(12, 0.25, 16, seed=3))
    assert not np.array_equal(a, keep_masks(12, 0.25, 16, seed=4))
    # 0.29 * 100 is 28.999999999999996 in floating point: still 29 masks
    assert (keep_masks(3, 0.29, 100).sum(0) == 29).all()
    assert keep_masks(5, 1.0, 7).all()  # lambda = 1 keeps everything: g is the model


# -- the smoothed model ---------------------------------------------------------------------
def test_smoothed_output_is_the_mean_over_the_q_masks(tabular):
    explainer, _, explanation = tabular
    view = _view(explainer, explanation)
    g = SmoothedModel(view, lam=0.25, q=8, seed=1)
    rng = np.random.default_rng(0)
    alphas = rng.random((5, view.n_features)) < 0.6
    got = g(alphas)  # [5, C]
    for alpha, row in zip(alphas, got, strict=True):
        per_mask = np.asarray(view.evaluate(alpha[None] & g.masks))  # [q, C]
        np.testing.assert_allclose(row, per_mask.mean(0), rtol=0, atol=1e-12)
    np.testing.assert_allclose(got.sum(1), 1.0, atol=1e-12)


def test_smoothed_linear_model_is_scaled_by_the_keep_probability():
    # h(beta)_1 = w . beta and each feature is kept in m of the q masks, so
    # g(alpha)_1 = (1/q) sum_j w . (alpha * s_j) = (m/q) w . alpha, exactly
    w = np.array([0.3, 0.2, 0.1, 0.25, 0.05])
    g = SmoothedModel(_linear_view(w), lam=0.3, q=10, seed=7)
    assert g.lipschitz == 0.3
    alphas = np.array([[1, 1, 1, 1, 1], [1, 0, 1, 0, 0], [0, 0, 0, 0, 0]], dtype=bool)
    np.testing.assert_allclose(g(alphas)[:, 1], 0.3 * (alphas @ w), atol=1e-12)
    # lambda q not an integer: the keep probability is floor(lambda q) / q = 2/7
    g = SmoothedModel(_linear_view(w), lam=0.3, q=7, seed=0)
    assert g.lipschitz == pytest.approx(2 / 7)
    np.testing.assert_allclose(g(np.ones((1, 5), dtype=bool))[0, 1], 2 / 7 * w.sum())


def test_the_lipschitz_bound_is_reached_by_a_model_of_one_feature():
    # h = 1 exactly when feature 0 is present: g(e_0) - g(0) = m/q = lambda ||e_0 - 0||_1
    g = SmoothedModel(_linear_view(np.array([1.0, 0.0, 0.0])), lam=0.5, q=6, seed=2)
    on, off = g(np.array([[1, 0, 0], [0, 0, 0]], dtype=bool))
    assert np.abs(on - off).max() == pytest.approx(0.5)


@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_smoothed_model_is_lambda_lipschitz_to_masking(tabular, data):
    explainer, _, explanation = tabular
    view = _view(explainer, explanation)
    q = data.draw(st.sampled_from([4, 8, 16]))
    m = data.draw(st.integers(1, q))
    g = SmoothedModel(view, lam=m / q, q=q, seed=data.draw(st.integers(0, 100)))
    bits = st.lists(st.booleans(), min_size=N_FEATURES, max_size=N_FEATURES)
    a, b = np.array(data.draw(bits)), np.array(data.draw(bits))
    ga, gb = g(np.stack([a, b]))
    assert np.abs(ga - gb).max() <= (m / q) * np.abs(a.astype(int) - b).sum() + 1e-12


@settings(max_examples=15, deadline=None)
@given(data=st.data())
def test_smoothed_torch_model_is_lambda_lipschitz_to_masking(data):
    import torch

    torch.manual_seed(0)
    net = torch.nn.Sequential(
        torch.nn.Linear(6, 16), torch.nn.Tanh(), torch.nn.Linear(16, 3)
    ).double()
    frame = pd.DataFrame(np.random.default_rng(1).normal(size=(5, 6)),
                         columns=[f"c{i}" for i in range(6)])
    explainer = _torch_explainer(net, frame)
    explanation = explainer.explain(frame.iloc[0].to_dict(), "occlusion")
    view = _view(explainer, explanation)
    g = SmoothedModel(view, lam=0.25, q=8, seed=data.draw(st.integers(0, 50)))
    bits = st.lists(st.booleans(), min_size=6, max_size=6)
    a, b = np.array(data.draw(bits)), np.array(data.draw(bits))
    ga, gb = g(np.stack([a, b]))
    assert np.abs(ga - gb).max() <= 0.25 * np.abs(a.astype(int) - b).sum() + 1e-12


_TORCH: dict[int, xplain.Explainer] = {}


def _torch_explainer(net, frame) -> xplain.Explainer:
    if id(net) not in _TORCH:  # hypothesis draws many examples of one model
        _TORCH.clear()
        _TORCH[id(net)] = xplain.Explainer(net, data=frame)
    return _TORCH[id(net)]


# -- certification --------------------------------------------------------------------------
def test_certificate_fields_follow_the_paper(tabular):
    explainer, _, explanation = tabular
    found = certify(explainer, explanation, k=2, lam=0.125, q=64, seed=0)
    d = N_FEATURES
    order = np.argsort(-explanation.values, kind="stable")
    np.testing.assert_array_equal(np.flatnonzero(found.kept), np.sort(order[:2]))
    assert found.features == [explanation.features[i] for i in np.sort(order[:2])]
    g = SmoothedModel(_view(explainer, explanation), lam=0.125, q=64, seed=0)
    at_kept, full = g(np.stack([found.kept, np.ones(d, dtype=bool)]))
    np.testing.assert_allclose(found.smoothed, at_kept, atol=1e-12)
    np.testing.assert_allclose(found.smoothed_full, full, atol=1e-12)
    top = np.sort(at_kept)[::-1]
    assert (found.p_a, found.p_b) == pytest.approx((top[0], top[1]))
    assert found.incremental_radius == pytest.approx((top[0] - top[1]) / (2 * 0.125))
    top_full = np.sort(full)[::-1]
    assert found.decremental_radius == pytest.approx((top_full[0] - top_full[1]) / 0.25)
    assert found.label == int(np.argmax(at_kept))
    assert found.consistent == (found.label == int(np.argmax(full)))
    assert found.matches_model == (int(np.argmax(full)) == explanation.target)
    assert found.n_model_evals == 128 and found.lipschitz == 0.125
    assert found.to_dict()["kept"] == found.kept.tolist()
    # the default k is the paper's top 25%
    assert certify(explainer, explanation, q=8).k == 2


def _labels(g: SmoothedModel, alphas: list[np.ndarray]) -> np.ndarray:
    return np.argmax(g(np.stack(alphas)), 1)


@pytest.mark.parametrize(("k", "lam"), [(2, 1 / 8), (3, 1 / 16), (5, 1 / 8)])
def test_no_mask_within_the_certified_radius_changes_the_class(tabular, k, lam):
    """Every superset and subset of the explanation within r_inc, and every removal of
    non-explanation features from the full input within r_dec, keeps the class (n = 8,
    all 2^8 masks enumerated)."""
    explainer, _, explanation = tabular
    found = certify(explainer, explanation, k=k, lam=lam, q=32, seed=0)
    assert found.incremental_radius > 1 and found.decremental_radius > 1  # not vacuous
    g = SmoothedModel(_view(explainer, explanation), lam=lam, q=32, seed=0)
    kept = found.kept
    supersets, subsets, removals = [], [], []
    for bits in itertools.product([False, True], repeat=N_FEATURES):
        alpha = np.array(bits)
        if (alpha & ~kept).sum() == 0 and (kept & ~alpha).sum() < found.incremental_radius:
            subsets.append(alpha)
        if (kept & ~alpha).sum() == 0:
            if (alpha & ~kept).sum() < found.incremental_radius:
                supersets.append(alpha)
            if (~alpha).sum() < found.decremental_radius:
                removals.append(alpha)
    assert len(supersets) > 1 and len(subsets) > 1 and len(removals) > 1
    assert (_labels(g, supersets) == found.label).all()
    assert (_labels(g, subsets) == found.label).all()
    assert (_labels(g, removals) == int(np.argmax(found.smoothed_full))).all()
    assert found.certified_additions == math.ceil(found.incremental_radius) - 1


@pytest.fixture(scope="module")
def threshold():
    """(explainer, explanation): a near-hard classifier of 10 features, class 1 when the
    weighted count of present features (absent ones become 0) exceeds 3, so that few
    changes flip it and a radius too large by a small factor is caught."""
    w = np.array([5, 4, 3, 3, 2, 2, 1, 1, 1, 1.0])

    def model(rows):
        p = 1 / (1 + np.exp(-4 * (np.asarray(rows, dtype=np.float64) @ w - 3.0)))
        return np.stack([1 - p, p], 1)

    columns = [f"c{i}" for i in range(10)]
    explainer = xplain.Explainer(model, data=pd.DataFrame(np.zeros((1, 10)), columns=columns))
    return explainer, explainer.explain(dict.fromkeys(columns, 1.0), "occlusion")


@pytest.mark.parametrize(("k", "lam", "inc", "dec"), [(2, 1 / 8, True, False),
                                                    (1, 3 / 16, True, True)])
def test_every_mask_of_ten_features_within_the_radius_keeps_the_class(threshold, k, lam,
                                                                      inc, dec):
    """All 2^10 masks enumerated: none within L1 distance r_inc of the explanation (the
    Lipschitz bound covers additions and removals) and no removal of non-explanation
    features within r_dec of the full input changes the smoothed class; some masks
    farther away do, so the check is not vacuous."""
    explainer, explanation = threshold
    found = certify(explainer, explanation, k=k, lam=lam, q=64, seed=0)
    assert (found.incremental_radius > 1) == inc and (found.decremental_radius > 1) == dec
    g = SmoothedModel(_view(explainer, explanation), lam=lam, q=64, seed=0)
    alphas = np.array(list(itertools.product([False, True], repeat=10)))  # [1024, 10]
    labels = np.argmax(g(alphas), 1)
    distance = (alphas != found.kept).sum(1)
    assert (labels[distance < found.incremental_radius] == found.label).all()
    flipped = distance[labels != found.label]
    assert flipped.size and flipped.min() >= found.incremental_radius
    removed = np.where((alphas >= found.kept).all(1), (~alphas).sum(1), 99)  # [1024]
    full_label = np.argmax(found.smoothed_full)
    assert (labels[removed < found.decremental_radius] == full_label).all()
    assert (removed < found.decremental_radius).sum() > (1 if dec else 0)
    if dec:  # here removing 2 features flips the full input's class: r_dec = 1.56 is tight
        assert removed[labels != full_label].min() >= found.decremental_radius


def test_radius_of_a_one_feature_model_is_exact():
    """h_1 = 0.9 when feature 0 is present, else 0.1 (one feature decides): with k = 1 the
    explanation keeps feature 0, g(alpha)_1 = 0.1 + 0.8 lambda, and the radius is
    (p_A - p_B) / (2 lambda) = |0.8 lambda + 0.1 - (0.9 - 0.8 lambda)| / (2 lambda)."""
    lam = 0.75
    view = _linear_view(np.array([0.8, 0.0, 0.0, 0.0]))
    base = view.evaluate

    def evaluate(masks):  # shift class 1 by 0.1: h_1 = 0.1 + 0.8 * [feature 0 present]
        out = base(masks)
        return np.stack([out[:, 0] - 0.1, out[:, 1] + 0.1], 1)

    view.evaluate = evaluate
    g = SmoothedModel(view, lam=lam, q=4, seed=0)
    p1 = g(np.array([[1, 0, 0, 0]], dtype=bool))[0, 1]
    assert p1 == pytest.approx(0.1 + 0.8 * lam)  # 0.7
    # r = (0.7 - 0.3) / 1.5 = 0.2667 < 1: not even one feature is certified, and indeed
    # removing feature 0 flips the class (g_1 drops to 0.1)
    label, p_a, p_b = _top_two(g(np.array([[1, 0, 0, 0]], dtype=bool))[0])
    assert (label, (p_a - p_b) / (2 * lam)) == (1, pytest.approx(0.4 / 1.5))
    assert g(np.zeros((1, 4), dtype=bool))[0, 1] == pytest.approx(0.1)


# -- the metric -----------------------------------------------------------------------------
def test_certified_radius_metric_in_compare_evaluate(tabular):
    explainer, row, explanation = tabular
    assert "certified_radius" in set(metrics.available_metrics()["name"])
    info = metrics.METRICS["certified_radius"]
    assert info.higher_is_better is True and info.category == "robustness"
    comparison = explainer.compare(row, methods=["occlusion", "kernel_shap"])
    frame = comparison.evaluate(
        ["certified_radius"], params={"certified_radius": {"k": 3, "lam": 0.125, "q": 16}}
    )
    for method, found_explanation in comparison.explanations.items():
        found = certify(explainer, found_explanation, k=3, lam=0.125, q=16)
        expected = found.incremental_radius if found.consistent else 0.0
        assert frame.loc[method, "certified_radius"] == pytest.approx(expected)
    assert (frame["certified_radius"] > 0).all()


def test_xplain_certify_is_the_function(tabular):
    explainer, _, explanation = tabular
    assert xplain.certify is certify
    assert xplain.certify(explainer, explanation, k=1, q=8).k == 1


# -- bad input ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"k": 0}, "'k' parameter of certify must be None or an int >= 1. Got 0"),
        ({"k": 2.5}, "'k' parameter"),
        ({"k": 9}, "at most the 8 maskable features"),
        ({"lam": 0.0}, "'lam' parameter of certify must be a float in the range (0, 1]"),
        ({"lam": 1.5}, "'lam' parameter"),
        ({"q": 0}, "'q' parameter of certify must be an int >= 1. Got 0"),
        ({"lam": 0.05, "q": 10}, "lam \\* q must be >= 1"),
        ({"seed": -1}, "'seed' parameter"),
    ],
)
def test_bad_parameters_are_refused(tabular, params, words):
    explainer, _, explanation = tabular
    with pytest.raises(InvalidParameterError, match=words if "\\" in words else None) as err:
        certify(explainer, explanation, **params)
    assert isinstance(err.value, XplainError) and isinstance(err.value, ValueError)
    if "\\" not in words:
        assert words in str(err.value)


def test_scores_that_are_not_probabilities_are_refused():
    view = _linear_view(np.array([2.0, 1.0]))  # class 1 reaches 3: not a probability
    with pytest.raises(xplain.ModelOutputError, match="probabilities in \\[0, 1\\]"):
        SmoothedModel(view, lam=1.0, q=2)(np.ones((1, 2), dtype=bool))


def test_a_model_without_probabilities_is_refused():
    explainer = xplain.Explainer(
        lambda rows: np.asarray(rows, dtype=float) @ np.ones(3),
        data=pd.DataFrame(np.eye(3), columns=["a", "b", "c"]),
    )
    explanation = explainer.explain({"a": 1.0, "b": 2.0, "c": 3.0}, "occlusion")
    with pytest.raises(MethodNotApplicableError, match="class probabilities"):
        certify(explainer, explanation, q=8)


# -- other adapters -------------------------------------------------------------------------
def _cnn(seed: int):
    import torch

    torch.manual_seed(seed)
    return torch.nn.Sequential(
        torch.nn.Conv2d(3, 2, 3, padding=1), torch.nn.ReLU(), torch.nn.Flatten(),
        torch.nn.Linear(2 * 16 * 16, 3),
    )


def test_image_explanations_are_certified_on_their_segments():
    explainer = xplain.Explainer(_cnn(0), modality="image")
    image = np.random.default_rng(0).random((16, 16, 3))
    explanation = explainer.explain(image, "saliency")
    found = certify(explainer, explanation, k=2, lam=0.25, q=8)
    view = _view(explainer, explanation)
    segments = view.from_features(explanation.values)  # a segment's value: its pixels' sum
    assert found.kept.shape == (view.n_features,) and found.kept.sum() == 2
    np.testing.assert_array_equal(
        np.flatnonzero(found.kept), np.sort(np.argsort(-segments, kind="stable")[:2])
    )
    pixels = view.to_features(found.kept.astype(float)) > 0  # the kept segments' pixels
    assert found.features == [f for f, on in zip(explanation.features, pixels, strict=True)
                              if on]
    np.testing.assert_allclose(found.smoothed.sum(), 1.0, atol=1e-9)
    other = xplain.Explainer(_cnn(1), modality="image")
    with pytest.raises(xplain.InvalidInputError, match="another model"):
        certify(other, explanation, q=8)


def test_text_explanations_leave_special_tokens_out(tiny_bert, minilm_tokenizer):
    explainer = xplain.Explainer(tiny_bert, tokenizer=minilm_tokenizer)
    explanation = explainer.explain("a gripping, funny film", "occlusion")
    found = certify(explainer, explanation, k=2, lam=0.5, q=4)
    assert len(found.features) == 2
    assert not {"[CLS]", "[SEP]"} & set(found.features)
    assert found.kept.size == len(explanation.features) - 2
