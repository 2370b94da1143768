"""LIME: a weighted linear surrogate fitted on samples around the instance."""

from __future__ import annotations

import math
from typing import ClassVar

import numpy as np

from xplain._validation import BOOLEAN, NONE, SEED_SEQUENCE, Interval, Options, Param
from xplain.errors import InvalidParameterError, MethodNotApplicableError
from xplain.limits import check_memory, check_rows
from xplain.methods.base import Attribution, PerturbationMethod
from xplain.methods.perturbation._kernels import cosine_distance_to_full, exponential_kernel
from xplain.methods.perturbation._mask_neighbourhood import SAMPLINGS, mask_neighbourhood
from xplain.methods.perturbation._neighbourhood import DISCRETIZERS, neighbourhood
from xplain.methods.perturbation._sampling import (
    check_budget,
    evaluate_target,
    unique_rows,
)
from xplain.methods.perturbation._surrogate import SELECTIONS, ridge_surrogate
from xplain.registry import register_method
from xplain.views import InterpretableView

DEFAULT_SAMPLES = 2000
MASK_DISTANCE_SCALE = 100.0  # lime_text: cosine distance x 100 ...
MASK_KERNEL_WIDTH = 25.0  # ... with kernel width 25
NEIGHBOURHOOD_WIDTH_FACTOR = 0.75  # lime_tabular: kernel width 0.75 sqrt(d)
BASE_VALUE_SOURCE = (  # diagnostics["base_value_source"], the reports' tooltip
    "the surrogate's intercept (its prediction with every feature off); the values add up "
    "from it to local_prediction, not to f(x)"
)


