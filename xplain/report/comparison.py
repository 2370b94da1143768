"""HTML for a :class:`~xplain.Comparison`: the methods side by side, agreement and metrics.

One self-contained page or fragment (inline CSS, SVG and PNG; no scripts, no network).
The attributions are drawn by the explanations' display kind (:mod:`xplain.display`):

* ``"tokens"``: one heat row per method over the same tokens, wrapped into blocks so that
  a token stays in the same column for every method;
* ``"grid"``: the input, then each method's heat map beside it;
* any other kind: a diverging bar per feature and method, features in the same order for
  every method (by mean |value| after scaling each method to its own largest |value|),
  the feature's shown value beside it;
* the Spearman agreement of every pair of methods as a heat-map table;
* ``Comparison.evaluation``, the table the last ``Comparison.evaluate()`` returned (if it
  was called; rendering never runs the model), the best value of each column marked,
  using ``higher_is_better`` from :data:`xplain.metrics.METRICS` (lower is better for
  ``seconds`` and ``n_model_evals``).

Each method is coloured on its own scale: methods differ in units (a LIME coefficient is
not a gradient), so only the pattern within a method is comparable.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from xplain.report._charts import fmt, show_value
from xplain.report._image import image_panels
from xplain.report.render import (
    colour,
    environment,
    fragment,
    page,
    scale_of,
    text_colour,
    token_texts,
)

if TYPE_CHECKING:
    from xplain.comparison import Comparison
    from xplain.explanation import Explanation

CHUNK_CHARS = 50  # characters of text per block of aligned heat rows
LONG_TOKEN = 16  # tokens longer than this may wrap inside their cell
COST_COLUMNS = ("seconds", "n_model_evals")  # lower is better


def render_comparison(c: Comparison, *, full_page: bool = False, evaluate: bool = False) -> str:
    """The comparison as an HTML fragment (Jupyter) or a standalone page.

    The metrics table is ``c.evaluation``, if ``c.evaluate()`` was called; ``evaluate=True``
    calls it first (model calls). Otherwise no model is called.
    """
    if evaluate:
        c.evaluate()
    first = next(iter(c.explanations.values()))
    scales = {name: scale_of(e) for name, e in c.explanations.items()}
    context: dict[str, Any] = {
        "c": c,
        "first": first,
        "methods": c.methods,
        "scales": {name: fmt(s) for name, s in scales.items()},
        "chunks": None,
        "bars": None,
        "panels": None,
    }
    if first.display.kind == "tokens":
        context["chunks"] = _text_blocks(c.explanations, scales)
    elif first.display.kind == "grid" and first.image_shape is not None:
        context["panels"] = _image_panels(c.explanations, scales)
    else:
        context["bars"] = _feature_bars(c.explanations, scales)
    context["agreement"] = _agreement_matrix(c) if len(c.methods) > 1 else None
    evaluation = c.evaluation
    context["metrics"] = None if evaluation is None else metrics_table(evaluation)
    body = environment().get_template("_comparison.html.j2").render(**context)
    return page(f"xplain: {', '.join(c.methods)}", body) if full_page else fragment(body)


def _text_blocks(
    explanations: dict[str, Explanation], scales: dict[str, float]
) -> list[dict[str, Any]]:
    """Blocks of at most ``CHUNK_CHARS`` characters of tokens, one heat row per method each."""
    first = next(iter(explanations.values()))
    texts = token_texts(first)
    special = first._special_flags()
    blocks, start, used = [], 0, 0
    for i, text in enumerate(texts):
        width = len(text) + 1
        if i > start and used + width > CHUNK_CHARS:
            blocks.append((start, i))
            start, used = i, 0
        used += width
    blocks.append((start, len(texts)))
    chunks = []
    for lo, hi in blocks:
        rows = []
        for name, e in explanations.items():
            scale = scales[name]
            cells = []
            for j in range(lo, hi):
                value = float(e.values[j])
                cells.append(
                    {
                        "text": texts[j],
                        "title": f"{e.features[j]}: {value:+.4g}",
                        "special": bool(special[j]),
                        "long": len(texts[j]) > LONG_TOKEN,
                        "colour": "transparent" if special[j] else colour(value, scale),
                        "dark": "" if special[j] else text_colour(value, scale),
                    }
                )
            rows.append({"method": name, "cells": cells})
        chunks.append({"rows": rows})
    return chunks


def _feature_bars(
    explanations: dict[str, Explanation], scales: dict[str, float]
) -> list[dict[str, Any]]:
    """One row per feature (same order for every method), one diverging bar per method."""
    first = next(iter(explanations.values()))
    values = np.array([np.asarray(e.values, dtype=float) for e in explanations.values()])
    relative = np.array(
        [np.abs(v) / s if s > 0 else np.zeros_like(v) for v, s in zip(values, scales.values(),
                                                                      strict=True)]
    )  # [methods, features]
    order = np.argsort(-np.nan_to_num(relative).mean(0), kind="stable")
    shown = first.display.shown or ()
    rows = []
    for j in order:
        feature = first.features[j]
        cells = []
        for name, v in zip(explanations, values[:, j], strict=True):
            scale = scales[name]
            cells.append(
                {
                    "method": name,
                    "sign": "pos" if v >= 0 else "neg",
                    "width": 0.0 if scale <= 0 or not math.isfinite(v) else 50 * abs(v) / scale,
                    "text": f"{v:+.3g}",
                    "title": f"{name} \u00b7 {feature}: {v:+.4g}",
                }
            )
        rows.append(
            {
                "feature": feature,
                "value": show_value(shown[j]) if j < len(shown) else None,
                "cells": cells,
            }
        )
    return rows


def _image_panels(
    explanations: dict[str, Explanation], scales: dict[str, float]
) -> list[dict[str, Any]]:
    panels = []
    for i, (name, e) in enumerate(explanations.items()):
        image = image_panels(e, scales[name])
        if image is None:
            continue
        if i == 0:
            panels.append({"caption": "input", "src": image["original"], "alt": "the input",
                           "width": image["width"], "height": image["height"], "input": True})
        panels.append({"caption": name, "src": image["overlay"],
                       "alt": f"{name} attributions", "width": image["width"],
                       "height": image["height"], "input": False})
    return panels


def _agreement_matrix(c: Comparison) -> dict[str, Any]:
    frame = c.agreement()
    pairs = {}
    for row in frame.itertuples(index=False):
        pairs[(row.method_a, row.method_b)] = pairs[(row.method_b, row.method_a)] = row.spearman
    rows = []
    for a in c.methods:
        cells = []
        for b in c.methods:
            value = 1.0 if a == b else float(pairs.get((a, b), math.nan))
            ok = math.isfinite(value)
            cells.append(
                {
                    "text": f"{value:.2f}" if ok else "\u2014",
                    "colour": colour(value, 1.0) if ok else "transparent",
                    "dark": text_colour(value, 1.0) if ok else "",
                    "title": f"Spearman({a}, {b}) = {value:.3f}" if ok else "undefined",
                }
            )
        rows.append({"method": a, "cells": cells})
    return {"rows": rows, "frame": _frame_rows(frame)}


def _frame_rows(frame: pd.DataFrame) -> dict[str, Any]:
    columns = list(frame.columns)
    rows = [
        [v if isinstance(v, str) else fmt(float(v)) for v in row]
        for row in frame.itertuples(index=False)
    ]
    return {"columns": columns, "rows": rows}


def metrics_table(frame: pd.DataFrame) -> dict[str, Any]:
    """``Comparison.evaluate()``'s frame as header and rows, the best value per column marked.

    The direction of a column comes from ``frame.attrs["higher_is_better"]`` (per-k columns
    such as ``comprehensiveness@5%`` follow their metric); ``seconds`` and
    ``n_model_evals`` are costs, lower being better. Ties are all marked; NaN (the metric
    does not apply) never is.
    """
    higher = dict(frame.attrs.get("higher_is_better", {}))
    header, best = [], {}
    for column in frame.columns:
        direction = higher.get(str(column).split("@")[0])
        if column in COST_COLUMNS:
            direction = False
        values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)
        finite = values[np.isfinite(values)]
        if direction is not None and len(finite):
            best[column] = finite.max() if direction else finite.min()
        arrow = {True: "\u2191", False: "\u2193"}.get(direction, "")
        why = {True: "higher is better", False: "lower is better"}.get(direction, "")
        header.append({"name": str(column), "arrow": arrow, "why": why})
    rows = []
    for method, row in frame.iterrows():
        cells = []
        for column in frame.columns:
            value = _number(row[column])
            if not math.isfinite(value):
                cells.append({"text": "\u2014", "best": False, "na": True})
                continue
            text = f"{int(value)}" if column == "n_model_evals" else fmt(value)
            cells.append({"text": text, "best": column in best and value == best[column],
                          "na": False})
        rows.append({"method": str(method), "cells": cells})
    return {"header": header, "rows": rows}



def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan
