"""plot.beeswarm, plot.importance and plot.dependence over a batch of aligned explanations."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib import colormaps
from matplotlib.colors import to_rgba
from plot_factories import make

import xplain
from xplain import plot
from xplain.plot._common import FEATURE_VALUE, MISSING
from xplain.plot.batch import HALF_ROW, swarm_offsets

FEATURES = ["age", "hours", "sex", "gain"]
RNG = np.random.default_rng(0)
N = 30
VALUES = RNG.normal(size=(N, 4)) * np.array([1.0, 3.0, 0.5, 0.1])
AGES = RNG.integers(18, 80, size=N)
SEXES = RNG.choice(["Male", "Female"], size=N)


def _batch(values=VALUES):
    return [
        make(row, features=FEATURES, shown=[int(AGES[i]), 40.0 + i, str(SEXES[i]), None])
        for i, row in enumerate(values)
    ]


def test_beeswarm_has_one_point_per_row_and_shown_feature_sorted_by_mean_magnitude():
    ax = plot.beeswarm(_batch(), max_display=3)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["hours", "age", "2 other features"]
    rows = ax.collections
    assert sum(len(c.get_offsets()) for c in rows) == N * 3
    np.testing.assert_allclose(rows[0].get_offsets()[:, 0], VALUES[:, 1])
    np.testing.assert_allclose(rows[1].get_offsets()[:, 0], VALUES[:, 0])
    np.testing.assert_allclose(rows[2].get_offsets()[:, 0], VALUES[:, 2] + VALUES[:, 3])
    for row, points in enumerate(rows):
        assert np.all(np.abs(points.get_offsets()[:, 1] - row) <= HALF_ROW + 1e-12)
    # the points are coloured by feature value, so the axis says the sign in words
    assert "blue" not in ax.get_xlabel() and "> 0 raises" in ax.get_xlabel()


def test_beeswarm_colours_numbers_low_to_high_and_the_rest_grey():
    ax = plot.beeswarm(_batch(), max_display=5)
    by_label = dict(zip([t.get_text() for t in ax.get_yticklabels()], ax.collections,
                        strict=True))
    ages = by_label["age"].get_facecolors()
    oldest, youngest = int(np.argmax(AGES)), int(np.argmin(AGES))
    assert ages[oldest] == pytest.approx(colormaps[FEATURE_VALUE](1.0))
    assert ages[youngest] == pytest.approx(colormaps[FEATURE_VALUE](0.0))
    for category in ("sex", "gain"):  # strings and missing values
        assert np.allclose(by_label[category].get_facecolors(), to_rgba(MISSING))


def test_swarm_offsets_separate_equal_values():
    offsets = swarm_offsets(np.array([1.0, 1.0, 1.0, 1.0, 5.0]))
    assert len(set(offsets[:4].round(9))) == 4
    assert offsets[4] == 0.0 and np.abs(offsets).max() <= HALF_ROW


def test_importance_is_the_mean_magnitude_with_its_standard_error():
    ax = plot.importance(_batch(), max_display=3)
    mean = np.abs(VALUES).mean(0)
    assert [t.get_text() for t in ax.get_yticklabels()] == ["hours", "age", "2 other features"]
    np.testing.assert_allclose([p.get_width() for p in ax.patches],
                               [mean[1], mean[0], mean[2] + mean[3]])
    (errors,) = ax.containers[1:]
    half = [(end[0] - start[0]) / 2 for start, end in errors.lines[2][0].get_segments()]
    expected = np.abs(VALUES[:, [1, 0]]).std(0, ddof=1) / np.sqrt(N)
    np.testing.assert_allclose(half, expected)


def test_dependence_plots_the_feature_value_against_its_attribution():
    ax = plot.dependence(_batch(), "age")
    (points,) = ax.collections
    np.testing.assert_allclose(points.get_offsets()[:, 0], AGES)
    np.testing.assert_allclose(points.get_offsets()[:, 1], VALUES[:, 0])
    assert ax.get_ylabel() == "attribution of age"


def test_dependence_of_a_category_and_coloured_by_another_feature():
    ax = plot.dependence(_batch(), "sex", color_by="age")
    (points,) = ax.collections
    categories = sorted(set(SEXES))
    assert [t.get_text() for t in ax.get_xticklabels()] == categories
    np.testing.assert_array_equal(points.get_offsets()[:, 0],
                                  [categories.index(s) for s in SEXES])
    oldest = int(np.argmax(AGES))
    assert points.get_facecolors()[oldest] == pytest.approx(colormaps[FEATURE_VALUE](1.0))


def test_dependence_refuses_unknown_features_and_features_without_values():
    with pytest.raises(xplain.InvalidParameterError, match="Did you mean 'age'"):
        plot.dependence(_batch(), "agee")
    with pytest.raises(xplain.InvalidParameterError, match="'color_by' parameter"):
        plot.dependence(_batch(), "age", color_by="income")
    with pytest.raises(xplain.InvalidInputError, match="none of the 30"):
        plot.dependence(_batch(), "gain")


def test_texts_of_different_tokens_do_not_align():
    texts = [make([0.1, 0.2], features=["good", "film"], kind="tokens"),
             make([0.1, 0.2, 0.3], features=["not", "good", "film"], kind="tokens")]
    for draw in (plot.beeswarm, plot.importance):
        with pytest.raises(xplain.InvalidInputError, match="row 1 has 3 features"):
            draw(texts)
    with pytest.raises(xplain.InvalidInputError, match="row 1 has 3 features"):
        plot.dependence(texts, "good")


def test_a_batch_must_hold_explanations():
    with pytest.raises(xplain.InvalidInputError, match="a batch of explanations"):
        plot.beeswarm(make([1.0]))
    with pytest.raises(xplain.InvalidInputError, match="at least one"):
        plot.importance([])
    with pytest.raises(xplain.InvalidParameterError, match="max_display"):
        plot.beeswarm(_batch(), max_display=0)
