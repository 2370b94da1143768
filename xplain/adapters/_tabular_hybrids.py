"""Scores of masked rows (a row's columns kept, the others from background rows), each
distinct row sent to the model once.

The interventional value of a coalition ``z`` is ``v(z) = sum_k w_k f(h(z, b_k))`` with the
hybrid row ``h(z, b_k) = where(z, x, b_k)``. A hybrid depends on ``z`` only through the
columns where ``b_k`` differs from ``x``, so many (coalition, background row) pairs give
the same hybrid: on Adult, a background row typically matches the explained row in 4-6
of the 14 columns (sex, race, native country...), and 8,192 coalitions over 20 background
rows (163,840 hybrids) hold only a few thousand distinct ones. Each distinct hybrid is
keyed by the bits of ``~z & (b_k != x)`` and its row index ``k``, scored once, and
remembered across calls for the same explained row.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

MAX_KEY_BITS = 62  # keys are int64: the column bits plus the background row index


class HybridScorer:
    """``v(masks)`` for one explained row over ``K`` weighted background rows.

    ``differs[k, j]``: whether background row ``k`` differs from the row in column ``j``
    ``[K, d]``. ``hybrids(games, masks)`` gives the model inputs of the row where
    ``masks[i]`` holds and of background row ``games[i]`` elsewhere; ``score`` is one
    model call on them -> ``[n, C]`` with ``C = n_outputs``; ``max_rows`` caps the rows
    of one call. ``n_hybrids`` and ``n_scored`` count the hybrid rows asked for and the
    distinct ones actually scored.
    """

    def __init__(
        self,
        differs: np.ndarray,
        weights: np.ndarray,
        hybrids: Callable[[np.ndarray, np.ndarray], np.ndarray],
        score: Callable[[np.ndarray], np.ndarray],
        n_outputs: int,
        max_rows: int,
    ) -> None:
        self.differs, self.weights = np.asarray(differs, dtype=bool), weights  # [K, d], [K]
        self.hybrids, self.score = hybrids, score
        self.n_outputs, self.max_rows = n_outputs, max_rows
        k, d = self.differs.shape
        self.keyed = d + int(k - 1).bit_length() <= MAX_KEY_BITS
        if self.keyed:
            self.bits = self.differs.astype(np.int64) << np.arange(d, dtype=np.int64)  # [K, d]
            self.row_code = np.arange(k, dtype=np.int64) << d  # [K]
        self.keys = np.zeros(0, dtype=np.int64)  # sorted keys scored so far
        self.scores = np.zeros((0, n_outputs))  # [M, C] their scores
        self.n_hybrids = self.n_scored = 0

    def __call__(self, masks: np.ndarray) -> np.ndarray:
        """Weighted mean score over the background of each mask ``[n, d]`` -> ``[n, C]``."""
        k, d = self.differs.shape
        masks = np.asarray(masks, dtype=bool).reshape(-1, d)
        self.n_hybrids += masks.shape[0] * k
        if masks.shape[0] == 0:
            return np.zeros((0, self.n_outputs))
        if not self.keyed:
            return self._plain(masks)
        # key of each (mask, background row): the changed columns' bits and the row index
        absent = (~masks).astype(np.int64)  # [n, d]
        changed = absent @ self.bits.T  # [n, K]
        keys = np.where(changed == 0, 0, changed | self.row_code[None])  # 0: the row itself
        unique, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
        new = ~self._known(unique)
        if new.any():
            cells = first[new]  # flat (mask, background row) indices of the new keys
            scores = np.concatenate(
                [
                    self.score(self.hybrids(part % k, masks[part // k]))
                    for part in np.split(cells, range(self.max_rows, len(cells), self.max_rows))
                ]
            )  # [u, C], each call's hybrids built just before it
            self.n_scored += len(cells)
            keys_all = np.concatenate([self.keys, unique[new]])
            order = np.argsort(keys_all, kind="stable")
            self.keys = keys_all[order]
            self.scores = np.concatenate([self.scores, scores])[order]
        table = self.scores[np.searchsorted(self.keys, unique)]  # [U, C]
        per_cell = table[inverse.reshape(keys.shape)]  # [n, K, C]
        return np.einsum("nkc,k->nc", per_cell, self.weights)

    def _known(self, keys: np.ndarray) -> np.ndarray:
        """Which of the sorted ``keys`` were scored before ``[U]``."""
        at = np.searchsorted(self.keys, keys).clip(max=max(len(self.keys) - 1, 0))
        return (self.keys[at] == keys) if len(self.keys) else np.zeros(len(keys), bool)

    def _plain(self, masks: np.ndarray) -> np.ndarray:
        """Every hybrid scored (too many columns to key them)."""
        k = self.differs.shape[0]
        per_call = max(1, self.max_rows // k)
        out = []
        for start in range(0, masks.shape[0], per_call):
            chunk = masks[start : start + per_call]  # [c, d]
            games = np.tile(np.arange(k), len(chunk))  # [c K]: mask-major, row-minor
            scores = self.score(self.hybrids(games, np.repeat(chunk, k, axis=0)))  # [c K, C]
            self.n_scored += len(scores)
            out.append(np.einsum("nkc,k->nc", scores.reshape(len(chunk), k, -1), self.weights))
        return np.concatenate(out)
