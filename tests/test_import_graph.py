"""xplain's import graph, lazy imports included, has no cycle and keeps its layers apart.

The graph is read from the source (ast): every ``import xplain...`` / ``from xplain...``
anywhere in a module counts, inside functions too; only ``if TYPE_CHECKING:`` blocks are
left out (they never run).
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

import xplain

PACKAGE = Path(xplain.__file__).resolve().parent


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in PACKAGE.rglob("*.py")}


def _imports(name: str, path: Path) -> set[str]:
    """The xplain modules ``name`` imports (a ``from M import sub`` counts M.sub when it
    is a module)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found: set[str] = set()

    class Visitor(ast.NodeVisitor):
        def visit_If(self, node: ast.If) -> None:
            if "TYPE_CHECKING" in ast.unparse(node.test):
                for child in node.orelse:
                    self.visit(child)
                return
            self.generic_visit(node)

        def visit_Import(self, node: ast.Import) -> None:
            found.update(alias.name for alias in node.names)

        def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)

    Visitor().visit(ast.parse(path.read_text(encoding="utf-8")))
    return {m for m in found if m in MODULES and m != name}


GRAPH = {name: _imports(name, path) for name, path in MODULES.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph[node]):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_the_graph_is_read_from_every_module(tmp_path):
    assert {"xplain.registry", "xplain.views", "xplain.methods.gradient.saliency"} <= set(GRAPH)
    source = tmp_path / "probe.py"
    source.write_text(
        "from typing import TYPE_CHECKING\n"
        "from . import errors\n"
        "if TYPE_CHECKING:\n"
        "    from xplain.explainer import Explainer\n"
        "def later():\n"
        "    import xplain.views\n"
        "    from xplain.adapters import base\n"
    )
    # lazy imports count, relative ones resolve, TYPE_CHECKING blocks do not count
    assert _imports("xplain.probe", source) == {
        "xplain", "xplain.errors", "xplain.views", "xplain.adapters", "xplain.adapters.base",
    }


def test_no_import_cycle():
    assert _cycles(GRAPH) == []


def test_a_cycle_would_be_found():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_method_imports_an_adapter():
    offending = {
        name: sorted(m for m in deps if m.startswith("xplain.adapters"))
        for name, deps in GRAPH.items()
        if name.startswith("xplain.methods")
    }
    assert {k: v for k, v in offending.items() if v} == {}


def test_the_registry_and_the_views_import_no_method():
    for neutral in ("xplain.registry", "xplain._method_catalog", "xplain.views"):
        assert not [m for m in GRAPH[neutral] if m.startswith("xplain.methods")], neutral
    assert not [m for m in GRAPH["xplain.views"] if m.startswith("xplain.adapters")]


def test_importing_a_method_loads_no_table_or_image_adapter():
    code = (
        "import sys, xplain.methods.gradient.saliency; "
        "print(sorted(m for m in sys.modules if m.startswith('xplain.adapters.')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    loaded = ast.literal_eval(out)  # the printed list of module names
    assert "xplain.adapters.tabular" not in loaded and "xplain.adapters.image" not in loaded


HEAVY = ("torch", "transformers", "sklearn", "shap", "pyarrow", "matplotlib", "pandas", "scipy")


def _run(code: str) -> str:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    ).stdout


def test_import_xplain_is_light_and_its_names_resolve_on_use():
    code = (
        "import sys, xplain\n"
        f"print(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r})))\n"
        "from xplain import Explainer, XplainError\n"
        "print(Explainer.__module__, XplainError.__module__, 'torch' in sys.modules)\n"
    )
    light, used = _run(code).splitlines()
    assert light == "[]"
    assert used == "xplain.explainer xplain.errors True"


def test_every_public_name_resolves():
    import xplain.adapters
    import xplain.errors
    import xplain.explainer
    import xplain.registry

    assert set(xplain.__all__) <= set(dir(xplain))
    for name in xplain.__all__:
        assert getattr(xplain, name) is not None, name
    assert xplain.Explainer is xplain.explainer.Explainer
    assert xplain.available_methods is xplain.registry.available_methods
    assert xplain.adapters.TextAdapter.__module__ == "xplain.adapters.text"
    assert xplain.adapters.Adapter.__module__ == "xplain.adapters.base"
    assert xplain.InvalidParameterError is xplain.errors.InvalidParameterError
    assert callable(xplain.metrics.deletion_auc) and callable(xplain.testing.check_method)
    assert xplain.__version__


def test_an_unknown_name_is_an_attribute_error():
    import xplain

    with pytest.raises(AttributeError, match="has no attribute 'Explainr'"):
        xplain.Explainr  # noqa: B018
    with pytest.raises(AttributeError, match="'xplain.adapters' has no attribute 'Nope'"):
        xplain.adapters.Nope  # noqa: B018
