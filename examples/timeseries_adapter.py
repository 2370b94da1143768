"""A time-series adapter for xplain, written only against the public API.

A torch classifier over series ``[B, T, F]`` (T time steps of F channels) is explained
one time step at a time: the features are the steps ``t0 .. t{T-1}``.

* gradient methods (saliency, integrated_gradients, ...) get a differentiable view of the
  series ``[1, T, F]``; a step's value is the sum over its channels;
* perturbation methods (occlusion, lime, kernel_shap, ...) get an interpretable view:
  masking a step replaces all its channels by the baseline (zero, or each channel's mean
  over the series);
* reports draw the explanation with its own display kind, ``"series"``: each channel as
  a line over a strip of coloured time steps (:func:`render_series`, registered with
  :func:`xplain.report.register_display`).

>>> explainer = xplain.Explainer(model, adapter=SeriesAdapter(model, labels=["calm", "spike"]))
>>> e = explainer.explain(series, method="integrated_gradients")   # series: [T, F] array
>>> explainer.compare(series, methods=["saliency", "occlusion", "kernel_shap"]).evaluate()
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from markupsafe import escape

import xplain
from xplain.errors import InvalidInputError, InvalidParameterError
from xplain.extend import (
    Adapter,
    DifferentiableView,
    Encoded,
    FeatureDisplay,
    InterpretableView,
    Subset,
)
from xplain.report import colour, register_display

KIND = "series"  # this adapter's display kind
BASELINES = ("zero", "mean")
# the methods this adapter is tested with (tests/test_example_timeseries.py)
CLAIMED = ("saliency", "input_x_gradient", "integrated_gradients", "occlusion", "lime",
           "kernel_shap")


class SeriesAdapter(Adapter):
    """Explain a torch classifier of series ``[B, T, F]`` step by step.

    ``labels``: class names in output order (None: "0", "1", ...); ``baseline``: what a
    masked step becomes, ``"zero"`` or ``"mean"`` (each channel's mean over the series).
    """

    modality = "timeseries"  # the adapter's name for itself (Explanation.modality)

    def __init__(
        self,
        model: torch.nn.Module,
        *,
        labels: Sequence[str] | None = None,
        baseline: str = "zero",
    ) -> None:
        if not isinstance(model, torch.nn.Module):
            raise InvalidParameterError(
                f"SeriesAdapter explains a torch.nn.Module. Got {type(model).__name__}."
            )
        if baseline not in BASELINES:
            raise InvalidParameterError(
                f"The 'baseline' parameter of SeriesAdapter must be one of "
                f"{', '.join(map(repr, BASELINES))}. Got {baseline!r}."
            )
        self.model = model.eval()
        self.baseline = baseline
        self._labels = [str(label) for label in labels] if labels is not None else None
        self._n_evals = 0  # model rows evaluated so far
        self._n_classes = 0

    # -- what the Explainer asks -----------------------------------------------------------
    @property
    def labels(self) -> list[str]:
        return self._labels or [str(i) for i in range(self._n_classes)]

    @property
    def n_model_evals(self) -> int:
        return self._n_evals

    @property
    def outputs(self) -> tuple[str, ...]:
        return ("logits", "probability")

    def torch_module(self) -> torch.nn.Module:
        return self.model

    def encode(self, instance: Any) -> Encoded:
        """A series ``[T, F]`` (or ``[T]``, one channel) of finite numbers."""
        series = np.asarray(instance.detach().cpu() if torch.is_tensor(instance) else instance)
        if series.ndim == 1:
            series = series[:, None]
        if series.ndim != 2 or series.dtype.kind not in "biuf" or series.shape[0] < 1:
            raise InvalidInputError(
                f"A series explainer takes one series [T, F] (or [T]) of numbers. Got "
                f"{series.dtype} of shape {list(series.shape)}; pass one series at a time."
            )
        series = series.astype(np.float64)
        if not np.isfinite(series).all():
            raise InvalidInputError(
                "The series holds NaN or infinite values; fill or drop them first."
            )
        return Encoded(
            features=[f"t{t}" for t in range(series.shape[0])],
            instance=series,
            data={"x": torch.as_tensor(series[None], dtype=_dtype(self.model))},  # [1, T, F]
        )

    def predict(self, encoded: Encoded) -> np.ndarray:
        with torch.no_grad():
            logits = self._logits(encoded.data["x"])  # [1, C]
        self._n_classes = logits.shape[1]
        return torch.softmax(logits[0].double(), dim=-1).numpy()

    def display(self, encoded: Encoded) -> FeatureDisplay:
        """This adapter's own kind: reports draw the channels over coloured time steps."""
        return FeatureDisplay(KIND, options={"channels": int(encoded.instance.shape[1])})

    # -- views ------------------------------------------------------------------------------
    def differentiable_view(self, encoded: Encoded, output: str) -> DifferentiableView:
        x = encoded.data["x"]  # [1, T, F]
        return DifferentiableView(
            inputs=x,
            baseline=self._baseline(x),
            forward=lambda points: self._scores(points, output),  # [B, T, F] -> [B, C]
            aggregate=lambda values: values.detach().sum(-1).cpu().numpy(),  # [T, F] -> [T]
            module=self.model,
        )

    def interpretable_view(self, encoded: Encoded, output: str) -> InterpretableView:
        x, n_steps = encoded.data["x"], encoded.data["x"].shape[1]
        baseline = self._baseline(x)

        def evaluate(masks: np.ndarray) -> np.ndarray:
            """bool ``[n, T]`` (True: the step is kept) -> scores ``[n, C]``."""
            keep = torch.as_tensor(np.array(masks, dtype=bool))[:, :, None]  # [n, T, 1], a copy
            with torch.no_grad():
                return self._scores(torch.where(keep, x, baseline), output).double().numpy()

        every = np.ones((1, n_steps), dtype=bool)
        return InterpretableView(
            n_features=n_steps,
            evaluate=evaluate,
            scores=evaluate(every)[0],
            base_scores=evaluate(~every)[0],
            feature_map=Subset.all(n_steps),
        )

    # -- helpers ----------------------------------------------------------------------------
    def _baseline(self, x: torch.Tensor) -> torch.Tensor:
        """What masked steps become ``[1, T, F]``: zeros, or each channel's mean."""
        if self.baseline == "zero":
            return torch.zeros_like(x)
        return x.mean(dim=1, keepdim=True).expand_as(x).clone()

    def _logits(self, x: torch.Tensor) -> torch.Tensor:
        self._n_evals += x.shape[0]
        return self.model(x)

    def _scores(self, x: torch.Tensor, output: str) -> torch.Tensor:
        logits = self._logits(x)
        return torch.softmax(logits, dim=-1) if output == "probability" else logits


def _dtype(model: torch.nn.Module) -> torch.dtype:
    parameter = next(model.parameters(), None)
    return parameter.dtype if parameter is not None else torch.float32


def render_series(e: xplain.Explanation, scale: float) -> str:
    """SVG of a ``"series"`` explanation: one coloured cell per time step (blue lowers,
    red raises the explained score) under each channel's line (scaled to its range)."""
    width, height, n = 640, 120, len(e.values)
    step = width / max(n, 1)
    cells = [
        f'<rect x="{t * step:.2f}" y="0" width="{step:.2f}" height="{height}" '
        f'fill="{colour(float(v), scale)}"><title>{escape(f)}: {float(v):+.4g}</title></rect>'
        for t, (f, v) in enumerate(zip(e.features, e.values, strict=True))
    ]
    lines = []
    series = np.asarray(e.instance, dtype=np.float64) if e.instance is not None else None
    if series is not None and series.ndim == 2 and series.shape[0] == n:
        for channel in series.T:
            low, high = float(channel.min()), float(channel.max())
            span = high - low or 1.0
            points = " ".join(
                f"{(t + 0.5) * step:.2f},{height - 8 - (height - 16) * (v - low) / span:.2f}"
                for t, v in enumerate(channel)
            )
            lines.append(f'<polyline points="{points}" fill="none" stroke="#1f2328"/>')
    return (
        f'<svg class="series" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" role="img" aria-label="attribution per time step">'
        + "".join(cells + lines)
        + "</svg>"
    )


register_display(KIND, render_series)
