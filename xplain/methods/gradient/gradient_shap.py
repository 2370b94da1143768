"""GradientSHAP (expected gradients): Integrated Gradients sampled over a background."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch

from xplain._validation import NONE, SEED, Interval, Param
from xplain.adapters.base import DifferentiableView
from xplain.methods.base import GradientMethod, gradients
from xplain.methods.gradient._rescale import completeness
from xplain.registry import register_method


@register_method
class GradientShap(GradientMethod):
    """Gradients at random points between random background rows and the (noisy) input.

    Erion, Janizek, Sturmfels, Lundberg and Lee (2021), "Improving performance of deep
    learning models with axiomatic attribution priors and expected gradients" (Nature
    Machine Intelligence); Lundberg and Lee (2017), SHAP's ``GradientExplainer``; the same
    estimator as Captum's ``GradientShap``. For each of ``n_samples`` draws: a background
    row ``b`` (uniformly, with replacement, from ``view.background``, or the view's
    baseline when there is none), Gaussian noise ``e`` of std ``stdevs`` (absolute, in
    input units; 0 = none), ``alpha ~ U(0, 1)``; the sample is ``grad f(b + alpha (x + e -
    b)) * (x + e - b)`` and the attribution is the mean over samples. Its expectation is
    Integrated Gradients averaged over the background. All samples go through the model in
    batches of ``internal_batch_size`` rows (default: all at once).

    Diagnostics: ``completeness_gap`` = |sum - (f(x) - mean_s f(b_s))| / |f(x) - mean_s
    f(b_s)| over the drawn rows ``b_s`` (a Monte-Carlo error, not zero even for a linear
    model when ``stdevs > 0``), and ``std_err``, the standard error of the sum of the
    attributions over the samples.
    """

    name: ClassVar[str] = "gradient_shap"
    needs: ClassVar[frozenset[str]] = frozenset({"gradients", "background"})
    reference: ClassVar[str] = "Erion et al. 2021, arXiv:1906.10670"
    parameters = {
        "n_samples": Param(50, Interval(int, 1), doc="random points per input"),
        "stdevs": Param(0.0, Interval(float, 0, None), doc="std of Gaussian input noise"),
        "seed": Param(0, SEED, doc="seed of the draws (None: not reproducible)"),
        "internal_batch_size": Param(
            None, Interval(int, 1), NONE, doc="rows per forward/backward"
        ),
    }

    def draw(
        self, n_points: int, n_background: int, shape: tuple[int, ...]
    ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
        """Random background rows ``[N, n]``, noise ``[N, n, *S]`` (or None), alphas ``[N, n]``.

        Drawn in that order from one ``np.random.Generator(seed)`` (Captum's order).
        """
        n = self.params["n_samples"]
        rng = np.random.default_rng(self.params["seed"])
        rows = rng.integers(n_background, size=(n_points, n))
        stdevs = self.params["stdevs"]
        noise = rng.normal(0.0, stdevs, size=(n_points, n, *shape)) if stdevs > 0 else None
        alphas = rng.random((n_points, n))
        return rows, noise, alphas

    def attribute_points(
        self, view: DifferentiableView, points: torch.Tensor, target: int
    ) -> tuple[torch.Tensor, dict[str, Any]]:
        background = view.background if view.background is not None else view.baseline
        background = background.to(points)  # [K, *S]
        n_points, shape, n = points.shape[0], tuple(points.shape[1:]), self.params["n_samples"]
        rows, noise, alphas = self.draw(n_points, background.shape[0], shape)

        def tensor(a: np.ndarray) -> torch.Tensor:
            return torch.as_tensor(a, dtype=points.dtype, device=points.device)

        ends = points.detach().unsqueeze(1).expand(n_points, n, *shape)  # [N, n, *S]
        if noise is not None:
            ends = ends + tensor(noise)
        starts = background[torch.as_tensor(rows, device=points.device)]  # [N, n, *S]
        alpha = tensor(alphas).view(n_points, n, *([1] * len(shape)))
        diff = ends - starts
        path = (starts + alpha * diff).reshape(-1, *shape)  # [N * n, *S], point-major
        grads = gradients(view, path, target, self.params["internal_batch_size"])
        samples = grads.view(n_points, n, *shape) * diff  # [N, n, *S]
        attributions = samples.mean(1)

        # f(x) - mean over the drawn rows of f(b): each distinct row evaluated once
        drawn = torch.as_tensor(rows, device=points.device)  # [N, n]
        unique, inverse = torch.unique(drawn, return_inverse=True)  # [U], [N, n]
        base_scores = view.scores_at(background[unique])[:, target]  # [U]
        delta = view.scores_at(points)[:, target] - base_scores[inverse].mean(1)
        diagnostics = completeness(attributions, delta)
        if n > 1:
            totals = samples.flatten(2).sum(2)  # [N, n]
            diagnostics["std_err"] = (totals.std(1) / n**0.5).max().item()
        return attributions, diagnostics
