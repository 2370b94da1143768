"""Wrapper for scikit-learn estimators and Pipelines, and xgboost / lightgbm sklearn models.

A Pipeline is called on the original columns (a ColumnTransformer inside it may one-hot
encode, scale, impute...), so explanations stay per original column. A model fitted on
a DataFrame (``feature_names_in_``) gets a DataFrame with its columns in its own order;
one fitted on an array gets an array.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import expit, logsumexp, softmax

from xplain.errors import InvalidParameterError, MethodNotApplicableError
from xplain.models.callable import TabularModel, log_odds

LINK_TOLERANCE = 1e-6  # predict_proba vs sigmoid/softmax(margin) when checking the link
TREE_LIBRARIES = ("xgboost", "lightgbm", "catboost")


def is_tree_ensemble(estimator: Any) -> bool:
    """Whether shap's TreeExplainer can read ``estimator`` (sklearn trees, xgboost, ...)."""
    from sklearn.ensemble import (
        ExtraTreesClassifier,
        ExtraTreesRegressor,
        GradientBoostingClassifier,
        GradientBoostingRegressor,
        HistGradientBoostingClassifier,
        HistGradientBoostingRegressor,
        RandomForestClassifier,
        RandomForestRegressor,
    )
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

    sklearn_trees = (
        DecisionTreeClassifier,
        DecisionTreeRegressor,
        RandomForestClassifier,
        RandomForestRegressor,
        ExtraTreesClassifier,
        ExtraTreesRegressor,
        GradientBoostingClassifier,
        GradientBoostingRegressor,
        HistGradientBoostingClassifier,
        HistGradientBoostingRegressor,
    )
    library = type(estimator).__module__.split(".")[0]
    return isinstance(estimator, sklearn_trees) or library in TREE_LIBRARIES


def leaves_hold_probabilities(estimator: Any) -> bool:
    """Trees whose leaves are class frequencies (forests, single trees): no link function."""
    from sklearn.ensemble import ExtraTreesClassifier, RandomForestClassifier
    from sklearn.tree import DecisionTreeClassifier

    return isinstance(
        estimator, RandomForestClassifier | ExtraTreesClassifier | DecisionTreeClassifier
    )


