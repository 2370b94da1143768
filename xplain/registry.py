"""The method registry: every explanation method is registered once, by name.

The registry imports no method: each method module registers itself when imported, and
the ``xplain`` package imports the built-in ones. Third-party packages can add methods
through the ``xplain.methods`` entry-point group, each entry point naming a
:class:`~xplain.methods.base.Method` subclass.
"""

from __future__ import annotations

import sys
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any

import pandas as pd

from xplain._validation import did_you_mean
from xplain.errors import InvalidParameterError, UnknownMethodError
from xplain.views import view_name, view_type

if TYPE_CHECKING:
    from xplain.methods.base import Method

ENTRY_POINT_GROUP = "xplain.methods"
_REGISTRY: dict[str, type[Method]] = {}
_plugins_loaded = False


def register_method(cls: type[Method]) -> type[Method]:
    """Register a method class under ``cls.name`` (usable as a class decorator)."""
    # a subclass of Method exists only once xplain.methods.base is loaded: looking it up
    # there, rather than importing it, keeps the registry free of method imports
    base = sys.modules.get("xplain.methods.base")
    if not (isinstance(cls, type) and base is not None and issubclass(cls, base.Method)):
        raise InvalidParameterError(
            f"register_method expects a subclass of xplain.methods.Method. Got {cls!r}."
        )
    name = getattr(cls, "name", None)
    if not isinstance(name, str) or not name.isidentifier():
        raise InvalidParameterError(
            f"A method class needs a 'name' attribute that is an identifier. Got {name!r}."
        )
    existing = _REGISTRY.get(name)
    if existing is not None and existing is not cls:
        raise InvalidParameterError(
            f"A method named {name!r} is already registered ({existing.__module__}."
            f"{existing.__qualname__}). Choose another name."
        )
    _REGISTRY[name] = cls
    return cls


def _load_plugins() -> None:
    global _plugins_loaded
    if _plugins_loaded:
        return
    _plugins_loaded = True
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        register_method(entry.load())


def get_method(name: str) -> type[Method]:
    """The method class registered as ``name``."""
    _load_plugins()
    if isinstance(name, str) and not name.strip():
        # method=None means "the default"; an empty name is a mistake, never the default
        raise UnknownMethodError(
            f"The method name is empty ({name!r}). Name one of: {', '.join(sorted(_REGISTRY))}; "
            "or pass method=None for the explainer's default method."
        )
    if isinstance(name, type):  # Explainer.explain(x, IntegratedGradients): the class
        raise UnknownMethodError(
            f"Got the method class {name.__name__}; pass a name such as "
            f"{getattr(name, 'name', 'saliency')!r} or an object such as {name.__name__}()."
        )
    if not isinstance(name, str) or name not in _REGISTRY:
        hint = did_you_mean(name, _REGISTRY) if isinstance(name, str) else ""
        raise UnknownMethodError(
            f"Unknown method {name!r}.{hint} Available methods: {', '.join(sorted(_REGISTRY))}."
        )
    return _REGISTRY[name]


def method_names() -> list[str]:
    """Names of all registered methods, sorted."""
    _load_plugins()
    return sorted(_REGISTRY)


def available_methods() -> pd.DataFrame:
    """One row per registered method: name, family, modalities, needs and reference.

    ``needs`` is what the method's view type takes of a model (e.g. "gradients", "masks");
    ``modalities`` names the built-in adapters that can offer that view type (empty for a
    plugin method whose view type only a plugin adapter offers).
    """
    from xplain.adapters._builtin import adapters_offering  # the names live with adapters

    _load_plugins()
    rows: list[dict[str, Any]] = []
    for name in sorted(_REGISTRY):
        cls = _REGISTRY[name]
        rows.append(
            {
                "name": name,
                "family": cls.family,
                "modalities": ", ".join(sorted(adapters_offering(cls.view))),
                "needs": _needs(cls.view),
                "reference": cls.reference,
            }
        )
    return pd.DataFrame(rows, columns=["name", "family", "modalities", "needs", "reference"])


def _needs(view: object) -> str:
    """What a declared view takes of a model, for the listing (an unknown view: its name)."""
    kind = view_type(view)
    return getattr(kind, "needs", "") or f"a {view_name(view)} view"
