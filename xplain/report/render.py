"""Render explanations to self-contained HTML with Jinja2 (autoescaped, no scripts).

How features are drawn comes from the explanation's :class:`~xplain.display.FeatureDisplay`
(given by the adapter), never from its modality: ``"tokens"`` as a token strip, ``"grid"``
as a heat map over the image, ``"bars"`` as bars in feature order, a kind registered with
:func:`register_display` by its renderer, and any other kind as bars sorted by |value|.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from xplain.errors import InvalidParameterError
from xplain.report._charts import show_value
from xplain.report._image import image_panels

if TYPE_CHECKING:
    from xplain.explanation import Explanation

_NEGATIVE = np.array([33, 102, 172])
_POSITIVE = np.array([178, 24, 43])
BUILT_IN_KINDS = ("tokens", "grid", "bars")
# a plugin's display kind -> renderer(explanation, scale) -> HTML (see register_display)
_RENDERERS: dict[str, Callable[[Explanation, float], str]] = {}


def register_display(kind: str, render: Callable[[Explanation, float], str]) -> None:
    """Draw the features of explanations whose ``display.kind`` is ``kind`` with ``render``.

    ``render(explanation, scale)`` returns an HTML fragment shown where the feature bars
    would be; ``scale`` is the largest |value| of the non-special features (the legend's
    end), :func:`colour` gives the report's diverging colour of a value. The fragment is
    inserted as it is: escape every string that comes from data (``markupsafe.escape``)
    and use no scripts. Kinds without a renderer are drawn as bars sorted by |value|.
    """
    if not isinstance(kind, str) or not kind or kind in BUILT_IN_KINDS:
        raise InvalidParameterError(
            f"register_display needs a new display kind (a non-empty string other than "
            f"{', '.join(map(repr, BUILT_IN_KINDS))}). Got {kind!r}."
        )
    if not callable(render):
        raise InvalidParameterError(
            f"register_display needs a function render(explanation, scale) -> HTML for "
            f"kind {kind!r}. Got {type(render).__name__}."
        )
    _RENDERERS[kind] = render


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


def display_token(
    token: str, continuation: str = "##", word_start: Sequence[str] = ("Ġ", "▁")
) -> str:
    """Readable text for a sub-word token: '##ing' -> 'ing', 'Ġword'/'▁word' -> ' word'.

    ``continuation`` and ``word_start`` are the tokenizer's markers (a display's options).
    """
    if continuation and token.startswith(continuation):
        return token[len(continuation) :]
    starts = [marker for marker in word_start if marker and token.startswith(marker)]
    if starts:
        return " " + token[len(starts[0]) :]
    return " " + token


def token_texts(e: Explanation) -> list[str]:
    """The explanation's tokens as a ``"tokens"`` display shows them (markers resolved)."""
    options: Mapping[str, Any] = e.display.options
    markers = {k: options[k] for k in ("continuation", "word_start") if k in options}
    return [display_token(token, **markers) for token in e.features]


def scale_of(e: Explanation) -> float:
    """The largest finite |value| of the explanation's non-special features (0 if none)."""
    values = np.abs(np.asarray(e.values, dtype=float))[~e._special_flags()]
    values = values[np.isfinite(values)]
    return float(values.max()) if len(values) else 0.0


def render_explanation(e: Explanation, *, full_page: bool = False) -> str:
    """The explanation as an HTML fragment (Jupyter) or a standalone page."""
    values = np.asarray(e.values, dtype=float)
    flags = e._special_flags()
    scale = scale_of(e)
    kind = e.display.kind
    image = image_panels(e, scale) if kind == "grid" else None
    custom = _RENDERERS.get(kind)
    layout = "tokens" if kind == "tokens" else "bars"
    if image is not None:
        layout = "grid"
    elif custom is not None:
        layout = "custom"
    texts = token_texts(e) if layout == "tokens" else list(e.features)
    shown = e.display.shown if e.display.shown is not None else ()
    order = range(len(values))
    if kind not in BUILT_IN_KINDS:  # a kind nobody draws: the largest values first
        order = np.argsort(-np.abs(values), kind="stable")
    cells: list[dict[str, Any]] = []
    for i in order if layout in ("tokens", "bars") else ():
        value, special = float(values[i]), bool(flags[i])
        cells.append(
            {
                "feature": e.features[i],
                "shown": show_value(shown[i]) if i < len(shown) else None,
                "text": texts[i],
                "value": value,
                "special": special,
                "colour": "transparent" if special else colour(value, scale),
                "width": 0.0 if scale == 0 else 100 * abs(value) / scale,
            }
        )
    diagnostics = [(k, _fmt(v)) for k, v in e.diagnostics.items()]
    body = environment().get_template("_explanation.html.j2").render(
        e=e,
        cells=cells,
        scale=scale,
        diagnostics=diagnostics,
        image=image,
        layout=layout,
        custom=Markup(custom(e, scale)) if custom is not None else None,
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
    if not path.parent.is_dir():
        raise InvalidParameterError(
            f"Cannot save the report to {str(path)!r}: the folder {str(path.parent)!r} does "
            "not exist. Create it first, or pass a path in an existing folder."
        )
    try:
        path.write_text(html, encoding="utf-8")
    except OSError as err:  # a folder in the way, no permission, a full disk...
        raise InvalidParameterError(
            f"Cannot save the report to {str(path)!r}: {err.strerror or err}."
        ) from err
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
