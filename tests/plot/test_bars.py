"""plot.bar and plot.waterfall: rows sorted by |value|, the rest summed, error bars = std_err,
base value and f(x) lines where the chain of bars starts and ends."""

from __future__ import annotations

import numpy as np
import pytest
from matplotlib.colors import to_hex
from plot_factories import make

import xplain
from xplain import plot
from xplain.plot._common import NEGATIVE, POSITIVE, UNSIGNED

VALUES = [0.1, -3.0, 2.0, 0.5, -0.2, 1.0]


def _widths(ax):
    return [p.get_width() for p in ax.patches]


def _ticks(ax):
    return [t.get_text() for t in ax.get_yticklabels()]


def test_bar_sorts_by_magnitude_and_sums_the_rest_in_one_row():
    ax = plot.bar(make(VALUES), max_display=4)
    assert _ticks(ax) == ["f1", "f2", "f5", "3 other features"]
    np.testing.assert_allclose(_widths(ax), [-3.0, 2.0, 1.0, 0.1 + 0.5 - 0.2])
    # the first row is on top: y grows downwards
    bottom, top = ax.get_ylim()
    assert bottom > top
    assert [p.get_y() for p in ax.patches] == sorted(p.get_y() for p in ax.patches)


def test_bar_shows_every_feature_when_they_fit_and_labels_shown_values():
    e = make([0.2, -0.5, 0.1], features=["age", "sex", "hours"], shown=[39, "Male", 40.5])
    ax = plot.bar(e, max_display=3)
    assert _ticks(ax) == ["sex = Male", "age = 39", "hours = 40.5"]
    assert len(ax.patches) == 3


def test_signed_bars_are_red_and_blue_unsigned_ones_one_colour():
    signed = plot.bar(make([1.0, -2.0, 0.5]))
    assert [to_hex(p.get_facecolor()) for p in signed.patches] == [NEGATIVE, POSITIVE, POSITIVE]
    unsigned = plot.bar(make([1.0, 2.0, 0.5], signed=False, method="saliency"))
    assert {to_hex(p.get_facecolor()) for p in unsigned.patches} == {UNSIGNED}
    assert "unsigned" in unsigned.get_xlabel()


def test_error_bars_are_one_standard_error_on_each_shown_feature():
    err = np.array([0.01, 0.3, 0.2, 0.05, 0.02, 0.1])
    e = make(VALUES, diagnostics={"std_err": err, "converged": False})
    ax = plot.bar(e, max_display=4)
    (container,) = ax.containers[1:]  # [0] holds the bars
    segments = container.lines[2][0].get_segments()
    shown = [1, 2, 5]
    assert len(segments) == len(shown)  # none on the "other features" row
    for (start, end), i in zip(segments, shown, strict=True):
        assert start[0] == pytest.approx(VALUES[i] - err[i])
        assert end[0] == pytest.approx(VALUES[i] + err[i])
    assert "not converged" in ax.get_title()


def test_waterfall_runs_from_the_base_value_to_f_of_x():
    base, delta = 0.3, float(np.sum(VALUES))
    e = make(VALUES, diagnostics={"base_value": base, "delta": delta})
    ax = plot.waterfall(e, max_display=4)
    bars = ax.patches
    assert _ticks(ax) == ["f1", "f2", "f5", "3 other features"]
    assert bars[-1].get_x() == pytest.approx(base)  # the bottom row starts at the base
    for upper, lower in zip(bars[:-1], bars[1:], strict=True):
        assert upper.get_x() == pytest.approx(lower.get_x() + lower.get_width())
    assert bars[0].get_x() + bars[0].get_width() == pytest.approx(base + delta)
    lines = {line.get_label(): line.get_xdata()[0] for line in ax.lines}
    assert lines[f"base value = {base:.4g}"] == pytest.approx(base)
    assert lines[f"f(x) = {base + delta:.4g}"] == pytest.approx(base + delta)


def test_waterfall_says_when_the_values_do_not_add_up_to_f_of_x():
    e = make([1.0, 2.0], diagnostics={"base_value": 0.0, "delta": 4.0})
    ax = plot.waterfall(e)
    labels = [line.get_label() for line in ax.lines]
    assert "f(x) = 4 (values sum to 3)" in labels
    assert [line.get_xdata()[0] for line in ax.lines if line.get_label().startswith("f(x)")] == [4]


def test_waterfall_without_a_base_value_is_the_bar_chart():
    ax = plot.waterfall(make(VALUES), max_display=4)
    assert _ticks(ax) == ["f1", "f2", "f5", "3 other features"]
    assert [p.get_x() for p in ax.patches] == [0.0] * 4
    assert not any(line.get_label().startswith("f(x)") for line in ax.lines)


def test_draws_on_the_axes_given():
    import matplotlib.pyplot as plt

    _, given = plt.subplots()
    assert plot.bar(make(VALUES), ax=given) is given
    assert plot.waterfall(make(VALUES, diagnostics={"base_value": 0.0}), ax=given) is given


@pytest.mark.parametrize("bad", [0, -1, 2.5, True, "3"])
def test_max_display_must_be_a_positive_int(bad):
    with pytest.raises(xplain.InvalidParameterError, match="'max_display' parameter of plot.bar"):
        plot.bar(make(VALUES), max_display=bad)


def test_bad_explanation_and_axes_are_refused():
    with pytest.raises(xplain.InvalidInputError, match="Got list"):
        plot.bar([1.0, 2.0])
    with pytest.raises(xplain.InvalidParameterError, match="'ax' parameter of plot.waterfall"):
        plot.waterfall(make(VALUES, diagnostics={"base_value": 0.0}), ax="left")
