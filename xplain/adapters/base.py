"""The adapter interface: how a modality presents one instance to the methods.

An adapter turns a raw instance (text, row, image) into two views that methods use
without knowing the modality:

* :class:`DifferentiableView` for gradient methods: a tensor ``x`` of shape ``[1, *S]``
  (token embeddings, pixels, numeric columns), a baseline of the same shape, a
  differentiable ``forward`` from ``[B, *S]`` to explained scores ``[B, C]``, and a rule
  that aggregates per-dimension attributions ``[*S]`` to one value per feature.
* :class:`InterpretableView` for perturbation methods: ``d`` features and an ``evaluate``
  function turning binary masks ``[n, d]`` (True = feature present) into scores ``[n, C]``,
  optionally with a modality-specific LIME neighbourhood sampler.
  A view whose game is a mean over background rows may also describe it as
  :class:`BaselineGames`, one small game per row, which Shapley estimators exploit.
* :class:`TreeView` for TreeSHAP: the fitted tree model, the row in the model's own
  encoding, background rows, and a map from model columns back to features.

Each view has ``to_features`` turning a method's raw result into one value per feature
of the Explanation (``encoded.features``). A method declares which view it needs with its
``view`` class attribute; an adapter offers a view by overriding ``<view>_view``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import numpy as np
import torch

from xplain.errors import InvalidInputError


@dataclass
class Encoded:
    """One validated instance as the adapter sees it, plus what the Explanation shows."""

    features: list[str]
    instance: Any
    data: dict[str, Any] = field(default_factory=dict)
    notes: dict[str, Any] = field(default_factory=dict)
    special: np.ndarray | None = None  # bool [d]: features that are never perturbed


@dataclass
class DifferentiableView:
    """What gradient methods see: ``forward`` maps ``[B, *S]`` to scores ``[B, C]``."""

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
        """Per-dimension attributions ``[*S]`` -> one value per feature ``[d]``."""
        return np.asarray(self.aggregate(values), dtype=np.float64)

    @property
    def input_range(self) -> float:
        """max - min of the input."""
        return float(self.inputs.max() - self.inputs.min())

    def scores_at(self, points: torch.Tensor) -> torch.Tensor:
        """Scores ``[N, C]`` at ``points`` without gradients, reusing ``scores`` for the input."""
        if self.scores is not None and points is self.inputs:
            return self.scores.reshape(1, -1)
        with torch.no_grad():
            return self.forward(points)


@dataclass
class InterpretableView:
    """What perturbation methods see: binary masks over ``d`` features -> scores.

    ``active`` lists the indices (into the Explanation's features) that are perturbed;
    features outside it (e.g. [CLS]/[SEP] tokens) are always present and get value 0.
    ``null_players`` flags features whose removal provably changes no model input (a
    column equal to the instance's value in every background row): their Shapley value
    is exactly 0, so the Shapley methods leave them out of the game.
    """

    n_features: int
    evaluate: Callable[[np.ndarray], np.ndarray]  # bool [n, d] -> float [n, C]
    active: np.ndarray  # int [d]
    scores: np.ndarray  # [C] all features present
    base_scores: np.ndarray  # [C] all features absent
    n_total: int  # number of features of the Explanation (>= n_features)
    # LIME's modality-specific sampling (e.g. tabular: Gaussian or quartile bins from
    # training statistics); None means "sample binary masks", as LIME does for text.
    sample_neighbourhood: Callable[[int, np.random.Generator], Neighbourhood] | None = None
    null_players: np.ndarray | None = None  # bool [d], or None when unknown
    # masks per evaluate call when the method is given none; None: the method's default
    # (a view that batches its model calls itself, like the tabular one, takes them all)
    batch_size: int | None = None
    # the same game as a weighted mean of one baseline game per background row, or None
    baseline_games: BaselineGames | None = None

    def to_features(self, values: np.ndarray) -> np.ndarray:
        """Values ``[n_features]`` of the active features -> ``[n_total]`` (0 elsewhere)."""
        out = np.zeros(self.n_total)
        out[self.active] = np.asarray(values, dtype=np.float64)
        return out

    def from_features(self, values: np.ndarray) -> np.ndarray:
        """An Explanation's values ``[n_total]`` -> values of this view's features ``[d]``.

        The inverse of ``to_features`` on its image; views whose features are not a subset
        of the Explanation's (image segments over pixels) override both.
        """
        return np.asarray(values, dtype=np.float64)[self.active]


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


@dataclass
class Neighbourhood:
    """Samples around an instance as LIME draws them for a modality (row 0: the instance)."""

    representation: np.ndarray  # [n, d] interpretable features (binary: same as instance?)
    scores: np.ndarray  # [n, C] model scores of the samples
    distances: np.ndarray  # [n] distance of each sample to the instance


@dataclass
class TreeView:
    """What TreeSHAP sees: a fitted tree model and the row in the model's own encoding."""

    model: Any  # fitted tree ensemble accepted by shap.TreeExplainer
    row: np.ndarray  # [1, m] the instance as the model sees it
    background: np.ndarray | None  # [k, m] background rows (interventional TreeSHAP)
    model_output: str  # "raw", "probability" or "log_loss", as shap.TreeExplainer names it
    class_index: Callable[[int], int]  # target class -> column of shap's output
    to_features: Callable[[np.ndarray], np.ndarray]  # [m] model-column values -> [d]
    scores: np.ndarray | None = None  # [C] explained scores f(x), for the efficiency check
    base_scores: np.ndarray | None = None  # [C] weighted mean of f over the background
    background_weights: np.ndarray | None = None  # [k] weights of the background rows


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
        """The model's prediction ``[C]``: class probabilities (or a regression output)."""

    def differentiable_view(self, encoded: Encoded, output: str) -> DifferentiableView:
        """The gradient view (override when the model is differentiable)."""
        raise NotImplementedError

    def interpretable_view(self, encoded: Encoded, output: str) -> InterpretableView:
        """The perturbation view: binary masks over features -> scores."""
        raise NotImplementedError

    def tree_view(self, encoded: Encoded, output: str) -> TreeView:
        """The tree view (override when the model is a tree ensemble)."""
        raise NotImplementedError

    def supports(self, view: str) -> bool:
        """Whether this adapter, for its model, offers ``view`` ("differentiable", ...)."""
        return getattr(type(self), f"{view}_view") is not getattr(Adapter, f"{view}_view")

    def view(self, kind: str, encoded: Encoded, output: str) -> Any:
        """The view of ``encoded`` that a method of kind ``kind`` needs."""
        return getattr(self, f"{kind}_view")(encoded, output)

    # -- many instances (explain_batch) ------------------------------------------------------
    def split_batch(self, instances: Any) -> list[Any]:
        """The instances of a batch, one item per instance (override for table-like batches).

        By default a batch is any iterable of instances: a list, or the first axis of an
        array or tensor (``[N, C, H, W]`` images, ``[N, d]`` rows).
        """
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
        """Predictions ``[N, C]`` of many instances (override to make it one model call)."""
        return np.stack([np.asarray(self.predict(e), dtype=np.float64) for e in encoded])

    def view_batch(self, kind: str, encoded: Sequence[Encoded], output: str) -> list[Any]:
        """The views of many instances, from ``<kind>_view_batch`` when the adapter has one.

        Views built together may share their parts (the same model and background
        objects), which is what batched methods (``Method.attribute_batch``) look for.
        """
        build = getattr(self, f"{kind}_view_batch", None)
        if build is not None:
            return list(build(encoded, output))
        return [self.view(kind, e, output) for e in encoded]
