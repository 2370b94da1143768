"""Hand-made interpretable views for the perturbation-method tests (shared helpers).

A view over a numpy function ``f: [N, d] -> [N, C]`` with a background: a mask keeps the
instance's value where True and takes the background row's value elsewhere, and the
score of a mask is the mean over the background rows (the interventional value function
of shap's KernelExplainer).
"""

from __future__ import annotations

from collections.abc import Callable
from itertools import permutations
from math import factorial

import numpy as np

from xplain.adapters.base import BaselineGames, InterpretableView


class CountingView(InterpretableView):
    """An InterpretableView that records the masks it evaluated, call by call."""

    calls: list[np.ndarray]

    @property
    def n_masks(self) -> int:
        return sum(len(c) for c in self.calls)

    @property
    def evaluated(self) -> np.ndarray:
        """Every mask evaluated so far, ``[n, d]``."""
        return np.concatenate(self.calls) if self.calls else np.zeros((0, self.n_features), bool)


def function_view(
    f: Callable[[np.ndarray], np.ndarray],
    x: np.ndarray,
    background: np.ndarray,
    games: bool = False,
) -> CountingView:
    """The view of instance ``x`` ``[d]`` for model ``f`` over ``background`` ``[K, d]``.

    ``games``: the view also describes its game as one baseline game per background row
    (``BaselineGames``), as the tabular view does; ``view.calls`` then also records the
    masks scored through them.
    """
    x = np.asarray(x, dtype=np.float64)
    background = np.asarray(background, dtype=np.float64)
    d = x.shape[0]
    view: CountingView

    def value(masks: np.ndarray) -> np.ndarray:
        masks = np.asarray(masks, dtype=bool)  # [n, d]
        rows = np.where(masks[:, None, :], x, background[None])  # [n, K, d]
        out = f(rows.reshape(-1, d))  # [n K, C]
        return out.reshape(masks.shape[0], background.shape[0], -1).mean(1)

    def evaluate(masks: np.ndarray) -> np.ndarray:
        view.calls.append(np.array(masks, dtype=bool))
        return value(masks)

    view = CountingView(
        n_features=d,
        evaluate=evaluate,
        active=np.arange(d),
        scores=value(np.ones((1, d), dtype=bool))[0],
        base_scores=value(np.zeros((1, d), dtype=bool))[0],
        n_total=d,
    )
    view.calls = []
    if games:

        def score(rows: np.ndarray) -> np.ndarray:
            view.calls.append(np.asarray(rows == x, dtype=bool))
            return f(rows)

        view.baseline_games = BaselineGames(
            weights=np.full(background.shape[0], 1.0 / background.shape[0]),
            players=[np.flatnonzero(b != x) for b in background],
            empty_scores=f(background),
            hybrids=lambda ids, masks: np.where(masks, x, background[ids]),
            score=score,
        )
    return view


def two_outputs(g: np.ndarray) -> np.ndarray:
    """``[N]`` -> ``[N, 2]`` scores: class 0 is ``1 - g / 2``, class 1 is ``g``."""
    return np.stack([1.0 - 0.5 * g, g], axis=1)


def interaction_model(d: int, seed: int = 0) -> Callable[[np.ndarray], np.ndarray]:
    """Weak main effects, strong pairwise and three-way interactions, and a non-linearity."""
    rng = np.random.default_rng(seed)
    w = 0.3 * rng.normal(size=d)
    pairs = rng.choice(d, size=(2 * d, 2))
    a = rng.normal(size=2 * d)
    triples = rng.choice(d, size=(4, 3))

    def f(z: np.ndarray) -> np.ndarray:
        g = z @ w + (a * z[:, pairs[:, 0]] * z[:, pairs[:, 1]]).sum(1)
        g = g + np.prod(z[:, triples], axis=2).sum(1) + np.sin(z[:, : d // 2].sum(1))
        return two_outputs(g)

    return f


def permutation_shapley(view: InterpretableView, target: int) -> np.ndarray:
    """Shapley values by averaging marginal contributions over all d! orderings (d <= 7)."""
    d = view.n_features
    cache: dict[tuple[bool, ...], float] = {}

    def v(mask: np.ndarray) -> float:
        key = tuple(bool(b) for b in mask)
        if key not in cache:
            cache[key] = float(view.evaluate(mask[None])[0, target])
        return cache[key]

    phi = np.zeros(d)
    for order in permutations(range(d)):
        mask = np.zeros(d, dtype=bool)
        before = v(mask)
        for i in order:
            mask[i] = True
            after = v(mask)
            phi[i] += after - before
            before = after
    return phi / factorial(d)


def linear_view(d: int, seed: int = 0) -> tuple[CountingView, np.ndarray]:
    """A linear model ``w . x`` over a background; also returns ``w (x - mean(background))``."""
    rng = np.random.default_rng(seed)
    w, x, background = rng.normal(size=d), rng.normal(size=d), rng.normal(size=(5, d))
    view = function_view(lambda z: two_outputs(z @ w), x, background)
    return view, w * (x - background.mean(0))


def interaction_view(d: int, seed: int = 0, games: bool = False) -> CountingView:
    """``interaction_model(d, seed)`` at a random instance over 8 background rows."""
    rng = np.random.default_rng(seed)
    x, background = rng.normal(size=d), rng.normal(size=(8, d))
    return function_view(interaction_model(d, seed), x, background, games)


def shared_columns_view(d: int, seed: int = 0, games: bool = True) -> CountingView:
    """``interaction_view`` whose background rows share a random half of the instance's
    values (as categorical columns do): baseline games of about ``d / 2`` players."""
    rng = np.random.default_rng(seed)
    x, background = rng.normal(size=d), rng.normal(size=(8, d))
    same = rng.random(background.shape) < 0.5
    background[same] = np.broadcast_to(x, background.shape)[same]
    return function_view(interaction_model(d, seed), x, background, games)
