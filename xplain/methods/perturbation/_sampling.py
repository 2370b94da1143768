"""Coalition samplers shared by the perturbation methods, and their batched evaluation.

A coalition is a boolean mask ``[d]`` over the view's active features (True = present).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import lru_cache
from itertools import combinations

import numpy as np

from xplain.limits import check_memory, check_rows
from xplain.methods.perturbation._kernels import shapley_coalition_weight, shapley_size_mass
from xplain.views import InterpretableView

MASK_ENTRIES_PER_CALL = 32768  # default batch: about this many mask entries per model call
MAX_DRAW_ROUNDS = 64  # rounds of fresh draws when duplicates leave budget unspent


def default_batch_size(d: int) -> int:
    """Rows per model call when the user gives none: 1024 for d <= 32, fewer for long inputs."""
    return int(np.clip(MASK_ENTRIES_PER_CALL // max(d, 1), 32, 1024))


def rows_per_mask(view: InterpretableView) -> int:
    """Model rows one mask may cost: a view whose game is a mean over ``K`` background
    rows scores up to ``K`` hybrids per mask (fewer when they repeat), others one."""
    return 1 if view.baseline_games is None else len(view.baseline_games.weights)


def check_budget(
    owner: str, view: InterpretableView, n_masks: int, fix: str, floats_per_mask: int = 0
) -> None:
    """Refuse, before any model call, ``n_masks`` masks of ``view`` whose model rows (up to
    ``rows_per_mask`` each) exceed ``xplain.limits``, or whose arrays held at once (the
    masks, and ``floats_per_mask`` float64 values per mask, e.g. a surrogate's design
    matrix) exceed its memory ceiling. ``fix`` names the parameter to lower."""
    check_rows(owner, n_masks * rows_per_mask(view), fix)
    check_memory(owner, n_masks * (view.n_features + 8 * floats_per_mask), fix)


def evaluate_target(
    view: InterpretableView, masks: np.ndarray, target: int, batch_size: int | None
) -> np.ndarray:
    """Score of class ``target`` for each mask ``[n, d]`` -> ``[n]``, in batches."""
    masks = np.asarray(masks, dtype=bool)
    step = batch_size or view.batch_size or default_batch_size(masks.shape[1])
    out = np.empty(masks.shape[0])
    for start in range(0, masks.shape[0], step):
        scores = np.asarray(view.evaluate(masks[start : start + step]), dtype=np.float64)
        out[start : start + step] = scores.reshape(scores.shape[0], -1)[:, target]
    return out


def without_null_players(view: InterpretableView) -> tuple[InterpretableView, np.ndarray]:
    """The game restricted to the players that can matter, and their indices ``[d']``.

    A null player (``view.null_players``) adds nothing to any coalition, so its Shapley
    value is 0 and dropping it leaves every other player's value unchanged (Shapley 1953,
    the null-player and dummy axioms). Fewer players make enumeration and sampling cheaper.
    """
    null = view.null_players
    if null is None or not np.any(null):
        return view, np.arange(view.n_features)
    keep = np.flatnonzero(~np.asarray(null, dtype=bool))
    d = view.n_features

    def evaluate(masks: np.ndarray) -> np.ndarray:
        masks = np.asarray(masks, dtype=bool).reshape(-1, keep.shape[0])
        full = np.ones((masks.shape[0], d), dtype=bool)  # null players: present or not, alike
        full[:, keep] = masks
        return view.evaluate(full)

    reduced = replace(
        view,
        n_features=int(keep.shape[0]),
        evaluate=evaluate,
        feature_map=view.feature_map.restrict(keep),
        distribution=None,
        null_players=None,
    )
    return reduced, keep


CACHED_COALITIONS = 16  # all_coalitions(d) is kept for d up to this (1 MiB at d = 16)


def all_coalitions(d: int) -> np.ndarray:
    """Every coalition of ``d`` features, ``[2^d, d]`` (read-only); row ``k`` holds the
    bits of ``k``."""
    return _all_coalitions(d) if d <= CACHED_COALITIONS else _enumerate(d)


@lru_cache(maxsize=CACHED_COALITIONS + 1)
def _all_coalitions(d: int) -> np.ndarray:
    return _enumerate(d)


def _enumerate(d: int) -> np.ndarray:
    codes = np.arange(2**d, dtype=np.int64)
    masks = ((codes[:, None] >> np.arange(d)) & 1).astype(bool)
    masks.setflags(write=False)
    return masks


@lru_cache(maxsize=512)
def coalitions_of_size(d: int, size: int) -> np.ndarray:
    """Every coalition of exactly ``size`` features, ``[C(d, size), d]`` (read-only, cached)."""
    index = np.array(list(combinations(range(d), size)), dtype=np.int64).reshape(-1, size)
    masks = np.zeros((index.shape[0], d), dtype=bool)
    np.put_along_axis(masks, index, True, axis=1)
    masks.setflags(write=False)
    return masks


def random_coalitions(sizes: np.ndarray, d: int, rng: np.random.Generator) -> np.ndarray:
    """One uniformly random coalition of each size in ``sizes`` ``[n]``: ``[n, d]``."""
    sizes = np.asarray(sizes, dtype=np.int64)
    ranks = np.argsort(np.argsort(rng.random((sizes.shape[0], d)), axis=1), axis=1)
    return ranks < sizes[:, None]


def unique_rows(masks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First occurrence of each distinct row ``[u]`` (sorted) and the inverse map ``[n]``."""
    packed = np.ascontiguousarray(np.packbits(masks, axis=1))
    keys = packed.view(np.dtype((np.void, packed.shape[1]))).ravel()
    _, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
    # renumber distinct rows by first occurrence so that row order follows draw order
    order = np.argsort(first)
    rank = np.empty_like(order)
    rank[order] = np.arange(order.shape[0])
    return first[order], rank[inverse.ravel()]


