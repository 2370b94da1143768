"""LIME's tabular neighbourhood, as ``lime.lime_tabular.LimeTabularExplainer`` draws it.

Ribeiro, Singh and Guestrin (2016). Statistics come from the view's training data
(:class:`xplain.views.TrainingData`, not the summarised background); the options are
``lime``'s, named as ``LimeTabularExplainer`` names them:

* ``discretize_continuous=True`` (the default): each numeric column is cut at its
  quartiles (or deciles: ``discretizer``) of the training data. A sample draws, for every
  column independently, a bin (numeric) or a category with its training frequency; a
  numeric value is then drawn from a normal truncated to the bin, with the mean and std
  of the training values in it (``lime.discretize``). The interpretable representation
  is binary: 1 where the sample falls in the instance's bin or category. Where a bin
  holds a single value lime returns a z-score by mistake; we return the value itself.
* ``discretize_continuous=False``: numeric values are ``N(0, 1) * std + mean`` (or
  ``+ x`` with ``sample_around_instance=True``) and are represented by ``(value - mean) / std``;
  categorical columns as above.

Distances are Euclidean between each representation row and the instance's (row 0),
which with discretisation is ``sqrt(number of columns that differ)``.
"""

from __future__ import annotations

import numpy as np

from xplain.views import Distribution, Neighbourhood, TrainingData

DISCRETIZERS = {"quartile": (25, 50, 75), "decile": tuple(range(10, 100, 10))}
STD_FLOOR = 1e-11  # lime adds this to each bin's std


def neighbourhood(
    distribution: Distribution,
    n: int,
    rng: np.random.Generator,
    *,
    discretize: bool,
    discretizer: str,
    sample_around_instance: bool,
) -> Neighbourhood:
    """``n`` samples around ``distribution.row`` (row 0) with their scores and distances.

    The sampler's statistics are computed once per training data and option set.
    """
    options = (discretize, discretizer, sample_around_instance)

    def build(training: TrainingData) -> LimeSampler:
        return LimeSampler(
            training,
            discretize=discretize,
            discretizer=discretizer,
            sample_around_instance=sample_around_instance,
        )

    sampler = distribution.training.derived(("lime", *options), build)
    representation, rows, distances = sampler.sample(distribution.row, n, rng)
    return Neighbourhood(representation, distribution.score(rows), distances)


class LimeSampler:
    """Draws LIME's neighbourhood of a row from training statistics."""

    def __init__(
        self,
        training: TrainingData,
        *,
        discretize: bool,
        discretizer: str,
        sample_around_instance: bool,
    ) -> None:
        matrix = training.rows  # [N, d]
        self.categorical = np.asarray(training.categorical, dtype=bool)  # [d]
        self.discretize = discretize
        self.around_instance = sample_around_instance
        self.mean = matrix.mean(0)  # [d]
        std = matrix.std(0)
        self.std = np.where(std > 0, std, 1.0)  # StandardScaler's scale_
        # per column: the values drawn (category codes or bin indices) and their frequencies
        self.values: list[np.ndarray] = []
        self.frequencies: list[np.ndarray] = []
        self.edges: list[np.ndarray | None] = []  # inner bin edges of numeric columns
        self.bins: list[np.ndarray | None] = []  # [n_bins, 4]: mean, std, min, max
        for j in range(matrix.shape[1]):
            column = matrix[:, j]
            edges = None
            if discretize and not self.categorical[j]:
                edges = np.unique(np.percentile(column, DISCRETIZERS[discretizer]))
                column = np.searchsorted(edges, column).astype(np.float64)
                self.bins.append(_bin_stats(matrix[:, j], column, edges))
            else:
                self.bins.append(None)
            self.edges.append(edges)
            values, counts = np.unique(column, return_counts=True)
            self.values.append(values)
            self.frequencies.append(counts / counts.sum())

    def sample(
        self, row: np.ndarray, n: int, rng: np.random.Generator
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Representation ``[n, d]``, model rows ``[n, d]``, distances ``[n]``; row 0: ``row``."""
        d = row.shape[0]
        rows = np.empty((n, d))
        representation = np.empty((n, d))
        if not self.discretize:
            centre = row if self.around_instance else self.mean
            rows[:] = rng.normal(size=(n, d)) * self.std + centre
            representation[:] = (rows - self.mean) / self.std
        for j in range(d):
            if not self.discretize and not self.categorical[j]:
                continue
            drawn = rng.choice(self.values[j], size=n, p=self.frequencies[j])  # [n]
            edges = self.edges[j]
            own = row[j] if edges is None else float(np.searchsorted(edges, row[j]))
            representation[:, j] = drawn == own
            rows[:, j] = drawn if edges is None else self._undiscretize(j, drawn, rng)
        rows[0] = row
        representation[0] = np.where(self.categorical | self.discretize, 1.0, 0.0)
        if not self.discretize:
            representation[0, ~self.categorical] = (row - self.mean)[~self.categorical] / (
                self.std[~self.categorical]
            )
        distances = np.sqrt(((representation - representation[0]) ** 2).sum(1))  # [n]
        return representation, rows, distances

    def _undiscretize(self, j: int, bins: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """A value drawn inside each bin: truncated normal with the bin's mean and std."""
        from scipy.stats import truncnorm  # scipy.stats on first use (0.5 s to import)

        stats = self.bins[j][bins.astype(np.int64)]  # [n, 4]
        mean, std, low, high = stats.T
        a, b = (low - mean) / std, (high - mean) / std
        out = low.copy()  # bins holding one value
        wide = a != b
        if wide.any():
            out[wide] = truncnorm.rvs(
                a[wide], b[wide], loc=mean[wide], scale=std[wide], random_state=rng
            )
        return out


def _bin_stats(values: np.ndarray, bins: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Per bin: mean and std of the training values in it, and its bounds ``[n_bins, 4]``."""
    n_bins = len(edges) + 1
    lows = np.concatenate([[values.min()], edges])
    highs = np.concatenate([edges, [values.max()]])
    stats = np.empty((n_bins, 4))
    for b in range(n_bins):
        inside = values[bins == b]
        mean = inside.mean() if inside.size else 0.0
        std = inside.std() if inside.size else 0.0
        stats[b] = (mean, std + STD_FLOOR, lows[b], highs[b])
    return stats
