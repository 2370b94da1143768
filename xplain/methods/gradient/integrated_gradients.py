"""Integrated Gradients with a choice of quadrature rule and an adaptive step count."""

from __future__ import annotations

from typing import Any, ClassVar

import torch

from xplain._validation import BOOLEAN, NONE, Interval, Options, Param
from xplain.errors import InvalidParameterError
from xplain.methods._completeness import completeness
from xplain.methods.base import GradientMethod, gradients
from xplain.methods.gradient._budget import rows_per_chunk
from xplain.methods.gradient._quadrature import RULES, quadrature
from xplain.registry import register_method
from xplain.views import DifferentiableView

DEFAULT_STEPS = 16  # Gauss-Legendre and the Riemann rules
NESTED_START = 9  # adaptive trapezoid: nodes 9, 17, 33, ... (8, 16, 32... intervals)


@register_method
class IntegratedGradients(GradientMethod):
    """Path integral of gradients from a baseline to the input.

    Sundararajan, Taly and Yan (2017), "Axiomatic Attribution for Deep Networks" (ICML).
    Attributions sum to f(x) - f(baseline) (completeness) up to the quadrature error,
    which is reported as ``diagnostics["completeness_gap"]`` =
    |sum(attributions) - delta| / |delta|, ``delta`` = f(x) - f(baseline), or, when
    ``delta`` is near zero, the absolute error in units of 0.1% of the scores (see
    :mod:`xplain.methods._completeness`; ``delta``, ``base_value`` = f(baseline) and the
    signed error ``convergence_delta`` are reported too). With
    ``adaptive=True`` the step count doubles until the gap is below ``tolerance``; by
    default (``adaptive=None``) that happens only when ``n_steps`` is not given, so the
    defaults meet the 1% gap while an explicit ``n_steps`` is used exactly.

    The default rule is Gauss-Legendre, the robust choice: its nodes avoid the path's
    ends, where gradients can spike and the trapezoid rule converges only linearly
    (measurements: README, "Design notes"). Its nodes do not nest, so each adaptive pass
    starts afresh. The trapezoid rule's nodes do nest: with
    ``rule="riemann_trapezoid"`` and no ``n_steps``, adaptive passes keep every node and
    evaluate only the new midpoints (``T(2m) = T(m) / 2 + sum of new gradients / 2m``;
    9, 17, 33... nodes).
    All points of a pass go through the model in batches of ``internal_batch_size`` rows
    (default: all at once, or as many as fit in one array of ``xplain.limits``'
    ``max_memory_bytes``). A call planning more model rows than ``max_model_rows``
    (adaptive: every pass up to ``max_steps``) is refused before any model call.
    """

    name: ClassVar[str] = "integrated_gradients"
    reference: ClassVar[str] = "Sundararajan et al. 2017, arXiv:1703.01365"
    known_truth: ClassVar[str | None] = "exact"
    parameters = {
        # default None: 16 points, or 9 for the nested trapezoid (not passable explicitly)
        "n_steps": Param(None, Interval(int, 1), doc="points on the path (16; trapezoid 9)"),
        "rule": Param("gausslegendre", Options(RULES), doc="quadrature rule"),
        "internal_batch_size": Param(
            None, Interval(int, 1), NONE, doc="rows per forward/backward"
        ),
        "adaptive": Param(
            None, BOOLEAN, NONE, doc="double n_steps until gap <= tolerance (None: if no n_steps)"
        ),
        "tolerance": Param(
            0.01, Interval(float, 0, None, closed="neither"), doc="target gap"
        ),
        "max_steps": Param(512, Interval(int, 1), doc="cap on n_steps in adaptive mode"),
    }

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        if self.params["adaptive"] is None:
            self.params["adaptive"] = self.params["n_steps"] is None
        if self.params["n_steps"] is None:
            nested = self.params["rule"] == "riemann_trapezoid"
            self.params["n_steps"] = NESTED_START if nested else DEFAULT_STEPS
        if self.params["rule"] == "riemann_trapezoid" and self.params["n_steps"] < 2:
            raise InvalidParameterError(
                "The 'n_steps' parameter of integrated_gradients must be an int >= 2 with "
                f"rule='riemann_trapezoid'. Got {self.params['n_steps']}."
            )
        if self.params["adaptive"] and self.params["max_steps"] < self.params["n_steps"]:
            # the first adaptive pass already evaluates n_steps points: the cap would be a lie
            raise InvalidParameterError(
                "The 'max_steps' parameter of integrated_gradients caps the adaptive step "
                f"count, which starts at n_steps={self.params['n_steps']}; max_steps="
                f"{self.params['max_steps']} is below it. Pass max_steps >= n_steps, or a "
                "smaller n_steps (with adaptive=False for exactly that many)."
            )

    def budget_fix(self) -> str:
        return "lower max_steps" if self.params["adaptive"] else "lower n_steps"

    def planned_rows(self, view: DifferentiableView, n_points: int) -> int:
        """Path points of every pass (adaptive: up to ``max_steps``), input and baseline."""
        n_steps = total = self.params["n_steps"]
        while self.params["adaptive"] and n_steps < self.params["max_steps"]:
            n_steps, new = self._refine(n_steps)
            total += new
        return n_points * (total + 1) + 1

    def _refine(self, n_steps: int) -> tuple[int, int]:
        """The step count of the next adaptive pass and the path points it evaluates."""
        intervals = n_steps - 1
        nested = self.params["rule"] == "riemann_trapezoid"
        if nested and 2 * intervals + 1 <= self.params["max_steps"]:
            return 2 * intervals + 1, intervals  # the midpoints only
        n_steps = min(2 * n_steps, self.params["max_steps"])
        return n_steps, n_steps

    def attribute_points(
        self, view: DifferentiableView, points: torch.Tensor, target: int
    ) -> tuple[torch.Tensor, dict[str, Any]]:
        baseline = view.baseline.to(points.dtype)
        # f at the points and at the baseline: [N] and [1]
        end_scores = view.scores_at(points)[:, target]
        with torch.no_grad():
            base_score = view.forward(baseline)[:, target]

        n_steps = self.params["n_steps"]
        diff = points - baseline  # [N, *S]
        mean_gradient = self._mean_gradient(view, points, baseline, target, n_steps)
        while True:
            attributions = mean_gradient * diff
            diagnostics = completeness(attributions, end_scores, base_score)
            converged = diagnostics["completeness_gap"] <= self.params["tolerance"]
            if not self.params["adaptive"] or converged or n_steps >= self.params["max_steps"]:
                break
            refined, new = self._refine(n_steps)
            if new < refined:
                # keep every node, add the midpoints of the n_steps - 1 intervals
                midpoints = (torch.arange(new, dtype=torch.float64) + 0.5) / new
                weights = torch.full((new,), 1.0 / new, dtype=torch.float64)
                added = self._weighted_gradients(view, points, baseline, target, midpoints, weights)
                mean_gradient = (mean_gradient + added) / 2
            else:
                mean_gradient = self._mean_gradient(view, points, baseline, target, refined)
            n_steps = refined
        return attributions, {**diagnostics, "n_steps": n_steps}

    def _mean_gradient(
        self,
        view: DifferentiableView,
        points: torch.Tensor,
        baseline: torch.Tensor,
        target: int,
        n_steps: int,
    ) -> torch.Tensor:
        """The rule's weighted mean of the gradients along each path ``[N, *S]``."""
        alphas, weights = quadrature(self.params["rule"], n_steps)
        return self._weighted_gradients(
            view, points, baseline, target, torch.as_tensor(alphas), torch.as_tensor(weights)
        )

    def _weighted_gradients(
        self,
        view: DifferentiableView,
        points: torch.Tensor,
        baseline: torch.Tensor,
        target: int,
        alphas: torch.Tensor,
        weights: torch.Tensor,
    ) -> torch.Tensor:
        """``sum_j weights[j] grad f(baseline + alphas[j] (point - baseline))`` ``[N, *S]``.

        The path is built a chunk of alphas at a time, each chunk one array within
        ``xplain.limits``' ``max_memory_bytes``.
        """
        n_points, shape = points.shape[0], points.shape[1:]
        step = max(1, rows_per_chunk(points[0]) // n_points)
        total = torch.zeros_like(points)
        for start in range(0, len(alphas), step):
            alpha = alphas[start : start + step].to(points)
            alpha = alpha.view(-1, 1, *([1] * len(shape)))
            # path points, step-major: [n_alphas, N, *S] -> [n_alphas * N, *S]
            path = (baseline + alpha * (points - baseline).unsqueeze(0)).reshape(-1, *shape)
            grads = gradients(view, path, target, self.params["internal_batch_size"])
            grads = grads.view(len(alpha), n_points, *shape)
            weight = weights[start : start + step].to(grads)
            total = total + (weight.view(-1, *[1] * points.dim()) * grads).sum(0)
        return total
