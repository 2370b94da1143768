"""The method registry: every explanation method is registered once, by name.

The registry imports no method: each method module registers itself when imported. The
built-in methods are known from :mod:`xplain._method_catalog` (where each class lives and
its metadata), so listing them imports no method and no torch; a built-in method's module
is imported the first time :func:`get_method` asks for it. Third-party packages can add
methods through the ``xplain.methods`` entry-point group, each entry point naming a
:class:`~xplain.methods.base.Method` subclass.
"""

from __future__ import annotations

import sys
from importlib import import_module
from importlib.metadata import entry_points
from typing import TYPE_CHECKING

from xplain._method_catalog import BUILT_IN_METHODS
from xplain._validation import did_you_mean
from xplain.errors import InvalidParameterError, UnknownMethodError
from xplain.views import view_name, view_type

if TYPE_CHECKING:
    import pandas as pd

    from xplain.methods.base import Method

ENTRY_POINT_GROUP = "xplain.methods"
# the columns of available_methods()
METHOD_COLUMNS = ("name", "family", "modalities", "needs", "models", "reference")
_REGISTRY: dict[str, type[Method]] = {}  # the classes registered so far (imported)
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
    built_in = BUILT_IN_METHODS.get(name)
    if existing is not None and existing is not cls:
        taken = f"{existing.__module__}.{existing.__qualname__}"
    elif built_in is not None and built_in.path != f"{cls.__module__}.{cls.__qualname__}":
        taken = built_in.path  # a built-in name, even before its module is imported
    else:
        taken = None
    if taken is not None:
        raise InvalidParameterError(
            f"A method named {name!r} is already registered ({taken}). Choose another name."
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
    """The method class registered as ``name`` (a built-in one is imported on first use).

    Parameters: ``name``, a registered method name such as ``"integrated_gradients"``.
    Raises :class:`~xplain.errors.UnknownMethodError` (with a did-you-mean) for others.
    """
    check_method_name(name)
    if name not in _REGISTRY:  # a built-in method, imported now (the decorator registers it)
        entry = BUILT_IN_METHODS[name]
        register_method(getattr(import_module(entry.module), entry.cls))
    return _REGISTRY[name]


def check_method_name(name: str) -> str:
    """``name`` if a method is registered under it, without importing the method (the
    ``xplain`` command checks ``--methods`` so); else an UnknownMethodError naming the
    registered methods, with a did-you-mean.

    Parameters: ``name``, the method name to check.
    """
    _load_plugins()
    if isinstance(name, str) and not name.strip():
        # method=None means "the default"; an empty name is a mistake, never the default
        raise UnknownMethodError(
            f"The method name is empty ({name!r}). Name one of: {', '.join(method_names())}; "
            "or pass method=None for the explainer's default method."
        )
    if isinstance(name, type):  # Explainer.explain(x, IntegratedGradients): the class
        raise UnknownMethodError(
            f"Got the method class {name.__name__}; pass a name such as "
            f"{getattr(name, 'name', 'saliency')!r} or an object such as {name.__name__}()."
        )
    names = method_names()
    if not isinstance(name, str) or name not in names:
        hint = did_you_mean(name, names) if isinstance(name, str) else ""
        raise UnknownMethodError(
            f"Unknown method {name!r}.{hint} Available methods: {', '.join(names)}."
        )
    return name


def method_names() -> list[str]:
    """Names of all registered methods, sorted (built-in ones whether imported or not)."""
    _load_plugins()
    return sorted({*_REGISTRY, *BUILT_IN_METHODS})


def available_methods() -> pd.DataFrame:
    """One row per registered method: name, family, modalities, needs, models, reference.

    ``needs`` is what the method's view type takes of a model (e.g. "gradients", "masks")
    and ``models`` which models can give it (gradients: differentiable torch models only,
    not scikit-learn or tree models); ``modalities`` names the built-in adapters that can
    offer that view type (empty for a plugin method whose view type only a plugin adapter
    offers). Listing imports no method module (see :mod:`xplain._method_catalog`).
    """
    import pandas as pd

    return pd.DataFrame(method_rows(), columns=list(METHOD_COLUMNS))


def method_rows() -> list[dict[str, str]]:
    """The rows of :func:`available_methods` as dicts of ``METHOD_COLUMNS`` (no pandas:
    ``xplain methods`` prints them without importing it)."""
    from xplain.adapters._builtin import adapters_offering  # the names live with adapters

    rows = []
    for name in method_names():
        # a class registered already is the truth; a built-in one not yet imported, its entry
        info = _REGISTRY.get(name) or BUILT_IN_METHODS[name]
        rows.append(
            {
                "name": name,
                "family": info.family,
                "modalities": ", ".join(sorted(adapters_offering(info.view))),
                "needs": _needs(info.view),
                "models": getattr(view_type(info.view), "models", ""),
                "reference": info.reference,
            }
        )
    return rows


def _needs(view: object) -> str:
    """What a declared view takes of a model, for the listing (an unknown view: its name)."""
    kind = view_type(view)
    return getattr(kind, "needs", "") or f"a {view_name(view)} view"
