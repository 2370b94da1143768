"""LayerAttribution: values per unit of an internal layer (plain data, with an HTML view).

The result of :func:`xplain.layer_conductance` and :func:`xplain.internal_influence`. It
holds numbers and labels, never a model: displaying it computes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from xplain.errors import InvalidParameterError

TOP_UNITS = 10  # units drawn in the HTML view


@dataclass(frozen=True)
class LayerAttribution:
    """Attributions to the units of one layer, for one explained class.

    Attributes:
        method: ``"layer_conductance"`` or ``"internal_influence"``.
        layer: The layer's full module name.
        values: One value per unit, in the layer's output shape ``[*U]`` for one input.
        target: The explained class index.
        target_label: Its label.
        prediction: The model's scores of the instance ``[C]`` (for a set of instances:
            their mean).
        score: f(x), the explained score of the instance (None for a set).
        base_score: f(baseline) (None where no baseline is used).
        completeness_gap: For conductance, ``|sum(values) - (f(x) - f(baseline))|``
            relative to ``|f(x) - f(baseline)|`` (:mod:`xplain.methods._completeness`);
            None for influence, which promises no sum.
        unit_axis: The axis of ``values`` holding the layer's units or channels (a text
            layer ``[T, H]``: 1, its hidden units; a feature map ``[K, h, w]``: 0); the
            other axes are positions (tokens, pixels).
        positions: Labels of axis 0 when it runs over the input's features (a text
            layer's tokens), else None.
        params: The parameters used (``n_steps``, ``rule``, ...).
        diagnostics: Further facts of the run (``convergence_delta``, ``n_points``...).
    """

    method: str
    layer: str
    values: np.ndarray
    target: int
    target_label: str
    prediction: np.ndarray
    score: float | None = None
    base_score: float | None = None
    completeness_gap: float | None = None
    unit_axis: int = 0
    positions: list[str] | None = None
    params: dict[str, Any] = field(default_factory=dict)
    diagnostics: dict[str, Any] = field(default_factory=dict)

    @property
    def unit_shape(self) -> tuple[int, ...]:
        """The layer's output shape for one input, ``[*U]``."""
        return tuple(self.values.shape)

    @property
    def delta(self) -> float | None:
        """f(x) - f(baseline), what conductance sums to (None without both scores)."""
        if self.score is None or self.base_score is None:
            return None
        return self.score - self.base_score

    @property
    def total(self) -> float:
        """The sum over all units."""
        return float(self.values.sum())

    @property
    def per_unit(self) -> np.ndarray:
        """Values summed over positions: one per unit of ``unit_axis`` (a text layer's
        hidden units, a feature map's channels; a vector layer: its values)."""
        axes = tuple(a for a in range(self.values.ndim) if a != self.unit_axis)
        return self.values.sum(axis=axes) if axes else self.values.copy()

    @property
    def per_position(self) -> np.ndarray:
        """Values summed over ``unit_axis``: one per position (a text layer's tokens
        ``[T]``, a feature map's locations ``[h, w]``).

        Raises:
            InvalidParameterError: the layer is a vector ``[H]``, without positions.
        """
        if self.values.ndim < 2:
            raise InvalidParameterError(
                f"Layer {self.layer!r} gives a vector of {self.values.size} units, with no "
                "positions to sum over; use values or per_unit."
            )
        return self.values.sum(axis=self.unit_axis)

    def unit_labels(self) -> list[str]:
        """A label per unit, row-major: ``"unit 3"``, ``"(2, 17)"``, ``"great / 17"``."""
        labels = []
        for index in np.ndindex(*self.unit_shape):
            if len(index) == 1:
                labels.append(f"unit {index[0]}")
            elif self.positions is not None and len(index) == 2 and self.unit_axis == 1:
                labels.append(f"{self.positions[index[0]]} / {index[1]}")
            else:
                labels.append(str(index))
        return labels

    def top(self, k: int = TOP_UNITS) -> pd.DataFrame:
        """The ``k`` units of largest |value|: columns ``unit``, ``index``, ``value``.

        Args:
            k: How many units.

        Returns:
            pd.DataFrame: sorted by decreasing |value|.
        """
        frame = self.to_frame()
        order = np.argsort(-np.abs(frame["value"].to_numpy()), kind="stable")[:k]
        return frame.iloc[order].reset_index(drop=True)

    def to_frame(self) -> pd.DataFrame:
        """One row per unit (row-major): ``unit`` (a label), ``index`` (its index tuple),
        ``position`` (the token, where known) and ``value``.

        Returns:
            pd.DataFrame: the units and their values.
        """
        indices = list(np.ndindex(*self.unit_shape))
        frame = pd.DataFrame(
            {
                "unit": self.unit_labels(),
                "index": indices,
                "value": self.values.reshape(-1).astype(np.float64),
            }
        )
        if self.positions is not None:
            frame.insert(2, "position", [self.positions[i[0]] for i in indices])
        return frame

    def to_dict(self) -> dict[str, Any]:
        """Plain Python data (lists, numbers, strings), e.g. for JSON.

        Returns:
            dict: every field; :meth:`from_dict` rebuilds the object.
        """
        return {
            "method": self.method,
            "layer": self.layer,
            "values": self.values.tolist(),
            "unit_shape": list(self.unit_shape),
            "target": self.target,
            "target_label": self.target_label,
            "prediction": np.asarray(self.prediction).tolist(),
            "score": self.score,
            "base_score": self.base_score,
            "completeness_gap": self.completeness_gap,
            "unit_axis": self.unit_axis,
            "positions": None if self.positions is None else list(self.positions),
            "params": dict(self.params),
            "diagnostics": dict(self.diagnostics),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LayerAttribution:
        """Rebuild a LayerAttribution from :meth:`to_dict`'s output.

        Args:
            data: A dict as :meth:`to_dict` returns it.

        Returns:
            LayerAttribution: equal to the one that was saved.
        """
        fields = dict(data)
        shape = tuple(fields.pop("unit_shape"))
        fields["values"] = np.asarray(fields["values"], dtype=np.float64).reshape(shape)
        fields["prediction"] = np.asarray(fields["prediction"], dtype=np.float64)
        return cls(**fields)

    def to_html(self, max_display: int = TOP_UNITS) -> str:
        """An HTML fragment: the run's facts and the top units by |value| as bars.

        Args:
            max_display: How many units to draw.

        Returns:
            str: HTML (autoescaped; no scripts).
        """
        from xplain.internal._html import render_layer

        return render_layer(self, max_display)

    def _repr_html_(self) -> str:
        return self.to_html()

    def save_html(self, path: str | Path) -> Path:
        """Write a standalone HTML page of :meth:`to_html`.

        Args:
            path: Where to write it.

        Returns:
            Path: the file written.
        """
        from xplain.internal._html import render_layer

        path = Path(path)
        path.write_text(render_layer(self, TOP_UNITS, full_page=True), encoding="utf-8")
        return path

    def __repr__(self) -> str:
        gap = "" if self.completeness_gap is None else f", gap={self.completeness_gap:.3g}"
        return (
            f"LayerAttribution(method={self.method!r}, layer={self.layer!r}, "
            f"unit_shape={self.unit_shape}, target={self.target_label!r}{gap})"
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, LayerAttribution):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]  # mutable arrays inside
