"""TabularEncoder: the numeric encoding a neural network on a table is trained on."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from xplain.adapters._tabular_schema import TabularSchema
from xplain.errors import InvalidParameterError


class TabularEncoder:
    """Standardised numeric columns and one-hot categorical columns, in column order.

    Numeric column ``j`` becomes ``(x - mean_j) / std_j`` (population std of the fitted
    data; 1 where it is 0); a categorical column becomes one indicator per category seen
    in the fitted data. Gradient attributions over this encoding are summed back to each
    original column (the one-hot group of a categorical column).

    Train the network on ``encoder.transform(X)`` and give the same encoder to the
    explainer, so that both see the same encoding::

        encoder = TabularEncoder().fit(X_train)
        train(mlp, encoder.transform(X_train), y_train)
        Explainer(mlp, data=X_train, encoder=encoder)
    """

    def __init__(self, *, categorical: Sequence[str | int] | None = None) -> None:
        self.categorical = categorical
        self.schema: TabularSchema | None = None

    def __repr__(self) -> str:
        state = f"{len(self.feature_names_out)} outputs" if self.schema else "not fitted"
        return f"TabularEncoder({state})"

    def fit(self, X: Any, y: Any = None) -> TabularEncoder:
        """Learn column kinds, categories, means and standard deviations from ``X``."""
        schema, frame = TabularSchema.from_data(X, categorical=self.categorical)
        self._fit(schema, schema.to_matrix(frame, "data"))
        return self

    def _fit(self, schema: TabularSchema, matrix: np.ndarray) -> None:
        """Fit from a schema matrix ``[n, d]`` (what the tabular adapter holds)."""
        self.schema = schema
        numeric = ~schema.categorical
        self.mean_ = np.where(numeric, matrix.mean(0), 0.0)  # [d]
        std = matrix.std(0)
        self.scale_ = np.where(numeric & (std > 0), std, 1.0)  # [d]
        widths = [len(c.categories) if c.categorical else 1 for c in schema.columns]
        starts = np.concatenate([[0], np.cumsum(widths)])
        self.groups = [np.arange(starts[j], starts[j + 1]) for j in range(len(widths))]
        self.n_outputs = int(starts[-1])
        names = []
        for column in schema.columns:
            if column.categorical:
                names.extend(f"{column.name}={value}" for value in column.categories)
            else:
                names.append(column.name)
        self.feature_names_out = names

    def transform(self, X: Any) -> np.ndarray:
        """Encode the rows of ``X`` (DataFrame with the fitted columns) -> ``[n, m]`` float32."""
        schema = self._schema()
        frame = (
            X
            if isinstance(X, pd.DataFrame)
            else pd.DataFrame(
                np.asarray(X, dtype=object).reshape(-1, len(schema)), columns=schema.labels
            )
        )
        return self.encode(schema.to_matrix(frame, "data")).astype(np.float32)

    def fit_transform(self, X: Any, y: Any = None) -> np.ndarray:
        return self.fit(X, y).transform(X)

    def get_feature_names_out(self) -> list[str]:
        """Names of the encoded columns: ``age``, ``sex=Female``, ``sex=Male``, ..."""
        self._schema()
        return list(self.feature_names_out)

    def encode(self, matrix: np.ndarray) -> np.ndarray:
        """Schema matrix ``[n, d]`` (categories as codes) -> encoding ``[n, m]`` float64."""
        schema = self._schema()
        out = np.zeros((matrix.shape[0], self.n_outputs))
        for j, group in enumerate(self.groups):
            if schema.categorical[j]:
                out[np.arange(matrix.shape[0]), group[matrix[:, j].astype(np.int64)]] = 1.0
            else:
                out[:, group[0]] = (matrix[:, j] - self.mean_[j]) / self.scale_[j]
        return out

    def to_columns(self, values: np.ndarray) -> np.ndarray:
        """Values per encoded column ``[m]`` -> per original column ``[d]`` (group sums)."""
        return np.array([values[group].sum() for group in self.groups], dtype=np.float64)

    def _schema(self) -> TabularSchema:
        if self.schema is None:
            raise InvalidParameterError(
                "This TabularEncoder is not fitted; call encoder.fit(X_train) first."
            )
        return self.schema
