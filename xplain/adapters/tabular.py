"""Tabular adapter: explain a model of table rows, column by column.

Models: scikit-learn estimators and Pipelines (a ColumnTransformer may one-hot encode;
explanations stay per original column), xgboost / lightgbm sklearn models, torch
networks over the numeric columns or the encoding they were trained on (``encoder=``), and
any ``f(DataFrame)``.

The model is held by one backend object chosen at construction (torch network,
scikit-learn estimator or Pipeline, any callable: :mod:`xplain.adapters._tabular_backends`),
which scores rows and says which views it supports; an encoded row is a typed
:class:`~xplain.adapters._tabular_rows.EncodedRow`, and what is computed per row later
(scores, model-space inputs) is remembered by the adapter, not written into the row.

Views:

* interpretable (every model): a mask over columns; an absent column takes the value of
  each background row, and a mask's score is the weighted mean of the model's scores
  over the background rows: the interventional value function
  ``v(S) = E_b f(x_S, b_{not S})`` of KernelSHAP (Lundberg and Lee 2017; Janzing et al.
  2020). All masks x background rows go to the model in large calls of at most
  ``max_batch_rows`` rows. Past a Pipeline's column-wise preprocessing (encoders,
  scalers, imputers in a ColumnTransformer) the masked rows are assembled in the final
  estimator's columns and only the estimator is called on them
  (:mod:`xplain.adapters._tabular_model_space`, checked at setup against the whole
  Pipeline). The view also carries the training rows (:class:`~xplain.views.TrainingData`),
  from which LIME draws its neighbourhood.
* differentiable (torch models): the row as the network takes it (raw columns or
  encoded), the weighted mean of the background rows so taken as baseline, those rows
  with their weights (DeepSHAP and GradientSHAP explain ``f(x) - E_w f(b)``, as the
  perturbation view), and attributions of a one-hot group summed to its column.
* tree (tree ensembles, possibly after a Pipeline's preprocessing): the row and the
  background in the model's own columns, for shap's TreeExplainer.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import partial
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import torch

from xplain._validation import (
    NONE,
    SEED,
    InstanceOf,
    Interval,
    Options,
    Param,
    Satisfies,
    validate_params,
)
from xplain.adapters._once import built_once, shared_property
from xplain.adapters._tabular_backends import TabularBackend, backend_for
from xplain.adapters._tabular_background import METHODS, summarise
from xplain.adapters._tabular_encoder import Encoding, TabularEncoder
from xplain.adapters._tabular_hybrids import HybridScorer
from xplain.adapters._tabular_rows import EncodedRow, RowMemo
from xplain.adapters._tabular_scaler import scaler_encoder, torch_pipeline
from xplain.adapters._tabular_schema import TabularSchema, _as_frame
from xplain.adapters._tabular_trees import TreeParts
from xplain.adapters.base import (
    Adapter,
    BaselineGames,
    DifferentiableView,
    Encoded,
    InterpretableView,
    TreeView,
)
from xplain.display import FeatureDisplay
from xplain.errors import InvalidInputError, InvalidParameterError, MethodNotApplicableError
from xplain.models.base import explained_scores
from xplain.models.sklearn import leaves_hold_probabilities
from xplain.views import Distribution, TrainingData, TreeOutputs

MASKS_PER_EVALUATE = 16384  # coalitions per call of the perturbation view's evaluate
_NAMES = InstanceOf((list, tuple), "a list of column names")


class TabularAdapter(Adapter):
    """Explain a model of table rows; ``data`` (training rows) gives the background.

    ``categorical`` columns are those of dtype object / string / category / bool, plus
    any named here. The background is ``background_size`` weighted rows summarising
    ``data`` (``background_method``: ``"kmeans"`` as ``shap.kmeans``, or ``"sample"``;
    see :mod:`xplain.adapters._tabular_background`). LIME's sampling options are ``lime``'s
    (``discretize_continuous``, ``discretizer``, ``sample_around_instance``).
    A torch model is called on what the user gives it. Without ``encoder=`` it gets the
    raw columns in column order, as floats of its parameters' dtype, unstandardised (bool
    columns as 0 / 1); data with string / object / category columns is then refused, as a
    network needs numbers. A network trained on an encoding is called on
    ``encoder.transform(rows)``: pass the fitted :class:`TabularEncoder` it was trained
    with, or the fitted scikit-learn scaler of its numeric columns (``StandardScaler`` ...),
    also as a Pipeline ending in the network (see :mod:`xplain.adapters._tabular_scaler`).

    Args:
        model: A scikit-learn estimator or Pipeline, an xgboost / lightgbm sklearn model,
            a torch network (over the raw numeric columns, or over ``encoder``'s encoding),
            or any callable ``f(DataFrame)`` -> scores.
        data: Training rows (a DataFrame or 2-D array): the background and the column
            schema; required.
        **params: ``feature_names`` (column names of array ``data``), ``categorical``
            (further categorical columns, by name or position), ``labels`` (names of the
            model's outputs), ``background_size`` (default 100), ``background_method``
            (``"kmeans"`` or ``"sample"``), ``seed`` (of k-means or the sample; default
            0), ``encoder`` (a fitted :class:`TabularEncoder` or scaler, torch models
            only; None: the raw columns) and ``max_batch_rows`` (rows per model call;
            default 65536).

    Raises:
        InvalidParameterError: ``data`` is None, a parameter is unknown or out of range,
            ``categorical`` is given with a fitted ``encoder``, ``encoder`` is given for a
            model that is not a torch network, or a torch network without ``encoder`` has
            data with non-numeric columns.
    """

    modality: ClassVar[str] = "tabular"
    parameters: ClassVar[dict[str, Param]] = {
        "feature_names": Param(None, _NAMES, NONE, doc="column names of array data"),
        "categorical": Param(
            None,
            InstanceOf((list, tuple), "a list of column names or positions"),
            NONE,
            doc="columns to treat as categorical besides object/category/bool ones",
        ),
        "labels": Param(
            None,
            InstanceOf((list, tuple), "a list of labels"),
            NONE,
            doc="names of the model's outputs",
        ),
        "background_size": Param(100, Interval(int, 1), doc="rows summarising the data"),
        "background_method": Param("kmeans", Options(METHODS), doc="how they are chosen"),
        "seed": Param(0, SEED, doc="seed of k-means / the sample"),
        "encoder": Param(
            None,
            Satisfies(
                lambda v: isinstance(v, TabularEncoder) or callable(getattr(v, "transform", None)),
                "a TabularEncoder or a fitted scikit-learn scaler",
            ),
            NONE,
            doc="the encoding a torch model was trained on (None: the raw numeric columns)",
        ),
        "max_batch_rows": Param(65536, Interval(int, 1), doc="rows per model call"),
    }

    def __init__(self, model: Any, data: Any, **params: Any) -> None:
        _refuse_lime_options(params)
        self.params = p = validate_params("TabularAdapter", self.parameters, params)
        if data is None:
            raise InvalidParameterError(
                "A tabular explainer needs background rows: Explainer(model, data=X_train) "
                "(a DataFrame or 2-D array of training rows)."
            )
        model, encoder = _torch_model(model, p["encoder"])
        _check_encoder_has_a_network(model, encoder)
        if isinstance(encoder, TabularEncoder):
            if p["categorical"] is not None:
                raise InvalidParameterError(
                    "Pass 'categorical' to TabularEncoder(categorical=...), not with encoder=: "
                    "the fitted encoder already fixes the categorical columns."
                )
            self.schema = encoder._schema()
            names = None if isinstance(data, pd.DataFrame) else p["feature_names"]
            frame = _as_frame(data, names or self.schema.names)
        else:
            self.schema, frame = TabularSchema.from_data(data, p["feature_names"], p["categorical"])
        self.data = self.schema.to_matrix(frame, "data")  # [N, d]
        if encoder is not None and not isinstance(encoder, TabularEncoder):
            encoder = scaler_encoder(encoder, self.schema, self.data)
        self.background = summarise(
            self.data, self.schema, p["background_size"], p["background_method"], p["seed"]
        )
        # the one object that scores rows, chosen by the kind of model (and bound to it)
        self.backend: TabularBackend = backend_for(
            model, self.schema, self.data, self.background.rows, p["labels"], encoder
        )
        self.model = self.backend.model  # its n_evals counts the rows evaluated
        self.encoder: Encoding | None = self.backend.encoder
        self._labels = self.backend.labels
        _check_unique_labels(self._labels)
        self._background_cache: dict[str, np.ndarray] = {}  # [K, C] background scores per output
        self._scorers: dict[str, Callable[[np.ndarray], np.ndarray]] = {}
        self._memo: RowMemo[np.ndarray] = RowMemo()  # per encoded row: model row, scores

    def __repr__(self) -> str:
        return f"TabularAdapter(model={self.backend.kind}, columns={len(self.schema)})"

    # -- the Adapter interface -----------------------------------------------------------
    @property
    def labels(self) -> list[str]:
        return self._labels

    @property
    def outputs(self) -> tuple[str, ...]:
        return self.backend.outputs

    @property
    def single_output(self) -> bool:
        return self.backend.single_output

    def torch_module(self) -> torch.nn.Module | None:
        return self.backend.module

    @property
    def n_model_evals(self) -> int:
        return self.model.n_evals

    @property
    def features(self) -> list[str]:
        return list(self.schema.names)

    def fixed_features(self) -> list[str]:
        return self.features

    def identity(self) -> dict[str, Any]:
        return {**super().identity(), "data": self.data, "columns": self.features,
                "background": self.background.rows, "weights": self.background.weights}

    def view_types(self) -> tuple[type, ...]:
        """Masks always; gradients for a torch model; trees for a tree ensemble."""
        gradient = (DifferentiableView,) if self.backend.differentiable else ()
        trees = (TreeView,) if isinstance(self.backend.trees, TreeParts) else ()
        return (*gradient, InterpretableView, *trees)

    def encode(self, instance: Any) -> EncodedRow:
        row = self.schema.row(instance)  # [d]
        note = self.backend.note  # what the model returns, when not plain scores
        return EncodedRow(
            features=self.features,
            instance=self.schema.as_dict(row),
            notes={"model_output": note} if note else {},
            special=np.zeros(len(row), dtype=bool),
            row=row,
        )

    def predict(self, encoded: Encoded) -> np.ndarray:
        return self.predict_batch([encoded])[0]

    def display(self, encoded: Encoded) -> FeatureDisplay:
        """One bar per column, the row's value beside it.

        Args:
            encoded: The row, from :meth:`encode`.
        """
        return FeatureDisplay("bars", shown=tuple(encoded.instance.values()))  # column order

    def predict_batch(self, encoded: Sequence[Encoded]) -> np.ndarray:
        output = "probability" if "probability" in self.outputs else self.outputs[0]
        return self._row_scores(encoded, output)  # [n, C]

    def split_batch(self, instances: Any) -> list[Any]:
        """Rows of a DataFrame (as ``{column: value}``) or of a 2-D array; else its items.

        Args:
            instances: The batch passed to ``explain_batch``: a DataFrame, a 2-D array or
                tensor, or a list of rows.

        Raises:
            InvalidInputError: a DataFrame with a repeated column, or an array that is
                not 2-D.
        """
        if isinstance(instances, pd.DataFrame):
            if instances.columns.duplicated().any():
                dup = instances.columns[instances.columns.duplicated()][0]
                raise InvalidInputError(f"The instances have the column {dup!r} more than once.")
            return instances.to_dict("records")
        if isinstance(instances, torch.Tensor):  # rows of a 2-D tensor, as of an array
            instances = instances.detach().cpu().numpy()
        if isinstance(instances, np.ndarray) and instances.ndim != 2:
            raise InvalidInputError(
                "explain_batch takes the rows of a 2-D array [n_rows, n_columns] (or a "
                f"DataFrame, or a list of rows). Got an array of shape {list(instances.shape)}."
            )
        return super().split_batch(instances)

    def scores(self, rows: np.ndarray, output: str) -> np.ndarray:
        """Explained scores ``[n, C]`` of schema-matrix rows, in calls of at most
        ``max_batch_rows`` rows.

        Args:
            rows: Rows ``[n, d]`` of the schema matrix (numbers, categories as codes).
            output: The explained score, one of :attr:`outputs`.
        """
        # through the model's space: past a column-wise preprocessing, assembled without
        # calling it (the same inputs reach the final estimator)
        space = self.backend.space
        return self._chunked(lambda r, o: space.scores(space.transform(r), o), rows, output)

    def base_scores(self, output: str) -> np.ndarray:
        """E f(background) ``[C]``: weighted mean score of the background rows (cached).

        Args:
            output: The explained score, one of :attr:`outputs`.
        """
        return self.background.weights @ self._background_scores(output)

    def _background_scores(self, output: str) -> np.ndarray:
        """Scores ``[K, C]`` of the background rows (cached per output: setup, built once
        and charged to no explanation)."""

        def build() -> np.ndarray:
            return self._space_scores(self.backend.space.background, output)

        return built_once(self, self._background_cache, output, build)

    def _game_scorer(self, output: str) -> Callable[[np.ndarray], np.ndarray]:
        """Scores of the views' hybrids (model inputs) for ``output``: one object per
        output, shared by the views, so a method can score many views' hybrids at once."""
        if output not in self._scorers:
            # setdefault: two threads asking first must still share one object
            self._scorers.setdefault(output, partial(self._space_scores, output=output))
        return self._scorers[output]

    # -- perturbation view ---------------------------------------------------------------
    def interpretable_view(self, encoded: EncodedRow, output: str) -> InterpretableView:
        row = encoded.row  # [d]
        rows, weights = self.background.rows, self.background.weights  # [K, d], [K]
        differs = rows != row[None]  # [K, d] columns each background row changes
        d = row.shape[0]
        # (game [n], mask [n, d]) -> hybrids in the space the model is scored in
        hybrids = partial(self.backend.space.hybrids, self._model_rows([encoded])[0])
        score = self._game_scorer(output)
        evaluate = HybridScorer(
            differs,
            weights,
            hybrids,
            score,
            n_outputs=len(self.labels),
            max_rows=self.params["max_batch_rows"],
        )

        return InterpretableView(
            n_features=d,
            evaluate=evaluate,
            active=np.arange(d),
            scores=self._row_scores([encoded], output)[0],  # kept from the prediction
            base_scores=self.base_scores(output),
            n_total=d,
            distribution=Distribution(self._training, row, partial(self.scores, output=output)),
            null_players=~differs.any(0),  # replacing these changes no row
            batch_size=MASKS_PER_EVALUATE,  # the scorer sends distinct rows in large calls
            baseline_games=BaselineGames(
                weights=weights,
                players=[np.flatnonzero(changes) for changes in differs],
                empty_scores=self._background_scores(output),
                hybrids=hybrids,
                score=score,
            ),
        )

    @shared_property
    def _training(self) -> TrainingData:
        """The training rows as codes ``[N, d]``, one object for all views (LIME derives
        its statistics from it once)."""
        return TrainingData(self.data, self.schema.categorical)

    # -- gradient view -------------------------------------------------------------------
    def differentiable_view(self, encoded: EncodedRow, output: str) -> DifferentiableView:
        backend = self.backend
        if not backend.differentiable or backend.encoder is None:
            raise MethodNotApplicableError(
                "Gradient methods need a torch model; this tabular model is a "
                f"{type(self.model).__name__}. Use kernel_shap, lime or tree_shap."
            )
        encoder, module = backend.encoder, backend.module
        inputs = backend.encode(encoded.row[None])  # [1, m]
        background = backend.encode(self.background.rows)  # [K, m]
        weights = torch.as_tensor(self.background.weights, dtype=background.dtype)
        baseline = (weights[:, None] * background).sum(0, keepdim=True)  # [1, m]
        # noise scale: each input column's (weighted) standard deviation over the background,
        # in the network's units (raw columns: the data's own units)
        spread = (weights[:, None] * (background - baseline) ** 2).sum(0, keepdim=True).sqrt()
        return DifferentiableView(
            inputs=inputs,
            baseline=baseline,
            forward=lambda x: explained_scores(backend.logits(x), output),
            aggregate=lambda attr: encoder.to_columns(
                attr.detach().double().cpu().numpy().reshape(-1)
            ),
            background=background,
            background_weights=self.background.weights,
            module=module,
            noise_scale=spread,  # [1, m]
        )

    # -- tree view -----------------------------------------------------------------------
    def tree_view(self, encoded: EncodedRow, output: str) -> TreeView:
        return self.tree_view_batch([encoded], output)[0]

    def tree_view_batch(self, encoded: Sequence[EncodedRow], output: str) -> list[TreeView]:
        """Tree views of many rows: one preprocessing call and one model call for all.

        The views share the estimator, the background and ``to_features``, so a batched
        method can stack their rows and explain them in one pass.

        Args:
            encoded: The rows, from :meth:`encode`.
            output: The explained score, one of :attr:`outputs`.

        Raises:
            MethodNotApplicableError: the model is not a tree ensemble.
        """
        backend = self.backend
        parts = backend.trees
        if not isinstance(parts, TreeParts):
            raise MethodNotApplicableError(f"This model has no tree view: {parts}.")
        rows = np.stack([e.row for e in encoded])  # [n, d]
        d = rows.shape[1]
        outputs = TreeOutputs(
            is_classifier=self.model.is_classifier,
            n_classes=len(self.model.labels),
            link=self.model.link,
            leaves_hold_probabilities=leaves_hold_probabilities(parts.estimator),
        )
        scores = self._row_scores(encoded, output)  # [n, C]
        inputs = backend.tree_inputs(rows, self._model_rows(encoded))  # [n, m]
        base_scores = self.base_scores(output)

        def to_features(values: np.ndarray) -> np.ndarray:
            return parts.to_features(values, d)

        return [
            TreeView(
                model=parts.estimator,
                row=inputs[i : i + 1],  # [1, m]
                background=backend.tree_background,
                output=output,
                outputs=outputs,
                class_index=_identity,
                to_features=to_features,
                scores=scores[i],
                base_scores=base_scores,
                background_weights=self.background.weights,
            )
            for i in range(len(rows))
        ]

    # -- calling the model ---------------------------------------------------------------
    def _row_scores(self, encoded: Sequence[EncodedRow], output: str) -> np.ndarray:
        """Scores ``[n, C]`` of encoded rows, remembered per row: predicting a row and
        building its view cost one model call between them, not two."""

        def compute(missing: list[EncodedRow]) -> np.ndarray:
            return self._space_scores(self._model_rows(missing), output)

        return np.stack(self._memo.get(encoded, ("scores", output), compute))

    def _model_rows(self, encoded: Sequence[EncodedRow]) -> np.ndarray:
        """The rows in the space the model is scored in ``[n, m]`` (one transform for
        those not seen before, remembered per row)."""

        def compute(missing: list[EncodedRow]) -> np.ndarray:
            return self.backend.space.transform(np.stack([e.row for e in missing]))

        return np.stack(self._memo.get(encoded, "model_row", compute))

    def _space_scores(self, inputs: np.ndarray, output: str) -> np.ndarray:
        """Explained scores ``[n, C]`` of rows in the model's space, in large calls."""
        return self._chunked(self.backend.space.scores, inputs, output)

    def _chunked(
        self, scores: Callable[[np.ndarray, str], np.ndarray], rows: np.ndarray, output: str
    ) -> np.ndarray:
        """``scores`` of ``rows`` in calls of at most ``max_batch_rows`` rows ``[n, C]``."""
        step = self.params["max_batch_rows"]
        chunks = [scores(rows[i : i + step], output) for i in range(0, len(rows), step)]
        return np.concatenate(chunks)


def _torch_model(model: Any, encoder: Any) -> tuple[Any, Any]:
    """The model and its encoding: a Pipeline ending in a torch network gives the network,
    encoded by the Pipeline's other steps (refused together with an ``encoder=``)."""
    network, preprocessing = torch_pipeline(model)
    if preprocessing is None:
        return network, encoder
    if encoder is not None:
        raise InvalidParameterError(
            "The model is a Pipeline ending in a torch network, whose steps before it are "
            "its encoding, and encoder= was given too. Pass one of them: the Pipeline alone, "
            "or the network with encoder=."
        )
    return network, preprocessing


def _check_encoder_has_a_network(model: Any, encoder: Any) -> None:
    """Refuse ``encoder=`` for a model that is not a torch network: only a network is
    called on the encoding, so for any other model it would be ignored without notice."""
    if encoder is None or isinstance(model, torch.nn.Module):
        return
    raise InvalidParameterError(
        "The 'encoder' parameter of TabularAdapter is the encoding a torch network was "
        f"trained on; the model is a {type(model).__name__}, which it would not reach. "
        "For a scikit-learn model put the scaler in front of it, "
        'Explainer(Pipeline([("scale", scaler), ("model", model)]), data=X) (explanations '
        "stay per original column); for a function, apply the encoding inside it. Got "
        f"encoder={type(encoder).__name__}."
    )


def _refuse_lime_options(params: dict[str, Any]) -> None:
    """Refuse the adapter's former LIME options: they are ``lime``'s parameters now."""
    moved = {
        "lime_discretize": "discretize_continuous",
        "lime_discretizer": "discretizer",
        "lime_sample_around_instance": "sample_around_instance",
    }
    old = [k for k in moved if k in params]
    if old:
        where = ", ".join(f"{moved[k]}={params[k]!r}" for k in old)
        raise InvalidParameterError(
            f"{', '.join(old)} are no longer options of the tabular explainer: LIME's "
            f"sampling options belong to the lime method. Pass them there, e.g. "
            f'explainer.explain(row, "lime", {where}).'
        )


def _check_unique_labels(labels: Sequence[str]) -> None:
    """Refuse output labels that repeat (as text): a target label would name two outputs,
    and the first would be explained without notice."""
    repeated = sorted({label for label in labels if list(labels).count(label) > 1})
    if repeated:
        raise InvalidParameterError(
            f"The model's output labels must be unique (as text); {', '.join(map(repr, repeated))} "
            f"names more than one of its {len(labels)} outputs ({', '.join(map(repr, labels))}). "
            "Pass distinct labels=[...] (one per output)."
        )


def _identity(target: int) -> int:
    return target
