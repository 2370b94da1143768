"""Localisation for images: does the explanation point at the object?

Each metric compares an image explanation's heat map ``[H, W]`` with the object's ground
truth, given as a box or a mask (exactly one of them):

* ``box=(x0, y0, x1, y1)``: integer pixel coordinates, ``x`` the column (to the right),
  ``y`` the row (down), end-exclusive, as in PIL and array slicing: the box holds the
  pixels ``(r, c)`` with ``y0 <= r < y1`` and ``x0 <= c < x1`` (``mask[y0:y1, x0:x1]``).
  It must lie inside the image and hold at least one pixel.
* ``mask``: a boolean ``[H, W]`` array (or one of 0s and 1s), True on the object; it must
  hold at least one pixel.

The heat map is ``explanation.values.reshape(explanation.image_shape)`` (the pixel grid
every image method of xplain returns), with the values as signed (the largest value
supports the class most). An explanation over superpixels (one value per segment) is
mapped to pixels through the explainer's interpretable view (its feature map spreads a
segment's value evenly over its pixels, value / area); without such a map it is refused.
The metrics never run the model on a pixel explanation, and are defined for images only:
elsewhere they raise MethodNotApplicableError (NaN in ``Comparison.evaluate``).

In ``Comparison.evaluate`` the ground truth is a metric parameter:
``c.evaluate(["pointing_game"], params={"pointing_game": {"box": (4, 2, 10, 8)}})``.
"""

from __future__ import annotations

import math
import numbers
import warnings
from typing import TYPE_CHECKING, Any

import numpy as np

from xplain._validation import NONE, Interval, Param, validate_params
from xplain.errors import (
    InvalidParameterError,
    MethodNotApplicableError,
    UndefinedMeasureWarning,
)
from xplain.explanation import Explanation
from xplain.metrics._common import check_provenance, checked_values, writable_instance
from xplain.views import InterpretableView

if TYPE_CHECKING:
    from xplain.explainer import Explainer

_ZHANG = "Zhang et al. 2018"


# -- the heat map and the ground truth ------------------------------------------------------
def heat_map(explainer: Explainer | None, explanation: Explanation) -> np.ndarray:
    """The explanation's values on the image's pixel grid, float ``[H, W]``.

    A pixel explanation (``image_shape`` set) is reshaped; one over superpixels is mapped
    to pixels by the explainer's interpretable view (its feature map: a segment's value
    spread evenly over its pixels), which needs the explainer that made it.

    Args:
        explainer: The Explainer that made ``explanation`` (only needed for an explanation
            over segments), or None.
        explanation: An explanation of an image.

    Returns:
        The heat map, float ``[H, W]``.

    Raises:
        MethodNotApplicableError: the explanation is not of an image, or its features are
            segments and no explainer (or no feature map to pixels) is there.
    """
    values = checked_values(explanation)
    if explainer is not None and explanation.instance is not None:
        check_provenance(explainer, explanation)  # another model's or instance's map
    shape = explanation.image_shape
    if shape is not None:
        return values.reshape(shape)
    if explainer is None or not explainer.adapter.supports(InterpretableView):
        raise MethodNotApplicableError(
            f"The {explanation.method!r} explanation is not a pixel grid (display "
            f"{explanation.display.kind!r}, no image_shape), so localisation metrics need the "
            "explainer that made it to map its features (segments) to pixels; pass it, or "
            "evaluate an explanation of an image."
        )
    if explanation.instance is None:
        raise MethodNotApplicableError(
            f"The {explanation.method!r} explanation is not a pixel grid and does not carry "
            "its instance, so its segments cannot be mapped to pixels; evaluate one returned "
            "by Explainer.explain."
        )
    adapter = explainer.adapter
    encoded = adapter.encode(writable_instance(explanation))
    display = adapter.display(encoded)
    grid = display.shape if display.kind == "grid" else None
    if grid is None or len(grid) != 2:
        raise MethodNotApplicableError(
            f"Localisation metrics need an image: this explainer's "
            f"{type(adapter).__name__} shows its instances as {display.kind!r}, not as a "
            "pixel grid."
        )
    view = adapter.view(InterpretableView, encoded, explanation.output)
    if view.n_features != explanation.n_features or view.n_total != grid[0] * grid[1]:
        raise MethodNotApplicableError(
            f"The {explanation.method!r} explanation has {explanation.n_features} features, "
            f"which are neither the image's {grid[0] * grid[1]} pixels nor the "
            f"{view.n_features} segments of the explainer's view; evaluate it with the "
            "explainer (and segmentation) that produced it."
        )
    return view.to_features(values).reshape(grid[0], grid[1])


