"""Agreement between explanations of the same instance by different methods.

All measures leave out special features ([CLS], [SEP]...) flagged in either explanation.
A measure that is undefined for the explanations given is NaN, and an
:class:`~xplain.errors.UndefinedMeasureWarning` says which and why (see
:func:`rank_agreement`).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping
from itertools import combinations

import numpy as np
import pandas as pd
from scipy import stats

from xplain._validation import Interval, Param, validate_params
from xplain.errors import InvalidInputError, InvalidParameterError, UndefinedMeasureWarning
from xplain.explanation import Explanation
from xplain.metrics._common import checked_values

AGREEMENT_COLUMNS = ("spearman", "kendall", "top_k_jaccard", "sign_agreement")
_K = {"k": Param(5, Interval(int, 1), doc="size of the top-k sets")}
# a value counts as zero within max(ZERO_RTOL x the explanation's largest |value|, ZERO_ATOL):
# float32 models leave rounding noise about 1e-7 of the largest value, float64 ones ~1e-16
ZERO_RTOL = 1e-6
ZERO_ATOL = 1e-12


def rank_agreement(a: Explanation, b: Explanation, *, k: int = 5) -> dict[str, float]:
    """How much two explanations of the same prediction agree.

    * ``spearman``, ``kendall``: rank correlation of the signed values (``scipy.stats``;
      Kendall's tau-b); 1 for identical rankings, -1 for reversed ones;
    * ``top_k_jaccard``: ``|A & B| / |A | B|`` of the ``k`` features with the largest
      ``|value|`` in each;
    * ``sign_agreement``: among the features where at least one value is non-zero, the
      fraction whose two values have the same sign (a zero against a non-zero disagrees).

    Float noise is not signal: in each explanation, values within
    ``max(1e-6 x its largest |value|, 1e-12)`` of zero count as exactly zero. A measure
    is then NaN, with an :class:`~xplain.errors.UndefinedMeasureWarning` giving the
    reason, where it would otherwise report a score the values do not support:

    * all four when either explanation is all zero;
    * ``spearman`` and ``kendall`` when either is constant (it has no ranking);
    * ``top_k_jaccard`` when ``k`` is at least the number of features compared (every
      feature is in both sets), when either explanation has fewer than ``k`` non-zero
      values, or when its ``k``-th and ``k+1``-th largest ``|value|`` tie (its top-k set
      is not defined).

    Both explanations must have the same features, target class, instance and model
    (``instance_id``, ``model_id`` where known) and finite values.

    Args:
        a: One explanation.
        b: Another explanation of the same model, instance and target.
    """
    k = validate_params("rank_agreement", _K, {"k": k})["k"]
    if list(a.features) != list(b.features):
        raise InvalidParameterError(
            f"Explanations by {a.method!r} and {b.method!r} have different features "
            f"({len(a.features)} vs {len(b.features)}); only explanations of the same "
            "instance, encoded the same way, can be compared."
        )
    _check_same_prediction(a, b)
    keep = ~(a._special_flags() | b._special_flags())
    x = _denoised(checked_values(a, "The first explanation")[keep])
    y = _denoised(checked_values(b, "The second explanation")[keep])
    reasons: dict[str, str] = {}
    result = {
        "spearman": _rank_correlation(x, y, "spearman", reasons, a.method, b.method),
        "kendall": _rank_correlation(x, y, "kendall", reasons, a.method, b.method),
        "top_k_jaccard": _top_k_jaccard(x, y, k, reasons, a.method, b.method),
        "sign_agreement": _sign_agreement(x, y, reasons, a.method, b.method),
    }
    if reasons:
        detail = "; ".join(f"{name}: {why}" for name, why in reasons.items())
        warnings.warn(
            f"Agreement of {a.method!r} and {b.method!r} is NaN where undefined: {detail}.",
            UndefinedMeasureWarning,
            stacklevel=2,
        )
    return result


def agreement_frame(explanations: Mapping[str, Explanation], *, k: int = 5) -> pd.DataFrame:
    """:func:`rank_agreement` for every pair of methods: one row per pair.

    Args:
        explanations: Method name -> Explanation, all of one prediction.
        k: How many of the largest |values| ``top_k_jaccard`` compares.
    """
    rows = [
        {"method_a": first, "method_b": second, **rank_agreement(a, b, k=k)}
        for (first, a), (second, b) in combinations(explanations.items(), 2)
    ]
    return pd.DataFrame(rows, columns=["method_a", "method_b", *AGREEMENT_COLUMNS])


def _check_same_prediction(a: Explanation, b: Explanation) -> None:
    """Refuse explanations of different instances, models or target classes."""
    for what, first, second in (
        ("instance (instance_id)", a.instance_id, b.instance_id),
        ("model (model_id)", a.model_id, b.model_id),
    ):
        if first is not None and second is not None and first != second:
            raise InvalidInputError(
                f"The {a.method!r} and {b.method!r} explanations are of a different {what}: "
                f"{first} vs {second}; agreement compares methods on one prediction. Explain "
                "the same instance with the same explainer (e.g. Explainer.compare)."
            )
    if a.target != b.target:
        raise InvalidInputError(
            f"The {a.method!r} explanation is for class {a.target_label!r} and the "
            f"{b.method!r} one for class {b.target_label!r}; agreement compares methods on "
            "one target. Pass the same target= to both (Explainer.compare does)."
        )


def _tolerance(values: np.ndarray) -> float:
    return max(ZERO_RTOL * float(np.abs(values).max(initial=0.0)), ZERO_ATOL)


def _denoised(values: np.ndarray) -> np.ndarray:
    """``values`` with those within the noise tolerance of zero set to exactly zero."""
    return np.where(np.abs(values) <= _tolerance(values), 0.0, values)


def _degenerate(
    x: np.ndarray, y: np.ndarray, first: str, second: str, constant: bool
) -> str | None:
    """Why ``x`` or ``y`` carries no signal: all zero, or (``constant``) one value."""
    for values, name in ((x, first), (y, second)):
        if not values.any():
            return f"the {name!r} explanation is all zero (|values| <= {ZERO_ATOL:g} or noise)"
        if constant and np.ptp(values) <= _tolerance(values):
            return f"the {name!r} explanation is constant, so it ranks no feature above another"
    return None


def _rank_correlation(
    x: np.ndarray, y: np.ndarray, kind: str, reasons: dict[str, str], first: str, second: str
) -> float:
    why = "fewer than 2 features" if len(x) < 2 else _degenerate(x, y, first, second, True)
    if why is not None:
        reasons[kind] = why
        return math.nan
    return rank_correlation(x, y, kind)


def _top_k_jaccard(
    x: np.ndarray, y: np.ndarray, k: int, reasons: dict[str, str], first: str, second: str
) -> float:
    why = _degenerate(x, y, first, second, False)
    if why is None and k >= len(x):
        why = f"k={k} is not below the {len(x)} features compared, so every one is in both sets"
    for values, name in ((x, first), (y, second)):
        if why is not None:
            break
        size = np.sort(np.abs(values))[::-1]
        if size[k - 1] == 0:
            count = int(np.count_nonzero(values))
            why = f"the {name!r} explanation has {count} non-zero values, fewer than k={k}"
        elif size[k - 1] - size[k] <= _tolerance(values):
            why = f"the {name!r} explanation ties at its {k}th and {k + 1}th largest |value|"
    if why is not None:
        reasons["top_k_jaccard"] = why
        return math.nan
    return top_k_jaccard(x, y, k)


def _sign_agreement(
    x: np.ndarray, y: np.ndarray, reasons: dict[str, str], first: str, second: str
) -> float:
    why = _degenerate(x, y, first, second, False)
    if why is not None:
        reasons["sign_agreement"] = why
        return math.nan
    return sign_agreement(x, y)


def rank_correlation(x: np.ndarray, y: np.ndarray, kind: str = "spearman") -> float:
    """Spearman's rho or Kendall's tau-b of ``x`` and ``y``; NaN if either is constant."""
    if len(x) < 2 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return math.nan
    function = stats.spearmanr if kind == "spearman" else stats.kendalltau
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", stats.ConstantInputWarning)
        return float(function(x, y).statistic)


def top_k_jaccard(x: np.ndarray, y: np.ndarray, k: int) -> float:
    """Jaccard index of the top-``k`` features by ``|value|`` (ties: earlier feature first).

    NaN when ``k`` is not below the number of features (every feature is in both sets);
    :func:`rank_agreement` also refuses top-k sets decided by ties or by zeros.
    """
    if k >= len(x):
        return math.nan
    top_x = set(np.argsort(-np.abs(x), kind="stable")[:k].tolist())
    top_y = set(np.argsort(-np.abs(y), kind="stable")[:k].tolist())
    return len(top_x & top_y) / len(top_x | top_y)


def sign_agreement(x: np.ndarray, y: np.ndarray) -> float:
    """Fraction of same signs among features where ``x`` or ``y`` is non-zero.

    NaN when either is all zero: a zero explanation agrees with nothing and disagrees
    with nothing.
    """
    if not (x.any() and y.any()):
        return math.nan
    either = (x != 0) | (y != 0)
    return float(np.mean(np.sign(x[either]) == np.sign(y[either])))
