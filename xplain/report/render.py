"""Render explanations to self-contained HTML with Jinja2 (autoescaped, no scripts).

How features are drawn comes from the explanation's :class:`~xplain.display.FeatureDisplay`
(given by the adapter), never from its modality: ``"tokens"`` as a token strip, ``"grid"``
as a heat map over the image, a kind registered with :func:`register_display` by its
renderer, and ``"bars"`` or any other kind as bars sorted by |value| (at most
``max_display`` rows, the last summing the others; :mod:`xplain.report._bars`).
An explanation with ``interactions`` (tree_shap's) also shows them as a matrix over the
features of the bars view (:mod:`xplain.report._interactions`).

Signed values (``Explanation.signed``) are coloured on a diverging scale, -max..+max (blue
lowers, red raises the explained score); magnitudes (saliency's |gradient|, Grad-CAM's
ReLU'd map) on a sequential one, 0..max (white to purple), with a legend saying which.
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

from xplain._scores import base_value_source, explained_score, output_words
from xplain._validation import positive_int
from xplain.errors import InvalidParameterError
from xplain.report._bars import feature_bars
from xplain.report._image import image_panels
from xplain.report._interactions import interaction_table

if TYPE_CHECKING:
    from xplain.explanation import Explanation

_NEGATIVE = np.array([33, 102, 172])
_POSITIVE = np.array([178, 24, 43])
_MAGNITUDE = np.array([84, 39, 143])  # the sequential scale's end, for unsigned values
MAX_DISPLAY = 10  # most rows of the bars view, the "N other features" row included
LONG_TOKEN = 30  # characters: a longer token may wrap inside (it would not fit a line)
ARRAY_ITEMS = 8  # numbers of a diagnostic array shown before "... (n values)"
BUILT_IN_KINDS = ("tokens", "grid", "bars")
# a plugin's display kind -> renderer(explanation, scale) -> HTML (see register_display)
_RENDERERS: dict[str, Callable[[Explanation, float], str]] = {}


def register_display(kind: str, render: Callable[[Explanation, float], str]) -> None:
    """Draw the features of explanations whose ``display.kind`` is ``kind`` with ``render``.

    ``render(explanation, scale)`` returns an HTML fragment shown where the feature bars
    would be; ``scale`` is the largest |value| of the non-special features (the legend's
    end), ``colour(value, scale, signed=explanation.signed)`` gives the report's colour of
    a value. The fragment is
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
    env.filters["output_words"] = output_words
    return env


@lru_cache(maxsize=1)
def stylesheet() -> str:
    return resources.files("xplain.report").joinpath("static/xplain.css").read_text("utf-8")


def colour(value: float, scale: float, signed: bool = True) -> str:
    """The colour of ``value`` on a scale reaching ``scale``.

    ``signed``: diverging, blue for negative, white at 0, red for positive (-scale..scale);
    else sequential, white at 0 to purple at ``scale`` (a magnitude: larger = more
    important, no direction).
    """
    t = 0.0 if scale <= 0 else float(np.clip(abs(value) / scale, 0.0, 1.0))
    end = _MAGNITUDE if not signed else _POSITIVE if value >= 0 else _NEGATIVE
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


def token_cells(e: Explanation, scale: float) -> list[dict[str, Any]]:
    """One cell per token of a ``"tokens"`` display, as the templates draw it.

    A token's leading space (a word start) goes before its coloured box (``space``), so
    that lines break between words and never inside a token or a word of sub-words.
    """
    flags = e._special_flags()
    values = np.asarray(e.values, dtype=float)
    cells = []
    for feature, text, value, special in zip(e.features, token_texts(e), values, flags,
                                             strict=True):
        word = text.lstrip()
        cells.append(
            {
                "space": text[: len(text) - len(word)],
                "text": word,
                "title": f"{feature}: {value:+.4g}" if e.signed else f"{feature}: {value:.4g}",
                "special": bool(special),
                "long": len(word) > LONG_TOKEN,
                "colour": "transparent" if special else colour(value, scale, e.signed),
                "dark": "" if special else text_colour(value, scale),
            }
        )
    return cells


def legend(e: Explanation, low: str | None = None, high: str | None = None,
           scope: str = "", of_target: bool = True) -> dict[str, Any]:
    """The colour legend of ``e``'s scale: its ends and what the colours mean.

    ``low`` / ``high`` default to -max/+max (signed) or 0/max (magnitudes); ``scope``
    prefixes the caption (e.g. ``"each method on its own scale; "``); ``of_target``
    names ``e``'s target class in it (not for a batch of several targets).
    """
    if e.signed:
        of = f" of {e.target_label}" if of_target else ""
        caption = f"blue lowers, red raises the {output_words(e.output)}{of}"
        return {"signed": True, "low": low or "\u2212max", "high": high or "+max",
                "caption": scope + caption}
    caption = "magnitude (unsigned: larger = more important)"
    return {"signed": False, "low": "0", "high": high or "max", "caption": scope + caption}


