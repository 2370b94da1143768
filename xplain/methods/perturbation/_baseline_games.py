"""KernelSHAP over a view's baseline games: one small game per background row.

A view's interventional game is the weighted mean of one baseline game per background row
(:class:`~xplain.adapters.base.BaselineGames`), and its Shapley value the weighted mean of
theirs (Sundararajan and Najmi 2020). Game ``k`` only has the ``m_k`` features where row
``k`` differs from the instance as players. Spending the model rows per game, instead of
per coalition of the mean game, helps three ways: a coalition of game ``k`` is one model
row (not ``K``), a game with few players is enumerated (exact) for ``2^m_k - 2`` rows, and
no row is spent estimating the features a game cannot move (their value in it is 0).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from xplain.methods.perturbation._sampling import ShapleyDesign, exact_design, shapley_design
from xplain.methods.perturbation._shapley_fit import ShapleyFit
from xplain.methods.perturbation.exact_shapley import shapley_from_values
from xplain.views import BaselineGames

MIN_SAMPLED_PAIRS = 2  # a sampled game gets this many pairs beyond its 2 m outer coalitions


@dataclass
class GamePlan:
    """The coalitions of each game of one view and the model rows that score them.

    ``designs[k]`` is game ``k``'s KernelSHAP design over its own players (None for a game
    of fewer than 2 players, solved without the model); ``games`` ``[n]`` and ``masks``
    ``[n, d]`` (over the view's features) are the rows to score, game by game.
    """

    designs: list[ShapleyDesign | None]
    games: np.ndarray
    masks: np.ndarray


def least_rows(sizes: np.ndarray) -> np.ndarray:
    """Fewest model rows of each game ``[K]``: its ``2 m`` single and leave-one-out
    coalitions, or all ``2^m - 2`` when fewer (0 for a game of fewer than 2 players)."""
    sizes = np.asarray(sizes, dtype=np.int64)
    return np.where(sizes >= 2, np.minimum(2 * sizes, 2.0 ** np.minimum(sizes, 62) - 2), 0)


def allocate_rows(sizes: np.ndarray, weights: np.ndarray, total: int) -> np.ndarray:
    """Model rows per game ``[K]``: at most ``total``, each game's share ``∝ w_k m_k``.

    A game of ``m`` players is enumerated by its ``2^m - 2`` coalitions, so it never gets
    more; every sampled game gets its ``2 m`` single and leave-one-out coalitions plus a
    few pairs (fewer when ``total`` is short). The rest is water-filled in proportion to
    ``w_k m_k``: KernelSHAP's variance in a game of ``m`` players grows about as ``m^2 /
    n`` (sample complexity linear in ``m``, Musco and Witter 2024; residual variance
    growing with ``m``), weighted by ``w_k^2`` in the mean, which makes ``n_k ∝ w_k m_k``
    the Neyman allocation (Cochran 1977, Sec. 5.5).
    """
    sizes = np.asarray(sizes, dtype=np.int64)
    cap = np.array([2.0**m - 2 if 2 <= m < 60 else (math.inf if m >= 60 else 0.0) for m in sizes])
    cap[np.asarray(weights) <= 0] = 0.0  # a game of weight 0 adds nothing
    if cap.sum() <= total:
        return cap.astype(np.int64)
    low = np.minimum(2.0 * sizes + 2 * MIN_SAMPLED_PAIRS, cap)
    if low.sum() > total:
        low = np.minimum(least_rows(sizes), cap)
    share = np.asarray(weights, dtype=np.float64) * sizes
    lo, hi = 0.0, float(total) / max(share[share > 0].min(initial=1.0), 1e-300)
    for _ in range(64):  # bisection on the water level t: sum clip(t share, low, cap)
        mid = 0.5 * (lo + hi)
        if np.clip(mid * share, low, cap).sum() > total:
            hi = mid
        else:
            lo = mid
    level = np.clip(lo * share, low, cap)
    counts = np.floor(level).astype(np.int64)
    order = np.argsort(-(level - counts), kind="stable")
    for k in order[: max(total - int(counts.sum()), 0)]:  # largest remainders, within caps
        counts[k] += int(counts[k] < cap[k])
    return counts


def plan_games(
    games: BaselineGames, d: int, budget: int, paired: bool, rng: np.random.Generator
) -> GamePlan:
    """Designs of every game for ``budget`` model rows in all, and the rows they need."""
    sizes = np.array([p.shape[0] for p in games.players])
    counts = allocate_rows(sizes, games.weights, budget)
    designs: list[ShapleyDesign | None] = []
    ids, masks = [], []
    for k, (players, n) in enumerate(zip(games.players, counts, strict=True)):
        if players.shape[0] < 2 or n == 0:
            designs.append(None)
            continue
        design = shapley_design(players.shape[0], int(n), paired, rng)
        full = np.ones((design.masks.shape[0], d), dtype=bool)
        full[:, players] = design.masks
        designs.append(design)
        ids.append(np.full(design.masks.shape[0], k))
        masks.append(full)
    if not masks:
        return GamePlan(designs, np.zeros(0, np.int64), np.zeros((0, d), dtype=bool))
    return GamePlan(designs, np.concatenate(ids), np.concatenate(masks))


def combine_games(
    games: BaselineGames,
    plan: GamePlan,
    scores: np.ndarray,
    full_score: float,
    target: int,
    order: int = 1,
) -> tuple[np.ndarray, np.ndarray, int]:
    """Shapley values ``[d]``, standard errors ``[d]`` and the number of exact games.

    ``scores`` ``[n]`` are the target scores of ``plan``'s rows and ``full_score`` the
    instance's. Each game's regression keeps its own efficiency constraint
    ``sum(phi_k) = f(x) - v_k(empty)``, so the mean holds ``f(x) - sum_k w_k v_k(empty)``
    exactly; the games' draws are independent, so their variances add with weight
    ``w_k^2``. ``order``: the interaction order of the sampled games' regressions
    (:class:`~xplain.methods.perturbation._shapley_fit.ShapleyFit`).
    """
    d = plan.masks.shape[1]
    phi, variance = np.zeros(d), np.zeros(d)
    start, exact = 0, 0
    for k, (players, design) in enumerate(zip(games.players, plan.designs, strict=True)):
        w, empty = float(games.weights[k]), float(games.empty_scores[k, target])
        total = full_score - empty
        if design is None:  # 0 or 1 player (or weight 0): the whole difference, exactly
            phi[players] += w * total
            exact += 1
            continue
        n, m = design.masks.shape
        y = scores[start : start + n] - empty
        start += n
        if design.exact:  # every coalition: the Shapley formula itself
            if design is exact_design(m):  # coalitions 1 .. 2^m - 2, in the order of their bits
                v = np.concatenate([[0.0], y, [total]])
            else:
                v = np.zeros(2**m)
                v[design.masks @ (1 << np.arange(m))] = y
                v[-1] = total
            phi[players] += w * shapley_from_values(v, m)
            exact += 1
            continue
        values, errors = ShapleyFit.of(design, order).solve(y, total)
        phi[players] += w * values
        variance[players] += w**2 * errors**2
    return phi, np.sqrt(variance), exact
