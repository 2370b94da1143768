"""A text explanation as a heat strip: the tokens as they read, each on its value's colour."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from xplain.plot._common import (
    SIGNED_LABEL,
    UNSIGNED_LABEL,
    axes,
    colorbar,
    colour_scale,
    explanation,
    is_signed,
    literal,
    scale,
    title,
)

if TYPE_CHECKING:
    from xplain.explanation import Explanation

FONT_SIZE = 12.0  # points
LINE = 2.0 * FONT_SIZE  # points from one line of tokens to the next
PAD = 0.15  # of the font size, around each token's coloured box
WIDTH = 9.0  # inches of a new figure


def text(e: Explanation, ax: Any = None) -> Any:
    """The tokens of one explanation in reading order, each on the colour of its value.

    Sub-word tokens are glued to their word (the display's ``continuation`` and
    ``word_start`` markers, as in the HTML report) and lines wrap between words, never
    inside one. Signed values are coloured on a diverging scale centred on 0 (blue lowers,
    red raises the score); unsigned ones (``e.signed`` False, e.g. saliency) on a
    sequential scale from 0. Special tokens ([CLS], [SEP]...) are grey, uncoloured, and do
    not set the scale. A colour bar below says which scale it is.

    Parameters:
        e: The explanation to draw (any display: its features are drawn as words).
        ax: The matplotlib Axes to draw on; a new figure when None (its height fits the lines).

    Returns:
        The Axes drawn on.
    """
    from matplotlib.font_manager import FontProperties

    from xplain.report.render import token_texts

    e = explanation(e, "plot.text")
    new = ax is None
    ax = axes(ax, "plot.text", (WIDTH, 2.0), layout=None)  # the tokens are placed in points
    values = np.asarray(e.values, dtype=np.float64)
    special = e._special_flags()
    signed = is_signed(e)
    cmap, norm = colour_scale(signed, scale(values, ~special))
    font = FontProperties(size=FONT_SIZE)
    pieces = token_texts(e)
    words = [literal(piece.strip()) for piece in pieces]
    widths = [_width(word, font) + 2 * PAD * FONT_SIZE for word in words]
    space = _width("x x", font) - 2 * _width("x", font)
    available = ax.get_position().width * ax.figure.get_figwidth() * 72.0  # points
    places = _layout([p.startswith(" ") for p in pieces], widths, space, available)
    for i, (word, (x, line)) in enumerate(zip(words, places, strict=True)):
        colour = (0.0, 0.0, 0.0, 0.0) if special[i] else cmap(norm(values[i]))
        ink = "#8c959f" if special[i] else _ink(colour)
        ax.text(x + PAD * FONT_SIZE, (line + 0.5) * LINE, word, fontsize=FONT_SIZE,
                color=ink, va="center", ha="left",
                bbox={"boxstyle": f"square,pad={PAD}", "facecolor": colour,
                      "edgecolor": "none"})
    line = places[-1][1] if places else 0
    lines = line + 1
    ax.set_xlim(0.0, available)
    ax.set_ylim(lines * LINE, 0.0)
    ax.set_axis_off()
    ax.set_title(title(e))
    if new:
        ax.figure.set_figheight(1.6 + lines * LINE / 72.0)
    colorbar(ax, cmap, norm, SIGNED_LABEL if signed else UNSIGNED_LABEL,
             orientation="horizontal", fraction=0.25 / lines, pad=0.05, aspect=40)
    return ax


def _width(word: str, font: Any) -> float:
    """Width in points of ``word`` drawn in ``font``."""
    from matplotlib.textpath import TextPath

    return float(TextPath((0, 0), word, prop=font).get_extents().width) if word.strip() else 0.0


def _layout(
    starts: list[bool], widths: list[float], space: float, available: float
) -> list[tuple[float, int]]:
    """``(x, line)`` of each token: ``starts[i]`` says token ``i`` begins a word (else it
    continues the previous one); a word that would pass ``available`` moves to the next
    line whole (one longer than a line stays on its own line)."""
    places: list[tuple[float, int]] = []
    x, line = 0.0, 0
    for i, width in enumerate(widths):
        if starts[i] and i > 0:
            end = i + 1
            while end < len(widths) and not starts[end]:
                end += 1
            word = sum(widths[i:end])
            x += space
            if x + word > available:
                x, line = 0.0, line + 1
        places.append((x, line))
        x += width
    return places


def _ink(rgba: tuple[float, ...]) -> str:
    """White text on dark cells, black on light ones (relative luminance)."""
    r, g, b = rgba[:3]
    return "white" if 0.2126 * r + 0.7152 * g + 0.0722 * b < 0.45 else "black"
