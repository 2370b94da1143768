"""Typed views: what a method sees of one instance, and how its values map to features.

A method declares the view type it needs (``view = DifferentiableView``); an adapter says
which view types it offers (``Adapter.view_types()``) and builds them. A method applies
to an adapter when the adapter offers a subclass of the method's view type, so a new
view type (a plugin's) is simply not applicable where no adapter offers it.

* :class:`DifferentiableView` (gradient methods): a tensor ``x`` ``[1, *S]``, a baseline,
  a differentiable ``forward`` ``[B, *S]`` -> scores ``[B, C]``, and ``aggregate``,
  per-dimension attributions ``[*S]`` -> one value per feature. The map is many to one
  (an embedding's dimensions, a pixel's channels), so it has no inverse.
* :class:`SpatialDifferentiableView`: a differentiable view of an image ``[1, C, H, W]``
  whose explanation features are its ``H * W`` pixels (Grad-CAM, XRAI need this layout).
* :class:`InterpretableView` (perturbation methods): ``d`` features switched on and off
  by binary masks ``[n, d]`` -> scores ``[n, C]``; its :class:`FeatureMap` relates them
  to the Explanation's features both ways (:class:`Subset`: some features are never
  perturbed, like [CLS]; :class:`Groups`: each perturbed feature is a group of them,
  like an image segment of pixels). Metrics and reports use the same map.
* :class:`TreeView` (TreeSHAP): a fitted tree model, the row in the model's encoding, a
  map from model columns back to features, the explained output and what the model's
  outputs are (:class:`TreeOutputs`).

This module imports neither adapters nor methods.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from xplain.errors import InvalidParameterError, MethodNotApplicableError

if TYPE_CHECKING:  # torch is imported where a view computes: listing methods needs no torch
    import torch


class View:
    """A kind of view. ``needs`` says what it takes of a model and ``models`` which models
    can give it (the registry shows both); ``missing`` why a method needing it cannot run
    where no adapter offers it."""

    needs: ClassVar[str] = ""
    models: ClassVar[str] = ""
    missing: ClassVar[str] = ""


# -- feature maps ----------------------------------------------------------------------------
class FeatureMap(ABC):
    """Both directions between a view's ``n_features`` and the Explanation's ``n_total``."""

    n_features: int
    n_total: int

    @abstractmethod
    def to_features(self, values: np.ndarray) -> np.ndarray:
        """Values of the view's features -> Explanation values (float ``[n_total]``).

        Args:
            values: One value per view feature, ``[n_features]``.
        """

    @abstractmethod
    def from_features(self, values: np.ndarray) -> np.ndarray:
        """Explanation values -> values of the view's features (float ``[n_features]``).

        ``from_features(to_features(v)) == v``: the metrics score an explanation from any
        method on the view through this map.

        Args:
            values: One value per Explanation feature, ``[n_total]``.
        """

    def restrict(self, keep: np.ndarray) -> FeatureMap:
        """The map of the view's features ``keep`` (int ``[d']``) alone; the others get 0."""
        return _Restricted(self, np.asarray(keep, dtype=np.int64))


@dataclass(frozen=True)
class Subset(FeatureMap):
    """The view's features are the Explanation's features ``active``; the others (e.g.
    [CLS]/[SEP]) are never perturbed and get value 0.

    Attributes:
        active: Int ``[n_features]``, the Explanation feature of each view feature.
        n_total: The number of Explanation features.
    """

    active: np.ndarray  # int [n_features], indices into the Explanation's features
    n_total: int

    @classmethod
    def all(cls, n: int) -> Subset:
        """The identity map of ``n`` features."""
        return cls(np.arange(n), n)

    @property
    def n_features(self) -> int:  # type: ignore[override]
        return int(len(self.active))

    def to_features(self, values: np.ndarray) -> np.ndarray:
        out = np.zeros(self.n_total)
        out[self.active] = np.asarray(values, dtype=np.float64)
        return out

    def from_features(self, values: np.ndarray) -> np.ndarray:
        return np.asarray(values, dtype=np.float64)[self.active]

    def restrict(self, keep: np.ndarray) -> Subset:
        return Subset(self.active[np.asarray(keep, dtype=np.int64)], self.n_total)


@dataclass(frozen=True)
class Groups(FeatureMap):
    """Each view feature is a group of Explanation features (an image segment of pixels).

    ``to_features`` spreads a group's value evenly over its members (value / size), so
    the members' values sum to the group's; ``from_features`` sums the members' values,
    its inverse. An explanation is thus scored by its group sums, however the values are
    spread inside each group.

    Attributes:
        groups: Int ``[n_total]``, the group (view feature, ``0..n_features-1``) of each
            Explanation feature.
        n_features: The number of groups.
    """

    groups: np.ndarray  # int [n_total]: the group of each Explanation feature, 0..n-1
    n_features: int

    @property
    def n_total(self) -> int:  # type: ignore[override]
        return int(len(self.groups))

    @property
    def sizes(self) -> np.ndarray:
        """Members per group ``[n_features]``."""
        return np.bincount(self.groups, minlength=self.n_features)

    def to_features(self, values: np.ndarray) -> np.ndarray:
        per_member = np.asarray(values, dtype=np.float64) / self.sizes
        return per_member[self.groups]

    def from_features(self, values: np.ndarray) -> np.ndarray:
        weights = np.asarray(values, dtype=np.float64)
        return np.bincount(self.groups, weights=weights, minlength=self.n_features)


@dataclass(frozen=True)
class _Restricted(FeatureMap):
    """The features ``keep`` of a map; the map's other features get 0."""

    base: FeatureMap
    keep: np.ndarray  # int [n_features] indices into base's features

    @property
    def n_features(self) -> int:  # type: ignore[override]
        return int(len(self.keep))

    @property
    def n_total(self) -> int:  # type: ignore[override]
        return self.base.n_total

    def to_features(self, values: np.ndarray) -> np.ndarray:
        full = np.zeros(self.base.n_features)
        full[self.keep] = np.asarray(values, dtype=np.float64)
        return self.base.to_features(full)

    def from_features(self, values: np.ndarray) -> np.ndarray:
        return self.base.from_features(values)[self.keep]


