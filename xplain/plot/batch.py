"""Many explanations of the same features: :func:`beeswarm` (every row's values),
:func:`importance` (mean |value| per feature) and :func:`dependence` (one feature's value
against its attribution)."""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np

from xplain._ranking import others_label, top_and_rest
from xplain.errors import InvalidInputError
from xplain.plot._batch import Batch, aligned, numeric
from xplain.plot._common import (
    FEATURE_VALUE,
    MISSING,
    UNSIGNED,
    UNSIGNED_LABEL,
    axes,
    colorbar,
    display_limit,
    fmt,
    is_signed,
    literal,
    target_name,
)

HALF_ROW = 0.4  # a beeswarm row's points spread at most this far up and down
BINS = 60  # x bins within which beeswarm points are stacked


def beeswarm(es: Any, ax: Any = None, max_display: int = 10) -> Any:
    """One row per feature, one point per explanation at x = its value of that feature.

    Rows are sorted by mean |value| over the batch (largest on top); past
    ``max_display - 1`` features the rest are summed per explanation in one "N other
    features" row. A point's colour is the instance's value of the feature, low to high
    between its 5th and 95th percentiles (grey where it is missing or not a number, and
    in the "other features" row). Points that would overlap are stacked up and down.

    Parameters:
        es: Explanations of the same features (e.g. ``Explainer.explain_batch`` of tabular
            rows).
        ax: The matplotlib Axes to draw on; a new figure when None.
        max_display: Most rows drawn (>= 1), the "other features" row included.

    Returns:
        The Axes drawn on.
    """
    batch = aligned(es, "plot.beeswarm")
    limit = display_limit(max_display, "plot.beeswarm")
    shown, rest = top_and_rest(np.abs(batch.values).mean(axis=0), limit)
    labels = [literal(batch.features[j]) for j in shown]
    columns = [batch.values[:, j] for j in shown]
    colours = [_value_colours(batch.data[:, j]) for j in shown]
    if rest.size:
        labels.append(others_label(rest.size))
        columns.append(batch.values[:, rest].sum(axis=1))
        colours.append(np.tile(_rgba(MISSING), (len(batch.rows), 1)))
    ax = axes(ax, "plot.beeswarm", (8.0, 1.4 + 0.45 * len(labels)))
    for row, (x, colour) in enumerate(zip(columns, colours, strict=True)):
        ax.scatter(x, row + swarm_offsets(x), c=colour, s=14, linewidths=0)
    ax.axvline(0.0, color="#555555", linewidth=0.8)
    ax.set_yticks(np.arange(len(labels)), labels)
    ax.set_ylim(len(labels) - 0.5, -0.5)
    ax.set_xlabel(_value_label(batch))
    ax.set_title(_title(batch))
    if any(np.isfinite(numeric(batch.data[:, j])).any() for j in shown):
        from matplotlib import colormaps
        from matplotlib.colors import Normalize

        bar = colorbar(ax, colormaps[FEATURE_VALUE], Normalize(0.0, 1.0), "feature value",
                       fraction=0.04, pad=0.02, aspect=30)
        bar.set_ticks([0.0, 1.0], labels=["low", "high"])
    return ax


def importance(es: Any, ax: Any = None, max_display: int = 10) -> Any:
    """Global importance: each feature's mean |value| over the batch, as sorted bars.

    Past ``max_display - 1`` features the rest are one "N other features" bar whose value
    is the sum of their mean |values|. Each feature's bar has an error bar of +- the
    standard error of its mean over the rows (when there are 2 or more), so that a
    ranking decided by a few rows shows.

    Parameters:
        es: Explanations of the same features.
        ax: The matplotlib Axes to draw on; a new figure when None.
        max_display: Most rows drawn (>= 1), the "other features" row included.

    Returns:
        The Axes drawn on.
    """
    batch = aligned(es, "plot.importance")
    limit = display_limit(max_display, "plot.importance")
    magnitude = np.abs(batch.values)
    mean = magnitude.mean(axis=0)
    shown, rest = top_and_rest(mean, limit)
    labels = [literal(batch.features[j]) for j in shown]
    heights = mean[shown]
    if rest.size:
        labels.append(others_label(rest.size))
        heights = np.append(heights, mean[rest].sum())
    ax = axes(ax, "plot.importance", (7.0, 1.2 + 0.4 * len(labels)))
    y = np.arange(len(labels))
    bars = ax.barh(y, heights, height=0.7, color=UNSIGNED)
    if rest.size:
        bars[-1].set_alpha(0.55)
    n = len(batch.rows)
    ends = heights.copy()
    if n >= 2:
        err = magnitude[:, shown].std(axis=0, ddof=1) / np.sqrt(n)
        ax.errorbar(heights[: len(shown)], y[: len(shown)], xerr=err, fmt="none",
                    ecolor="black", elinewidth=1, capsize=3)
        ends[: len(shown)] += err
    for end, value, row in zip(ends, heights, y, strict=True):
        ax.annotate(fmt(float(value)).lstrip("+"), (float(end), float(row)), xytext=(4, 0),
                    textcoords="offset points", va="center", fontsize="small")
    ax.set_yticks(y, labels)
    ax.set_ylim(len(labels) - 0.5, -0.5)
    ax.set_xlim(left=0.0)
    ax.margins(x=0.12)
    ax.set_xlabel(f"mean |attribution| over {n} explanation{'s' if n != 1 else ''}")
    ax.set_title(_title(batch))
    return ax


