"""Explainer: a model plus a modality adapter, explained by any registered method."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from xplain._validation import Options, Param, validate_params
from xplain.adapters.base import Adapter, Encoded
from xplain.errors import InvalidParameterError, InvalidTargetError, MethodNotApplicableError
from xplain.explanation import Explanation
from xplain.methods.base import Method
from xplain.methods.build import build_method
from xplain.registry import get_method, method_names

if TYPE_CHECKING:
    from xplain.comparison import Comparison

_MODALITIES = ("text", "tabular", "image")
_VIEW_REASONS = {
    "differentiable": "it needs gradients and the model is not differentiable",
    "interpretable": "it needs a perturbation view, which this adapter lacks",
    "tree": "it needs a tree ensemble (scikit-learn trees, xgboost, lightgbm)",
}


@dataclass(frozen=True)
class _Prepared:
    """An encoded instance with its prediction and resolved target (and what they cost)."""

    encoded: Encoded
    probabilities: np.ndarray
    labels: list[str]
    target: int
    n_model_evals: int
    seconds: float


class Explainer:
    """Explain one model's predictions with any registered method.

    >>> ex = Explainer(model, tokenizer=tokenizer)           # Hugging Face text classifier
    >>> e = ex.explain("a gripping film", method="integrated_gradients")

    ``output`` is the score the methods explain; the adapter says which it offers
    (``adapter.outputs``; the first is the default): ``"logits"`` for neural networks,
    ``"probability"`` for scikit-learn classifiers, and ``"log_probability"``,
    ``"log_odds"`` or ``"raw"`` where they apply. Further keyword arguments configure the
    adapter (e.g. ``aggregation="l2"``, ``merge_subwords=True``).
    """

    _parameters = {
        "modality": Param(None, Options((None, *_MODALITIES)), doc="force a modality"),
    }

    def __init__(
        self,
        model: Any,
        *,
        tokenizer: Any = None,
        data: Any = None,
        modality: str | None = None,
        adapter: Adapter | None = None,
        output: str | None = None,
        **adapter_params: Any,
    ) -> None:
        params = validate_params("Explainer", self._parameters, {"modality": modality})
        if adapter is not None and adapter_params:
            raise InvalidParameterError(
                f"Adapter parameters {sorted(adapter_params)} were given together with an "
                "explicit adapter; configure the adapter itself instead."
            )
        self.model = model
        self.adapter = adapter if adapter is not None else _make_adapter(
            model, tokenizer, data, params["modality"], adapter_params
        )
        allowed = self.adapter.outputs
        if output is not None and output not in allowed:
            raise InvalidParameterError(
                f"The 'output' parameter of Explainer must be one of "
                f"{', '.join(map(repr, allowed))} for this model. Got {output!r}."
            )
        self.output = output or allowed[0]

    def __repr__(self) -> str:
        return (
            f"Explainer(model={type(self.model).__name__}, "
            f"adapter={type(self.adapter).__name__}, output={self.output!r})"
        )

    @property
    def modality(self) -> str:
        return self.adapter.modality

    def applicable_methods(self) -> list[str]:
        """Registered methods this explainer's adapter can run."""
        return [n for n in method_names() if self._why_not(get_method(n)) is None]

    def explain(
        self,
        instance: Any,
        method: str | None = None,
        target: int | str | None = None,
        **params: Any,
    ) -> Explanation:
        """Explain ``instance`` with ``method`` for class ``target`` (None = predicted)."""
        method = method or self._default_method()
        algorithm = self._build(method, params)
        return self._attribute(self._prepare(instance, target), method, algorithm)

    def compare(
        self,
        instance: Any,
        methods: Sequence[str] | None = None,
        target: int | str | None = None,
        metrics: Sequence[str] | None = None,
        params: Mapping[str, Mapping[str, Any]] | None = None,
    ) -> Comparison:
        """Explain ``instance`` with several methods for one target; see :mod:`xplain.comparison`.

        ``params`` maps a method name to its parameters; ``metrics`` (names from
        ``xplain.metrics.available_metrics()``) are evaluated right away and become the
        default of ``Comparison.evaluate()``.
        """
        from xplain.comparison import compare

        return compare(self, instance, methods, target, metrics, params)

    def explain_batch(
        self,
        instances: Iterable[Any],
        method: str | None = None,
        target: int | str | None = None,
        *,
        progress: bool = False,
        **params: Any,
    ) -> list[Explanation]:
        """Explain many instances with one method: one Explanation each, in their order.

        ``instances`` is split by the adapter (``Adapter.split_batch``): a list of
        instances, the rows of a DataFrame or 2-D array, the images of an ``[N, ...]``
        array or tensor. Methods that explain many instances in one pass
        (``Method.batched()``, e.g. ``tree_shap``) get them all at once, after one model
        call predicting every instance; each Explanation equals what ``explain`` returns
        for its instance, except ``n_model_evals`` and ``seconds``: the batch's model
        evaluations and time (after encoding) are shared out evenly over its instances
        (the first ones take the remainder of the evaluations), so they sum to the
        batch's totals. Other methods explain the instances one by one.
        """
        from tqdm.auto import tqdm

        method = method or self._default_method()
        algorithm = self._build(method, params)
        items = self.adapter.split_batch(instances)
        if not (algorithm.batched() and items):
            return [
                self.explain(item, method, target, **params)
                for item in tqdm(items, disable=not progress, desc=method)
            ]
        with tqdm(total=len(items), disable=not progress, desc=method) as bar:
            explanations = self._attribute_batch(items, target, method, algorithm)
            bar.update(len(items))
        return explanations

    def _attribute_batch(
        self, items: list[Any], target: int | str | None, method: str, algorithm: Method
    ) -> list[Explanation]:
        """Encode all items, predict them in one call, attribute them in one method call."""
        adapter, n = self.adapter, len(items)
        encoded = [adapter.encode(item) for item in items]
        start_evals, start_time = adapter.n_model_evals, time.perf_counter()
        predictions = np.asarray(adapter.predict_batch(encoded), dtype=np.float64)  # [n, C]
        labels = self._labels(predictions.shape[1])
        targets = [resolve_target(target, p, labels) for p in predictions]
        views = adapter.view_batch(algorithm.view, encoded, self.output)
        results = algorithm.attribute_batch(views, targets)
        values = [view.to_features(r.values) for view, r in zip(views, results, strict=True)]
        total = adapter.n_model_evals - start_evals
        evals = [total // n + (i < total % n) for i in range(n)]
        seconds = (time.perf_counter() - start_time) / n
        return [
            self._explanation(
                _Prepared(encoded[i], predictions[i], labels, targets[i], evals[i], seconds),
                method,
                algorithm,
                values[i],
                results[i].diagnostics,
            )
            for i in range(n)
        ]

    # -- helpers -------------------------------------------------------------------------
    def _prepare(self, instance: Any, target: int | str | None) -> _Prepared:
        """Encode ``instance``, predict it once and resolve ``target`` (shared by methods)."""
        encoded = self.adapter.encode(instance)
        start_evals, start_time = self.adapter.n_model_evals, time.perf_counter()
        probabilities = np.asarray(self.adapter.predict(encoded), dtype=np.float64)
        labels = self._labels(len(probabilities))
        index = resolve_target(target, probabilities, labels)
        return _Prepared(
            encoded,
            probabilities,
            labels,
            index,
            self.adapter.n_model_evals - start_evals,
            time.perf_counter() - start_time,
        )

    def _attribute(self, prepared: _Prepared, method: str, algorithm: Method) -> Explanation:
        """Run ``algorithm`` on a prepared instance; the prediction's cost is included."""
        start_evals, start_time = self.adapter.n_model_evals, time.perf_counter()
        view = self.adapter.view(algorithm.view, prepared.encoded, self.output)
        result = algorithm.attribute(view, prepared.target)
        values = view.to_features(result.values)
        spent = _Prepared(
            prepared.encoded,
            prepared.probabilities,
            prepared.labels,
            prepared.target,
            prepared.n_model_evals + self.adapter.n_model_evals - start_evals,
            prepared.seconds + time.perf_counter() - start_time,
        )
        return self._explanation(spent, method, algorithm, values, result.diagnostics)

    def _explanation(
        self,
        prepared: _Prepared,
        method: str,
        algorithm: Method,
        values: np.ndarray,
        diagnostics: dict[str, Any],
    ) -> Explanation:
        """The Explanation of a prepared instance (``n_model_evals``, ``seconds``: all spent)."""
        encoded, index, labels = prepared.encoded, prepared.target, prepared.labels
        return Explanation(
            features=list(encoded.features),
            values=np.asarray(values, dtype=np.float64),
            target=index,
            target_label=labels[index],
            prediction=prepared.probabilities,
            labels=list(labels),
            method=method,
            params=dict(algorithm.params),
            diagnostics={**encoded.notes, **diagnostics},
            n_model_evals=prepared.n_model_evals,
            seconds=prepared.seconds,
            modality=self.adapter.modality,
            output=self.output,
            special=np.asarray(encoded.special, dtype=bool)
            if encoded.special is not None
            else np.zeros(len(encoded.features), dtype=bool),
            instance=encoded.instance,
        )

    def _labels(self, n_outputs: int) -> list[str]:
        """The adapter's labels, or ``"0"``, ``"1"``... when they do not match the outputs."""
        labels = self.adapter.labels
        return list(labels) if len(labels) == n_outputs else [str(i) for i in range(n_outputs)]

    def _default_method(self) -> str:
        return "integrated_gradients" if self.adapter.supports("differentiable") else "kernel_shap"

    def _build(self, name: str, params: dict[str, Any]) -> Method:
        algorithm = build_method(name, params)
        reason = self._why_not(get_method(name))
        if reason is not None:
            raise MethodNotApplicableError(
                f"Method {name!r} cannot explain this model: {reason}. Methods that apply: "
                f"{', '.join(self.applicable_methods()) or 'none'}."
            )
        return algorithm

    def _why_not(self, cls: type[Method]) -> str | None:
        if self.adapter.modality not in cls.modalities:
            return f"it supports {', '.join(sorted(cls.modalities))}, not {self.adapter.modality}"
        if not self.adapter.supports(cls.view):
            return _VIEW_REASONS.get(cls.view, f"the adapter offers no {cls.view} view")
        return cls.unavailable(self.adapter.torch_module())


def resolve_target(target: int | str | None, probabilities: np.ndarray, labels: list[str]) -> int:
    """Class index for ``target``: None = predicted class, an index, or a label name."""
    n = len(probabilities)
    if target is None:
        return int(np.argmax(probabilities))
    if isinstance(target, str):
        if target in labels:
            return labels.index(target)
        folded = [label.casefold() for label in labels]
        if target.casefold() in folded:
            return folded.index(target.casefold())
        raise InvalidTargetError(
            f"The model has no class labelled {target!r}. Its labels are: "
            f"{', '.join(repr(label) for label in labels)}."
        )
    if isinstance(target, int | np.integer) and not isinstance(target, bool):
        if 0 <= int(target) < n:
            return int(target)
        raise InvalidTargetError(
            f"Target index {int(target)} is out of range: the model has {n} classes, "
            f"so target must be in 0..{n - 1} (or a label: {', '.join(labels)})."
        )
    raise InvalidTargetError(
        f"target must be None (the predicted class), an int index or a label string. "
        f"Got {type(target).__name__}."
    )


def _make_adapter(
    model: Any, tokenizer: Any, data: Any, modality: str | None, params: dict[str, Any]
) -> Adapter:
    """Choose the adapter from the arguments: a tokenizer means text, and so on."""
    if modality == "text" or (modality is None and tokenizer is not None):
        from xplain.adapters.text import TextAdapter

        return TextAdapter(model, tokenizer, **params)
    if modality == "image":
        from xplain.adapters.image import ImageAdapter

        return ImageAdapter(model, **params)
    if modality == "tabular" or data is not None:
        from xplain.adapters.tabular import TabularAdapter

        return TabularAdapter(model, data, **params)
    raise InvalidParameterError(
        "Cannot tell which modality to explain: pass tokenizer= for a Hugging Face text "
        "model, data= (background rows) for a tabular model, modality='image' for an image "
        "model, or an explicit adapter=."
    )
