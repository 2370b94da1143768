"""A grid explanation (an image's pixels) as a heat map over the instance, in grey."""

from __future__ import annotations

import numbers
from typing import TYPE_CHECKING, Any

import numpy as np

from xplain.errors import InvalidInputError, InvalidParameterError
from xplain.plot._common import (
    SIGNED_LABEL,
    UNSIGNED_LABEL,
    axes,
    colorbar,
    colour_scale,
    explanation,
    is_signed,
    scale,
    title,
)

if TYPE_CHECKING:
    from xplain.explanation import Explanation


def image(e: Explanation, ax: Any = None, alpha: float = 0.5) -> Any:
    """The heat map ``e.values.reshape(e.image_shape)`` over the instance drawn in grey.

    The instance (``e.instance``, ``[H, W]`` or ``[H, W, C]``) is drawn in grey so that
    the only colours are the values': a diverging scale centred on 0 for signed values
    (blue lowers, red raises the score), a sequential one from 0 for unsigned ones
    (``e.signed`` False, e.g. saliency). Without an instance (e.g. restored without it)
    the heat map is drawn alone and opaque. Both images share one extent: pixel ``(r, c)``
    covers ``[c - 0.5, c + 0.5] x [r - 0.5, r + 0.5]``.

    Parameters:
        e: An explanation drawn as a grid (``e.image_shape`` is not None).
        ax: The matplotlib Axes to draw on; a new figure when None.
        alpha: Opacity of the heat map over the instance, in [0, 1].

    Returns:
        The Axes drawn on.
    """
    e = explanation(e, "plot.image")
    shape = e.image_shape
    if shape is None or len(e.values) != shape[0] * shape[1]:
        raise InvalidInputError(
            f"plot.image draws explanations of a 2-D grid (display kind 'grid', e.g. an "
            f"image's pixels); this {e.method!r} explanation's display is "
            f"{e.display.kind!r} with shape {e.display.shape}. Use plot.bar or "
            "plot.explanation for it."
        )
    if isinstance(alpha, bool) or not isinstance(alpha, numbers.Real) or not 0 <= alpha <= 1:
        raise InvalidParameterError(
            f"The 'alpha' parameter of plot.image must be a number in [0, 1]. Got {alpha!r}."
        )
    ax = axes(ax, "plot.image", (5.0, 5.6))
    grey = _grey(e.instance, shape)
    if grey is not None:
        ax.imshow(grey, cmap="gray", vmin=0.0, vmax=1.0)
    values = np.asarray(e.values, dtype=np.float64).reshape(shape)
    signed = is_signed(e)
    cmap, norm = colour_scale(signed, scale(values))
    heat = ax.imshow(values, cmap=cmap, norm=norm,
                     alpha=float(alpha) if grey is not None else 1.0)
    colorbar(ax, heat.get_cmap(), heat.norm, SIGNED_LABEL if signed else UNSIGNED_LABEL,
             orientation="horizontal", fraction=0.05, pad=0.04)
    ax.set_axis_off()
    ax.set_title(title(e))
    return ax


def _grey(instance: Any, shape: tuple[int, int]) -> np.ndarray | None:
    """The instance's brightness ``[H, W]`` in [0, 1], or None when it is not an image of
    ``shape`` (integer pixels are read as 0..255; floats outside [0, 1] are rescaled)."""
    if instance is None:
        return None
    pixels = np.asarray(instance)
    if pixels.dtype.kind not in "biuf" or pixels.shape[:2] != shape or pixels.ndim > 3:
        return None
    pixels = pixels.astype(np.float64)
    if pixels.ndim == 3:
        pixels = pixels[..., :3].mean(-1)  # any alpha channel dropped
    if np.asarray(instance).dtype.kind in "iu":
        return np.clip(pixels / 255.0, 0.0, 1.0)
    low, high = float(pixels.min()), float(pixels.max())
    if low < 0 or high > 1:
        return (pixels - low) / (high - low) if high > low else np.zeros(shape)
    return pixels
