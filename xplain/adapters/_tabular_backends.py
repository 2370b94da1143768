"""The model behind a TabularAdapter: one backend object, chosen once at construction.

A backend scores rows of the schema matrix (``[n, d]``, one column per original column,
categories as codes) and says which views its model supports:

* :class:`TorchBackend`: a ``torch.nn.Module`` over the raw numeric columns, or over the
  encoding it was trained on (:class:`TabularEncoder`, a scaler); differentiable, no trees.
* :class:`SklearnBackend`: a scikit-learn estimator or Pipeline (or an xgboost / lightgbm
  sklearn model); its trees for TreeSHAP, and, past a column-wise preprocessing, masked
  rows assembled in the final estimator's columns (:mod:`._tabular_model_space`).
* :class:`CallableBackend`: any ``f(DataFrame) -> scores`` (or a :class:`TabularModel`).

Every backend has a *space*: where masked (hybrid) rows are assembled and scored. It is
the schema matrix itself (:class:`RowSpace`, the whole model called on each hybrid) unless
a Pipeline's preprocessing passes the checks of :func:`model_space`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from xplain.adapters._once import shared_property
from xplain.adapters._tabular_encoder import Encoding, RawColumns
from xplain.adapters._tabular_model_space import ModelSpace, model_space
from xplain.adapters._tabular_schema import TabularSchema
from xplain.adapters._tabular_trees import TreeParts, tree_parts
from xplain.errors import InvalidParameterError, XplainError
from xplain.models.base import EvalCounter, explained_scores
from xplain.models.callable import CallableModel, TabularModel
from xplain.models.sklearn import SklearnModel
from xplain.models.torch import TorchClassifier

NOT_A_TREE = "the model is not a tree ensemble (scikit-learn trees, xgboost, lightgbm)"


@dataclass(frozen=True)
class RowSpace:
    """Hybrids assembled in the schema matrix's columns and scored by the whole model."""

    backend: TabularBackend
    background: np.ndarray  # [K, d] the background rows

    def transform(self, rows: np.ndarray) -> np.ndarray:
        """Schema-matrix rows ``[n, d]`` as this space holds them: unchanged."""
        return rows

    def hybrids(self, row: np.ndarray, games: np.ndarray, masks: np.ndarray) -> np.ndarray:
        """Hybrids ``[n, d]``: ``row`` where ``masks`` holds, background row ``games[i]`` else."""
        out = np.take(self.background, games, axis=0)  # one array, filled in place: the
        np.copyto(out, row, where=masks)  # values of np.where at half its time
        return out

    def scores(self, inputs: np.ndarray, output: str) -> np.ndarray:
        """Scores ``[n, C]`` of schema-matrix rows: one call of the whole model."""
        return self.backend.scores(inputs, output)


Space = RowSpace | ModelSpace


class TabularBackend(ABC):
    """Scores rows of the schema matrix with one kind of model; knows what it supports.

    ``model`` is the wrapper whose ``n_evals`` counts the rows evaluated; ``labels`` and
    ``outputs`` are learnt from a first call on the background rows.
    """

    model: EvalCounter
    labels: list[str]
    encoder: Encoding | None = None
    differentiable: bool = False  # offers gradients (a DifferentiableView)

    def __init__(self, schema: TabularSchema, data: np.ndarray, background: np.ndarray) -> None:
        self.schema, self.data, self.background = schema, data, background

    @property
    @abstractmethod
    def outputs(self) -> tuple[str, ...]:
        """Scores the methods may explain, the default first."""

    @property
    def single_output(self) -> bool:
        """Whether the model returns one score per row (shown as two classes)."""
        return False

    @property
    def note(self) -> str | None:
        """What the model returns when it is not plain scores (shown with explanations)."""
        return None

    @property
    def module(self) -> torch.nn.Module | None:
        """The torch module behind the model, if any."""
        return None

    @property
    def kind(self) -> str:
        """The type name of the user's model (for reprs)."""
        return type(self.model).__name__

    @abstractmethod
    def scores(self, rows: np.ndarray, output: str) -> np.ndarray:
        """One model call on schema-matrix rows ``[n, d]`` -> scores ``[n, C]``."""

    @shared_property
    def space(self) -> Space:
        """Where hybrids are assembled and scored (built once)."""
        return RowSpace(self, self.background)

    @shared_property
    def trees(self) -> TreeParts | str:
        """The tree parts of the model, or why it has none (built once)."""
        return NOT_A_TREE


