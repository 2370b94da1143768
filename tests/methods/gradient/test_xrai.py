"""XRAI: the greedy region ranking, its IG input, and localisation on a quadrant model."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import torch
from conftest_image import SIDE, QuadrantNet, image_view, make_cnn, quadrant_image, random_image

import xplain
from xplain.errors import InvalidParameterError
from xplain.methods.gradient.integrated_gradients import IntegratedGradients
from xplain.methods.gradient.xrai import Xrai

REGIONS = np.array(
    [
        [1, 1, 0, 0, 0, 0],  # A: density 5
        [0, 1, 1, 1, 0, 0],  # B: 7/3 alone, 1 once A is in
        [0, 0, 0, 1, 1, 1],  # C: -1/3 alone, -1 once B is in
    ],
    dtype=bool,
)
ATTR = np.array([5.0, 5.0, 1.0, 1.0, 0.0, -2.0])


def test_greedy_adds_the_densest_new_pixels_first():
    saliency, n_added = Xrai(min_pixel_diff=1)._greedy(ATTR, REGIONS)
    np.testing.assert_allclose(saliency, [5, 5, 1, 1, -1, -1])
    assert n_added == 3
    assert saliency.sum() == pytest.approx(ATTR.sum())  # each pixel once: the sum is kept


def naive_xrai(attr, regions, least):
    """The reference algorithm, recomputing every region's gain at every step."""
    saliency = np.full(attr.shape, -np.inf)
    covered = np.zeros(attr.shape, dtype=bool)
    remaining = list(range(len(regions)))
    while True:
        best, best_gain = None, -np.inf
        for k in list(remaining):
            new = regions[k] & ~covered
            if new.sum() < least:
                remaining.remove(k)
            elif attr[new].mean() > best_gain:
                best, best_gain = k, attr[new].mean()
        if best is None:
            break
        saliency[regions[best] & ~covered] = best_gain
        covered |= regions[best]
        remaining.remove(best)
    saliency[saliency == -np.inf] = attr[saliency == -np.inf].mean()
    return saliency


@pytest.mark.parametrize("least", [1, 4])
def test_incremental_gains_match_the_naive_algorithm(least):
    rng = np.random.default_rng(0)
    regions = rng.random((40, 100)) < 0.1
    regions[5] = regions[3]  # a region found at two scales
    attr = rng.normal(size=100)
    saliency, _ = Xrai(min_pixel_diff=least)._greedy(attr, regions)
    np.testing.assert_allclose(saliency, naive_xrai(attr, regions, least), rtol=1e-12)


def test_regions_adding_too_few_pixels_are_skipped():
    # A adds only 2 new pixels (< 3): B (7/3) first, then C adds {4, 5}: 2 < 3, skipped;
    # A and C leftovers are never added and share the mean of the rest
    saliency, n_added = Xrai(min_pixel_diff=3)._greedy(ATTR, REGIONS)
    rest = ATTR[[0, 4, 5]].mean()
    np.testing.assert_allclose(saliency, [rest, 7 / 3, 7 / 3, 7 / 3, rest, rest])
    assert n_added == 1


def test_area_threshold_stops_the_growth():
    saliency, n_added = Xrai(min_pixel_diff=1, area_threshold=0.3)._greedy(ATTR, REGIONS)
    # A covers 2/6 > 0.3: the rest gets its mean attribution
    np.testing.assert_allclose(saliency, [5, 5, 0, 0, 0, 0])
    assert n_added == 1


def test_attributions_are_integrated_gradients_from_black_and_white():
    model, image = make_cnn(), random_image()
    view = image_view(model, image)
    attr, gap = Xrai(n_steps=8)._integrated_gradients(view, view.inputs, 2)  # [1, H, W]
    ig = IntegratedGradients(n_steps=8)
    black, on_black = ig.attribute_points(replace(view, baseline=view.inputs * 0), view.inputs, 2)
    white, on_white = ig.attribute_points(
        replace(view, baseline=view.inputs * 0 + 1), view.inputs, 2
    )
    expected = ((black + white) / 2).max(dim=1).values  # channels merged by their maximum
    np.testing.assert_allclose(attr, expected.numpy(), rtol=1e-12)
    assert gap == max(on_black["completeness_gap"], on_white["completeness_gap"])


def test_top_quarter_lies_in_the_only_quadrant_the_model_sees():
    model, image = QuadrantNet(), quadrant_image()
    e = xplain.Explainer(model, modality="image").explain(image, "xrai", target=0)
    values = e.values.reshape(e.image_shape)
    quadrant = np.zeros((SIDE, SIDE), dtype=bool)
    quadrant[: SIDE // 2, SIDE // 2 :] = True
    top = np.argsort(-values.ravel(), kind="stable")[: SIDE * SIDE // 4]
    assert quadrant.ravel()[top].all()
    assert values[quadrant].min() > values[~quadrant].max()
    assert e.diagnostics["n_regions"] >= 1 and e.diagnostics["completeness_gap"] < 1e-6


def test_values_sum_to_the_merged_attribution_and_are_deterministic():
    model, image = make_cnn(), random_image(seed=4)
    view = image_view(model, image)
    method = Xrai(n_steps=8)
    first = method.attribute(view, 1)
    again = method.attribute(view, 1)
    torch.testing.assert_close(first.values, again.values)
    attr, _ = method._integrated_gradients(view, view.inputs, 1)
    assert float(first.values[0].sum()) == pytest.approx(float(attr.sum()), rel=1e-9)
    assert torch.all(first.values[1:] == 0)  # the map is in the first channel
    assert first.diagnostics["n_candidate_regions"] >= first.diagnostics["n_regions"] >= 1


def test_bad_parameters_are_rejected():
    with pytest.raises(InvalidParameterError, match="'scales' parameter of xrai"):
        Xrai(scales=[])
    with pytest.raises(InvalidParameterError, match="'area_threshold'"):
        Xrai(area_threshold=0.0)
    with pytest.raises(InvalidParameterError, match="'dilation'"):
        Xrai(dilation=-1)
