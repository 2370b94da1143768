"""HTML for a :class:`~xplain.Comparison`: the methods side by side, agreement and metrics.

One self-contained page or fragment (inline CSS, SVG and PNG; no scripts, no network).
The attributions are drawn by the explanations' display kind (:mod:`xplain.display`):

* ``"tokens"``: one heat row per method over the same tokens, each one flowing run of
  words (the runs wrap alike, so a token sits at the same x in every row);
* ``"grid"``: the input, then each method's heat map beside it;
* any other kind: a bar per feature and method from a centred zero (from the left edge
  for a method giving magnitudes), features in the same order for every method (by mean
  |value| after scaling each method to its own largest |value|), the feature's shown
  value beside it;
* the Spearman agreement of every pair of methods as a heat-map table
  (:meth:`~xplain.Comparison.agreement_matrix`): of the signed
  values for two signed methods, of |values| (importance ranks) when either method gives
  magnitudes only (``Explanation.signed`` False, e.g. saliency), since a signed method's
  large negative values are as important as its large positive ones;
* ``Comparison.evaluation``, the table the last ``Comparison.evaluate()`` returned (if it
  was called; rendering never runs the model), the best value of each column marked,
  using ``higher_is_better`` from :data:`xplain.metrics.METRICS` (lower is better for
  ``seconds`` and ``n_model_evals``).

Each method is coloured on its own scale: methods differ in units (a LIME coefficient is
not a gradient), so only the pattern within a method is comparable. Unsigned methods are
marked with a dagger and coloured on a sequential scale, 0..max.
"""

from __future__ import annotations

import math
import warnings
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from xplain._ranking import shared_importance, top_and_rest
from xplain.errors import UndefinedMeasureWarning
from xplain.report._charts import fmt, show_value
from xplain.report._image import image_panels
from xplain.report.render import (
    colour,
    environment,
    fragment,
    legend,
    page,
    scale_of,
    text_colour,
    token_cells,
)

if TYPE_CHECKING:
    from xplain.comparison import Comparison
    from xplain.explanation import Explanation

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
        "rows": None,
        "bars": None,
        "panels": None,
    }
    if first.display.kind == "tokens":
        context["rows"] = _text_rows(c.explanations, scales)
    elif first.display.kind == "grid" and first.image_shape is not None:
        context["panels"] = _image_panels(c.explanations, scales)
    else:
        context["bars"] = _feature_bars(c.explanations, scales)
    context["legends"] = _legends(c.explanations)
    context["signed"] = {name: e.signed for name, e in c.explanations.items()}
    context["agreement"] = _agreement_matrix(c) if len(c.methods) > 1 else None
    evaluation = c.evaluation
    context["metrics"] = None if evaluation is None else metrics_table(evaluation)
    body = environment().get_template("_comparison.html.j2").render(**context)
    return page(f"xplain: {', '.join(c.methods)}", body) if full_page else fragment(body)


def _text_rows(
    explanations: dict[str, Explanation], scales: dict[str, float]
) -> list[dict[str, Any]]:
    """One heat row per method: its tokens as one run, coloured on the method's own scale."""
    return [
        {"method": name, "signed": e.signed, "cells": token_cells(e, scales[name])}
        for name, e in explanations.items()
    ]


def _feature_bars(
    explanations: dict[str, Explanation], scales: dict[str, float]
) -> list[dict[str, Any]]:
    """One row per feature, one diverging bar per method; the rows in the order of the
    plots' comparison panels (:func:`xplain._ranking.shared_importance`), the same for
    every method."""
    first = next(iter(explanations.values()))
    values = np.array([np.asarray(e.values, dtype=float) for e in explanations.values()])
    order, _ = top_and_rest(shared_importance(values), len(first.features))  # all of them
    shown = first.display.shown or ()
    rows = []
    for j in order:
        feature = first.features[j]
        cells = []
        for (name, e), v in zip(explanations.items(), values[:, j], strict=True):
            scale = scales[name]
            share = 0.0 if scale <= 0 or not math.isfinite(v) else abs(v) / scale
            # signed: from the centred zero, half the cell each way; magnitudes: from the left
            width = 50 * share if e.signed else 100 * share
            sign = "mag" if not e.signed else "pos" if v >= 0 else "neg"
            left = 0.0 if sign == "mag" else 50.0 if sign == "pos" else 50.0 - width
            cells.append(
                {
                    "method": name,
                    "sign": sign,
                    "signed": e.signed,
                    "left": left,
                    "width": width,
                    "text": f"{v:+.3g}" if e.signed else f"{v:.3g}",
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
                       "height": image["height"], "input": False, "unsigned": not e.signed})
    return panels


def _legends(explanations: dict[str, Explanation]) -> list[dict[str, Any]]:
    """The colour legend of the signed methods and that of the unsigned ones (either may be
    missing)."""
    signed = [e for e in explanations.values() if e.signed]
    unsigned = [e for e in explanations.values() if not e.signed]
    scope = "each method on its own scale; "
    out = [legend(signed[0], scope=scope)] if signed else []
    if unsigned:
        out.append(legend(unsigned[0], scope=scope + "\u2020 " if signed else scope))
    return out


def _agreement_matrix(c: Comparison) -> dict[str, Any]:
    """``c.agreement_matrix()`` as heat-map cells: Spearman of the values for two signed
    methods, of |values| for a pair with an unsigned one, those cells marked."""
    with warnings.catch_warnings():  # displaying never warns: undefined shows as a dash
        warnings.simplefilter("ignore", UndefinedMeasureWarning)
        matrix = c.agreement_matrix("spearman")
        pairs = c.agreement()
    magnitudes = matrix.attrs["magnitudes"]
    explanations = c.explanations
    rows = []
    for i, a in enumerate(c.methods):
        cells = []
        for j, b in enumerate(c.methods):
            value = float(matrix.iloc[i, j])
            ok = math.isfinite(value)
            what = f"Spearman(|{a}|, |{b}|)" if magnitudes[i][j] else f"Spearman({a}, {b})"
            cells.append(
                {
                    "text": f"{value:.2f}" if ok else "\u2014",
                    "magnitudes": magnitudes[i][j],
                    "colour": colour(value, 1.0) if ok else "transparent",
                    "dark": text_colour(value, 1.0) if ok else "",
                    "title": f"{what} = {value:.3f}" if ok else "undefined",
                }
            )
        rows.append({"method": a, "signed": explanations[a].signed, "cells": cells})
    mixed = any(not e.signed for e in explanations.values())
    return {"rows": rows, "frame": _frame_rows(pairs), "mixed": mixed}


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