# -- gradient views --------------------------------------------------------------------------
@dataclass
class DifferentiableView(View):
    """What gradient methods see: ``forward`` maps ``[B, *S]`` to scores ``[B, C]``.

    Attributes:
        inputs: The instance as the model's input, ``[1, *S]`` (e.g. token embeddings).
        baseline: The reference input ``[1, *S]`` of path methods (Integrated Gradients,
            DeepLIFT).
        forward: Differentiable map of inputs ``[B, *S]`` to scores ``[B, C]``.
        aggregate: Per-dimension attributions ``[*S]`` -> one value per feature ``[d]``.
        scores: ``forward(inputs)[0]`` ``[C]`` when already known, else None.
        background: Reference inputs ``[K, *S]`` (DeepSHAP, GradientSHAP), or None.
        background_weights: ``[K]`` weights of the background rows summing to 1 (None:
            equal); SHAP methods explain f(x) minus the weighted mean of f(background).
        module: The network inside ``forward``, for hook-based methods, or None.
        noise_scale: The size of a typical change of the input, of which noise (e.g.
            SmoothGrad's ``noise_std``) is a fraction: a float or a tensor broadcasting to
            ``[1, *S]``. None: the input's range, max - min.
    """

    needs: ClassVar[str] = "gradients"
    models: ClassVar[str] = "differentiable (torch) models only"
    missing: ClassVar[str] = "it needs gradients and the model is not differentiable"

    inputs: torch.Tensor  # [1, *S]
    baseline: torch.Tensor  # [1, *S]
    forward: Callable[[torch.Tensor], torch.Tensor]
    aggregate: Callable[[torch.Tensor], np.ndarray]  # [*S] -> [d]
    scores: torch.Tensor | None = None  # [C] forward(inputs)[0] when already known
    background: torch.Tensor | None = None  # [K, *S] reference inputs (DeepSHAP, GradientSHAP)
    # [K] weights of the background rows, summing to 1 (None: equal); SHAP methods explain
    # f(x) - sum_k w_k f(background_k)
    background_weights: np.ndarray | None = None
    module: torch.nn.Module | None = None  # the network inside forward, for hook-based methods
    # the size of a typical change of the input, which noise (SmoothGrad's ``noise_std``) is
    # a fraction of: a float, or a tensor broadcasting to ``[1, *S]`` (one per dimension).
    # None: the input's range, max - min, Smilkov et al. (2017)'s scale for images; the
    # text adapter sets the spread of the token embeddings, the tabular one each encoded
    # column's standard deviation over the background
    noise_scale: float | torch.Tensor | None = None

    def __post_init__(self) -> None:
        if self.noise_scale is None:
            self.noise_scale = self.input_range

    def to_features(self, values: torch.Tensor) -> np.ndarray:
        """Per-dimension attributions -> one value per feature (float ``[d]``).

        Args:
            values: Attributions ``[*S]``, one per input dimension.
        """
        return np.asarray(self.aggregate(values), dtype=np.float64)

    def from_features(self, values: np.ndarray) -> np.ndarray:
        """Undefined: ``aggregate`` merges many dimensions into one feature (a sum, a norm,
        the largest channel), so feature values do not determine the dimensions'.

        Args:
            values: Feature values ``[d]`` (ignored).

        Raises:
            MethodNotApplicableError: always.
        """
        raise MethodNotApplicableError(
            "A differentiable view has no map from feature values back to input dimensions "
            "(its aggregation is many to one); score explanations on an interpretable view."
        )

    @property
    def input_range(self) -> float:
        """max - min of the input."""
        return float(self.inputs.max() - self.inputs.min())

    def scores_at(self, points: torch.Tensor) -> torch.Tensor:
        """Scores ``[N, C]`` at ``points`` without gradients, reusing ``scores`` for the input."""
        if self.scores is not None and points is self.inputs:
            return self.scores.reshape(1, -1)
        import torch

        with torch.no_grad():
            return self.forward(points)


