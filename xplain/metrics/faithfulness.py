"""Faithfulness: does removing the features an explanation ranks high change the score?

Every metric here works on the adapter's interpretable view, so on any modality: a
feature is "removed" the way the adapter hides it (text: the mask token, or removal;
tabular: background values; images: greyed segments), and the score is the explained
score of the explanation's target class (``Explanation.output``: logits by default for
neural networks; ``Explainer(output="probability")`` matches the papers, which use
probabilities). Special features ([CLS], [SEP]) are never removed and are left out.
Features are ranked by signed attribution, largest first: the features that most
support the target are removed (or inserted) first; ties keep feature order.

Budgets (``n_subsets``, ``n_perturbations``, steps, fractions) whose model rows exceed
``xplain.limits`` are refused with ResourceLimitError before they are scored; their masks
are drawn and scored in chunks of bounded memory (the same draws as all at once).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from xplain._validation import BOOLEAN, NONE, SEED, Interval, Param, Satisfies, validate_params
from xplain.errors import InvalidParameterError
from xplain.explanation import Explanation
from xplain.limits import check_rows
from xplain.methods._completeness import values_gap
from xplain.metrics._common import (
    MaskedScores,
    chunks,
    encode_again,
    masked_scores,
)

if TYPE_CHECKING:
    from xplain.explainer import Explainer

ERASER_FRACTIONS = (0.01, 0.05, 0.10, 0.20, 0.50)

_BATCH = Param(None, Interval(int, 1), NONE, doc="masks per model call")
_SEED = Param(0, SEED, doc="seed of the random subsets")
_CURVE = {
    "n_steps": Param(None, Interval(int, 1), NONE, doc="steps (None: one per feature)"),
    "batch_size": _BATCH,
}
_FRACTIONS = {
    "fractions": Param(
        ERASER_FRACTIONS,
        Satisfies(
            lambda v: len(v) > 0 and all(0 < float(f) <= 1 for f in v),
            "a non-empty sequence of fractions in (0, 1]",
        ),
        doc="fractions of the features in the rationale",
    ),
    "batch_size": _BATCH,
}
_CORRELATION = {
    "n_subsets": Param(100, Interval(int, 2), doc="random subsets"),
    "subset_size": Param(None, Interval(int, 1), NONE, doc="features per subset (None: d / 4)"),
    "seed": _SEED,
    "batch_size": _BATCH,
}
_INFIDELITY = {
    "n_perturbations": Param(100, Interval(int, 1), doc="random perturbations"),
    "p_remove": Param(0.5, Interval(float, 0, 1, closed="neither"), doc="removal probability"),
    "scaled": Param(True, BOOLEAN, doc="apply Yeh et al.'s optimal (non-negative) scaling"),
    "seed": _SEED,
    "batch_size": _BATCH,
}


# -- deletion and insertion (Petsiuk et al. 2018) ------------------------------------------
def deletion_curve(
    explainer: Explainer,
    explanation: Explanation,
    *,
    n_steps: int | None = None,
    batch_size: int | None = None,
) -> pd.Series:
    """Score as features are removed in decreasing order of attribution.

    Petsiuk, Das and Saenko (2018), "RISE: Randomized Input Sampling for Explanation of
    Black-box Models" (BMVC). Indexed by the fraction of features removed, from 0 (the
    input) to 1 (every feature removed); ``n_steps`` points after the first (None: one
    feature per step).

    Args:
        explainer: The Explainer that made ``explanation`` (its model is run again).
        explanation: The Explanation scored (of ``explainer``'s model).
        batch_size: Masked inputs per model call (None: as ``xplain.limits`` allow).
    """
    p = validate_params("deletion_auc", _CURVE, {"n_steps": n_steps, "batch_size": batch_size})
    return _curve(masked_scores(explainer, explanation, p["batch_size"]), p["n_steps"], True)


def deletion_auc(
    explainer: Explainer,
    explanation: Explanation,
    *,
    n_steps: int | None = None,
    batch_size: int | None = None,
) -> float:
    """Area under :func:`deletion_curve` over [0, 1] (trapezoids); lower is better.

    Args:
        explainer: The Explainer that made ``explanation`` (its model is run again).
        explanation: The Explanation scored (of ``explainer``'s model).
        n_steps: Points of the curve after the first (None: one feature per step).
        batch_size: Masked inputs per model call (None: as ``xplain.limits`` allow).
    """
    return _area(deletion_curve(explainer, explanation, n_steps=n_steps, batch_size=batch_size))


def insertion_curve(
    explainer: Explainer,
    explanation: Explanation,
    *,
    n_steps: int | None = None,
    batch_size: int | None = None,
) -> pd.Series:
    """Score as features are inserted, into the all-removed input, by decreasing attribution.

    Petsiuk et al. (2018), RISE. Indexed by the fraction of features present, 0 to 1.

    Args:
        explainer: The Explainer that made ``explanation`` (its model is run again).
        explanation: The Explanation scored (of ``explainer``'s model).
        n_steps: Points of the curve after the first (None: one feature per step).
        batch_size: Masked inputs per model call (None: as ``xplain.limits`` allow).
    """
    p = validate_params("insertion_auc", _CURVE, {"n_steps": n_steps, "batch_size": batch_size})
    return _curve(masked_scores(explainer, explanation, p["batch_size"]), p["n_steps"], False)


def insertion_auc(
    explainer: Explainer,
    explanation: Explanation,
    *,
    n_steps: int | None = None,
    batch_size: int | None = None,
) -> float:
    """Area under :func:`insertion_curve` over [0, 1] (trapezoids); higher is better.

    Args:
        explainer: The Explainer that made ``explanation`` (its model is run again).
        explanation: The Explanation scored (of ``explainer``'s model).
        n_steps: Points of the curve after the first (None: one feature per step).
        batch_size: Masked inputs per model call (None: as ``xplain.limits`` allow).
    """
    return _area(insertion_curve(explainer, explanation, n_steps=n_steps, batch_size=batch_size))


def _curve(m: MaskedScores, n_steps: int | None, deletion: bool) -> pd.Series:
    d = m.d
    if n_steps is None or n_steps >= d:
        counts = np.arange(d + 1)
    else:
        counts = np.round(np.linspace(0, d, n_steps + 1)).astype(int)
    m.plan("deletion_auc" if deletion else "insertion_auc", len(counts), "pass a smaller n_steps")
    rank = np.empty(d, dtype=int)
    rank[m.order()] = np.arange(d)  # rank[i]: position of feature i in the ordering
    scores = np.empty(len(counts))
    for start, stop in chunks(len(counts), d):
        moved = rank[None, :] < counts[start:stop, None]  # [c, d] the first `count` moved
        scores[start:stop] = m.score(~moved if deletion else moved)
    name = "fraction_removed" if deletion else "fraction_present"
    return pd.Series(scores, index=pd.Index(counts / max(d, 1), name=name), name="score")


def _area(curve: pd.Series) -> float:
    x, y = curve.index.to_numpy(dtype=np.float64), curve.to_numpy(dtype=np.float64)
    if len(x) < 2:
        return math.nan
    return float(((y[1:] + y[:-1]) / 2 * np.diff(x)).sum())


# -- comprehensiveness and sufficiency (DeYoung et al. 2020) -------------------------------
def comprehensiveness_curve(
    explainer: Explainer,
    explanation: Explanation,
    *,
    fractions: tuple[float, ...] = ERASER_FRACTIONS,
    batch_size: int | None = None,
) -> pd.Series:
    """``f(x) - f(x without its top-k features)`` for each fraction k; higher is better.

    DeYoung et al. (2020), "ERASER: A Benchmark to Evaluate Rationalized NLP Models"
    (ACL). The top ``ceil(k d)`` features by attribution form the rationale (at least one).

    Args:
        explainer: The Explainer that made ``explanation`` (its model is run again).
        explanation: The Explanation scored (of ``explainer``'s model).
        fractions: Fractions k of the features removed (ERASER: 1, 5, 10, 20, 50%).
        batch_size: Masked inputs per model call (None: as ``xplain.limits`` allow).
    """
    return _eraser("comprehensiveness", explainer, explanation, fractions, batch_size)


def comprehensiveness(
    explainer: Explainer,
    explanation: Explanation,
    *,
    fractions: tuple[float, ...] = ERASER_FRACTIONS,
    batch_size: int | None = None,
) -> float:
    """ERASER's aggregate comprehensiveness: the mean over ``fractions`` (AOPC).

    Args:
        explainer: The Explainer that made ``explanation`` (its model is run again).
        explanation: The Explanation scored (of ``explainer``'s model).
        batch_size: Masked inputs per model call (None: as ``xplain.limits`` allow).
    """
    curve = comprehensiveness_curve(
        explainer, explanation, fractions=fractions, batch_size=batch_size
    )
    return float(curve.mean())


def sufficiency_curve(
    explainer: Explainer,
    explanation: Explanation,
    *,
    fractions: tuple[float, ...] = ERASER_FRACTIONS,
    batch_size: int | None = None,
) -> pd.Series:
    """``f(x) - f(only the top-k features)`` for each fraction k; lower is better.

    DeYoung et al. (2020), ERASER; the rationale as in :func:`comprehensiveness_curve`.

    Args:
        explainer: The Explainer that made ``explanation`` (its model is run again).
        explanation: The Explanation scored (of ``explainer``'s model).
        fractions: Fractions k of the features removed (ERASER: 1, 5, 10, 20, 50%).
        batch_size: Masked inputs per model call (None: as ``xplain.limits`` allow).
    """
    return _eraser("sufficiency", explainer, explanation, fractions, batch_size)


def sufficiency(
    explainer: Explainer,
    explanation: Explanation,
    *,
    fractions: tuple[float, ...] = ERASER_FRACTIONS,
    batch_size: int | None = None,
) -> float:
    """ERASER's aggregate sufficiency: the mean over ``fractions`` (AOPC).

    Args:
        explainer: The Explainer that made ``explanation`` (its model is run again).
        explanation: The Explanation scored (of ``explainer``'s model).
        batch_size: Masked inputs per model call (None: as ``xplain.limits`` allow).
    """
    curve = sufficiency_curve(explainer, explanation, fractions=fractions, batch_size=batch_size)
    return float(curve.mean())


def _eraser(
    name: str,
    explainer: Explainer,
    explanation: Explanation,
    fractions: tuple[float, ...],
    batch_size: int | None,
) -> pd.Series:
    p = validate_params(name, _FRACTIONS, {"fractions": fractions, "batch_size": batch_size})
    check_rows(name, len(p["fractions"]), "give fewer fractions")
    m = masked_scores(explainer, explanation, p["batch_size"])
    m.plan(name, len(p["fractions"]), "give fewer fractions")
    fracs = np.asarray(p["fractions"], dtype=np.float64)
    sizes = np.minimum(np.ceil(fracs * m.d - 1e-9).astype(int), m.d)  # [k]
    sizes = np.maximum(sizes, 1)
    rank = np.empty(m.d, dtype=int)
    rank[m.order()] = np.arange(m.d)
    rationale = rank[None, :] < sizes[:, None]  # [k, d]
    kept = rationale if name == "sufficiency" else ~rationale
    drops = m.full - m.score(kept)
    return pd.Series(drops, index=pd.Index(fracs, name="fraction"), name=name)


# -- faithfulness correlation (Bhatt et al. 2020) ------------------------------------------
def faithfulness_correlation(
    explainer: Explainer,
    explanation: Explanation,
    *,
    n_subsets: int = 100,
    subset_size: int | None = None,
    seed: int | None = 0,
    batch_size: int | None = None,
) -> float:
    """Pearson correlation between the attribution of random subsets and the score drop.

    Bhatt, Weller and Moura (2020), "Evaluating and Aggregating Feature-based Model
    Explanations" (IJCAI): for ``n_subsets`` subsets S of ``subset_size`` features
    (uniform, without replacement; None: a quarter of the features), correlate
    ``sum_{i in S} a_i`` with ``f(x) - f(x without S)``. Higher is better; NaN when
    either side does not vary (e.g. fewer than two features).

    Args:
        explainer: The Explainer that made ``explanation`` (its model is run again).
        explanation: The Explanation scored (of ``explainer``'s model).
        seed: Seed of the random draws (None: not reproducible).
        batch_size: Masked inputs per model call (None: as ``xplain.limits`` allow).
    """
    p = validate_params(
        "faithfulness_correlation",
        _CORRELATION,
        {
            "n_subsets": n_subsets,
            "subset_size": subset_size,
            "seed": seed,
            "batch_size": batch_size,
        },
    )
    n = p["n_subsets"]
    check_rows("faithfulness_correlation", n, "lower n_subsets")  # before any model call
    m = masked_scores(explainer, explanation, p["batch_size"])
    d = m.d
    size = p["subset_size"] or max(1, d // 4)
    if p["subset_size"] is not None and size >= d:
        raise InvalidParameterError(
            f"The 'subset_size' parameter of faithfulness_correlation must be smaller than the "
            f"number of features ({d}). Got {size}."
        )
    if d < 2:
        return math.nan
    m.plan("faithfulness_correlation", n, "lower n_subsets")
    rng = np.random.default_rng(p["seed"])
    attributed, drops = np.empty(n), np.empty(n)
    for start, stop in chunks(n, 3 * 8 * d):  # the same draws as all rows at once
        ranks = np.argsort(rng.random((stop - start, d)), axis=1).argsort(axis=1)
        removed = ranks < size  # [c, d] a uniformly random subset of `size` features per row
        attributed[start:stop] = removed @ m.values
        drops[start:stop] = m.full - m.score(~removed)
    return _pearson(attributed, drops)


def _pearson(x: np.ndarray, y: np.ndarray) -> float:
    if np.ptp(x) == 0 or np.ptp(y) == 0:
        return math.nan
    x, y = x - x.mean(), y - y.mean()
    return float(x @ y) / math.sqrt(float(x @ x) * float(y @ y))


# -- infidelity (Yeh et al. 2019) ----------------------------------------------------------
def infidelity(
    explainer: Explainer,
    explanation: Explanation,
    *,
    n_perturbations: int = 100,
    p_remove: float = 0.5,
    scaled: bool = True,
    seed: int | None = 0,
    batch_size: int | None = None,
) -> float:
    """Expected squared error of the explanation as a linear model of feature removal.

    Yeh, Hsieh, Suggala, Inouye and Ravikumar (2019), "On the (In)fidelity and
    Sensitivity of Explanations" (NeurIPS): ``E[(I . a - (f(x) - f(x - I)))^2]``. The
    perturbation ``I`` lives on the interpretable view: each feature is removed
    independently with probability ``p_remove`` (``I_i = 1``: removed), the analogue on
    binary features of Yeh et al.'s removal perturbations ("square removal" on images).
    With ``scaled=True`` the attributions are first multiplied by the optimal scale
    ``beta = E[I.a Δf] / E[(I.a)^2]`` of Yeh et al. (Sec. 3), clipped at 0 so that a
    reversed explanation is not rescued by a negative scale; so methods of different
    scales (|gradient| and Shapley values) compare fairly.
    Lower is better; in squared units of the explained score.

    Args:
        explainer: The Explainer that made ``explanation`` (its model is run again).
        explanation: The Explanation scored (of ``explainer``'s model).
        n_perturbations: Random removals drawn.
        seed: Seed of the random draws (None: not reproducible).
        batch_size: Masked inputs per model call (None: as ``xplain.limits`` allow).
    """
    p = validate_params(
        "infidelity",
        _INFIDELITY,
        {
            "n_perturbations": n_perturbations,
            "p_remove": p_remove,
            "scaled": scaled,
            "seed": seed,
            "batch_size": batch_size,
        },
    )
    n = p["n_perturbations"]
    check_rows("infidelity", n, "lower n_perturbations")  # before any model call
    m = masked_scores(explainer, explanation, p["batch_size"])
    m.plan("infidelity", n, "lower n_perturbations")
    rng = np.random.default_rng(p["seed"])
    predicted, drops = np.empty(n), np.empty(n)
    for start, stop in chunks(n, 8 * m.d):  # the same draws as all rows at once
        removed = rng.random((stop - start, m.d)) < p["p_remove"]  # [c, d]
        predicted[start:stop] = removed @ m.values  # I . a
        drops[start:stop] = m.full - m.score(~removed)  # f(x) - f(x - I)
    beta = 1.0
    if p["scaled"]:
        energy = float(predicted @ predicted)
        beta = max(0.0, float(predicted @ drops) / energy) if energy > 0 else 0.0
    return float(np.mean((beta * predicted - drops) ** 2))


# -- completeness ---------------------------------------------------------------------------
def completeness_gap(explainer: Explainer, explanation: Explanation) -> float:
    """``|sum(values) - delta| / |delta|``, ``delta = f(x) - f(reference)``; lower is better.

    The completeness (Sundararajan et al. 2017) or efficiency (Shapley values) axiom, for
    the values shown (after the adapter's aggregation), with the near-zero rule of
    :mod:`xplain.methods._completeness`. ``delta`` is the one the method reports
    (Integrated Gradients, DeepLIFT: reference = its baseline; the SHAP methods: the
    weighted background); a method that reports only ``completeness_gap`` is taken at
    its word; one that reports only an ``efficiency_gap`` is measured on the
    interpretable view (reference = every feature removed). NaN for methods that do not
    claim the property (saliency, LIME, occlusion...).

    Args:
        explainer: The Explainer that made ``explanation`` (its model is run again).
        explanation: The Explanation scored (of ``explainer``'s model).
    """
    encode_again(explainer, explanation)  # refuse another model's or instance's explanation
    diagnostics = explanation.diagnostics
    if "delta" in diagnostics and "base_value" in diagnostics:
        return values_gap(explanation.values, diagnostics["delta"], diagnostics["base_value"])
    if "completeness_gap" in diagnostics:
        return float(diagnostics["completeness_gap"])
    if "efficiency_gap" not in diagnostics:
        return math.nan
    m = masked_scores(explainer, explanation)
    return values_gap(m.values, m.full - m.empty, m.empty)
