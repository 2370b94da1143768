"""GradientSHAP (expected gradients): Integrated Gradients sampled over a background."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch

from xplain._validation import NONE, SEED_SEQUENCE, Interval, Param
from xplain.methods._completeness import completeness
from xplain.methods.base import GradientMethod, gradients
from xplain.methods.gradient._budget import check_noise, rows_per_chunk
from xplain.registry import register_method
from xplain.views import DifferentiableView


@register_method
class GradientShap(GradientMethod):
    """Gradients at random points between random background rows and the (noisy) input.

    Erion, Janizek, Sturmfels, Lundberg and Lee (2021), "Improving performance of deep
    learning models with axiomatic attribution priors and expected gradients" (Nature
    Machine Intelligence); Lundberg and Lee (2017), SHAP's ``GradientExplainer``; the same
    estimator as Captum's ``GradientShap``. For each of ``n_samples`` draws: a background
    row ``b`` (with replacement from ``view.background``, with probabilities
    ``view.background_weights``, uniformly when they are None or equal; the view's
    baseline when there is no background), Gaussian noise ``e`` of std ``stdevs``
    (absolute, in input units; 0 = none), ``alpha ~ U(0, 1)``; the sample is ``grad f(b +
    alpha (x + e - b)) * (x + e - b)`` and the attribution is the mean over samples. Its
    expectation is Integrated Gradients averaged over the weighted background, which sums
    to ``f(x) - E_w f(b)``, as every SHAP-family method. The samples go through the model in
    batches of ``internal_batch_size`` rows (default: as many as fit in one array of
    ``xplain.limits``' ``max_memory_bytes``); a call planning more than ``max_model_rows``
    rows is refused before any model call.

    Diagnostics: ``completeness_gap`` of the sum against ``delta`` = ``f(x) - E_w f(b)``
    with ``base_value`` = ``E_w f(b)`` over every background row (a Monte-Carlo error: the
    drawn rows, alphas and noise; see :mod:`xplain.methods._completeness`), and
    ``std_err``, the standard error of the sum of the attributions over the samples.
    """

    name: ClassVar[str] = "gradient_shap"
    reference: ClassVar[str] = "Erion et al. 2021, arXiv:1906.10670"
    known_truth: ClassVar[str | None] = "exact"
    parameters = {
        "n_samples": Param(50, Interval(int, 1), doc="random points per input"),
        "stdevs": Param(
            0.0, Interval(float, 0, None), doc="std of Gaussian input noise"
        ),
        "seed": Param(0, SEED_SEQUENCE, doc="seed of the draws (None: not reproducible)"),
        "internal_batch_size": Param(
            None, Interval(int, 1), NONE, doc="rows per forward/backward"
        ),
    }

    def budget_fix(self) -> str:
        return "lower n_samples"

    def planned_rows(self, view: DifferentiableView, n_points: int) -> int:
        """The samples of every point, the points and every background row once."""
        rows = 1 if view.background is None else view.background.shape[0]
        return n_points * (self.params["n_samples"] + 1) + rows

    def draw(
        self,
        n_points: int,
        n_background: int,
        shape: tuple[int, ...],
        weights: np.ndarray | None = None,
    ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
        """Random background rows ``[N, n]``, noise ``[N, n, *S]`` (or None), alphas ``[N, n]``.

        Drawn from one ``np.random.Generator(seed)``: the rows (uniformly, or with
        probabilities ``weights``), the alphas, then the noise, sample by sample,
        point-major; ``attribute_points`` draws the very same in chunks.
        """
        n = self.params["n_samples"]
        rng = np.random.default_rng(self.params["seed"])
        rows, alphas = self._rows_and_alphas(rng, n_points * n, n_background, weights)
        stdevs = self.params["stdevs"]
        noise = rng.normal(0.0, stdevs, size=(n_points, n, *shape)) if stdevs > 0 else None
        return rows.reshape(n_points, n), noise, alphas.reshape(n_points, n)

    @staticmethod
    def _rows_and_alphas(
        rng: np.random.Generator, count: int, n_background: int, weights: np.ndarray | None
    ) -> tuple[np.ndarray, np.ndarray]:
        """``count`` background row indices and alphas ``U(0, 1)``."""
        if weights is None:
            rows = rng.integers(n_background, size=count)
        else:
            rows = rng.choice(n_background, size=count, p=weights)
        return rows, rng.random(count)

    def attribute_points(
        self, view: DifferentiableView, points: torch.Tensor, target: int
    ) -> tuple[torch.Tensor, dict[str, Any]]:
        background = view.background if view.background is not None else view.baseline
        background = background.to(points)  # [K, *S]
        k = background.shape[0]
        weights = _weights(view)
        n_points, shape, n = points.shape[0], tuple(points.shape[1:]), self.params["n_samples"]
        stdevs = self.params["stdevs"]
        check_noise(self.name, "stdevs", stdevs, stdevs, points.dtype)
        rng = np.random.default_rng(self.params["seed"])
        rows, alphas = self._rows_and_alphas(rng, n_points * n, k, weights)  # [N * n]

        def tensor(a: np.ndarray) -> torch.Tensor:
            return torch.as_tensor(a, dtype=points.dtype, device=points.device)

        # samples point-major, a chunk at a time: point of sample i is i // n
        total = torch.zeros_like(points)  # [N, *S]
        sample_totals = points.new_empty(n_points * n)  # [N * n]
        step = rows_per_chunk(points[0])
        for start in range(0, n_points * n, step):
            stop = min(n_points * n, start + step)
            owner = torch.arange(start, stop, device=points.device) // n  # [c]
            ends = points.detach()[owner]  # [c, *S]
            if stdevs > 0:
                ends = ends + tensor(rng.normal(0.0, stdevs, size=(stop - start, *shape)))
            starts = background[torch.as_tensor(rows[start:stop], device=points.device)]
            diff = ends - starts
            alpha = tensor(alphas[start:stop]).view(-1, *([1] * len(shape)))
            path = starts + alpha * diff  # [c, *S]
            grads = gradients(view, path, target, self.params["internal_batch_size"])
            samples = grads * diff
            total.index_add_(0, owner, samples)
            sample_totals[start:stop] = samples.flatten(1).sum(1)
        attributions = total / n

        # f(x) - E_w f(b) over every background row, the difference all SHAP methods explain
        background_scores = view.scores_at(background)[:, target]  # [K]
        full_weights = torch.full((k,), 1.0 / k) if weights is None else torch.as_tensor(weights)
        base = full_weights.to(background_scores) @ background_scores
        diagnostics = completeness(attributions, view.scores_at(points)[:, target], base)
        if n > 1:
            totals = sample_totals.view(n_points, n)
            diagnostics["std_err"] = (totals.std(1) / n**0.5).max().item()
        return attributions, diagnostics


def _weights(view: DifferentiableView) -> np.ndarray | None:
    """The background rows' weights ``[K]``, or None when they are equal (uniform draws,
    Captum's)."""
    if view.background is None or view.background_weights is None:
        return None
    weights = np.asarray(view.background_weights, dtype=np.float64)
    return None if np.all(weights == weights[0]) else weights