@dataclass
class SpatialDifferentiableView(DifferentiableView):
    """A differentiable view of an image: ``inputs`` ``[1, C, H, W]`` (pixels in [0, 1]),
    whose Explanation features are the ``H * W`` pixels in row-major order.

    Methods that work on the image's layout (Grad-CAM's upsampled maps, XRAI's regions)
    need it; ``aggregate`` takes ``[C, H, W]`` to ``[H * W]``. Its fields are those of
    :class:`DifferentiableView` (``inputs``, ``baseline``, ``forward``, ``aggregate``,
    ``scores``, ``background``, ``background_weights``, ``module``, ``noise_scale``).

    Raises:
        InvalidParameterError: ``inputs`` is not 4-dimensional.
    """

    needs: ClassVar[str] = "gradients of an image [C, H, W]"
    missing: ClassVar[str] = (
        "it needs the gradients of an image (a spatial view [1, C, H, W], as the image "
        "adapter offers for torch models)"
    )

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.inputs.dim() != 4:
            raise InvalidParameterError(
                f"A SpatialDifferentiableView holds an image [1, C, H, W]; got inputs of "
                f"shape {tuple(self.inputs.shape)}."
            )


# -- perturbation views ----------------------------------------------------------------------
@dataclass
class InterpretableView(View):
    """What perturbation methods see: binary masks over ``n_features`` features -> scores.

    ``feature_map`` relates the view's features to the Explanation's (see
    :class:`FeatureMap`). Instead of a map, ``active`` and ``n_total`` may be given: the
    map is then ``Subset(active, n_total)``. With a map, ``active`` (a Subset's indices,
    else None) and ``n_total`` are read from it. ``null_players`` flags features whose
    removal provably changes no model input (a column equal to the instance's value in
    every background row): their Shapley value is exactly 0, so the Shapley methods
    leave them out of the game. ``distribution`` (a table's view) holds the training
    rows and the explained row, for methods that sample like the data (LIME).

    Attributes:
        n_features: ``d``, the number of features the masks switch.
        evaluate: Bool masks ``[n, d]`` (True: the feature is present) -> scores
            ``[n, C]``.
        scores: ``[C]`` the scores with all features present (the instance).
        base_scores: ``[C]`` the scores with all features absent.
        feature_map: The map to the Explanation's features, or None to give ``active``
            and ``n_total`` instead.
        active: Int ``[d]``, the Explanation features perturbed (a Subset map).
        n_total: The number of Explanation features (>= ``n_features``).
        distribution: The training rows and the explained row (a table's view), or None
            when the features can only be masked.
        null_players: Bool ``[d]``, features whose removal changes no model input, or
            None when unknown.
        batch_size: Masks per ``evaluate`` call when the method is given none; None: the
            method's default.
        baseline_games: The same game as a weighted mean of one game per background row
            (:class:`BaselineGames`), or None.

    Raises:
        InvalidParameterError: neither ``feature_map`` nor ``active`` and ``n_total`` is
            given, or the map's feature count differs from ``n_features``.
    """

    needs: ClassVar[str] = "masks"
    models: ClassVar[str] = "any model"
    missing: ClassVar[str] = "it needs a perturbation view, which this adapter lacks"

    n_features: int
    evaluate: Callable[[np.ndarray], np.ndarray]  # bool [n, d] -> float [n, C]
    scores: np.ndarray  # [C] all features present
    base_scores: np.ndarray  # [C] all features absent
    feature_map: FeatureMap | None = None
    active: np.ndarray | None = None  # int [d]: with n_total, a Subset map
    n_total: int | None = None  # number of features of the Explanation (>= n_features)
    # the data the instance comes from, for methods that sample like it (LIME on a table);
    # None: the features can only be masked
    distribution: Distribution | None = None
    null_players: np.ndarray | None = None  # bool [d], or None when unknown
    # masks per evaluate call when the method is given none; None: the method's default
    # (a view that batches its model calls itself, like the tabular one, takes them all)
    batch_size: int | None = None
    # the same game as a weighted mean of one baseline game per background row, or None
    baseline_games: BaselineGames | None = None

    def __post_init__(self) -> None:
        if self.feature_map is None:
            if self.active is None or self.n_total is None:
                raise InvalidParameterError(
                    "InterpretableView needs feature_map=, or active= and n_total= (the "
                    "Explanation features it perturbs, and how many there are)."
                )
            self.feature_map = Subset(np.asarray(self.active, dtype=np.int64), self.n_total)
        # the map decides (dataclasses.replace(view, feature_map=...) passes the old
        # active and n_total along, which the new map supersedes)
        fmap = self.feature_map
        self.active = fmap.active if isinstance(fmap, Subset) else None
        self.n_total = fmap.n_total
        if fmap.n_features != self.n_features:
            raise InvalidParameterError(
                f"The feature map of an InterpretableView has {fmap.n_features} features; "
                f"the view has n_features={self.n_features}."
            )

    def to_features(self, values: np.ndarray) -> np.ndarray:
        """Values of the view's features -> Explanation values (float ``[n_total]``).

        Args:
            values: One value per view feature, ``[n_features]``.
        """
        return self._map.to_features(values)

    def from_features(self, values: np.ndarray) -> np.ndarray:
        """An Explanation's values -> values of this view's features (float ``[d]``).

        Args:
            values: One value per Explanation feature, ``[n_total]``.
        """
        return self._map.from_features(values)

    @property
    def _map(self) -> FeatureMap:
        # never None after __post_init__; typed Optional only so that it may be omitted
        return self.feature_map  # type: ignore[return-value]


