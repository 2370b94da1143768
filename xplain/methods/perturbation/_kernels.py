"""Weighting kernels of the perturbation family: Shapley kernel and LIME's exponential kernel."""

from __future__ import annotations

import numpy as np


def shapley_size_mass(d: int) -> np.ndarray:
    """Total Shapley-kernel weight of each coalition size ``s``: ``[d + 1]``, summing to 1.

    Lundberg and Lee (2017), Theorem 2: a coalition of size ``0 < s < d`` has weight
    ``(d - 1) / (C(d, s) s (d - s))``, so all coalitions of size ``s`` together weigh
    ``(d - 1) / (s (d - s))``. The empty and the full coalition (infinite weight) are
    not in the regression: they enter through the efficiency constraint. Entries 0 and
    ``d`` are therefore 0.
    """
    mass = np.zeros(d + 1)
    if d < 2:
        return mass
    sizes = np.arange(1, d)
    mass[1:d] = 1.0 / (sizes * (d - sizes))
    return mass / mass.sum()


def shapley_coalition_weight(d: int, sizes: np.ndarray) -> np.ndarray:
    """Normalised Shapley-kernel weight of one coalition of each size in ``sizes`` ``[n]``."""
    from scipy.special import gammaln  # scipy on first use, not at ``import xplain``

    sizes = np.asarray(sizes)
    log_binom = gammaln(d + 1) - gammaln(sizes + 1) - gammaln(d - sizes + 1)
    return shapley_size_mass(d)[sizes] * np.exp(-log_binom)


def exponential_kernel(distances: np.ndarray, width: float) -> np.ndarray:
    """LIME's similarity ``sqrt(exp(-D^2 / width^2))`` of each distance ``[n]``.

    Ribeiro, Singh and Guestrin (2016), Sec. 3.4; the square root is the one in
    ``lime.lime_tabular`` / ``lime.lime_text`` (so ``width`` means what it means there).
    """
    distances = np.asarray(distances, dtype=np.float64)
    # (D / width)^2, not D^2 / width^2: width^2 under- or overflows for extreme widths
    # (0 / 0 = NaN weights at the instance, or an OverflowError)
    with np.errstate(over="ignore", under="ignore"):
        return np.sqrt(np.exp(-((distances / width) ** 2)))


def cosine_distance_to_full(masks: np.ndarray) -> np.ndarray:
    """Cosine distance of each binary mask ``[n, d]`` to the all-present mask: ``[n]``.

    ``1 - |z| / (sqrt(|z|) sqrt(d)) = 1 - sqrt(|z| / d)``; the empty mask gets 1, as
    scikit-learn's ``pairwise_distances(metric="cosine")`` gives it (what LIME uses).
    """
    masks = np.asarray(masks, dtype=bool)
    d = masks.shape[1]
    if d == 0:
        return np.zeros(masks.shape[0])
    return 1.0 - np.sqrt(masks.sum(1) / d)
