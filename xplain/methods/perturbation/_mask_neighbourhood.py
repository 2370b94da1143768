"""LIME's mask neighbourhood drawn stratified and paired: the same estimand, fewer samples.

``lime_text`` (Ribeiro, Singh and Guestrin 2016) draws each sample by removing ``k``
features, ``k`` uniform on ``1..d``, chosen uniformly; its explanation is the weighted
ridge fit on these samples, which converges to the weighted least-squares fit over that
mask distribution ``p(z) = 1 / (d C(d, k))``. This module draws a design for the same
population fit with less variance:

* **size strata** (proportional allocation): each removal count ``k`` gets its share
  ``(n - 1) / d`` of the budget instead of a multinomial count, and each sample of a
  stratum holding ``m_k`` masks carries the probability factor ``(n - 1) / (d m_k)``
  (so the weights of a stratum sum to what lime's iid draw gives it on average);
* **without replacement** inside a stratum: no budget is spent on duplicate masks, and a
  stratum smaller than its share is enumerated exactly (``k = 1``, ``k = d - 1``);
* **paired** (antithetic) strata: a mask ``z`` removing ``k`` is drawn with its
  complement ``1 - z`` removing ``d - k`` (each marginally uniform in its stratum), as
  paired KernelSHAP does (Covert and Lee 2021), so even-order effects cancel in the fit;
* **exact** when the budget covers every mask: all ``2^d - 1`` are scored once, weighted
  by ``p(z)``, which is lime's limit at infinitely many samples.

Sampling within strata makes each stratum's weighted sums unbiased for the population's,
so the fit is consistent for lime's estimand, with the O(1/n) ratio bias of lime's own.
"""

from __future__ import annotations

import math

import numpy as np

from xplain.methods.perturbation._sampling import (
    _allocate,
    _sample_size_class,
    all_coalitions,
    lime_masks,
)

SAMPLINGS = ("stratified", "iid")  # Lime's ``sampling``; "iid" is lime_text's own draw


def mask_neighbourhood(
    n: int, d: int, rng: np.random.Generator, sampling: str
) -> tuple[np.ndarray, np.ndarray]:
    """``n`` masks (at most) around the instance and each one's probability factor.

    Args:
        n: The sample budget, row 0 (the instance) included.
        d: Number of features.
        rng: The random generator.
        sampling: ``"stratified"`` (this module's design) or ``"iid"`` (lime_text's).

    Returns:
        Masks ``[m, d]`` (row 0 all present; ``m <= n``, distinct except with ``"iid"``)
        and factors ``[m]`` that multiply the kernel weight of each row (all 1 for iid).
    """
    if sampling == "iid" or n - 1 < d + 2:
        masks = lime_masks(n, d, rng)
        return masks, np.ones(masks.shape[0])
    if n - 1 >= 2**d - 1:  # every mask once, weighted by its probability
        every = all_coalitions(d)[::-1]  # [2^d, d], the full mask first
        removed = d - every.sum(1)
        factors = np.empty(every.shape[0])
        factors[0] = 1.0
        sizes = np.array([math.comb(d, int(k)) for k in removed[1:]], dtype=np.float64)
        factors[1:] = (n - 1) / (d * sizes)
        return every, factors
    return _stratified(n, d, rng)


def _stratified(n: int, d: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Paired size strata: units are ``{z, 1 - z}`` with ``z`` removing ``k < d / 2``
    (or ``k = d / 2``, one unit per complementary pair), plus the empty mask."""
    ks = list(range(1, (d + 1) // 2))  # removal counts of the smaller side, k < d / 2
    middle = d % 2 == 0
    population = [math.comb(d, k) for k in ks] + ([math.comb(d, d // 2) // 2] if middle else [])
    share = [1.0] * len(ks) + ([0.5] if middle else [])  # middle: one stratum, not two
    units = _allocate(
        (n - 2) // 2, np.array(share), np.array(population, dtype=np.float64), low=1
    )
    rows = [np.ones((1, d), dtype=bool), np.zeros((1, d), dtype=bool)]  # instance, empty
    factors = [np.ones(1), np.full(1, (n - 1) / d)]
    for i, (m, pop) in enumerate(zip(units, population, strict=True)):
        is_middle = middle and i == len(ks)
        k = d // 2 if is_middle else ks[i]
        z = _sample_size_class(d, d - k, is_middle, int(m), int(pop), rng)  # [m, d]
        per_stratum = 2 * int(m) if is_middle else int(m)  # masks in each stratum
        rows += [z, ~z]
        factors += [np.full(2 * int(m), (n - 1) / (d * per_stratum))]
    return np.concatenate(rows), np.concatenate(factors)
