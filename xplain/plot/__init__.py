"""Matplotlib figures of explanations, comparisons and batches (``pip install
'xplain-xai[plot]'``).

Every function draws on ``ax`` (a new figure when None) and returns the Axes it drew on,
or a numpy array of Axes for several panels; none calls ``plt.show()``, so a figure can be
changed, saved or shown by the caller. matplotlib is imported on the first call, never
by ``import xplain``.

>>> import xplain.plot
>>> ax = xplain.plot.waterfall(e, max_display=8)
>>> ax.figure.savefig("waterfall.pdf")

Signed attributions are drawn red (raises the score) and blue (lowers it); unsigned ones
(``e.signed`` False, e.g. saliency: magnitudes only) on a sequential scale from 0.
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any

from xplain.errors import InvalidParameterError
from xplain.plot._common import explanation as _checked
from xplain.plot.bars import bar, waterfall
from xplain.plot.batch import beeswarm, dependence, importance
from xplain.plot.compare import agreement, comparison, comparison_plot
from xplain.plot.image import image
from xplain.plot.interactions import interactions
from xplain.plot.text import text

if TYPE_CHECKING:
    from xplain.explanation import Explanation

__all__ = [
    "agreement",
    "bar",
    "beeswarm",
    "comparison",
    "comparison_plot",
    "dependence",
    "explanation",
    "image",
    "importance",
    "interactions",
    "text",
    "waterfall",
]

KINDS = {"bar": bar, "waterfall": waterfall, "text": text, "image": image,
         "interactions": interactions}


def explanation(e: Explanation, ax: Any = None, *, kind: str | None = None, **kwargs: Any) -> Any:
    """One explanation drawn the way its features read (what ``e.plot()`` draws).

    ``kind`` None picks by the display the adapter gave: tokens as a heat strip
    (:func:`text`), a grid as a heat map over the image (:func:`image`), anything else as
    a :func:`waterfall` (bars sorted by |value| when the method has no base value).

    Parameters:
        e: The explanation to draw.
        ax: The matplotlib Axes to draw on; a new figure when None.
        kind: ``"bar"``, ``"waterfall"``, ``"text"``, ``"image"`` or ``"interactions"`` to choose
            the drawing.
        **kwargs: Passed on to that function (e.g. ``max_display``, ``alpha``).

    Returns:
        The Axes drawn on.
    """
    e = _checked(e, "plot.explanation")
    if kind is None:
        kind = {"tokens": "text", "grid": "image"}.get(e.display.kind, "waterfall")
    if kind not in KINDS:
        raise InvalidParameterError(
            f"The 'kind' parameter of Explanation.plot must be None (chosen by the display) "
            f"or one of {', '.join(KINDS)}. Got {kind!r}."
        )
    draw = KINDS[kind]
    allowed = [name for name in inspect.signature(draw).parameters if name not in ("e", "ax")]
    unknown = [name for name in kwargs if name not in allowed]
    if unknown:  # the user's keyword, named with what this kind takes (not a TypeError)
        raise InvalidParameterError(
            f"Explanation.plot(kind={kind!r}) got an unexpected parameter {unknown[0]!r}. "
            f"Allowed parameters: {', '.join(['ax', *allowed])}."
        )
    return draw(e, ax, **kwargs)
