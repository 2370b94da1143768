"""What the tabular adapter's tree view needs: model columns -> original columns.

A Pipeline's preprocessing (ColumnTransformer, OneHotEncoder, scalers...) turns the
original columns into the tree model's own columns. Which original column each model
column comes from is found by probing: the preprocessing is run on a few background
rows in which one original column at a time is set to each of its categories (or to
deciles of its numeric values); a model column that changes only when column ``j``
changes belongs to ``j``. Model columns that never change are constant (they get no
attribution); one that changes with two original columns (PCA, polynomial features)
makes the tree view unavailable, since its attribution cannot be given to one column.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from xplain.adapters._tabular_schema import TabularSchema
from xplain.errors import MethodNotApplicableError
from xplain.models.sklearn import SklearnModel

PROBE_ROWS = 8  # background rows the preprocessing is probed on
NUMERIC_PROBES = np.linspace(0, 100, 11)  # percentiles a numeric column is set to


@dataclass(frozen=True)
class TreeParts:
    """The tree ensemble and, per model column, the original column it comes from."""

    estimator: Any
    owners: np.ndarray  # int [m]; -1: a constant model column

    def to_features(self, values: np.ndarray, n_features: int) -> np.ndarray:
        """Values per model column ``[m]`` -> per original column ``[d]`` (sums)."""
        values = np.asarray(values, dtype=np.float64).reshape(-1)
        keep = self.owners >= 0
        return np.bincount(self.owners[keep], weights=values[keep], minlength=n_features)


def tree_parts(
    model: Any, schema: TabularSchema, data: np.ndarray, probe: np.ndarray
) -> TreeParts | str:
    """The tree parts of ``model``, or why it has none (a sentence)."""
    estimator = model.tree_estimator if isinstance(model, SklearnModel) else None
    if estimator is None:
        return "the model is not a tree ensemble (scikit-learn trees, xgboost, lightgbm)"
    try:
        owners = column_owners(
            lambda rows: model.transform(schema.to_frame(rows)), schema, data, probe
        )
    except MethodNotApplicableError as err:
        return str(err)
    except Exception as err:  # any failure of the user's preprocessing
        return f"its preprocessing failed on probe rows ({type(err).__name__}: {err})"
    return TreeParts(estimator, owners) if isinstance(owners, np.ndarray) else owners


def column_owners(
    transform: Callable[[np.ndarray], np.ndarray],
    schema: TabularSchema,
    data: np.ndarray,
    probe: np.ndarray,
) -> np.ndarray | str:
    """Original column ``[m]`` behind each output of ``transform``, or why there is none."""
    probe = probe[:PROBE_ROWS]  # [p, d]
    blocks, block_column = [probe], [-1]
    for j, column in enumerate(schema.columns):
        if column.categorical:
            variants = np.arange(len(column.categories), dtype=np.float64)
        else:
            variants = np.unique(np.percentile(data[:, j], NUMERIC_PROBES))
        for value in variants:
            block = probe.copy()
            block[:, j] = value
            blocks.append(block)
            block_column.append(j)
    out = transform(np.concatenate(blocks))  # [n_blocks p, m]
    out = out.reshape(len(blocks), probe.shape[0], -1)
    same = (out == out[:1]) | (np.isnan(out) & np.isnan(out[:1]))
    changed = ~same.all(1)  # [n_blocks, m]
    columns = np.asarray(block_column)
    depends = np.stack([changed[columns == j].any(0) for j in range(len(schema))])  # [d, m]
    shared = np.flatnonzero(depends.sum(0) > 1)
    if shared.size:
        names = [schema.names[j] for j in np.flatnonzero(depends[:, shared[0]])]
        return (
            f"its preprocessing mixes columns ({', '.join(names)} feed one model column), "
            "so TreeSHAP values cannot be given to single columns"
        )
    return np.where(depends.any(0), depends.argmax(0), -1)

