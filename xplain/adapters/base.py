"""The adapter interface: how a modality presents one instance to the methods.

An adapter validates a raw instance (:meth:`Adapter.encode`), predicts it, and builds the
views that methods run on without knowing the modality. The view types live in
:mod:`xplain.views` (re-exported here under their old names): an adapter says which it
offers for its model (:meth:`Adapter.view_types`) and builds one with
:meth:`Adapter.view`, which calls ``differentiable_view``, ``interpretable_view`` or
``tree_view``. An adapter offering a view type of its own overrides ``view_types`` and
``view``.
"""

from __future__ import annotations

import sys
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import torch

from xplain.display import FeatureDisplay
from xplain.errors import InvalidInputError, MethodNotApplicableError
from xplain.views import (  # noqa: F401  (re-exported: their home before xplain.views)
    BaselineGames,
    DifferentiableView,
    InterpretableView,
    Neighbourhood,
    TreeView,
    View,
    view_name,
    view_type,
)


@dataclass
class Encoded:
    """One validated instance as the adapter sees it, plus what the Explanation shows.

    Attributes:
        features: The names of the instance's ``d`` features, as the Explanation shows
            them (tokens, columns, pixels).
        instance: The validated instance as the Explanation keeps it (the text, the row as
            a column -> value dict, the image as float pixels ``[H, W, C]`` in [0, 1]).
        data: Whatever else the adapter's views need, by name (e.g. token ids).
        notes: Facts about the encoding shown to the user (e.g. truncation), copied into
            the Explanation's diagnostics.
        special: Bool ``[d]``, features that are never perturbed (e.g. [CLS]/[SEP]), or
            None when there are none.
    """

    features: list[str]
    instance: Any
    data: dict[str, Any] = field(default_factory=dict)
    notes: dict[str, Any] = field(default_factory=dict)
    special: np.ndarray | None = None  # bool [d]: features that are never perturbed


