"""The columns a tabular model was trained on, and instances checked against them.

Internally a batch of rows is a float matrix ``[n, d]`` in the training column order:
numeric columns hold their values, categorical columns the index (code) of their
category. Masking is then one ``np.where``; :meth:`TabularSchema.to_frame` turns such a
matrix back into a DataFrame with the training dtypes for the model.
"""

from __future__ import annotations

import contextlib
import difflib
import math
import numbers
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from xplain._validation import did_you_mean
from xplain.errors import InvalidInputError, InvalidParameterError

MAX_LISTED = 20  # categories listed in an error message
_ONCE = "pass each column once, under its name in the training data"
_PLAIN_KEYS = (str, int, float, bool)  # category values looked up as they are (no .item())


@dataclass(frozen=True)
class Column:
    """One training column: its label, dtype and, if categorical, its known values."""

    label: Any  # the DataFrame column label (usually a str)
    dtype: Any  # pandas dtype of the training column
    categories: tuple[Any, ...] | None = None  # None: numeric

    @property
    def name(self) -> str:
        return str(self.label)

    @property
    def categorical(self) -> bool:
        return self.categories is not None


def _is_categorical_dtype(dtype: Any) -> bool:
    return not pd.api.types.is_numeric_dtype(dtype) or pd.api.types.is_bool_dtype(dtype)


def _sorted_values(series: pd.Series) -> tuple[Any, ...]:
    """The distinct values of a column, sorted when they can be (else first-seen order)."""
    if isinstance(series.dtype, pd.CategoricalDtype):
        return tuple(series.dtype.categories)
    values = list(pd.unique(series))
    with contextlib.suppress(TypeError):  # mixed types keep first-seen order
        values = sorted(values)
    return tuple(v.item() if isinstance(v, np.generic) else v for v in values)


def check_unique_names(
    labels: Sequence[Any], what: str, error: type[Exception], fix: str | None = None
) -> None:
    """Refuse column labels that are equal once written as text (``0`` and ``"0"``, repeats).

    xplain names a column ``str(label)`` (features, dict rows, reports); two columns with one
    name would silently read the same value.
    """
    counts = Counter(str(label) for label in labels)
    repeated = [label for label in labels if counts[str(label)] > 1]
    if repeated:
        shown = ", ".join(f"{label!r} ({type(label).__name__})" for label in repeated)
        fix = fix or f"rename them, e.g. df.rename(columns={{{repeated[0]!r}: 'new_name'}})"
        raise error(
            f"The {what} has column names that are not unique once written as text: {shown}. "
            f"xplain tells columns apart by str(name), so two of them would read the same "
            f"value; {fix}."
        )


def _listing(values: Sequence[Any]) -> str:
    shown = ", ".join(repr(v) for v in values[:MAX_LISTED])
    more = len(values) - MAX_LISTED
    return shown + (f", ... ({more} more)" if more > 0 else "")


