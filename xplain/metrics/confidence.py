"""Average Drop % and Increase in Confidence (Chattopadhay et al. 2018, Grad-CAM++).

For an image ``x`` and the explained class ``c``, ``Y`` is the model's probability of
``c`` on ``x`` and ``O`` its probability on ``x`` masked by the explanation map ``M``
(the heat map normalised to [0, 1]). Over N images,

* Average Drop % = ``100 / N * sum_i max(0, Y_i - O_i) / Y_i`` (lower is better);
* Increase in Confidence % = ``100 / N * #{i : O_i > Y_i}`` (higher is better).

Per instance, :func:`average_drop` gives ``100 * max(0, Y - O) / Y`` and
:func:`increase_in_confidence` gives 100 or 0, so their means over explanations (as
``Comparison.evaluate`` rows or :func:`confidence_frame`) are the paper's numbers;
:func:`confidence_summary` gives both over many explanations.

Choices:

* Scores are probabilities (softmax of the model's logits), whatever score the
  explanation explains: the ratio ``(Y - O) / Y`` of logits has no fixed zero (a negative
  ``Y`` flips its sign). A model whose outputs are not class probabilities (a regression,
  independent labels) is refused.
* ``normalisation``: ``"minmax"`` (default, ``(E - min E) / (max E - min E)``, as the
  grad-cam package scales its maps) or ``"max"`` (``max(E, 0) / max E``: negative evidence
  masked out; an explanation with no positive value masks the whole image). A constant map
  has no min-max normalisation: NaN, with an UndefinedMeasureWarning.
* ``masking``: ``"multiply"`` (the paper: ``x * M``, a black background) or
  ``"baseline"`` (``x * M + b * (1 - M)``, towards the adapter's baseline image ``b``, e.g.
  a blurred one; equal to ``"multiply"`` for a black baseline).
* Defined for images only. Multiplying by the map needs a continuous input whose layout is
  the explanation's pixel grid: text (a token embedding scaled down is not a less visible
  token) and tables (a column multiplied by 0 takes the value 0, a real value with its
  own meaning) are refused with MethodNotApplicableError (NaN in ``Comparison.evaluate``).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from xplain._validation import Options, Param, validate_params
from xplain.errors import MethodNotApplicableError, UndefinedMeasureWarning
from xplain.explanation import Explanation
from xplain.metrics._common import encode_again
from xplain.views import SpatialDifferentiableView

if TYPE_CHECKING:
    from xplain.explainer import Explainer

MASKINGS = ("multiply", "baseline")
NORMALISATIONS = ("minmax", "max")
_PARAMS = {
    "masking": Param("multiply", Options(MASKINGS), doc="how the map masks the image"),
    "normalisation": Param("minmax", Options(NORMALISATIONS), doc="map -> [0, 1]"),
}


def confidence_scores(
    explainer: Explainer,
    explanation: Explanation,
    *,
    masking: str = "multiply",
    normalisation: str = "minmax",
) -> tuple[float, float]:
    """``(Y, O)``: the target's probability on the image and on the image masked by the map.

    Args:
        explainer: The Explainer that made ``explanation`` (its model is run again).
        explanation: An explanation of an image (one value per pixel).
        masking: ``"multiply"`` (``x * M``, the paper) or ``"baseline"`` (``x * M + b *
            (1 - M)``, ``b`` the adapter's baseline image).
        normalisation: How the map becomes ``M`` in [0, 1]: ``"minmax"`` or ``"max"``.

    Returns:
        ``(Y, O)``; ``O`` is NaN (with an UndefinedMeasureWarning) for a constant map under
        ``"minmax"``.

    Raises:
        MethodNotApplicableError: the explainer's inputs are not images, or its model's
            outputs are not class probabilities.
    """
    p = validate_params(
        "average_drop", _PARAMS, {"masking": masking, "normalisation": normalisation}
    )
    adapter = explainer.adapter
    if not adapter.supports(SpatialDifferentiableView):
        raise MethodNotApplicableError(
            f"Average Drop and Increase in Confidence multiply the input by the explanation "
            f"map, which needs a continuous input laid out as the explanation's pixel grid (a "
            f"torch image model); {type(adapter).__name__} offers none. For text a scaled "
            "token embedding is not a hidden token, and for tables multiplying a column by 0 "
            "sets it to the value 0, which has its own meaning: use deletion_auc or "
            "comprehensiveness, which remove features the way the adapter does."
        )
    if "probability" not in adapter.outputs:
        raise MethodNotApplicableError(
            "Average Drop divides by the class probability Y, but this model's outputs are not "
            f"class probabilities (it offers {', '.join(adapter.outputs)}: a regression or "
            "independent labels)."
        )
    import torch

    encoded = encode_again(explainer, explanation)  # refuses another model's or instance's
    view = adapter.view(SpatialDifferentiableView, encoded, "probability")
    x = view.inputs  # [1, C, H, W]
    height, width = x.shape[2], x.shape[3]
    heat = np.asarray(explanation.values, dtype=np.float64)
    if heat.size != height * width:
        raise MethodNotApplicableError(
            f"The {explanation.method!r} explanation has {heat.size} values, not one per pixel "
            f"of the {height}x{width} image, so it cannot mask the image."
        )
    m = _normalised(heat.reshape(height, width), p["normalisation"], explanation.method)
    if m is None:
        y = float(view.scores_at(x)[0, explanation.target])
        return y, math.nan
    weights = torch.as_tensor(m, dtype=x.dtype, device=x.device)[None, None]  # [1, 1, H, W]
    masked = x * weights
    if p["masking"] == "baseline":
        masked = masked + view.baseline * (1 - weights)
    with torch.no_grad():
        scores = view.forward(torch.cat([x, masked]))  # [2, C] probabilities
    y, o = (float(v) for v in scores[:, explanation.target])
    return y, o


def _normalised(heat: np.ndarray, rule: str, method: str) -> np.ndarray | None:
    """The map ``[H, W]`` scaled to [0, 1] by ``rule``; None where undefined (warned)."""
    high, low = float(heat.max()), float(heat.min())
    if rule == "max":
        return np.maximum(heat, 0.0) / high if high > 0 else np.zeros_like(heat)
    if high == low:
        warnings.warn(
            f"Average Drop is undefined for the {method!r} explanation: its map is constant, "
            "so min-max normalisation has no range. Returning NaN.",
            UndefinedMeasureWarning,
            stacklevel=3,
        )
        return None
    return (heat - low) / (high - low)


def average_drop(
    explainer: Explainer,
    explanation: Explanation,
    *,
    masking: str = "multiply",
    normalisation: str = "minmax",
) -> float:
    """``100 * max(0, Y - O) / Y`` for one image; its mean is Average Drop % (lower is better).

    Chattopadhay, Sarkar, Howlader and Balasubramanian (2018), "Grad-CAM++: Generalized
    Gradient-based Visual Explanations for Deep Convolutional Networks" (WACV), Sec. 5.1.
    ``Y`` and ``O`` as :func:`confidence_scores` computes them (see the module docstring).

    Args:
        explainer: The Explainer that made ``explanation`` (its model is run again).
        explanation: An explanation of an image (one value per pixel).
        masking: ``"multiply"`` (the paper) or ``"baseline"``.
        normalisation: ``"minmax"`` or ``"max"``.

    Returns:
        The drop in percent of ``Y``, in [0, 100]; NaN for a constant map under
        ``"minmax"``.
    """
    y, o = confidence_scores(
        explainer, explanation, masking=masking, normalisation=normalisation
    )
    if math.isnan(o) or y <= 0:
        return math.nan
    return 100.0 * max(0.0, y - o) / y


def increase_in_confidence(
    explainer: Explainer,
    explanation: Explanation,
    *,
    masking: str = "multiply",
    normalisation: str = "minmax",
) -> float:
    """100.0 if the masked image scores higher (``O > Y``), else 0.0; higher is better.

    Chattopadhay et al. (2018), Grad-CAM++, Sec. 5.1: the mean over images is the
    "% Increase in Confidence". ``Y`` and ``O`` as :func:`confidence_scores` computes them.

    Args:
        explainer: The Explainer that made ``explanation`` (its model is run again).
        explanation: An explanation of an image (one value per pixel).
        masking: ``"multiply"`` (the paper) or ``"baseline"``.
        normalisation: ``"minmax"`` or ``"max"``.

    Returns:
        100.0 or 0.0; NaN for a constant map under ``"minmax"``.
    """
    y, o = confidence_scores(
        explainer, explanation, masking=masking, normalisation=normalisation
    )
    return math.nan if math.isnan(o) else 100.0 * float(o > y)


def confidence_frame(
    explainer: Explainer,
    explanations: Iterable[Explanation],
    *,
    masking: str = "multiply",
    normalisation: str = "minmax",
) -> pd.DataFrame:
    """One row per explanation: ``Y``, ``O``, ``drop`` (%) and ``increase`` (bool).

    Args:
        explainer: The Explainer that made the explanations (its model is run again).
        explanations: Explanations of images (a list, or an ``Explanations`` batch).
        masking: ``"multiply"`` (the paper) or ``"baseline"``.
        normalisation: ``"minmax"`` or ``"max"``.

    Returns:
        A DataFrame with columns ``method``, ``Y``, ``O``, ``drop`` and ``increase``.
    """
    rows = []
    for e in explanations:
        y, o = confidence_scores(explainer, e, masking=masking, normalisation=normalisation)
        drop = math.nan if math.isnan(o) or y <= 0 else 100.0 * max(0.0, y - o) / y
        rows.append({"method": e.method, "Y": y, "O": o, "drop": drop, "increase": o > y})
    return pd.DataFrame(rows, columns=["method", "Y", "O", "drop", "increase"])


def confidence_summary(
    explainer: Explainer,
    explanations: Iterable[Explanation],
    *,
    masking: str = "multiply",
    normalisation: str = "minmax",
) -> dict[str, float]:
    """Average Drop % and Increase in Confidence % over many explanations (the paper's).

    Explanations whose drop is undefined (a constant map) are left out of both.

    Args:
        explainer: The Explainer that made the explanations (its model is run again).
        explanations: Explanations of images (a list, or an ``Explanations`` batch).
        masking: ``"multiply"`` (the paper) or ``"baseline"``.
        normalisation: ``"minmax"`` or ``"max"``.

    Returns:
        ``{"average_drop": ..., "increase_in_confidence": ..., "n": ...}``, in percent
        (``n``: the explanations counted).
    """
    frame = confidence_frame(
        explainer, explanations, masking=masking, normalisation=normalisation
    )
    kept = frame[frame["drop"].notna()]
    if kept.empty:
        return {"average_drop": math.nan, "increase_in_confidence": math.nan, "n": 0}
    return {
        "average_drop": float(kept["drop"].mean()),
        "increase_in_confidence": 100.0 * float(np.mean(kept["increase"].to_numpy(bool))),
        "n": int(len(kept)),
    }


__all__ = [
    "MASKINGS",
    "NORMALISATIONS",
    "average_drop",
    "confidence_frame",
    "confidence_scores",
    "confidence_summary",
    "increase_in_confidence",
]
