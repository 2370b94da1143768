"""The result of one explanation: values per feature plus everything needed to trust them."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Explanation:
    """Attributions of one instance by one method, for one target class.

    ``values[i]`` is the attribution of ``features[i]`` to the explained score (``output``:
    logits, probability...) of class ``target``. ``prediction`` holds the model's class
    probabilities. ``diagnostics`` says how good the estimate is (e.g. IG's
    ``completeness_gap``); ``notes`` says what was changed on the way (e.g. truncation).
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

    @property
    def predicted_class(self) -> int:
        """Index of the most probable class."""
        return int(np.argmax(self.prediction))

    @property
    def predicted_label(self) -> str:
        return self.labels[self.predicted_class]

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
        """A JSON-serialisable dict of the explanation."""
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
            f"p={self.prediction[self.target]:.3f}, n_features={len(self.features)}, top={{{top}}})"
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
        return value.item()
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    return json.loads(json.dumps(value, default=str))