class SklearnModel(TabularModel):
    """A fitted scikit-learn-style classifier or regressor of DataFrame rows.

    Outputs of a classifier: ``"probability"`` (``predict_proba``), ``"log_odds"`` and,
    when the model has a margin (``decision_function``, xgboost's ``output_margin``,
    lightgbm's ``raw_score``), ``"raw"``; a binary margin ``z`` is presented as
    ``[-z, z]`` (class 0, class 1). When ``predict_proba`` is the sigmoid / softmax of
    the margin (checked on the data), log-odds are computed from the margin, exactly.
    A regressor's only output is ``"raw"`` (``predict``).
    """

    def __init__(self, model: Any, labels: Sequence[str] | None = None) -> None:
        super().__init__()
        from sklearn.base import BaseEstimator
        from sklearn.exceptions import NotFittedError
        from sklearn.pipeline import Pipeline
        from sklearn.utils.validation import check_is_fitted

        if not any(callable(getattr(model, name, None)) for name in ("predict", "predict_proba")):
            raise InvalidParameterError(
                f"A tabular model needs a predict or predict_proba method (scikit-learn API). "
                f"Got {type(model).__name__}; wrap other functions in CallableModel."
            )
        # scikit-learn's fitted check reads estimator tags (>= 1.6), which only its
        # estimators have; a duck-typed model (fit / predict_proba, no BaseEstimator) is
        # trusted to be fitted
        if isinstance(model, BaseEstimator) or hasattr(model, "__sklearn_tags__"):
            try:
                check_is_fitted(model)
            except NotFittedError as err:
                raise InvalidParameterError(
                    f"The {type(model).__name__} is not fitted; call model.fit(X, y) first."
                ) from err
            except TypeError:  # no fit method: not an estimator, trust it
                pass
        self.model = model
        pipeline = isinstance(model, Pipeline)
        self.final = model.steps[-1][1] if pipeline else model
        self.preprocessing = model[:-1] if pipeline and len(model.steps) > 1 else None
        self.is_classifier = _is_classifier(model)
        self.given_labels = [str(label) for label in labels] if labels is not None else None
        library = type(self.final).__module__.split(".")[0]
        if hasattr(model, "decision_function"):
            self.margin_kind: str | None = "decision_function"
        elif self.is_classifier and library in ("xgboost", "lightgbm"):
            self.margin_kind = library
        else:
            self.margin_kind = None
        self.link: str | None = None  # "logistic" or "softmax" once checked
        self.labels = []
        self.outputs = ()

    @property
    def source(self) -> str:
        return f"The {type(self.model).__name__}"

    # -- calling the model ---------------------------------------------------------------
    def inputs(self, frame: pd.DataFrame) -> Any:
        """What the model is called on: its own columns of ``frame``, or an array."""
        names = getattr(self.model, "feature_names_in_", None)
        if names is not None:
            return frame[list(names)]
        if all(pd.api.types.is_numeric_dtype(t) for t in frame.dtypes):
            return frame.to_numpy(dtype=np.float64)
        return frame.to_numpy()

    def bind(self, frame: pd.DataFrame) -> None:
        """Check the model on sample rows: its columns, output shapes and link function."""
        names = getattr(self.model, "feature_names_in_", None)
        if names is not None:
            lacking = [str(n) for n in names if n not in frame.columns]
            if lacking:
                raise InvalidParameterError(
                    f"The model was fitted on column(s) {', '.join(map(repr, lacking))} that "
                    f"the data lacks. Its columns: {', '.join(map(str, names))}."
                )
        X = self.inputs(frame)
        self.count(len(frame))
        if not self.is_classifier:
            out = np.asarray(self.model.predict(X), dtype=np.float64)
            width = 1 if out.ndim == 1 else out.shape[1]
            default = ["prediction"] if width == 1 else [f"prediction_{i}" for i in range(width)]
            self.labels = self._named(default)
            self.outputs = ("raw",)
            self._checked(out, len(frame))
            return
        classes = getattr(self.model, "classes_", None)
        if classes is None:
            raise InvalidParameterError(
                f"The classifier {type(self.model).__name__} has no classes_ (the class "
                "labels a scikit-learn classifier sets when fitted): fit it first, or, for a "
                "model of your own, set model.classes_ or pass a function instead: "
                "Explainer(lambda rows: model.predict_proba(rows), data=..., labels=[...])."
            )
        self.labels = self._named([str(c) for c in classes])
        has_proba = hasattr(self.model, "predict_proba")
        if not has_proba and self.margin_kind is None:
            raise InvalidParameterError(
                f"The classifier {type(self.model).__name__} has neither predict_proba nor "
                "decision_function; xplain needs scores, not only predicted labels."
            )
        outputs: tuple[str, ...] = ()
        if has_proba:
            proba = self._checked(self.model.predict_proba(X), len(frame))
            outputs = ("probability", "log_odds")
        if self.margin_kind is not None:
            margin = self._checked(self._margin(self.preprocess(X)), len(frame))
            self.link = _link(margin, proba) if has_proba else None
            outputs += ("raw",)
        self.outputs = outputs

    def _named(self, default: list[str]) -> list[str]:
        if self.given_labels is None:
            return default
        if len(self.given_labels) != len(default):
            raise InvalidParameterError(
                f"{len(self.given_labels)} labels were given for a model with "
                f"{len(default)} outputs ({', '.join(default)})."
            )
        return self.given_labels

    def preprocess(self, X: Any) -> Any:
        """What the final estimator is called on for model input ``X`` (a Pipeline's
        preprocessing applied; ``X`` itself for a lone estimator)."""
        return X if self.preprocessing is None else self.preprocessing.transform(X)

    def scores_of_inputs(self, X: Any, output: str) -> np.ndarray:
        """Scores ``[n, C]`` (checked) of rows already preprocessed: the final estimator's
        input, as :meth:`preprocess` gives it."""
        n = X.shape[0]
        self.count(n)
        return self._checked(self._final_scores(X, output), n)

    def _scores(self, frame: pd.DataFrame, output: str) -> np.ndarray:
        return self._final_scores(self.preprocess(self.inputs(frame)), output)

    def _final_scores(self, X: Any, output: str) -> np.ndarray:
        """Scores of the final estimator's input ``X`` (what a Pipeline's methods compute
        after its preprocessing)."""
        if not self.is_classifier:
            return np.asarray(self.final.predict(X), dtype=np.float64)
        if output == "raw":
            return self._margin(X)
        if output == "log_odds" and self.link is not None:
            z = self._margin(X)  # [n, C]
            if self.link == "logistic":
                return z
            # log p_c - log(1 - p_c) = z_c - logsumexp_{k != c} z_k
            others = np.where(np.eye(z.shape[1], dtype=bool)[None], -np.inf, z[:, None, :])
            return z - logsumexp(others, axis=2)
        proba = np.asarray(self.final.predict_proba(X), dtype=np.float64)
        return log_odds(proba) if output == "log_odds" else proba

    def _margin(self, X: Any) -> np.ndarray:
        """The margin ``[n, C]`` of the final estimator's input (a binary ``z`` as ``[-z, z]``)."""
        if self.margin_kind == "decision_function":
            z = self.final.decision_function(X)
        else:
            key = "output_margin" if self.margin_kind == "xgboost" else "raw_score"
            z = self.final.predict(X, **{key: True})
        z = np.asarray(z, dtype=np.float64)
        if z.ndim == 1 or z.shape[1] == 1:
            z = z.reshape(-1)
            return np.stack([-z, z], axis=1)
        return z

    # -- what TreeSHAP needs ---------------------------------------------------------------
    @property
    def tree_estimator(self) -> Any | None:
        """The tree ensemble at the end of the model, or None."""
        return self.final if is_tree_ensemble(self.final) else None

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        """Rows as the final estimator sees them, dense float ``[n, m]``."""
        X = self.preprocess(self.inputs(frame))
        if hasattr(X, "toarray"):  # scipy sparse (OneHotEncoder's default)
            X = X.toarray()
        try:
            return np.asarray(X, dtype=np.float64)
        except (TypeError, ValueError) as err:
            raise MethodNotApplicableError(
                "the tree model's input has non-numeric columns (e.g. pandas categories), "
                "which shap's TreeExplainer cannot read; encode them in a Pipeline "
                "(OneHotEncoder, OrdinalEncoder)"
            ) from err


def _is_classifier(model: Any) -> bool:
    from sklearn.base import is_classifier

    try:
        tagged = is_classifier(model)
    except (AttributeError, TypeError):  # duck-typed, not a scikit-learn estimator
        tagged = False
    return bool(tagged or hasattr(model, "predict_proba"))


def _link(margin: np.ndarray, proba: np.ndarray) -> str | None:
    """ "logistic" / "softmax" when ``proba`` is that function of ``margin``, else None."""
    if margin.shape != proba.shape:
        return None
    if margin.shape[1] == 2 and np.allclose(
        expit(margin[:, 1]), proba[:, 1], rtol=0, atol=LINK_TOLERANCE
    ):
        return "logistic"
    if margin.shape[1] > 2 and np.allclose(
        softmax(margin, axis=1), proba, rtol=0, atol=LINK_TOLERANCE
    ):
        return "softmax"
    return None
