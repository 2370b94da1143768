"""Small networks and hand-built views shared by the DeepLIFT / DeepSHAP / GradientSHAP tests."""

from __future__ import annotations

import warnings

import torch
from torch import nn

from xplain.adapters.base import DifferentiableView


class Copy(nn.Module):
    """``x * 1``: a new tensor, so two hooked modules never share one tensor."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * 1.0


def make_cnn(seed: int = 0, dtype: torch.dtype = torch.float64, copy: bool = False) -> nn.Module:
    """Conv2d + ReLU + MaxPool2d + Conv2d + ReLU + Linear on ``[B, 1, 8, 8]``, 3 classes.

    ``copy=True`` gives the same function with a :class:`Copy` between the first ReLU and
    the pooling. Captum's hooks need it: when a hooked ReLU's output tensor is the input
    tensor of a hooked MaxPool, Captum's ReLU hook captures the pooling's plain gradient
    before the pooling rule replaces it, and its attributions then violate
    summation-to-delta. xplain's are the same with or without the copy.
    """
    torch.manual_seed(seed)
    layers: list[nn.Module] = [nn.Conv2d(1, 4, 3, padding=1), nn.ReLU()]
    if copy:
        layers.append(Copy())
    layers += [
        nn.MaxPool2d(2),
        nn.Conv2d(4, 6, 3),
        nn.ReLU(inplace=True),
        nn.Flatten(),
        nn.Linear(6 * 2 * 2, 3),
    ]
    return nn.Sequential(*layers).to(dtype).eval()


def make_mlp(seed: int = 0, softmax: bool = False, dtype: torch.dtype = torch.float64) -> nn.Module:
    """An MLP on ``[B, 6]`` through ReLU, Tanh, Sigmoid, ELU, Softplus, LeakyReLU; 3 classes."""
    torch.manual_seed(seed)
    acts = [nn.ReLU(), nn.Tanh(), nn.Sigmoid(), nn.ELU(), nn.Softplus(), nn.LeakyReLU(0.1)]
    layers: list[nn.Module] = []
    width = 6
    for act in acts:
        layers += [nn.Linear(width, 8), act]
        width = 8
    layers.append(nn.Linear(width, 3))
    if softmax:
        layers.append(nn.Softmax(dim=1))
    return nn.Sequential(*layers).to(dtype).eval()


def make_view(
    model: nn.Module,
    x: torch.Tensor,
    baseline: torch.Tensor,
    background: torch.Tensor | None = None,
    module: nn.Module | None = None,
) -> DifferentiableView:
    """A view as an adapter would build it for ``model`` (``module`` defaults to it)."""
    return DifferentiableView(
        inputs=x,
        baseline=baseline,
        forward=lambda z: model(z),
        aggregate=lambda a: a.flatten().numpy(),
        background=background,
        module=model if module is None else module,
    )


def all_hooks(model: nn.Module) -> int:
    """Number of hooks of any kind left on ``model`` and its submodules."""
    return sum(
        len(m._forward_hooks) + len(m._forward_pre_hooks) + len(m._backward_hooks)
        for m in model.modules()
    )


def captum(cls: type, model: nn.Module, *args: object, **kwargs: object) -> torch.Tensor:
    """Run a Captum attribution quietly (its DeepLift warns about setting hooks)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return cls(model).attribute(*args, **kwargs)


def relative_error(ours: torch.Tensor, theirs: torch.Tensor) -> float:
    return ((ours - theirs).abs().max() / theirs.abs().max()).item()
