"""Agreement between explanations of the same instance by different methods.

All measures leave out special features ([CLS], [SEP]...) flagged in either explanation.
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
from xplain.errors import InvalidParameterError
from xplain.explanation import Explanation

AGREEMENT_COLUMNS = ("spearman", "kendall", "top_k_jaccard", "sign_agreement")
_K = {"k": Param(5, Interval(int, 1), doc="size of the top-k sets")}


def rank_agreement(a: Explanation, b: Explanation, *, k: int = 5) -> dict[str, float]:
    """How much two explanations of the same features agree.

    * ``spearman``, ``kendall``: rank correlation of the signed values (``scipy.stats``;
      Kendall's tau-b); 1 for identical rankings, -1 for reversed ones;
    * ``top_k_jaccard``: ``|A & B| / |A | B|`` of the ``k`` features with the largest
      ``|value|`` in each (``k`` is capped at the number of features);
    * ``sign_agreement``: among the features where at least one value is non-zero, the
      fraction whose two values have the same sign (a zero against a non-zero disagrees).

    NaN where a measure is undefined (e.g. a constant explanation has no ranking).
    """
    k = validate_params("rank_agreement", _K, {"k": k})["k"]
    if list(a.features) != list(b.features):
        raise InvalidParameterError(
            f"Explanations by {a.method!r} and {b.method!r} have different features "
            f"({len(a.features)} vs {len(b.features)}); only explanations of the same "
            "instance, encoded the same way, can be compared."
        )
    keep = ~(a._special_flags() | b._special_flags())
    x = np.asarray(a.values, dtype=np.float64)[keep]
    y = np.asarray(b.values, dtype=np.float64)[keep]
    return {
        "spearman": rank_correlation(x, y, "spearman"),
        "kendall": rank_correlation(x, y, "kendall"),
        "top_k_jaccard": top_k_jaccard(x, y, k),
        "sign_agreement": sign_agreement(x, y),
    }


def agreement_frame(explanations: Mapping[str, Explanation], *, k: int = 5) -> pd.DataFrame:
    """:func:`rank_agreement` for every pair of methods: one row per pair."""
    rows = [
        {"method_a": first, "method_b": second, **rank_agreement(a, b, k=k)}
        for (first, a), (second, b) in combinations(explanations.items(), 2)
    ]
    return pd.DataFrame(rows, columns=["method_a", "method_b", *AGREEMENT_COLUMNS])


def rank_correlation(x: np.ndarray, y: np.ndarray, kind: str = "spearman") -> float:
    """Spearman's rho or Kendall's tau-b of ``x`` and ``y``; NaN if either is constant."""
    if len(x) < 2 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return math.nan
    function = stats.spearmanr if kind == "spearman" else stats.kendalltau
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", stats.ConstantInputWarning)
        return float(function(x, y).statistic)


def top_k_jaccard(x: np.ndarray, y: np.ndarray, k: int) -> float:
    """Jaccard index of the top-``k`` features by ``|value|`` (ties: earlier feature first)."""
    k = min(k, len(x))
    if k == 0:
        return math.nan
    top_x = set(np.argsort(-np.abs(x), kind="stable")[:k].tolist())
    top_y = set(np.argsort(-np.abs(y), kind="stable")[:k].tolist())
    return len(top_x & top_y) / len(top_x | top_y)


def sign_agreement(x: np.ndarray, y: np.ndarray) -> float:
    """Fraction of same signs among features where ``x`` or ``y`` is non-zero."""
    either = (x != 0) | (y != 0)
    if not either.any():
        return math.nan
    return float(np.mean(np.sign(x[either]) == np.sign(y[either])))
