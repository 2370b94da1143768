"""What every model wrapper offers: class labels, an evaluation counter, output checks."""

from __future__ import annotations

import torch

from xplain.errors import ModelOutputError


class EvalCounter:
    """Counts the rows a model has evaluated (what ``Explanation.n_model_evals`` reports)."""

    def __init__(self) -> None:
        self.n_evals = 0

    def count(self, n_rows: int) -> None:
        self.n_evals += int(n_rows)


def as_class_scores(output: object, n_rows: int, source: str) -> torch.Tensor:
    """Check a model output is ``[n_rows, C]`` scores; a single column becomes 2 classes.

    A one-logit binary classifier ``z`` is presented as logits ``[-z/2, z/2]``, whose
    softmax is ``[1 - sigmoid(z), sigmoid(z)]`` and whose logit difference is ``z``.
    """
    logits = getattr(output, "logits", output)
    if isinstance(output, tuple | list) and output:
        logits = output[0]
    if not isinstance(logits, torch.Tensor):
        raise ModelOutputError(
            f"{source} must return a tensor of class scores (or an object with .logits). "
            f"Got {type(logits).__name__}."
        )
    if logits.ndim == 1 and logits.shape[0] == n_rows:
        logits = logits[:, None]
    if logits.ndim != 2 or logits.shape[0] != n_rows:
        raise ModelOutputError(
            f"{source} must return scores of shape [batch, n_classes] = [{n_rows}, C]. "
            f"Got shape {list(logits.shape)}."
        )
    if logits.shape[1] == 1:
        logits = torch.cat([-logits / 2, logits / 2], dim=1)
    return logits



OUTPUTS = ("logits", "probability", "log_probability")


def explained_scores(logits: torch.Tensor, output: str) -> torch.Tensor:
    """The scores a method explains: raw logits, probabilities or log-probabilities."""
    if output == "logits":
        return logits
    if output == "probability":
        return torch.softmax(logits, dim=-1)
    return torch.log_softmax(logits, dim=-1)
