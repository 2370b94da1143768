"""The adapter interface: how a modality presents one instance to the methods.

An adapter turns a raw instance (text, row, image) into two views that methods use
without knowing the modality:

* :class:`DifferentiableView` for gradient methods: a tensor ``x`` of shape ``[1, *S]``
  (token embeddings, pixels, numeric columns), a baseline of the same shape, a
  differentiable ``forward`` from ``[B, *S]`` to explained scores ``[B, C]``, and a rule
  that aggregates per-dimension attributions ``[*S]`` to one value per feature.
* :class:`InterpretableView` for perturbation methods: ``d`` features and an ``evaluate``
  function turning binary masks ``[n, d]`` (True = feature present) into scores ``[n, C]``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import torch


@dataclass
class Encoded:
    """One validated instance as the adapter sees it, plus what the Explanation shows."""

    features: list[str]
    instance: Any
    data: dict[str, Any] = field(default_factory=dict)
    notes: dict[str, Any] = field(default_factory=dict)
    special: np.ndarray | None = None  # bool [d]: features that are never perturbed


@dataclass
class DifferentiableView:
    """What gradient methods see: ``forward`` maps ``[B, *S]`` to scores ``[B, C]``."""

    inputs: torch.Tensor  # [1, *S]
    baseline: torch.Tensor  # [1, *S]
    forward: Callable[[torch.Tensor], torch.Tensor]
    aggregate: Callable[[torch.Tensor], np.ndarray]  # [*S] -> [d]
    scores: torch.Tensor | None = None  # [C] forward(inputs)[0] when already known

    @property
    def input_range(self) -> float:
        """max - min of the input, the scale of SmoothGrad's noise (Smilkov 2017)."""
        return float(self.inputs.max() - self.inputs.min())

    def scores_at(self, points: torch.Tensor) -> torch.Tensor:
        """Scores ``[N, C]`` at ``points`` without gradients, reusing ``scores`` for the input."""
        if self.scores is not None and points is self.inputs:
            return self.scores.reshape(1, -1)
        with torch.no_grad():
            return self.forward(points)


@dataclass
class InterpretableView:
    """What perturbation methods see: binary masks over ``d`` features -> scores.

    ``active`` lists the indices (into the Explanation's features) that are perturbed;
    features outside it (e.g. [CLS]/[SEP] tokens) are always present and get value 0.
    """

    n_features: int
    evaluate: Callable[[np.ndarray], np.ndarray]  # bool [n, d] -> float [n, C]
    active: np.ndarray  # int [d]
    scores: np.ndarray  # [C] all features present
    base_scores: np.ndarray  # [C] all features absent
    extras: dict[str, Any] = field(default_factory=dict)


class Adapter(ABC):
    """Presents instances of one modality to the methods; never knows which method runs."""

    modality: ClassVar[str]

    @property
    @abstractmethod
    def labels(self) -> list[str]:
        """Class labels of the model, in output order."""

    @property
    @abstractmethod
    def n_model_evals(self) -> int:
        """Rows evaluated by the model so far (the counter methods are charged by)."""

    @abstractmethod
    def encode(self, instance: Any) -> Encoded:
        """Validate ``instance`` and prepare it; raise :class:`InvalidInputError` if bad."""

    @abstractmethod
    def predict(self, encoded: Encoded) -> np.ndarray:
        """Raw model outputs (logits or scores) ``[C]`` for the instance."""

    def differentiable_view(self, encoded: Encoded, output: str) -> DifferentiableView:
        """The gradient view; adapters whose model has no gradients raise instead."""
        from xplain.errors import MethodNotApplicableError

        raise MethodNotApplicableError(
            f"The {self.modality} adapter for this model offers no gradients."
        )

    def interpretable_view(self, encoded: Encoded, output: str) -> InterpretableView:
        """The perturbation view (binary masks over features -> scores)."""
        from xplain.errors import MethodNotApplicableError

        raise MethodNotApplicableError(
            f"The {self.modality} adapter offers no perturbation view yet."
        )

    @property
    def supports_gradients(self) -> bool:
        return type(self).differentiable_view is not Adapter.differentiable_view

    @property
    def supports_masks(self) -> bool:
        return type(self).interpretable_view is not Adapter.interpretable_view
