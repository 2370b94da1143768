"""The method registry: every explanation method is registered once, by name.

Third-party packages can add methods through the ``xplain.methods`` entry-point group,
each entry point naming a :class:`~xplain.methods.base.Method` subclass.
"""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any

import pandas as pd

from xplain._validation import did_you_mean
from xplain.errors import InvalidParameterError, UnknownMethodError

if TYPE_CHECKING:
    from xplain.methods.base import Method

ENTRY_POINT_GROUP = "xplain.methods"
_REGISTRY: dict[str, type[Method]] = {}
_plugins_loaded = False


def register_method(cls: type[Method]) -> type[Method]:
    """Register a method class under ``cls.name`` (usable as a class decorator)."""
    from xplain.methods.base import Method

    if not (isinstance(cls, type) and issubclass(cls, Method)):
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
    import xplain.methods  # noqa: F401  (registers the built-in methods)

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
    """One row per registered method: name, family, modalities, needs and reference."""
    _load_plugins()
    rows: list[dict[str, Any]] = []
    for name in sorted(_REGISTRY):
        cls = _REGISTRY[name]
        rows.append(
            {
                "name": name,
                "family": cls.family,
                "modalities": ", ".join(sorted(cls.modalities)),
                "needs": ", ".join(sorted(cls.needs)),
                "reference": cls.reference,
            }
        )
    return pd.DataFrame(rows, columns=["name", "family", "modalities", "needs", "reference"])
