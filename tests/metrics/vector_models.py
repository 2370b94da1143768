"""A tiny adapter over a torch model of a numeric vector, with known attributions.

For ``f(x) = w . x`` (class 1 of a linear layer) with absent features set to 0, the
true attribution of feature i is ``w_i x_i``: it is the leave-one-out drop, the Shapley
value and Integrated Gradients' answer at once, and every removal metric has a closed
form.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any, ClassVar

import numpy as np
import torch

import xplain
from xplain.adapters.base import Adapter, DifferentiableView, Encoded, InterpretableView
from xplain.explanation import Explanation


class VectorAdapter(Adapter):
    """A torch model of ``[B, d]`` float64 vectors; a removed feature becomes 0."""

    modality: ClassVar[str] = "tabular"

    def __init__(self, module: torch.nn.Module, special: np.ndarray | None = None) -> None:
        self.module = module
        self.special = special
        self.evals = 0

    @property
    def labels(self) -> list[str]:
        return ["negative", "positive"]

    @property
    def outputs(self) -> tuple[str, ...]:
        return ("logits",)

    @property
    def n_model_evals(self) -> int:
        return self.evals

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        self.evals += x.shape[0]
        return self.module(x)

    def encode(self, instance: Any) -> Encoded:
        x = np.asarray(instance, dtype=np.float64)
        special = self.special if self.special is not None else np.zeros(len(x), dtype=bool)
        return Encoded(
            features=[f"x{i}" for i in range(len(x))],
            instance=x,
            data={"x": torch.as_tensor(x)[None]},
            special=special,
        )

    def predict(self, encoded: Encoded) -> np.ndarray:
        with torch.no_grad():
            return torch.softmax(self._forward(encoded.data["x"])[0], -1).numpy()

    def differentiable_view(self, encoded: Encoded, output: str) -> DifferentiableView:
        x = encoded.data["x"]
        return DifferentiableView(
            inputs=x,
            baseline=torch.where(torch.as_tensor(encoded.special)[None], x, 0.0),
            forward=self._forward,
            aggregate=lambda attr: attr.detach().numpy(),
            module=self.module,
        )

    def interpretable_view(self, encoded: Encoded, output: str) -> InterpretableView:
        x = encoded.data["x"][0]
        active = np.flatnonzero(~encoded.special)

        def evaluate(masks: np.ndarray) -> np.ndarray:
            keep = np.ones((len(masks), len(x)), dtype=bool)
            keep[:, active] = masks
            with torch.no_grad():
                return self._forward(x * torch.as_tensor(keep)).numpy()

        return InterpretableView(
            n_features=len(active),
            evaluate=evaluate,
            active=active,
            scores=evaluate(np.ones((1, len(active)), dtype=bool))[0],
            base_scores=evaluate(np.zeros((1, len(active)), dtype=bool))[0],
            n_total=len(x),
        )


def linear_module(w: np.ndarray) -> torch.nn.Module:
    """Logits ``[-w.x, w.x]``: class 1 scores ``w . x``."""
    layer = torch.nn.Linear(len(w), 2, bias=False).double()
    with torch.no_grad():
        layer.weight.copy_(torch.as_tensor(np.stack([-w, w])))
    return layer


def vector_explainer(
    module: torch.nn.Module, special: np.ndarray | None = None
) -> xplain.Explainer:
    return xplain.Explainer(module, adapter=VectorAdapter(module, special))


def with_values(explanation: Explanation, values: np.ndarray) -> Explanation:
    """The same explanation with other values (e.g. a random attribution)."""
    return replace(explanation, values=np.asarray(values, dtype=np.float64), method="random")
