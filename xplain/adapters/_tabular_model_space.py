"""Masked rows built in the final estimator's own columns, past a column-wise preprocessing.

A masked (hybrid) row takes each column from the explained row or from a background row.
When every output column of a Pipeline's preprocessing depends on one original column
only (OrdinalEncoder, OneHotEncoder, scalers, imputers, passthrough, in a
ColumnTransformer), the preprocessed hybrid is the same mix of the preprocessed row and
the preprocessed background row. So the preprocessing runs once on the explained rows
and once on the background, hybrids are assembled with ``np.where`` in the model's
columns, and only the final estimator is called on them. On the demo Adult pipeline the
OrdinalEncoder costs about twice the 100 trees, so a hybrid costs about a third.

It is checked at setup: on random hybrids of data rows and background rows, the
assembled rows must equal the preprocessing's own output exactly, and their scores the
whole model's. A preprocessing that fails the check (one that mixes columns, gives a
DataFrame, or depends on the batch) keeps the ordinary path: every hybrid through the
whole Pipeline.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from xplain.adapters._tabular_column_maps import ColumnMaps, column_maps, passthrough_columns
from xplain.adapters._tabular_schema import TabularSchema
from xplain.adapters._tabular_trees import column_owners
from xplain.models.base import uncounted
from xplain.models.sklearn import SklearnModel

CHECK_ROWS = 256  # random hybrids the assembled rows are checked on
MAX_MODEL_COLUMNS = 256  # wider outputs (large one-hot encodings) keep the ordinary path
SCORE_RTOL, SCORE_ATOL = 1e-9, 1e-12  # scores of assembled rows vs the whole model's


@dataclass(frozen=True)
class ModelSpace:
    """The preprocessing of a model whose output columns each follow one original column.

    ``owners[c]`` is the original column behind model column ``c`` (-1: a constant one);
    ``background`` is the background rows preprocessed ``[K, m]``; ``maps``, when set,
    replays the preprocessing as lookups (:mod:`xplain.adapters._tabular_column_maps`).
    """

    model: SklearnModel
    schema: TabularSchema
    owners: np.ndarray  # int [m]
    background: np.ndarray  # [K, m]
    maps: ColumnMaps | None = None

    def transform(self, rows: np.ndarray) -> np.ndarray:
        """Schema-matrix rows ``[n, d]`` -> the final estimator's input ``[n, m]``."""
        if self.maps is not None:
            return self.maps.transform(rows)
        return _preprocessed(self.model, self.schema, rows)

    def expand(self, masks: np.ndarray) -> np.ndarray:
        """Masks over original columns ``[n, d]`` -> over model columns ``[n, m]`` (a
        constant model column is kept from the row: it is the same in every row)."""
        masks = np.asarray(masks, dtype=bool)
        ones = np.ones((masks.shape[0], 1), dtype=bool)  # owner -1: this last column
        return np.concatenate([masks, ones], axis=1)[:, self.owners]

    def hybrids(self, row: np.ndarray, games: np.ndarray, masks: np.ndarray) -> np.ndarray:
        """The final estimator's input ``[n, m]`` of hybrid ``i``: the preprocessed ``row``
        (``[m]``, or ``[n, m]`` one per hybrid) where ``masks[i]`` holds, the preprocessed
        background row ``games[i]`` elsewhere."""
        return np.where(self.expand(masks), row, self.background[games])

    def scores(self, inputs: np.ndarray, output: str) -> np.ndarray:
        """Scores ``[n, C]`` of the final estimator's inputs (counted as model rows)."""
        return self.model.scores_of_inputs(inputs, output)


def model_space(
    model: Any,
    schema: TabularSchema,
    data: np.ndarray,
    background: np.ndarray,
    seed: int = 0,
) -> ModelSpace | None:
    """The model's column-wise preprocessing, or None where hybrids must go through the
    whole model (no Pipeline, a preprocessing that mixes columns or fails the check)."""
    if not isinstance(model, SklearnModel) or model.preprocessing is None:
        return None
    try:
        owners = column_owners(
            lambda rows: _preprocessed(model, schema, rows), schema, data, background
        )
        if not isinstance(owners, np.ndarray) or owners.shape[0] > MAX_MODEL_COLUMNS:
            return None
        space = ModelSpace(model, schema, owners, _preprocessed(model, schema, background))
        if not _assembles(space, data, background, seed):
            return None
        preprocess = lambda rows: _preprocessed(model, schema, rows)  # noqa: E731
        passthrough = passthrough_columns(model.preprocessing)
        maps = column_maps(preprocess, schema, owners, data, passthrough, seed)
        return replace(space, maps=maps)
    except Exception:  # a preprocessing this path cannot use (DataFrame output...)
        return None


def _assembles(space: ModelSpace, data: np.ndarray, background: np.ndarray, seed: int) -> bool:
    """Whether assembled hybrids of random data rows equal the preprocessing's output
    exactly and score as the whole model does."""
    rng = np.random.default_rng(seed)
    n = CHECK_ROWS
    rows = data[rng.integers(0, data.shape[0], n)]  # [n, d]
    games = rng.integers(0, background.shape[0], n)
    masks = rng.random(rows.shape) < 0.5  # [n, d]
    hybrid = np.where(masks, rows, background[games])  # [n, d] in the original columns
    direct = space.transform(hybrid)
    assembled = space.hybrids(space.transform(rows), games, masks)
    if direct.shape != assembled.shape or not np.array_equal(direct, assembled, equal_nan=True):
        return False
    model, output = space.model, space.model.outputs[0]
    with uncounted():  # the check is setup, no explanation's work
        expected = model.scores(space.schema.to_frame(hybrid), output)
        got = model.scores_of_inputs(assembled, output)
    return bool(np.allclose(got, expected, rtol=SCORE_RTOL, atol=SCORE_ATOL))


def _preprocessed(model: SklearnModel, schema: TabularSchema, rows: np.ndarray) -> np.ndarray:
    """Schema-matrix rows ``[n, d]`` through the model's preprocessing ``[n, m]``."""
    return _dense(model.preprocess(model.inputs(schema.to_frame(rows))))


def _dense(X: Any) -> np.ndarray:
    """A preprocessing output as a dense numeric array; a DataFrame or an object array is
    refused (column names and dtypes the final estimator may need would be lost)."""
    if hasattr(X, "toarray"):  # scipy sparse
        X = X.toarray()
    if not isinstance(X, np.ndarray) or X.dtype.kind not in "biuf":
        raise TypeError(f"the preprocessing gives a {type(X).__name__}, not a numeric array")
    return X
