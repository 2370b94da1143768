"""Guided backpropagation's ReLU rule (Springenberg et al. 2015), applied through hooks."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch

from xplain.adapters.base import DifferentiableView
from xplain.errors import MethodNotApplicableError
from xplain.methods.base import gradients


class _GuidedRelu(torch.autograd.Function):
    """ReLU whose backward passes only positive gradients where the input was positive."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(x > 0)
        return x.clamp(min=0)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> torch.Tensor:
        (positive,) = ctx.saved_tensors
        return grad.clamp(min=0) * positive


def _guide(_module: torch.nn.Module, args: tuple[Any, ...], _output: Any) -> torch.Tensor:
    # replaces the ReLU's output by the same values with the guided backward; for an
    # in-place ReLU args[0] already holds relu(x), whose positive entries are x's
    return _GuidedRelu.apply(args[0])


def relus(module: torch.nn.Module | None) -> list[torch.nn.ReLU]:
    """The ``nn.ReLU`` modules of ``module`` (none when it is None)."""
    return [] if module is None else [m for m in module.modules() if isinstance(m, torch.nn.ReLU)]


def without_relus(module: torch.nn.Module | None) -> str | None:
    """Why a guided method cannot run on ``module`` (None: it has ReLU modules to guide)."""
    if relus(module):
        return None
    if module is None:
        return "it changes the backward pass of nn.ReLU modules, and the model has no torch module"
    return (
        f"it changes the backward pass of nn.ReLU modules, and {type(module).__name__} has "
        "none (GELU / functional F.relu cannot be guided); use saliency or "
        "integrated_gradients"
    )


@contextmanager
def guided_relus(module: torch.nn.Module | None, method: str) -> Iterator[int]:
    """Within the block every ``nn.ReLU`` of ``module`` is guided; yields their number.

    The hooks are removed on exit, also when the block raises.
    """
    reason = without_relus(module)
    if reason is not None:
        raise MethodNotApplicableError(f"{method} cannot run: {reason}.")
    handles = []
    guided = relus(module)
    try:
        for relu in guided:
            handles.append(relu.register_forward_hook(_guide))
        yield len(guided)
    finally:
        for handle in handles:
            handle.remove()


def guided_gradients(
    view: DifferentiableView,
    points: torch.Tensor,
    target: int,
    batch_size: int | None,
    method: str,
) -> tuple[torch.Tensor, int]:
    """Guided backpropagation ``[N, *S]`` at ``points`` and the number of ReLUs guided."""
    with guided_relus(view.module, method) as n_relus:
        return gradients(view, points, target, batch_size), n_relus
