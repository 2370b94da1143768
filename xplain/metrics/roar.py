"""RemOve And Retrain (ROAR): does accuracy fall when the important features are gone?"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone, is_classifier
from sklearn.metrics import get_scorer
from sklearn.model_selection import train_test_split

from xplain._validation import NONE, SEED, Interval, Param, Satisfies, validate_params
from xplain.errors import InvalidInputError, InvalidParameterError

ROAR_FRACTIONS = (0.0, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9)
_ROAR = {
    "fractions": Param(
        ROAR_FRACTIONS,
        Satisfies(
            lambda v: len(v) > 0 and all(0 <= float(f) <= 1 for f in v),
            "a non-empty sequence of fractions in [0, 1]",
        ),
        doc="fractions of the features removed",
    ),
    "test_size": Param(0.25, Interval(float, 0, 1, closed="neither"), doc="held-out share"),
    "scoring": Param(None, Satisfies(lambda v: isinstance(v, str), "a scorer name"), NONE),
    "seed": Param(0, SEED, doc="seed of the train/test split"),
}


def remove_and_retrain(
    estimator: Any,
    X: Any,
    y: Any,
    importance: Any,
    *,
    fractions: Sequence[float] = ROAR_FRACTIONS,
    test_size: float = 0.25,
    scoring: str | None = None,
    seed: int | None = 0,
) -> pd.DataFrame:
    """Held-out score of a scikit-learn model retrained without its most important features.

    Hooker, Erhan, Kindermans and Kim (2019), "A Benchmark for Interpretability Methods in
    Deep Neural Networks" (NeurIPS). For each fraction ``k``, the top ``round(k m)`` of the
    ``m`` columns by ``|importance|`` are replaced by their training-set mean (in the
    training and the test split), a fresh ``sklearn.base.clone`` of ``estimator`` is fitted
    on the training split, and scored on the test split (``estimator.score``, i.e.
    accuracy for classifiers, or the named ``scoring``). A better importance makes the
    score fall faster: lower is better. The estimator itself is never fitted.

    ``importance`` is a global vector ``[m]`` (e.g. mean |attribution| over rows), or one
    row per instance ``[n, m]``, aligned with ``X``, as in the paper, where each row loses
    its own top features. ``X`` is numeric (a DataFrame keeps its column names).
    """
    p = validate_params(
        "remove_and_retrain",
        _ROAR,
        {"fractions": fractions, "test_size": test_size, "scoring": scoring, "seed": seed},
    )
    frame = X if isinstance(X, pd.DataFrame) else None
    values = _numeric(X)  # [n, m]
    target = np.asarray(y)
    ranking = _ranking(np.asarray(importance, dtype=np.float64), values.shape)  # [n, m]
    stratify = target if is_classifier(estimator) else None
    split = train_test_split(
        np.arange(len(values)), test_size=p["test_size"], random_state=p["seed"], stratify=stratify
    )
    train, test = split
    means = values[train].mean(0)  # [m]
    scorer = get_scorer(p["scoring"]) if p["scoring"] is not None else None
    rows = []
    m = values.shape[1]
    for fraction in p["fractions"]:
        n_removed = int(round(float(fraction) * m))
        removed = ranking < n_removed  # [n, m] each row's top n_removed columns
        replaced = np.where(removed, means[None], values)
        data: Any = replaced if frame is None else pd.DataFrame(replaced, columns=frame.columns)
        x_train, x_test = _rows(data, train), _rows(data, test)
        model = clone(estimator).fit(x_train, target[train])
        score = scorer(model, x_test, target[test]) if scorer else model.score(x_test, target[test])
        rows.append({"fraction": float(fraction), "n_removed": n_removed, "score": float(score)})
    return pd.DataFrame(rows, columns=["fraction", "n_removed", "score"])


def _numeric(X: Any) -> np.ndarray:
    try:
        values = np.asarray(X, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise InvalidInputError(
            "remove_and_retrain replaces columns by their mean, so X must be numeric; "
            "encode categorical columns first (e.g. one-hot)."
        ) from err
    if values.ndim != 2:
        raise InvalidInputError(f"X must be 2-D [rows, columns]. Got shape {values.shape}.")
    return values


def _ranking(importance: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Rank of each column by |importance|, 0 = most important, per row ``[n, m]``."""
    n, m = shape
    if importance.shape == (m,):
        importance = np.broadcast_to(importance, (n, m))
    if importance.shape != (n, m):
        raise InvalidParameterError(
            f"The 'importance' parameter of remove_and_retrain must have shape [{m}] "
            f"(one value per column) or [{n}, {m}] (one row per instance). "
            f"Got {list(importance.shape)}."
        )
    order = np.argsort(-np.abs(importance), axis=1, kind="stable")
    return order.argsort(axis=1, kind="stable")


def _rows(data: Any, index: np.ndarray) -> Any:
    return data.iloc[index] if isinstance(data, pd.DataFrame) else data[index]
