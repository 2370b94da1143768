"""Explainer: a model plus a modality adapter, explained by any registered method."""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from xplain._identity import instance_fingerprint, model_fingerprint
from xplain._validation import Options, Param, validate_params
from xplain.adapters._builtin import BUILT_IN, make_adapter
from xplain.adapters.base import Adapter, Encoded
from xplain.errors import (
    InvalidParameterError,
    InvalidTargetError,
    MethodNotApplicableError,
    ModelOutputError,
)
from xplain.explanation import Explanation
from xplain.explanations import Explanations
from xplain.methods._completeness import shown_completeness
from xplain.methods.base import Method
from xplain.methods.build import build_method
from xplain.models.base import EvalCounter, evaluated_in_this_thread
from xplain.registry import get_method, method_names
from xplain.views import DifferentiableView, runs_on, view_name, view_type

if TYPE_CHECKING:
    from xplain.comparison import Comparison
    from xplain.scale.dataset import ExplanationDataset



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

    Args:
        model: The model: a Hugging Face classifier, a torch module, a scikit-learn
            estimator or pipeline, a tree ensemble, or a function of a batch.
        tokenizer: A text model's tokenizer (a text adapter is chosen).
        data: Background rows of a tabular model (a DataFrame or 2-D array): "absent"
            values for the perturbation methods and the SHAP family's base value.
        modality: ``"text"``, ``"tabular"`` or ``"image"`` to pick a built-in adapter;
            None: chosen from the model, ``tokenizer`` and ``data``.
        adapter: An adapter object (built-in or a plugin's), used as it is; then no
            adapter keywords may be given.
        output: The score explained (see below); None: the adapter's default.
        **adapter_params: Keywords of the adapter, e.g. ``aggregation="l2"``,
            ``merge_subwords=True`` (text), ``preprocess=``, ``labels=`` (images),
            ``background_size=`` (tables).

    ``output`` is the score the methods explain; the adapter says which it offers
    (``adapter.outputs``; the first is the default): ``"logits"`` for neural networks,
    ``"probability"`` for scikit-learn classifiers, and ``"log_probability"``,
    ``"log_odds"`` or ``"raw"`` where they apply. Further keyword arguments configure the
    adapter (e.g. ``aggregation="l2"``, ``merge_subwords=True``).

    A torch model's own output is the default (what Captum explains with ``target=c``):
    ``"probability"`` for a model ending in ``nn.Softmax`` or ``nn.Sigmoid`` (or whose
    outputs are rows of non-negative values summing to 1, found at its first call and
    noted in ``Explanation.diagnostics["model_output"]``), ``"log_probability"`` for
    ``nn.LogSoftmax``; such outputs are never normalised again. A model with one output
    ``z`` is a binary classifier with logits ``[0, z]``: ``target=None`` explains ``z``
    (class 1) whatever its sign; with output ``"logits"``, ``target=0`` is refused, as
    class 0 has no score of its own (explain class 0 with ``output="probability"``).
    See :mod:`xplain.models.outputs`.

    The model's mode is the user's: a torch model is evaluated in eval mode (dropout off,
    batch norm on its running statistics) during each of its forward passes, and every
    submodule gets its own mode back afterwards, also on error. The explanations are thus
    the same whether the model was left in ``train()`` or ``eval()`` mode.

    Threads: ``explain``, ``compare`` and ``explain_batch`` may be called concurrently,
    on one Explainer or on several sharing one model, and give exactly the serial results.
    Hooks a method installs on the model (DeepLIFT's rescale rule, guided ReLUs,
    Grad-CAM's recorder) act only on the forward passes of the thread that installed
    them; the eval-mode switch is counted per model under one lock (the first forward in
    saves the modes, the last out restores them); an adapter's lazily built caches are
    built once, under the adapter's lock. Do not switch the model's mode, or change its
    weights, while explanations run. ``n_model_evals`` counts the rows the call's own
    thread evaluated (a custom adapter whose model does not count through
    :class:`~xplain.models.base.EvalCounter` is charged its ``n_model_evals`` running
    total, which counts every thread), and leaves out one-time setup shared by all calls
    (a tabular background's scores, a Pipeline's preprocessing check): an explanation's
    count does not depend on what ran before it. ``adapter.n_model_evals`` is the
    running total of every row the model evaluated.
    """

    _parameters = {
        "modality": Param(None, Options((None, *BUILT_IN)), doc="pick a built-in adapter"),
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
        self.adapter = adapter if adapter is not None else make_adapter(
            model, tokenizer, data, params["modality"], adapter_params
        )
        allowed = self.adapter.outputs
        if output is not None and output not in allowed:
            raise InvalidParameterError(
                f"The 'output' parameter of Explainer must be one of "
                f"{', '.join(map(repr, allowed))} for this model. Got {output!r}."
            )
        self._output = output  # None: the adapter's default (see the output property)
        self._model_id: str | None = None

    def __repr__(self) -> str:
        return (
            f"Explainer(model={type(self.model).__name__}, "
            f"adapter={type(self.adapter).__name__}, output={self.output!r})"
        )

    @property
    def model_id(self) -> str:
        """Fingerprint of the model (computed on first use; see ``Explanation.model_id``)."""
        if self._model_id is None:
            self._model_id = model_fingerprint(self.model)
        return self._model_id

    @property
    def output(self) -> str:
        """The score explained: the one asked for, else the adapter's default, which is
        the model's own output once the model has answered (see ``Explainer``)."""
        return self._output or self.adapter.outputs[0]

    @property
    def modality(self) -> str:
        return self.adapter.modality

    def applicable_methods(self) -> list[str]:
        """Registered methods this explainer's adapter can run."""
        return [n for n in method_names() if self._why_not(get_method(n)) is None]

    def explain(
        self,
        instance: Any,
        method: str | Method | None = None,
        target: int | str | None = None,
        **params: Any,
    ) -> Explanation:
        """Explain ``instance`` with ``method`` for class ``target`` (None = predicted).

        Args:
            instance: What to explain, in the adapter's modality: a text (str), a table
                row (pandas Series, dict or 1-D array) or an image (array, tensor or PIL
                image).
            method: A registered method name, configured by ``params``, or a method
                object such as ``Smooth(IntegratedGradients(n_steps=32),
                noise_samples=10)``, configured where it was constructed (then ``params``
                must be empty). None: the adapter's default method. The names are
                ``xplain.available_methods().name`` (built in: ``saliency``,
                ``input_x_gradient``, ``smoothgrad``, ``integrated_gradients``,
                ``deeplift``, ``deepshap``, ``gradient_shap``, ``grad_cam``,
                ``guided_grad_cam``, ``guided_backprop``, ``xrai``, ``lime``,
                ``kernel_shap``, ``tree_shap``, ``occlusion``, ``exact_shapley``);
                :meth:`applicable_methods` lists those that run on this model.
            target: The class explained: None (the predicted class), an int (a class
                index, 0..C-1) or a str (a class label, matched exactly, else ignoring
                case). When the labels are integers themselves (e.g. scikit-learn
                ``classes_ = [1, 2]``), an int that is a valid index and also the label
                of another class is refused as ambiguous: pass the label as a string
                (``target="2"``). The CLI's ``--target`` follows the same rule.
            **params: The method's parameters, e.g. ``n_steps=64`` for
                ``integrated_gradients`` or ``max_evals=512, seed=0`` for
                ``kernel_shap`` (each method's parameters, defaults and paper: the
                documentation's method table). ``noise_samples=`` on any gradient method
                wraps it in SmoothGrad noise.

        Returns:
            Explanation: one value per feature (``features``, ``values``), with the
            target, the model's prediction, ``base_value`` where the method defines one,
            ``diagnostics``, ``n_model_evals`` and ``seconds``.

        Raises:
            UnknownMethodError: ``method`` is not registered (the message lists those
                that are).
            InvalidParameterError: a parameter is unknown to the method or out of range.
            MethodNotApplicableError: the method cannot run on this model (e.g. a
                gradient method on a scikit-learn model).

        Example:
            >>> ex = xplain.Explainer(model, tokenizer=tokenizer)
            >>> e = ex.explain("a gripping, funny film", method="integrated_gradients")
            >>> e.top(3)
            >>> ex.explain("a gripping, funny film", method="lime", num_samples=500, seed=0)

        Methods whose values should add up to ``delta`` = f(x) - f(reference) report it
        with ``base_value`` = f(reference) and their own ``completeness_gap`` in
        ``diagnostics``; the Explanation adds ``completeness_gap_shown``, the gap of the
        values it shows after the adapter aggregated them per feature, and a
        ``completeness_note`` when that aggregation does not add up (an L2 norm, a mean,
        the largest channel). See :mod:`xplain.methods._completeness`.
        """
        method = self._default_method() if method is None else method
        algorithm = self._build(method, params)
        return self._attribute(self._prepare(instance, target), algorithm_label(method), algorithm)

    def compare(
        self,
        instance: Any,
        methods: Sequence[str | Method] | None = None,
        target: int | str | None = None,
        metrics: Sequence[str] | None = None,
        params: Mapping[str, Mapping[str, Any]] | None = None,
        *,
        progress: bool = False,
    ) -> Comparison:
        """Explain ``instance`` with several methods for one target; see :mod:`xplain.comparison`.

        ``methods`` are names or method objects (see :meth:`explain`), each explanation
        keyed by the name it records; ``params`` maps a method name to its parameters
        (a method object has its own); ``metrics`` (names from
        ``xplain.metrics.available_metrics()``) are evaluated right away and become the
        default of ``Comparison.evaluate()``. Every method is validated before the model
        runs; all explain one shared encoding, prediction and target (``target``: as
        for :meth:`explain`).

        Parameters:
            instance: the instance to explain (as for :meth:`explain`).
            methods: names or method objects; None: the default methods that apply.
            target: None (the predicted class), a class index or a label.
            metrics: metric names to evaluate right away; None: none now.
            params: ``{method name: {parameter: value}}`` for methods given by name.
            progress: show a progress bar (tqdm, on stderr) naming the method that runs,
                and a line per method when it is done (its seconds and model evaluations).
        """
        from xplain._progress import progress_bar
        from xplain.comparison import (
            DEFAULT_METRICS,
            Comparison,
            compared_methods,
            compared_metrics,
        )

        applicable = self.applicable_methods() if methods is None else []
        chosen, params = compared_methods(methods, params, applicable)
        names = compared_metrics(metrics)
        algorithms = {name: self._build(method, params[name]) for name, method in chosen.items()}
        prepared = self._prepare(instance, target)
        explanations = {}
        with progress_bar(  # gone when done: the lines per method stay
            total=len(algorithms), disable=not progress, unit="method", leave=False
        ) as bar:
            for name, algorithm in algorithms.items():
                bar.set_description_str(f"explaining: {name}")
                explanations[name] = done = self._attribute(prepared, name, algorithm)
                bar.update(1)
                if progress:
                    bar.write(f"{name}: {done.seconds:.1f} s, {done.n_model_evals} model "
                              "evaluations", file=sys.stderr)
        comparison = Comparison(self, explanations, DEFAULT_METRICS if names is None else names)
        if names is not None:
            comparison.evaluate()
        return comparison

    def explain_batch(
        self,
        instances: Iterable[Any],
        method: str | Method | None = None,
        target: int | str | None = None,
        *,
        progress: bool = False,
        **params: Any,
    ) -> Explanations:
        """Explain many instances with one method: an :class:`~xplain.Explanations`, one
        Explanation per instance in their order (``es.values``, ``es[:, "age"]``,
        ``es.to_frame()``, ``es.plot.beeswarm()``).

        ``instances`` is split by the adapter (``Adapter.split_batch``): a list of
        instances, the rows of a DataFrame or 2-D array, the images of an ``[N, ...]``
        array or tensor. Methods that explain many instances in one pass
        (``Method.batched()``, e.g. ``tree_shap``) get them all at once, after one model
        call predicting every instance; each Explanation equals what ``explain`` returns
        for its instance, except ``n_model_evals`` and ``seconds``: the batch's model
        evaluations and time (after encoding) are shared out evenly over its instances
        (the first ones take the remainder of the evaluations), so they sum to the
        batch's totals. Other methods explain the instances one by one.

        Parameters:
            instances: the instances (see above).
            method: a registered name or a method object (see :meth:`explain`).
            target: None (each instance's predicted class), a class index or a label.
            progress: show a progress bar (tqdm).
            **params: the method's parameters (see :meth:`explain`).
        """
        from xplain._progress import progress_bar

        method = self._default_method() if method is None else method
        algorithm, label = self._build(method, params), algorithm_label(method)
        items = self.adapter.split_batch(instances)
        if not (algorithm.batched() and items):
            return Explanations(
                self.explain(item, method, target, **params)
                for item in progress_bar(items, disable=not progress, desc=label)
            )
        with progress_bar(total=len(items), disable=not progress, desc=label) as bar:
            explanations = self._attribute_batch(items, target, label, algorithm)
            bar.update(len(items))
        return Explanations(explanations)

    def explain_dataset(
        self,
        data: Any,
        method: str | None = None,
        target: int | str | None = None,
        params: Mapping[str, Any] | None = None,
        *,
        output: str | os.PathLike,
        engine: Any = "local",
        n_jobs: int = -1,
        partition_rows: int | None = None,
        batch_rows: int | None = None,
        column: str | None = None,
        seed: int = 0,
        resume: bool = True,
        overwrite: bool = False,
        progress: bool = True,
    ) -> ExplanationDataset:
        """Explain every row of ``data`` with ``method`` into the directory ``output``.

        ``data``: a DataFrame, a Parquet file, directory or glob, a list of instances
        (texts, images), an array or tensor whose first axis indexes them, or a Hugging
        Face ``datasets.Dataset``; ``column`` names the column holding the instances of a
        table given to a text or image model (a tabular model's instances are the rows).
        ``method`` is a registered name configured by ``params``.

        The rows are split into partitions of ``partition_rows`` (default: about 16
        partitions, at most 4096 rows; of whole ``batch_rows`` blocks for a batched
        method such as tree_shap), each written as
        ``part-NNNNNN.parquet`` when finished, with ``_manifest.json`` (what the run
        computes) and ``_SUCCESS`` at the end; see :mod:`xplain.scale.schema` for the
        columns. ``engine``: ``"local"`` (``n_jobs`` worker processes, joblib/loky),
        ``"serial"`` (this process), ``"dask"`` (a Dask LocalCluster of ``n_jobs``
        processes, started and closed here) or a ``dask.distributed.Client`` (used as is).

        Results are the same whatever the engine, workers or partition size: a sampling
        method gets each row's own seed ``[seed, row_id]`` (``explanation(i)`` equals
        ``explain(row_i, method, seed=[seed, i], **params)``), and batched methods
        (tree_shap) explain fixed blocks of ``batch_rows`` rows (default 256). Models
        whose outputs depend on the thread count (float32 torch models) may differ in the
        last bits between engines, whose workers run torch on their share of the cores
        (each part's metadata records its thread count).

        ``resume=True`` keeps the partitions already written by the same run (same model,
        data, method, params, seed, partitioning) and computes the rest; an output of
        another run is refused unless ``overwrite=True``. A partition that fails (an
        error, a killed worker) is reported by a ``PartitionsFailedError`` after the
        others are written. Returns the :class:`~xplain.scale.dataset.ExplanationDataset`
        (also ``xplain.open_dataset(output)``). ``target`` is the class explained for
        every row, as for :meth:`explain`; ``progress`` shows a progress bar.
        """
        from xplain.scale.run import explain_dataset

        return explain_dataset(
            self, data, method, target, params, output=output, engine=engine, n_jobs=n_jobs,
            partition_rows=partition_rows, batch_rows=batch_rows, column=column, seed=seed,
            resume=resume, overwrite=overwrite, progress=progress,
        )

    def _attribute_batch(
        self, items: list[Any], target: int | str | None, method: str, algorithm: Method
    ) -> list[Explanation]:
        """Encode all items, predict them in one call, attribute them in one method call."""
        adapter, n = self.adapter, len(items)
        encoded = [adapter.encode(item) for item in items]
        start_evals, start_time = self._evals_so_far(), time.perf_counter()
        with _while("predicting the instances"):
            predictions = np.asarray(adapter.predict_batch(encoded), dtype=np.float64)  # [n, C]
        labels = self._labels(predictions.shape[1])
        if target is not None and n and np.isfinite(predictions).all():
            # an index or label resolves alike for every row once all scores are finite
            targets = [self._target(target, predictions[0], labels)] * n
        else:
            targets = [self._target(target, p, labels) for p in predictions]
        with _while(f"{method} evaluated the model"):
            views = adapter.view_batch(algorithm.view, encoded, self.output)
            results = algorithm.attribute_batch(views, targets)
        values = [
            _finite(view.to_features(r.values), algorithm)
            for view, r in zip(views, results, strict=True)
        ]
        total = self._evals_so_far() - start_evals
        evals = [total // n + (i < total % n) for i in range(n)]
        seconds = (time.perf_counter() - start_time) / n
        return [
            self._explanation(
                _Prepared(encoded[i], predictions[i], labels, targets[i], evals[i], seconds),
                method,
                algorithm,
                values[i],
                shown_completeness(results[i].values, values[i], results[i].diagnostics),
                signed_values(algorithm, views[i]),
                results[i].interactions,
            )
            for i in range(n)
        ]

    # -- helpers -------------------------------------------------------------------------
    def _prepare(self, instance: Any, target: int | str | None) -> _Prepared:
        """Encode ``instance``, predict it once and resolve ``target`` (shared by methods)."""
        encoded = self.adapter.encode(instance)
        start_evals, start_time = self._evals_so_far(), time.perf_counter()
        with _while("predicting the instance"):
            probabilities = np.asarray(self.adapter.predict(encoded), dtype=np.float64)
        labels = self._labels(len(probabilities))
        index = self._target(target, probabilities, labels)
        return _Prepared(
            encoded,
            probabilities,
            labels,
            index,
            self._evals_so_far() - start_evals,
            time.perf_counter() - start_time,
        )

    def _attribute(self, prepared: _Prepared, method: str, algorithm: Method) -> Explanation:
        """Run ``algorithm`` on a prepared instance; the prediction's cost is included."""
        start_evals, start_time = self._evals_so_far(), time.perf_counter()
        with _while(f"{method} evaluated the model"):
            view = self.adapter.view(algorithm.view, prepared.encoded, self.output)
            result = algorithm.attribute(view, prepared.target)
        values = _finite(view.to_features(result.values), algorithm)
        spent = _Prepared(
            prepared.encoded,
            prepared.probabilities,
            prepared.labels,
            prepared.target,
            prepared.n_model_evals + self._evals_so_far() - start_evals,
            prepared.seconds + time.perf_counter() - start_time,
        )
        diagnostics = shown_completeness(result.values, values, result.diagnostics)
        signed = signed_values(algorithm, view)
        return self._explanation(
            spent, method, algorithm, values, diagnostics, signed, result.interactions
        )

    def _explanation(
        self,
        prepared: _Prepared,
        method: str,
        algorithm: Method,
        values: np.ndarray,
        diagnostics: dict[str, Any],
        signed: bool = True,
        interactions: np.ndarray | None = None,
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
            model_id=self.model_id,
            instance_id=instance_fingerprint(encoded.instance),
            display=self.adapter.display(encoded),
            signed=signed,
            interactions=interactions,
        )

    def _target(
        self, target: int | str | None, probabilities: np.ndarray, labels: list[str]
    ) -> int:
        """``resolve_target``; a one-output model's default is class 1, its score ``z``."""
        index = resolve_target(target, probabilities, labels)
        if not self.adapter.single_output:
            return index
        if target is None:
            return 1  # explain z itself, whatever its sign (the predicted class may be 0)
        if index == 0 and self.output == "logits":
            raise InvalidTargetError(
                f"The model has one output z, the logit of class {labels[1]!r} (logits "
                f"[0, z]); with output='logits', class {labels[0]!r} (target={target!r}) has "
                "no score of its own. Explain target=None or 1 (z: negative values favour "
                f"class {labels[0]!r}), or pass Explainer(..., output='probability') to "
                f"explain the probability of class {labels[0]!r}."
            )
        return index

    def _evals_so_far(self) -> int:
        """Model rows evaluated so far, as calls are charged: those of this thread when the
        adapter's model counts through EvalCounter (concurrent calls then count as serial
        ones), else the adapter's own running total."""
        if isinstance(getattr(self.adapter, "model", None), EvalCounter):
            return evaluated_in_this_thread()
        return self.adapter.n_model_evals

    def _labels(self, n_outputs: int) -> list[str]:
        """The adapter's labels, or ``"0"``, ``"1"``... when they do not match the outputs."""
        labels = self.adapter.labels
        return list(labels) if len(labels) == n_outputs else [str(i) for i in range(n_outputs)]

    def _default_method(self) -> str:
        gradients = self.adapter.supports(DifferentiableView)
        return "integrated_gradients" if gradients else "kernel_shap"

    def _build(self, method: str | Method, params: dict[str, Any]) -> Method:
        """The method object named by ``method`` (built with ``params``), or ``method``
        itself (then ``params`` must be empty), checked to apply to this model."""
        if isinstance(method, Method):
            if params:
                given = ", ".join(f"{key}={value!r}" for key, value in params.items())
                example = (
                    f", e.g. {type(method).__name__}({given})"
                    if params.keys() <= type(method).parameters.keys()
                    else ""
                )
                raise InvalidParameterError(
                    f"Parameters ({given}) were given with the method object {method!r}; "
                    f"set them where the object is constructed{example}."
                )
            algorithm = method
        else:
            algorithm = build_method(method, params)
        # a wrapper (Smooth) runs the method it wraps: each part must apply
        part: Method | None = algorithm
        while part is not None:
            reason = self._why_not(type(part))
            if reason is not None:
                raise MethodNotApplicableError(
                    f"Method {part.name!r} cannot explain this model: {reason}. Methods that "
                    f"apply: {', '.join(self.applicable_methods()) or 'none'}."
                )
            inner = getattr(part, "base", None)
            part = inner if isinstance(inner, Method) else None
        return algorithm

    def _why_not(self, cls: type[Method]) -> str | None:
        return _view_missing(self.adapter, cls) or cls.unavailable(self.adapter.torch_module())


def _view_missing(adapter: Adapter, cls: type[Method]) -> str | None:
    """Why ``adapter`` offers no view of the type ``cls`` runs on (None: it does)."""
    if adapter.supports(cls.view):
        return None
    kind = view_type(cls.view)
    offered = ", ".join(t.__name__ for t in adapter.view_types()) or "none"
    return getattr(kind, "missing", "") or (
        f"it runs on a {view_name(cls.view)} view, which {type(adapter).__name__} does not "
        f"offer (it offers: {offered})"
    )


def algorithm_label(method: str | Method) -> str:
    """The name an Explanation records for ``method``: the name given, or the object's."""
    return method.name if isinstance(method, Method) else method


def resolve_target(target: int | str | None, probabilities: np.ndarray, labels: list[str]) -> int:
    """Class index for ``target``: None = predicted class, an index, or a label name."""
    n = len(probabilities)
    bad = np.flatnonzero(~np.isfinite(probabilities))
    if bad.size:  # argmax of NaN is 0: a guess, not a prediction
        raise ModelOutputError(
            f"The model's prediction is NaN or infinite for class(es) "
            f"{', '.join(repr(labels[i]) for i in bad)}; no class can be explained."
        )
    if target is None:
        return int(np.argmax(probabilities))
    if isinstance(target, str):
        exact = [i for i, label in enumerate(labels) if label == target]
        folded = [i for i, label in enumerate(labels) if label.casefold() == target.casefold()]
        matches = exact or folded
        if len(matches) > 1:
            raise InvalidTargetError(
                f"target={target!r} names {len(matches)} classes (indices "
                f"{', '.join(map(str, matches))}: "
                f"{', '.join(repr(labels[i]) for i in matches)}); pass the class index as an "
                "int, or give the model distinct labels."
            )
        if matches:
            return matches[0]
        raise InvalidTargetError(
            f"The model has no class labelled {target!r}. Its labels are: "
            f"{', '.join(repr(label) for label in labels)}."
        )
    if isinstance(target, int | np.integer) and not isinstance(target, bool):
        index, named = int(target), labelled(int(target), labels[:n])
        if 0 <= index < n and named not in (None, index):
            raise InvalidTargetError(
                f"target={index} is ambiguous: it is the index of the class labelled "
                f"{labels[index]!r}, and also the label of the class at index {named}. Say "
                f"which with its label as a string (a str target is always a label): "
                f"target={labels[index]!r} for index {index}, target={labels[named]!r} for "
                f"index {named}."
            )
        if 0 <= index < n:
            return index
        label = "" if named is None else labels[named]
        hint = f"; for the class labelled {label!r} pass target={label!r}" if label else ""
        raise InvalidTargetError(
            f"Target index {index} is out of range: the model has {n} classes, "
            f"so target must be in 0..{n - 1} (or a label: {', '.join(labels)}){hint}."
        )
    raise InvalidTargetError(
        f"target must be None (the predicted class), an int index or a label string. "
        f"Got {type(target).__name__}."
    )


def labelled(number: int, labels: Sequence[str]) -> int | None:
    """Index of the class whose label is the integer ``number`` ("2", "2.0"), else None.

    Models trained on integer classes (scikit-learn ``classes_ = [1, 2]``) have such labels,
    and then an int target could mean an index or a label.
    """
    for index, label in enumerate(labels):
        try:
            if float(label) == number:
                return index
        except (TypeError, ValueError):  # a label that is not a number
            continue
    return None


@contextmanager
def _while(doing: str) -> Iterator[None]:
    """Prefix a ModelOutputError raised inside with what xplain was ``doing``."""
    try:
        yield
    except ModelOutputError as err:
        raise ModelOutputError(f"While {doing}: {err}") from err


def signed_values(algorithm: Method, view: Any) -> bool:
    """Whether the values an explanation shows carry a direction: the method's values are
    signed (:attr:`Method.signed`) and the view's map to features keeps their sign. An
    aggregation that turns all-negative attributions into values >= 0 (an L2 norm over
    embedding dimensions or channels) shows magnitudes, whatever the method."""
    if not algorithm.signed:
        return False
    if not isinstance(view, DifferentiableView):
        return True  # perturbation views map feature values one to one
    row = view.inputs[0]  # [*S]
    probe = view.to_features(row.new_full(row.shape, -1.0))  # [d]
    return not bool(np.all(probe >= 0))


def _finite(values: np.ndarray, algorithm: Method) -> np.ndarray:
    """Attributions as float64, or a ModelOutputError when some are NaN or infinite."""
    values = np.asarray(values, dtype=np.float64)
    bad = ~np.isfinite(values)
    if not bad.any():
        return values
    cause = (
        "the model's gradient is NaN or infinite at some input the method evaluated (e.g. "
        "sqrt, log or division at 0 inside the model); fix the model or use a perturbation "
        "method (kernel_shap, lime)"
        if runs_on(algorithm.view, DifferentiableView)
        else "the method's estimate overflowed; please report it with the model"
    )
    raise ModelOutputError(
        f"{algorithm.name} computed {int(bad.sum())} NaN or infinite attribution(s) of "
        f"{values.size}, although every model score was finite: {cause}."
    )
