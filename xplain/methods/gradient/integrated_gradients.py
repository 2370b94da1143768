"""Integrated Gradients with a choice of quadrature rule and an adaptive step count."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, ClassVar

import numpy as np
import torch

from xplain._validation import BOOLEAN, NONE, Interval, Options, Param
from xplain.errors import InvalidParameterError
from xplain.methods._completeness import completeness
from xplain.methods.base import GradientMethod, gradients
from xplain.methods.gradient._budget import rows_per_chunk
from xplain.methods.gradient._quadrature import NESTED, RULES, quadrature
from xplain.registry import register_method
from xplain.views import DifferentiableView

DEFAULT_STEPS = 16  # Gauss-Legendre and the Riemann rules
NESTED_START = 9  # adaptive trapezoid: nodes 9, 17, 33, ... (8, 16, 32... intervals)
FEJER_START = 15  # adaptive Fejer (the default): nodes 15, 31, 63, ...


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

    Without ``n_steps`` the rule is Fejer's second rule (``rule="fejer"``), adaptive from
    15 nodes: its nodes avoid the path's ends, where gradients can spike and the
    trapezoid rule converges only linearly, and they nest, so a failed check at 15 nodes
    adds 16 (31 in all), not a fresh 32 (measurements: README, "Design notes"). With
    ``n_steps`` given the rule is Gauss-Legendre (Captum's default), as it was. Gauss-
    Legendre's nodes do not nest: asked for adaptively, each pass starts afresh. The
    trapezoid rule's nodes nest too: with ``rule="riemann_trapezoid"`` and no
    ``n_steps``, adaptive passes keep every node and evaluate only the new midpoints
    (``T(2m) = T(m) / 2 + sum of new gradients / 2m``; 9, 17, 33... nodes).
    All points of a pass go through the model in batches of ``internal_batch_size`` rows
    (default: all at once, or as many as fit in one array of ``xplain.limits``'
    ``max_memory_bytes``). A call planning more model rows than ``max_model_rows``
    (adaptive: every pass up to ``max_steps``) is refused before any model call.
    """

    name: ClassVar[str] = "integrated_gradients"
    reference: ClassVar[str] = "Sundararajan et al. 2017, arXiv:1703.01365"
    known_truth: ClassVar[str | None] = "exact"
    parameters = {
        # default None: 15 Fejer points, 16 Gauss-Legendre / Riemann, 9 for the nested
        # trapezoid (not passable explicitly)
        "n_steps": Param(
            None, Interval(int, 1), doc="points on the path (fejer 15; trapezoid 9; else 16)"
        ),
        # default None: "fejer" without n_steps, "gausslegendre" with it
        "rule": Param(
            None, Options(RULES), NONE, doc="quadrature rule (None: fejer; with n_steps GL)"
        ),
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
        if self.params["rule"] is None:
            self.params["rule"] = "fejer" if self.params["n_steps"] is None else "gausslegendre"
        if self.params["adaptive"] is None:
            self.params["adaptive"] = self.params["n_steps"] is None
        if self.params["n_steps"] is None:
            start = {"riemann_trapezoid": NESTED_START, "fejer": FEJER_START}
            self.params["n_steps"] = start.get(self.params["rule"], DEFAULT_STEPS)
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
        while self.params["adaptive"] and (step := self._refine(n_steps)) is not None:
            n_steps, new = step
            total += new
        return n_points * (total + 1) + 1

    def _refine(self, n_steps: int) -> tuple[int, int] | None:
        """The step count of the next adaptive pass and the path points it evaluates, or
        None when ``max_steps`` allows no further pass. Fejer stops at its last nested
        rule within ``max_steps`` (511 at 512): a fresh rule would re-evaluate every node
        for a few more."""
        if n_steps >= self.params["max_steps"]:
            return None
        nested = NESTED.get(self.params["rule"])
        if nested is not None and nested(n_steps) <= self.params["max_steps"]:
            return nested(n_steps), nested(n_steps) - n_steps  # the new nodes only
        if self.params["rule"] == "fejer":
            return None
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
        # adaptive Fejer: every node's gradient goes into the sum of each nested rule that
        # holds it (their weights differ), so a refinement evaluates only the new nodes
        sums = None
        if self.params["adaptive"] and self.params["rule"] == "fejer":
            sums = _NestedSums(n_steps, self.params["max_steps"], points)
            self._accumulate(sums, n_steps, np.arange(n_steps), view, points, baseline, target)
            mean_gradient = sums.sums[n_steps]
        else:
            mean_gradient = self._mean_gradient(view, points, baseline, target, n_steps)
        while True:
            attributions = mean_gradient * diff
            diagnostics = completeness(attributions, end_scores, base_score)
            converged = diagnostics["completeness_gap"] <= self.params["tolerance"]
            step = self._refine(n_steps) if self.params["adaptive"] and not converged else None
            if step is None:
                break
            refined, new = step
            if sums is not None:
                # the old nodes are the odd-numbered ones of the new rule: add the even ones
                new_nodes = np.arange(0, refined, 2)
                self._accumulate(sums, refined, new_nodes, view, points, baseline, target)
                mean_gradient = sums.sums[refined]
            elif sums is None and new < refined:
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
        total = torch.zeros_like(points)
        for part, grads in self._chunked_gradients(view, points, baseline, target, alphas):
            total = total + _weighted_sum(grads, weights[part])
        return total

    def _accumulate(
        self,
        sums: _NestedSums,
        n_steps: int,
        positions: np.ndarray,
        view: DifferentiableView,
        points: torch.Tensor,
        baseline: torch.Tensor,
        target: int,
    ) -> None:
        """Add the gradients at the nodes ``positions`` of the ``n_steps``-node Fejer rule
        to ``sums``, the path built a chunk of nodes at a time."""
        alphas = torch.as_tensor(quadrature("fejer", n_steps)[0][positions])
        for part, grads in self._chunked_gradients(view, points, baseline, target, alphas):
            sums.add(n_steps, positions[part], grads)

    def _chunked_gradients(
        self,
        view: DifferentiableView,
        points: torch.Tensor,
        baseline: torch.Tensor,
        target: int,
        alphas: torch.Tensor,
    ) -> Iterator[tuple[slice, torch.Tensor]]:
        """The gradients at ``alphas`` a chunk at a time, each chunk's path one array
        within ``xplain.limits``' ``max_memory_bytes``: (its slice of ``alphas``,
        ``[chunk, N, *S]``)."""
        step = max(1, rows_per_chunk(points[0]) // points.shape[0])
        for start in range(0, len(alphas), step):
            part = slice(start, start + step)
            yield part, self._path_gradients(view, points, baseline, target, alphas[part])

    def _path_gradients(
        self,
        view: DifferentiableView,
        points: torch.Tensor,
        baseline: torch.Tensor,
        target: int,
        alphas: torch.Tensor,
    ) -> torch.Tensor:
        """``grad f(baseline + alphas[j] (point - baseline))`` ``[n_alphas, N, *S]``."""
        n_points, shape = points.shape[0], points.shape[1:]
        alpha = alphas.to(points).view(-1, 1, *([1] * len(shape)))
        # path points, step-major: [n_alphas, N, *S] -> [n_alphas * N, *S]
        path = (baseline + alpha * (points - baseline).unsqueeze(0)).reshape(-1, *shape)
        grads = gradients(view, path, target, self.params["internal_batch_size"])
        return grads.view(len(alphas), n_points, *shape)


def _weighted_sum(grads: torch.Tensor, weights: torch.Tensor | np.ndarray) -> torch.Tensor:
    """``sum_j weights[j] grads[j]``: ``[n, N, *S]`` and ``[n]`` -> ``[N, *S]``."""
    weight = torch.as_tensor(weights).to(grads)
    return (weight.view(-1, *[1] * (grads.dim() - 1)) * grads).sum(0)


class _NestedSums:
    """Weighted gradient sums ``[N, *S]`` of the nested Fejer rules of ``start``,
    ``2 start + 1``, ... nodes up to ``max_steps``, filled as nodes are evaluated: a node's
    gradient is added to the sum of every rule that holds it and then dropped, so memory
    is one sum per rule, not one gradient per node."""

    def __init__(self, start: int, max_steps: int, like: torch.Tensor) -> None:
        levels = [start]
        while NESTED["fejer"](levels[-1]) <= max_steps:
            levels.append(NESTED["fejer"](levels[-1]))
        self.levels = levels
        self.weights = {n: quadrature("fejer", n)[1] for n in levels}
        self.sums = {n: torch.zeros_like(like) for n in levels}

    def add(self, n_steps: int, positions: np.ndarray, grads: torch.Tensor) -> None:
        """Add ``grads`` ``[k, N, *S]``, at the nodes ``positions`` of the ``n_steps``
        rule, to the sums of that rule and of every finer one."""
        for level in self.levels[self.levels.index(n_steps) :]:
            self.sums[level] += _weighted_sum(grads, self.weights[level][positions])
            positions = 2 * positions + 1  # node k of a rule is node 2k + 1 of the next
