"""Robustness: how much does an explanation change when the input barely changes?"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import TYPE_CHECKING

import numpy as np
import torch

from xplain._validation import SEED, Interval, Param, validate_params
from xplain.errors import MethodNotApplicableError
from xplain.explanation import Explanation
from xplain.limits import check_memory, check_rows
from xplain.methods.base import GradientMethod
from xplain.metrics._common import encode_again, rebuild_method
from xplain.views import InterpretableView, runs_on

if TYPE_CHECKING:
    from xplain.explainer import Explainer

_SENSITIVITY = {
    "n_samples": Param(10, Interval(int, 1), doc="perturbed inputs"),
    "radius": Param(
        0.05, Interval(float, 0, None, closed="neither"), doc="L-inf radius / input range"
    ),
    "seed": Param(0, SEED, doc="seed of the perturbations"),
}


def max_sensitivity(
    explainer: Explainer,
    explanation: Explanation,
    *,
    n_samples: int = 10,
    radius: float = 0.05,
    seed: int | None = 0,
) -> float:
    """Largest relative change of the explanation over ``n_samples`` nearby inputs.

    Yeh, Hsieh, Suggala, Inouye and Ravikumar (2019), "On the (In)fidelity and
    Sensitivity of Explanations" (NeurIPS): ``max_y ||phi(y) - phi(x)|| / ||phi(x)||``
    (L2 over the non-special features; divided by ``||phi(x)||`` as Quantus does, so
    methods of different scales compare). Lower is better. How ``y`` is drawn depends on
    the method, since the input of a text model is discrete:

    * gradient methods: uniformly in the L-infinity ball of radius
      ``radius * (max(x) - min(x))`` around the view's input tensor (token embeddings,
      pixels, numeric columns);
    * perturbation methods: ``y`` hides one feature, chosen at random without
      replacement (``min(n_samples, d)`` of them), through the interpretable view; the
      explanations are compared on the other features.

    Methods that sample (SmoothGrad, LIME, KernelSHAP...) are re-run with their own seed,
    so the change measured is the model's, not the sampler's. Each re-explanation is
    costed as the original's ``n_model_evals``; beyond ``xplain.limits`` the call is
    refused (ResourceLimitError) before any model call.

    Args:
        explainer: The Explainer that made ``explanation`` (its model is run again).
        explanation: The Explanation scored (of ``explainer``'s model).
        seed: Seed of the random draws (None: not reproducible).
    """
    p = validate_params(
        "max_sensitivity", _SENSITIVITY, {"n_samples": n_samples, "radius": radius, "seed": seed}
    )
    _, _, algorithm = rebuild_method(explanation)
    encoded = encode_again(explainer, explanation)
    cost = max(1, explanation.n_model_evals)  # model rows of one explanation
    adapter = explainer.adapter
    active = ~explanation._special_flags()
    original = np.asarray(explanation.values, dtype=np.float64)[active]  # [d]
    if isinstance(algorithm, GradientMethod) and adapter.supports(algorithm.view):
        view = adapter.view(algorithm.view, encoded, explanation.output)
        generator = torch.Generator()
        if p["seed"] is None:
            generator.seed()
        else:
            generator.manual_seed(p["seed"])
        # each point is explained again at the original's cost; the points are held at once
        check_rows("max_sensitivity", p["n_samples"] * cost, "lower n_samples")
        point_bytes = view.inputs[0].numel() * view.inputs.element_size()
        check_memory("max_sensitivity", 2 * p["n_samples"] * point_bytes, "lower n_samples")
        shape = (p["n_samples"], *view.inputs.shape[1:])
        unit = torch.rand(shape, generator=generator, dtype=view.inputs.dtype) * 2 - 1
        points = view.inputs + unit * (p["radius"] * view.input_range)  # [n, *S]
        perturbed = np.stack(  # [n, d]; one call per point, so a sampling method
            [  # (SmoothGrad, GradientSHAP) draws the same noise as for the original
                view.to_features(
                    algorithm.attribute_points(view, point[None], explanation.target)[0][0]
                )[active]
                for point in points
            ]
        )
        return _largest_change(perturbed, original[None], np.ones_like(perturbed, dtype=bool))
    if runs_on(algorithm.view, InterpretableView) and adapter.supports(algorithm.view):
        view = adapter.view(algorithm.view, encoded, explanation.output)
        base = view.from_features(np.asarray(explanation.values, dtype=np.float64))  # [d]
        rng = np.random.default_rng(p["seed"])
        n_hidden = min(p["n_samples"], view.n_features)
        check_rows("max_sensitivity", n_hidden * cost, "lower n_samples")
        hidden = rng.choice(view.n_features, size=n_hidden, replace=False)
        perturbed = np.empty((len(hidden), view.n_features))
        compared = np.ones_like(perturbed, dtype=bool)
        for row, j in enumerate(hidden):
            result = algorithm.attribute(_hiding(view, int(j)), explanation.target)
            perturbed[row] = np.asarray(result.values, dtype=np.float64)
            compared[row, j] = False
        return _largest_change(perturbed, base[None], compared)
    raise MethodNotApplicableError(
        f"max_sensitivity cannot perturb the input of {explanation.method!r} explanations "
        f"with {type(adapter).__name__} (it needs a gradient view or a perturbation view)."
    )


def _hiding(view: InterpretableView, j: int) -> InterpretableView:
    """The view of the input with feature ``j`` hidden (it stays a feature, now inert)."""
    keep = np.ones(view.n_features, dtype=bool)
    keep[j] = False

    def evaluate(masks: np.ndarray) -> np.ndarray:
        return view.evaluate(np.asarray(masks, dtype=bool) & keep)

    # samples drawn from the training data (tabular LIME) would not hide the feature: a
    # method that scores them is refused when it asks; the others only mask features
    hood = view.distribution
    nulls = view.null_players if view.null_players is not None else np.zeros_like(keep)
    return replace(  # the same features and feature map, another game
        view,
        evaluate=evaluate,
        scores=np.asarray(view.evaluate(keep[None]))[0],
        distribution=None if hood is None else replace(hood, score=_no_neighbourhood),
        null_players=nulls | ~keep,  # the hidden feature changes no score
        baseline_games=None,  # the games are of the unhidden input
    )


def _no_neighbourhood(rows: np.ndarray) -> np.ndarray:
    raise MethodNotApplicableError(
        "max_sensitivity hides one feature at a time through the perturbation view, and "
        "this method samples a neighbourhood of the input from its training data (LIME on a "
        "table), which a hidden feature would not change. Use it with a method that masks "
        "features (kernel_shap, exact_shapley, occlusion) or a gradient method."
    )


def _largest_change(perturbed: np.ndarray, original: np.ndarray, compared: np.ndarray) -> float:
    """max over rows of ||(perturbed - original)[compared]|| / ||original[compared]||."""
    change = np.sqrt((((perturbed - original) * compared) ** 2).sum(1))  # [n]
    scale = np.sqrt(((original * compared) ** 2).sum(1))  # [n]
    with np.errstate(divide="ignore", invalid="ignore"):
        relative = np.where(scale > 0, change / scale, np.where(change > 0, np.inf, math.nan))
    return float(np.max(relative)) if relative.size else math.nan
