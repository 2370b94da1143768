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
  ``max_batch_rows`` rows. LIME gets the neighbourhood ``lime_tabular`` draws.
* differentiable (torch models): the encoded row, the weighted mean encoded background
  row as baseline, the encoded background rows, and attributions of a one-hot group
  summed to its column.
* tree (tree ensembles, possibly after a Pipeline's preprocessing): the row and the
  background in the model's own columns, for shap's TreeExplainer.
"""

from __future__ import annotations

from functools import cached_property
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
from xplain.adapters._tabular_background import METHODS, summarise
from xplain.adapters._tabular_encoder import TabularEncoder
from xplain.adapters._tabular_lime import DISCRETIZERS, LimeSampler
from xplain.adapters._tabular_schema import TabularSchema, _as_frame
from xplain.adapters._tabular_trees import TreeParts, shap_model_output, tree_parts
from xplain.adapters.base import (
    Adapter,
    DifferentiableView,
    Encoded,
    InterpretableView,
    Neighbourhood,
    TreeView,
)
from xplain.errors import InvalidParameterError, MethodNotApplicableError, XplainError
from xplain.models.base import OUTPUTS, explained_scores
from xplain.models.callable import CallableModel, TabularModel
from xplain.models.sklearn import SklearnModel
from xplain.models.torch import TorchClassifier

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
        self._base_scores: dict[str, np.ndarray] = {}

    def __repr__(self) -> str:
        kind = type(self.torch.module if self.torch else self.model).__name__
        return f"TabularAdapter(model={kind}, columns={len(self.schema)})"

    # -- the Adapter interface -----------------------------------------------------------
    @property
    def labels(self) -> list[str]:
        return self._labels

    @property
    def outputs(self) -> tuple[str, ...]:
        return OUTPUTS if self.torch is not None else self.model.outputs

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
            special=np.zeros(len(row), dtype=bool),
        )

    def predict(self, encoded: Encoded) -> np.ndarray:
        output = "probability" if "probability" in self.outputs else self.outputs[0]
        return self.scores(encoded.data["row"][None], output)[0]

    def scores(self, rows: np.ndarray, output: str) -> np.ndarray:
        """Explained scores ``[n, C]`` of schema-matrix rows ``[n, d]``, in large calls."""
        step = self.params["max_batch_rows"]
        chunks = [self._scores(rows[i : i + step], output) for i in range(0, len(rows), step)]
        return np.concatenate(chunks)

    def base_scores(self, output: str) -> np.ndarray:
        """E f(background) ``[C]``: weighted mean score of the background rows (cached)."""
        if output not in self._base_scores:
            scores = self.scores(self.background.rows, output)  # [K, C]
            self._base_scores[output] = self.background.weights @ scores
        return self._base_scores[output]

    # -- perturbation view ---------------------------------------------------------------
    def interpretable_view(self, encoded: Encoded, output: str) -> InterpretableView:
        row = encoded.data["row"]  # [d]
        rows, weights = self.background.rows, self.background.weights  # [K, d], [K]
        d, k = row.shape[0], rows.shape[0]
        per_call = max(1, self.params["max_batch_rows"] // k)  # masks per model call

        def evaluate(masks: np.ndarray) -> np.ndarray:
            masks = np.asarray(masks, dtype=bool).reshape(-1, d)  # [n, d]
            out = []
            for start in range(0, masks.shape[0], per_call):
                chunk = masks[start : start + per_call]  # [c, d]
                hybrid = np.where(chunk[:, None, :], row, rows[None])  # [c, K, d]
                scores = self._scores(hybrid.reshape(-1, d), output)  # [c K, C]
                out.append(np.einsum("nkc,k->nc", scores.reshape(len(chunk), k, -1), weights))
            return np.concatenate(out) if out else np.zeros((0, len(self.labels)))

        return InterpretableView(
            n_features=d,
            evaluate=evaluate,
            active=np.arange(d),
            scores=self.scores(row[None], output)[0],
            base_scores=self.base_scores(output),
            n_total=d,
            sample_neighbourhood=lambda n, rng: self._neighbourhood(row, output, n, rng),
            null_players=(rows == row[None]).all(0),  # replacing these changes no row
        )

    def _neighbourhood(
        self, row: np.ndarray, output: str, n: int, rng: np.random.Generator
    ) -> Neighbourhood:
        representation, rows, distances = self._lime.sample(row, n, rng)
        return Neighbourhood(representation, self.scores(rows, output), distances)

    @cached_property
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
        return DifferentiableView(
            inputs=inputs,
            baseline=baseline,
            forward=lambda x: explained_scores(model.logits(x), output),
            aggregate=lambda attr: encoder.to_columns(
                attr.detach().double().cpu().numpy().reshape(-1)
            ),
            background=background,
            module=model.module,
        )

    # -- tree view -----------------------------------------------------------------------
    @cached_property
    def _tree_parts(self) -> TreeParts | str:
        return tree_parts(self.model, self.schema, self.data, self.background.rows)

    def tree_view(self, encoded: Encoded, output: str) -> TreeView:
        parts = self._tree_parts
        if not isinstance(parts, TreeParts):
            raise MethodNotApplicableError(f"tree_shap cannot explain this model: {parts}.")
        row = encoded.data["row"][None]  # [1, d]
        d = row.shape[1]
        return TreeView(
            model=parts.estimator,
            row=self.model.transform(self.schema.to_frame(row)),  # [1, m]
            background=self.model.transform(self.schema.to_frame(self.background.rows)),
            model_output=shap_model_output(self.model, parts.estimator, output),
            class_index=lambda target: target,
            to_features=lambda values: parts.to_features(values, d),
            scores=self.scores(row, output)[0],
            base_scores=self.base_scores(output),
            background_weights=self.background.weights,
        )

    # -- calling the model ---------------------------------------------------------------
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


def _wrap(model: Any, labels: Any) -> TabularModel:
    """The model wrapper for ``model``: scikit-learn-like, or any f(DataFrame)."""
    if isinstance(model, TabularModel):
        return model
    if callable(getattr(model, "predict", None)):
        return SklearnModel(model, labels)
    if callable(model):
        return CallableModel(model, labels=labels)
    raise InvalidParameterError(
        "A tabular model must be a fitted scikit-learn-style estimator (predict / "
        "predict_proba), a torch.nn.Module over TabularEncoder's encoding, or a function "
        f"f(DataFrame) -> scores. Got {type(model).__name__}."
    )
