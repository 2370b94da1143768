"""What every plot shares: axes, argument checks, the feature order, labels and colour scales.

Signed attributions (raise or lower the score) are drawn on a diverging scale centred on 0,
blue to red as in the HTML reports; unsigned ones (magnitudes only, e.g. saliency) on a
sequential scale from 0, so that no colour suggests a direction the method cannot give.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from xplain._optional import pyplot
from xplain._validation import positive_int
from xplain.errors import InvalidInputError, InvalidParameterError
from xplain.report._charts import show_value

if TYPE_CHECKING:
    from xplain.explanation import Explanation

POSITIVE = "#b2182b"  # the reports' red (raises the score)
NEGATIVE = "#2166ac"  # the reports' blue (lowers it)
UNSIGNED = "#6a51a3"  # a purple of SEQUENTIAL: magnitudes, no direction
DIVERGING = "RdBu_r"  # signed values, centred on 0
SEQUENTIAL = "Purples"  # unsigned values, from 0
FEATURE_VALUE = "viridis"  # a feature's own value (beeswarm, dependence): not an attribution
MISSING = "#8c959f"  # points whose feature value is missing or not a number
SIGNED_LABEL = "attribution (blue lowers, red raises the score)"
UNSIGNED_LABEL = "|attribution| (unsigned: magnitude only)"


def axes(ax: Any, owner: str, size: tuple[float, float], layout: str | None = "constrained") -> Any:
    """``ax``, or the Axes of a new ``size`` (inches) figure when ``ax`` is None (laid out
    by matplotlib's ``layout`` engine, so that long labels and colour bars fit)."""
    plt = pyplot()
    if ax is None:
        return plt.subplots(figsize=size, layout=layout)[1]
    from matplotlib.axes import Axes

    if not isinstance(ax, Axes):
        raise InvalidParameterError(
            f"The 'ax' parameter of {owner} must be a matplotlib Axes or None (a new figure). "
            f"Got {type(ax).__name__}."
        )
    return ax


# what the plots read of an explanation; checked by name, as xplain.explanation imports
# xplain.plot (for Explanation.plot) and the import graph has no cycle
_EXPLANATION_ATTRIBUTES = ("features", "values", "display", "diagnostics", "target_label")


def is_explanation(obj: Any) -> bool:
    """Whether ``obj`` has what the plots read of an Explanation."""
    return all(hasattr(obj, name) for name in _EXPLANATION_ATTRIBUTES)


def explanation(e: Any, owner: str) -> Explanation:
    """``e`` when it is an Explanation, else an InvalidInputError naming what it is."""
    if not is_explanation(e):
        raise InvalidInputError(
            f"{owner} draws one xplain.Explanation (from Explainer.explain). Got "
            f"{type(e).__name__}."
        )
    return e


def display_limit(value: Any, owner: str) -> int:
    """``max_display`` checked: an int >= 1."""
    return positive_int("max_display", value, owner)


def is_signed(e: Explanation) -> bool:
    """Whether the method's values have a direction (False: magnitudes, e.g. saliency)."""
    return bool(getattr(e, "signed", True))


def feature_label(e: Explanation, i: int) -> str:
    """``"age = 39"`` where the display shows the instance's value of feature ``i``."""
    shown = e.display.shown
    if shown is None or i >= len(shown) or shown[i] is None:
        return literal(e.features[i])
    return literal(f"{e.features[i]} = {show_value(shown[i])}")


def literal(text: Any) -> str:
    """``text`` as matplotlib draws it literally: a "$" escaped, so that a name such as
    ``"price $5-$10"`` is not read as mathtext (drawn in italics, or a ParseException
    while drawing for one like ``"$x_$"``)."""
    return str(text).replace("$", r"\$")


def scale(values: np.ndarray, keep: np.ndarray | None = None) -> float:
    """The largest finite |value| (of the features in ``keep``); 1 when there is none, so
    that an all-zero explanation still gets a colour scale."""
    magnitude = np.abs(np.asarray(values, dtype=np.float64))
    if keep is not None:
        magnitude = magnitude[keep]
    magnitude = magnitude[np.isfinite(magnitude)]
    top = float(magnitude.max()) if magnitude.size else 0.0
    return top if top > 0 else 1.0


def colour_scale(signed: bool, top: float) -> tuple[Any, Any]:
    """``(colormap, norm)``: diverging over ``[-top, top]`` or sequential over ``[0, top]``."""
    from matplotlib import colormaps
    from matplotlib.colors import Normalize

    if signed:
        return colormaps[DIVERGING], Normalize(-top, top)
    return colormaps[SEQUENTIAL], Normalize(0.0, top)


def colorbar(ax: Any, cmap: Any, norm: Any, label: str, **kw: Any) -> Any:
    """A colour bar of ``cmap``/``norm`` beside ``ax``, labelled ``label``."""
    from matplotlib.cm import ScalarMappable

    bar = ax.figure.colorbar(ScalarMappable(norm=norm, cmap=cmap), ax=ax, **kw)
    bar.set_label(label)
    return bar


def bar_colours(values: np.ndarray, signed: bool) -> list[str]:
    """Red for positive, blue for negative values; one purple for unsigned values."""
    if not signed:
        return [UNSIGNED] * len(values)
    return [POSITIVE if v >= 0 else NEGATIVE for v in values]


def fmt(value: float) -> str:
    """A number as the plots print it: signed, 3 significant digits."""
    return "n/a" if not math.isfinite(value) else f"{value:+.3g}"


def title(e: Explanation) -> str:
    """``"kernel_shap · class 'pos' (p=0.873)"`` (a regressor's: ``target 'prediction'``)."""
    return literal(f"{e.method} \u00b7 {target_name(e)} ({e.prediction_text()})")


def target_name(e: Explanation) -> str:
    """``class 'pos'`` where the model gives class probabilities, else ``target 'name'`` (a
    regressor's output is no class)."""
    word = "class" if e.prediction_is_probability else "target"
    return f"{word} {e.target_label!r}"


def std_err(e: Explanation) -> np.ndarray | None:
    """The method's per-feature standard errors (``diagnostics["std_err"]``), if any."""
    err = e.diagnostics.get("std_err")
    if err is None:
        return None
    err = np.asarray(err, dtype=np.float64).reshape(-1)
    return err if err.shape == (e.n_features,) else None
