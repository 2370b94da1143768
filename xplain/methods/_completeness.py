"""One completeness gap for every method whose values should add up to a score difference.

Integrated Gradients, DeepLIFT, DeepSHAP and GradientSHAP promise completeness,
``sum(attributions) = delta = f(x) - f(reference)`` (Sundararajan et al. 2017; Shrikumar
et al. 2017); the Shapley methods promise efficiency, the same with ``f(reference)`` the
weighted mean score of the background, ``E_w f(b)`` (Lundberg and Lee 2017). The gap is

    |sum - delta| / max(|delta|, NEAR_ZERO * scale),
    scale = max(sum_i |a_i|, |f(x)|, |f(reference)|)

the relative error while ``delta`` is a fair share of the scores, and an absolute error
in units of ``NEAR_ZERO`` of the scores when ``delta`` nears zero (an input close to its
baseline), where dividing by ``|delta|`` would report rounding as gaps of thousands.

Diagnostics of a method (one explained point): ``completeness_gap``, ``convergence_delta``
(the signed absolute error ``sum - delta``, Captum's name), ``delta`` and ``base_value``
(``f(reference)``). The Explainer adds the gap of the values it shows, after the adapter
aggregated the method's attributions into one value per feature
(``completeness_gap_shown``, :func:`shown_completeness`).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

NEAR_ZERO = 1e-3  # |delta| below this share of the scores' scale counts as no change
ADDITIVE = 1e-6  # shown and method totals this close (relative to the scale) agree


def relative_gap(error: float, delta: float, scale: float) -> float:
    """``|error| / max(|delta|, NEAR_ZERO * scale)``; 0 when the error is 0."""
    if error == 0:
        return 0.0
    denominator = max(abs(delta), NEAR_ZERO * scale)
    return abs(error) / denominator if denominator > 0 else math.inf


def completeness(
    attributions: torch.Tensor, scores: torch.Tensor, reference: torch.Tensor
) -> dict[str, Any]:
    """Diagnostics of ``attributions`` ``[N, *S]`` against ``scores - reference`` ``[N]``.

    ``completeness_gap`` and ``convergence_delta`` are the worst over the ``N`` points;
    ``delta`` and ``base_value`` (the reference score) are given for one point only, the
    case of an explanation (several points are noisy copies inside a wrapper).
    """
    scores = scores.detach().double().reshape(-1)
    reference = reference.detach().double().reshape(-1).expand_as(scores)
    flat = attributions.detach().flatten(1).double()  # [N, D]
    delta = scores - reference
    error = flat.sum(1) - delta
    scale = torch.maximum(flat.abs().sum(1), torch.maximum(scores.abs(), reference.abs()))
    gaps = [
        relative_gap(e, d, s)
        for e, d, s in zip(error.tolist(), delta.tolist(), scale.tolist(), strict=True)
    ]
    worst = int(error.abs().argmax())
    out: dict[str, Any] = {
        "completeness_gap": max(gaps),
        "convergence_delta": error[worst].item(),
    }
    if scores.shape[0] == 1:
        out["delta"], out["base_value"] = delta.item(), reference.item()
    return out


def values_gap(values: np.ndarray, delta: float, base: float) -> float:
    """The gap of per-feature ``values`` against ``delta`` = ``f(x) - base``."""
    values = np.asarray(values, dtype=np.float64)
    scale = max(float(np.abs(values).sum()), abs(base + delta), abs(base))
    return relative_gap(float(values.sum()) - delta, delta, scale)


def efficiency(phi: np.ndarray, score: float, base: float) -> dict[str, float]:
    """A Shapley method's diagnostics: ``efficiency_gap`` = ``|sum(phi) - delta|`` (the
    absolute error), ``delta`` = ``score - base`` and ``base_value`` = ``base``, the score
    with every feature absent (for a background: its weighted mean score)."""
    delta = float(score) - float(base)
    return {
        "efficiency_gap": float(abs(np.sum(phi) - delta)),
        "delta": delta,
        "base_value": float(base),
    }


def shown_completeness(
    raw: torch.Tensor | np.ndarray, shown: np.ndarray, diagnostics: dict[str, Any]
) -> dict[str, Any]:
    """``diagnostics`` plus the gap of the values shown, where the method reports a delta.

    ``raw`` are the method's values, ``shown`` the Explanation's (after the adapter's
    aggregation to features). Adds ``completeness_gap_shown``, and ``completeness_note``
    when the two do not add up to the same total (an aggregation such as an L2 norm or
    a max over channels is not additive).
    """
    if "delta" not in diagnostics or "base_value" not in diagnostics:
        return diagnostics
    delta, base = float(diagnostics["delta"]), float(diagnostics["base_value"])
    if isinstance(raw, np.ndarray):  # no tensor round trip (1000s of rows in a batch)
        raw_total = float(raw.sum(dtype=np.float64))
    else:
        raw_total = float(torch.as_tensor(raw).double().sum())
    shown = np.asarray(shown, dtype=np.float64)
    total = float(shown.sum())
    out = {**diagnostics, "completeness_gap_shown": values_gap(shown, delta, base)}
    scale = max(float(np.abs(shown).sum()), abs(base + delta), abs(base))
    if abs(total - raw_total) > ADDITIVE * max(scale, abs(raw_total)):
        out["completeness_note"] = (
            f"The values shown sum to {total:.4g}, not to f(x) - f(reference) = {delta:.4g}: "
            f"the method's own attributions sum to {raw_total:.4g} (completeness_gap is "
            "theirs), but the adapter's aggregation of them into one value per feature (e.g. "
            "an L2 norm, a mean, or the largest channel) does not add up "
            "(completeness_gap_shown is the gap of the values shown). Choose a summing "
            "aggregation for values that add up."
        )
    return out
