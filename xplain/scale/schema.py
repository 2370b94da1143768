"""Explanations as Arrow tables (one row each) and back: the Parquet schema of a dataset
(and of :meth:`xplain.Explanations.to_parquet`'s file).

Columns, in order:

* ``row_id`` (the row's position in the input), ``target``, ``target_label``,
  ``prediction`` (the model's scores, ``list<double>``), ``base_value`` (null where the
  method defines none), ``method``, ``n_model_evals``, ``seconds``;
* each diagnostic whose values are scalars of one kind (numbers, bools or strings:
  ``completeness_gap``, ``converged``...), under its own name unless that name is one of
  the other columns' (``target``, ``values``, ``value:x``...);
* the attributions. Where every row has the same features (``features`` given: a
  table's columns), one float column per feature, ``value:<feature>``, and
  ``std_err:<feature>`` when the method reports standard errors; otherwise
  list columns: ``tokens`` (a token strip) or ``features``, ``values`` and ``std_err``;
* ``explanation``: the rest of :meth:`Explanation.to_dict` as JSON (params, all
  diagnostics, the instance, its display, tree_shap's ``interactions`` matrix where
  asked for...), so that :func:`to_explanation` gives back the Explanation itself.
"""

from __future__ import annotations

import json
import numbers
import os
from collections.abc import Sequence
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from xplain.errors import DatasetOutputError, InvalidInputError
from xplain.explanation import Explanation

FIXED = ("row_id", "target", "target_label", "prediction", "base_value", "method",
         "n_model_evals", "seconds")
JSON_COLUMN = "explanation"
VALUE, STD_ERR = "value:", "std_err:"
# the attribution columns of either layout: no diagnostic column may take these names
_LAYOUT = ("tokens", "features", "values", "std_err", JSON_COLUMN)
_INT64 = (-(2**63), 2**63 - 1)
# to_dict keys held in columns of their own (the rest goes to the JSON column)
_IN_COLUMNS = ("features", "values", "target", "target_label", "prediction", "method",
               "n_model_evals", "seconds")


def to_table(
    row_ids: Sequence[int], explanations: Sequence[Explanation], features: list[str] | None
) -> pa.Table:
    """One Arrow row per explanation (see the module docstring); ``features``: the wide
    layout's columns, or None for list columns."""
    dicts = [e.to_dict() for e in explanations]
    columns: dict[str, list[Any]] = {
        "row_id": [int(i) for i in row_ids],
        "target": [d["target"] for d in dicts],
        "target_label": [d["target_label"] for d in dicts],
        "prediction": [d["prediction"] for d in dicts],
        "base_value": [_float_or_none(e.base_value) for e in explanations],
        "method": [d["method"] for d in dicts],
        "n_model_evals": [d["n_model_evals"] for d in dicts],
        "seconds": [d["seconds"] for d in dicts],
    }
    types: dict[str, pa.DataType] = {
        "row_id": pa.int64(), "target": pa.int64(), "target_label": pa.string(),
        "prediction": pa.list_(pa.float64()), "base_value": pa.float64(),
        "method": pa.string(), "n_model_evals": pa.int64(), "seconds": pa.float64(),
    }
    for name, kind in _scalar_diagnostics(dicts).items():
        columns[name], types[name] = [d["diagnostics"].get(name) for d in dicts], kind
    std_errs = [_std_err(e) for e in explanations]
    has_std_err = all(s is not None for s in std_errs)
    if features is not None:
        if len(set(features)) != len(features):
            twice = next(f for f in features if features.count(f) > 1)
            raise InvalidInputError(
                f"The feature {twice!r} appears more than once in the dataset's features; "
                "each needs a value column of its own. Rename the duplicate column."
            )
        for e in explanations:
            if e.features != features:
                raise InvalidInputError(
                    f"An explanation's features ({e.features[:5]}...) are not the dataset's "
                    f"columns ({features[:5]}...); every row must have the same features."
                )
        values = np.array([e.values for e in explanations], dtype=np.float64).reshape(
            len(explanations), len(features)
        )
        for j, name in enumerate(features):
            columns[VALUE + name], types[VALUE + name] = values[:, j].tolist(), pa.float64()
        if has_std_err:
            errs = np.array(std_errs, dtype=np.float64).reshape(values.shape)
            for j, name in enumerate(features):
                columns[STD_ERR + name] = errs[:, j].tolist()
                types[STD_ERR + name] = pa.float64()
    else:
        name = feature_column(explanations)
        columns[name], types[name] = [d["features"] for d in dicts], pa.list_(pa.string())
        columns["values"], types["values"] = [d["values"] for d in dicts], pa.list_(pa.float64())
        if has_std_err:
            columns["std_err"] = [np.asarray(s, dtype=np.float64).tolist() for s in std_errs]
            types["std_err"] = pa.list_(pa.float64())
    columns[JSON_COLUMN] = [
        json.dumps({k: v for k, v in d.items() if k not in _IN_COLUMNS}, allow_nan=False)
        for d in dicts
    ]
    types[JSON_COLUMN] = pa.string()
    arrays = {name: pa.array(data, type=types.get(name)) for name, data in columns.items()}
    return pa.table(arrays)


