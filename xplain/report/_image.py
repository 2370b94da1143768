"""Image explanations as inline PNGs: the input and its attribution heat map (no network)."""

from __future__ import annotations

import base64
import math
import struct
import zlib
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from xplain.explanation import Explanation

MIN_SIDE = 192  # small images are enlarged (nearest neighbour) to at least this many pixels
_NEGATIVE = np.array([33.0, 102.0, 172.0])  # the report's diverging colours
_POSITIVE = np.array([178.0, 24.0, 43.0])
_MAGNITUDE = np.array([84.0, 39.0, 143.0])  # its sequential one (unsigned values)
OPACITY = 0.85  # of the colour at |value| = scale; the washed-out grey image shows below


def image_panels(e: Explanation, scale: float) -> dict[str, Any] | None:
    """Data URIs of the input image and of its heat map, with their display size.

    The heat map is diverging (blue / red by sign) for signed values, sequential (purple,
    stronger for larger) for magnitudes (``e.signed`` False); |value| / ``scale`` sets
    the colour's opacity over the washed-out image.
    """
    shape = e.image_shape
    if shape is None or len(e.values) != shape[0] * shape[1]:
        return None
    rgb = _instance_rgb(e.instance, shape)  # [H, W, 3] in [0, 1]
    values = np.asarray(e.values, dtype=np.float64).reshape(shape)
    t = np.zeros(shape) if scale <= 0 else np.clip(np.abs(values) / scale, 0.0, 1.0)
    if e.signed:
        colour = np.where((values >= 0)[..., None], _POSITIVE, _NEGATIVE)  # [H, W, 3]
    else:
        colour = np.broadcast_to(_MAGNITUDE, (*shape, 3))
    grey = 255 - 0.5 * (255 - 255 * rgb.mean(-1, keepdims=True))  # [H, W, 1]
    alpha = OPACITY * t[..., None]
    overlay = (1 - alpha) * grey + alpha * colour
    factor = max(1, math.ceil(MIN_SIDE / max(shape)))
    return {
        "original": png_data_uri(_enlarge(np.round(255 * rgb), factor)),
        "overlay": png_data_uri(_enlarge(np.round(overlay), factor)),
        "height": shape[0] * factor,
        "width": shape[1] * factor,
    }


def _instance_rgb(instance: Any, shape: tuple[int, int]) -> np.ndarray:
    """The instance drawn under the heat map: its pixels when it is an ``[H, W(, C)]``
    array of numbers, else white (e.g. an explanation restored without its instance)."""
    pixels = np.asarray(instance) if instance is not None else np.zeros(0)
    if pixels.shape[:2] != shape or pixels.ndim > 3 or pixels.dtype.kind not in "biuf":
        return np.ones((*shape, 3))
    return _rgb(pixels.astype(np.float64))


def _rgb(pixels: np.ndarray) -> np.ndarray:
    """``[H, W, C]`` (C = 1, 3 or 4) -> ``[H, W, 3]``: grey repeated, alpha dropped."""
    if pixels.ndim == 2:
        pixels = pixels[..., None]
    if pixels.shape[-1] == 1:
        return np.repeat(pixels, 3, axis=-1)
    return pixels[..., :3]


def _enlarge(image: np.ndarray, factor: int) -> np.ndarray:
    return np.repeat(np.repeat(image, factor, axis=0), factor, axis=1)


def png_data_uri(rgb: np.ndarray) -> str:
    """An 8-bit RGB image ``[H, W, 3]`` (values 0..255) as a ``data:image/png`` URI."""
    pixels = np.clip(rgb, 0, 255).astype(np.uint8)
    height, width, _ = pixels.shape
    # each scanline starts with filter type 0 (none)
    raw = np.concatenate([np.zeros((height, 1), np.uint8), pixels.reshape(height, -1)], 1)

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit truecolour
    png = (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw.tobytes(), 9))
        + chunk(b"IEND", b"")
    )
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")
