"""Integrated Gradients with a choice of quadrature rule and an adaptive step count."""

from __future__ import annotations

from typing import Any, ClassVar

import torch

from xplain._validation import BOOLEAN, NONE, Interval, Options, Param
from xplain.adapters.base import DifferentiableView
from xplain.methods.base import GradientMethod, gradients
from xplain.methods.gradient._quadrature import RULES, quadrature
from xplain.registry import register_method

DEFAULT_STEPS = 16


@register_method
class IntegratedGradients(GradientMethod):
    """Path integral of gradients from a baseline to the input.

    Sundararajan, Taly and Yan (2017), "Axiomatic Attribution for Deep Networks" (ICML).
    Attributions sum to f(x) - f(baseline) (completeness) up to the quadrature error,
    which is reported as ``diagnostics["completeness_gap"]`` =
    |sum(attributions) - (f(x) - f(baseline))| / |f(x) - f(baseline)|. With
    ``adaptive=True`` the step count doubles until the gap is below ``tolerance``; by
    default (``adaptive=None``) that happens only when ``n_steps`` is not given, so the
    defaults meet the 1% gap while an explicit ``n_steps`` is used exactly.
    All ``n_steps`` points of the path go through the model in batches of
    ``internal_batch_size`` rows (default: all at once).
    """

    name: ClassVar[str] = "integrated_gradients"
    reference: ClassVar[str] = "Sundararajan et al. 2017, arXiv:1703.01365"
    parameters = {
        "n_steps": Param(DEFAULT_STEPS, Interval(int, 1), doc="points on the path"),
        "rule": Param("gausslegendre", Options(RULES), doc="quadrature rule"),
        "internal_batch_size": Param(
            None, Interval(int, 1), NONE, doc="rows per forward/backward"
        ),
        "adaptive": Param(
            None, BOOLEAN, NONE, doc="double n_steps until gap <= tolerance (None: if no n_steps)"
        ),
        "tolerance": Param(0.01, Interval(float, 0, None, closed="neither"), doc="target gap"),
        "max_steps": Param(512, Interval(int, 1), doc="cap on n_steps in adaptive mode"),
    }

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        if self.params["adaptive"] is None:
            self.params["adaptive"] = "n_steps" not in params
        if self.params["rule"] == "riemann_trapezoid" and self.params["n_steps"] < 2:
            from xplain.errors import InvalidParameterError

            raise InvalidParameterError(
                "The 'n_steps' parameter of integrated_gradients must be an int >= 2 with "
                f"rule='riemann_trapezoid'. Got {self.params['n_steps']}."
            )

    def attribute_points(
        self, view: DifferentiableView, points: torch.Tensor, target: int
    ) -> tuple[torch.Tensor, dict[str, Any]]:
        baseline = view.baseline.to(points.dtype)
        # f at the points and at the baseline: [N] and [1]
        end_scores = view.scores_at(points)[:, target]
        with torch.no_grad():
            base_score = view.forward(baseline)[:, target]
        delta = end_scores - base_score  # [N]

        n_steps = self.params["n_steps"]
        while True:
            attributions = self._integrate(view, points, baseline, target, n_steps)
            total = attributions.flatten(1).sum(1).to(delta.dtype)  # [N]
            gap = ((total - delta).abs() / delta.abs().clamp_min(1e-12)).max().item()
            if not self.params["adaptive"] or gap <= self.params["tolerance"]:
                break
            if n_steps >= self.params["max_steps"]:
                break
            n_steps = min(2 * n_steps, self.params["max_steps"])
        error = total - delta  # [N]
        diagnostics = {
            "completeness_gap": gap,
            "convergence_delta": error[error.abs().argmax()].item(),
            "n_steps": n_steps,
        }
        return attributions, diagnostics

    def _integrate(
        self,
        view: DifferentiableView,
        points: torch.Tensor,
        baseline: torch.Tensor,
        target: int,
        n_steps: int,
    ) -> torch.Tensor:
        alphas, weights = quadrature(self.params["rule"], n_steps)
        n_points = points.shape[0]
        shape = points.shape[1:]
        alpha = torch.as_tensor(alphas, dtype=points.dtype).view(-1, 1, *([1] * len(shape)))
        diff = points - baseline  # [N, *S]
        # path points, step-major: [n_steps, N, *S] -> [n_steps * N, *S]
        path = (baseline + alpha * diff.unsqueeze(0)).reshape(-1, *shape)
        grads = gradients(view, path, target, self.params["internal_batch_size"])
        grads = grads.view(n_steps, n_points, *shape)
        weight = torch.as_tensor(weights, dtype=grads.dtype).view(-1, 1, *([1] * len(shape)))
        return (weight * grads).sum(0) * diff
