"""Occlusion: the drop in score when a feature, or a window of features, is hidden."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from xplain._validation import NONE, Interval, Param
from xplain.errors import InvalidParameterError
from xplain.methods.base import Attribution, PerturbationMethod
from xplain.methods.perturbation._sampling import (
    check_budget,
    default_batch_size,
    evaluate_target,
    window_starts,
    windows_at,
)
from xplain.registry import register_method
from xplain.views import InterpretableView

MASK_BYTES = 2**26  # window masks held at once (64 MiB)


@register_method
class Occlusion(PerturbationMethod):
    """Hide features and record how much the explained score falls.

    Zeiler and Fergus (2014), "Visualizing and Understanding Convolutional Networks"
    (ECCV). With ``window=1`` this is leave-one-out: ``phi_i = f(x) - f(x without i)``.
    With ``window=w`` a window of ``w`` consecutive features (in the view's order: tokens
    of a text, segments of an image) slides by ``stride``; each window's drop
    ``f(x) - f(x without the window)`` is credited to every feature it covers, and a
    feature's value is the mean over the windows covering it, as Captum's ``Occlusion``
    does. A window longer than the input is shortened to the input (noted in the
    diagnostics). All windows go through the model in batches of ``internal_batch_size``
    masks, their masks built chunk by chunk; more windows than ``xplain.limits.max_model_rows``
    are refused (ResourceLimitError) before any is scored.
    """

    name: ClassVar[str] = "occlusion"
    reference: ClassVar[str] = "Zeiler and Fergus 2014, arXiv:1311.2901"
    known_truth: ClassVar[str | None] = "exact"
    parameters = {
        "window": Param(1, Interval(int, 1), doc="consecutive features hidden together"),
        "stride": Param(1, Interval(int, 1), doc="step between windows (<= window)"),
        "internal_batch_size": Param(None, Interval(int, 1), NONE, doc="masks per model call"),
    }

    def __init__(self, **params: Any) -> None:
        super().__init__(**params)
        if self.params["stride"] > self.params["window"]:
            raise InvalidParameterError(
                f"The 'stride' parameter of occlusion must be <= window="
                f"{self.params['window']}, or some features would never be hidden. "
                f"Got {self.params['stride']}."
            )

    def attribute(self, view: InterpretableView, target: int) -> Attribution:
        d = view.n_features
        if d == 0:
            return Attribution(np.zeros(0), {"n_windows": 0})
        window = min(self.params["window"], d)
        starts = window_starts(d, window, self.params["stride"])  # [w]
        check_budget("occlusion", view, starts.shape[0], "raise stride")
        # windows in chunks, so that a long input never holds its [w, d] masks at once
        step = self.params["internal_batch_size"] or view.batch_size or default_batch_size(d)
        step = max(1, min(step, MASK_BYTES // d))
        totals, counts = np.zeros(d), np.zeros(d)
        for first in range(0, starts.shape[0], step):
            hidden = windows_at(d, window, starts[first : first + step])  # [c, d]
            batch = self.params["internal_batch_size"]
            scores = evaluate_target(view, ~hidden, target, batch)  # [c]
            drops = float(view.scores[target]) - scores  # [c]
            totals += (hidden * drops[:, None]).sum(0)
            counts += hidden.sum(0)
        values = totals / counts  # mean over the windows covering each feature: [d]
        diagnostics: dict[str, Any] = {"n_windows": int(starts.shape[0])}
        if window < self.params["window"]:
            diagnostics["window_shortened"] = (
                f"window={self.params['window']} is longer than the {d} features; used {d}"
            )
        return Attribution(values, diagnostics)
