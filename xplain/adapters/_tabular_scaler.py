"""A fitted scikit-learn scaler as the encoding of a torch network on a table.

Users train a network on ``StandardScaler().fit_transform(X)`` (or MinMaxScaler,
MaxAbsScaler, RobustScaler, a ColumnTransformer of them) and give either the scaler
(``Explainer(net, data=X, encoder=scaler)``) or a Pipeline ending in the network
(``Explainer(Pipeline([("scale", scaler), ("net", net)]), data=X)``). Such a scaler is
affine per column, ``z_j = a_j x_j + b_j`` (in any order of the output columns), which is
exactly :class:`TabularEncoder`'s numeric encoding ``(x - mean_j) / scale_j`` with
``mean_j = -b_j / a_j`` and ``scale_j = 1 / a_j``: the scaler becomes that encoder, and
gradient methods differentiate the network at its own (scaled) input, as with any
TabularEncoder. What the user gets, per method:

* attributions that add up (integrated_gradients, deeplift, deepshap, gradient_shap, and
  Smooth IG) are unchanged by an affine map per column: they equal those of the network
  with the scaler folded into its first layer, in the original units;
* saliency, guided_backprop and smoothgrad are gradients per scaled unit,
  ``df/dz_j = (df/dx_j) / a_j`` (per standard deviation for a StandardScaler), as Captum
  gives them on the network; the folded network's are per original unit;
* input_x_gradient is ``z_j df/dz_j``, the scaled input times that gradient: for a linear
  network it adds up to ``f(x) - f(x0)``, ``x0`` the row the scaler maps to 0 (the
  training mean for a StandardScaler, the minimum for a MinMaxScaler), where the folded
  network's ``x_j df/dx_j`` adds up from the row of zeros;
* SmoothGrad's noise is a fraction of each column's spread over the background, which the
  scaler multiplies by ``a_j``: the noisy rows are the same in either units.

The map is found by probing the scaler (one step per column from the data's mean row)
and checked on the data rows; a transformer that is not affine per column (clipping,
PCA, one-hot encoding) is refused with what to do instead.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import torch

from xplain.adapters._tabular_encoder import TabularEncoder
from xplain.adapters._tabular_schema import TabularSchema
from xplain.errors import InvalidParameterError

CHECK_ROWS = 1000  # data rows the probed map is checked on
RTOL, ATOL = 1e-7, 1e-9  # the scaler's output vs the probed affine map

_USE_ENCODER = (
    "Train the network on TabularEncoder().fit(X_train).transform(X) and pass encoder=, "
    "or scale only numeric columns with a per-column scaler (StandardScaler, MinMaxScaler, "
    "MaxAbsScaler, RobustScaler)."
)


def torch_pipeline(model: Any) -> tuple[Any, Any]:
    """``(network, preprocessing)`` of ``model``, a scikit-learn Pipeline whose last step is
    a torch module (``preprocessing``: the Pipeline's other steps); ``(model, None)`` for
    any other model."""
    steps = getattr(model, "steps", None)
    if not isinstance(steps, list) or not steps:
        return model, None
    last = steps[-1][1] if isinstance(steps[-1], tuple) and len(steps[-1]) == 2 else None
    if not isinstance(last, torch.nn.Module):
        return model, None
    if len(steps) == 1:
        return last, None
    return last, model[:-1]


def scaler_encoder(scaler: Any, schema: TabularSchema, data: np.ndarray) -> TabularEncoder:
    """The :class:`TabularEncoder` computing the fitted per-column affine ``scaler`` on
    the schema's columns, or InvalidParameterError saying why there is none.

    Parameters: ``scaler``, a fitted transformer (``transform``); ``schema``, the table's
    columns (all numeric); ``data``, schema-matrix rows ``[N, d]`` the map is checked on.
    """
    name = type(scaler).__name__
    if not callable(getattr(scaler, "transform", None)):
        raise InvalidParameterError(
            "The 'encoder' parameter of TabularAdapter must be a TabularEncoder or a fitted "
            f"scikit-learn scaler (with transform). Got {name}."
        )
    categorical = [schema.columns[j] for j in np.flatnonzero(schema.categorical)]
    if categorical:
        shown = ", ".join(f"{c.name!r} ({c.dtype})" for c in categorical)
        # scikit-learn scales a bool column as 0 / 1; xplain's schema counts it categorical
        flags = [c.name for c in categorical if pd.api.types.is_bool_dtype(c.dtype)]
        cast = (
            f"Cast bool columns to int in the data (X.astype({{{flags[0]!r}: int}})) to pass "
            "them as 0 / 1, as the scaler did. Otherwise: " if flags else ""
        )
        raise InvalidParameterError(
            f"A {name} as the network's encoding scales numeric columns only, and the data "
            f"has categorical column(s) {shown}. {cast}{_USE_ENCODER}"
        )
    if getattr(scaler, "clip", False) is True:  # MinMaxScaler(clip=True)
        raise InvalidParameterError(
            f"The {name} given as encoder clips its output, which is not an affine map "
            f"outside the training range. Refit it with clip=False, or: {_USE_ENCODER}"
        )
    d = len(schema)
    base = data.mean(0)  # [d]
    step = np.where(data.std(0) > 0, data.std(0), 1.0)  # [d]
    probes = np.vstack([base, base + np.diag(step)])  # [1 + d, d]: one column moved at a time
    out = _transform(scaler, schema, probes)
    if out.shape != (1 + d, d):
        raise InvalidParameterError(
            f"The {name} given as encoder maps the {d} columns to {out.shape[-1]} columns; "
            f"a network's encoding must scale each column on its own. {_USE_ENCODER}"
        )
    moved = out[1:] - out[0]  # [d, d]: row j, the change when column j moves
    # each column must move one output column of its own (a ColumnTransformer may reorder)
    position = np.abs(moved).argmax(1)  # [d] the output column of each column
    slope = moved[np.arange(d), position] / step  # [d]
    offset = out[0, position] - slope * base  # [d]
    alone = np.zeros_like(moved)
    alone[np.arange(d), position] = moved[np.arange(d), position]
    rows = data[:CHECK_ROWS]
    affine = (
        len(set(position.tolist())) == d
        and np.all(slope != 0)
        and np.allclose(moved, alone, rtol=0, atol=ATOL)
        and np.allclose(
            _transform(scaler, schema, rows)[:, position], rows * slope + offset,
            rtol=RTOL, atol=ATOL,
        )
    )
    if not affine:
        raise InvalidParameterError(
            f"The {name} given as encoder is not an affine map of each column on its own "
            f"(z_j = a_j x_j + b_j) on the data, so xplain cannot differentiate the network "
            f"through it. {_USE_ENCODER}"
        )
    encoder = TabularEncoder()
    encoder._fit(schema, data)
    encoder.mean_ = -offset / slope  # z = (x - mean) / scale = slope x + offset
    encoder.scale_ = 1.0 / slope
    encoder.groups = [np.array([p]) for p in position]  # column j -> output column p(j)
    encoder.feature_names_out = [schema.names[j] for j in np.argsort(position)]
    return encoder


def _transform(scaler: Any, schema: TabularSchema, rows: np.ndarray) -> np.ndarray:
    """``scaler.transform`` of schema-matrix rows ``[n, d]``, as a float array: a frame
    with the column names when it was fitted on one, else the bare array."""
    inputs = schema.to_frame(rows) if hasattr(scaler, "feature_names_in_") else rows
    try:
        out = scaler.transform(inputs)
    except Exception as err:  # not fitted, wrong columns...: the user's transformer
        raise InvalidParameterError(
            f"The {type(scaler).__name__} given as encoder failed on the data's rows "
            f"({type(err).__name__}: {err}). Pass the scaler fitted on the training rows."
        ) from err
    if hasattr(out, "toarray"):  # scipy sparse
        out = out.toarray()
    return np.asarray(out, dtype=np.float64)
