"""What the metrics share: an explanation's attributions on the adapter's views."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from xplain.adapters.base import Encoded, InterpretableView
from xplain.errors import InvalidInputError, InvalidParameterError, MethodNotApplicableError
from xplain.explanation import Explanation
from xplain.methods.base import Method
from xplain.methods.build import build_method

if TYPE_CHECKING:
    from xplain.explainer import Explainer

DEFAULT_BATCH_SIZE = 256  # masks per model call


@dataclass(frozen=True)
class MaskedScores:
    """An explanation on its interpretable view: masks over the active features -> score.

    ``values`` are the attributions of the view's active features (special features such
    as [CLS] are never perturbed and are left out); ``score`` gives the explained score
    of class ``target`` (the Explanation's ``output``) for each mask.
    """

    view: InterpretableView
    values: np.ndarray  # [d]
    target: int
    batch_size: int = DEFAULT_BATCH_SIZE

    @property
    def d(self) -> int:
        return self.view.n_features

    @property
    def full(self) -> float:
        """Score with every feature present, f(x)."""
        return float(np.asarray(self.view.scores).reshape(-1)[self.target])

    @property
    def empty(self) -> float:
        """Score with every active feature removed."""
        return float(np.asarray(self.view.base_scores).reshape(-1)[self.target])

    def score(self, masks: np.ndarray) -> np.ndarray:
        """Scores ``[n]`` of bool masks ``[n, d]`` (True = present), in batches."""
        masks = np.asarray(masks, dtype=bool)
        out = np.empty(masks.shape[0])
        for start in range(0, masks.shape[0], self.batch_size):
            chunk = np.asarray(self.view.evaluate(masks[start : start + self.batch_size]))
            out[start : start + self.batch_size] = chunk.reshape(chunk.shape[0], -1)[
                :, self.target
            ]
        return out

    def order(self) -> np.ndarray:
        """Feature indices by decreasing attribution (ties keep feature order) ``[d]``."""
        return np.argsort(-self.values, kind="stable")


def encode_again(explainer: Explainer, explanation: Explanation) -> Encoded:
    """Encode the explained instance again and check it gives the explanation's features."""
    if explanation.instance is None:
        raise InvalidParameterError(
            "The explanation does not carry its instance (explanation.instance is None), "
            "so it cannot be evaluated; use one returned by Explainer.explain or compare."
        )
    encoded = explainer.adapter.encode(explanation.instance)
    if list(encoded.features) != list(explanation.features):
        raise InvalidParameterError(
            f"The explanation has {len(explanation.features)} features but this explainer "
            f"encodes its instance into {len(encoded.features)} different ones; evaluate an "
            "explanation with the explainer (and adapter settings) that produced it."
        )
    return encoded


def masked_scores(
    explainer: Explainer, explanation: Explanation, batch_size: int | None = None
) -> MaskedScores:
    """The explanation's attributions on the adapter's interpretable (mask) view."""
    if not explainer.adapter.supports("interpretable"):
        raise MethodNotApplicableError(
            f"This metric removes features through the adapter's perturbation view, which "
            f"{type(explainer.adapter).__name__} does not offer."
        )
    encoded = encode_again(explainer, explanation)
    view = explainer.adapter.interpretable_view(encoded, explanation.output)
    if view.n_features == 0:
        raise InvalidInputError(
            "The explained instance has no features that can be removed (only special "
            "ones), so removal metrics are undefined for it."
        )
    values = np.asarray(explanation.values, dtype=np.float64)[view.active]
    return MaskedScores(view, values, explanation.target, batch_size or DEFAULT_BATCH_SIZE)


def rebuild_method(explanation: Explanation) -> tuple[str, dict[str, Any], Method]:
    """The method (name, parameters, object) that produced ``explanation``.

    A gradient method run with noise parameters was wrapped in SmoothGrad, whose recorded
    parameters include ``base``; it is rebuilt the same way ``Explainer.explain`` built it.
    """
    params = dict(explanation.params)
    if explanation.method != "smoothgrad":
        params.pop("base", None)
    return explanation.method, params, build_method(explanation.method, params)


def relative_gap(total: float, expected: float) -> float:
    """``|total - expected| / |expected|`` (inf when expected is 0 and total is not)."""
    if expected == 0:
        return 0.0 if total == 0 else float("inf")
    return abs(total - expected) / abs(expected)