class TabularSchema:
    """Column order, dtypes and categories of the training data."""

    def __init__(self, columns: Sequence[Column]) -> None:
        self.columns = list(columns)
        self.labels = [c.label for c in self.columns]
        self.names = [c.name for c in self.columns]
        self.categorical = np.array([c.categorical for c in self.columns], dtype=bool)  # [d]
        self._codes = [
            {value: code for code, value in enumerate(c.categories)} if c.categorical else None
            for c in self.columns
        ]
        self._integer = [pd.api.types.is_integer_dtype(c.dtype) for c in self.columns]

    def __len__(self) -> int:
        return len(self.columns)

    # -- building ------------------------------------------------------------------------
    @classmethod
    def from_data(
        cls,
        data: Any,
        feature_names: Sequence[str] | None = None,
        categorical: Sequence[str | int] | None = None,
    ) -> tuple[TabularSchema, pd.DataFrame]:
        """The schema of ``data`` (DataFrame or 2-D array) and ``data`` as a DataFrame.

        Categorical columns are those of dtype object, string, category or bool, plus the
        ones named in ``categorical`` (names or positions).
        """
        frame = _as_frame(data, feature_names)
        names = [str(c) for c in frame.columns]
        chosen = set()
        for item in categorical or ():
            if isinstance(item, numbers.Integral) and not isinstance(item, bool):
                if not 0 <= int(item) < len(names):
                    raise InvalidParameterError(
                        f"The 'categorical' parameter of TabularAdapter names column position "
                        f"{item}, but the data has {len(names)} columns."
                    )
                chosen.add(int(item))
            elif str(item) in names:
                chosen.add(names.index(str(item)))
            else:
                raise InvalidParameterError(
                    f"The 'categorical' parameter of TabularAdapter names column {item!r}, "
                    f"which the data does not have.{did_you_mean(str(item), names)} "
                    f"Columns: {', '.join(names)}."
                )
        columns = []
        for j, label in enumerate(frame.columns):
            series = frame[label]
            if j in chosen or _is_categorical_dtype(series.dtype):
                if series.isna().any():
                    raise InvalidParameterError(
                        f"Data column {str(label)!r} has {int(series.isna().sum())} missing "
                        "values; fill them (e.g. with a 'missing' category) before explaining."
                    )
                columns.append(Column(label, series.dtype, _sorted_values(series)))
            else:
                values = series.to_numpy(dtype=np.float64)
                bad = ~np.isfinite(values)
                if bad.any():
                    raise InvalidParameterError(
                        f"Data column {str(label)!r} has {int(bad.sum())} missing or infinite "
                        "values; impute or drop them before explaining."
                    )
                columns.append(Column(label, series.dtype))
        return cls(columns), frame

    # -- matrices and frames -------------------------------------------------------------
    def to_matrix(self, frame: pd.DataFrame, what: str = "data") -> np.ndarray:
        """A DataFrame with the training columns -> matrix ``[n, d]`` (checked)."""
        check_unique_names(list(frame.columns), what, InvalidInputError)
        missing = [c.name for c in self.columns if c.label not in frame.columns]
        if missing:
            raise InvalidInputError(
                f"The {what} lacks the column(s) {', '.join(map(repr, missing))} the model "
                f"was trained on. Expected columns: {', '.join(self.names)}."
            )
        out = np.empty((len(frame), len(self.columns)))
        for j, column in enumerate(self.columns):
            series = frame[column.label]
            if column.categorical:
                codes = series.map(self._codes[j]).to_numpy(dtype=np.float64, na_value=np.nan)
                unknown = np.isnan(codes)
                if unknown.any():
                    value = series[unknown].iloc[0]
                    raise InvalidInputError(self._unknown_category(column, value, what))
                out[:, j] = codes
            else:
                try:
                    values = series.to_numpy(dtype=np.float64)
                except (TypeError, ValueError) as err:
                    raise InvalidInputError(
                        f"Column {column.name!r} of the {what} must be numeric, as in the "
                        f"training data. Got dtype {series.dtype}."
                    ) from err
                if not np.isfinite(values).all():
                    raise InvalidInputError(
                        f"Column {column.name!r} of the {what} has NaN or infinite values; "
                        "fill them in first."
                    )
                out[:, j] = values
        return out

    def to_frame(self, matrix: np.ndarray) -> pd.DataFrame:
        """Matrix ``[n, d]`` -> DataFrame with the training column labels and dtypes."""
        data = {}
        for j, column in enumerate(self.columns):
            values = matrix[:, j]
            if column.categorical:
                codes = values.astype(np.int64)
                if isinstance(column.dtype, pd.CategoricalDtype):
                    data[column.label] = pd.Categorical.from_codes(codes, dtype=column.dtype)
                else:
                    known = np.asarray(column.categories, dtype=object)
                    data[column.label] = pd.array(known[codes], dtype=column.dtype)
            elif pd.api.types.is_integer_dtype(column.dtype) and np.all(values == np.round(values)):
                # through pandas: numpy cannot cast to its nullable dtypes (Int64, UInt8...)
                data[column.label] = pd.array(values.astype(np.int64), dtype=column.dtype)
            else:
                data[column.label] = values
        return pd.DataFrame(data)

    # -- one instance --------------------------------------------------------------------
    def row(self, instance: Any) -> np.ndarray:
        """Validate one instance (Series, one-row DataFrame, dict or 1-D array) -> ``[d]``."""
        plain = self._plain_row(instance)
        if plain is not None:
            return plain
        values = self._values(instance)
        row = np.empty(len(self.columns))
        for j, column in enumerate(self.columns):
            row[j] = self._value(j, column, values[j])
        return row

    def _plain_row(self, instance: Any) -> np.ndarray | None:
        """The row of a dict of the training columns in order whose values are valid str,
        int, float (bool for categories), as ``DataFrame.to_dict("records")`` gives a
        batch's rows, without the general path's checks; None for anything else, which the
        general path checks (and reports). Same row as the general path."""
        if type(instance) is not dict or list(instance) != self.names:
            return None
        row = np.empty(len(self.columns))
        for j, value in enumerate(instance.values()):
            kind, codes = type(value), self._codes[j]
            if codes is not None:
                code = codes.get(value) if kind in _PLAIN_KEYS else None
                if code is None:
                    return None
                row[j] = code
            elif (kind is float or kind is int) and math.isfinite(value):
                row[j] = float(value)
            else:
                return None
        return row

    def as_dict(self, row: np.ndarray) -> dict[Any, Any]:
        """A validated row ``[d]`` as ``{column: value}`` with plain Python values."""
        out: dict[Any, Any] = {}
        for j, column in enumerate(self.columns):
            number = float(row[j])
            if column.categories is not None:
                value = column.categories[int(number)]
            elif self._integer[j] and number.is_integer():
                value = int(number)
            else:
                value = number
            out[column.label] = value.item() if isinstance(value, np.generic) else value
        return out

    def _values(self, instance: Any) -> list[Any]:
        """The instance's values in column order, after checking its columns."""
        if isinstance(instance, pd.DataFrame):
            if len(instance) != 1:
                raise InvalidInputError(
                    f"A tabular explainer explains one row at a time; the DataFrame has "
                    f"{len(instance)} rows. Pass df.iloc[i] (use explain_batch for many rows)."
                )
            check_unique_names(list(instance.columns), "instance", InvalidInputError, _ONCE)
            instance = instance.iloc[0]
        if isinstance(instance, pd.Series | Mapping):
            check_unique_names(list(instance.keys()), "instance", InvalidInputError, _ONCE)
            return self._from_mapping(dict(instance.items()))
        if isinstance(instance, np.ndarray | list | tuple):
            array = np.asarray(instance, dtype=object)
            if array.ndim == 2 and array.shape[0] == 1:
                array = array[0]
            if array.ndim != 1 or array.shape[0] != len(self.columns):
                raise InvalidInputError(
                    f"A row given as an array must have one value per column ({len(self)}: "
                    f"{', '.join(self.names)}). Got shape {list(np.shape(instance))}."
                )
            return list(array)
        raise InvalidInputError(
            "A tabular explainer expects one row: a pandas Series, a one-row DataFrame, a "
            f"dict of column -> value or a 1-D array. Got {type(instance).__name__}."
        )

    def _from_mapping(self, given: dict[Any, Any]) -> list[Any]:
        keys = {str(k): k for k in given}
        missing = [n for n in self.names if n not in keys]
        extra = [k for k in keys if k not in self.names]
        if missing or extra:
            parts, suggested = [], set()
            if extra:
                described = []
                for key in extra:
                    close = difflib.get_close_matches(key, missing, n=1, cutoff=0.6)
                    suggested.update(close)
                    hint = f" (did you mean {close[0]!r}?)" if close else ""
                    described.append(f"{key!r}{hint}")
                parts.append(f"unknown column(s) {', '.join(described)}")
            unexplained = [m for m in missing if m not in suggested]
            if unexplained:
                parts.append(f"missing column(s) {', '.join(map(repr, unexplained))}")
            raise InvalidInputError(
                f"The instance's columns do not match the training data: {'; '.join(parts)}. "
                f"Expected columns: {', '.join(self.names)}."
            )
        return [given[keys[n]] for n in self.names]

    def _value(self, j: int, column: Column, value: Any) -> float:
        if isinstance(value, np.generic):
            value = value.item()
        if column.categorical:
            try:
                code = self._codes[j].get(value)
            except TypeError:  # unhashable
                code = None
            if code is None:
                raise InvalidInputError(self._unknown_category(column, value, "instance"))
            return float(code)
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise InvalidInputError(
                f"Column {column.name!r} is numeric, but the instance has {value!r} "
                f"({type(value).__name__}); pass a number."
            )
        if not math.isfinite(value):
            raise InvalidInputError(
                f"Column {column.name!r} of the instance is {value!r}; xplain explains "
                "complete rows: fill in a finite value."
            )
        return float(value)

    def _unknown_category(self, column: Column, value: Any, what: str) -> str:
        known = list(column.categories or ())
        hint = did_you_mean(str(value), [str(k) for k in known])
        return (
            f"Column {column.name!r} of the {what} has the value {value!r}, a category not "
            f"seen in the training data.{hint} Known values ({len(known)}): {_listing(known)}."
        )


