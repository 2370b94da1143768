"""Quadrature rules on [0, 1] for path integrals (Integrated Gradients and friends)."""

from __future__ import annotations

import numpy as np

RULES = ("gausslegendre", "riemann_left", "riemann_right", "riemann_middle", "riemann_trapezoid")


def quadrature(rule: str, n_steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Nodes ``alphas`` in [0, 1] and weights summing to 1 for ``n_steps`` points.

    The trapezoid rule uses ``n_steps`` equally spaced nodes including both ends, with
    half weight at the ends, so its weights sum to exactly 1 (unlike Captum's, which
    sum to (n - 1) / n and shrink attributions by that factor).
    """
    n = n_steps
    if rule == "gausslegendre":
        nodes, weights = np.polynomial.legendre.leggauss(n)
        return (nodes + 1) / 2, weights / 2
    if rule == "riemann_trapezoid":
        if n < 2:
            raise ValueError("the trapezoid rule needs n_steps >= 2")
        alphas = np.linspace(0.0, 1.0, n)
        weights = np.full(n, 1.0 / (n - 1))
        weights[[0, -1]] /= 2
        return alphas, weights
    offset = {"riemann_left": 0.0, "riemann_right": 1.0, "riemann_middle": 0.5}[rule]
    return (np.arange(n) + offset) / n, np.full(n, 1.0 / n)
