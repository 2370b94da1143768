"""Every public function and class has a docstring naming each of its parameters.

The public API: the names of ``xplain.__all__`` and of the ``__all__`` of the public modules
it lists (``xplain.adapters``, ``xplain.metrics``...), with the public methods of each
class. A parameter counts as named when the docstring quotes it (```name``` or ``name``)
or lists it in a Google-style ``Args:`` section (``name: ...``); ``self``, ``cls`` and the
``*args``/``**kwargs`` catch-alls are exempt.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest

import xplain
from xplain.registry import method_names

EXTRA_CLASSES = {"xplain.ExplanationDataset": "xplain.scale.dataset.ExplanationDataset"}

# Public callables whose docstrings do not name every parameter yet (issue 13). Strict:
# documenting one makes its xfail pass, which fails the test until it leaves this set.
PENDING: frozenset[str] = frozenset()


def _public() -> dict[str, Any]:
    """Dotted public name -> object, each object once (its first public name)."""
    import importlib

    found: dict[str, Any] = {}
    for name in xplain.__all__:
        if name == "__version__":
            continue
        obj = getattr(xplain, name)
        if inspect.ismodule(obj):
            for member in obj.__all__:
                found[f"xplain.{name}.{member}"] = getattr(obj, member)
        else:
            found[f"xplain.{name}"] = obj
    for name, path in EXTRA_CLASSES.items():
        module, _, attr = path.rpartition(".")
        found[name] = getattr(importlib.import_module(module), attr)
    unique: dict[str, Any] = {}
    seen: set[int] = set()
    for name, obj in found.items():
        if (inspect.isclass(obj) or inspect.isfunction(obj)) and id(obj) not in seen:
            seen.add(id(obj))
            unique[name] = obj
    return unique


def _callables() -> Iterator[tuple[str, Callable[..., Any]]]:
    """Public functions, classes (their constructors) and the classes' public methods."""
    for name, obj in _public().items():
        yield name, obj
        if inspect.isclass(obj):
            for attr, member in vars(obj).items():
                function = getattr(member, "__func__", member)  # classmethod, staticmethod
                if not attr.startswith("_") and inspect.isfunction(function):
                    yield f"{name}.{attr}", function


def _parameters(obj: Callable[..., Any]) -> list[str]:
    try:
        signature = inspect.signature(obj)
    except (TypeError, ValueError):  # builtins without a signature
        return []
    catch_all = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    return [
        p.name
        for p in signature.parameters.values()
        if p.name not in ("self", "cls") and p.kind not in catch_all
    ]


def _docstring(obj: Callable[..., Any]) -> str:
    """The docstring; a class's includes its own ``__init__``'s."""
    doc = inspect.getdoc(obj) or ""
    if inspect.isclass(obj) and "__init__" in vars(obj):
        doc += "\n" + (inspect.getdoc(vars(obj)["__init__"]) or "")
    return doc


def names_parameter(doc: str, name: str) -> bool:
    """Whether ``doc`` quotes ``name`` in backticks or lists it as ``name:`` (Args)."""
    word = re.compile(rf"(?<!\w){re.escape(name)}(?!\w)")
    quoted = re.findall(r"``(.+?)``|`([^`]+?)`", doc, re.S)
    if any(word.search(double or single) for double, single in quoted):
        return True
    return re.search(rf"^\s*{re.escape(name)}(\s*\([^)]*\))?\s*:", doc, re.M) is not None


CALLABLES = dict(_callables())


def test_the_walk_covers_the_api() -> None:
    # the walk must reach the entry points, the results, the metrics and the adapters
    for name in (
        "xplain.Explainer.explain", "xplain.Explainer.compare", "xplain.Explanation.to_frame",
        "xplain.Comparison.evaluate", "xplain.ExplanationDataset.to_pandas",
        "xplain.metrics.deletion_auc", "xplain.adapters.TextAdapter", "xplain.explain",
    ):
        assert name in CALLABLES


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(n, marks=pytest.mark.xfail(strict=True, reason="pending")) if n in PENDING
        else n
        for n in CALLABLES
    ],
)
def test_docstring_names_every_parameter(name: str) -> None:
    obj = CALLABLES[name]
    doc = _docstring(obj)
    assert doc.strip(), f"{name} has no docstring"
    missing = [p for p in _parameters(obj) if not names_parameter(doc, p)]
    assert not missing, f"the docstring of {name} does not name its parameters {missing}"


def test_pending_names_exist() -> None:
    assert set(CALLABLES) >= PENDING, sorted(PENDING - set(CALLABLES))


def test_the_check_rejects_a_parameter_only_in_prose() -> None:
    assert names_parameter("Args:\n    target: the class.", "target")
    assert names_parameter("Explain ``instance`` for it.", "instance")
    assert not names_parameter("The target class of the data.", "target")
    assert not names_parameter("Uses ``targets``.", "target")


def test_help_of_explain_lists_parameters_methods_returns_and_an_example() -> None:
    doc = inspect.getdoc(xplain.Explainer.explain)
    for section in ("Args:", "Returns:", "Example:", "available_methods()"):
        assert section in doc
    for parameter in ("instance", "method", "target", "**params"):
        assert re.search(rf"^\s*{re.escape(parameter)}:", doc, re.M), parameter
    # the method names it lists are the built-in methods registered now
    builtin = {n for n in method_names() if xplain.registry.get_method(n).__module__
               .startswith("xplain.methods.")}
    listed = set(re.findall(r"``(\w+)``", doc.split("method:", 1)[1].split("target:", 1)[0]))
    assert builtin <= listed, sorted(builtin - listed)