@register_method
class Lime(PerturbationMethod):
    """Local Interpretable Model-agnostic Explanations.

    Ribeiro, Singh and Guestrin (2016), "'Why Should I Trust You?': Explaining the
    Predictions of Any Classifier" (KDD). ``num_samples`` points around the instance
    (the instance first) are weighted by the exponential kernel
    ``sqrt(exp(-D^2 / kernel_width^2))`` and a weighted ``Ridge(alpha=1)`` is fitted on
    their interpretable representation; its coefficients are the explanation. The
    neighbourhood follows the ``lime`` package per modality: when the view carries its
    training data (a table) samples are drawn from its statistics as ``lime_tabular``
    draws them (``discretize_continuous``: quartile or decile bins with ``discretizer``,
    else Gaussian samples around the mean, or around the row with
    ``sample_around_instance``) with ``kernel_width = 0.75 sqrt(d)``; otherwise binary
    masks are drawn as ``lime_text`` draws them (remove 1..d features uniformly) with cosine
    distance x 100 and ``kernel_width = 25``. Distinct masks go through the model once.
    With ``sampling="stratified"`` (the default) the masks estimate the same population
    fit as lime_text's draw with less variance: stratified by the number removed,
    without replacement, paired with their complements, and all ``2^d - 1`` masks once
    when ``num_samples`` covers them (:mod:`._mask_neighbourhood`); ``"iid"`` draws as
    lime_text does.

    ``num_features`` keeps only the top-k features (chosen by ``feature_selection`` as
    ``lime`` does; the others get 0). The default ``num_samples=2000`` (``lime``: 5000)
    keeps LIME's cost in line with ``kernel_shap``'s default budget (2 d + 2048), at
    a larger seed-to-seed spread (README, "Design notes"); pass ``num_samples=5000`` for
    lime's default.

    Diagnostics: ``score`` (weighted R^2 of the surrogate), ``intercept``,
    ``local_prediction`` (surrogate at the instance) vs ``prediction`` (model), and the
    ``kernel_width`` used. ``base_value`` is the intercept (the surrogate's prediction with
    every feature off; ``base_value_source`` says so) where the instance's representation
    is all ones (masks, and the default binned tables): the values then add up from it to
    ``local_prediction``, not to the model's ``prediction`` (the difference is the
    surrogate's fit error). Without bins (``discretize_continuous=False``) a numeric
    column is represented by its z-score, the values are slopes that do not add up from
    the intercept, and there is no ``base_value``.

    A ``num_samples`` whose model rows or ``[n, d]`` arrays exceed ``xplain.limits`` is
    refused (ResourceLimitError) before any sample is scored.
    """

    name: ClassVar[str] = "lime"
    reference: ClassVar[str] = "Ribeiro et al. 2016, arXiv:1602.04938"
    parameters = {
        "num_samples": Param(DEFAULT_SAMPLES, Interval(int, 2), doc="neighbourhood size"),
        "num_features": Param(None, Interval(int, 1), NONE, doc="keep the top-k (None: all)"),
        "feature_selection": Param("auto", Options(SELECTIONS), doc="how the top-k are chosen"),
        "kernel_width": Param(
            None,
            Interval(float, 0, None, closed="neither"),
            NONE,
            doc="width of the exponential kernel (None: lime's default for the view)",
        ),
        "discretize_continuous": Param(True, BOOLEAN, doc="tables: bin numeric columns"),
        "discretizer": Param("quartile", Options(tuple(DISCRETIZERS)), doc="tables: the bins"),
        "sample_around_instance": Param(
            False, BOOLEAN, doc="tables without bins: centre samples on the row, not the mean"
        ),
        "sampling": Param(
            "stratified", Options(SAMPLINGS), doc="masks: stratified and paired, or lime's iid"
        ),
        "internal_batch_size": Param(None, Interval(int, 1), NONE, doc="masks per model call"),
        "seed": Param(0, SEED_SEQUENCE, doc="seed of the neighbourhood (None: not reproducible)"),
    }

    def attribute(self, view: InterpretableView, target: int) -> Attribution:
        d = view.n_features
        if d == 0:
            return Attribution(np.zeros(0), {})
        rng = np.random.default_rng(self.params["seed"])
        n = self.params["num_samples"]
        width = self.params["kernel_width"]
        # refused up front: the model rows and the [n, d] masks and float64 design matrix
        distribution = view.distribution
        if distribution is None:
            self._refuse_table_options()
        elif self.params["sampling"] != self.parameters["sampling"].default:
            raise InvalidParameterError(
                f"lime's sampling={self.params['sampling']!r} chooses which features are "
                "masked; this table row's neighbourhood is drawn from training statistics "
                "instead, so it would be ignored. Leave it out here."
            )
        if distribution is not None:  # one model row per sample
            check_rows("lime", n, "lower num_samples")
        else:  # the distinct masks (at most 2^d - 1) go through the model
            check_budget("lime", view, int(min(n - 1, 2.0**d - 1)), "lower num_samples")
        check_memory("lime", n * d * 9, "lower num_samples")
        if distribution is not None:
            hood = neighbourhood(
                distribution,
                n,
                rng,
                discretize=self.params["discretize_continuous"],
                discretizer=self.params["discretizer"],
                sample_around_instance=self.params["sample_around_instance"],
            )
            data = np.asarray(hood.representation, dtype=np.float64)  # [n, d]
            y = np.asarray(hood.scores, dtype=np.float64)[:, target]  # [n]
            distances = np.asarray(hood.distances, dtype=np.float64)  # [n]
            width = width or NEIGHBOURHOOD_WIDTH_FACTOR * math.sqrt(d)
        else:
            # [m, d], row 0 all present; factors [m]: each mask's share of the population
            masks, factors = mask_neighbourhood(n, d, rng, self.params["sampling"])
            first, inverse = unique_rows(masks[1:])
            y = np.empty(masks.shape[0])
            y[0] = view.scores[target]
            batch = self.params["internal_batch_size"]
            distinct = evaluate_target(view, masks[1:][first], target, batch)
            y[1:] = distinct[inverse]
            data = masks.astype(np.float64)
            distances = cosine_distance_to_full(masks) * MASK_DISTANCE_SCALE
            width = width or MASK_KERNEL_WIDTH
        weights = exponential_kernel(distances, width)  # [n]
        if distribution is None:
            weights = weights * factors
        _require_variation(data, weights, distances, width)
        fit = ridge_surrogate(
            data, y, weights, self.params["num_features"], self.params["feature_selection"]
        )
        diagnostics = {
            "score": fit.score,
            "intercept": fit.intercept,
            "local_prediction": fit.local_prediction,
            "prediction": float(y[0]),
            "kernel_width": float(width),
        }
        if np.all(data[0] == 1.0):  # local_prediction = intercept + sum(coef)
            diagnostics["base_value"] = fit.intercept
            diagnostics["base_value_source"] = BASE_VALUE_SOURCE
        return Attribution(fit.coef, diagnostics)

    def _refuse_table_options(self) -> None:
        """Refuse sampling options set for a view without training data: they would be
        ignored, and the result would not be what the caller asked for."""
        table = ("discretize_continuous", "discretizer", "sample_around_instance")
        # a default passed back (metrics rebuild a method from Explanation.params) is harmless
        given = [k for k in table if self.params[k] != self.parameters[k].default]
        if given:
            raise InvalidParameterError(
                f"lime's {', '.join(given)} shape the neighbourhood of a table row (drawn "
                "from training statistics); this input's features are only masked (as "
                "lime_text / lime_image do), so they would be ignored. Leave them out here."
            )


def _require_variation(
    data: np.ndarray, weights: np.ndarray, distances: np.ndarray, width: float
) -> None:
    """Refuse a neighbourhood ``[n, d]`` whose weighted samples do not vary at all.

    Its local fit would be undetermined and come out as all-zero coefficients, which reads
    as "no feature matters". Causes: a kernel so narrow that only the instance keeps a
    weight, or samples that all share the instance's representation (tabular data without
    variation: one row, or identical rows).
    """
    mean = weights @ data / weights.sum()  # [d]
    if (weights @ (data - mean) ** 2).max() > 1e-12:
        return
    if np.ptp(data, axis=0).max() > 0:
        nearest = float(distances[distances > 0].min())  # a differing sample is not at 0
        raise InvalidParameterError(
            f"lime's kernel_width={width:.3g} is too narrow: every sample that differs from "
            f"the instance gets a weight of 0 (the nearest is at distance {nearest:.3g}), so "
            "the local fit sees no variation and every coefficient would be 0. Pass a "
            "kernel_width of the order of these distances, or None for lime's default."
        )
    raise MethodNotApplicableError(
        f"lime cannot fit its local surrogate here: all {data.shape[0]} samples of the "
        "neighbourhood have the instance's own representation (the same bins and "
        "categories), so every coefficient would be 0. For a table this means the data "
        "given to the explainer has no variation (e.g. one row, or identical rows): pass "
        "varied training rows as data=, or use kernel_shap or occlusion."
    )
