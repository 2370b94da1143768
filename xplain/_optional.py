"""Optional dependencies, imported on first use with the ``pip install`` line that fixes
their absence (a neutral module: adapters and methods both use it)."""

from __future__ import annotations

from typing import Any

from xplain.errors import MissingDependencyError


def skimage_segmentation() -> Any:
    """The ``skimage.segmentation`` module, or a MissingDependencyError naming the fix."""
    try:
        from skimage import segmentation
    except ImportError as exc:
        raise MissingDependencyError(
            "Superpixel segmentation needs scikit-image: pip install scikit-image "
            "(or pip install 'xplain-xai[image]')."
        ) from exc
    return segmentation


def pyplot() -> Any:
    """``matplotlib.pyplot``, or a MissingDependencyError naming the fix (``xplain.plot``)."""
    try:
        from matplotlib import pyplot
    except ImportError as exc:
        raise MissingDependencyError(
            "xplain.plot draws with matplotlib: pip install matplotlib "
            "(or pip install 'xplain-xai[plot]')."
        ) from exc
    return pyplot