def scale_of(e: Explanation) -> float:
    """The largest finite |value| of the explanation's non-special features (0 if none)."""
    values = np.abs(np.asarray(e.values, dtype=float))[~e._special_flags()]
    values = values[np.isfinite(values)]
    return float(values.max()) if len(values) else 0.0


def render_explanation(
    e: Explanation, *, full_page: bool = False, max_display: int = MAX_DISPLAY
) -> str:
    """The explanation as an HTML fragment (Jupyter) or a standalone page.

    Parameters:
        e: The explanation.
        full_page: A standalone page (True) or a fragment with its stylesheet (Jupyter).
        max_display: Most rows of the bars view (>= 1), the "N other features" row
            included, as ``Explanation.plot``; token strips and images show every feature.
    """
    max_display = positive_int("max_display", max_display, "to_html")
    scale = scale_of(e)
    kind = e.display.kind
    image = image_panels(e, scale) if kind == "grid" else None
    custom = _RENDERERS.get(kind)
    layout = "tokens" if kind == "tokens" else "bars"
    if image is not None:
        layout = "grid"
    elif custom is not None:
        layout = "custom"
    converged = e.diagnostics.get("converged")
    pairs = interaction_table(e, max_display, lambda v, s: colour(v, s, e.signed), text_colour)
    body = environment().get_template("_explanation.html.j2").render(
        e=e,
        cells=token_cells(e, scale) if layout == "tokens" else None,
        bars=feature_bars(e, max_display) if layout == "bars" else None,
        legend=_legend_of(e, scale),
        diagnostics=[(k, _fmt(v), _warns(k, v)) for k, v in e.diagnostics.items()],
        not_converged=_warns("converged", converged),
        base=e.base_value,
        base_source=base_value_source(e),
        score=explained_score(e),
        image=image,
        layout=layout,
        custom=Markup(custom(e, scale)) if custom is not None else None,
        pairs=pairs,
        pairs_legend=None if pairs is None else _legend_of(e, pairs["scale"], "the matrix"),
    )
    return page(f"xplain: {e.method}", body) if full_page else fragment(body)


def _legend_of(e: Explanation, scale: float, scope: str = "") -> dict[str, Any]:
    """The legend of ``e``'s scale reaching ``scale`` (its ends as numbers); ``scope``
    names a part drawn on its own scale (the interaction matrix)."""
    high = f"{scale:+.3g}" if e.signed else f"{scale:.3g}"
    return legend(e, f"{-scale:+.3g}", high, f"{scope} on its own scale; " if scope else "")


def _warns(key: str, value: Any) -> bool:
    """Whether a diagnostic is a warning: text was truncated, the values do not add up
    as the method promises, an estimate did not converge."""
    if key == "converged":
        return value is not None and not bool(value)
    return key in ("truncated", "completeness_note") and bool(value)


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
    """A parameter or diagnostic as shown: floats to 4 digits, arrays as lists of numbers
    (the first ``ARRAY_ITEMS``, then how many there are), so that an explanation restored
    by ``Explanation.from_dict`` (arrays as lists) shows the same; never a numpy repr."""
    if isinstance(value, float | np.floating):
        return f"{float(value):.4g}"
    if isinstance(value, np.integer | np.bool_):
        return str(value.item())
    if isinstance(value, np.ndarray | list | tuple):
        items = np.asarray(value, dtype=object).ravel()
        shown = ", ".join(_fmt(v) for v in items[:ARRAY_ITEMS])
        if len(items) > ARRAY_ITEMS:
            return f"[{shown}, \u2026] ({len(items)} values)"
        return f"[{shown}]"
    return str(value)


def render_document(title: str, sections: list[tuple[str, list[Any]]]) -> str:
    """A standalone page with titled sections (used by the demo and CLI).

    A section's items are anything with ``to_html()`` (Explanations, Comparisons,
    BatchReports) or ``(heading, items)`` pairs: one sub-section each, e.g. one per
    instance, under its own heading. Every heading is escaped.
    """
    body = "".join(_section(heading, items, 1) for heading, items in sections)
    return page(title, f'<div class="xplain xplain-document">{body}</div>')


def _section(heading: str, items: Sequence[Any], level: int) -> str:
    parts = []
    for item in items:
        if isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str):
            parts.append(_section(item[0], item[1], level + 1))
        else:
            parts.append(item.to_html())
    template = environment().from_string(
        '<section{% if level > 1 %} class="instance"{% endif %}><h{{ level }}>{{ heading }}'
        "</h{{ level }}>{{ body }}</section>"
    )
    return template.render(level=level, heading=heading, body=Markup("".join(parts)))
