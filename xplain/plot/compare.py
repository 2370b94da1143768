"""A Comparison drawn: one bar panel per method in one feature order (:func:`comparison`),
and the methods' rank agreement as an annotated heat map (:func:`agreement`)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from xplain._optional import pyplot
from xplain._ranking import others_label, shared_importance, top_and_rest
from xplain._validation import positive_int
from xplain.errors import InvalidInputError, InvalidParameterError
from xplain.plot._common import axes as checked_axes
from xplain.plot._common import (
    bar_colours,
    colorbar,
    display_limit,
    feature_label,
    is_explanation,
    is_signed,
    literal,
    std_err,
    target_name,
)

if TYPE_CHECKING:
    from xplain.comparison import Comparison


def comparison(c: Comparison, axes: Any = None, max_display: int = 10) -> np.ndarray:
    """The methods' values side by side: one panel of horizontal bars per method.

    Every panel has the same rows in the same order: the features by their mean over
    the methods of ``|value| / max |value|`` (so that no method's scale decides the
    order), the ``max_display - 1`` first, then one "N other features" row holding each
    method's sum of the rest. Each panel has its own x scale (methods explain in
    different units), error bars where the method reports standard errors, and says
    when its method is unsigned (drawn in one colour from 0).

    Parameters:
        c: The comparison to draw (from ``Explainer.compare``).
        axes: One Axes per method, in the comparison's order; a new figure when None.
        max_display: Most rows drawn (>= 1), the "other features" row included.

    Returns:
        A 1-D numpy array of the Axes, one per method.
    """
    c = _comparison(c, "plot.comparison")
    limit = display_limit(max_display, "plot.comparison")
    explanations = list(c.explanations.values())
    first = explanations[0]
    values = np.stack([np.asarray(e.values, dtype=np.float64) for e in explanations])
    shown, rest = top_and_rest(shared_importance(values), limit)
    labels = [feature_label(first, int(i)) for i in shown]
    if rest.size:
        labels.append(others_label(rest.size))
    panels = _panels(axes, len(explanations), len(labels))
    y = np.arange(len(labels))
    for ax, (name, e), row in zip(panels, c.explanations.items(), values, strict=True):
        heights = np.append(row[shown], row[rest].sum()) if rest.size else row[shown]
        signed = is_signed(e)
        bars = ax.barh(y, heights, height=0.7, color=bar_colours(heights, signed))
        if rest.size:
            bars[-1].set_alpha(0.55)
        err = std_err(e)
        if err is not None:
            ax.errorbar(row[shown], y[: len(shown)], xerr=err[shown], fmt="none",
                        ecolor="black", elinewidth=1, capsize=3)
        ax.axvline(0.0, color="#555555", linewidth=0.8)
        ax.set_title(literal(name if signed else f"{name} (unsigned)"))
        ax.set_xlabel("attribution" if signed else "|attribution|")
        ax.set_yticks(y, labels)
        ax.tick_params(labelleft=ax is panels[0])  # the rows are named once, on the left
        ax.set_ylim(len(labels) - 0.5, -0.5)
        ax.margins(x=0.1)
    figure = panels[0].figure
    if axes is None:
        figure.suptitle(literal(f"{target_name(first)} ({first.prediction_text()})"))
    return panels


def agreement(c: Comparison, ax: Any = None, k: int = 5, measure: str = "spearman") -> Any:
    """An agreement measure of every pair of methods, as an annotated heat map.

    The numbers are ``c.agreement_matrix(measure, k=k)``, those of the HTML report: 1 on
    the diagonal, "n/a" where undefined (e.g. an all-zero explanation), on a diverging
    scale from -1 to 1. A rank correlation compares the values of two signed methods and
    the |values| of both for a pair with an unsigned method (e.g. saliency, marked
    "(unsigned)"): those cells are in italics and the title says so.

    Parameters:
        c: The comparison to draw.
        ax: The matplotlib Axes to draw on; a new figure when None.
        k: Size of the top-k sets for ``measure="top_k_jaccard"`` (>= 1).
        measure: ``"spearman"``, ``"kendall"`` or ``"top_k_jaccard"`` (see
            :meth:`xplain.Comparison.agreement_matrix`).

    Returns:
        The Axes drawn on.
    """
    c = _comparison(c, "plot.agreement")
    k = positive_int("k", k, "plot.agreement")
    frame = c.agreement_matrix(measure, k=k)
    matrix = frame.to_numpy(dtype=np.float64)
    magnitudes = frame.attrs["magnitudes"]
    names = c.methods
    m = len(names)
    ax = _new_axes(ax, m)
    from matplotlib import colormaps
    from matplotlib.colors import Normalize

    cmap, norm = colormaps["RdBu_r"], Normalize(-1.0, 1.0)
    ax.imshow(np.ma.masked_invalid(matrix), cmap=cmap, norm=norm)
    for r in range(m):
        for col in range(m):
            value = matrix[r, col]
            dark = np.isfinite(value) and abs(value) > 0.6
            ax.text(col, r, "n/a" if not np.isfinite(value) else f"{value:.2f}", ha="center",
                    va="center", color="white" if dark else "black",
                    fontstyle="italic" if magnitudes[r][col] else "normal")
    unsigned = [name for name, e in c.explanations.items() if not is_signed(e)]
    labels = [literal(f"{name}\n(unsigned)" if name in unsigned else name) for name in names]
    ticks = np.arange(m)
    ax.set_xticks(ticks, labels, rotation=30, ha="right", rotation_mode="anchor")
    ax.set_yticks(ticks, labels)
    label = {"spearman": "Spearman \u03c1", "kendall": "Kendall \u03c4"}.get(
        measure, f"top-{k} Jaccard")
    colorbar(ax, cmap, norm, label, fraction=0.046, pad=0.04)
    ax.set_title(_agreement_title(measure, k, any(map(any, magnitudes))), fontsize="medium")
    return ax


def _agreement_title(measure: str, k: int, magnitudes: bool) -> str:
    """What the matrix of :func:`agreement` holds, in words."""
    if measure == "top_k_jaccard":
        return f"Overlap (Jaccard) of the {k} features with the largest |value|"
    heading = f"{measure.capitalize()} rank correlation of the attributions"
    if magnitudes:
        heading += ("\nof the values for two signed methods; of the |values| of both\n"
                    "for a pair with an unsigned method (in italics)")
    return heading


def comparison_plot(c: Comparison, kind: str = "bars", **kwargs: Any) -> Any:
    """What ``Comparison.plot(kind, **kwargs)`` draws: ``"bars"`` is :func:`comparison`
    (returns an array of Axes), ``"agreement"`` is :func:`agreement` (returns the Axes).

    Parameters:
        c: The comparison to draw.
        kind: ``"bars"`` or ``"agreement"``.
        **kwargs: Passed on to that function (``axes``/``max_display``, or
            ``ax``/``k``/``measure``).
    """
    kinds = {"bars": comparison, "agreement": agreement}
    if kind not in kinds:
        raise InvalidParameterError(
            f"The 'kind' parameter of Comparison.plot must be one of {', '.join(kinds)}. "
            f"Got {kind!r}."
        )
    return kinds[kind](c, **kwargs)


def _comparison(c: Any, owner: str) -> Comparison:
    """``c`` when it holds explanations by method name (a Comparison), else an error."""
    explanations = getattr(c, "explanations", None)
    if (
        not isinstance(explanations, Mapping)
        or not explanations
        or not all(is_explanation(e) for e in explanations.values())
    ):
        raise InvalidInputError(
            f"{owner} draws an xplain.Comparison of at least one method (from "
            f"Explainer.compare). Got {type(c).__name__}."
        )
    # one row per feature and one class for every panel: a comparison built by hand (or
    # edited) of other instances or targets would draw one method's values beside another's
    # features, or under the first method's class
    (first_name, first), *others = explanations.items()
    for name, e in others:
        if list(e.features) != list(first.features) or e.target_label != first.target_label:
            what = "features" if list(e.features) != list(first.features) else "target"
            raise InvalidInputError(
                f"{owner} draws methods that explain the same features for the same target; "
                f"{name!r} explains {'other features' if what == 'features' else 'another target'} "
                f"than {first_name!r} ({_differ(first, e, what)}). "
                "Compare one instance and target with Explainer.compare."
            )
    return c


def _differ(a: Any, b: Any, what: str) -> str:
    """How two explanations' targets or features differ, in a few words."""
    if what == "target":
        return f"{a.target_label!r} vs {b.target_label!r}"
    return " vs ".join(
        f"{e.n_features} features ({', '.join(map(repr, e.features[:3]))}, ...)" for e in (a, b)
    )


def _panels(given: Any, m: int, rows: int) -> np.ndarray:
    """``given`` as a 1-D array of ``m`` Axes, or the Axes of a new 1 x ``m`` figure."""
    if given is None:
        figure_size = (1.5 + 3.2 * m, 1.4 + 0.4 * rows)
        return pyplot().subplots(1, m, sharey=True, figsize=figure_size, squeeze=False,
                                 layout="constrained")[1][0]
    panels = np.asarray(given, dtype=object).reshape(-1)
    if len(panels) != m:
        raise InvalidParameterError(
            f"The 'axes' parameter of plot.comparison must hold one Axes per method ({m}). "
            f"Got {len(panels)}."
        )
    return np.array([checked_axes(ax, "plot.comparison", (1, 1)) for ax in panels], dtype=object)


def _new_axes(ax: Any, m: int) -> Any:
    side = 3.0 + 0.9 * m
    return checked_axes(ax, "plot.agreement", (side + 2.0, side + 0.6))
