"""Open modalities: no module outside an adapter branches on a modality name; how features
are drawn comes from the adapter's FeatureDisplay, carried by the Explanation as plain data."""

from __future__ import annotations

import ast
import dataclasses
import json
import re
from pathlib import Path

import numpy as np
import pytest
from markupsafe import escape

import xplain
from xplain import metrics
from xplain.display import FeatureDisplay
from xplain.errors import InvalidInputError, InvalidParameterError
from xplain.explanation import Explanation
from xplain.report import register_display

PACKAGE = Path(xplain.__file__).resolve().parent
MODALITIES = {"text", "tabular", "image"}
# the factory picking a built-in adapter by name (Explainer(modality=...)) lives here
ALLOWED = ("adapters/",)


def _modality_test(node: ast.AST) -> bool:
    """Whether ``node`` compares with a modality name or reads ``.modality(ies)`` in a test."""
    if not isinstance(node, ast.Compare):
        return False
    parts = [node.left, *node.comparators]
    names = any(isinstance(p, ast.Constant) and p.value in MODALITIES for p in parts)
    reads = any(isinstance(p, ast.Attribute) and p.attr in ("modality", "modalities")
                for p in parts)
    return names or reads


def test_no_module_outside_the_adapters_branches_on_a_modality():
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE).as_posix()
        if relative.startswith(ALLOWED):
            continue
        for node in ast.walk(ast.parse(path.read_text("utf-8"))):
            if _modality_test(node):
                found.append(f"{relative}:{node.lineno}")
    for template in sorted((PACKAGE / "report" / "templates").glob("*.j2")):
        if re.search(r"modality\s*(==|!=|in\b)", template.read_text("utf-8")):
            found.append(template.name)
    assert not found, f"modality branches outside xplain/adapters/: {found}"
    assert not hasattr(xplain.extend.Method, "modalities")


def _explanation(display: FeatureDisplay, values=(0.1, -0.7, 0.3)) -> Explanation:
    n = len(values)
    return Explanation(
        features=[f"f{i}" for i in range(n)], values=np.asarray(values), target=0,
        target_label="a", prediction=np.array([0.6, 0.4]), labels=["a", "b"], method="m",
        params={}, diagnostics={}, n_model_evals=0, seconds=0.0, modality="whatever",
        output="logits", display=display,
    )


def test_the_display_round_trips_through_to_dict_and_json():
    display = FeatureDisplay("bars", shown=(1.5, "red", None), options={"unit": "cm"})
    e = _explanation(display)
    data = e.to_dict()
    assert data["display"] == {"kind": "bars", "shape": None, "shown": [1.5, "red", None],
                               "options": {"unit": "cm"}}
    restored = Explanation.from_dict(json.loads(json.dumps(data)))
    assert restored == e and restored.display == display
    assert restored != dataclasses.replace(e, display=FeatureDisplay("bars"))
    with pytest.raises(InvalidInputError, match="'display' entry"):
        Explanation.from_dict({**data, "display": {"kind": "bars", "colour": 1}})


def test_a_dict_written_before_displays_reads_its_image_shape_as_a_grid():
    data = _explanation(FeatureDisplay(), values=[0.1, 0.2, 0.3, 0.4]).to_dict()
    del data["display"]
    assert Explanation.from_dict(data).display == FeatureDisplay()
    data["image_shape"] = [2, 2]
    restored = Explanation.from_dict(data)
    assert restored.display == FeatureDisplay("grid", shape=(2, 2))
    assert restored.image_shape == (2, 2) and "data:image/png" in restored.to_html()


def test_the_modality_name_does_not_choose_the_drawing():
    # a "text" explanation drawn as bars, an unnamed one as tokens: the display decides
    bars = _explanation(FeatureDisplay("bars", shown=(1, 2, 3)))
    bars = dataclasses.replace(bars, modality="text")
    assert 'class="bars"' in bars.to_html() and 'class="tok' not in bars.to_html()
    tokens = _explanation(FeatureDisplay("tokens", options={"continuation": "@@"}))
    tokens = dataclasses.replace(tokens, features=["un", "@@real"], values=np.array([1.0, 2.0]))
    html = tokens.to_html()
    assert 'class="tok' in html and ">real</span>" in html and ">@@real<" not in html


def test_an_unknown_display_kind_falls_back_to_bars_sorted_by_magnitude():
    html = _explanation(FeatureDisplay("graph-nodes")).to_html()
    order = [html.index(f'title="f{i}">f{i}</th>') for i in (1, 2, 0)]  # |-0.7| > |0.3| > |0.1|
    assert order == sorted(order)


def test_a_registered_display_draws_its_kind_and_bad_registrations_are_refused():
    def draw(e: Explanation, scale: float) -> str:
        return f'<div class="rings">{escape(e.features[0])} {scale:.1f}</div>'

    register_display("rings", draw)
    html = _explanation(FeatureDisplay("rings")).to_html()
    assert '<div class="rings">f0 0.7</div>' in html and 'class="bars"' not in html
    with pytest.raises(InvalidParameterError, match="new display kind.*'tokens'"):
        register_display("tokens", draw)
    with pytest.raises(InvalidParameterError, match="render.*int"):
        register_display("dots", 3)
    with pytest.raises(InvalidInputError, match="non-empty string"):
        FeatureDisplay("")


def test_metric_metadata_says_what_a_metric_needs_not_a_modality():
    roar = metrics.METRICS["remove_and_retrain"]
    assert roar.requires == {"refittable_model", "table"}
    assert metrics.METRICS["deletion_auc"].requires == {"explainer"}
    assert "modalities" not in metrics.available_metrics().columns


def test_methods_list_which_built_in_adapters_offer_their_view_type():
    frame = xplain.available_methods().set_index("name")
    assert frame.loc["grad_cam", "modalities"] == "image"  # a spatial differentiable view
    assert frame.loc["tree_shap", "modalities"] == "tabular"  # a tree view
    assert frame.loc["saliency", "modalities"] == "image, tabular, text"
