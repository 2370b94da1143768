"""What a model returns, read as class logits; non-finite scores refused.

A torch model may end in logits, probabilities (``nn.Softmax``), log-probabilities
(``nn.LogSoftmax``), one logit ``z`` of a binary classifier, or one probability
(``nn.Sigmoid``). :class:`OutputReader` learns which (from the last layer, confirmed by
the first output, or from the first output alone) and turns every output into logits
``[n, C]`` (C >= 2) whose softmax is the model's class probabilities:

* probabilities ``p`` -> ``log p`` (``softmax(log p) = p``: the prediction is the model's
  own output, and output ``"probability"`` explains it, as Captum does with ``target=c``);
* log-probabilities -> themselves;
* one logit ``z`` -> ``[0, z]`` (probabilities ``[1 - sigmoid(z), sigmoid(z)]``; the
  logit of class 1 is ``z`` itself, as Captum explains it with ``target=0``);
* one probability ``p`` -> ``[0, logit(p)]`` (probabilities ``[1 - p, p]``).

A model may also declare what it returns (``declared``; Hugging Face's
``config.problem_type``): ``"regression"`` scores and ``"multi_label"`` logits (one
independent sigmoid per label) are explained as they are, and no softmax makes them
class probabilities.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from xplain.errors import ModelOutputError

# what the model returns -> the outputs methods may explain, the default first
OUTPUTS_BY_KIND = {
    "logits": ("logits", "probability", "log_probability"),
    "logit": ("logits", "probability", "log_probability"),
    "probability": ("probability", "log_probability", "logits"),
    "sigmoid": ("probability", "log_probability", "logits"),
    "log_probability": ("log_probability", "probability", "logits"),
    # declared by the model: a softmax over these outputs is no probability of the model's
    "regression": ("logits",),
    "multi_label": ("logits",),
}
DECLARED_NOTES = {
    "regression": "the model is a regression (config.problem_type): its outputs are "
    "explained and shown as they are, not as class probabilities",
    "multi_label": "the model's labels are independent (config.problem_type "
    "'multi_label_classification'): the prediction is a sigmoid per label, and the logits "
    "are explained (a softmax over the labels would not be the model's probabilities)",
}
_LAST_LAYERS = {
    torch.nn.Softmax: "probability",
    torch.nn.LogSoftmax: "log_probability",
    torch.nn.Sigmoid: "sigmoid",
}


class OutputReader:
    """Reads a torch model's outputs as class logits, learning once what they are."""

    def __init__(
        self, module: torch.nn.Module, source: str, declared: str | None = None
    ) -> None:
        self.source = source
        self.layer = last_layer(module)
        self.structural = _LAST_LAYERS.get(type(self.layer)) if self.layer else None
        normalised = self.structural in ("probability", "log_probability")
        if normalised and getattr(self.layer, "dim", None) not in (None, 1, -1):
            self.structural = None  # normalised over another dimension than the classes
        self.kind: str | None = self.structural  # confirmed (or not) by the first output
        self.note: str | None = None
        if declared is not None:  # "regression" or "multi_label": nothing to learn
            self.structural = self.kind = declared
            self.note = DECLARED_NOTES[declared]

    @property
    def outputs(self) -> tuple[str, ...]:
        """The scores methods may explain, the default (the model's own output) first."""
        return OUTPUTS_BY_KIND[self.kind or "logits"]

    @property
    def single_output(self) -> bool:
        """Whether the model returns one score per row (class 1's logit or probability)."""
        return self.kind in ("logit", "sigmoid")

    def prediction(self, logits: torch.Tensor) -> torch.Tensor:
        """What the model predicts ``[n, C]`` (float64), from logits this reader returned:
        class probabilities, a sigmoid per label (multi-label) or the regression's scores."""
        values = logits.detach().double()
        if self.kind == "regression":
            return values
        if self.kind == "multi_label":
            return torch.sigmoid(values)
        return torch.softmax(values, dim=-1)

    def logits(self, output: Any, n_rows: int) -> torch.Tensor:
        """Logits ``[n_rows, C]`` (C >= 2, differentiable) of a model output, checked."""
        raw = _score_tensor(output, n_rows, self.source)  # [n, K]
        check_finite(raw.detach(), self.source)
        if self.kind is None or self.note is None:
            self._learn(raw.detach())
        if self.kind == "probability":
            # p = 0 (underflow) would give -inf; its gradient is 0 there anyway
            return torch.log(raw.clamp_min(torch.finfo(raw.dtype).tiny))
        if self.kind == "logit":
            return torch.cat([torch.zeros_like(raw), raw], dim=1)
        if self.kind == "sigmoid":
            tiny = torch.finfo(raw.dtype).tiny
            p = raw.clamp(tiny, 1.0 - torch.finfo(raw.dtype).eps)
            return torch.cat([torch.zeros_like(p), torch.log(p) - torch.log1p(-p)], dim=1)
        return raw

    def _learn(self, raw: torch.Tensor) -> None:
        """Decide from the first output what the model returns (and say it in ``note``)."""
        layer = type(self.layer).__name__
        kind, seen = _kind_of(raw), self.structural
        if seen == "sigmoid" and raw.shape[1] == 1 and bool(((raw >= 0) & (raw <= 1)).all()):
            self.kind = "sigmoid"
            self.note = (
                f"the model returns one probability p of class 1 (its last layer is {layer}): "
                "the classes' probabilities are [1 - p, p]"
            )
            return
        self.kind = kind
        if kind == "logit":
            self.note = (
                "the model returns one score z per input, read as the logit of class 1 "
                "(probabilities [1 - sigmoid(z), sigmoid(z)]); target=None explains z"
            )
        elif kind in ("probability", "log_probability"):
            what = "class probabilities" if kind == "probability" else "log-probabilities"
            how = (
                f"its last layer is {layer}"
                if kind == seen
                else "on every row of its first call, its outputs were non-negative and "
                "summed to 1"
                if kind == "probability"
                else "on every row of its first call, its outputs were <= 0 and their "
                "exponentials summed to 1"
            )
            logits = "their logarithms" if kind == "probability" else "these log-probabilities"
            self.note = (
                f"the model returns {what} ({how}); they are not normalised again: the "
                f"logits the methods see are {logits}"
            )
        else:
            self.note = ""


