"""What the metrics share: an explanation's attributions on the adapter's views."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from xplain._identity import instance_fingerprint
from xplain.adapters.base import Encoded
from xplain.errors import InvalidInputError, InvalidParameterError, MethodNotApplicableError
from xplain.explanation import Explanation
from xplain.methods.base import Method
from xplain.methods.build import build_method
from xplain.methods.perturbation._sampling import check_budget
from xplain.views import InterpretableView

if TYPE_CHECKING:
    from xplain.explainer import Explainer

DEFAULT_BATCH_SIZE = 256  # masks per model call
CHUNK_BYTES = 2**26  # masks (and their random keys) built at once: 64 MiB


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

    def plan(self, owner: str, n_masks: int, fix: str) -> None:
        """Refuse ``n_masks`` masks beyond ``xplain.limits`` before any of them is scored."""
        check_budget(owner, self.view, n_masks, fix)

    def order(self) -> np.ndarray:
        """Feature indices by decreasing attribution (ties keep feature order) ``[d]``."""
        return np.argsort(-self.values, kind="stable")


def checked_values(explanation: Explanation, role: str = "The explanation") -> np.ndarray:
    """The explanation's values ``[d]`` as float64, refused unless one finite value per
    feature (a NaN would make every metric NaN, or worse, a confident score)."""
    values = np.asarray(explanation.values, dtype=np.float64)
    if values.shape != (explanation.n_features,):
        raise InvalidInputError(
            f"{role} ({explanation.method!r}) has {values.size} values of shape "
            f"{list(values.shape)} for {explanation.n_features} features; an explanation needs "
            "exactly one value per feature. Use the Explanation that Explainer.explain returned."
        )
    bad = ~np.isfinite(values)
    if bad.any():
        raise InvalidInputError(
            f"{role} ({explanation.method!r}) has {int(bad.sum())} non-finite values (NaN or "
            f"inf; first at feature {explanation.features[int(np.argmax(bad))]!r}); metrics "
            "are undefined for them. Re-explain the instance (check the model's outputs are "
            "finite) or replace those values before evaluating."
        )
    return values


def chunks(n: int, bytes_per_row: int) -> Iterator[tuple[int, int]]:
    """``(start, stop)`` of consecutive chunks of ``n`` rows, about ``CHUNK_BYTES`` each."""
    step = max(1, CHUNK_BYTES // max(bytes_per_row, 1))
    for start in range(0, n, step):
        yield start, min(n, start + step)


def writable_instance(explanation: Explanation) -> Any:
    """The explained instance, as a writable copy where it is an array (an Explanation's
    own is read-only, and adapters may hand it to torch, which warns on such arrays)."""
    instance = explanation.instance
    return instance.copy() if isinstance(instance, np.ndarray) else instance


def encode_again(explainer: Explainer, explanation: Explanation) -> Encoded:
    """Encode the explained instance again and check the explanation belongs to it.

    Refuses an explanation whose values are not one finite number per feature, one of
    another model than the explainer's (``model_id``), one whose instance differs from the
    one it explained (``instance_id``), and one whose features differ from those the
    adapter gives the instance. Explanations built by hand (no ids) are checked on their
    features only.
    """
    checked_values(explanation)
    if explanation.instance is None:
        raise InvalidParameterError(
            f"The {explanation.method!r} explanation does not carry its instance "
            "(explanation.instance is None: built by hand, or restored by "
            "Explanation.from_dict from a dict without 'instance'), so the metric cannot "
            "re-run the model on it; evaluate one returned by Explainer.explain or compare, "
            "or restored from its full to_dict()."
        )
    encoded = check_provenance(explainer, explanation)
    if list(encoded.features) != list(explanation.features):
        raise InvalidParameterError(
            f"The explanation has {len(explanation.features)} features but this explainer "
            f"encodes its instance into {len(encoded.features)} different ones; evaluate an "
            "explanation with the explainer (and adapter settings) that produced it."
        )
    return encoded


def check_provenance(explainer: Explainer, explanation: Explanation) -> Encoded:
    """Refuse an explanation of another model (``model_id``) or whose instance is not the
    one it explained (``instance_id``); ids absent (built by hand) are not checked.

    Args:
        explainer: The explainer the metric runs.
        explanation: The explanation scored; it must carry its instance.

    Returns:
        The instance encoded again by the explainer's adapter.
    """
    if explanation.model_id is not None and explanation.model_id != explainer.model_id:
        raise InvalidInputError(
            f"The {explanation.method!r} explanation was made with another model (model_id "
            f"{explanation.model_id}) than this explainer's (model_id {explainer.model_id}); "
            "a metric would score this explainer's model on it. Evaluate an explanation with "
            "the explainer that produced it (or re-explain the instance with this explainer)."
        )
    encoded = explainer.adapter.encode(writable_instance(explanation))
    if explanation.instance_id is not None:
        found = instance_fingerprint(encoded.instance)
        if found != explanation.instance_id:
            raise InvalidInputError(
                f"The {explanation.method!r} explanation's instance is not the one it explained "
                f"(instance_id {explanation.instance_id}, but its instance encodes to {found}); "
                "its values belong to another input. Re-explain the instance you want to "
                "evaluate."
            )
    return encoded


def masked_scores(
    explainer: Explainer, explanation: Explanation, batch_size: int | None = None
) -> MaskedScores:
    """The explanation's attributions on the adapter's interpretable (mask) view."""
    if not explainer.adapter.supports(InterpretableView):
        raise MethodNotApplicableError(
            f"This metric removes features through the adapter's perturbation view, which "
            f"{type(explainer.adapter).__name__} does not offer."
        )
    encoded = encode_again(explainer, explanation)
    view = explainer.adapter.view(InterpretableView, encoded, explanation.output)
    if view.n_features == 0:
        raise InvalidInputError(
            "The explained instance has no features that can be removed (only special "
            "ones), so removal metrics are undefined for it."
        )
    # the only way from the explanation's features to the view's: its feature map (image
    # segments sum their pixels' values; text and tabular views keep their active features)
    values = view.from_features(np.asarray(explanation.values, dtype=np.float64))
    return MaskedScores(view, values, explanation.target, batch_size or DEFAULT_BATCH_SIZE)


def rebuild_method(explanation: Explanation) -> tuple[str, dict[str, Any], Method]:
    """The method (name, parameters, object) that produced ``explanation``, rebuilt from
    its record (:func:`~xplain.methods.build_method` inverts what an Explanation records)."""
    params = dict(explanation.params)
    return explanation.method, params, build_method(explanation.method, params)