def _as_frame(data: Any, feature_names: Sequence[str] | None) -> pd.DataFrame:
    """The data as a DataFrame (a 2-D array gets ``feature_names`` or x0, x1, ...)."""
    if isinstance(data, pd.DataFrame):
        if feature_names is not None and [str(c) for c in data.columns] != list(feature_names):
            raise InvalidParameterError(
                "The 'feature_names' parameter of TabularAdapter is for array data; the "
                f"DataFrame already names its columns ({', '.join(map(str, data.columns))})."
            )
        check_unique_names(list(data.columns), "data", InvalidParameterError)
        frame = data.reset_index(drop=True)
    else:
        array = np.asarray(data)
        if array.ndim != 2:
            raise InvalidParameterError(
                "TabularAdapter needs background data as a DataFrame or a 2-D array "
                f"(rows x columns). Got shape {list(array.shape)}."
            )
        names = list(feature_names) if feature_names is not None else None
        names = names or [f"x{j}" for j in range(array.shape[1])]
        if len(names) != array.shape[1]:
            raise InvalidParameterError(
                f"The 'feature_names' parameter of TabularAdapter has {len(names)} names for "
                f"{array.shape[1]} columns."
            )
        check_unique_names(
            names, "'feature_names' parameter", InvalidParameterError, "give distinct names"
        )
        frame = pd.DataFrame(array, columns=names).infer_objects()
    if len(frame) == 0 or frame.shape[1] == 0:
        raise InvalidParameterError(
            f"TabularAdapter needs non-empty background data. Got shape {list(frame.shape)}."
        )
    return frame
