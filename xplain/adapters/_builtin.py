"""The built-in adapters by name, and the factory choosing one from Explainer's arguments.

This is the one place outside an adapter's own module that names a modality: the names
are how ``Explainer(modality=...)`` picks a built-in adapter and how ``xplain methods``
and ``available_methods()`` say which built-in adapters can run a method.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from typing import TYPE_CHECKING, Any

from xplain.errors import InvalidParameterError
from xplain.views import (
    DifferentiableView,
    InterpretableView,
    SpatialDifferentiableView,
    TreeView,
    View,
    view_type,
)

if TYPE_CHECKING:
    from xplain.adapters.base import Adapter


@dataclass(frozen=True)
class BuiltIn:
    """A built-in adapter: where its class lives and the view types it can offer (for
    some model; an instance offers those its model allows, ``Adapter.view_types()``)."""

    module: str
    cls: str
    offers: tuple[type[View], ...]

    def load(self) -> type[Adapter]:
        return getattr(import_module(self.module), self.cls)


BUILT_IN: dict[str, BuiltIn] = {
    "text": BuiltIn(
        "xplain.adapters.text", "TextAdapter", (DifferentiableView, InterpretableView)
    ),
    "tabular": BuiltIn(
        "xplain.adapters.tabular",
        "TabularAdapter",
        (DifferentiableView, InterpretableView, TreeView),
    ),
    "image": BuiltIn(
        "xplain.adapters.image", "ImageAdapter", (SpatialDifferentiableView, InterpretableView)
    ),
}


def adapters_offering(view: Any) -> list[str]:
    """Names of the built-in adapters that can offer a view of the type a method declares
    (``Method.view``: a view type or a legacy name); empty for a view none offers."""
    wanted = view_type(view)
    if wanted is None:
        return []
    return [
        name
        for name, builtin in BUILT_IN.items()
        if any(issubclass(offered, wanted) for offered in builtin.offers)
    ]


def make_adapter(
    model: Any, tokenizer: Any, data: Any, modality: str | None, params: dict[str, Any]
) -> Adapter:
    """Choose the adapter from Explainer's arguments: a tokenizer means text, and so on."""
    if modality is None and tokenizer is not None:
        modality = "text"
    elif modality is None and data is not None:
        modality = "tabular"
    if modality is None:
        raise InvalidParameterError(
            "Cannot tell which modality to explain: pass tokenizer= for a Hugging Face text "
            "model, data= (background rows) for a tabular model, modality='image' for an "
            "image model, or an explicit adapter=."
        )
    cls = BUILT_IN[modality].load()
    if modality == "text":
        return cls(model, tokenizer, **params)
    if modality == "tabular":
        return cls(model, data, **params)
    return cls(model, **params)