class Adapter(ABC):
    """Presents instances of one modality to the methods; never knows which method runs."""

    modality: ClassVar[str]

    @property
    @abstractmethod
    def labels(self) -> list[str]:
        """Class labels of the model, in output order."""

    @property
    @abstractmethod
    def n_model_evals(self) -> int:
        """Rows evaluated by the model so far (the counter methods are charged by)."""

    @abstractmethod
    def encode(self, instance: Any) -> Encoded:
        """Validate ``instance`` and prepare it; raise :class:`InvalidInputError` if bad."""

    def torch_module(self) -> torch.nn.Module | None:
        """The torch module behind the model (None: the model is not a torch module)."""
        return None

    @property
    def outputs(self) -> tuple[str, ...]:
        """Scores the methods may explain (``Explainer(output=...)``); the first is default."""
        return ("logits", "probability", "log_probability")

    @property
    def single_output(self) -> bool:
        """Whether the model returns one score per instance, shown as two classes whose
        class 1 is that score (see :mod:`xplain.models.outputs`)."""
        return False

    @abstractmethod
    def predict(self, encoded: Encoded) -> np.ndarray:
        """The model's prediction ``[C]``: class probabilities (or a regression output).

        Args:
            encoded: The instance, from :meth:`encode`.
        """

    def display(self, encoded: Encoded) -> FeatureDisplay:
        """How reports draw the features of ``encoded`` (default: one bar per feature)."""
        return FeatureDisplay()

    def differentiable_view(self, encoded: Encoded, output: str) -> DifferentiableView:
        """The gradient view (override when the model is differentiable).

        Args:
            encoded: The instance, from :meth:`encode`.
            output: The explained score, one of :attr:`outputs`.
        """
        raise NotImplementedError

    def interpretable_view(self, encoded: Encoded, output: str) -> InterpretableView:
        """The perturbation view: binary masks over features -> scores.

        Args:
            encoded: The instance, from :meth:`encode`.
            output: The explained score, one of :attr:`outputs`.
        """
        raise NotImplementedError

    def tree_view(self, encoded: Encoded, output: str) -> TreeView:
        """The tree view (override when the model is a tree ensemble).

        Args:
            encoded: The instance, from :meth:`encode`.
            output: The explained score, one of :attr:`outputs`.
        """
        raise NotImplementedError

    def view_types(self) -> tuple[type[View], ...]:
        """The view types this adapter offers for its model.

        By default, those whose builder (``differentiable_view``, ``interpretable_view``,
        ``tree_view``) the adapter overrides; override to offer a subclass (the image
        adapter offers :class:`~xplain.views.SpatialDifferentiableView`), to depend on the
        model, or to offer a view type of your own (then override :meth:`view` too).
        """
        return tuple(
            kind for kind, builder in _BUILDERS
            if getattr(type(self), builder) is not getattr(Adapter, builder)
        )

    def supports(self, view: type | str) -> bool:
        """Whether this adapter offers a view of type ``view`` (or a subclass of it).

        A legacy name ("differentiable", "interpretable", "tree") means its type; any
        other value is a view this adapter does not offer.
        """
        wanted = view_type(view)
        return wanted is not None and any(issubclass(t, wanted) for t in self.view_types())

    def view(self, view: type | str, encoded: Encoded, output: str) -> Any:
        """The view of ``encoded`` of type ``view`` (a type this adapter supports).

        Args:
            view: A view type (or a legacy name: "differentiable", "interpretable",
                "tree").
            encoded: The instance, from :meth:`encode`.
            output: The explained score, one of :attr:`outputs`.

        Raises:
            MethodNotApplicableError: the adapter offers no view of that type.
        """
        return getattr(self, self._builder(view))(encoded, output)

    def _builder(self, view: type | str) -> str:
        """The name of the method building the offered view of type ``view``."""
        wanted = view_type(view)
        for offered in self.view_types():
            if wanted is not None and issubclass(offered, wanted):
                for kind, builder in _BUILDERS:
                    if issubclass(offered, kind):
                        return builder
        names = ", ".join(t.__name__ for t in self.view_types()) or "none"
        raise MethodNotApplicableError(
            f"{type(self).__name__} builds no view of type {view_name(view)} (it offers: "
            f"{names}); an adapter offering a view type of its own overrides Adapter.view."
        )

    # -- many instances (explain_batch) ------------------------------------------------------
    def identity(self) -> dict[str, Any]:
        """What decides this adapter's explanations besides the model: its parameters (and,
        in subclasses, its data: a tokenizer's vocabulary, background rows). Hashed into
        ``explain_dataset``'s run fingerprint, so a resumed run never mixes the parts of
        two configurations (:func:`xplain._identity.config_fingerprint`)."""
        return {"adapter": type(self).__name__, "params": getattr(self, "params", {})}

    def fixed_features(self) -> list[str] | None:
        """The features every explanation of this adapter has (a table's columns), or None
        when they depend on the instance (tokens, pixels of images of any size).
        ``explain_dataset`` writes one column per fixed feature."""
        return None

    def split_batch(self, instances: Any) -> list[Any]:
        """The instances of a batch, one item per instance (override for table-like batches).

        By default a batch is any iterable of instances: a list, or the first axis of an
        array or tensor (``[N, C, H, W]`` images, ``[N, d]`` rows). A DataFrame is refused:
        iterating it would give its column names (adapters whose instances are table rows
        override this).

        Args:
            instances: The batch passed to ``explain_batch``.

        Raises:
            InvalidInputError: ``instances`` is a DataFrame, a single string, or not
                iterable.
        """
        pd = sys.modules.get("pandas")  # a DataFrame only where pandas is loaded
        if pd is not None and isinstance(instances, pd.DataFrame):
            raise InvalidInputError(
                f"{type(self).__name__} does not take table rows as instances; pass the column "
                "holding them, e.g. df['text'].tolist() (explain_dataset: column='text')."
            )
        if isinstance(instances, str):
            raise InvalidInputError(
                "explain_batch expects a list of instances and got one string; pass "
                "[text] or use explain(text)."
            )
        try:
            return list(instances)
        except TypeError as err:
            raise InvalidInputError(
                "explain_batch expects an iterable of instances (a list, or an array whose "
                f"first axis indexes them). Got {type(instances).__name__}."
            ) from err

    def predict_batch(self, encoded: Sequence[Encoded]) -> np.ndarray:
        """Predictions ``[N, C]`` of many instances (override to make it one model call).

        Args:
            encoded: The instances, from :meth:`encode`.
        """
        return np.stack([np.asarray(self.predict(e), dtype=np.float64) for e in encoded])

    def view_batch(
        self, view: type | str, encoded: Sequence[Encoded], output: str
    ) -> list[Any]:
        """The views of many instances, from ``<builder>_batch`` when the adapter has one
        (e.g. ``tree_view_batch``).

        Views built together may share their parts (the same model and background
        objects), which is what batched methods (``Method.attribute_batch``) look for.

        Args:
            view: A view type the adapter supports (or its legacy name).
            encoded: The instances, from :meth:`encode`.
            output: The explained score, one of :attr:`outputs`.
        """
        build = getattr(self, f"{self._builder(view)}_batch", None)
        if build is not None:
            return list(build(encoded, output))
        return [self.view(view, e, output) for e in encoded]


# the view types Adapter.view builds, and the method building each
_BUILDERS: tuple[tuple[type[View], str], ...] = (
    (DifferentiableView, "differentiable_view"),
    (InterpretableView, "interpretable_view"),
    (TreeView, "tree_view"),
)


class TorchModelAdapter(Adapter):
    """An adapter whose ``model`` is one of xplain's torch wrappers: it counts the rows it
    evaluates (``n_evals``) and reads the network's outputs (``reader``,
    :class:`~xplain.models.outputs.OutputReader`), which say what may be explained."""

    model: Any

    @property
    def outputs(self) -> tuple[str, ...]:
        return self.model.reader.outputs

    @property
    def single_output(self) -> bool:
        return self.model.reader.single_output

    @property
    def n_model_evals(self) -> int:
        return self.model.n_evals
