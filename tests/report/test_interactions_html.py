"""tree_shap's interaction values in the HTML report: a heat-map table over the features of
the bars view, in their order, with left-out columns summed and every name escaped."""

from __future__ import annotations

import dataclasses
import re
from html.parser import HTMLParser

import numpy as np
import pandas as pd
import pytest
from report_payloads import ATTRIBUTE, COLUMN

import xplain
from xplain.explanation import Explanation
from xplain.report.render import colour

LONG = "hours per week worked (self-reported)"


class _Tables(HTMLParser):
    """Every ``<table class=...>`` of a page: its header cells and body rows, as text and
    attributes (entities unescaped, as a browser shows them)."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, dict] = {}
        self._table: dict | None = None
        self._cell: dict | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "table":
            self._table = self.tables.setdefault(attrs.get("class", ""), {"head": [], "rows": []})
        elif self._table is not None and tag == "tr":
            self._table["rows"].append([])
        elif self._table is not None and tag in ("th", "td"):
            self._cell = {"tag": tag, "text": "", **attrs}
            self._table["rows"][-1].append(self._cell)

    def handle_endtag(self, tag):
        if tag == "table":
            self._table = None
        elif tag in ("th", "td"):
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell["text"] += data


def tables(html: str) -> dict[str, dict]:
    parser = _Tables()
    parser.feed(html)
    return parser.tables


def matrix_of(html: str) -> tuple[list[str], list[str], list[list[dict]]]:
    """(column names, row names, body cells without the row header) of the interaction table."""
    rows = tables(html)["interactions"]["rows"]
    columns = [c["text"] for c in rows[0][1:]]
    return columns, [r[0]["text"] for r in rows[1:]], [r[1:] for r in rows[1:]]


@pytest.fixture(scope="module")
def forest_table() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    names = [COLUMN, ATTRIBUTE, LONG] + [f"f{i}" for i in range(9)]
    return pd.DataFrame(rng.normal(size=(200, 12)), columns=names)


@pytest.fixture(scope="module")
def pairs(forest_table) -> Explanation:
    """A forest's tree_shap explanation of 12 features, with interaction values."""
    from sklearn.ensemble import RandomForestRegressor

    X = forest_table
    y = 2 * X[COLUMN] * X[ATTRIBUTE] + X[LONG] + 0.7 * X["f0"] * X["f1"] + 0.3 * X["f2"]
    model = RandomForestRegressor(n_estimators=10, max_depth=5, random_state=0).fit(X, y)
    explainer = xplain.Explainer(model, data=X.iloc[:20])
    return explainer.explain(X.iloc[3], "tree_shap", interactions=True)


def _top(e: Explanation, k: int) -> np.ndarray:
    return np.argsort(-np.abs(e.values), kind="stable")[:k]


def test_the_cells_are_the_matrix_entries_of_the_top_features_in_the_bars_order(pairs):
    e = pairs
    html = e.to_html(max_display=6)
    columns, rows, cells = matrix_of(html)
    top = _top(e, 5)  # 6 rows of bars: 5 features and "7 other features"
    names = [e.features[i] for i in top]
    assert columns[:-1] == names and rows == names
    assert columns[-1] == "7 other features"
    bars = [r[0]["text"] for r in tables(html)["bars"]["rows"]]
    assert bars[:-1] == names  # the same features, in the same order, as the bars view
    rest = np.setdiff1d(np.arange(12), top)
    for r, i in enumerate(top):
        shown = [float(c["text"]) for c in cells[r][:-1]]
        np.testing.assert_allclose(shown, e.interactions[i, top], rtol=5e-3, atol=1e-12)
        assert cells[r][-1]["class"] == "other"
        assert float(cells[r][-1]["text"]) == pytest.approx(e.interactions[i, rest].sum(),
                                                            rel=5e-3, abs=1e-12)
        # with the left-out sum, the row adds up to the feature's value
        total = e.interactions[i, top].sum() + e.interactions[i, rest].sum()
        assert total == pytest.approx(e.values[i], abs=1e-9)
        diagonal = [c for c in cells[r] if "diagonal" in c.get("class", "")]
        assert diagonal == [cells[r][r]]


def test_the_colours_are_the_report_s_diverging_scale(pairs):
    e = pairs
    columns, _, cells = matrix_of(e.to_html(max_display=6))
    top = _top(e, 5)
    shown = e.interactions[np.ix_(top, top)]
    scale = np.abs(shown).max()
    for r in range(5):
        for c in range(5):
            assert cells[r][c]["style"] == f"background: {colour(shown[r, c], scale)}"
    strongest = np.unravel_index(np.abs(shown).argmax(), shown.shape)
    end = "rgb(178, 24, 43)" if shown[strongest] > 0 else "rgb(33, 102, 172)"
    assert end in cells[strongest[0]][strongest[1]]["style"]
    assert "dark" in cells[strongest[0]][strongest[1]]["class"]  # white text on it