@dataclass
class BaselineGames:
    """The view's game as a weighted mean of baseline games, one per background row.

    ``v(z) = sum_k weights[k] v_k(z)``, where ``v_k(z)`` scores the instance with its absent
    features taken from background row ``k``. Shapley values are linear in the game, so the
    (interventional) Shapley value is the weighted mean of the baseline Shapley values of
    the ``v_k`` (Sundararajan and Najmi 2020, "The Many Shapley Values for Model
    Explanation", ICML). Game ``k`` has only ``players[k]`` as players, the features where
    row ``k`` differs from the instance (the others change nothing), so it is often small
    enough to enumerate.

    ``score`` maps model inputs to scores ``[n, C]``; views that one adapter built for the
    same output share it (compare with ``==``), so that a method may score the hybrids of
    many views in one model call.
    """

    weights: np.ndarray  # [K], summing to 1
    players: list[np.ndarray]  # K int arrays [m_k]: features that row k changes
    empty_scores: np.ndarray  # [K, C] v_k(empty), the score of background row k
    # (game [n], mask [n, d]) -> model inputs [n, ...]: the instance where the mask holds,
    # the game's background row elsewhere
    hybrids: Callable[[np.ndarray, np.ndarray], np.ndarray]
    score: Callable[[np.ndarray], np.ndarray]  # model inputs of n hybrids -> scores [n, C]


@dataclass(eq=False)
class TrainingData:
    """Training rows in a view's feature space: ``rows`` ``[N, d]`` of feature values
    (category codes for the ``categorical`` columns, bool ``[d]``).

    An adapter builds one per data set and shares it between its views, so a method can
    compute statistics of it once (:meth:`derived`).
    """

    rows: np.ndarray  # [N, d]
    categorical: np.ndarray  # bool [d]

    def __post_init__(self) -> None:
        self._derived: dict[Any, Any] = {}

    def derived(self, key: Any, build: Callable[[TrainingData], Any]) -> Any:
        """``build(self)``, computed once per ``key`` (e.g. a method's name and options)."""
        if key not in self._derived:
            # setdefault: two threads building it first still share one result
            self._derived.setdefault(key, build(self))
        return self._derived[key]


@dataclass
class Distribution:
    """The explained row among its training data, and how the model scores any row.

    ``row`` ``[d]`` holds the instance's feature values (as ``training.rows``); ``score``
    maps rows of feature values ``[n, d]`` to the view's scores ``[n, C]``.
    """

    training: TrainingData
    row: np.ndarray  # [d]
    score: Callable[[np.ndarray], np.ndarray]  # [n, d] -> [n, C]