def lime_masks(n: int, d: int, rng: np.random.Generator) -> np.ndarray:
    """LIME's text neighbourhood ``[n, d]``: row 0 the instance, then random removals.

    As ``lime.lime_text``: each sample removes a number of features drawn uniformly from
    1..d (so the empty coalition can occur), chosen uniformly at random.
    """
    removed = rng.integers(1, d + 1, size=n - 1)
    return np.vstack([np.ones((1, d), dtype=bool), random_coalitions(d - removed, d, rng)])


def window_starts(d: int, window: int, stride: int) -> np.ndarray:
    """First feature of each sliding window ``[n_windows]``.

    As Captum's ``Occlusion`` along one dimension: windows start at 0, stride, 2 stride,
    ... and the last one, possibly cut short, reaches the end, so every feature is covered.
    """
    return np.arange(0, math.ceil((d - window) / stride) * stride + 1, stride)


def occlusion_windows(d: int, window: int, stride: int) -> np.ndarray:
    """Occluded features of each sliding window ``[n_windows, d]`` (True = hidden), placed
    as :func:`window_starts` places them."""
    return windows_at(d, window, window_starts(d, window, stride))


def windows_at(d: int, window: int, starts: np.ndarray) -> np.ndarray:
    """Occluded features ``[n, d]`` of the windows of ``window`` features at ``starts`` ``[n]``."""
    positions = np.arange(d)
    return (positions >= starts[:, None]) & (positions < starts[:, None] + window)


@dataclass
class ShapleyDesign:
    """The coalitions KernelSHAP evaluates and how the regression weighs them.

    ``masks`` ``[u, d]`` are distinct; ``weights`` ``[u]`` their regression weights
    (enumerated sizes: the exact kernel weight; sampled sizes: the kernel weight over the
    inclusion probability, see ``shapley_design``). ``units`` ``[m, k]`` index the
    coalitions of each of the ``m`` sampled units (k = 2 for a pair ``(z, 1 - z)``, 1
    otherwise). Stratified designs also give each unit's stratum ``strata`` ``[m]`` and, per
    stratum, its kernel mass ``stratum_mass`` ``[H]`` and its number of distinct units
    ``stratum_units`` ``[H]``; i.i.d. designs leave them ``None``.
    """

    masks: np.ndarray
    weights: np.ndarray
    units: np.ndarray
    sampled_mass: float
    strata: np.ndarray | None = None
    stratum_mass: np.ndarray | None = None
    stratum_units: np.ndarray | None = None

    @property
    def exact(self) -> bool:
        """Whether every coalition was enumerated (the regression then gives exact Shapley)."""
        return self.sampled_mass == 0.0


