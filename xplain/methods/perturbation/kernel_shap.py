"""KernelSHAP: Shapley values as a weighted linear regression over sampled coalitions."""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from numbers import Integral
from typing import Any, ClassVar

import numpy as np

from xplain._validation import BOOLEAN, NONE, SEED_SEQUENCE, Interval, Param
from xplain.errors import InvalidParameterError
from xplain.limits import check_memory, check_rows
from xplain.methods._completeness import efficiency
from xplain.methods.base import Attribution, PerturbationMethod
from xplain.methods.perturbation._baseline_games import (
    GamePlan,
    combine_games,
    least_rows,
    plan_games,
)
from xplain.methods.perturbation._sampling import (
    check_budget,
    evaluate_target,
    shapley_design,
    without_null_players,
)
from xplain.methods.perturbation._shapley_fit import ShapleyFit
from xplain.methods.perturbation._surrogate import (
    MAX_INTERACTION_PLAYERS,
    interaction_parameters,
)
from xplain.registry import register_method
from xplain.views import InterpretableView

DEFAULT_RANDOM_EVALS = 2048  # on top of the 2 d singletons and leave-one-outs
CONVERGENCE_RATIO = 0.01  # converged: max std_err <= 1% of the largest |phi|
# baseline games are solved one by one when they have on average at most this share of
# the mean game's players; else the mean game's common coalitions do better (see below)
MAX_GAME_SHARE = 0.9
ROWS_PER_CALL = 2**18  # hybrids scored together in explain_batch (29 MiB of them at d = 14)
HYBRID_BYTES = 2**28  # ... but no more than this many bytes of them (wide one-hot inputs)
FITS_KEPT = 2  # factorised designs kept for reuse (up to ~25 MiB each: d = 16, order 3)
# default orders (order=None): the mean game's one design is factorised once for every row;
# each baseline game has its own, so a 3-additive fit there costs 5x the time on Adult
MEAN_GAME_ORDER = 3
BASELINE_GAME_ORDER = 1


