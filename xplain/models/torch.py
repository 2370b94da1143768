"""Wrapper for plain ``torch.nn.Module`` classifiers over a tensor input."""

from __future__ import annotations

import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import torch

from xplain.errors import InvalidParameterError, MethodNotApplicableError
from xplain.models.base import EvalCounter
from xplain.models.outputs import OutputReader

_MODE_LOCK = threading.Lock()
# submodule -> (calls holding it in eval mode now, its own mode before the first of them)
_EVAL_HOLDS: dict[torch.nn.Module, tuple[int, bool]] = {}


@contextmanager
def eval_mode(module: torch.nn.Module) -> Iterator[None]:
    """Within the block ``module`` is in eval mode (dropout off, batch norm on its running
    statistics); after it every submodule has its own mode back.

    Explanations must not depend on the mode the user left the model in, nor change it.
    Blocks may overlap, from several threads and on nested modules: each submodule's mode
    is saved by the first block holding it and restored by the last one to leave (counts
    under one lock), so the model is never put back in train mode while a call runs.
    """
    subs = list(module.modules())
    with _MODE_LOCK:
        for sub in subs:
            held, mode = _EVAL_HOLDS.get(sub, (0, sub.training))
            _EVAL_HOLDS[sub] = (held + 1, mode)
            if sub.training:  # the flag only: a custom train() may do more
                sub.training = False
    try:
        yield
    finally:
        with _MODE_LOCK:
            for sub in subs:
                held, mode = _EVAL_HOLDS.pop(sub)
                if held > 1:
                    _EVAL_HOLDS[sub] = (held - 1, mode)
                elif mode:
                    sub.training = True


class TorchClassifier(EvalCounter):
    """A module mapping ``[B, *S]`` inputs to class scores ``[B, C]``, evaluated in eval
    mode (:func:`eval_mode`; the module's own mode is left as the user set it).

    Its outputs are read by :class:`~xplain.models.outputs.OutputReader`: logits,
    probabilities, log-probabilities or one score of a binary classifier.
    """

    def __init__(self, module: torch.nn.Module, labels: Sequence[str] | None = None) -> None:
        super().__init__()
        if not isinstance(module, torch.nn.Module):
            raise InvalidParameterError(
                f"TorchClassifier expects a torch.nn.Module. Got {type(module).__name__}."
            )
        self.module = module
        self._labels = [str(label) for label in labels] if labels is not None else None
        self.reader = OutputReader(module, type(module).__name__)

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
        with eval_mode(self.module):
            out = self.module(inputs.to(self.device))
        logits = self.reader.logits(out, inputs.shape[0])
        if inputs.requires_grad and torch.is_grad_enabled() and not logits.requires_grad:
            # else autograd's "element 0 of tensors does not require grad" surfaces raw
            kind = "integer" if not logits.is_floating_point() else "detached"
            raise MethodNotApplicableError(
                f"{type(self.module).__name__} returned {kind} scores ({logits.dtype}, "
                "not connected to its input), which have no gradient: a gradient method "
                "cannot explain them. Return float scores computed with torch operations, "
                "or use a perturbation method (kernel_shap, lime, occlusion)."
            )
        return logits