class TorchBackend(TabularBackend):
    """A torch network called on ``encoder.encode(rows)``; gradients flow through it.

    Without an encoder the network is called on the raw columns (:class:`RawColumns`):
    what it was trained on unless the user says otherwise; an encoding fitted here on
    ``data`` would explain the network at inputs it never saw.
    """

    differentiable = True
    encoder: Encoding

    def __init__(
        self,
        module: torch.nn.Module,
        schema: TabularSchema,
        data: np.ndarray,
        background: np.ndarray,
        labels: Any,
        encoder: Encoding | None,
    ) -> None:
        super().__init__(schema, data, background)
        self.encoder = RawColumns(schema) if encoder is None else encoder
        self.model = self.torch = TorchClassifier(module, labels)
        self.labels = self._bind()

    @property
    def outputs(self) -> tuple[str, ...]:
        return self.torch.reader.outputs

    @property
    def single_output(self) -> bool:
        return self.torch.reader.single_output

    @property
    def note(self) -> str | None:
        return self.torch.reader.note or None

    @property
    def module(self) -> torch.nn.Module:
        return self.torch.module

    @property
    def kind(self) -> str:
        return type(self.torch.module).__name__

    def logits(self, inputs: torch.Tensor) -> torch.Tensor:
        """The network's logits ``[n, C]`` of its inputs ``[n, m]`` (differentiable)."""
        return self.torch.logits(inputs)

    def scores(self, rows: np.ndarray, output: str) -> np.ndarray:
        with torch.no_grad():
            logits = self.torch.logits(self.encode(rows))
        return explained_scores(logits, output).double().cpu().numpy()

    def encode(self, rows: np.ndarray) -> torch.Tensor:
        """Schema rows ``[n, d]`` -> the network's input ``[n, m]`` in its dtype."""
        param = next(self.torch.module.parameters(), None)
        dtype = param.dtype if param is not None else torch.float32
        return torch.as_tensor(self.encoder.encode(rows), dtype=dtype)

    def _bind(self) -> list[str]:
        """Call the network on the background to check its input width and outputs."""
        try:
            with torch.no_grad():
                logits = self.torch.logits(self.encode(self.background))
        except RuntimeError as err:
            raw = isinstance(self.encoder, RawColumns)
            fix = (
                "Without encoder= a network is called on the data's columns as they are; "
                "if it was trained on an encoding, pass it: encoder=xplain.adapters."
                "TabularEncoder().fit(X_train), or the fitted scikit-learn scaler."
                if raw
                else "Pass as encoder= the encoding the network was trained on."
            )
            what = "raw columns" if raw else "encoded rows"
            raise InvalidParameterError(
                f"The torch model cannot be called on the {what} "
                f"({self.encoder.n_outputs} columns: {', '.join(self.encoder.feature_names_out)})"
                f": {err}. {fix}"
            ) from err
        labels = self.torch.labels(logits.shape[1])
        if len(labels) != logits.shape[1]:
            raise InvalidParameterError(
                f"{len(labels)} labels were given for a model with {logits.shape[1]} outputs."
            )
        return labels


class CallableBackend(TabularBackend):
    """A model of DataFrames (any ``f(DataFrame)``, or a :class:`TabularModel`)."""

    def __init__(
        self, model: TabularModel, schema: TabularSchema, data: np.ndarray, background: np.ndarray
    ) -> None:
        super().__init__(schema, data, background)
        self.model: TabularModel = model
        try:
            model.bind(schema.to_frame(background))
        except XplainError:
            raise
        except Exception as err:  # the user's model failed on its data
            raise InvalidParameterError(
                f"The model failed on rows of the data ({type(err).__name__}: {err}). "
                "Pass as data= the training rows the model was fitted on."
            ) from err
        self.labels = model.labels

    @property
    def outputs(self) -> tuple[str, ...]:
        return self.model.outputs

    def scores(self, rows: np.ndarray, output: str) -> np.ndarray:
        return self.model.scores(self.schema.to_frame(rows), output)


class SklearnBackend(CallableBackend):
    """A scikit-learn estimator or Pipeline: trees for TreeSHAP, and hybrids assembled
    past a column-wise preprocessing."""

    model: SklearnModel

    @shared_property
    def space(self) -> Space:
        found = model_space(self.model, self.schema, self.data, self.background)
        return RowSpace(self, self.background) if found is None else found

    @shared_property
    def trees(self) -> TreeParts | str:
        return tree_parts(self.model, self.schema, self.data, self.background)

    def tree_inputs(self, rows: np.ndarray, model_rows: np.ndarray) -> np.ndarray:
        """Schema rows ``[n, d]`` as the tree model sees them ``[n, m]`` (float); past a
        column-wise preprocessing these are ``model_rows``, already preprocessed."""
        if isinstance(self.space, ModelSpace):
            return np.asarray(model_rows, dtype=np.float64)
        return self.model.transform(self.schema.to_frame(rows))

    @shared_property
    def tree_background(self) -> np.ndarray:
        """The background rows in the tree model's own columns ``[K, m]`` (built once)."""
        return self.model.transform(self.schema.to_frame(self.background))


def backend_for(
    model: Any,
    schema: TabularSchema,
    data: np.ndarray,
    background: np.ndarray,
    labels: Any,
    encoder: Encoding | None,
) -> TabularBackend:
    """The backend of ``model``: torch network, scikit-learn-like model, or any f(DataFrame)."""
    if isinstance(model, torch.nn.Module):
        return TorchBackend(model, schema, data, background, labels, encoder)
    if isinstance(model, SklearnModel) or (
        not isinstance(model, TabularModel)
        and any(callable(getattr(model, name, None)) for name in ("predict", "predict_proba"))
    ):
        wrapped = model if isinstance(model, SklearnModel) else SklearnModel(model, labels)
        return SklearnBackend(wrapped, schema, data, background)
    if isinstance(model, TabularModel):
        return CallableBackend(model, schema, data, background)
    if callable(model):
        return CallableBackend(CallableModel(model, labels=labels), schema, data, background)
    raise InvalidParameterError(
        "A tabular model must be a fitted scikit-learn-style estimator (predict / "
        "predict_proba), a torch.nn.Module over numeric columns (or an encoder=), or a function "
        f"f(DataFrame) -> scores. Got {type(model).__name__}."
    )
