"""Every report in headless Chromium: loads offline without errors, shows what it should,
fits its boxes, never runs injected markup; a PNG screenshot of each lands in tmp_path.

Driven by Playwright for Python over Debian's /usr/bin/chromium (see conftest).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from report_payloads import COLUMN, TOKEN

from xplain.report import BatchReport

# every element of a report whose content must fit inside it, and the report root's own box
OVERFLOW_JS = """
(selector) => {
  const found = [];
  const page = document.documentElement;
  if (page.scrollWidth > page.clientWidth) {
    found.push(`page: ${page.scrollWidth} > ${page.clientWidth}`);
  }
  for (const root of document.querySelectorAll('.xplain')) {
    const box = root.getBoundingClientRect();
    for (const el of root.querySelectorAll(selector)) {
      const r = el.getBoundingClientRect();
      if (el.scrollWidth > el.clientWidth + 1) {
        found.push(`${el.tagName}.${el.className.baseVal ?? el.className}: ` +
                   `scrollWidth ${el.scrollWidth} > clientWidth ${el.clientWidth}`);
      }
      if (r.width > 0 && (r.right > box.right + 1 || r.left < box.left - 1)) {
        found.push(`${el.tagName}.${el.className.baseVal ?? el.className} leaves the report`);
      }
    }
  }
  return found;
}
"""
CONTAINERS = (
    "section, div, table, td, th, figure, svg, details, ol, li, span.tok, img"
)


def check(loaded, shot: Path, selector: str = CONTAINERS) -> None:
    """No console error, dialog, request or injected flag; nothing overflows; a screenshot."""
    page = loaded.page
    page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
    assert loaded.errors == []
    assert loaded.dialogs == []  # alert(1) never ran
    assert loaded.requests == []  # nothing but file: and data: URLs
    assert page.evaluate("typeof window.__xss") == "undefined"
    assert page.evaluate("document.querySelectorAll('script').length") == 0
    assert page.evaluate(OVERFLOW_JS, selector) == []
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 1000


def count(page, selector: str) -> int:
    return page.evaluate("(s) => document.querySelectorAll(s).length", selector)


def texts(page, selector: str) -> list[str]:
    return page.evaluate("(s) => [...document.querySelectorAll(s)].map(e => e.textContent)",
                         selector)


# -- explanations ----------------------------------------------------------------------------
def test_text_explanation(open_report, text_explanation, tmp_path):
    loaded = open_report(text_explanation.save_html(tmp_path / "explanation-text.html"))
    assert count(loaded.page, ".xplain .tokens .tok") == len(text_explanation.features)
    assert TOKEN in " ".join(texts(loaded.page, ".tok"))  # shown as text, not run
    check(loaded, tmp_path / "explanation-text.png")


def test_tabular_explanation(open_report, tabular_explanation, tmp_path):
    loaded = open_report(tabular_explanation.save_html(tmp_path / "explanation-tabular.html"))
    assert count(loaded.page, "table.bars tr") == len(tabular_explanation.features)
    assert COLUMN in texts(loaded.page, "table.bars th.feature")
    # the row's own values next to their columns, the hostile category as text
    shown = texts(loaded.page, "table.bars td.v")
    assert len(shown) == len(tabular_explanation.features) and TOKEN in shown
    check(loaded, tmp_path / "explanation-tabular.png")


def test_image_explanation(open_report, image_explanation, tmp_path):
    loaded = open_report(image_explanation.save_html(tmp_path / "explanation-image.html"))
    widths = loaded.page.evaluate("[...document.images].map(i => i.complete && i.naturalWidth)")
    assert len(widths) == 2 and all(w >= 192 for w in widths)  # both PNGs decoded
    check(loaded, tmp_path / "explanation-image.png")


# -- comparisons -----------------------------------------------------------------------------
# per method row: each token's text, x and line (its top relative to the row's)
ALIGNMENT_JS = """
() => [...document.querySelectorAll('tr.heat-row')].map(row => {
  const top = row.cells[1].getBoundingClientRect().top;
  return [...row.querySelectorAll('span.tok')].map(t => {
    const r = t.getBoundingClientRect();
    return [t.textContent, Math.round(r.left), Math.round(r.top - top)]; }); })
