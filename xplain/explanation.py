"""The result of one explanation: values per feature plus everything needed to trust them."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from xplain.errors import ModelOutputError


@dataclass(frozen=True)
class Explanation:
    """Attributions of one instance by one method, for one target class.

    ``values[i]`` is the attribution of ``features[i]`` to the explained score (``output``:
    logits, probability...) of class ``target``. ``prediction`` holds the model's class
    probabilities. ``diagnostics`` says how good the estimate is (e.g. IG's
    ``completeness_gap``); ``notes`` says what was changed on the way (e.g. truncation).

    Identity, so that metrics refuse an explanation of another model or instance:
    ``model_id`` fingerprints the explainer's model (see ``xplain._identity``: for plain
    callables it is only valid within one process), ``instance_id`` the instance as the
    adapter encoded it; both are None for an Explanation built by hand.
    """

    features: list[str]
    values: np.ndarray
    target: int
    target_label: str
    prediction: np.ndarray
    labels: list[str]
    method: str
    params: dict[str, Any]
    diagnostics: dict[str, Any]
    n_model_evals: int
    seconds: float
    modality: str
    output: str
    special: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))
    instance: Any = None
    model_id: str | None = None
    instance_id: str | None = None

    @property
    def n_features(self) -> int:
        """Number of features (``len(features)``; ``values`` has one per feature)."""
        return len(self.features)

    @property
    def base_value(self) -> float | None:
        """The expected output / baseline score the values add up from, where the method
        defines one (``diagnostics["base_value"]``, e.g. SHAP methods); else None."""
        return self.diagnostics.get("base_value")

    @property
    def predicted_class(self) -> int:
        """Index of the most probable class."""
        return int(np.argmax(self.prediction))

    @property
    def predicted_label(self) -> str:
        return self.labels[self.predicted_class]

    @property
    def prediction_is_probability(self) -> bool:
        """Whether ``prediction`` holds class probabilities (>= 2 values in [0, 1] summing
        to 1); False for a regression's or a raw-score model's outputs, which reports show
        as ``prediction = value`` rather than ``p = value``."""
        p = np.asarray(self.prediction, dtype=np.float64)
        in_unit = bool(np.all((p >= 0) & (p <= 1)))
        return p.size >= 2 and in_unit and abs(float(p.sum()) - 1.0) <= 1e-6

    def prediction_text(self) -> str:
        """The target's prediction as reports show it: ``p=0.873`` or ``prediction=63.4048``."""
        value = float(self.prediction[self.target])
        return f"p={value:.3f}" if self.prediction_is_probability else f"prediction={value:.6g}"

    @property
    def image_shape(self) -> tuple[int, int] | None:
        """``(H, W)`` of an image explanation; ``values.reshape(image_shape)`` is its heat map.

        Image values are one per pixel, in row-major order. None for other modalities.
        """
        if self.modality != "image" or self.instance is None:
            return None
        height, width = np.shape(self.instance)[:2]
        return int(height), int(width)

    def to_frame(self) -> pd.DataFrame:
        """One row per feature: position, feature, value, special."""
        return pd.DataFrame(
            {
                "feature": self.features,
                "value": self.values,
                "special": self._special_flags(),
            }
        )

    def top(self, k: int = 10, *, include_special: bool = False) -> pd.DataFrame:
        """The ``k`` features with the largest |value|, largest first."""
        frame = self.to_frame()
        if not include_special:
            frame = frame[~frame["special"]]
        order = frame["value"].abs().sort_values(ascending=False, kind="stable").index
        return frame.loc[order].head(k)

    def to_dict(self) -> dict[str, Any]:
        """A dict of the explanation that is strict JSON (``json.dumps(..., allow_nan=False)``).

        A NaN or infinite diagnostic or parameter (an estimate that is undefined) becomes
        None; NaN or infinite ``values`` or ``prediction`` raise ModelOutputError.
        """
        for name in ("values", "prediction"):
            bad = int((~np.isfinite(np.asarray(getattr(self, name), dtype=np.float64))).sum())
            if bad:
                raise ModelOutputError(
                    f"Explanation.{name} holds {bad} NaN or infinite number(s), which JSON "
                    "cannot hold and xplain will not replace; explain the instance again "
                    "(Explainer refuses non-finite model outputs with a ModelOutputError)."
                )
        return _jsonable(
            {
                "features": self.features,
                "values": self.values,
                "special": self._special_flags(),
                "target": self.target,
                "target_label": self.target_label,
                "prediction": self.prediction,
                "labels": self.labels,
                "method": self.method,
                "params": self.params,
                "diagnostics": self.diagnostics,
                "n_model_evals": self.n_model_evals,
                "seconds": self.seconds,
                "modality": self.modality,
                "output": self.output,
                "image_shape": self.image_shape,
                "n_features": self.n_features,
                "model_id": self.model_id,
                "instance_id": self.instance_id,
            }
        )

    def to_html(self, *, full_page: bool = False) -> str:
        """Self-contained HTML (inline CSS, no scripts, every data string escaped)."""
        from xplain.report.render import render_explanation

        return render_explanation(self, full_page=full_page)

    def _repr_html_(self) -> str:
        return self.to_html()

    def save_html(self, path: str | Path) -> Path:
        """Write a standalone HTML page and return its path."""
        from xplain.report.render import save_page

        return save_page(path, self.to_html(full_page=True))

    def __repr__(self) -> str:
        best = self.top(3)
        pairs = zip(best["feature"], best["value"], strict=True)
        top = ", ".join(f"{f!r}: {v:+.3g}" for f, v in pairs)
        return (
            f"Explanation(method={self.method!r}, target={self.target_label!r}, "
            f"{self.prediction_text()}, n_features={len(self.features)}, top={{{top}}})"
        )

    def _special_flags(self) -> np.ndarray:
        if len(self.special) == len(self.features):
            return np.asarray(self.special, dtype=bool)
        return np.zeros(len(self.features), dtype=bool)


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist())
    if isinstance(value, np.generic):
        return _jsonable(value.item())
    if isinstance(value, float) and not math.isfinite(value):
        return None  # strict JSON has no NaN / Infinity
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return _jsonable(json.loads(json.dumps(value, default=str)))
