"""Small CNNs, a quadrant-only model and image views shared by the image-method tests."""

from __future__ import annotations

import torch
from torch import nn

from xplain.adapters.base import DifferentiableView
from xplain.adapters.image import ImageAdapter

SIDE = 16


def make_cnn(seed: int = 0, inplace: bool = False, channels: int = 3) -> nn.Sequential:
    """Conv-ReLU-MaxPool-Conv-ReLU-AvgPool-Linear on ``[B, channels, 16, 16]``, 5 classes."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = nn.Sequential(
            nn.Conv2d(channels, 4, 3, padding=1),
            nn.ReLU(inplace=inplace),
            nn.MaxPool2d(2),
            nn.Conv2d(4, 6, 3, padding=1),  # "3": the last convolution, [6, 8, 8]
            nn.ReLU(inplace=inplace),
            nn.AdaptiveAvgPool2d(2),
            nn.Flatten(),
            nn.Linear(24, 5),
        )
    return model.double().eval()


class QuadrantNet(nn.Module):
    """A CNN that sees only the top-right quadrant: the rest of the input is zeroed first.

    Positive convolution weights without bias and a positive head make every class score
    grow with the visible pixels, so Grad-CAM's map is positive exactly there.
    """

    def __init__(self, side: int = SIDE, seed: int = 0) -> None:
        super().__init__()
        mask = torch.zeros(1, 1, side, side, dtype=torch.float64)
        mask[..., : side // 2, side // 2 :] = 1.0
        self.register_buffer("mask", mask)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.conv1 = nn.Conv2d(3, 4, 3, padding=1, bias=False)
            self.conv2 = nn.Conv2d(4, 4, 3, padding=1, bias=False)
            self.head = nn.Linear(4, 2)
        with torch.no_grad():
            for layer in (self.conv1, self.conv2, self.head):
                layer.weight.abs_()
        self.double().eval()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.conv1(x * self.mask))
        h = torch.relu(self.conv2(h))  # [B, 4, side, side]
        return self.head(h.pow(2).mean((2, 3)))  # a non-linear function of the quadrant


def quadrant_image(side: int = SIDE, seed: int = 0) -> torch.Tensor:
    """``[3, side, side]`` in [0, 1]: four flat colours (one per quadrant) plus slight noise."""
    gen = torch.Generator().manual_seed(seed)
    image = torch.empty(3, side, side, dtype=torch.float64)
    half = side // 2
    colours = torch.tensor([[0.9, 0.2, 0.2], [0.2, 0.8, 0.3], [0.2, 0.3, 0.9], [0.8, 0.8, 0.2]])
    for k, (rows, cols) in enumerate(
        [(slice(0, half), slice(0, half)), (slice(0, half), slice(half, side)),
         (slice(half, side), slice(0, half)), (slice(half, side), slice(half, side))]
    ):  # fmt: skip
        image[:, rows, cols] = colours[k].double()[:, None, None]
    noise = 0.05 * torch.rand(image.shape, generator=gen, dtype=torch.float64)
    return (image + noise).clamp(0, 1)


def random_image(seed: int = 0, channels: int = 3, side: int = SIDE) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    return torch.rand(channels, side, side, generator=gen, dtype=torch.float64)


def image_view(model: nn.Module, image: torch.Tensor, **params) -> DifferentiableView:
    """The image adapter's gradient view of ``image`` (logits), as the Explainer builds it."""
    adapter = ImageAdapter(model, **params)
    encoded = adapter.encode(image)
    adapter.predict(encoded)
    return adapter.differentiable_view(encoded, "logits")


def relative_error(ours: torch.Tensor, theirs: torch.Tensor) -> float:
    """max |ours - theirs| / max |theirs|."""
    ours, theirs = torch.as_tensor(ours).double(), torch.as_tensor(theirs).double()
    return float((ours - theirs).abs().max() / theirs.abs().max().clamp_min(1e-300))


def hook_count(model: nn.Module) -> int:
    """Forward and backward hooks left on ``model`` and its submodules."""
    return sum(
        len(m._forward_hooks) + len(m._forward_pre_hooks) + len(m._backward_hooks)
        for m in model.modules()
    )
