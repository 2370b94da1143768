"""DeepSHAP: DeepLIFT averaged over a background distribution."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch

from xplain._validation import NONE, SEED, Interval, Param
from xplain.adapters.base import DifferentiableView
from xplain.methods.base import GradientMethod
from xplain.methods.gradient._rescale import completeness, rescale_gradients
from xplain.methods.gradient.deeplift import DeepLift
from xplain.registry import register_method

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
    ``(x - b_k) * multipliers_k``. They sum to ``f(x) - mean_k f(b_k)`` on networks where
    DeepLIFT is exact; ``diagnostics["completeness_gap"]`` reports the relative error.

    Without background data (``view.background is None``) the view's baseline is used as
    a one-row background, which makes DeepSHAP equal to DeepLIFT;
    ``diagnostics["background_note"]`` says so. ``max_background`` keeps a random subset of
    a large background (drawn with ``seed``). See :class:`DeepLift` for the rule itself.
    """

    name: ClassVar[str] = "deepshap"
    needs: ClassVar[frozenset[str]] = frozenset({"gradients", "modules", "background"})
    reference: ClassVar[str] = "Lundberg & Lee 2017, arXiv:1705.07874"
    parameters = {
        "eps": DeepLift.parameters["eps"],
        "internal_batch_size": Param(
            None, Interval(int, 1), NONE, doc="input/background pairs per forward/backward"
        ),
        "max_background": Param(
            None, Interval(int, 1), NONE, doc="use at most this many background rows"
        ),
        "seed": Param(0, SEED, doc="seed of the background subset (None: not reproducible)"),
    }

    def attribute_points(
        self, view: DifferentiableView, points: torch.Tensor, target: int
    ) -> tuple[torch.Tensor, dict[str, Any]]:
        background, notes = self._background(view, points)  # [K, *S]
        n, k, shape = points.shape[0], background.shape[0], points.shape[1:]
        # pairs, point-major: (x_1, b_1), ..., (x_1, b_K), (x_2, b_1), ...  [N * K, *S]
        inputs = points.detach().repeat_interleave(k, dim=0)
        references = background.repeat(n, *([1] * len(shape)))
        multipliers, delta, stats = rescale_gradients(
            view,
            inputs,
            references,
            target,
            self.params["eps"],
            self.params["internal_batch_size"],
            self.name,
        )
        attributions = ((inputs - references) * multipliers).view(n, k, *shape).mean(1)
        delta = delta.view(n, k).mean(1)  # f(x) - mean_k f(b_k)
        return attributions, {**completeness(attributions, delta), **stats, **notes}

    def _background(
        self, view: DifferentiableView, points: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, Any]]:
        if view.background is None:
            return view.baseline.to(points), {"n_background": 1, "background_note": NO_BACKGROUND}
        background = view.background.to(points)
        limit = self.params["max_background"]
        if limit is not None and background.shape[0] > limit:
            rng = np.random.default_rng(self.params["seed"])
            rows = np.sort(rng.choice(background.shape[0], size=limit, replace=False))
            background = background[torch.as_tensor(rows, device=background.device)]
        return background, {"n_background": background.shape[0]}