def last_layer(module: torch.nn.Module) -> torch.nn.Module | None:
    """The final registered leaf module (an ``nn.Sequential``'s last layer), or None."""
    children = list(module.children())
    if not children:
        return None
    layer = children[-1]
    while list(layer.children()):
        layer = list(layer.children())[-1]
    return layer


def check_finite(scores: torch.Tensor | np.ndarray, source: str) -> None:
    """Raise ModelOutputError naming the rows and classes of ``scores [n, C]`` not finite."""
    if isinstance(scores, torch.Tensor):  # any dtype (bfloat16 has no numpy twin), any device
        finite = torch.isfinite(scores)
        if bool(finite.all()):  # one reduction on the device in the usual case
            return
        bad, nan = (~finite).cpu().numpy(), torch.isnan(scores).cpu().numpy()
    else:
        bad, nan = ~np.isfinite(scores), np.isnan(scores)
    if not bad.any():
        return
    bad = bad.reshape(len(bad), -1)
    rows = np.flatnonzero(bad.any(1))
    classes = np.flatnonzero(bad.any(0))
    kinds = " and ".join(
        name for name, hit in (("NaN", nan.any()), ("infinite", (bad & ~nan).any())) if hit
    )
    raise ModelOutputError(
        f"{source} returned {kinds} scores for {len(rows)} of the {len(bad)} input(s) of "
        f"one call (output column(s) {', '.join(map(str, classes[:10]))}"
        f"{', ...' if len(classes) > 10 else ''}). A non-finite score has no explanation: "
        "find where the model overflows or divides by zero on such inputs (log of 0, "
        "exp of a large value, an untrained or corrupted weight) and fix the model."
    )


def _score_tensor(output: Any, n_rows: int, source: str) -> torch.Tensor:
    """The model's scores ``[n_rows, K]``: from a tensor, a tuple, or an object's ``.logits``."""
    scores = getattr(output, "logits", output)
    if isinstance(output, tuple | list) and output:
        scores = output[0]
    if not isinstance(scores, torch.Tensor):
        raise ModelOutputError(
            f"{source} must return a tensor of class scores (or an object with .logits). "
            f"Got {type(scores).__name__}."
        )
    if scores.ndim == 1 and scores.shape[0] == n_rows:
        scores = scores[:, None]
    if scores.ndim != 2 or scores.shape[0] != n_rows or scores.shape[1] == 0:
        raise ModelOutputError(
            f"{source} must return scores of shape [batch, n_classes] = [{n_rows}, C]. "
            f"Got shape {list(scores.shape)}."
        )
    return scores


def _kind_of(raw: torch.Tensor) -> str:
    """What an output ``[n, K]`` is: "logit" (K = 1), "probability", "log_probability"
    (rows normalised within rounding: ``max(1e-6, K * eps)``) or "logits"."""
    if raw.shape[1] == 1:
        return "logit"
    if not raw.is_floating_point():
        return "logits"  # whole-number scores are no probabilities to take logs of
    tolerance = max(1e-6, raw.shape[1] * torch.finfo(raw.dtype).eps)
    values = raw.double()
    if bool((values >= 0).all()) and bool(((values.sum(1) - 1).abs() <= tolerance).all()):
        return "probability"
    if bool((values <= 0).all()) and bool(
        (torch.logsumexp(values, 1).abs() <= tolerance).all()
    ):
        return "log_probability"
    return "logits"
