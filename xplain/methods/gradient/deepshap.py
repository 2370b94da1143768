"""DeepSHAP: DeepLIFT averaged over a background distribution."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch

from xplain._validation import NONE, SEED_SEQUENCE, Interval, Param
from xplain.limits import check_memory
from xplain.methods._completeness import completeness
from xplain.methods.base import GradientMethod
from xplain.methods.gradient._rescale import rescale_gradients
from xplain.methods.gradient.deeplift import DeepLift
from xplain.registry import register_method
from xplain.views import DifferentiableView

NO_BACKGROUND = (
    "no background data was given, so the view's baseline served as a one-row background "
    "and DeepSHAP equals DeepLIFT; pass background data for SHAP values"
)


@register_method
class DeepShap(GradientMethod):
    """DeepLIFT (rescale rule) from each background row, averaged.

    Lundberg and Lee (2017), "A Unified Approach to Interpreting Model Predictions"
    (NeurIPS), Deep SHAP; the same algorithm as Captum's ``DeepLiftShap``. Each input is
    paired with every row ``b_k`` of ``view.background`` ``[K, *S]``; all pairs go through
    the network in batched forwards ``[x, ..., x; b_1, ..., b_K]`` (``internal_batch_size``
    pairs at a time), and the attributions are the mean over ``k`` of DeepLIFT's
    ``(x - b_k) * multipliers_k``, weighted by the rows' ``view.background_weights`` (a
    k-means summary's cluster shares; equal when None). They sum to ``f(x) - E_w f(b)``,
    the difference every SHAP-family method explains (``diagnostics["base_value"]`` =
    ``E_w f(b)``, ``delta``), on networks where DeepLIFT is exact;
    ``diagnostics["completeness_gap"]`` reports the error
    (:mod:`xplain.methods._completeness`).

    Without background data (``view.background is None``) the view's baseline is used as
    a one-row background, which makes DeepSHAP equal to DeepLIFT;
    ``diagnostics["background_note"]`` says so. ``max_background`` keeps a random subset of
    a large background (drawn with ``seed``: uniformly without replacement, or, for
    weighted rows, with the weights as probabilities, so that the subset's mean estimates
    ``E_w``); the gap is still measured against ``E_w f(b)`` over every row. The pairs are
    held at once and must fit in ``xplain.limits``' ``max_memory_bytes``. See
    :class:`DeepLift` for the rule itself.
    """

    name: ClassVar[str] = "deepshap"
    reference: ClassVar[str] = "Lundberg & Lee 2017, arXiv:1705.07874"
    known_truth: ClassVar[str | None] = "exact"
    parameters = {
        "eps": DeepLift.parameters["eps"],
        "internal_batch_size": Param(
            None, Interval(int, 1), NONE, doc="input/background pairs per forward/backward"
        ),
        "max_background": Param(
            None, Interval(int, 1), NONE, doc="use at most this many background rows"
        ),
        "seed": Param(
            0, SEED_SEQUENCE, doc="seed of the background subset (None: not reproducible)"
        ),
    }

    def budget_fix(self) -> str:
        return "lower max_background"

    def planned_rows(self, view: DifferentiableView, n_points: int) -> int:
        """Each point with each kept background row; every row once more for ``E_w f(b)``
        when a subset is kept."""
        rows = 1 if view.background is None else view.background.shape[0]
        limit = self.params["max_background"]
        if limit is None or rows <= limit:
            return 2 * n_points * rows
        return 2 * n_points * limit + rows

    def attribute_points(
        self, view: DifferentiableView, points: torch.Tensor, target: int
    ) -> tuple[torch.Tensor, dict[str, Any]]:
        background, weights, subset, notes = self._background(view, points)  # [K, *S], [K]
        n, k, shape = points.shape[0], background.shape[0], points.shape[1:]
        pair_bytes = n * k * points[0].numel() * points.element_size()  # of inputs [N * K, *S]
        check_memory(self.name, pair_bytes, "lower max_background")
        # pairs, point-major: (x_1, b_1), ..., (x_1, b_K), (x_2, b_1), ...  [N * K, *S]
        inputs = points.detach().repeat_interleave(k, dim=0)
        references = background.repeat(n, *([1] * len(shape)))
        multipliers, scores, reference_scores, stats = rescale_gradients(
            view,
            inputs,
            references,
            target,
            self.params["eps"],
            self.params["internal_batch_size"],
            self.name,
        )
        pairs = ((inputs - references) * multipliers).view(n, k, *shape)
        attributions = (weights.to(pairs).view(1, k, *[1] * len(shape)) * pairs).sum(1)
        if subset:  # E_w f(b) over every background row, not the subset's mean
            full = view.background.to(points)
            full_scores = view.scores_at(full)[:, target]  # [K]
            base = _weights(view, full.shape[0]).to(full_scores) @ full_scores
        else:
            base = weights.to(reference_scores) @ reference_scores.view(n, k)[0]
        fx = scores.view(n, k)[:, 0]  # [N]
        return attributions, {**completeness(attributions, fx, base), **stats, **notes}

    def _background(
        self, view: DifferentiableView, points: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, bool, dict[str, Any]]:
        """Background rows ``[K, *S]``, their weights ``[K]``, whether they are a subset."""
        if view.background is None:
            notes = {"n_background": 1, "background_note": NO_BACKGROUND}
            return view.baseline.to(points), torch.ones(1, dtype=torch.float64), False, notes
        background = view.background.to(points)
        k = background.shape[0]
        weights = _weights(view, k)
        limit = self.params["max_background"]
        if limit is None or k <= limit:
            return background, weights, False, {"n_background": k}
        rng = np.random.default_rng(self.params["seed"])
        if view.background_weights is None:
            rows = np.sort(rng.choice(k, size=limit, replace=False))
            kept = torch.full((limit,), 1.0 / limit, dtype=torch.float64)
        else:
            # drawn with the weights as probabilities: the subset's mean estimates E_w
            counts = np.bincount(rng.choice(k, size=limit, p=weights.numpy()), minlength=k)
            rows = np.flatnonzero(counts)
            kept = torch.as_tensor(counts[rows] / limit, dtype=torch.float64)
        background = background[torch.as_tensor(rows, device=background.device)]
        return background, kept, True, {"n_background": background.shape[0]}


def _weights(view: DifferentiableView, k: int) -> torch.Tensor:
    """The weights ``[K]`` (float64) of the view's ``k`` background rows (None: equal)."""
    if view.background_weights is None:
        return torch.full((k,), 1.0 / k, dtype=torch.float64)
    return torch.as_tensor(np.asarray(view.background_weights, dtype=np.float64))
