"""Wrapper for plain ``torch.nn.Module`` classifiers over a tensor input."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from xplain.errors import InvalidParameterError
from xplain.models.base import EvalCounter, as_class_scores


class TorchClassifier(EvalCounter):
    """A module mapping ``[B, *S]`` inputs to class scores ``[B, C]`` (put in eval mode)."""

    def __init__(self, module: torch.nn.Module, labels: Sequence[str] | None = None) -> None:
        super().__init__()
        if not isinstance(module, torch.nn.Module):
            raise InvalidParameterError(
                f"TorchClassifier expects a torch.nn.Module. Got {type(module).__name__}."
            )
        self.module = module.eval()
        self._labels = [str(label) for label in labels] if labels is not None else None

    @property
    def device(self) -> torch.device:
        param = next(self.module.parameters(), None)
        return param.device if param is not None else torch.device("cpu")

    def labels(self, n_classes: int) -> list[str]:
        """Class labels: the ones given, else "0", "1", ..."""
        return self._labels if self._labels is not None else [str(i) for i in range(n_classes)]

    def logits(self, inputs: torch.Tensor) -> torch.Tensor:
        """Scores ``[B, C]`` (differentiable) for inputs ``[B, *S]``."""
        self.count(inputs.shape[0])
        out = self.module(inputs.to(self.device))
        return as_class_scores(out, inputs.shape[0], type(self.module).__name__)
