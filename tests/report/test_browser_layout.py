"""Layout and colour findings in headless Chromium: no word broken across lines, tokens
flowing as words, unsigned values on a sequential scale, the sorted top-k bars view,
styles that survive Jupyter's CSS, one heading per instance."""

from __future__ import annotations

import re

import numpy as np
import pytest
from report_payloads import TOKEN

from xplain.report import BatchReport, render_document

# every word (letters, digits, underscores: "deletion_auc", "tree_shap") of every text node
# in a report, with the distinct lines its characters sit on; a hyphen or a space is a
# fair place to break, so "self-reported" may wrap after "self-"
BROKEN_WORDS_JS = """
() => {
  const broken = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const node = walker.currentNode;
    const el = node.parentElement;
    if (!el.closest('.xplain') || el.closest('svg, style, details:not([open]), .tok.long')) {
      continue;
    }
    for (const match of node.data.matchAll(/[\\p{L}\\p{N}_]+/gu)) {
      const range = document.createRange();
      range.setStart(node, match.index);
      range.setEnd(node, match.index + match[0].length);
      const tops = new Set([...range.getClientRects()].filter(r => r.width > 0)
                           .map(r => Math.round(r.top)));
      if (tops.size > 1) broken.push(match[0]);
    }
  }
  return broken;
}
"""
# lines of the token boxes of each strip (a token strip or one method's row): box middles
# more than half a line apart (a special token's smaller box sits a little lower)
LINES_JS = """
() => [...document.querySelectorAll('.tokens')].map(strip => {
  const mids = [...strip.querySelectorAll('.tok')].map(t => {
    const r = t.getBoundingClientRect(); return r.top + r.height / 2; }).sort((a, b) => a - b);
  return mids.filter((m, i) => i === 0 || m - mids[i - 1] > 12).length; })
"""
JUPYTER_CSS = """<style>
.jp-RenderedHTMLCommon table { table-layout: fixed; margin-left: auto; margin-right: auto; }
.jp-RenderedHTMLCommon tr, .jp-RenderedHTMLCommon th, .jp-RenderedHTMLCommon td {
  text-align: right; vertical-align: middle; padding: 0.5em; white-space: normal; }
.jp-RenderedHTMLCommon tbody tr:nth-child(odd) { background: #eee; }
.jp-RenderedHTMLCommon tbody th, .jp-RenderedHTMLCommon tbody td { text-align: right; }
</style>"""


def _open(open_report, tmp_path, name, html, width):
    path = tmp_path / f"{name}.html"
    path.write_text(html, encoding="utf-8")
    return open_report(path, width=width).page


@pytest.fixture
def reports(text_explanation, wide_explanation, image_explanation, text_comparison,
            tabular_comparison, text_batch, tabular_batch) -> dict[str, str]:
    tabular_comparison.evaluate()  # the metrics table, whose headers are metric names
    return {
        "explanation-text": text_explanation.to_html(full_page=True),
        "explanation-tabular": wide_explanation.to_html(full_page=True),
        "explanation-image": image_explanation.to_html(full_page=True),
        "comparison-text": text_comparison.to_html(full_page=True),
        "comparison-tabular": tabular_comparison.to_html(full_page=True),
        "batch-text": BatchReport(text_batch).to_html(full_page=True),
        "batch-tabular": BatchReport(tabular_batch).to_html(full_page=True),
    }


@pytest.mark.parametrize("width", [800, 1000])
def test_no_word_is_broken_across_lines(open_report, reports, tmp_path, width):
    for name, html in reports.items():
        page = _open(open_report, tmp_path, name, html, width)
        page.evaluate("document.querySelectorAll('details').forEach(d => d.open = true)")
        assert page.evaluate(BROKEN_WORDS_JS) == [], name
        page.screenshot(path=str(tmp_path / f"{name}-{width}.png"), full_page=True)


def test_the_word_check_finds_mid_word_breaks(open_report, reports, tmp_path):
    """The check above can fail: the old rule (break anywhere in a narrow header) is caught."""
    html = reports["comparison-tabular"].replace(
        "</style>", ".xplain.xplain table.metrics th { overflow-wrap: anywhere; "
        "white-space: normal; max-width: 2.5rem; }</style>", 1)
    page = _open(open_report, tmp_path, "old", html, 800)
    assert "deletion_auc" in page.evaluate(BROKEN_WORDS_JS)


def test_an_eleven_token_sentence_is_one_line_at_1400px(open_report, text_explanation,
                                                        text_comparison, tmp_path):
    assert len(text_explanation.features) == 11
    for name, html in (("e", text_explanation.to_html(full_page=True)),
                       ("c", text_comparison.to_html(full_page=True))):
        page = _open(open_report, tmp_path, name, html, 1400)
        lines = page.evaluate(LINES_JS)
        assert lines and all(n == 1 for n in lines), (name, lines)


def test_tokens_wrap_between_words_never_inside_a_box(open_report, text_explainer, tmp_path):
    sentence = " ".join(["an unexpectedly heartfelt , gripping and funny film"] * 6 + [TOKEN])
    e = text_explainer.explain(sentence, "integrated_gradients", n_steps=4)
    page = _open(open_report, tmp_path, "narrow", e.to_html(full_page=True), 360)
    boxes = page.evaluate(
        "[...document.querySelectorAll('.tokens .tok')].map(t => [t.textContent, "
        "t.getClientRects().length])"
    )
    assert len(boxes) == len(e.features)
    assert max(page.evaluate(LINES_JS)) > 3  # it did wrap
    assert all(n == 1 for _, n in boxes)  # no coloured box split over two lines
    assert all(not text.startswith(" ") for text, _ in boxes)  # spaces between the boxes


