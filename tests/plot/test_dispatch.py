"""plot.explanation / Explanation.plot pick the drawing; plot.interactions draws the matrix;
matplotlib stays optional: no module imports it on import."""

from __future__ import annotations

import subprocess
import sys

import matplotlib
import numpy as np
import pytest
from plot_factories import make

import xplain
from xplain import plot


def test_explanation_plot_picks_the_drawing_by_display():
    tokens = make([0.5, -0.5], features=["good", "film"], kind="tokens")
    assert [t.get_text() for t in tokens.plot().texts] == ["good", "film"]
    grid = make([0.5, -0.5], kind="grid", shape=(1, 2))
    assert len(grid.plot().get_images()) == 1
    rows = make([0.5, -0.5, 0.1], diagnostics={"base_value": 1.0})
    assert any(line.get_label().startswith("f(x)") for line in rows.plot().lines)
    assert len(rows.plot("bar", max_display=2).patches) == 2


def test_an_unknown_kind_is_refused():
    with pytest.raises(xplain.InvalidParameterError, match="'kind' parameter of Explanation.plot"):
        make([1.0]).plot("pie")


def test_interactions_draws_the_matrix_with_its_numbers():
    matrix = np.array([[0.5, 0.1, -0.2], [0.1, 0.3, 0.0], [-0.2, 0.0, -0.4]])
    e = make(matrix.sum(1), features=["a", "b", "c"], interactions=matrix, method="tree_shap")
    ax = e.plot("interactions")
    (image,) = ax.get_images()
    np.testing.assert_array_equal(image.get_array(), matrix)
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b", "c"]
    assert [t.get_text() for t in ax.texts] == [f"{v:.2g}" for v in matrix.ravel()]


def test_interactions_needs_interaction_values():
    with pytest.raises(xplain.InvalidInputError, match="interactions=True"):
        plot.interactions(make([1.0, 2.0]))


def test_a_missing_matplotlib_names_the_install_line(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    monkeypatch.delattr(matplotlib, "pyplot", raising=False)
    with pytest.raises(xplain.MissingDependencyError, match=r"xplain-xai\[plot\]"):
        plot.bar(make([1.0]))


def test_importing_xplain_and_its_plot_module_never_imports_matplotlib():
    # names resolve lazily: the Explainer (torch), Explanations and xplain.plot all load
    # without matplotlib, which only a drawing imports
    code = (
        "import sys, xplain, xplain.plot\n"
        "xplain.Explanations, xplain.Explainer\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'matplotlib'))\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, timeout=120)
    assert run.stdout.strip() == "[]"