def ground_truth_mask(
    shape: tuple[int, int], box: Any = None, mask: Any = None, owner: str = "localisation"
) -> np.ndarray:
    """The object's pixels, bool ``[H, W]``, from a box or a mask (exactly one of them).

    Args:
        shape: ``(H, W)`` of the image.
        box: ``(x0, y0, x1, y1)``: integer pixel coordinates, x the column (right), y the
            row (down), end-exclusive (``mask[y0:y1, x0:x1]``), inside the image.
        mask: A boolean ``[H, W]`` array (or one of 0s and 1s), True on the object.
        owner: The metric named in error messages.

    Returns:
        The object's mask, bool ``[H, W]``, with at least one pixel.

    Raises:
        InvalidParameterError: neither or both given, a box that is not four integers,
            out of the image or empty, a mask of another shape or not boolean, or an
            empty mask.
    """
    height, width = shape
    if (box is None) == (mask is None):
        raise InvalidParameterError(
            f"{owner} needs the object's ground truth: exactly one of box=(x0, y0, x1, y1) "
            f"or mask= (a boolean [{height}, {width}] array); got "
            f"{'both' if box is not None else 'neither'}. In Comparison.evaluate pass it as "
            f"params={{{owner!r}: {{'box': (x0, y0, x1, y1)}}}}."
        )
    if box is not None:
        return _box_mask(box, height, width, owner)
    given = np.asarray(mask)
    if given.shape != (height, width):
        raise InvalidParameterError(
            f"The 'mask' parameter of {owner} must have the image's shape [{height}, "
            f"{width}] (rows, columns). Got shape {list(given.shape)}."
        )
    if given.dtype != bool:
        if not np.issubdtype(given.dtype, np.number) or not np.isin(given, (0, 1)).all():
            raise InvalidParameterError(
                f"The 'mask' parameter of {owner} must be boolean (or hold only 0 and 1). "
                f"Got dtype {given.dtype} with other values; threshold it first, e.g. "
                "mask > 0.5."
            )
        given = given.astype(bool)
    if not given.any():
        raise InvalidParameterError(
            f"The 'mask' parameter of {owner} holds no pixel of the object (all False); "
            "localisation is undefined for an empty object. Leave this image out."
        )
    return given


def _box_mask(box: Any, height: int, width: int, owner: str) -> np.ndarray:
    """The mask ``[H, W]`` of the end-exclusive box ``(x0, y0, x1, y1)``."""
    items = list(box) if isinstance(box, list | tuple | np.ndarray) else None
    if items is None or len(items) != 4 or not all(_is_int(v) for v in items):
        raise InvalidParameterError(
            f"The 'box' parameter of {owner} must be four integers (x0, y0, x1, y1): pixel "
            f"coordinates, x the column and y the row, end-exclusive. Got {box!r}."
        )
    x0, y0, x1, y1 = (int(v) for v in items)
    if not (0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height):
        raise InvalidParameterError(
            f"The 'box' parameter of {owner} must satisfy 0 <= x0 < x1 <= {width} (width) and "
            f"0 <= y0 < y1 <= {height} (height) for this {height}x{width} image (end-"
            f"exclusive, so it holds at least one pixel inside the image). Got {box!r}."
        )
    out = np.zeros((height, width), dtype=bool)
    out[y0:y1, x0:x1] = True
    return out


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _inputs(
    owner: str, explainer: Explainer | None, explanation: Explanation, box: Any, mask: Any
) -> tuple[np.ndarray, np.ndarray]:
    """The heat map ``[H, W]`` and the object's mask ``[H, W]``."""
    heat = heat_map(explainer, explanation)
    return heat, ground_truth_mask(heat.shape, box, mask, owner)


