"""Background rows for interventional explanations: a weighted summary of the data.

An absent column takes its value from background rows, and a coalition's score is the
weighted mean over them, so the cost of every perturbation method grows with the number
of rows: ``background_size`` bounds it.

* ``"kmeans"`` (default), as ``shap.kmeans``: k-means on the standardised, one-hot encoded
  data; each cluster becomes one row weighted by its share of the data. A numeric value
  is the cluster mean snapped to the nearest value observed in that column (so integer
  columns stay integral), a categorical value is the cluster's most frequent category.
* ``"sample"``: rows drawn uniformly without replacement, equal weights.

Data with at most ``background_size`` distinct rows is used whole: each distinct row
weighted by its count, which is the data's exact distribution.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from xplain.adapters._tabular_encoder import TabularEncoder
from xplain.adapters._tabular_schema import TabularSchema

METHODS = ("kmeans", "sample")


@dataclass(frozen=True)
class Background:
    """Rows ``[K, d]`` (schema matrix) and their weights ``[K]`` (summing to 1)."""

    rows: np.ndarray
    weights: np.ndarray


def summarise(
    matrix: np.ndarray, schema: TabularSchema, size: int, method: str, seed: int | None
) -> Background:
    """A background of at most ``size`` weighted rows summarising ``matrix`` ``[N, d]``."""
    distinct, counts = np.unique(matrix, axis=0, return_counts=True)
    if distinct.shape[0] <= size:
        return Background(distinct, counts / counts.sum())
    rng = np.random.default_rng(seed)
    if method == "sample":
        chosen = np.sort(rng.choice(matrix.shape[0], size=size, replace=False))
        return Background(matrix[chosen], np.full(size, 1.0 / size))
    return _kmeans(matrix, schema, size, seed)


def _kmeans(matrix: np.ndarray, schema: TabularSchema, size: int, seed: int | None) -> Background:
    from sklearn.cluster import KMeans

    encoder = TabularEncoder()
    encoder._fit(schema, matrix)
    points = encoder.encode(matrix)  # [N, m] standardised + one-hot
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # ConvergenceWarning on duplicated points
        labels = KMeans(n_clusters=size, n_init=1, random_state=seed).fit_predict(points)
    observed = [np.unique(matrix[:, j]) for j in range(matrix.shape[1])]  # sorted values
    rows, weights = [], []
    for cluster in np.unique(labels):
        members = matrix[labels == cluster]  # [n_c, d]
        row = np.empty(matrix.shape[1])
        for j in range(matrix.shape[1]):
            if schema.categorical[j]:
                values, counts = np.unique(members[:, j], return_counts=True)
                row[j] = values[np.argmax(counts)]
            else:
                row[j] = _nearest(observed[j], members[:, j].mean())
        rows.append(row)
        weights.append(members.shape[0])
    # clusters whose summaries coincide become one row with their summed weight
    unique, inverse = np.unique(np.array(rows), axis=0, return_inverse=True)
    merged = np.bincount(inverse.ravel(), weights=np.array(weights, dtype=np.float64))
    return Background(unique, merged / merged.sum())


def _nearest(sorted_values: np.ndarray, value: float) -> float:
    """The element of ``sorted_values`` closest to ``value``."""
    if len(sorted_values) == 1:
        return float(sorted_values[0])
    i = int(np.clip(np.searchsorted(sorted_values, value), 1, len(sorted_values) - 1))
    below, above = sorted_values[i - 1], sorted_values[i]
    return float(below if value - below <= above - value else above)
