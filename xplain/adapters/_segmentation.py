"""Superpixel segmentations of an image (scikit-image), as contiguous integer labels.

Each algorithm gets defaults suited to small images in [0, 1]; any keyword of the
scikit-image function can be overridden through ``params``.
"""

from __future__ import annotations

import numbers
from typing import Any

import numpy as np

from xplain._optional import skimage_segmentation
from xplain.errors import InvalidParameterError

SEGMENTATIONS = ("slic", "felzenszwalb", "quickshift", "grid")
LIME_IMAGE_SIDE = 224  # the image size lime_image's quickshift defaults were chosen for

# defaults per algorithm; "slic" also takes a channel-dependent compactness (see below)
_DEFAULTS: dict[str, dict[str, Any]] = {
    "slic": {"n_segments": 50, "start_label": 0},
    "felzenszwalb": {"scale": 100.0, "sigma": 0.5, "min_size": 10},
    # lime_image's defaults (Ribeiro et al. 2016); kernel_size 4 is scaled by side / 224
    "quickshift": {"max_dist": 200.0, "ratio": 0.2},  # seeded by scikit-image (42)
    "grid": {"rows": 8, "cols": 8},
}


def segment(image: np.ndarray, method: str, params: dict[str, Any] | None = None) -> np.ndarray:
    """Labels ``[H, W]`` (0..k-1, every label used) of ``image`` ``[H, W, C]`` in [0, 1]."""
    height, width, _ = image.shape
    options = {**_DEFAULTS[method], **(params or {})}
    grid = method == "grid"
    labels = _grid(height, width, options) if grid else _skimage(image, method, options)
    # renumber so that labels are 0..k-1 in order of first appearance (row-major)
    _, first, inverse = np.unique(labels.ravel(), return_index=True, return_inverse=True)
    rank = np.empty(first.shape[0], dtype=np.int64)
    rank[np.argsort(first)] = np.arange(first.shape[0])
    return rank[inverse.ravel()].reshape(height, width)


def _grid(height: int, width: int, options: dict[str, Any]) -> np.ndarray:
    """A regular grid of ``rows x cols`` cells (fewer where the image is smaller)."""
    unknown = sorted(set(options) - {"rows", "cols"})
    rows, cols = options.get("rows"), options.get("cols")
    whole = (numbers.Integral,)
    if unknown or not all(isinstance(v, whole) and not isinstance(v, bool) for v in (rows, cols)):
        raise InvalidParameterError(
            "segmentation='grid' takes segmentation_params {'rows': int >= 1, 'cols': int "
            f">= 1}}. Got {options!r}."
        )
    if rows < 1 or cols < 1:
        raise InvalidParameterError(
            f"segmentation='grid' needs rows >= 1 and cols >= 1. Got rows={rows}, cols={cols}."
        )
    rows, cols = int(rows), int(cols)
    r = np.minimum(np.arange(height) * min(rows, height) // height, rows - 1)
    c = np.minimum(np.arange(width) * min(cols, width) // width, cols - 1)
    return r[:, None] * cols + c[None, :]


def _skimage(image: np.ndarray, method: str, options: dict[str, Any]) -> np.ndarray:
    segmentation = skimage_segmentation()
    gray = image.shape[2] == 1
    if method == "quickshift":
        # quickshift works in Lab colour: a grey image is given as three equal channels
        rgb = np.repeat(image[..., :1], 3, axis=2) if gray else image[..., :3]
        side = max(image.shape[:2])
        options = {"kernel_size": max(1.0, round(4 * side / LIME_IMAGE_SIDE)), **options}
        call, data = segmentation.quickshift, np.ascontiguousarray(rgb, dtype=np.float64)
    else:
        call = segmentation.slic if method == "slic" else segmentation.felzenszwalb
        data = image[..., 0] if gray else image[..., :3]
        options = {"channel_axis": None if gray else -1, **options}
        if method == "slic":
            # intensity distances in [0, 1] (grey) vs Lab units (colour): SLIC's balance
            options = {"compactness": 0.1 if gray else 10.0, **options}
    fix = f"segmentation_params {options!r} are not accepted by skimage.segmentation."
    try:
        labels = np.asarray(call(data, **options))
    except (TypeError, ValueError, ZeroDivisionError) as exc:  # e.g. n_segments=0
        raise InvalidParameterError(f"{fix}{call.__name__}: {exc}") from exc
    if labels.shape != image.shape[:2]:  # e.g. a channel_axis that is not the colours'
        raise InvalidParameterError(
            f"{fix}{call.__name__}: it returned labels of shape {list(labels.shape)} for an "
            f"image of {image.shape[0]} x {image.shape[1]} pixels."
        )
    return labels