def _top(heat: np.ndarray, k: int) -> np.ndarray:
    """Membership ``[H, W]`` in the ``k`` largest values: 1 above the ``k``-th largest
    value, 0 below it, and the pixels tied at it share the places left evenly (their
    expected membership under a random order of the ties; a constant map scores chance)."""
    flat = heat.reshape(-1)
    kth = np.sort(flat)[::-1][k - 1]
    above = flat > kth
    tied = flat == kth
    out = above.astype(np.float64)
    out[tied] = (k - above.sum()) / tied.sum()
    return out.reshape(heat.shape)


# -- the metrics ----------------------------------------------------------------------------
_IOU = {
    "area": Param(None, Interval(float, 0, 1, closed="right"), NONE,
                  doc="fraction of the pixels in the salient region (top-k% area)"),
    "quantile": Param(None, Interval(float, 0, 1), NONE,
                      doc="value quantile above which a pixel is salient"),
}


def localisation_iou(
    explainer: Explainer | None,
    explanation: Explanation,
    *,
    box: Any = None,
    mask: Any = None,
    area: float | None = None,
    quantile: float | None = None,
) -> float:
    """Intersection over union of the salient region with the object; higher is better.

    The salient region is thresholded by area or by value (give at most one):

    * ``area=a``: the ``max(1, ceil(a * H * W))`` pixels of largest value (top-``a`` area;
      pixels tied at the cut share the places left evenly: the expected overlap under a
      random order of the ties, so a constant map scores chance);
    * ``quantile=q``: the pixels whose value is at least the ``q``-quantile of the map's
      values (``numpy.quantile``, linear interpolation; ties all count);
    * neither: the ``K`` pixels of largest value, ``K`` the object's area (as
      :func:`relevance_rank_accuracy`; then ``IoU = hits / (2 K - hits)``).

    The box-IoU of weakly supervised localisation (e.g. Zhou et al. 2016, CAM; Selvaraju
    et al. 2017, Grad-CAM), here on pixel sets: ``|S & G| / |S | G|``.

    Args:
        explainer: The Explainer that made ``explanation`` (used only to map segments to
            pixels), or None.
        explanation: An explanation of an image.
        box: The object's box ``(x0, y0, x1, y1)`` (see the module docstring).
        mask: The object's boolean mask ``[H, W]`` (instead of ``box``).
        area: Fraction of the pixels in the salient region, in (0, 1].
        quantile: Value quantile in [0, 1] thresholding the map (instead of ``area``).

    Returns:
        The IoU, in [0, 1].

    Raises:
        InvalidParameterError: both ``area`` and ``quantile`` given, or a bad ground truth.
    """
    p = validate_params("localisation_iou", _IOU, {"area": area, "quantile": quantile})
    if area is not None and quantile is not None:
        raise InvalidParameterError(
            "localisation_iou thresholds the map by area or by value quantile, not both; "
            f"pass one of area= or quantile=. Got area={area!r}, quantile={quantile!r}."
        )
    heat, truth = _inputs("localisation_iou", explainer, explanation, box, mask)
    if p["quantile"] is not None:
        region = heat >= np.quantile(heat, p["quantile"])
        return float((region & truth).sum() / (region | truth).sum())
    k = int(truth.sum()) if p["area"] is None else math.ceil(p["area"] * heat.size - 1e-9)
    k = max(1, k)
    hits = float(_top(heat, k)[truth].sum())  # the expected overlap where ties cross the cut
    return hits / (k + int(truth.sum()) - hits)  # |S | G| = |S| + |G| - |S & G|


_POINTING = {
    "tolerance": Param(0.0, Interval(float, 0), doc="pixels the maximum may lie off the object"),
}