@dataclass
class Neighbourhood:
    """Samples around an instance as LIME draws them for a modality (row 0: the instance)."""

    representation: np.ndarray  # [n, d] interpretable features (binary: same as instance?)
    scores: np.ndarray  # [n, C] model scores of the samples
    distances: np.ndarray  # [n] distance of each sample to the instance


# -- tree views ------------------------------------------------------------------------------
@dataclass(frozen=True)
class TreeOutputs:
    """What a tree model's outputs are: the facts that decide which score of it a tree
    method can explain (and how shap's TreeExplainer computes it)."""

    is_classifier: bool
    n_classes: int
    # how probabilities follow from the trees' summed margin: "logistic" (binary),
    # "softmax" (multi-class), or None (not checked, or not a link of the margin)
    link: str | None
    # the leaves hold class frequencies (forests, single trees): the raw output is the
    # probability itself, with no margin behind it
    leaves_hold_probabilities: bool


@dataclass
class TreeView(View):
    """What TreeSHAP sees: a fitted tree model and the row in the model's own encoding.

    ``output`` names the explained score (the explainer's ``output``: ``"probability"``,
    ``"log_odds"``, ``"raw"``...) and ``outputs`` what the model's outputs are; the method
    decides from them whether and how it can explain that score. ``to_features`` maps
    model-column values ``[m]`` to features ``[d]`` (one-hot columns summed back to their
    source column): many to one, so there is no ``from_features``.

    Attributes:
        model: The fitted tree ensemble, as ``shap.TreeExplainer`` accepts it.
        row: ``[1, m]`` the instance in the model's encoding (``m`` model columns).
        background: ``[k, m]`` background rows (interventional TreeSHAP), or None.
        output: The explained score, as the explainer's ``output=`` names it.
        outputs: What the model's outputs are (:class:`TreeOutputs`).
        class_index: Target class -> column of shap's output.
        to_features: Model-column values ``[m]`` -> feature values ``[d]``.
        scores: ``[C]`` the explained scores f(x), for the efficiency check, or None.
        base_scores: ``[C]`` weighted mean of f over the background, or None.
        background_weights: ``[k]`` weights of the background rows, or None (equal).
    """

    needs: ClassVar[str] = "a tree ensemble"
    models: ClassVar[str] = "tree ensembles only"
    missing: ClassVar[str] = "it needs a tree ensemble (scikit-learn trees, xgboost, lightgbm)"

    model: Any  # fitted tree ensemble accepted by shap.TreeExplainer
    row: np.ndarray  # [1, m] the instance as the model sees it
    background: np.ndarray | None  # [k, m] background rows (interventional TreeSHAP)
    output: str  # the explained score, as the explainer's output= names it
    outputs: TreeOutputs  # what the model's outputs are
    class_index: Callable[[int], int]  # target class -> column of shap's output
    to_features: Callable[[np.ndarray], np.ndarray]  # [m] model-column values -> [d]
    scores: np.ndarray | None = None  # [C] explained scores f(x), for the efficiency check
    base_scores: np.ndarray | None = None  # [C] weighted mean of f over the background
    background_weights: np.ndarray | None = None  # [k] weights of the background rows


# the names views had before they were types; methods and adapters written against them
# still work (Method.view = "differentiable" means DifferentiableView)
VIEW_NAMES: dict[str, type[View]] = {
    "differentiable": DifferentiableView,
    "interpretable": InterpretableView,
    "tree": TreeView,
}


def view_type(view: Any) -> type | None:
    """The view type ``view`` declares: a type as is, a legacy name mapped, else None."""
    if isinstance(view, type):
        return view
    if isinstance(view, str):
        return VIEW_NAMES.get(view)
    return None


def runs_on(view: Any, kind: type) -> bool:
    """Whether a method declaring ``view`` (a type or a legacy name) runs on ``kind`` views."""
    declared = view_type(view)
    return declared is not None and issubclass(declared, kind)


def view_name(view: Any) -> str:
    """How a declared view reads in a message: the type's name, or the value's repr."""
    return view.__name__ if isinstance(view, type) else repr(view)


__all__ = [
    "VIEW_NAMES",
    "BaselineGames",
    "DifferentiableView",
    "Distribution",
    "FeatureMap",
    "Groups",
    "InterpretableView",
    "Neighbourhood",
    "SpatialDifferentiableView",
    "Subset",
    "TrainingData",
    "TreeOutputs",
    "TreeView",
    "View",
    "runs_on",
    "view_name",
    "view_type",
]
