"""The HTML view of a LayerAttribution: its facts and the top units by |value| as bars."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from xplain._validation import positive_int
from xplain.report._bars import _place, _row
from xplain.report.render import environment, fragment, page

if TYPE_CHECKING:
    from xplain.internal.result import LayerAttribution


def render_layer(a: LayerAttribution, max_display: int, full_page: bool = False) -> str:
    """``a`` as HTML: a fragment with its stylesheet, or a standalone page.

    Args:
        a: The layer attribution.
        max_display: How many units to draw (largest |value| first).
        full_page: A standalone page (True) or a fragment (Jupyter).

    Returns:
        str: autoescaped HTML without scripts.
    """
    k = positive_int("max_display", max_display, "LayerAttribution.to_html")
    flat = a.values.reshape(-1)
    order = np.argsort(-np.abs(flat), kind="stable")[:k]
    labels = a.unit_labels()
    rows = [_row(labels[i], None, float(flat[i]), None) for i in order]
    scale = max((abs(r["value"]) for r in rows), default=0.0)
    for row in rows:
        _place(row, scale, True)
    bars = {"rows": rows, "scale": scale, "signed": True}
    body = environment().get_template("_layer.html.j2").render(
        a=a, bars=bars, n_units=flat.size
    )
    return page(f"xplain: {a.method} of {a.layer}", body) if full_page else fragment(body)
