"""Tabular models seen as functions of a DataFrame, and the wrapper for any such callable."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from xplain.errors import InvalidParameterError, ModelOutputError
from xplain.models.base import EvalCounter
from xplain.models.outputs import check_finite

RETURNS = ("auto", "probability", "raw")
PROBABILITY_CLIP = 1e-15  # log-odds of a probability of exactly 0 or 1 stay finite


class TabularModel(EvalCounter):
    """A model of DataFrames: scores ``[n, C]`` of rows for one of its ``outputs``.

    ``outputs`` lists the scores it can explain, the default first: classifiers give
    ``"probability"``, ``"log_odds"`` (``log p - log(1 - p)`` per class) and, where the
    model has one, ``"raw"`` (its margin / decision function); regressors give ``"raw"``.
    """

    labels: list[str]
    outputs: tuple[str, ...]

    def scores(self, frame: pd.DataFrame, output: str) -> np.ndarray:
        """Scores ``[n, C]`` (float64) of the rows of ``frame``, checked."""
        self.count(len(frame))
        return self._checked(self._scores(frame, output), len(frame))

    def bind(self, frame: pd.DataFrame) -> None:
        """Call the model on sample rows: check it and learn its labels and outputs."""
        raise NotImplementedError

    def _scores(self, frame: pd.DataFrame, output: str) -> np.ndarray:
        raise NotImplementedError

    def _checked(self, out: Any, n: int) -> np.ndarray:
        """``out`` as ``[n, C]`` float64 with C = len(labels), or a ModelOutputError."""
        array = _numeric(out, self.source)
        if array.ndim == 1 and array.shape[0] == n:
            array = array[:, None]
        if array.ndim != 2 or array.shape[0] != n or array.shape[1] != len(self.labels):
            raise ModelOutputError(
                f"{self.source} must return {len(self.labels)} score(s) per row, shape "
                f"[{n}, {len(self.labels)}] for {n} rows. Got shape {list(array.shape)}."
            )
        check_finite(array, self.source)
        return array

    @property
    def source(self) -> str:
        return "The model"


class CallableModel(TabularModel):
    """Any function ``f(DataFrame) -> scores``: one row of scores per row of the frame.

    ``returns`` says what ``f`` gives: ``"probability"`` (class probabilities ``[n, C]``,
    or ``[n]`` the probability of the positive class of a binary model), ``"raw"``
    (any scores: a regression ``[n]`` or per-class scores ``[n, C]``, explained as they
    are), or ``"auto"`` (default): rows of ``C >= 2`` values in [0, 1] summing to 1 are
    probabilities, anything else is raw. ``labels`` names the output columns.
    """

    def __init__(
        self,
        fn: Callable[[pd.DataFrame], Any],
        *,
        labels: Sequence[str] | None = None,
        returns: str = "auto",
    ) -> None:
        super().__init__()
        if not callable(fn):
            raise InvalidParameterError(
                f"CallableModel expects a function of a DataFrame. Got {type(fn).__name__}."
            )
        if returns not in RETURNS:
            raise InvalidParameterError(
                f"The 'returns' parameter of CallableModel must be one of "
                f"{', '.join(map(repr, RETURNS))}. Got {returns!r}."
            )
        self.fn = fn
        self.returns = returns
        self.given_labels = [str(label) for label in labels] if labels is not None else None
        self.labels: list[str] = []
        self.outputs = ()
        self.binary = False  # returns P(class 1) only

    @property
    def source(self) -> str:
        return f"The model function {getattr(self.fn, '__name__', type(self.fn).__name__)!r}"

    def bind(self, frame: pd.DataFrame) -> None:
        """Call ``f`` on sample rows to learn its number of outputs and what they are."""
        out = _numeric(self.fn(frame), self.source)
        self.count(len(frame))
        if out.ndim not in (1, 2) or out.shape[0] != len(frame):
            raise ModelOutputError(
                f"{self.source} must return one score or one row of scores per row: shape "
                f"[{len(frame)}] or [{len(frame)}, C]. Got shape {list(out.shape)}."
            )
        check_finite(out, self.source)
        kind = self.returns
        if kind == "auto":
            kind = "probability" if out.ndim == 2 and _are_probabilities(out) else "raw"
        elif kind == "probability" and not _are_probabilities(
            out if out.ndim == 2 else np.stack([1 - out, out], 1)
        ):
            raise ModelOutputError(
                f"{self.source} was declared to return probabilities, but its values are not "
                "in [0, 1] with rows summing to 1; use CallableModel(f, returns='raw')."
            )
        self.binary = kind == "probability" and out.ndim == 1
        n_out = 2 if self.binary else (out.shape[1] if out.ndim == 2 else 1)
        default = ["prediction"] if n_out == 1 else [str(i) for i in range(n_out)]
        self.labels = self.given_labels or default
        if len(self.labels) != n_out:
            raise InvalidParameterError(
                f"{len(self.labels)} labels were given for a model with {n_out} outputs."
            )
        self.outputs = ("probability", "log_odds") if kind == "probability" else ("raw",)

    def _scores(self, frame: pd.DataFrame, output: str) -> np.ndarray:
        out = _numeric(self.fn(frame), self.source)
        if self.binary and out.ndim == 1:
            out = np.stack([1.0 - out, out], axis=1)
        return log_odds(out) if output == "log_odds" else out


def log_odds(probabilities: np.ndarray) -> np.ndarray:
    """``log p - log(1 - p)`` per class (p clipped to [1e-15, 1 - 1e-15])."""
    p = np.clip(probabilities, PROBABILITY_CLIP, 1.0 - PROBABILITY_CLIP)
    return np.log(p) - np.log1p(-p)


def _numeric(out: Any, source: str) -> np.ndarray:
    if hasattr(out, "detach"):  # a torch tensor
        out = out.detach().cpu().numpy()
    if np.asarray(out).dtype.kind == "c":  # a float cast would drop the imaginary part
        raise ModelOutputError(
            f"{source} returned complex scores (dtype {np.asarray(out).dtype}); xplain "
            "explains real scores. Return the real quantity you mean (e.g. .real or abs())."
        )
    try:
        return np.asarray(out, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ModelOutputError(
            f"{source} must return numeric scores (e.g. predict_proba, not predict). "
            f"Got {type(out).__name__}."
        ) from err


def _are_probabilities(out: np.ndarray) -> bool:
    return (
        out.ndim == 2
        and out.shape[1] >= 2
        and bool(np.all((out >= 0) & (out <= 1)))
        and bool(np.allclose(out.sum(1), 1.0, atol=1e-6))
    )
