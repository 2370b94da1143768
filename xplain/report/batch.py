"""A report over many explanations of one method: global importance and a beeswarm.

>>> es = explainer.explain_batch(rows, method="kernel_shap")
>>> report = xplain.report.BatchReport(es)
>>> report.importance()            # DataFrame: feature, mean_abs, mean, count
>>> report.save_html("batch.html")  # or display ``report`` in Jupyter
>>> html = xplain.report.render_batch(es, full_page=True)
>>> xplain.report.save_batch_html(es, "batch.html")

What it shows, by the explanations' display kind (:mod:`xplain.display`, given by the
adapter):

* ``"tokens"``: features differ per instance, so global importance is aggregated by token
  string (mean |value| over its occurrences; special tokens such as ``[CLS]`` left out;
  the number of occurrences beside each bar). A beeswarm over tokens would mix unrelated
  positions, so instead each instance is shown as a heat row of its tokens;
* ``"grid"``: each instance's input and heat map, side by side;
* any other kind (``"bars"``, a plugin's own): the global importance of each feature (mean
  |attribution| over the instances, a bar chart) and a beeswarm (one dot per instance and
  feature, x = attribution, colour = the feature's shown value from low to high when
  numeric, grey otherwise), features ordered by global importance.

Both charts draw at most ``max_display`` rows, the last summing the other features (its
bar the sum of their mean |values|, its dots each instance's sum of their values), as
``xplain.plot.importance`` / ``beeswarm`` do (:mod:`xplain._ranking`).

Values are averaged as they are: mix explanations of one target class (pass
``target=`` to ``explain_batch``) for a global importance that means something.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from xplain._ranking import others_label, top_and_rest
from xplain._validation import positive_int
from xplain.errors import InvalidParameterError
from xplain.explanation import Explanation
from xplain.report._charts import bar_chart, beeswarm, fmt
from xplain.report._image import image_panels
from xplain.report.render import (
    environment,
    fragment,
    legend,
    page,
    save_page,
    token_cells,
    token_texts,
)


class BatchReport:
    """Explanations of many instances by one method, summarised as one HTML report.

    Parameters:
        explanations: Explanations of one method (a list, or an ``Explanations``).
        max_display: Most rows of each chart (>= 1), the "N other features" row included:
            the ``max_display - 1`` most important features (or tokens) first.
        max_instances: Instances shown one by one (text and image batches).
    """

    def __init__(
        self,
        explanations: Sequence[Explanation],
        *,
        max_display: int = 20,
        max_instances: int = 50,
    ) -> None:
        self.explanations = _validated(explanations)
        self.max_display = positive_int("max_display", max_display, "BatchReport")
        self.max_instances = positive_int("max_instances", max_instances, "BatchReport")

    @property
    def method(self) -> str:
        return self.explanations[0].method

    @property
    def modality(self) -> str:
        return self.explanations[0].modality

    @property
    def kind(self) -> str:
        """The display kind of the explanations (see :mod:`xplain.display`)."""
        return self.explanations[0].display.kind

    def __len__(self) -> int:
        return len(self.explanations)

    def __repr__(self) -> str:
        return (
            f"BatchReport(method={self.method!r}, modality={self.modality!r}, "
            f"n_instances={len(self)})"
        )

    def importance(self) -> pd.DataFrame:
        """Global importance: one row per feature (or token string), largest first.

        Columns ``feature``, ``mean_abs`` (mean |value| over the instances, or over the
        occurrences of a token), ``mean`` (signed) and ``count`` (values averaged).
        """
        values: dict[str, list[float]] = defaultdict(list)
        for e in self.explanations:
            flags = e._special_flags()
            for feature, value, special in zip(e.features, e.values, flags, strict=True):
                if not special:
                    values[feature].append(float(value))
        frame = pd.DataFrame(
            {
                "feature": list(values),
                "mean_abs": [float(np.mean(np.abs(v))) for v in values.values()],
                "mean": [float(np.mean(v)) for v in values.values()],
                "count": [len(v) for v in values.values()],
            }
        )
        frame = frame.sort_values("mean_abs", ascending=False, kind="stable")
        return frame.reset_index(drop=True)

    def to_html(self, *, full_page: bool = False) -> str:
        """Self-contained HTML (inline CSS and SVG, no scripts, every data string escaped)."""
        context: dict[str, Any] = {
            "r": self,
            "first": self.explanations[0],
            "targets": Counter(e.target_label for e in self.explanations).most_common(),
            "seconds": sum(e.seconds for e in self.explanations),
            "evals": sum(e.n_model_evals for e in self.explanations),
            "importance": None,
            "swarm": None,
            "instances": None,
            "panels": None,
            "legend": legend(self.explanations[0], scope="each instance on its own scale; ",
                             of_target=False),
        }
        by_token = self.kind == "tokens"
        context["by_token"] = by_token
        if self.kind == "grid":
            context["panels"] = self._panels()
        else:
            frame = self.importance()
            shown, rest = top_and_rest(frame["mean_abs"].to_numpy(), self.max_display)
            top, others = frame.iloc[shown], list(frame["feature"].iloc[rest])
            texts = list(top["feature"])
            if by_token:
                shown = {
                    f: t
                    for e in self.explanations
                    for f, t in zip(e.features, token_texts(e), strict=True)
                }
                texts = [shown[f].strip() or f for f in texts]
            notes = [f"\u00d7{n}" for n in top["count"]] if by_token else None
            heights = list(top["mean_abs"])
            if others:
                texts.append(others_label(len(others)))
                heights.append(float(frame["mean_abs"].iloc[rest].sum()))
                notes = None if notes is None else [*notes, ""]
            context["importance"] = bar_chart(texts, heights, notes)
            context["n_shown"], context["n_other"] = len(top), len(others)
            if by_token:
                context["instances"] = self._token_rows()
            else:
                context["swarm"] = self._beeswarm(list(top["feature"]), others)
        body = environment().get_template("_batch.html.j2").render(**context)
        title = f"xplain: {self.method} over {len(self)} instances"
        return page(title, body) if full_page else fragment(body)

    def _repr_html_(self) -> str:
        return self.to_html()

    def save_html(self, path: str | Path) -> Path:
        """Write a standalone HTML page and return its path."""
        return save_page(path, self.to_html(full_page=True))

    # -- pieces --------------------------------------------------------------------------
    def _beeswarm(self, features: list[str], others: list[str]) -> dict[str, Any]:
        """One row per feature of ``features``, then (if any) one row of each instance's
        sum over ``others`` (grey: no feature value)."""
        attributions, raw = [], []
        for feature in features:
            a, v = [], []
            for e in self.explanations:
                if feature in e.features:
                    j = e.features.index(feature)
                    a.append(float(e.values[j]))
                    shown = e.display.shown or ()
                    v.append(shown[j] if j < len(shown) else None)
            attributions.append(np.asarray(a))
            raw.append(v)
        labels = list(features)
        if others:
            rest = set(others)
            sums = [sum(float(v) for f, v, special in zip(e.features, e.values,
                                                         e._special_flags(), strict=True)
                        if f in rest and not special)
                    for e in self.explanations]
            labels.append(others_label(len(others)))
            attributions.append(np.asarray(sums))
            raw.append([None] * len(sums))
        return beeswarm(labels, attributions, raw, signed=self.explanations[0].signed)

    def _token_rows(self) -> list[dict[str, Any]]:
        rows = []
        for i, e in enumerate(self.explanations[: self.max_instances]):
            flags = e._special_flags()
            values = np.asarray(e.values, dtype=float)
            scale = float(np.max(np.abs(values[~flags]))) if (~flags).any() else 0.0
            rows.append({"index": i, "target": e.target_label, "scale": fmt(scale),
                         "cells": token_cells(e, scale)})
        return rows

    def _panels(self) -> list[dict[str, Any]]:
        panels = []
        for i, e in enumerate(self.explanations[: self.max_instances]):
            flags = e._special_flags()
            values = np.abs(np.asarray(e.values, dtype=float))[~flags]
            image = image_panels(e, float(values.max()) if len(values) else 0.0)
            if image is not None:
                panels.append({"index": i, "target": e.target_label, **image})
        return panels


def render_batch(
    explanations: Sequence[Explanation],
    *,
    full_page: bool = False,
    max_display: int = 20,
    max_instances: int = 50,
) -> str:
    """HTML of :class:`BatchReport` (a fragment for Jupyter, or a standalone page).

    Parameters:
        explanations: Explanations of one method.
        full_page: A standalone page (True) or a fragment for Jupyter.
        max_display: Most rows of each chart, the "N other features" row included.
        max_instances: Instances shown one by one (text and image batches).
    """
    report = BatchReport(explanations, max_display=max_display, max_instances=max_instances)
    return report.to_html(full_page=full_page)


def save_batch_html(
    explanations: Sequence[Explanation],
    path: str | Path,
    *,
    max_display: int = 20,
    max_instances: int = 50,
) -> Path:
    """Write :class:`BatchReport` as a standalone page and return its path.

    Parameters:
        explanations: Explanations of one method.
        path: The file to write; its folder must exist.
        max_display: Most rows of each chart, the "N other features" row included.
        max_instances: Instances shown one by one (text and image batches).
    """
    report = BatchReport(explanations, max_display=max_display, max_instances=max_instances)
    return report.save_html(path)


def _validated(explanations: Sequence[Explanation]) -> list[Explanation]:
    if isinstance(explanations, Explanation | str) or not isinstance(explanations, Sequence):
        raise InvalidParameterError(
            "The 'explanations' parameter of BatchReport must be a list of Explanations, as "
            f"returned by Explainer.explain_batch. Got {type(explanations).__name__}."
        )
    items = list(explanations)
    wrong = [type(e).__name__ for e in items if not isinstance(e, Explanation)]
    if not items or wrong:
        got = f"a list holding {wrong[0]}" if wrong else "an empty list"
        raise InvalidParameterError(
            "The 'explanations' parameter of BatchReport must be a non-empty list of "
            f"Explanations. Got {got}."
        )
    for name, read in (("method", lambda e: e.method), ("display kind",
                                                       lambda e: e.display.kind)):
        kinds = sorted({read(e) for e in items})
        if len(kinds) > 1:
            raise InvalidParameterError(
                f"BatchReport summarises explanations of one {name}; got {', '.join(kinds)}. "
                "Make one report per method and kind of input (or compare methods with "
                "Explainer.compare)."
            )
    return items