@register_method
class KernelShap(PerturbationMethod):
    """Shapley values estimated by the Shapley-kernel weighted regression.

    Lundberg and Lee (2017), "A Unified Approach to Interpreting Model Predictions"
    (NeurIPS); with the paired sampling, the exact efficiency constraint and the variance
    estimate of Covert and Lee (2021), "Improving KernelSHAP: Practical Shapley Value
    Estimation via Linear Regression" (AISTATS).

    The budget ``max_evals`` counts distinct coalitions sent to the model (default
    ``2 d + 2048``, shap's default: the ``2 d`` most-weighted coalitions, each feature
    alone and each feature left out, plus 2048 more). Coalition sizes are enumerated
    from the outside in while the budget allows, as shap does; the other sizes are
    sampled as antithetic pairs ``(z, 1 - z)`` (``paired=True``; unlike shap, also for the
    middle size ``d / 2``, which lowers the error for even ``d``), stratified by size:
    the same number of pairs per size (the leverage-score allocation of Musco and Witter
    2024, "Provably Accurate Shapley Value Estimation via Leverage Score Sampling"), drawn
    without replacement, each distinct coalition weighted by its kernel weight over its
    inclusion probability (the corrected kernel weights of Olsen and Jullum 2024,
    "Improving the Sampling Strategy in KernelSHAP"), which lowers the error of i.i.d.
    draws with frequency weights, more as the budget nears ``2^d``. Budgets too small for
    2 pairs per size fall back to i.i.d. draws in proportion to kernel weight, duplicates
    evaluated once and merged. The regression enforces ``sum(phi) = f(x) - f(empty)``
    exactly (KKT solution). When the budget covers all ``2^d - 2`` coalitions the result
    is the exact Shapley value.

    Baseline games (tabular views): the mean game over ``K`` background rows is the
    weighted mean of one baseline game per row, whose players are only the features where
    that row differs from the instance (Sundararajan and Najmi 2020). When these games
    have (by weight) at most 90% of the mean game's players, each is solved on its own:
    ``max_evals`` coalitions of the mean game are ``max_evals x K`` model rows (what
    ``shap.KernelExplainer`` scores for ``nsamples = max_evals``), shared out over the
    games in proportion to ``w_k m_k`` (``m_k`` players, the Neyman allocation of
    ``_baseline_games.allocate_rows``), each game enumerated (exact) when its
    ``2^m_k - 2`` coalitions fit, else estimated as above; one model call scores every
    game of every row of an ``explain_batch``. When the games are about as large as the
    mean game (no background value shared with the instance), solving them one by one
    would lose the mean game's common coalitions, whose errors partly cancel over the
    background rows, so the mean game is estimated, its hybrids scored by the view.

    ``order=3`` fits a game with interactions up to order 3 instead of an additive one
    and returns its Shapley values (the k-additive approach of Pelegrina, Duarte and
    Grabisch 2023), wherever a design (the mean game's, or a sampled baseline game's)
    holds 2.5 coalitions per parameter (``C(d,1) + C(d,2) + C(d,3)``; ``d <= 16``: from
    1740 coalitions); it stays exact once every coalition is in. Paired KernelSHAP is
    already exact for games of order 2, so order 3 is the first that helps on games with
    higher interactions. A design's regression is factorised once and reused by every row
    drawn under the same seed (an ``explain_batch``, or repeated calls), so the 696
    parameters of order 3 at ``d = 16`` cost little per row. The default (``order=None``)
    is 3 on the mean game and 1 on baseline games, each of which has its own design to
    factorise. Below that budget, and with ``order=1``, the fit is KernelSHAP's additive
    one (measured errors, costs and coverage: README, "Design notes").

    A ``max_evals`` whose model rows (times the background rows of a tabular mean game) or
    regression arrays exceed ``xplain.limits`` is refused (ResourceLimitError) up front.

    Diagnostics: ``std_err`` per feature, the standard error of the estimate from the
    sandwich covariance of the regression over the sampled pairs, within each size
    stratum with its finite-population correction, the enumerated coalitions held fixed
    (Covert and Lee 2021, Sec. 4), residuals corrected for their leverage (HC3), the variance
    scaled by ``u / (u - p)`` (``u`` coalitions, ``p`` parameters); ``converged`` when
    ``max(std_err) <= 0.01 * max|phi|``; ``n_coalitions`` evaluated (over baseline games:
    model rows, game by game; ``games`` and ``exact_games`` count them); ``exact``;
    ``efficiency_gap`` = ``|sum(phi) - delta|``, ``delta`` = ``f(x) - base_value``,
    ``base_value`` = ``f(empty)`` (over a background: its weighted mean score, the base
    value of every SHAP-family method); ``null_players``, the number of
    features the view proved inert (value exactly 0, left out of the game, so a budget of
    ``2^d' - 2`` for the ``d'`` others already gives the exact answer).
    """

    name: ClassVar[str] = "kernel_shap"
    reference: ClassVar[str] = "Lundberg and Lee 2017, arXiv:1705.07874"
    known_truth: ClassVar[str | None] = "exact"
    parameters = {
        "max_evals": Param(
            None,
            Interval(int, 1),
            NONE,
            doc="distinct coalitions of the mean game evaluated (None: 2 d + 2048)",
        ),
        "internal_batch_size": Param(None, Interval(int, 1), NONE, doc="masks per model call"),
        "paired": Param(True, BOOLEAN, doc="sample coalitions with their complements"),
        "order": Param(
            None,
            Interval(int, 1, 3),
            NONE,
            doc="interactions fitted where the budget allows (None: 3 on the mean game, "
            "1 on baseline games)",
        ),
        "seed": Param(
            0, SEED_SEQUENCE, doc="seed of the sampled coalitions (None: not reproducible)"
        ),
    }

    def attribute(self, view: InterpretableView, target: int) -> Attribution:
        return self.attribute_batch([view], [target])[0]

    def attribute_batch(
        self, views: Sequence[InterpretableView], targets: Sequence[int]
    ) -> list[Attribution]:
        """Each view's attribution; views solved by their baseline games that share a
        scorer (the rows of one tabular batch) are scored together, in calls of up to
        ``ROWS_PER_CALL`` model rows, with the same coalitions and values as one by one."""
        results: list[Attribution | None] = [None] * len(views)
        groups: list[tuple[Any, list[tuple[int, GamePlan]]]] = []

        def flush(members: list[tuple[int, GamePlan]]) -> None:
            batch = self._attribute_games(
                [views[i] for i, _ in members],
                [targets[i] for i, _ in members],
                [plan for _, plan in members],
            )
            for (i, _), result in zip(members, batch, strict=True):
                results[i] = result
            members.clear()

        for i, view in enumerate(views):
            if not _small_games(view):
                results[i] = self._attribute_mean_game(view, targets[i])
                continue
            plan, score = self._plan(view), view.baseline_games.score
            members = next((m for shared, m in groups if shared == score), None)
            if members is None:
                members = []
                groups.append((score, members))
            rows = sum(p.games.shape[0] for _, p in members) + plan.games.shape[0]
            if members and rows > ROWS_PER_CALL:
                flush(members)
            members.append((i, plan))
        for _, members in groups:
            if members:
                flush(members)
        return [r for r in results if r is not None]

    def _budget(self, d: int, games: int = 0, least: int = 0) -> int:
        """The coalition budget for ``d`` players, checked against its minimum: ``2 d``
        coalitions (each feature alone and each left out) or, over ``games`` baseline
        games, ``least`` model rows in all (the same in every game)."""
        budget = self.params["max_evals"] or 2 * d + DEFAULT_RANDOM_EVALS
        if games:
            needed = -(-least // games)
            why = f"each feature alone and each left out, in each of {games} background rows"
        else:
            needed = min(2 * d, 2**d - 2) if d >= 2 else 0
            why = "each feature alone and each left out" if needed == 2 * d else "every coalition"
        if budget < needed:
            raise InvalidParameterError(
                f"The 'max_evals' parameter of kernel_shap must be at least {needed} for this "
                f"input of {d} features ({why}). Got {budget}. Raise max_evals or explain "
                "fewer features (e.g. words instead of sub-word tokens)."
            )
        return budget

    def _attribute_mean_game(self, view: InterpretableView, target: int) -> Attribution:
        """KernelSHAP on the view's game itself (no baseline games known)."""
        game, players = without_null_players(view)
        phi, std_err, n, exact = self._estimate(game, target)
        values, errors = np.zeros(view.n_features), np.zeros(view.n_features)
        values[players], errors[players] = phi, std_err  # null players: exactly 0
        diagnostics = _diagnostics(view, values, errors, n, exact)
        diagnostics.update(efficiency(values, view.scores[target], view.base_scores[target]))
        diagnostics["null_players"] = int(view.n_features - players.shape[0])
        return Attribution(values, diagnostics)

    def _estimate(
        self, view: InterpretableView, target: int
    ) -> tuple[np.ndarray, np.ndarray, int, bool]:
        """Shapley values, their standard errors, coalitions evaluated, exactness."""
        d = view.n_features
        v0 = float(view.base_scores[target])
        total = float(view.scores[target]) - v0  # f(x) - f(empty)
        if d < 2:
            return np.full(d, total), np.zeros(d), 0, True
        budget = self._budget(d)
        order = self.params["order"] or MEAN_GAME_ORDER
        # the regression's float64 design: the masks, or the interaction basis (a few copies)
        width = d if order == 1 or d > MAX_INTERACTION_PLAYERS else interaction_parameters(d, order)
        coalitions = int(min(budget, 2.0**d - 2))
        check_budget("kernel_shap", view, coalitions, "lower max_evals", floats_per_mask=3 * width)
        fit = _fit(d, budget, self.params["paired"], self.params["seed"], order)
        design = fit.design
        # [u] model scores of the distinct coalitions, relative to the empty one
        y = evaluate_target(view, design.masks, target, self.params["internal_batch_size"]) - v0
        phi, std_err = fit.solve(y, total)
        return phi, std_err, int(design.masks.shape[0]), design.exact

    def _plan(self, view: InterpretableView) -> GamePlan:
        """The baseline games' designs for ``max_evals x K`` model rows."""
        games = view.baseline_games
        assert games is not None
        k = len(games.weights)
        least = int(least_rows(np.array([p.shape[0] for p in games.players])).sum())
        rows = self._budget(_players(view), k, least) * k
        # a game of m players has 2^m - 2 coalitions to score, one model row each
        sizes = [p.shape[0] for p in games.players]
        planned = int(min(rows, sum(2.0 ** min(m, 62) - 2 for m in sizes if m >= 2)))
        check_rows("kernel_shap", planned, "lower max_evals")
        check_memory("kernel_shap", planned * (view.n_features + 8), "lower max_evals")
        rng = np.random.default_rng(self.params["seed"])
        return plan_games(games, view.n_features, rows, self.params["paired"], rng)

    def _attribute_games(
        self, views: list[InterpretableView], targets: list[int], plans: list[GamePlan]
    ) -> list[Attribution]:
        """KernelSHAP game by game (see the class docstring), all views in one model call."""
        games_of = [view.baseline_games for view in views]
        scores = _score(games_of, plans, self.params["internal_batch_size"])
        out, start = [], 0
        for view, games, target, plan in zip(views, games_of, targets, plans, strict=True):
            n = plan.games.shape[0]
            y = scores[start : start + n, target]
            start += n
            full = float(view.scores[target])
            order = self.params["order"] or BASELINE_GAME_ORDER
            phi, std_err, exact = combine_games(games, plan, y, full, target, order)
            k = len(games.weights)
            diagnostics = _diagnostics(view, phi, std_err, n, exact == k)
            diagnostics.update(efficiency(phi, full, view.base_scores[target]))
            diagnostics["null_players"] = view.n_features - _players(view)
            diagnostics["games"], diagnostics["exact_games"] = k, int(exact)
            out.append(Attribution(phi, diagnostics))
        return out


def _fit(d: int, budget: int, paired: bool, seed: Any, order: int) -> ShapleyFit:
    """The design of ``budget`` coalitions of ``d`` players drawn under ``seed``, its
    regression factorised; under a given seed the same for every row (cached)."""
    if seed is None:
        return ShapleyFit.of(shapley_design(d, budget, paired, np.random.default_rng()), order)
    key = int(seed) if isinstance(seed, Integral) else tuple(int(part) for part in seed)
    return _seeded_fit(d, budget, paired, key, order)


@lru_cache(maxsize=FITS_KEPT)
def _seeded_fit(d: int, budget: int, paired: bool, seed: Any, order: int) -> ShapleyFit:
    design = shapley_design(d, budget, paired, np.random.default_rng(seed))
    design.masks.setflags(write=False)  # shared by every row that uses the cached fit
    return ShapleyFit.of(design, order)


def _players(view: InterpretableView) -> int:
    """Features of the view that are not null players."""
    return view.n_features - (0 if view.null_players is None else int(np.sum(view.null_players)))


def _small_games(view: InterpretableView) -> bool:
    """Whether the view's baseline games have (by weight) at most ``MAX_GAME_SHARE`` of the
    mean game's players, so that solving them one by one pays."""
    games = view.baseline_games
    if games is None:
        return False
    sizes = np.array([p.shape[0] for p in games.players], dtype=np.float64)
    return float(games.weights @ sizes) <= MAX_GAME_SHARE * _players(view)


def _score(games_of: list[Any], plans: list[GamePlan], batch_size: int | None) -> np.ndarray:
    """Scores ``[n, C]`` of the hybrids of every view, in order: one model call for all,
    or calls of ``batch_size`` rows, or as many rows as fit in ``HYBRID_BYTES`` (wide
    model inputs), each call's hybrids built just before it."""
    sizes = [p.games.shape[0] for p in plans]
    if not sum(sizes):
        return np.zeros((0, games_of[0].empty_scores.shape[1]))
    view = next(i for i, n in enumerate(sizes) if n)
    row_bytes = games_of[view].hybrids(plans[view].games[:1], plans[view].masks[:1]).nbytes
    step = batch_size or max(1, HYBRID_BYTES // max(row_bytes, 1))
    out: list[np.ndarray] = []
    pending: list[np.ndarray] = []
    held = 0
    for games, plan, n in zip(games_of, plans, sizes, strict=True):
        start = 0
        while start < n:
            stop = min(n, start + step - held)
            pending.append(games.hybrids(plan.games[start:stop], plan.masks[start:stop]))
            held += stop - start
            start = stop
            if held == step:
                out.append(np.asarray(games.score(np.concatenate(pending)), dtype=np.float64))
                pending, held = [], 0
    if pending:
        out.append(np.asarray(games_of[0].score(np.concatenate(pending)), dtype=np.float64))
    return np.concatenate(out)


def _diagnostics(
    view: InterpretableView,
    phi: np.ndarray,
    std_err: np.ndarray,
    n_coalitions: int,
    exact: bool,
) -> dict[str, Any]:
    scale = float(np.abs(phi).max(initial=0.0))
    return {
        "std_err": view.to_features(std_err),
        "converged": bool(std_err.max(initial=0.0) <= CONVERGENCE_RATIO * scale),
        "n_coalitions": int(n_coalitions),
        "exact": bool(exact),
    }