def feature_column(explanations: Sequence[Explanation]) -> str:
    """``"tokens"`` for explanations drawn as a token strip, else ``"features"``."""
    kinds = {e.display.kind for e in explanations}
    return "tokens" if kinds == {"tokens"} else "features"


def to_explanation(row: dict[str, Any], features: list[str] | None) -> Explanation:
    """The Explanation of one table row (a dict of column -> value, as
    ``table.to_pylist()`` gives), written by :func:`to_table`."""
    columns = [JSON_COLUMN, "target", "target_label", "prediction", "method",
               "n_model_evals", "seconds", "values"]
    if features is not None:
        columns = columns[:-1] + [VALUE + name for name in features]
    missing = [repr(c) for c in columns if c not in row]
    if features is None and "tokens" not in row and "features" not in row:
        missing.append("'tokens' or 'features'")
    if missing:
        raise DatasetOutputError(
            f"An explanation row lacks the column(s) {', '.join(missing)} that "
            "its dataset's features and schema call for; the part or the manifest was not "
            "written by explain_dataset (or was edited). Run explain_dataset again."
        )
    data = json.loads(row[JSON_COLUMN])
    for key in ("target", "target_label", "prediction", "method", "n_model_evals", "seconds"):
        data[key] = row[key]
    if features is not None:
        data["features"] = list(features)
        data["values"] = [row[VALUE + name] for name in features]
    else:
        data["features"] = row["tokens"] if "tokens" in row else row["features"]
        data["values"] = row["values"]
    return Explanation.from_dict(data)


def write_parquet(path: str | os.PathLike[str], explanations: Sequence[Explanation]) -> None:
    """Write ``explanations`` to the Parquet file ``path``, one row each, rows numbered
    from 0: the wide layout where every row has the same, distinct features (a table's
    columns), else list columns (texts of different tokens)."""
    first = explanations[0].features if explanations else None
    wide = first is not None and len(set(first)) == len(first) and all(
        e.features == first for e in explanations
    )
    table = to_table(range(len(explanations)), explanations, list(first) if wide else None)
    try:
        pq.write_table(table, path)
    except OSError as err:
        raise InvalidInputError(f"Could not write the Parquet file {str(path)!r}: {err}") from err


def read_parquet(path: str | os.PathLike[str]) -> list[Explanation]:
    """The explanations of a Parquet file written by :func:`write_parquet`, in row order."""
    try:
        table = pq.read_table(path)
    except (OSError, pa.ArrowInvalid) as err:
        raise InvalidInputError(
            f"{str(path)!r} is not a readable Parquet file ({err}). Pass the path that "
            "Explanations.to_parquet wrote."
        ) from err
    names = table.column_names
    if JSON_COLUMN not in names:
        raise InvalidInputError(
            f"The Parquet file {str(path)!r} has no {JSON_COLUMN!r} column, so it was not "
            f"written by Explanations.to_parquet (its columns: {names[:8]}). Pass a file "
            "that Explanations.to_parquet or explain_dataset wrote."
        )
    # list layout: a "values" column; wide layout: one "value:<feature>" column per feature
    features = None if "values" in names else [
        name[len(VALUE):] for name in names if name.startswith(VALUE)
    ]
    return [to_explanation(row, features) for row in table.to_pylist()]


def _scalar_diagnostics(dicts: list[dict[str, Any]]) -> dict[str, pa.DataType]:
    """Diagnostics that are scalars of one kind in every row (or missing), in first-seen
    order, with their column type; not base_value (a column of its own) nor a name of the
    fixed or attribution columns. The others (arrays, a bool here and a number there, an
    int beyond int64) are kept in the JSON column only."""
    names: dict[str, None] = {}
    for d in dicts:
        names.update(dict.fromkeys(d["diagnostics"]))
    chosen: dict[str, pa.DataType] = {}
    for name in names:
        if name in FIXED or name in _LAYOUT or name.startswith((VALUE, STD_ERR)):
            continue
        kind = _scalar_type([d["diagnostics"].get(name) for d in dicts])
        if kind is not None:
            chosen[name] = kind
    return chosen


def _scalar_type(values: list[Any]) -> pa.DataType | None:
    """The Arrow type of a column of these values (None allowed), or None if they are
    not scalars of one kind: all bools, all ints within int64, all real numbers, or all
    strings."""
    present = [v for v in values if v is not None]
    if not present:
        return pa.null()
    if all(isinstance(v, bool) for v in present):
        return pa.bool_()
    if all(isinstance(v, int) and not isinstance(v, bool) for v in present):
        return pa.int64() if all(_INT64[0] <= v <= _INT64[1] for v in present) else None
    if all(isinstance(v, numbers.Real) and not isinstance(v, bool) for v in present):
        return pa.float64()
    if all(isinstance(v, str) for v in present):
        return pa.string()
    return None


def _std_err(e: Explanation) -> np.ndarray | None:
    """The per-feature standard errors a method reported, when there is one per feature."""
    err = e.diagnostics.get("std_err")
    if err is None:
        return None
    err = np.asarray(err, dtype=np.float64)
    return err if err.shape == (e.n_features,) else None


def _float_or_none(value: Any) -> float | None:
    return None if value is None else float(value)