def shapley_design(
    d: int, budget: int, paired: bool, rng: np.random.Generator, stratified: bool = True
) -> ShapleyDesign:
    """Enumerate the most-weighted coalition sizes, sample the rest (Lundberg and Lee 2017).

    Sizes are taken by pairs ``(s, d - s)``, from the outside in, as ``shap`` does: a pair
    is enumerated when the budget left, split across the sizes left in proportion to
    their kernel mass, would draw at least as many samples as the pair has coalitions
    (sizes 1 and d-1 are always enumerated when the budget covers them: they are the 2d
    most-weighted coalitions and make the regression well posed). The other sizes are
    sampled as antithetic pairs ``(z, 1 - z)`` when ``paired`` (Covert and Lee 2021).

    ``stratified`` (default): each size class (``{s, d - s}`` when paired) is a stratum
    that gets a fixed number of units, the same for each size (at least 2 per stratum): the
    leverage-score allocation of Musco and Witter (2024), "Provably Accurate Shapley Value
    Estimation via Leverage Score Sampling", whose leverage scores are uniform over sizes.
    Units are drawn uniformly *without replacement* within a stratum, and each sampled
    coalition is weighted by its Shapley-kernel weight divided by its inclusion
    probability, so every stratum weighs exactly its kernel mass: the corrected kernel
    weights of distinct coalitions of Olsen and Jullum (2024), "Improving the Sampling
    Strategy in KernelSHAP" (paired "c-kernel"). No duplicate coalitions, no random size
    counts, and a finite-population gain as the budget nears ``2^d``. Budgets too small
    for 2 units per stratum, or ``stratified=False``, fall back to i.i.d. draws in
    proportion to kernel mass with frequency weights (merged over duplicates), until
    ``budget`` distinct coalitions are drawn.
    """
    if budget >= (2**d - 2 if d < 63 else math.inf):  # every coalition but 0 and 1: exact
        return exact_design(d)
    layout = _layout(d, budget, paired, stratified)
    fixed_masks, fixed_weights = layout.fixed_masks, layout.fixed_weights
    if not layout.sizes_left:
        return ShapleyDesign(fixed_masks, fixed_weights, np.zeros((0, 2), int), 0.0)
    k = 2 if paired else 1
    if layout.strata is not None:
        blocks = [
            _sample_size_class(d, s, mid, n_h, population, rng)
            for s, mid, n_h, population in layout.stratum_draws
        ]
        draws = np.concatenate([np.stack([z, ~z], 1) if paired else z[:, None] for z in blocks])
        return ShapleyDesign(
            np.concatenate([fixed_masks, draws.reshape(-1, d)]),
            layout.weights,
            layout.units,
            layout.sampled_mass,
            layout.strata,
            layout.stratum_mass,
            layout.stratum_units,
        )

    mass = shapley_size_mass(d)
    draws, k = _draw_units(d, list(layout.sizes_left), mass, layout.left, paired, rng)
    m = draws.shape[0]
    if m == 0:  # no budget left to sample: the enumerated sizes alone, nothing to vary
        return ShapleyDesign(
            fixed_masks, fixed_weights, np.zeros((0, k), int), layout.sampled_mass
        )
    first, inverse = unique_rows(draws.reshape(-1, d))
    weights = np.bincount(inverse, minlength=first.shape[0]) * (layout.sampled_mass / (m * k))
    masks = np.concatenate([fixed_masks, draws.reshape(-1, d)[first]])
    index = (inverse + fixed_masks.shape[0]).reshape(m, k)
    return ShapleyDesign(
        masks, np.concatenate([fixed_weights, weights]), index, layout.sampled_mass
    )


@dataclass(frozen=True)
class _Layout:
    """What a design of ``budget`` coalitions fixes before any draw (cached): the
    enumerated sizes' coalitions and weights, the sizes left to sample and, for a
    stratified design, each stratum's draws ``(size, middle, units, population)`` and the
    weights, unit indices and strata of the whole design."""

    fixed_masks: np.ndarray
    fixed_weights: np.ndarray
    sizes_left: tuple[int, ...]
    left: int  # budget left for the sampled sizes
    sampled_mass: float
    stratum_draws: tuple[tuple[int, bool, int, int], ...] = ()
    weights: np.ndarray | None = None
    units: np.ndarray | None = None
    strata: np.ndarray | None = None
    stratum_mass: np.ndarray | None = None
    stratum_units: np.ndarray | None = None


