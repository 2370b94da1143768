"""Every report escapes every string that comes from data or users (see conftest's HOSTILE)."""

from __future__ import annotations

import re

import pytest
from markupsafe import escape
from report_payloads import ATTRIBUTE, COLUMN, LABEL, TOKEN

from xplain.report import BatchReport, render_document


@pytest.fixture(scope="module")
def rendered(
    text_explanation, tabular_explanation, image_explanation, hostile_text_comparison,
    tabular_comparison, image_comparison, text_batch, tabular_batch,
) -> dict[str, str]:
    """Every kind of report as a standalone page."""
    return {
        "explanation/text": text_explanation.to_html(full_page=True),
        "explanation/tabular": tabular_explanation.to_html(full_page=True),
        "explanation/image": image_explanation.to_html(full_page=True),
        "comparison/text": hostile_text_comparison.to_html(full_page=True),
        "comparison/tabular": tabular_comparison.to_html(full_page=True),
        "comparison/image": image_comparison.to_html(full_page=True),
        "batch/text": BatchReport(text_batch).to_html(full_page=True),
        "batch/tabular": BatchReport(tabular_batch).to_html(full_page=True),
        "document": render_document(LABEL, [(COLUMN, [text_explanation])]),
    }


def without_images(html: str) -> str:
    return re.sub(r"data:image/png;base64,[A-Za-z0-9+/=]*", "", html)


KINDS = [
    "explanation/text", "explanation/tabular", "explanation/image", "comparison/text",
    "comparison/tabular", "comparison/image", "batch/text", "batch/tabular", "document",
]


@pytest.mark.parametrize("kind", KINDS)
def test_no_markup_from_data_survives(kind, rendered):
    html = without_images(rendered[kind])
    lowered = html.lower()
    assert "<script" not in lowered
    assert "<img src=x" not in lowered and "onerror=" not in lowered.replace(
        "onerror=alert(1)&gt;", ""
    ).replace("onerror=&#34;window.__xss=2&#34;&gt;", "")
    for payload in (TOKEN, COLUMN, LABEL, ATTRIBUTE):
        assert payload not in html
    assert "http" not in lowered  # self-contained: no external URL at all


@pytest.mark.parametrize(
    ("kind", "payloads"),
    [
        ("explanation/text", [TOKEN, LABEL, ATTRIBUTE]),
        ("explanation/tabular", [COLUMN, TOKEN, LABEL, ATTRIBUTE]),
        ("explanation/image", [LABEL, ATTRIBUTE]),
        ("comparison/text", [TOKEN, COLUMN, ATTRIBUTE]),
        ("comparison/tabular", [COLUMN, TOKEN, LABEL]),
        ("batch/text", [TOKEN, ATTRIBUTE]),
        ("batch/tabular", [COLUMN, TOKEN, "rich"]),
        ("document", [LABEL, COLUMN, TOKEN]),
    ],
)
def test_the_escaped_strings_are_shown(kind, payloads, rendered):
    html = rendered[kind]
    for payload in payloads:
        assert str(escape(payload)) in html, payload
