"""The numeric input of a neural network on a table: TabularEncoder's encoding, or the raw
columns (RawColumns) when no encoder is given."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from xplain.adapters._tabular_schema import TabularSchema
from xplain.errors import InvalidParameterError

MAX_NAMED = 10  # non-numeric columns named in RawColumns' error


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

    Args:
        categorical: Columns (names or positions) to one-hot encode besides those of
            dtype object / string / category / bool; None: only those.
    """

    def __init__(self, *, categorical: Sequence[str | int] | None = None) -> None:
        self.categorical = categorical
        self.schema: TabularSchema | None = None

    def __repr__(self) -> str:
        state = f"{len(self.feature_names_out)} outputs" if self.schema else "not fitted"
        return f"TabularEncoder({state})"

    def fit(self, X: Any, y: Any = None) -> TabularEncoder:
        """Learn column kinds, categories, means and standard deviations from ``X``.

        Args:
            X: Training rows: a DataFrame, or a 2-D array (columns named x0, x1, ...).
            y: Ignored (scikit-learn's signature).

        Returns:
            The encoder itself, fitted.
        """
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
        """``fit(X)``, then the encoding ``[n, m]`` (float32) of ``X``.

        Args:
            X: Training rows, as for :meth:`fit`.
            y: Ignored (scikit-learn's signature).
        """
        return self.fit(X, y).transform(X)

    def get_feature_names_out(self) -> list[str]:
        """Names of the encoded columns: ``age``, ``sex=Female``, ``sex=Male``, ..."""
        self._schema()
        return list(self.feature_names_out)

    def encode(self, matrix: np.ndarray) -> np.ndarray:
        """Schema matrix -> encoding ``[n, m]`` float64.

        Args:
            matrix: Rows ``[n, d]`` of the fitted columns, numbers as they are and
                categories as codes (the tabular adapter's schema matrix).

        Raises:
            InvalidParameterError: the encoder is not fitted.
        """
        schema = self._schema()
        out = np.zeros((matrix.shape[0], self.n_outputs))
        for j, group in enumerate(self.groups):
            if schema.categorical[j]:
                out[np.arange(matrix.shape[0]), group[matrix[:, j].astype(np.int64)]] = 1.0
            else:
                out[:, group[0]] = (matrix[:, j] - self.mean_[j]) / self.scale_[j]
        return out

    def to_columns(self, values: np.ndarray) -> np.ndarray:
        """Values per encoded column -> per original column ``[d]`` (one-hot group sums).

        Args:
            values: One value per encoded column, ``[m]`` (e.g. gradient attributions).
        """
        return np.array([values[group].sum() for group in self.groups], dtype=np.float64)

    def _schema(self) -> TabularSchema:
        if self.schema is None:
            raise InvalidParameterError(
                "This TabularEncoder is not fitted; call encoder.fit(X_train) first."
            )
        return self.schema


class RawColumns:
    """The raw columns themselves: what a torch network given no ``encoder=`` is called on.

    A network trained on the table's own numbers (as a Captum user trains one) is called on
    each column's value, in column order, with no standardisation: ``encode`` is the
    identity on numeric columns. A bool column, or a numeric column named ``categorical``,
    passes its value too (``False`` / ``True`` as 0 / 1). A column of strings, objects or
    a pandas category has no number to pass, and is refused: a network needs numbers, so
    the user must pass the encoding it was trained on.

    Args:
        schema: The table's columns (every one of a numeric or bool dtype).

    Raises:
        InvalidParameterError: a column is not numeric, naming it and the encoder to pass.
    """

    def __init__(self, schema: TabularSchema) -> None:
        words = [c for c in schema.columns if not pd.api.types.is_numeric_dtype(c.dtype)]
        if words:
            shown = ", ".join(f"{c.name!r} ({c.dtype})" for c in words[:MAX_NAMED])
            raise InvalidParameterError(
                f"A torch network needs numbers, and the data has non-numeric column(s) "
                f"{shown}{', ...' if len(words) > MAX_NAMED else ''}. Without encoder= the "
                "network is called on the raw columns, so pass the encoding it was trained "
                "with: encoder=xplain.adapters.TabularEncoder().fit(X_train) if it was trained "
                "on that encoding (standardised numbers, one-hot categories), or a fitted "
                "scikit-learn scaler / a Pipeline ending in the network for numeric columns."
            )
        self.schema = schema
        self.n_outputs = len(schema)
        self.feature_names_out = list(schema.names)
        # a categorical column's codes index its values (numbers here: bool, or named)
        self._values = [
            np.asarray(c.categories, dtype=np.float64) if c.categorical else None
            for c in schema.columns
        ]

    def __repr__(self) -> str:
        return f"RawColumns({self.n_outputs} columns)"

    def encode(self, matrix: np.ndarray) -> np.ndarray:
        """Schema matrix -> the columns' values ``[n, d]`` float64.

        Args:
            matrix: Rows ``[n, d]``, numbers as they are and categories as codes (the
                tabular adapter's schema matrix).
        """
        out = np.array(matrix, dtype=np.float64)  # a copy: the caller's rows stay as they are
        for j, values in enumerate(self._values):
            if values is not None:
                out[:, j] = values[matrix[:, j].astype(np.int64)]
        return out

    def to_columns(self, values: np.ndarray) -> np.ndarray:
        """Values per input column ``[d]`` -> the same per column (float64).

        Args:
            values: One value per column, ``[d]`` (e.g. gradient attributions).
        """
        return np.asarray(values, dtype=np.float64).copy()


Encoding = TabularEncoder | RawColumns  # what a tabular torch network is called on
