"""plot.explanation / Explanation.plot pick the drawing; plot.interactions draws the matrix;
matplotlib stays optional: no module imports it on import."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

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


def _module_level_imports(tree: ast.Module) -> set[str]:
    """Modules imported when the module runs (not those imported inside a function)."""
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            node.body = []  # what runs on a call, not on import
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
    return found


def test_no_module_of_xplain_imports_matplotlib_on_import():
    # a subprocess `import xplain` would take ~10 s here (torch); the source says the same
    package = Path(xplain.__file__).parent
    eager = {
        str(path.relative_to(package))
        for path in package.rglob("*.py")
        if any(m.split(".")[0] == "matplotlib"
               for m in _module_level_imports(ast.parse(path.read_text("utf-8"))))
    }
    assert eager == set()
    probe = ast.parse("import numpy\ndef f():\n    import matplotlib.pyplot\n")
    assert _module_level_imports(probe) == {"numpy"}  # the check sees through functions