"""


@pytest.mark.parametrize("width", [1100, 640])
def test_text_comparison(open_report, hostile_text_comparison, text_comparison, tmp_path, width):
    for name, comparison in (("plain", text_comparison), ("hostile", hostile_text_comparison)):
        path = comparison.save_html(tmp_path / f"comparison-text-{name}.html")
        loaded = open_report(path, width=width)
        page = loaded.page
        rows = page.evaluate(ALIGNMENT_JS)
        n = len(comparison.methods)
        assert len(rows) == n  # one flowing row per method
        assert all(row == rows[0] for row in rows)  # same token, same x, same line
        assert len(rows[0]) == len(comparison.features)
        assert count(page, "table.matrix td.cell") == n * n
        if name == "plain":
            assert count(page, "table.metrics tr") == n + 1
            assert count(page, "table.metrics td.best") >= 3
            check(loaded, tmp_path / f"comparison-text-{width}.png",
                  CONTAINERS if width > 700 else ".attributions, .attributions *")
        else:
            assert TOKEN in [t.strip() for t in texts(page, "tr.heat-row .tok")]
            check(loaded, tmp_path / f"comparison-text-hostile-{width}.png",
                  CONTAINERS if width > 700 else ".attributions, .attributions *")


def test_tabular_comparison(open_report, tabular_comparison, tmp_path):
    path = tmp_path / "comparison-tabular.html"
    loaded = open_report(tabular_comparison.save_html(path, evaluate=True))  # metrics asked for
    page = loaded.page
    d, n = len(tabular_comparison.features), len(tabular_comparison.methods)
    assert count(page, "tr.feature-row") == d
    assert count(page, "tr.feature-row .dbar .bar") == d * n  # one bar per feature and method
    features = page.evaluate(
        "[...document.querySelectorAll('tr.feature-row th.feature')].map(t => t.title)"
    )
    assert COLUMN in features and sorted(features) == sorted(tabular_comparison.features)
    # every method's bars of a feature sit on one row, their zero lines in one column each
    tops = page.evaluate(
        "[...document.querySelectorAll('tr.feature-row')].map(r => [...r.querySelectorAll("
        "'.dbar')].map(b => Math.round(b.getBoundingClientRect().top)))"
    )
    assert all(len(set(row)) == 1 for row in tops)
    assert count(page, "table.matrix td.cell") == n * n
    assert count(page, "table.metrics tr") == n + 1
    check(loaded, tmp_path / "comparison-tabular.png")


def test_image_comparison(open_report, image_comparison, tmp_path):
    loaded = open_report(image_comparison.save_html(tmp_path / "comparison-image.html"))
    page = loaded.page
    assert count(page, ".panels figure") == 1 + len(image_comparison.methods)
    widths = page.evaluate("[...document.images].map(i => i.complete && i.naturalWidth)")
    assert all(w >= 192 for w in widths)
    tops = page.evaluate("[...document.images].map(i => i.getBoundingClientRect().top)")
    assert len(set(tops)) == 1  # side by side
    check(loaded, tmp_path / "comparison-image.png")


# -- batches ---------------------------------------------------------------------------------
def test_tabular_batch(open_report, tabular_batch, tmp_path):
    report = BatchReport(tabular_batch)
    loaded = open_report(report.save_html(tmp_path / "batch-tabular.html"))
    page = loaded.page
    d = len(tabular_batch[0].features)
    assert count(page, "svg.bar-chart rect.bar") == d
    assert count(page, "svg.beeswarm circle.dot") == d * len(tabular_batch)
    widths = page.evaluate(
        "[...document.querySelectorAll('svg.bar-chart rect.bar')].map(r => r.getBBox().width)"
    )
    assert widths == sorted(widths, reverse=True) and widths[0] > 0
    inside = page.evaluate(
        """() => [...document.querySelectorAll('svg.beeswarm')].every(svg => {
             const box = svg.getBoundingClientRect();
             return [...svg.querySelectorAll('circle, text')].every(c => {
               const r = c.getBoundingClientRect();
               return r.left >= box.left - 1 && r.right <= box.right + 1
                 && r.top >= box.top - 1 && r.bottom <= box.bottom + 1; }); })"""
    )
    assert inside  # no dot or label drawn outside the chart
    check(loaded, tmp_path / "batch-tabular.png")


def test_text_batch(open_report, text_batch, tmp_path):
    report = BatchReport(text_batch)
    loaded = open_report(report.save_html(tmp_path / "batch-text.html"))
    page = loaded.page
    assert count(page, "li.instance") == len(text_batch)
    assert count(page, "svg.bar-chart rect.bar") == min(20, len(report.importance()))
    assert count(page, "svg.beeswarm") == 0
    check(loaded, tmp_path / "batch-text.png")
