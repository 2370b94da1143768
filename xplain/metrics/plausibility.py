"""Plausibility: how well an explanation agrees with a human rationale (ERASER).

DeYoung et al. 2020, "ERASER: A Benchmark to Evaluate Rationalized NLP Models", ACL
(arXiv:1911.03429), score a soft explanation against the tokens people marked as the
reason for a label in three ways:

* token-level precision, recall and F1 of a discrete rationale taken from the scores: the
  top-``k`` features (default: as many as the human rationale has) or those scoring above
  a ``threshold``; with ``positive_only`` (default, as ferret's ``only_pos``) only features
  that speak for the explained class can be picked;
* IoU-F1 over spans: the discrete rationale's runs of consecutive features are predicted
  spans; one matches when its IoU (shared features / features of either) with a human span
  is >= ``iou`` (0.5); precision = matched predicted spans / predicted spans, recall =
  matched human spans / human spans (ERASER's code counts matched *predicted* spans in
  both, which can exceed 1 only when two predicted spans each cover exactly half a human
  one; here recall counts human spans);
* AUPRC of the soft scores against the rationale's 0/1 labels, as average precision
  (``sklearn.metrics.average_precision_score``: the step-wise area; ERASER's and ferret's
  code integrate the PR curve with the trapezoid rule, which interpolates optimistically).

A rationale is given as ``(start, end)`` character spans of the explained text (end
exclusive; what :func:`xplain.datasets.load_eraser` gives) or as a 0/1 mask with one entry
per feature of the explanation. Character spans reach the features through the adapter's
``feature_spans`` (a feature is in the rationale when its characters overlap a span, so
every sub-word piece of a marked word is in it). Special features ([CLS], [SEP]) are left
out of every count. No metric here runs the model.
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score

from xplain.errors import (
    InvalidInputError,
    InvalidParameterError,
    MethodNotApplicableError,
    XplainWarning,
)
from xplain.explanation import Explanation
from xplain.metrics._common import check_provenance, checked_values, encode_again

if TYPE_CHECKING:
    from xplain.explainer import Explainer

IOU_MATCH = 0.5  # ERASER: a predicted span matches a human one at IoU >= 0.5
_HOW = (
    "pass rationale= as (start, end) character spans of the text or as a 0/1 mask over the "
    "explanation's features, e.g. metrics.token_f1(explainer, e, rationale=[(4, 9)]) or "
    "comparison.evaluate([...], params={'token_f1': {'rationale': [(4, 9)]}})"
)


@dataclass(frozen=True)
class Aligned:
    """An explanation and a human rationale on the same (non-special) features.

    Attributes:
        scores: The explanation's values of the non-special features ``[d]``.
        truth: Bool ``[d]``, the features in the human rationale.
        spans: The human spans, each the sorted indices (into ``[d]``) it covers.
    """

    scores: np.ndarray
    truth: np.ndarray
    spans: tuple[np.ndarray, ...]


# -- the maths on arrays ---------------------------------------------------------------
def discrete_rationale(
    scores: np.ndarray,
    *,
    k: int | None = None,
    threshold: float | None = None,
    positive_only: bool = True,
) -> np.ndarray:
    """The features a soft explanation picks: its top ``k`` (ties in feature order) or
    those scoring above ``threshold``; with ``positive_only`` none scoring <= 0.

    Args:
        scores: One score per feature ``[d]``.
        k: How many features to pick (more than ``d``: all of them).
        threshold: Pick the features scoring strictly above it (instead of ``k``).
        positive_only: Never pick a feature scoring <= 0.

    Returns:
        Bool ``[d]``, the picked features.
    """
    scores = np.asarray(scores, dtype=np.float64)
    picked = np.zeros(scores.shape, dtype=bool)
    if threshold is not None:
        picked = scores > threshold
    elif k is not None:
        picked[np.argsort(-scores, kind="stable")[:k]] = True
    if positive_only:
        picked &= scores > 0
    return picked


def runs(mask: np.ndarray) -> list[np.ndarray]:
    """The runs of consecutive True entries of ``mask``, as index arrays.

    Args:
        mask: Bool ``[d]``.

    Returns:
        One array of indices per run, in order.
    """
    index = np.flatnonzero(np.asarray(mask, dtype=bool))
    return [] if index.size == 0 else np.split(index, np.flatnonzero(np.diff(index) > 1) + 1)


def precision_recall_f1(truth: np.ndarray, picked: np.ndarray) -> tuple[float, float, float]:
    """Token-level precision, recall and F1 of the ``picked`` features against ``truth``
    (ERASER; 0 where a denominator is 0, as ERASER's and ferret's ``_f1``).

    Args:
        truth: Bool ``[d]``, the human rationale.
        picked: Bool ``[d]``, the explanation's discrete rationale.

    Returns:
        ``(precision, recall, f1)``.
    """
    truth, picked = np.asarray(truth, dtype=bool), np.asarray(picked, dtype=bool)
    hits = int((truth & picked).sum())
    return _prf(hits, int(picked.sum()), hits, int(truth.sum()))


def span_matches(
    true_spans: Sequence[np.ndarray], predicted: Sequence[np.ndarray], iou: float = IOU_MATCH
) -> tuple[int, int]:
    """How many predicted spans match a human one, and how many human spans a predicted
    one, at IoU >= ``iou`` (IoU of two spans: shared indices / indices of either).

    Args:
        true_spans: The human spans, as index arrays.
        predicted: The predicted spans, as index arrays.
        iou: The least IoU of a match.

    Returns:
        ``(matched predicted spans, matched human spans)``.
    """
    overlap = np.zeros((len(predicted), len(true_spans)))
    for i, p in enumerate(predicted):
        for j, t in enumerate(true_spans):
            union = np.union1d(p, t).size
            overlap[i, j] = np.intersect1d(p, t).size / union if union else 0.0
    matched = overlap >= iou
    return int(matched.any(axis=1).sum()), int(matched.any(axis=0).sum())


def iou_precision_recall_f1(
    true_spans: Sequence[np.ndarray], predicted: Sequence[np.ndarray], iou: float = IOU_MATCH
) -> tuple[float, float, float]:
    """ERASER's IoU precision, recall and F1 of ``predicted`` spans against ``true_spans``.

    Args:
        true_spans: The human spans, as index arrays.
        predicted: The predicted spans, as index arrays.
        iou: The least IoU of a match.

    Returns:
        ``(precision, recall, f1)``.
    """
    hit_pred, hit_true = span_matches(true_spans, predicted, iou)
    return _prf(hit_pred, len(predicted), hit_true, len(true_spans))


def _prf(hit_pred: int, n_pred: int, hit_true: int, n_true: int) -> tuple[float, float, float]:
    precision = hit_pred / n_pred if n_pred else 0.0
    recall = hit_true / n_true if n_true else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision and recall else 0.0
    return precision, recall, f1


def average_precision(truth: np.ndarray, scores: np.ndarray) -> float:
    """Area under the precision-recall curve of ``scores`` ranking the ``truth`` features
    first, as average precision: sum over the thresholds of (R_n - R_{n-1}) P_n.

    Args:
        truth: Bool ``[d]``, with at least one True.
        scores: The soft scores ``[d]``.

    Returns:
        The average precision, in [0, 1].
    """
    return float(average_precision_score(np.asarray(truth, dtype=int), scores))


# -- rationale -> features --------------------------------------------------------------
def align_rationale(
    explainer: Explainer | None,
    explanation: Explanation,
    rationale: Any,
    *,
    positive_only: bool = False,
) -> Aligned:
    """Put ``rationale`` on the explanation's non-special features.

    Args:
        explainer: The explainer that made ``explanation`` (its adapter maps character
            spans to features); None for a mask rationale.
        explanation: The explanation to score.
        rationale: ``(start, end)`` character spans of the text, or a 0/1 mask with one
            entry per feature of ``explanation``.
        positive_only: Clip the scores below 0 to 0 (what AUPRC ranks).

    Returns:
        The scores, the rationale mask and the human spans on the non-special features.

    Raises:
        InvalidParameterError: the rationale is missing or malformed.
        InvalidInputError: a span lies outside the text, or the rationale covers no
            feature.
    """
    values = checked_values(explanation)
    special = explanation._special_flags()
    active = np.flatnonzero(~special)
    if rationale is None:
        raise InvalidParameterError(f"This plausibility metric needs a human rationale; {_HOW}.")
    array = np.asarray(rationale, dtype=object)
    if array.ndim == 1 and array.size == explanation.n_features and array.size > 0:
        if explainer is not None and explanation.instance is not None:
            check_provenance(explainer, explanation)  # as character spans are checked
        spans = _mask_spans(explanation, array, special)
    else:
        spans = _char_spans(explainer, explanation, rationale)
    # human spans on the non-special features (special ones never carry a rationale)
    position = np.full(explanation.n_features, -1)
    position[active] = np.arange(active.size)
    mapped = [position[s][position[s] >= 0] for s in spans]
    mapped = tuple(s for s in mapped if s.size)
    if not mapped:
        raise InvalidInputError(
            f"The rationale covers none of the explanation's {active.size} (non-special) "
            "features: it is empty, marks only special tokens or whitespace, or lies in a part "
            "of the text that was truncated away. Pass a rationale that marks at least one "
            "explained token."
        )
    if len(mapped) < len(spans):  # recall would count only the visible part, silently
        warnings.warn(
            f"{len(spans) - len(mapped)} of the rationale's {len(spans)} spans cover no "
            "explained token (whitespace, special tokens, or text truncated away); the "
            "scores count only the other spans.",
            XplainWarning,
            stacklevel=3,
        )
    truth = np.zeros(active.size, dtype=bool)
    for span in mapped:
        truth[span] = True
    scores = values[active]
    return Aligned(np.clip(scores, 0, None) if positive_only else scores, truth, mapped)


def _mask_spans(explanation: Explanation, mask: np.ndarray, special: np.ndarray) -> list:
    """The runs of a 0/1 mask over the features, as human spans."""
    try:
        flags = mask.astype(np.float64)
    except (TypeError, ValueError):
        flags = np.full(mask.shape, np.nan)
    if not np.isin(flags, (0.0, 1.0)).all():
        raise InvalidParameterError(
            f"The 'rationale' mask must hold 0/1 (or bools), one per feature; got values "
            f"{sorted({repr(v) for v in mask.tolist()})[:5]}. {_HOW[0].upper()}{_HOW[1:]}."
        )
    return runs(flags.astype(bool) & ~special)


def _char_spans(explainer: Explainer | None, explanation: Explanation, rationale: Any) -> list:
    """Character spans -> for each, the indices of the features whose characters it
    overlaps (through the adapter's ``feature_spans``)."""
    pairs = _checked_pairs(rationale, explanation)
    text = explanation.instance
    for start, end in pairs:
        if not 0 <= start < end <= len(text):
            raise InvalidInputError(
                f"The rationale span ({start}, {end}) lies outside the explained text of "
                f"{len(text)} characters; a span is (start, end) with 0 <= start < end <= "
                f"{len(text)} (end exclusive). Give spans of this very text."
            )
    adapter = getattr(explainer, "adapter", None)
    spans_of = getattr(adapter, "feature_spans", None)
    if spans_of is None:
        raise MethodNotApplicableError(
            f"A character-span rationale needs an adapter that maps features to characters "
            f"(feature_spans); {type(adapter).__name__} does not. Pass the explainer that "
            f"made the explanation, or the rationale as a 0/1 mask with one entry per feature "
            f"({explanation.n_features})."
        )
    located = spans_of(encode_again(explainer, explanation))
    return [
        np.array([f for f, where in enumerate(located)
                  if where is not None and where[0] < end and where[1] > start], dtype=int)
        for start, end in pairs
    ]


def _checked_pairs(rationale: Any, explanation: Explanation) -> list[tuple[int, int]]:
    if not isinstance(explanation.instance, str):
        raise InvalidParameterError(
            f"A rationale of character spans needs an explanation of a text; this one "
            f"explains a {type(explanation.instance).__name__}. Pass a 0/1 mask with one "
            f"entry per feature ({explanation.n_features}) instead."
        )
    pairs = []
    for item in rationale if isinstance(rationale, Sequence | np.ndarray) else [rationale]:
        ok = isinstance(item, Sequence | np.ndarray) and len(item) == 2 and all(
            isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in item
        )
        if not ok:
            raise InvalidParameterError(
                f"The 'rationale' parameter must be (start, end) character spans or a 0/1 "
                f"mask of {explanation.n_features} entries (one per feature); got the item "
                f"{item!r} in {str(rationale)[:80]}. {_HOW[0].upper()}{_HOW[1:]}."
            )
        pairs.append((int(item[0]), int(item[1])))
    if not pairs:
        raise InvalidInputError(f"The rationale is empty (no span); {_HOW}.")
    return pairs


def _check_choice(k: Any, threshold: Any, iou: Any = IOU_MATCH) -> None:
    if k is not None and threshold is not None:
        raise InvalidParameterError(
            f"Pass either k ({k!r}) or threshold ({threshold!r}) to pick the explanation's "
            "rationale, not both."
        )
    if k is not None and (isinstance(k, bool) or not isinstance(k, numbers.Integral) or k < 1):
        raise InvalidParameterError(f"The 'k' parameter must be an int >= 1 or None. Got {k!r}.")
    if threshold is not None and (
        isinstance(threshold, bool) or not isinstance(threshold, numbers.Real)
        or not np.isfinite(threshold)
    ):
        raise InvalidParameterError(
            f"The 'threshold' parameter must be a finite float or None. Got {threshold!r}."
        )
    if isinstance(iou, bool) or not isinstance(iou, numbers.Real) or not 0 < iou <= 1:
        raise InvalidParameterError(f"The 'iou' parameter must be in (0, 1]. Got {iou!r}.")


def _picked(aligned: Aligned, k: int | None, threshold: float | None, positive: bool):
    k = int(aligned.truth.sum()) if k is None and threshold is None else k
    return discrete_rationale(aligned.scores, k=k, threshold=threshold, positive_only=positive)


# -- the metrics ------------------------------------------------------------------------
def token_precision_recall_f1(
    explainer: Explainer | None,
    explanation: Explanation,
    *,
    rationale: Any = None,
    k: int | None = None,
    threshold: float | None = None,
    positive_only: bool = True,
) -> tuple[float, float, float]:
    """Token-level precision, recall and F1 of the explanation's top features against a
    human rationale (DeYoung et al. 2020, ERASER, arXiv:1911.03429).

    Args:
        explainer: The explainer that made ``explanation`` (maps character spans to
            features); None for a mask rationale.
        explanation: The explanation to score.
        rationale: ``(start, end)`` character spans of the text, or a 0/1 mask per feature.
        k: The explanation's rationale is its top ``k`` features (default: as many as the
            human rationale has).
        threshold: Or the features scoring above it.
        positive_only: Never pick a feature scoring <= 0.

    Returns:
        ``(precision, recall, f1)``, each in [0, 1].
    """
    _check_choice(k, threshold)
    aligned = align_rationale(explainer, explanation, rationale)
    return precision_recall_f1(aligned.truth, _picked(aligned, k, threshold, positive_only))


def token_precision(
    explainer: Explainer | None, explanation: Explanation, *, rationale: Any = None,
    k: int | None = None, threshold: float | None = None, positive_only: bool = True,
) -> float:
    """Token-level precision of the explanation's top features against a human rationale
    (ERASER, DeYoung et al. 2020): see :func:`token_precision_recall_f1`.

    Args:
        explainer: The explainer that made ``explanation``; None for a mask rationale.
        explanation: The explanation to score.
        rationale: ``(start, end)`` character spans of the text, or a 0/1 mask per feature.
        k: The top ``k`` features are picked (default: the human rationale's size).
        threshold: Or the features scoring above it.
        positive_only: Never pick a feature scoring <= 0.

    Returns:
        The share of picked features in the rationale.
    """
    return token_precision_recall_f1(
        explainer, explanation, rationale=rationale, k=k, threshold=threshold,
        positive_only=positive_only,
    )[0]


def token_recall(
    explainer: Explainer | None, explanation: Explanation, *, rationale: Any = None,
    k: int | None = None, threshold: float | None = None, positive_only: bool = True,
) -> float:
    """Token-level recall of the explanation's top features against a human rationale
    (ERASER, DeYoung et al. 2020): see :func:`token_precision_recall_f1`.

    Args:
        explainer: The explainer that made ``explanation``; None for a mask rationale.
        explanation: The explanation to score.
        rationale: ``(start, end)`` character spans of the text, or a 0/1 mask per feature.
        k: The top ``k`` features are picked (default: the human rationale's size).
        threshold: Or the features scoring above it.
        positive_only: Never pick a feature scoring <= 0.

    Returns:
        The share of rationale features picked.
    """
    return token_precision_recall_f1(
        explainer, explanation, rationale=rationale, k=k, threshold=threshold,
        positive_only=positive_only,
    )[1]


def token_f1(
    explainer: Explainer | None, explanation: Explanation, *, rationale: Any = None,
    k: int | None = None, threshold: float | None = None, positive_only: bool = True,
) -> float:
    """Token-level F1 of the explanation's top features against a human rationale
    (ERASER, DeYoung et al. 2020): see :func:`token_precision_recall_f1`.

    Args:
        explainer: The explainer that made ``explanation``; None for a mask rationale.
        explanation: The explanation to score.
        rationale: ``(start, end)`` character spans of the text, or a 0/1 mask per feature.
        k: The top ``k`` features are picked (default: the human rationale's size).
        threshold: Or the features scoring above it.
        positive_only: Never pick a feature scoring <= 0.

    Returns:
        The harmonic mean of token precision and recall (0 when either is 0).
    """
    return token_precision_recall_f1(
        explainer, explanation, rationale=rationale, k=k, threshold=threshold,
        positive_only=positive_only,
    )[2]


def iou_f1(
    explainer: Explainer | None, explanation: Explanation, *, rationale: Any = None,
    k: int | None = None, threshold: float | None = None, positive_only: bool = True,
    iou: float = IOU_MATCH,
) -> float:
    """ERASER's IoU-F1: F1 of the explanation's rationale spans (runs of consecutive picked
    features) matching human spans at IoU >= ``iou`` (DeYoung et al. 2020,
    arXiv:1911.03429).

    Args:
        explainer: The explainer that made ``explanation``; None for a mask rationale.
        explanation: The explanation to score.
        rationale: ``(start, end)`` character spans of the text (each one human span), or
            a 0/1 mask per feature (each run of 1s one span).
        k: The top ``k`` features are picked (default: the human rationale's size).
        threshold: Or the features scoring above it.
        positive_only: Never pick a feature scoring <= 0.
        iou: The least IoU of a match (ERASER: 0.5).

    Returns:
        The F1 of span precision and recall, in [0, 1].
    """
    _check_choice(k, threshold, iou)
    aligned = align_rationale(explainer, explanation, rationale)
    predicted = runs(_picked(aligned, k, threshold, positive_only))
    return iou_precision_recall_f1(aligned.spans, predicted, float(iou))[2]


def auprc(
    explainer: Explainer | None, explanation: Explanation, *, rationale: Any = None,
    positive_only: bool = True,
) -> float:
    """Area under the precision-recall curve of the explanation's soft scores against a
    human rationale, as average precision (DeYoung et al. 2020, ERASER, arXiv:1911.03429).

    Args:
        explainer: The explainer that made ``explanation``; None for a mask rationale.
        explanation: The explanation to score.
        rationale: ``(start, end)`` character spans of the text, or a 0/1 mask per feature.
        positive_only: Clip negative scores to 0 first (ferret's ``only_pos``): evidence
            against the class ranks no higher than no evidence.

    Returns:
        The average precision, in [0, 1] (the rationale's share of the features for
        uninformative scores).
    """
    aligned = align_rationale(explainer, explanation, rationale, positive_only=positive_only)
    return average_precision(aligned.truth, aligned.scores)


def plausibility(
    explainer: Explainer | None,
    explanations: Sequence[Explanation],
    rationales: Sequence[Any],
    *,
    k: int | None = None,
    threshold: float | None = None,
    positive_only: bool = True,
    iou: float = IOU_MATCH,
) -> pd.DataFrame:
    """Every plausibility metric per instance, then their aggregates over the instances.

    One row per explanation (index 0..n-1) with ``token_precision``, ``token_recall``,
    ``token_f1``, ``iou_precision``, ``iou_recall``, ``iou_f1`` and ``auprc``; then the
    row ``"macro"`` (their means) and the row ``"micro"`` (ERASER's pooled scores: token
    and span counts summed over the instances before dividing; AUPRC of all features
    pooled).

    Args:
        explainer: The explainer that made the explanations; None for mask rationales.
        explanations: The explanations, e.g. of one method over a dataset.
        rationales: One rationale per explanation (see :func:`token_f1`).
        k: The top ``k`` features are picked (default: each human rationale's size).
        threshold: Or the features scoring above it.
        positive_only: Never pick a feature scoring <= 0; AUPRC clips negatives to 0.
        iou: The least IoU of a span match.

    Returns:
        A DataFrame of n + 2 rows.
    """
    _check_choice(k, threshold, iou)
    explanations, rationales = list(explanations), list(rationales)
    if not explanations or len(explanations) != len(rationales):
        raise InvalidParameterError(
            f"plausibility needs one rationale per explanation, at least one of each; got "
            f"{len(explanations)} explanations and {len(rationales)} rationales."
        )
    rows, truths, soft = [], [], []
    for explanation, rationale in zip(explanations, rationales, strict=True):
        aligned = align_rationale(explainer, explanation, rationale, positive_only=positive_only)
        picked = _picked(aligned, k, threshold, positive_only)
        predicted = runs(picked)
        hit_pred, hit_true = span_matches(aligned.spans, predicted, float(iou))
        counts = (int((picked & aligned.truth).sum()), int(picked.sum()),
                  int(aligned.truth.sum()), hit_pred, len(predicted), hit_true,
                  len(aligned.spans))
        truths.append(aligned.truth)
        soft.append(aligned.scores)
        rows.append(_row(counts, average_precision(aligned.truth, aligned.scores)))
    frame = pd.DataFrame([row for row, _ in rows])
    totals = tuple(int(sum(c[i] for _, c in rows)) for i in range(7))
    micro, _ = _row(totals, average_precision(np.concatenate(truths), np.concatenate(soft)))
    frame.loc["macro"] = frame.mean()
    frame.loc["micro"] = pd.Series(micro)
    return frame


def _row(counts: tuple[int, ...], ap: float) -> tuple[dict[str, float], tuple[int, ...]]:
    """The scores of ``counts`` (token hits, picked, truth; span hits among predicted,
    predicted, span hits among human, human) and their counts, for pooling."""
    hits, n_picked, n_truth, *spans = counts
    p, r, f = _prf(hits, n_picked, hits, n_truth)
    ip, ir, i_f = _prf(*spans)
    scores = {"token_precision": p, "token_recall": r, "token_f1": f, "iou_precision": ip,
              "iou_recall": ir, "iou_f1": i_f, "auprc": ap}
    return scores, counts


__all__ = [
    "IOU_MATCH",
    "Aligned",
    "align_rationale",
    "auprc",
    "average_precision",
    "discrete_rationale",
    "iou_f1",
    "iou_precision_recall_f1",
    "plausibility",
    "precision_recall_f1",
    "runs",
    "span_matches",
    "token_f1",
    "token_precision",
    "token_precision_recall_f1",
    "token_recall",
]
