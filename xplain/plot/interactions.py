"""The matrix of pairwise interaction values of one explanation (tree_shap's)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from xplain.errors import InvalidInputError
from xplain.plot._common import (
    axes,
    colorbar,
    colour_scale,
    explanation,
    literal,
    scale,
    title,
)

if TYPE_CHECKING:
    from xplain.explanation import Explanation

ANNOTATE_UP_TO = 12  # features; larger matrices are not printed cell by cell


def interactions(e: Explanation, ax: Any = None) -> Any:
    """Heat map of ``e.interactions`` (``d x d``): off the diagonal, the SHAP interaction
    value of each pair of features (Lundberg et al. 2020, "From local explanations to global
    understanding with explainable AI for trees"); on it, each feature's main effect.

    Drawn on a diverging scale centred on 0; the cells are printed when there are at most
    12 features.

    Parameters:
        e: An explanation with interaction values (``tree_shap`` asked for them).
        ax: The matplotlib Axes to draw on; a new figure when None.

    Returns:
        The Axes drawn on.
    """
    e = explanation(e, "plot.interactions")
    matrix = getattr(e, "interactions", None)
    d = e.n_features
    if matrix is None:
        raise InvalidInputError(
            f"plot.interactions draws interaction values, and this {e.method!r} explanation "
            "has none (e.interactions is None). Explain with method='tree_shap' and "
            "interactions=True."
        )
    matrix = np.asarray(matrix, dtype=np.float64)
    if matrix.shape != (d, d):
        raise InvalidInputError(
            f"plot.interactions needs a {d} x {d} matrix of interaction values for the {d} "
            f"features; e.interactions has shape {matrix.shape}."
        )
    side = min(2.0 + 0.55 * d, 14.0)
    ax = axes(ax, "plot.interactions", (side + 1.2, side))
    cmap, norm = colour_scale(True, scale(matrix))
    ax.imshow(matrix, cmap=cmap, norm=norm)
    ticks = np.arange(d)
    names = [literal(f) for f in e.features]
    ax.set_xticks(ticks, names, rotation=45, ha="right", rotation_mode="anchor")
    ax.set_yticks(ticks, names)
    if d <= ANNOTATE_UP_TO:
        for r in range(d):
            for c in range(d):
                strong = abs(norm(matrix[r, c]) - 0.5) > 0.3  # a dark cell
                ax.text(c, r, f"{matrix[r, c]:.2g}", ha="center", va="center",
                        fontsize="small", color="white" if strong else "black")
    colorbar(ax, cmap, norm, "interaction value (diagonal: main effect)",
             fraction=0.046, pad=0.04)
    ax.set_title(title(e))
    return ax