def test_every_feature_is_shown_when_max_display_covers_them(pairs):
    e = pairs
    html = e.to_html(max_display=12)
    columns, rows, cells = matrix_of(html)
    order = _top(e, 12)
    assert rows == columns == [e.features[i] for i in order]  # no "other" column
    sums = [sum(float(c["title"].rsplit(": ", 1)[1]) for c in row) for row in cells]
    np.testing.assert_allclose(sums, e.values[order], atol=1e-3)
    assert "left out" not in html.split('class="interactions"', 1)[1].split("</section>")[0]


def test_the_caption_says_what_the_cells_are_and_how_many_features_are_left_out(pairs):
    for max_display, left_out in ((6, "7 other features"), (12, None), (11, "2 other features")):
        html = pairs.to_html(max_display=max_display)
        section = html.split('<section class="interactions">', 1)[1].split("</section>", 1)[0]
        caption = re.sub(r"<[^>]+>", "", section.split('<p class="note">', 1)[1].split("</p>")[0])
        assert "main effect" in caption and "half of its pair's interaction" in caption
        if left_out is None:
            assert "left out" not in caption
        else:
            assert f"{left_out} left out" in caption


def test_hostile_feature_names_are_escaped(pairs):
    html = pairs.to_html(full_page=True, max_display=12)
    for name in (COLUMN, ATTRIBUTE):
        assert name not in html
    columns, rows, _ = matrix_of(html)
    assert {COLUMN, ATTRIBUTE} <= set(columns) and {COLUMN, ATTRIBUTE} <= set(rows)
    section = html.split('<section class="interactions">', 1)[1].split("</section>", 1)[0]
    assert "&lt;img src=x onerror=alert(1)&gt;" in section
    assert "<script" not in html.lower() and "onerror=" not in re.sub(r"&lt;.*?&gt;", "", html)


def test_without_interactions_the_report_is_as_before(pairs):
    plain = dataclasses.replace(pairs, interactions=None)
    without = plain.to_html(max_display=6)
    assert "Interaction values" not in without and 'class="interactions"' not in without
    with_pairs = pairs.to_html(max_display=6)
    section = re.search(r'  <section class="interactions">.*?</section>\n', with_pairs,
                        flags=re.S)
    assert section is not None
    assert with_pairs.replace(section.group(0), "") == without  # the section is all it adds


def test_a_restored_explanation_shows_the_same_matrix(pairs):
    restored = Explanation.from_dict(pairs.to_dict())
    assert restored.to_html(max_display=6) == pairs.to_html(max_display=6)


def test_the_matrix_fits_at_800px_and_scrolls_inside_its_box(open_report, pairs, tmp_path):
    loaded = open_report(pairs.save_html(tmp_path / "pairs.html", max_display=12), width=800)
    page = loaded.page
    box = page.evaluate(
        "(() => { const s = document.querySelector('table.interactions').parentElement,"
        " r = s.getBoundingClientRect(), x = s.closest('.xplain').getBoundingClientRect();"
        " return {cls: s.className, scroll: s.scrollWidth, client: s.clientWidth,"
        " right: r.right, report: x.right, page: document.documentElement.scrollWidth,"
        " view: window.innerWidth}; })()"
    )
    assert box["cls"] == "scroll"
    assert box["scroll"] > box["client"]  # 12 columns are wider than 800 px: it scrolls...
    assert box["right"] <= box["report"] + 0.5  # ...inside its box, within the report
    assert box["page"] <= box["view"]  # and the page itself does not scroll sideways
    outside = page.evaluate(
        "(() => { const x = document.querySelector('.xplain').getBoundingClientRect();"
        " return [...document.querySelectorAll('.xplain *')].filter(el =>"
        " !el.closest('.scroll') && el.getBoundingClientRect().width > 0 &&"
        " el.getBoundingClientRect().right > x.right + 0.5).map(el => el.tagName +"
        " '.' + el.className); })()"
    )
    assert outside == []
    heights = page.evaluate(
        "[...document.querySelectorAll('table.interactions td.cell')].map(c =>"
        " c.getBoundingClientRect().height)"
    )
    assert len(heights) == 144 and max(heights) < 40  # numbers never wrap inside a cell
    assert loaded.dialogs == [] and loaded.errors == []
    assert page.evaluate("window.__xss === undefined")