@lru_cache(maxsize=256)
def _layout(d: int, budget: int, paired: bool, stratified: bool) -> _Layout:
    mass = shapley_size_mass(d)
    unseen = 2**d - 2 if d < 63 else math.inf  # coalitions not enumerated yet
    left = int(min(budget, unseen))
    fixed: list[np.ndarray] = []
    sizes_left = list(range(1, d))
    mass_left = 1.0
    for s in range(1, d // 2 + 1):
        pair = sorted({s, d - s})
        count = math.comb(d, s) * len(pair)
        pair_mass = mass[pair].sum()
        share = left * pair_mass / mass_left  # expected draws of this pair if sampled
        if count > left or not (s == 1 or unseen <= left or count <= share + 1e-8):
            break
        fixed += [coalitions_of_size(d, size) for size in pair]
        left -= count
        unseen -= count
        mass_left -= pair_mass
        sizes_left = [size for size in sizes_left if size not in pair]
    fixed_masks = _read_only(np.concatenate(fixed) if fixed else np.zeros((0, d), dtype=bool))
    fixed_weights = _read_only(shapley_coalition_weight(d, fixed_masks.sum(1)))
    sampled_mass = float(mass[sizes_left].sum()) if sizes_left else 0.0
    plain = _Layout(fixed_masks, fixed_weights, tuple(sizes_left), left, sampled_mass)
    k = 2 if paired else 1
    if not sizes_left or not stratified:
        return plain
    strata = _strata(d, sizes_left, mass, left // k, paired)
    if strata is None:
        return plain
    stratum_draws, stratum_mass, stratum_units = strata
    counts = np.array([n_h for _, _, n_h, _ in stratum_draws])
    of_unit = np.repeat(np.arange(counts.shape[0]), counts)  # [m] each unit's stratum
    m = of_unit.shape[0]
    weights = np.repeat(stratum_mass[of_unit] / (counts[of_unit] * k), k)
    return _Layout(
        fixed_masks,
        fixed_weights,
        tuple(sizes_left),
        left,
        sampled_mass,
        stratum_draws,
        _read_only(np.concatenate([fixed_weights, weights])),
        _read_only(fixed_masks.shape[0] + np.arange(m * k).reshape(m, k)),
        _read_only(of_unit),
        _read_only(stratum_mass),
        _read_only(stratum_units),
    )


def _read_only(array: np.ndarray) -> np.ndarray:
    """``array``, frozen: cached arrays are shared by every design that uses them."""
    array.setflags(write=False)
    return array


def exact_design(d: int) -> ShapleyDesign:
    """Every coalition but the empty and the full one, in the order of their bits (row
    ``k`` is coalition ``k + 1``), with their kernel weights (cached for small ``d``)."""
    return _exact_design(d) if d <= CACHED_COALITIONS else _enumerated_design(d)


@lru_cache(maxsize=CACHED_COALITIONS + 1)
def _exact_design(d: int) -> ShapleyDesign:
    return _enumerated_design(d)


def _enumerated_design(d: int) -> ShapleyDesign:
    masks = all_coalitions(d)[1:-1]
    weights = shapley_coalition_weight(d, masks.sum(1))
    weights.setflags(write=False)
    return ShapleyDesign(masks, weights, np.zeros((0, 2), int), 0.0)


ENUMERATE_STRATUM = 50_000  # strata up to this many units: sample from the full list


def _strata(
    d: int, sizes: list[int], mass: np.ndarray, n_units: int, paired: bool
) -> tuple[tuple[tuple[int, bool, int, int], ...], np.ndarray, np.ndarray] | None:
    """The size strata of ``n_units`` distinct units drawn without replacement.

    Returns, per stratum, ``(size, middle, units drawn, population)``, and the kernel mass
    ``[H]`` and number of distinct units ``[H]`` of each stratum; ``None`` when
    ``n_units`` cannot give each stratum 2 units (needed for the within-stratum variance).
    """
    reps = [s for s in sizes if not paired or s <= d - s]
    middle = np.array([paired and 2 * s == d for s in reps])
    stratum_mass = np.array(
        [mass[s] if mid or not paired else 2 * mass[s] for s, mid in zip(reps, middle, strict=True)]
    )
    population = np.array(
        [
            math.comb(d, s) // 2 if mid else math.comb(d, s)
            for s, mid in zip(reps, middle, strict=True)
        ],
        dtype=np.float64,
    )
    if n_units < 2 * len(reps) or n_units >= population.sum():
        return None
    sizes_in = np.where(middle | (not paired), 1.0, 2.0)  # sizes per stratum
    counts = _allocate(n_units, sizes_in, population)  # leverage: uniform over sizes
    draws = tuple(
        (s, bool(mid), int(n_h), int(pop))
        for s, mid, n_h, pop in zip(reps, middle, counts, population, strict=True)
    )
    return draws, stratum_mass, population


def _allocate(total: int, share: np.ndarray, cap: np.ndarray, low: int = 2) -> np.ndarray:
    """Integers ``n_h`` in ``[low, cap_h]`` summing to ``total``, about proportional to share."""
    n = np.zeros(share.shape[0])
    fixed = np.zeros(share.shape[0], dtype=bool)
    for _ in range(share.shape[0] + 1):
        free = ~fixed
        target = (total - n[fixed].sum()) * share[free] / share[free].sum()
        clipped = np.clip(target, low, cap[free])
        out = clipped != target
        n[np.flatnonzero(free)] = clipped
        if not out.any() or out.all():
            break
        fixed[np.flatnonzero(free)[out]] = True
    counts = np.clip(np.floor(n), low, cap).astype(np.int64)
    for _ in range(2 * share.shape[0] + 2):  # largest remainders, within the caps
        gap = total - int(counts.sum())
        if gap == 0:
            break
        room = (counts < cap) if gap > 0 else (counts > low)
        order = np.argsort(-(n - counts) if gap > 0 else (n - counts), kind="stable")
        order = order[room[order]][: abs(gap)]
        counts[order] += 1 if gap > 0 else -1
    return counts


def _sample_size_class(
    d: int, s: int, middle: bool, n: int, population: int, rng: np.random.Generator
) -> np.ndarray:
    """``n`` distinct uniform coalitions of size ``s`` ``[n, d]``, without replacement.

    ``middle``: size ``d / 2`` drawn as pairs, so ``z`` and ``1 - z`` are one unit; the
    representative holds feature 0.
    """
    if population <= ENUMERATE_STRATUM:
        every = coalitions_of_size(d, s)
        if middle:
            every = every[every[:, 0]]
        return every[np.sort(rng.choice(every.shape[0], size=n, replace=False))]
    out = np.zeros((0, d), dtype=bool)
    while out.shape[0] < n:
        z = random_coalitions(np.full(2 * (n - out.shape[0]) + 8, s), d, rng)
        if middle:
            z[~z[:, 0]] = ~z[~z[:, 0]]
        both = np.concatenate([out, z])
        out = both[np.sort(unique_rows(both)[0])][:n]
    return out


def _draw_units(
    d: int,
    sizes: list[int],
    mass: np.ndarray,
    budget: int,
    paired: bool,
    rng: np.random.Generator,
) -> tuple[np.ndarray, int]:
    """Independent draws ``[m, k, d]`` holding at most ``budget`` distinct coalitions.

    Each round draws as many units as the distinct coalitions still missing allow, so the
    count never exceeds ``budget``; rounds stop when duplicates no longer leave room.
    """
    k = 2 if paired else 1
    # paired: draw the smaller size of each pair (its complement has the other one)
    choices = np.array([s for s in sizes if not paired or s <= d - s])
    probs = mass[choices] * (2.0 if paired else 1.0)
    if paired:
        probs[choices == d - choices] /= 2.0
    probs /= probs.sum()
    draws = np.zeros((0, k, d), dtype=bool)
    n_distinct = 0
    for _ in range(MAX_DRAW_ROUNDS):
        need = (budget - n_distinct) // k
        if need < 1:
            break
        z = random_coalitions(rng.choice(choices, size=need, p=probs), d, rng)
        new = np.stack([z, ~z], axis=1) if paired else z[:, None]
        draws = np.concatenate([draws, new])
        before = n_distinct
        n_distinct = unique_rows(draws.reshape(-1, d))[0].shape[0]
        if n_distinct == before:
            break
    return draws, k