def test_unsigned_tokens_are_drawn_on_the_sequential_scale(open_report, text_comparison,
                                                           tmp_path):
    e = text_comparison.explanations["saliency"]
    page = _open(open_report, tmp_path, "saliency", e.to_html(full_page=True), 1100)
    colours = page.evaluate(
        "[...document.querySelectorAll('.tokens .tok:not(.special)')].map(t => "
        "getComputedStyle(t).backgroundColor)"
    )
    end = np.array([84, 39, 143])
    assert len(colours) == len(e.features) - int(e.special.sum())
    shades = []
    for text in colours:
        rgb = np.array([int(v) for v in re.findall(r"\d+", text)[:3]])
        t = (255 - rgb) / (255 - end)
        assert np.ptp(t) < 0.02  # on the white-to-purple line, neither blue nor red
        shades.append(t.mean())
    assert max(shades) == pytest.approx(1, abs=0.01)  # the largest magnitude is the end
    legend = page.evaluate("document.querySelector('.legend').textContent")
    assert "magnitude (unsigned: larger = more important)" in legend
    assert "lowers" not in legend


def test_the_tabular_view_is_sorted_top_k_with_base_value_and_f_of_x(
    open_report, wide_explanation, tmp_path
):
    e = wide_explanation
    page = open_report(e.save_html(tmp_path / "wide.html", max_display=6), width=800).page
    found = page.evaluate(
        "[...document.querySelectorAll('table.bars tr')].map(r => [r.className, "
        "r.querySelector('th').textContent, parseFloat(r.querySelector('td.value')"
        ".textContent)])"
    )
    assert len(found) == 5 + 1
    magnitudes = [abs(v) for _, _, v in found[:5]]
    assert magnitudes == sorted(magnitudes, reverse=True)
    assert magnitudes[0] == pytest.approx(np.abs(e.values).max(), rel=1e-3)
    assert found[5][0] == "bar-row other" and found[5][1] == "9 other features"
    meta = page.evaluate("document.querySelector('.meta').textContent")
    assert f"base value {e.base_value:.4g}" in meta
    assert f"f(x) {e.base_value + e.diagnostics['delta']:.4g}" in meta
    warning = page.evaluate(
        "(() => { const w = document.querySelector('.warn.converged'); "
        "return [w.getBoundingClientRect().height, w.textContent]; })()"
    )
    assert warning[0] > 0 and "did not converge" in warning[1]  # shown, not collapsed
    # the zero line of every signed bar is the cell's centre; error bars straddle the end
    geometry = page.evaluate(
        "[...document.querySelectorAll('table.bars tr:not(.other) .dbar')].map(d => {"
        "const box = d.getBoundingClientRect(), bar = d.querySelector('.pos, .neg')"
        ".getBoundingClientRect(), err = d.querySelector('.err').getBoundingClientRect();"
        "return [box.left + box.width / 2, bar.left, bar.right, err.left, err.right]; })"
    )
    for centre, left, right, err_left, err_right in geometry:
        assert min(abs(left - centre), abs(right - centre)) < 1.5
        tip = right if abs(left - centre) < 1.5 else left
        assert err_left - 1 <= tip <= err_right + 1


def test_jupyter_css_does_not_right_align_or_centre(open_report, wide_explanation,
                                                    tabular_comparison, tmp_path):
    for name, item in (("e", wide_explanation), ("c", tabular_comparison)):
        html = (f"<!DOCTYPE html><html><head>{JUPYTER_CSS}</head><body>"
                f'<div class="jp-RenderedHTMLCommon">{item._repr_html_()}</div></body></html>')
        page = _open(open_report, tmp_path, f"jupyter-{name}", html, 1000)
        aligned = page.evaluate(
            "[...document.querySelectorAll('.xplain th, .xplain td:not(.cell)')]"
            ".filter(c => !c.closest('table.metrics')).map(c => getComputedStyle(c).textAlign)"
        )
        assert aligned and set(aligned) <= {"left", "start"}, (name, set(aligned))
        offsets = page.evaluate(
            "[...document.querySelectorAll('.xplain table')].filter(t => t.offsetParent)"
            ".map(t => t.getBoundingClientRect().left - t.closest('.xplain')"
            ".getBoundingClientRect().left)"
        )
        assert offsets and max(offsets) < 1  # tables start at the report's edge
        check = page.evaluate(
            "getComputedStyle(document.querySelector('.xplain table')).tableLayout")
        assert check == "auto"


def test_a_document_shows_one_heading_per_instance(open_report, text_explanation,
                                                   tabular_explanation, tmp_path):
    html = render_document("demo", [
        ("Text", [("Sentence 1", [text_explanation]), ("Sentence 2", [text_explanation])]),
        ("Table", [("Row 3", [tabular_explanation])]),
    ])
    page = _open(open_report, tmp_path, "document", html, 1000)
    headings = page.evaluate(
        "[...document.querySelectorAll('section.instance > h2')].map(h => [h.textContent, "
        "h.getBoundingClientRect().height > 0, h.parentElement.querySelectorAll("
        "'.xplain-explanation').length])"
    )
    assert headings == [["Sentence 1", True, 1], ["Sentence 2", True, 1], ["Row 3", True, 1]]
