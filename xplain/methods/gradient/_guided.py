"""Guided backpropagation's ReLU rule (Springenberg et al. 2015), applied through hooks."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import torch

from xplain.errors import MethodNotApplicableError
from xplain.methods.base import gradients
from xplain.methods.gradient._hooks import forward_hooks
from xplain.views import DifferentiableView


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
def guided_relus(module: torch.nn.Module | None, method: str) -> Iterator[set[str]]:
    """Within the block every ``nn.ReLU`` of ``module`` is guided, in this thread's forward
    passes only; yields the names of those the forward passes call (filled as they run).

    The hooks are removed on exit, also when the block raises.
    """
    reason = without_relus(module)
    if reason is not None:
        raise MethodNotApplicableError(f"{method} cannot run: {reason}.")
    called: set[str] = set()

    def guide(name: str) -> Callable[..., torch.Tensor]:
        def hook(_module: torch.nn.Module, args: tuple[Any, ...], _output: Any) -> torch.Tensor:
            called.add(name)
            # the same values with the guided backward; for an in-place ReLU args[0]
            # already holds relu(x), whose positive entries are x's
            return _GuidedRelu.apply(args[0])

        return hook

    with forward_hooks([(relu, None, guide(name)) for name, relu in _named_relus(module)]):
        yield called


def guided_gradients(
    view: DifferentiableView,
    points: torch.Tensor,
    target: int,
    batch_size: int | None,
    method: str,
) -> tuple[torch.Tensor, dict[str, Any]]:
    """Guided backpropagation ``[N, *S]`` at ``points`` and its diagnostics.

    ``guided_relus`` is the number of ``nn.ReLU`` modules the forward pass called (only
    those are guided), with a ``note`` naming the declared ones it never called. When it
    called none (a model applying ``F.relu`` and keeping an unused ``nn.ReLU``), the result
    would be the plain gradient under another name: MethodNotApplicableError.
    """
    with guided_relus(view.module, method) as called:
        grads = gradients(view, points, target, batch_size)
    unused = [name for name, _ in _named_relus(view.module) if name not in called]
    listed = ", ".join(repr(name) for name in unused[:5]) + (", ..." if len(unused) > 5 else "")
    if not called:
        raise MethodNotApplicableError(
            f"{method} cannot run: the forward pass of {type(view.module).__name__} never "
            f"called its nn.ReLU module(s) {listed}, so no ReLU would be guided and the "
            "result would be the plain gradient. The model applies its ReLUs some other "
            "way (functional F.relu / torch.relu cannot be guided); call the nn.ReLU "
            "modules in forward(), or use saliency or integrated_gradients."
        )
    diagnostics: dict[str, Any] = {"guided_relus": len(called)}
    if unused:
        diagnostics["note"] = (
            f"{len(unused)} of the model's {len(unused) + len(called)} nn.ReLU modules "
            f"({listed}) were never called in the forward pass and not guided; ReLUs "
            "applied functionally (F.relu) are not guided either"
        )
    return grads, diagnostics


def _named_relus(module: torch.nn.Module | None) -> list[tuple[str, torch.nn.ReLU]]:
    """``(name, module)`` of the ``nn.ReLU`` modules of ``module``, in definition order."""
    if module is None:
        return []
    return [(n, m) for n, m in module.named_modules() if isinstance(m, torch.nn.ReLU)]
