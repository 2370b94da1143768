"""Explanations built by hand for the plot tests: known values, displays and diagnostics."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any

import numpy as np

from xplain.display import FeatureDisplay
from xplain.explanation import Explanation


def make(
    values: Sequence[float],
    *,
    features: Sequence[str] | None = None,
    shown: Sequence[Any] | None = None,
    kind: str = "bars",
    shape: tuple[int, int] | None = None,
    diagnostics: dict[str, Any] | None = None,
    method: str = "kernel_shap",
    instance: Any = None,
    special: Sequence[bool] | None = None,
    signed: bool | None = None,
    interactions: np.ndarray | None = None,
    options: dict[str, Any] | None = None,
) -> Explanation:
    """An Explanation of ``values`` (features f0, f1, ... unless given) for class 'pos'."""
    values = np.asarray(values, dtype=np.float64)
    features = list(features) if features is not None else [f"f{i}" for i in range(len(values))]
    e = Explanation(
        features=features,
        values=values,
        target=1,
        target_label="pos",
        prediction=np.array([0.25, 0.75]),
        labels=["neg", "pos"],
        method=method,
        params={},
        diagnostics=dict(diagnostics or {}),
        n_model_evals=1,
        seconds=0.0,
        modality="tabular",
        output="probability",
        special=np.asarray(special if special is not None else [False] * len(values)),
        instance=instance,
        display=FeatureDisplay(kind, shape=shape, shown=shown, options=options or {}),
    )
    # ``signed`` and ``interactions`` are being added to Explanation; until they are
    # fields, set them as the plots read them (getattr)
    for name, value in (("signed", signed), ("interactions", interactions)):
        if value is None:
            continue
        if name in {f.name for f in dataclasses.fields(e)}:
            e = dataclasses.replace(e, **{name: value})
        else:
            object.__setattr__(e, name, value)
    return e
