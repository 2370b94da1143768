"""Localisation metrics against hand-computed values on a 6x6 map, Quantus's formulas and
the papers' definitions, with their errors.

References (the formulas the tests restate):
* pointing game, Zhang et al. 2018 (IJCV), and Quantus 0.6 ``PointingGame.evaluate_batch``:
  ``hit = any(s & (a == a.max()))``;
* relevance mass accuracy, Arras et al. 2022 (CLEVR-XAI): ``sum_{GT} R+ / sum R+``;
  Quantus ``RelevanceMassAccuracy``: ``sum(a * s) / sum(a)`` (equal on non-negative maps);
* relevance rank accuracy, Arras et al. 2022; Quantus ``RelevanceRankAccuracy``:
  ``sum(s[argsort(-a)][:K]) / K``, ``K = sum(s)``.
(Quantus 0.6.0 was installed in a scratch environment and agreed with these functions on
random tie-free maps; it is not a dependency.)
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import xplain
from xplain import metrics
from xplain.display import FeatureDisplay
from xplain.errors import InvalidParameterError, MethodNotApplicableError, XplainError
from xplain.explanation import Explanation
from xplain.metrics.localisation import ground_truth_mask, heat_map

BOX = (1, 2, 4, 5)  # x0, y0, x1, y1: rows 2..4, columns 1..3, 9 pixels


def grid(values: np.ndarray, method: str = "hand") -> Explanation:
    """A hand-built pixel explanation of the map ``values`` ``[H, W]``."""
    height, width = values.shape
    return Explanation(
        features=[f"({r}, {c})" for r in range(height) for c in range(width)],
        values=np.asarray(values, dtype=np.float64).reshape(-1),
        target=0,
        target_label="a",
        prediction=np.array([1.0]),
        labels=["a"],
        method=method,
        params={},
        diagnostics={},
        n_model_evals=0,
        seconds=0.0,
        modality="image",
        output="logits",
        display=FeatureDisplay("grid", shape=(height, width)),
    )


def known_map() -> np.ndarray:
    """6x6, tie-free: positives 5 (3,2), 4 (0,0), 3 (2,1), 2 (5,5), 1 (4,3); -3 at (1,1),
    -1 at (3,3); every other pixel -(6 r + c) / 100."""
    heat = -np.arange(36, dtype=np.float64).reshape(6, 6) / 100
    for (r, c), v in {(3, 2): 5, (0, 0): 4, (2, 1): 3, (5, 5): 2, (4, 3): 1, (1, 1): -3,
                      (3, 3): -1}.items():
        heat[r, c] = v
    return heat


def test_box_is_end_exclusive_columns_then_rows():
    truth = ground_truth_mask((6, 6), box=BOX)
    expected = np.zeros((6, 6), dtype=bool)
    expected[2:5, 1:4] = True
    np.testing.assert_array_equal(truth, expected)
    assert truth.sum() == 9


def test_hand_computed_values_on_a_6x6_map():
    e = grid(known_map())
    # inside the box: 5 (3,2), 3 (2,1), 1 (4,3); positive total 15
    assert metrics.relevance_mass_accuracy(None, e, box=BOX) == pytest.approx(9 / 15)
    # top-9: the five positives, then the least negative (0,1), (0,2), (0,3), (0,4):
    # three of them inside
    assert metrics.relevance_rank_accuracy(None, e, box=BOX) == pytest.approx(3 / 9)
    assert metrics.pointing_game(None, e, box=BOX) == 1.0  # the maximum 5 at (3,2)
    # IoU: default region = top-K (K = 9): 3 / (9 + 9 - 3)
    assert metrics.localisation_iou(None, e, box=BOX) == pytest.approx(3 / 15)
    # top 5/36 of the area: the five positives, 3 inside, union 5 + 9 - 3
    assert metrics.localisation_iou(None, e, box=BOX, area=5 / 36) == pytest.approx(3 / 11)
    # quantile 1: the maximum alone; quantile 0: every pixel
    assert metrics.localisation_iou(None, e, box=BOX, quantile=1.0) == pytest.approx(1 / 9)
    assert metrics.localisation_iou(None, e, box=BOX, quantile=0.0) == pytest.approx(9 / 36)
    # the same ground truth as a mask (bool or 0/1) gives the same values
    mask = ground_truth_mask((6, 6), box=BOX)
    for given_mask in (mask, mask.astype(int)):
        assert metrics.relevance_rank_accuracy(None, e, mask=given_mask) == pytest.approx(1 / 3)


def test_quantile_threshold_keeps_values_at_or_above_it():
    heat = known_map()
    q = float(np.quantile(heat, 0.8))
    region = heat >= q
    truth = ground_truth_mask((6, 6), box=BOX)
    expected = (region & truth).sum() / (region | truth).sum()
    got = metrics.localisation_iou(None, grid(heat), box=BOX, quantile=0.8)
    assert got == pytest.approx(expected)


def test_pointing_game_tolerance_is_euclidean_distance_in_pixels():
    heat = known_map()
    heat[0, 0] = 10  # the maximum now at (0, 0), off the box; nearest box pixel (2, 1)
    e = grid(heat)
    assert metrics.pointing_game(None, e, box=BOX) == 0.0
    assert metrics.pointing_game(None, e, box=BOX, tolerance=2.0) == 0.0  # sqrt(5) > 2
    assert metrics.pointing_game(None, e, box=BOX, tolerance=math.sqrt(5)) == 1.0
    # a constant map points nowhere: a miss (Quantus would count it a hit)
    assert metrics.pointing_game(None, grid(np.ones((6, 6))), box=BOX) == 0.0
    assert metrics.pointing_game(None, grid(np.ones((6, 6))), box=(0, 0, 6, 6)) == 1.0


def test_mass_accuracy_without_positive_relevance_is_nan_with_a_warning():
    with pytest.warns(xplain.errors.UndefinedMeasureWarning, match="no pixel has positive"):
        value = metrics.relevance_mass_accuracy(None, grid(-np.ones((6, 6))), box=BOX)
    assert math.isnan(value)


# -- Quantus's formulas (their evaluate_batch, restated) on random maps ---------------------
def quantus_pointing(a: np.ndarray, s: np.ndarray) -> float:
    return float(np.any(s & (a == a.max())))


def quantus_mass(a: np.ndarray, s: np.ndarray) -> float:
    return float((a * s).sum() / a.sum())


def quantus_rank(a: np.ndarray, s: np.ndarray) -> float:
    k = int(s.sum())
    return float(s.reshape(-1)[np.argsort(-a.reshape(-1))][:k].sum() / k)


def _span(n: int) -> st.SearchStrategy[tuple[int, int]]:
    """``(start, stop)`` with ``0 <= start < stop <= n``."""
    return st.integers(0, n - 1).flatmap(lambda a: st.tuples(st.just(a), st.integers(a + 1, n)))


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), xs=_span(7), ys=_span(6))
def test_matches_quantus_formulas_on_non_negative_tie_free_maps(seed, xs, ys):
    box = (xs[0], ys[0], xs[1], ys[1])
    rng = np.random.default_rng(seed)
    a = rng.permutation(42).reshape(6, 7).astype(np.float64) + rng.random((6, 7)) * 0.5
    s = ground_truth_mask((6, 7), box=box)
    e = grid(a)
    assert metrics.pointing_game(None, e, box=box) == quantus_pointing(a, s)
    assert metrics.relevance_mass_accuracy(None, e, box=box) == pytest.approx(quantus_mass(a, s))
    assert metrics.relevance_rank_accuracy(None, e, box=box) == pytest.approx(quantus_rank(a, s))


# -- errors ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "box, match",
    [
        ((0, 0, 7, 3), r"x1 <= 6 .*Got \(0, 0, 7, 3\)"),  # out of bounds
        ((-1, 0, 2, 2), r"0 <= x0"),
        ((3, 1, 3, 4), r"x0 < x1"),  # empty: end-exclusive
        ((0, 4, 2, 2), r"y0 < y1"),
        ((0.5, 0, 2, 2), r"four integers"),
        ((0, 0, 2), r"four integers"),
        ("0 0 2 2", r"four integers"),
    ],
)
def test_bad_boxes_are_refused(box, match):
    with pytest.raises(InvalidParameterError, match=match):
        metrics.pointing_game(None, grid(known_map()), box=box)


def test_bad_masks_and_missing_ground_truth_are_refused():
    e = grid(known_map())
    with pytest.raises(InvalidParameterError, match=r"shape \[6, 6\].*Got shape \[5, 6\]"):
        metrics.relevance_mass_accuracy(None, e, mask=np.ones((5, 6), dtype=bool))
    with pytest.raises(InvalidParameterError, match="no pixel of the object"):
        metrics.relevance_rank_accuracy(None, e, mask=np.zeros((6, 6), dtype=bool))
    with pytest.raises(InvalidParameterError, match="boolean"):
        metrics.localisation_iou(None, e, mask=np.full((6, 6), 0.3))
    with pytest.raises(InvalidParameterError, match="got neither.*params="):
        metrics.pointing_game(None, e)
    with pytest.raises(InvalidParameterError, match="got both"):
        metrics.pointing_game(None, e, box=BOX, mask=np.ones((6, 6), dtype=bool))
    with pytest.raises(InvalidParameterError, match="not both"):
        metrics.localisation_iou(None, e, box=BOX, area=0.1, quantile=0.9)
    with pytest.raises(InvalidParameterError, match="'area' parameter"):
        metrics.localisation_iou(None, e, box=BOX, area=0.0)
    with pytest.raises(InvalidParameterError, match="'tolerance' parameter"):
        metrics.pointing_game(None, e, box=BOX, tolerance=-1)


def test_a_non_image_explanation_is_not_applicable():
    e = grid(known_map())
    bars = Explanation(**{**{f: getattr(e, f) for f in (
        "features", "values", "target", "target_label", "prediction", "labels", "method",
        "params", "diagnostics", "n_model_evals", "seconds", "output")},
        "modality": "tabular"})
    with pytest.raises(MethodNotApplicableError, match="not a pixel grid"):
        metrics.pointing_game(None, bars, box=BOX)
    assert issubclass(MethodNotApplicableError, XplainError)


# -- with a model: segments, Comparison.evaluate ---------------------------------------------
@pytest.fixture(scope="module")
def image_explainer():
    torch.manual_seed(0)
    cnn = torch.nn.Sequential(
        torch.nn.Conv2d(3, 2, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.Flatten(),
        torch.nn.Linear(2 * 6 * 6, 3),
    )
    explainer = xplain.Explainer(
        cnn, modality="image", segmentation="grid", segmentation_params={"rows": 2, "cols": 2}
    )
    image = np.random.default_rng(0).random((6, 6, 3))
    return explainer, image


def test_segment_explanation_is_mapped_to_pixels_by_the_view(image_explainer):
    explainer, image = image_explainer
    pixel = explainer.explain(image, "saliency")
    encoded = explainer.adapter.encode(image)
    segments = explainer.adapter.segments(image).reshape(6, 6)
    assert len(np.unique(segments)) == 4
    values = np.array([1.0, 8.0, 2.0, 3.0])  # segment 1 carries the most
    e = Explanation(**{**{f: getattr(pixel, f) for f in (
        "target", "target_label", "prediction", "labels", "params", "diagnostics",
        "n_model_evals", "seconds", "modality", "output")},
        "features": [f"segment {i}" for i in range(4)], "values": values,
        "method": "segments", "instance": encoded.instance})
    heat = heat_map(explainer, e)
    areas = np.bincount(segments.reshape(-1))
    np.testing.assert_allclose(heat, (values / areas)[segments])  # value / area per pixel
    rows, cols = np.nonzero(segments == 1)
    box = (int(cols.min()), int(rows.min()), int(cols.max()) + 1, int(rows.max()) + 1)
    assert metrics.pointing_game(explainer, e, box=box) == 1.0
    assert metrics.relevance_mass_accuracy(explainer, e, box=box) == pytest.approx(8 / 14)
    with pytest.raises(MethodNotApplicableError, match="explainer that made it"):
        metrics.pointing_game(None, e, box=box)


def test_comparison_evaluate_takes_the_box_as_a_metric_parameter(image_explainer):
    explainer, image = image_explainer
    c = explainer.compare(image, methods=["saliency", "occlusion"])
    names = ["pointing_game", "localisation_iou", "relevance_mass_accuracy",
             "relevance_rank_accuracy"]
    frame = c.evaluate(names, params={name: {"box": BOX} for name in names})
    for method, e in c.explanations.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            expected = [metrics.METRICS[n].function(explainer, e, box=BOX) for n in names]
        np.testing.assert_allclose(frame.loc[method, names].to_numpy(float), expected)
    assert frame.attrs["higher_is_better"]["pointing_game"] is True
    with pytest.raises(InvalidParameterError, match="box=.*params="):
        c.evaluate(["pointing_game"])