def dependence(es: Any, feature: str, ax: Any = None, color_by: str | None = None) -> Any:
    """A feature's value (x) against its attribution (y), one point per explanation.

    x is the instance's shown value of ``feature`` (``es.data``); a feature whose values
    are not numbers (a category) gets one x position per distinct value, labelled. Rows
    without a value are left out, and the x label says how many. ``color_by`` colours the
    points by another feature's value (low to high; grey where missing), e.g. to see an
    interaction.

    Parameters:
        es: Explanations of the same features, whose display shows the instances' values
            (tabular rows).
        feature: The feature to draw.
        ax: The matplotlib Axes to draw on; a new figure when None.
        color_by: Another feature whose value colours the points.

    Returns:
        The Axes drawn on.
    """
    batch = aligned(es, "plot.dependence")
    j = batch.column(feature, "feature", "plot.dependence")
    k = None if color_by is None else batch.column(color_by, "color_by", "plot.dependence")
    raw = batch.data[:, j]
    present = np.array([v is not None and not _is_nan(v) for v in raw])
    if not present.any():
        raise InvalidInputError(
            f"plot.dependence needs the instances' values of {feature!r}, and none of the "
            f"{len(raw)} explanations shows one (display.shown). Explain tabular rows, whose "
            "display holds each row's values."
        )
    x_numbers = numeric(raw)
    categorical = not np.isfinite(x_numbers[present]).all()
    ax = axes(ax, "plot.dependence", (6.5, 4.5))
    if categorical:
        categories = sorted({str(v) for v in raw[present]})
        x = np.array([categories.index(str(v)) for v in raw[present]], dtype=np.float64)
        ax.set_xticks(np.arange(len(categories)), [literal(c) for c in categories])
    else:
        x = x_numbers[present]
    y = batch.values[present, j]
    colour: Any = "#3b3b3b"
    if k is not None:
        colour = _value_colours(batch.data[present, k])
    ax.scatter(x, y, c=colour, s=16, linewidths=0)
    ax.axhline(0.0, color="#555555", linewidth=0.8)
    missing = int((~present).sum())
    note = f" ({missing} row{'s' if missing != 1 else ''} without a value left out)"
    ax.set_xlabel(literal(feature + (note if missing else "")))
    ax.set_ylabel(literal(f"attribution of {feature}"))
    ax.set_title(_title(batch))
    if k is not None and np.isfinite(numeric(batch.data[present, k])).any():
        from matplotlib import colormaps
        from matplotlib.colors import Normalize

        bar = colorbar(ax, colormaps[FEATURE_VALUE], Normalize(0.0, 1.0), literal(color_by),
                       fraction=0.05, pad=0.02)
        bar.set_ticks([0.0, 1.0], labels=["low", "high"])
    return ax


def swarm_offsets(x: np.ndarray) -> np.ndarray:
    """Vertical offsets that stack points of close x (the same of ``BINS`` bins over the
    range of ``x``) at 0, +1, -1, +2, ... steps, the largest stack within +-HALF_ROW."""
    x = np.asarray(x, dtype=np.float64)
    if x.size == 0:
        return np.zeros(0)
    span = float(np.ptp(x)) or 1.0
    bins = np.minimum(((x - x.min()) / span * BINS).astype(int), BINS - 1)
    order = np.lexsort((x, bins))
    sorted_bins = bins[order]
    first = np.searchsorted(sorted_bins, sorted_bins, side="left")
    rank = np.arange(x.size) - first  # position within its bin
    slot = np.empty(x.size)
    slot[order] = (rank + 1) // 2 * np.where(rank % 2 == 1, 1.0, -1.0)
    step = HALF_ROW / max(float(np.abs(slot).max()), 1.0)
    return slot * step


def _value_colours(column: np.ndarray) -> np.ndarray:
    """RGBA per value: low to high between the 5th and 95th percentiles of the numbers in
    ``column`` (FEATURE_VALUE colour map); grey where a value is missing or not a number."""
    from matplotlib import colormaps

    values = numeric(column)
    colours = np.tile(_rgba(MISSING), (len(values), 1))
    finite = np.isfinite(values)
    if finite.any():
        low, high = np.percentile(values[finite], [5, 95])
        if high <= low:
            low, high = float(values[finite].min()), float(values[finite].max())
        t = np.clip((values[finite] - low) / (high - low), 0, 1) if high > low else 0.5
        colours[finite] = colormaps[FEATURE_VALUE](t)
    return colours


def _rgba(colour: str) -> np.ndarray:
    from matplotlib.colors import to_rgba

    return np.asarray(to_rgba(colour))


def _is_nan(value: Any) -> bool:
    return isinstance(value, float) and value != value


def _value_label(batch: Batch) -> str:
    # the points' colour is the feature's value, not the sign: say the sign in words
    signed = all(is_signed(e) for e in batch.rows)
    return "attribution (< 0 lowers, > 0 raises the score)" if signed else UNSIGNED_LABEL


def _title(batch: Batch) -> str:
    """The methods, the explained class and the number of rows; a second line where the
    rows explain different classes (explain_batch's default explains each row's predicted
    class), whose values do not share a direction: "raises" means another class per row."""
    methods = sorted({e.method for e in batch.rows})
    n = len(batch.rows)
    head = f"{', '.join(methods)} \u00b7 {n} explanation{'s' if n != 1 else ''}"
    targets = Counter(target_name(e) for e in batch.rows)
    if len(targets) == 1:
        return literal(f"{head} of {next(iter(targets))}")
    counts = ", ".join(f"{name} ({k})" for name, k in sorted(targets.items()))
    return literal(f"{head}, mixed: {counts}\neach row explains its own target; pass "
                   "target= to explain_batch for one")
