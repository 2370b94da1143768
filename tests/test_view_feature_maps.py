"""Metrics score an explanation through its view's feature map, on every adapter.

Issue 11's "Done when": an image explanation whose values are redistributed inside each
segment (same segment sums) gets identical deletion/insertion, comprehensiveness,
sufficiency and max-sensitivity; moving mass between segments changes them. The same for
text (values outside the map, [CLS]/[SEP], change nothing; moving mass between tokens
does) and tables (every column is a feature of the map).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.linear_model import LogisticRegression

import xplain
from xplain import metrics
from xplain.views import Groups, InterpretableView, Subset

SIZE = 12
IMAGE = np.random.default_rng(0).random((SIZE, SIZE, 3))


def _scores(explainer: xplain.Explainer, explanation: xplain.Explanation) -> np.ndarray:
    """The five removal and robustness scores of ``explanation``."""
    return np.array(
        [
            metrics.deletion_auc(explainer, explanation),
            metrics.insertion_auc(explainer, explanation),
            metrics.comprehensiveness(explainer, explanation),
            metrics.sufficiency(explainer, explanation),
            metrics.max_sensitivity(explainer, explanation, n_samples=4, seed=0),
        ]
    )


def _view(explainer: xplain.Explainer, instance, output: str) -> InterpretableView:
    return explainer.adapter.view(InterpretableView, explainer.adapter.encode(instance), output)


def _with(explanation: xplain.Explanation, values: np.ndarray) -> xplain.Explanation:
    return replace(explanation, values=np.asarray(values, dtype=np.float64))


@pytest.fixture(scope="module")
def image_case():
    torch.manual_seed(0)
    cnn = torch.nn.Sequential(
        torch.nn.Conv2d(3, 2, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.Flatten(),
        torch.nn.Linear(2 * SIZE * SIZE, 3),
    )
    explainer = xplain.Explainer(
        cnn, modality="image", segmentation="grid", segmentation_params={"rows": 3, "cols": 3}
    )
    return explainer, explainer.explain(IMAGE, "occlusion")


def test_image_metrics_see_segment_sums_only(image_case):
    explainer, explanation = image_case
    view = _view(explainer, IMAGE, explanation.output)
    assert isinstance(view.feature_map, Groups) and view.n_features == 9
    groups = view.feature_map.groups  # [H * W]
    sums = view.from_features(explanation.values)  # [9]
    assert np.ptp(sums) > 0  # segments differ, so their order matters
    # random weights inside each segment, normalised so that each segment keeps its sum
    weights = np.random.default_rng(1).random(groups.shape[0]) + 0.1
    spread = weights * (sums / np.bincount(groups, weights=weights))[groups]
    assert not np.allclose(spread, explanation.values)
    np.testing.assert_allclose(view.from_features(spread), sums, rtol=1e-12)
    original = _scores(explainer, explanation)
    np.testing.assert_allclose(_scores(explainer, _with(explanation, spread)), original)
    # the same pixel values with segment sums reordered: another ranking of segments
    top, bottom = np.argmax(sums), np.argmin(sums)
    moved = np.array(explanation.values)
    moved[groups == top], moved[groups == bottom] = 0.0, 0.0
    moved[np.flatnonzero(groups == top)[0]] = sums[bottom]
    moved[np.flatnonzero(groups == bottom)[0]] = sums[top]
    changed = _scores(explainer, _with(explanation, moved))
    assert np.sum(~np.isclose(changed, original)) >= 3, (changed, original)


def test_text_metrics_ignore_features_outside_the_map(small_text_explainer):
    explainer = small_text_explainer
    explanation = explainer.explain("a gripping and funny film", "occlusion")
    view = _view(explainer, explanation.instance, explanation.output)
    assert isinstance(view.feature_map, Subset)
    outside = np.setdiff1d(np.arange(explanation.n_features), view.feature_map.active)
    assert outside.size == 2  # [CLS] and [SEP]: never perturbed
    original = _scores(explainer, explanation)
    noisy = np.array(explanation.values)
    noisy[outside] = [5.0, -7.0]
    np.testing.assert_allclose(_scores(explainer, _with(explanation, noisy)), original)
    swapped = np.array(explanation.values)
    active = view.feature_map.active
    first, last = active[np.argmax(swapped[active])], active[np.argmin(swapped[active])]
    swapped[[first, last]] = swapped[[last, first]]
    changed = _scores(explainer, _with(explanation, swapped))
    assert np.sum(~np.isclose(changed, original)) >= 3, (changed, original)


def test_tabular_metrics_read_each_column_through_the_map():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(200, 4)), columns=["a", "b", "c", "d"])
    target = (frame @ np.array([3.0, -2.0, 1.0, 0.1]) > 0).astype(int)
    explainer = xplain.Explainer(LogisticRegression().fit(frame, target), data=frame)
    explanation = explainer.explain(frame.iloc[3], "kernel_shap")
    view = _view(explainer, frame.iloc[3], explanation.output)
    assert isinstance(view.feature_map, Subset) and view.feature_map.n_total == 4
    back = view.to_features(view.from_features(explanation.values))
    np.testing.assert_allclose(back, explanation.values)
    original = _scores(explainer, explanation)
    np.testing.assert_allclose(_scores(explainer, _with(explanation, back)), original)
    order = np.argsort(explanation.values)
    swapped = np.array(explanation.values)
    swapped[[order[0], order[-1]]] = swapped[[order[-1], order[0]]]
    changed = _scores(explainer, _with(explanation, swapped))
    assert np.sum(~np.isclose(changed, original)) >= 3, (changed, original)


def test_feature_maps_are_inverse_both_ways():
    groups = Groups(np.array([0, 0, 1, 2, 2, 2]), 3)
    values = np.array([2.0, -1.0, 3.0])
    np.testing.assert_allclose(groups.to_features(values), [1, 1, -1, 1, 1, 1])
    np.testing.assert_allclose(groups.from_features(groups.to_features(values)), values)
    subset = Subset(np.array([1, 2, 3]), 5)
    np.testing.assert_allclose(subset.to_features(values), [0, 2, -1, 3, 0])
    np.testing.assert_allclose(subset.from_features(subset.to_features(values)), values)
    # dropping a feature (a null player) keeps the others' maps; the dropped one gets 0
    restricted = groups.restrict(np.array([0, 2]))
    np.testing.assert_allclose(restricted.to_features([2.0, 3.0]), [1, 1, 0, 1, 1, 1])
    np.testing.assert_allclose(restricted.from_features(groups.to_features(values)), [2, 3])
    np.testing.assert_array_equal(subset.restrict(np.array([2])).active, [3])