def pointing_game(
    explainer: Explainer | None,
    explanation: Explanation,
    *,
    box: Any = None,
    mask: Any = None,
    tolerance: float = 0.0,
) -> float:
    """1.0 if the map's maximum lies on the object (within ``tolerance`` pixels), else 0.0.

    Zhang, Bargal, Lin, Brandt, Shen and Sclaroff (2018), "Top-down Neural Attention by
    Excitation Backprop" (IJCV): a hit when the most salient pixel is within
    ``tolerance`` pixels (Euclidean distance between pixel centres) of the object. The
    paper uses 15 pixels on images of about 224 pixels; the default here is 0 (on the
    object), as a fixed pixel tolerance means little across image sizes. The mean over
    images is the pointing accuracy. Ties: every pixel of maximal value must be within the
    tolerance (a map that points nowhere, e.g. a constant one, misses unless the object
    covers the image); Quantus's ``PointingGame`` instead counts a hit if any of them is.

    Args:
        explainer: The Explainer that made ``explanation`` (used only to map segments to
            pixels), or None.
        explanation: An explanation of an image.
        box: The object's box ``(x0, y0, x1, y1)`` (see the module docstring).
        mask: The object's boolean mask ``[H, W]`` (instead of ``box``).
        tolerance: Distance in pixels the maximum may lie from the object (>= 0).

    Returns:
        1.0 (hit) or 0.0 (miss).
    """
    p = validate_params("pointing_game", _POINTING, {"tolerance": tolerance})
    heat, truth = _inputs("pointing_game", explainer, explanation, box, mask)
    if p["tolerance"] > 0:
        from scipy.ndimage import distance_transform_edt

        # distance of every pixel to the nearest object pixel (0 on the object)
        truth = distance_transform_edt(~truth) <= p["tolerance"]
    maxima = heat == heat.max()
    return float(truth[maxima].all())


def relevance_mass_accuracy(
    explainer: Explainer | None,
    explanation: Explanation,
    *,
    box: Any = None,
    mask: Any = None,
) -> float:
    """Share of the positive relevance that falls on the object; higher is better.

    Arras, Osman and Samek (2022), "CLEVR-XAI: A benchmark dataset for the ground truth
    evaluation of neural network explanations" (Information Fusion): ``R_within /
    R_total`` with ``R_within = sum_{p in GT} max(R_p, 0)`` and ``R_total = sum_p max(R_p,
    0)``. NaN (with an UndefinedMeasureWarning) when no pixel has positive relevance.
    Equal to Quantus's ``RelevanceMassAccuracy`` on non-negative maps (which sums the
    signed values).

    Args:
        explainer: The Explainer that made ``explanation`` (used only to map segments to
            pixels), or None.
        explanation: An explanation of an image.
        box: The object's box ``(x0, y0, x1, y1)`` (see the module docstring).
        mask: The object's boolean mask ``[H, W]`` (instead of ``box``).

    Returns:
        The mass accuracy, in [0, 1], or NaN.
    """
    heat, truth = _inputs("relevance_mass_accuracy", explainer, explanation, box, mask)
    positive = np.maximum(heat, 0.0)
    total = float(positive.sum())
    if total <= 0:
        warnings.warn(
            f"relevance_mass_accuracy is undefined for the {explanation.method!r} explanation: "
            "no pixel has positive relevance. Returning NaN.",
            UndefinedMeasureWarning,
            stacklevel=2,
        )
        return math.nan
    return float(positive[truth].sum()) / total


def relevance_rank_accuracy(
    explainer: Explainer | None,
    explanation: Explanation,
    *,
    box: Any = None,
    mask: Any = None,
) -> float:
    """Share of the ``K`` most relevant pixels on the object, ``K`` its area; higher is better.

    Arras, Osman and Samek (2022), CLEVR-XAI: with ``K = |GT|``, the ``K`` pixels of
    largest relevance ``P_K``, rank accuracy is ``|P_K & GT| / K``. Pixels tied at the
    cut share the places left evenly (the expected value under a random order of the
    ties; a constant map scores chance, ``K / (H W)``); Quantus's
    ``RelevanceRankAccuracy`` computes the same where there are no such ties (it breaks
    them by its sort).

    Args:
        explainer: The Explainer that made ``explanation`` (used only to map segments to
            pixels), or None.
        explanation: An explanation of an image.
        box: The object's box ``(x0, y0, x1, y1)`` (see the module docstring).
        mask: The object's boolean mask ``[H, W]`` (instead of ``box``).

    Returns:
        The rank accuracy, in [0, 1].
    """
    heat, truth = _inputs("relevance_rank_accuracy", explainer, explanation, box, mask)
    k = int(truth.sum())
    return float(_top(heat, k)[truth].sum()) / k


__all__ = [
    "ground_truth_mask",
    "heat_map",
    "localisation_iou",
    "pointing_game",
    "relevance_mass_accuracy",
    "relevance_rank_accuracy",
]
