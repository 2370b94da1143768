"""Render explanations to self-contained HTML with Jinja2 (autoescaped, no scripts)."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from xplain.report._charts import show_value
from xplain.report._image import image_panels

if TYPE_CHECKING:
    from xplain.explanation import Explanation

_NEGATIVE = np.array([33, 102, 172])
_POSITIVE = np.array([178, 24, 43])


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("xplain.report", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["fmt_value"] = _fmt  # params and diagnostics
    return env


@lru_cache(maxsize=1)
def stylesheet() -> str:
    return resources.files("xplain.report").joinpath("static/xplain.css").read_text("utf-8")


def colour(value: float, scale: float) -> str:
    """Diverging colour: blue for negative, white at 0, red for positive."""
    t = 0.0 if scale <= 0 else float(np.clip(abs(value) / scale, 0.0, 1.0))
    end = _POSITIVE if value >= 0 else _NEGATIVE
    rgb = np.round(255 + t * (end - 255)).astype(int)
    return f"rgb({rgb[0]}, {rgb[1]}, {rgb[2]})"


def display_token(token: str) -> str:
    """Readable text for a sub-word token: '##ing' -> 'ing', 'Ġword'/'▁word' -> ' word'."""
    if token.startswith("##"):
        return token[2:]
    if token[:1] in ("Ġ", "▁"):
        return " " + token[1:]
    return " " + token


def render_explanation(e: Explanation, *, full_page: bool = False) -> str:
    """The explanation as an HTML fragment (Jupyter) or a standalone page."""
    values = np.asarray(e.values, dtype=float)
    flags = e.to_frame()["special"].to_numpy()
    scale = float(np.max(np.abs(values[~flags]))) if (~flags).any() else 0.0
    image = image_panels(e, scale) if e.modality == "image" else None
    rows = zip(e.features, values, flags, strict=True) if image is None else ()
    shown = e.instance if e.modality == "tabular" and isinstance(e.instance, dict) else {}
    cells: list[dict[str, Any]] = []
    for feature, value, special in rows:
        cells.append(
            {
                "feature": feature,
                "shown": show_value(shown[feature]) if feature in shown else None,
                "text": display_token(feature) if e.modality == "text" else feature,
                "value": float(value),
                "special": bool(special),
                "colour": "transparent" if special else colour(value, scale),
                "width": 0.0 if scale == 0 else 100 * abs(value) / scale,
            }
        )
    diagnostics = [(k, _fmt(v)) for k, v in e.diagnostics.items()]
    body = environment().get_template("_explanation.html.j2").render(
        e=e, cells=cells, scale=scale, diagnostics=diagnostics, image=image
    )
    return page(f"xplain: {e.method}", body) if full_page else fragment(body)


def fragment(body: str) -> str:
    """Rendered (already escaped) ``body`` with the stylesheet, for Jupyter."""
    return f"<style>{stylesheet()}</style>{body}"


def page(title: str, body: str) -> str:
    """A standalone HTML page around rendered (already escaped) ``body``; ``title`` is escaped."""
    return environment().get_template("page.html.j2").render(
        title=title, css=Markup(stylesheet()), body=Markup(body)
    )


def save_page(path: str | Path, html: str) -> Path:
    """Write a standalone page ``html`` to ``path`` (UTF-8) and return the path."""
    path = Path(path)
    path.write_text(html, encoding="utf-8")
    return path


def text_colour(value: float, scale: float) -> str:
    """``"dark"`` where :func:`colour` is so saturated that white text reads better."""
    return "dark" if scale > 0 and abs(value) / scale > 0.6 else ""


def _fmt(value: Any) -> str:
    """A parameter or diagnostic as shown: floats to 4 digits, arrays as lists, so that an
    explanation restored by ``Explanation.from_dict`` (arrays as lists) shows the same."""
    if isinstance(value, float | np.floating):
        return f"{float(value):.4g}"
    if isinstance(value, np.ndarray | list | tuple):
        return "[" + ", ".join(_fmt(v) for v in np.asarray(value, dtype=object).ravel()) + "]"
    return str(value)


def render_document(title: str, sections: list[tuple[str, list[Any]]]) -> str:
    """A standalone page with titled sections (used by the demo and CLI).

    A section's items are anything with ``to_html()``: Explanations, Comparisons,
    BatchReports.
    """
    parts = []
    for heading, items in sections:
        body = "".join(item.to_html() for item in items)
        parts.append(
            environment().from_string("<section><h1>{{ h }}</h1>{{ body }}</section>").render(
                h=heading, body=Markup(body)
            )
        )
    return page(title, "".join(parts))
