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
    its own top features. ``X`` is numeric (a DataFrame keeps its column names). An
    ``importance`` Series (index) or DataFrame (columns) of column names is aligned with
    ``X``'s columns by name.

    Args:
        y: The targets of the rows ``X``.
        fractions: Fractions k of the features removed (ERASER: 1, 5, 10, 20, 50%).
        test_size: Fraction of the rows held out for scoring.
        seed: Seed of the random draws (None: not reproducible).
    """
    p = validate_params(
        "remove_and_retrain",
        _ROAR,
        {"fractions": fractions, "test_size": test_size, "scoring": scoring, "seed": seed},
    )
    if not callable(getattr(estimator, "fit", None)):
        raise InvalidParameterError(
            "The 'estimator' parameter of remove_and_retrain must be an unfitted "
            f"scikit-learn estimator (it is cloned and refitted). Got {type(estimator).__name__}."
        )
    frame = X if isinstance(X, pd.DataFrame) else None
    values = _numeric(X)  # [n, m]
    target = _target(y, values.shape[0])
    importance = _aligned(importance, frame)
    ranking = _ranking(importance, values.shape)  # [n, m]
    stratify = target if is_classifier(estimator) else None
    try:
        train, test = train_test_split(
            np.arange(len(values)),
            test_size=p["test_size"],
            random_state=p["seed"],
            stratify=stratify,
        )
    except ValueError as err:  # too few rows, or a class too rare to stratify
        raise InvalidInputError(
            f"remove_and_retrain cannot split the {len(values)} rows into training and test "
            f"parts with test_size={p['test_size']} ({err}). Pass more rows."
        ) from err
    means = values[train].mean(0)  # [m]
    scorer = _scorer(p["scoring"])
    rows = []
    m = values.shape[1]
    for fraction in p["fractions"]:
        n_removed = int(round(float(fraction) * m))
        removed = ranking < n_removed  # [n, m] each row's top n_removed columns
        replaced = np.where(removed, means[None], values)
        data: Any = replaced if frame is None else pd.DataFrame(replaced, columns=frame.columns)
        x_train, x_test = _rows(data, train), _rows(data, test)
        try:
            model = clone(estimator).fit(x_train, target[train])
        except Exception as err:  # scikit-learn's own message names the data's problem
            raise InvalidInputError(
                f"remove_and_retrain: fitting the {type(estimator).__name__} failed on the "
                f"training split with {n_removed} column(s) removed ({type(err).__name__}: "
                f"{err}). Check X and y (enough rows, every class in the training split)."
            ) from err
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
    if not np.isfinite(values).all():
        raise InvalidInputError(
            "remove_and_retrain: X has NaN or infinite values, which column means and most "
            "estimators cannot handle; impute them first."
        )
    return values


def _target(y: Any, n: int) -> np.ndarray:
    """``y`` as an array of ``n`` values (checked: length, and finite if numeric)."""
    target = np.asarray(y)
    if target.ndim == 0 or target.shape[0] != n:
        got = "a scalar" if target.ndim == 0 else f"{target.shape[0]} values"
        raise InvalidInputError(f"remove_and_retrain: y has {got} for {n} rows of X.")
    if target.dtype.kind in "fc" and not np.isfinite(target).all():
        raise InvalidInputError(
            "remove_and_retrain: y has NaN or infinite values; drop those rows from X and y."
        )
    return target


def _aligned(importance: Any, frame: pd.DataFrame | None) -> np.ndarray:
    """``importance`` as floats; a Series / DataFrame named by column reordered as ``X``."""
    if frame is not None and isinstance(importance, pd.Series | pd.DataFrame):
        names = importance.index if isinstance(importance, pd.Series) else importance.columns
        unknown = [name for name in names if name not in frame.columns]
        if unknown or len(names) != frame.shape[1]:
            raise InvalidParameterError(
                "The 'importance' parameter of remove_and_retrain names the columns "
                f"{', '.join(map(repr, names))}; X has {', '.join(map(repr, frame.columns))}"
                f"{' (unknown: ' + ', '.join(map(repr, unknown)) + ')' if unknown else ''}. "
                "Give one value per column of X."
            )
        importance = (
            importance[list(frame.columns)]
            if isinstance(importance, pd.DataFrame)
            else importance.reindex(frame.columns)
        )
    try:
        values = np.asarray(importance, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise InvalidParameterError(
            "The 'importance' parameter of remove_and_retrain must be numbers, one per column "
            f"(or one row per instance). Got {type(importance).__name__}."
        ) from err
    if not np.isfinite(values).all():
        raise InvalidParameterError(
            "The 'importance' parameter of remove_and_retrain must be finite: NaN would rank "
            "last and inf first without notice. Got "
            f"{int((~np.isfinite(values)).sum())} non-finite value(s)."
        )
    return values


def _scorer(name: str | None) -> Any:
    if name is None:
        return None
    try:
        return get_scorer(name)
    except ValueError as err:
        raise InvalidParameterError(
            f"The 'scoring' parameter of remove_and_retrain must be a scikit-learn scorer "
            f"name (sklearn.metrics.get_scorer_names()). Got {name!r}."
        ) from err


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
