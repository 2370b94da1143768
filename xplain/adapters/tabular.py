"""Tabular adapter: explain a model of table rows, column by column.

Models: scikit-learn estimators and Pipelines (a ColumnTransformer may one-hot encode;
explanations stay per original column), xgboost / lightgbm sklearn models, torch
networks over :class:`TabularEncoder`'s numeric encoding, and any ``f(DataFrame)``.

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
  Pipeline). LIME gets the neighbourhood ``lime_tabular`` draws.
* differentiable (torch models): the encoded row, the weighted mean encoded background
  row as baseline, the encoded background rows with their weights (DeepSHAP and
  GradientSHAP explain ``f(x) - E_w f(b)``, as the perturbation view), and attributions
  of a one-hot group summed to its column.
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
    BOOLEAN,
    NONE,
    SEED,
    InstanceOf,
    Interval,
    Options,
    Param,
    validate_params,
)
from xplain.adapters._once import built_once, shared_property
from xplain.adapters._tabular_background import METHODS, summarise
from xplain.adapters._tabular_encoder import TabularEncoder
from xplain.adapters._tabular_hybrids import HybridScorer
from xplain.adapters._tabular_lime import DISCRETIZERS, LimeSampler
from xplain.adapters._tabular_model_space import ModelSpace, model_space
from xplain.adapters._tabular_schema import TabularSchema, _as_frame
from xplain.adapters._tabular_trees import TreeParts, shap_model_output, tree_parts
from xplain.adapters.base import (
    Adapter,
    BaselineGames,
    DifferentiableView,
    Encoded,
    InterpretableView,
    Neighbourhood,
    TreeView,
)
from xplain.errors import (
    InvalidInputError,
    InvalidParameterError,
    MethodNotApplicableError,
    XplainError,
)
from xplain.models.base import explained_scores
from xplain.models.callable import CallableModel, TabularModel
from xplain.models.sklearn import SklearnModel
from xplain.models.torch import TorchClassifier

MASKS_PER_EVALUATE = 16384  # coalitions per call of the perturbation view's evaluate
_NAMES = InstanceOf((list, tuple), "a list of column names")


class TabularAdapter(Adapter):
    """Explain a model of table rows; ``data`` (training rows) gives the background.

    ``categorical`` columns are those of dtype object / string / category / bool, plus
    any named here. The background is ``background_size`` weighted rows summarising
    ``data`` (``background_method``: ``"kmeans"`` as ``shap.kmeans``, or ``"sample"``;
    see :mod:`xplain.adapters._tabular_background`). LIME's neighbourhood follows
    ``lime_tabular``: ``lime_discretize`` (quartile / decile bins) or Gaussian samples.
    A torch model is called on ``encoder.transform(rows)``: pass the fitted
    :class:`TabularEncoder` it was trained with (else one is fitted on ``data``).
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
            InstanceOf((TabularEncoder,), "a TabularEncoder"),
            NONE,
            doc="the encoding a torch model was trained on",
        ),
        "lime_discretize": Param(True, BOOLEAN, doc="LIME: bin numeric columns"),
        "lime_discretizer": Param("quartile", Options(tuple(DISCRETIZERS)), doc="LIME bins"),
        "lime_sample_around_instance": Param(
            False, BOOLEAN, doc="LIME without bins: centre samples on the row, not the mean"
        ),
        "max_batch_rows": Param(65536, Interval(int, 1), doc="rows per model call"),
    }

    def __init__(self, model: Any, data: Any, **params: Any) -> None:
        self.params = p = validate_params("TabularAdapter", self.parameters, params)
        if data is None:
            raise InvalidParameterError(
                "A tabular explainer needs background rows: Explainer(model, data=X_train) "
                "(a DataFrame or 2-D array of training rows)."
            )
        encoder = p["encoder"]
        if encoder is not None:
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
        self.background = summarise(
            self.data, self.schema, p["background_size"], p["background_method"], p["seed"]
        )
        self.torch: TorchClassifier | None = None
        if isinstance(model, torch.nn.Module):
            if encoder is None:
                encoder = TabularEncoder()
                encoder._fit(self.schema, self.data)
            self.torch = TorchClassifier(model, p["labels"])
            self.encoder: TabularEncoder | None = encoder
            self.model: Any = self.torch
            self._labels = self._bind_torch()
        else:
            self.encoder = encoder
            self.model = _wrap(model, p["labels"])
            try:
                self.model.bind(self.schema.to_frame(self.background.rows))
            except XplainError:
                raise
            except Exception as err:  # the user's model failed on its data
                raise InvalidParameterError(
                    f"The model failed on rows of the data ({type(err).__name__}: {err}). "
                    "Pass as data= the training rows the model was fitted on."
                ) from err
            self._labels = self.model.labels
        _check_unique_labels(self._labels)
        self._background_cache: dict[str, np.ndarray] = {}  # [K, C] background scores per output
        self._scorers: dict[str, Callable[[np.ndarray], np.ndarray]] = {}

    def __repr__(self) -> str:
        kind = type(self.torch.module if self.torch else self.model).__name__
        return f"TabularAdapter(model={kind}, columns={len(self.schema)})"

    # -- the Adapter interface -----------------------------------------------------------
    @property
    def labels(self) -> list[str]:
        return self._labels

    @property
    def outputs(self) -> tuple[str, ...]:
        return self.torch.reader.outputs if self.torch is not None else self.model.outputs

    @property
    def single_output(self) -> bool:
        return self.torch is not None and self.torch.reader.single_output

    def torch_module(self) -> torch.nn.Module | None:
        return self.torch.module if self.torch is not None else None

    @property
    def n_model_evals(self) -> int:
        return self.model.n_evals

    @property
    def features(self) -> list[str]:
        return list(self.schema.names)

    def supports(self, view: str) -> bool:
        if view == "differentiable":
            return self.torch is not None
        if view == "tree":
            return isinstance(self._tree_parts, TreeParts)
        return view == "interpretable"

    def encode(self, instance: Any) -> Encoded:
        row = self.schema.row(instance)  # [d]
        return Encoded(
            features=self.features,
            instance=self.schema.as_dict(row),
            data={"row": row},
            # what the torch model returns, when it is not plain logits (learnt at bind)
            notes={"model_output": self.torch.reader.note}
            if self.torch is not None and self.torch.reader.note
            else {},
            special=np.zeros(len(row), dtype=bool),
        )

    def predict(self, encoded: Encoded) -> np.ndarray:
        return self.predict_batch([encoded])[0]

    def predict_batch(self, encoded: Sequence[Encoded]) -> np.ndarray:
        output = "probability" if "probability" in self.outputs else self.outputs[0]
        return self._row_scores(encoded, output)  # [n, C]

    def split_batch(self, instances: Any) -> list[Any]:
        """Rows of a DataFrame (as ``{column: value}``) or of a 2-D array; else its items."""
        if isinstance(instances, pd.DataFrame):
            if instances.columns.duplicated().any():
                dup = instances.columns[instances.columns.duplicated()][0]
                raise InvalidInputError(f"The instances have the column {dup!r} more than once.")
            return instances.to_dict("records")
        if isinstance(instances, np.ndarray) and instances.ndim != 2:
            raise InvalidInputError(
                "explain_batch takes the rows of a 2-D array [n_rows, n_columns] (or a "
                f"DataFrame, or a list of rows). Got an array of shape {list(instances.shape)}."
            )
        return super().split_batch(instances)

    def scores(self, rows: np.ndarray, output: str) -> np.ndarray:
        """Explained scores ``[n, C]`` of schema-matrix rows ``[n, d]``, in large calls."""
        step = self.params["max_batch_rows"]
        chunks = [self._scores(rows[i : i + step], output) for i in range(0, len(rows), step)]
        return np.concatenate(chunks)

    def base_scores(self, output: str) -> np.ndarray:
        """E f(background) ``[C]``: weighted mean score of the background rows (cached)."""
        return self.background.weights @ self._background_scores(output)

    def _background_scores(self, output: str) -> np.ndarray:
        """Scores ``[K, C]`` of the background rows (cached per output: setup, built once
        and charged to no explanation)."""

        def build() -> np.ndarray:
            space = self._model_space
            if space is None:
                return self.scores(self.background.rows, output)
            return self._inputs_scores(space.background, output)

        return built_once(self, self._background_cache, output, build)

    def _game_scorer(self, output: str) -> Callable[[np.ndarray], np.ndarray]:
        """Scores of the views' hybrids (model inputs) for ``output``: one object per
        output, shared by the views, so a method can score many views' hybrids at once."""
        if output not in self._scorers:
            scores = self.scores if self._model_space is None else self._inputs_scores
            # setdefault: two threads asking first must still share one object
            self._scorers.setdefault(output, partial(scores, output=output))
        return self._scorers[output]

    @shared_property
    def _model_space(self) -> ModelSpace | None:
        """The Pipeline's column-wise preprocessing, if it has one: hybrids are then
        assembled in the final estimator's columns (see ``_tabular_model_space``)."""
        return model_space(self.model, self.schema, self.data, self.background.rows)

    # -- perturbation view ---------------------------------------------------------------
    def interpretable_view(self, encoded: Encoded, output: str) -> InterpretableView:
        row = encoded.data["row"]  # [d]
        rows, weights = self.background.rows, self.background.weights  # [K, d], [K]
        differs = rows != row[None]  # [K, d] columns each background row changes
        d = row.shape[0]
        space = self._model_space
        hybrids: Callable[[np.ndarray, np.ndarray], np.ndarray] = (
            partial(_hybrids, row, rows)
            if space is None
            else partial(space.hybrids, self._model_rows([encoded])[0])
        )
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
            sample_neighbourhood=lambda n, rng: self._neighbourhood(row, output, n, rng),
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

    def _neighbourhood(
        self, row: np.ndarray, output: str, n: int, rng: np.random.Generator
    ) -> Neighbourhood:
        representation, rows, distances = self._lime.sample(row, n, rng)
        return Neighbourhood(representation, self.scores(rows, output), distances)

    @shared_property
    def _lime(self) -> LimeSampler:
        return LimeSampler(
            self.data,
            self.schema,
            discretize=self.params["lime_discretize"],
            discretizer=self.params["lime_discretizer"],
            sample_around_instance=self.params["lime_sample_around_instance"],
        )

    # -- gradient view -------------------------------------------------------------------
    def differentiable_view(self, encoded: Encoded, output: str) -> DifferentiableView:
        if self.torch is None or self.encoder is None:
            raise MethodNotApplicableError(
                "Gradient methods need a torch model; this tabular model is a "
                f"{type(self.model).__name__}. Use kernel_shap, lime or tree_shap."
            )
        encoder, model = self.encoder, self.torch
        inputs = self._encode(encoded.data["row"][None])  # [1, m]
        background = self._encode(self.background.rows)  # [K, m]
        weights = torch.as_tensor(self.background.weights, dtype=background.dtype)
        baseline = (weights[:, None] * background).sum(0, keepdim=True)  # [1, m]
        # noise scale: each encoded column's (weighted) standard deviation over the background
        spread = (weights[:, None] * (background - baseline) ** 2).sum(0, keepdim=True).sqrt()
        return DifferentiableView(
            inputs=inputs,
            baseline=baseline,
            forward=lambda x: explained_scores(model.logits(x), output),
            aggregate=lambda attr: encoder.to_columns(
                attr.detach().double().cpu().numpy().reshape(-1)
            ),
            background=background,
            background_weights=self.background.weights,
            module=model.module,
            noise_scale=spread,  # [1, m]
        )

    # -- tree view -----------------------------------------------------------------------
    @shared_property
    def _tree_parts(self) -> TreeParts | str:
        return tree_parts(self.model, self.schema, self.data, self.background.rows)

    def tree_view(self, encoded: Encoded, output: str) -> TreeView:
        return self.tree_view_batch([encoded], output)[0]

    def tree_view_batch(self, encoded: Sequence[Encoded], output: str) -> list[TreeView]:
        """Tree views of many rows: one preprocessing call and one model call for all.

        The views share the estimator, the background and ``to_features``, so a batched
        method can stack their rows and explain them in one pass.
        """
        parts = self._tree_parts
        if not isinstance(parts, TreeParts):
            raise MethodNotApplicableError(f"tree_shap cannot explain this model: {parts}.")
        rows = np.stack([e.data["row"] for e in encoded])  # [n, d]
        d = rows.shape[1]
        model_output = shap_model_output(self.model, parts.estimator, output)
        scores = self._row_scores(encoded, output)  # [n, C]
        inputs = (  # [n, m]
            self.model.transform(self.schema.to_frame(rows))
            if self._model_space is None
            else np.asarray(self._model_rows(encoded), dtype=np.float64)  # kept: no 2nd call
        )
        base_scores = self.base_scores(output)

        def to_features(values: np.ndarray) -> np.ndarray:
            return parts.to_features(values, d)

        return [
            TreeView(
                model=parts.estimator,
                row=inputs[i : i + 1],  # [1, m]
                background=self._tree_background,
                model_output=model_output,
                class_index=_identity,
                to_features=to_features,
                scores=scores[i],
                base_scores=base_scores,
                background_weights=self.background.weights,
            )
            for i in range(len(rows))
        ]

    @shared_property
    def _tree_background(self) -> np.ndarray:
        """The background rows in the tree model's own columns ``[K, m]`` (computed once)."""
        return self.model.transform(self.schema.to_frame(self.background.rows))

    # -- calling the model ---------------------------------------------------------------
    def _row_scores(self, encoded: Sequence[Encoded], output: str) -> np.ndarray:
        """Scores ``[n, C]`` of encoded rows, kept on each Encoded: predicting a row and
        building its view cost one model call between them, not two."""
        kept = [e.data.setdefault("scores", {}) for e in encoded]
        missing = [i for i, scores in enumerate(kept) if output not in scores]
        if missing:
            lacking = [encoded[i] for i in missing]
            if self._model_space is None:
                rows = np.stack([e.data["row"] for e in lacking])  # [n_missing, d]
                scores = self.scores(rows, output)
            else:
                scores = self._inputs_scores(self._model_rows(lacking), output)
            for i, row_scores in zip(missing, scores, strict=True):
                kept[i][output] = row_scores
        return np.stack([scores[output] for scores in kept])

    def _model_rows(self, encoded: Sequence[Encoded]) -> np.ndarray:
        """The final estimator's inputs ``[n, m]`` of encoded rows (one preprocessing call
        for those not seen before, kept on each Encoded)."""
        space = self._model_space
        assert space is not None
        missing = [e for e in encoded if "model_row" not in e.data]
        if missing:
            inputs = space.transform(np.stack([e.data["row"] for e in missing]))
            for e, model_row in zip(missing, inputs, strict=True):
                e.data["model_row"] = model_row
        return np.stack([e.data["model_row"] for e in encoded])

    def _inputs_scores(self, inputs: np.ndarray, output: str) -> np.ndarray:
        """Explained scores ``[n, C]`` of the final estimator's inputs, in large calls."""
        space = self._model_space
        assert space is not None
        step = self.params["max_batch_rows"]
        return np.concatenate(
            [space.scores(inputs[i : i + step], output) for i in range(0, len(inputs), step)]
        )

    def _scores(self, rows: np.ndarray, output: str) -> np.ndarray:
        """One model call on schema-matrix rows ``[n, d]`` -> scores ``[n, C]``."""
        if self.torch is None:
            return self.model.scores(self.schema.to_frame(rows), output)
        with torch.no_grad():
            logits = self.torch.logits(self._encode(rows))
        return explained_scores(logits, output).double().cpu().numpy()

    def _encode(self, rows: np.ndarray) -> torch.Tensor:
        """Schema rows ``[n, d]`` -> the torch model's input ``[n, m]``."""
        param = next(self.torch.module.parameters(), None)
        dtype = param.dtype if param is not None else torch.float32
        return torch.as_tensor(self.encoder.encode(rows), dtype=dtype)

    def _bind_torch(self) -> list[str]:
        """Call the network on the background to check its input width and outputs."""
        try:
            with torch.no_grad():
                logits = self.torch.logits(self._encode(self.background.rows))
        except RuntimeError as err:
            raise InvalidParameterError(
                f"The torch model cannot be called on the encoded rows "
                f"({self.encoder.n_outputs} columns: {', '.join(self.encoder.feature_names_out)})"
                f": {err}. Train it on TabularEncoder().fit(X_train).transform(X) and pass "
                "encoder=."
            ) from err
        labels = self.torch.labels(logits.shape[1])
        if len(labels) != logits.shape[1]:
            raise InvalidParameterError(
                f"{len(labels)} labels were given for a model with {logits.shape[1]} outputs."
            )
        return labels


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


def _hybrids(row: np.ndarray, rows: np.ndarray, games: np.ndarray, masks: np.ndarray) -> np.ndarray:
    """Schema-matrix hybrids ``[n, d]``: ``row`` where ``masks`` holds, ``rows[games]`` else."""
    return np.where(masks, row[None], rows[games])


def _identity(target: int) -> int:
    return target


def _wrap(model: Any, labels: Any) -> TabularModel:
    """The model wrapper for ``model``: scikit-learn-like, or any f(DataFrame)."""
    if isinstance(model, TabularModel):
        return model
    if any(callable(getattr(model, name, None)) for name in ("predict", "predict_proba")):
        return SklearnModel(model, labels)
    if callable(model):
        return CallableModel(model, labels=labels)
    raise InvalidParameterError(
        "A tabular model must be a fitted scikit-learn-style estimator (predict / "
        "predict_proba), a torch.nn.Module over TabularEncoder's encoding, or a function "
        f"f(DataFrame) -> scores. Got {type(model).__name__}."
    )
