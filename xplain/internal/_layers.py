"""Internal layers: find one by name, and read its output and gradient along input points.

Shared by conductance and internal influence (:mod:`xplain.internal`). A layer is named
as in ``dict(model.named_modules())``; its *units* are the entries of its output for one
input, ``[*U]`` (a hidden vector ``[H]``, a text encoder layer's ``[T, H]``, a
convolution's feature maps ``[K, h, w]``). A module returning a tuple (a Hugging Face
encoder layer returns ``(hidden_states, ...)``) is read at its first tensor.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from xplain.errors import InvalidParameterError, MethodNotApplicableError
from xplain.internal.result import LayerAttribution
from xplain.methods.gradient._hooks import forward_hooks
from xplain.views import DifferentiableView

CLOSE_NAMES = 5  # close module names listed when a layer name is unknown


@dataclass
class Setup:
    """One instance ready for attribution to a layer.

    Attributes:
        prepared: The explainer's encoded instance, prediction and resolved target.
        view: The adapter's differentiable view of the instance.
        layer: The layer's full name in ``view.module``.
        module: The layer itself.
    """

    prepared: Any  # xplain.explainer._Prepared
    view: DifferentiableView
    layer: str
    module: torch.nn.Module


def setup(explainer: Any, instance: Any, target: Any, layer: Any, owner: str) -> Setup:
    """Encode ``instance``, resolve ``target`` and find ``layer`` in the model.

    Args:
        explainer: An :class:`xplain.Explainer` whose adapter offers gradients.
        instance: What to explain, in the explainer's modality.
        target: None (predicted class), a class index or a label.
        layer: The layer's name (see :func:`find_layer`).
        owner: The public function's name, for messages.

    Returns:
        Setup: the prepared instance, its view, and the layer's name and module.

    Raises:
        MethodNotApplicableError: the model is not differentiable or has no torch module.
    """
    adapter = getattr(explainer, "adapter", None)
    if adapter is None or not hasattr(explainer, "_prepare"):
        raise InvalidParameterError(
            f"{owner} takes an xplain.Explainer as its first argument. Got "
            f"{type(explainer).__name__}; wrap the model: xplain.Explainer(model, ...)."
        )
    if not adapter.supports(DifferentiableView):
        raise MethodNotApplicableError(
            f"{owner} needs the gradients of a torch model; {type(adapter).__name__} offers "
            "none for this model (e.g. a scikit-learn model). Use a torch model."
        )
    prepared = explainer._prepare(instance, target)
    view = adapter.view(DifferentiableView, prepared.encoded, explainer.output)
    name, module = find_layer(view.module, layer, owner)
    return Setup(prepared, view, name, module)


def find_layer(model: torch.nn.Module | None, layer: Any, owner: str) -> tuple[str, Any]:
    """The module named ``layer`` in ``model``: its full name and the module.

    An exact name of ``dict(model.named_modules())`` is used as it is; otherwise a name
    that ends with ``"." + layer`` and is the only one to (``"encoder.layer.1"`` for
    ``"bert.encoder.layer.1"`` of a Hugging Face classifier).

    Args:
        model: The torch module inside the view's forward.
        layer: The name asked for.
        owner: The public function's name, for messages.

    Returns:
        The full name and the module.

    Raises:
        InvalidParameterError: ``layer`` is not a non-empty string, names no module (the
            message lists close names), or is the end of several names.
        MethodNotApplicableError: ``model`` is None.
    """
    if model is None:
        raise MethodNotApplicableError(
            f"{owner} reads a layer inside the model, and this view has no torch module "
            "(view.module is None)."
        )
    if not isinstance(layer, str) or not layer:
        raise InvalidParameterError(
            f"The 'layer' parameter of {owner} must be a module name such as "
            f"'encoder.layer.1' (a key of dict(model.named_modules())). Got {layer!r}."
        )
    named = {n: m for n, m in model.named_modules() if n}
    if layer in named:
        return layer, named[layer]
    ends = [n for n in named if n.endswith("." + layer)]
    if len(ends) == 1:
        return ends[0], named[ends[0]]
    if ends:
        raise InvalidParameterError(
            f"The 'layer' parameter of {owner} is ambiguous: {layer!r} ends "
            f"{len(ends)} module names ({', '.join(map(repr, ends))}); pass the full name."
        )
    close = difflib.get_close_matches(layer, list(named), n=CLOSE_NAMES, cutoff=0.5)
    hint = f" Close names: {', '.join(map(repr, close))}." if close else ""
    first = ", ".join(repr(n) for n in list(named)[:CLOSE_NAMES])
    raise InvalidParameterError(
        f"The 'layer' parameter of {owner} must name a module of the model. Got "
        f"{layer!r}.{hint} The model's modules begin {first} (all: "
        "dict(model.named_modules()))."
    )


@dataclass
class LayerPass:
    """What one pass over points ``[N, *S]`` read at a layer.

    Attributes:
        activations: The layer's output ``[N, *U]``.
        gradients: d score[target] / d output ``[N, *U]``.
        input_gradients: d output[unit] / d input ``[N, *S]`` when a unit was asked for,
            else None.
    """

    activations: torch.Tensor
    gradients: torch.Tensor
    input_gradients: torch.Tensor | None = None


def layer_pass(
    view: DifferentiableView,
    module: torch.nn.Module,
    name: str,
    points: torch.Tensor,
    target: int,
    batch_size: int | None,
    unit: tuple[int, ...] | None = None,
) -> LayerPass:
    """The layer's output and the gradient of the target score at it, for each point.

    The batch rows of the model are independent (a model in eval mode), so the gradient
    of the summed scores with respect to the batch's output is each row's own gradient.

    Args:
        view: Supplies the differentiable ``forward``.
        module: The layer (found in ``view.module``).
        name: Its name, for messages.
        points: Input points ``[N, *S]``.
        target: The class index whose score is differentiated.
        batch_size: Points per forward/backward pass; None: all at once.
        unit: An index into ``[*U]``: also return d output[unit] / d input.

    Returns:
        LayerPass: activations, gradients (and input gradients of the unit).
    """
    step = batch_size or points.shape[0]
    acts, grads, in_grads = [], [], []
    for start in range(0, points.shape[0], step):
        chunk = points[start : start + step].detach().requires_grad_(True)
        calls: list[torch.Tensor] = []
        hook = (
            module,
            None,
            lambda _m, _args, out, calls=calls: calls.append(_first_tensor(out, name)),
        )
        with torch.enable_grad(), forward_hooks([hook]):
            scores = view.forward(chunk)[:, target]  # [n]
        output = _one_call(calls, name)  # [n, *U]
        (grad,) = torch.autograd.grad(
            scores.sum(), output, retain_graph=unit is not None, allow_unused=True
        )
        grads.append(torch.zeros_like(output) if grad is None else grad.detach())
        acts.append(output.detach())
        if unit is not None:
            (in_grad,) = torch.autograd.grad(output[(slice(None), *unit)].sum(), chunk)
            in_grads.append(in_grad.detach())
    return LayerPass(
        torch.cat(acts), torch.cat(grads), torch.cat(in_grads) if unit is not None else None
    )


def unit_index(neuron: Any, unit_shape: tuple[int, ...], owner: str) -> tuple[int, ...]:
    """``neuron`` as an index into ``unit_shape``: an int (flat, row-major) or a tuple.

    Args:
        neuron: The unit asked for.
        unit_shape: The layer's output shape for one input.
        owner: The public function's name, for messages.

    Returns:
        The unit's index, one int per axis.

    Raises:
        InvalidParameterError: ``neuron`` is not an int or tuple of ints within the shape.
    """
    size = int(np.prod(unit_shape))
    bad = (
        f"The 'neuron' parameter of {owner} must be an int in 0..{size - 1} (a flat, "
        f"row-major index) or a tuple of {len(unit_shape)} ints within the layer's unit "
        f"shape {unit_shape}. Got {neuron!r}."
    )
    if isinstance(neuron, int | np.integer) and not isinstance(neuron, bool):
        if not 0 <= int(neuron) < size:
            raise InvalidParameterError(bad)
        return tuple(int(i) for i in np.unravel_index(int(neuron), unit_shape))
    if isinstance(neuron, tuple | list) and len(neuron) == len(unit_shape):
        ok = all(
            isinstance(i, int | np.integer) and not isinstance(i, bool) and 0 <= i < n
            for i, n in zip(neuron, unit_shape, strict=True)
        )
        if ok:
            return tuple(int(i) for i in neuron)
    raise InvalidParameterError(bad)


def _first_tensor(out: Any, name: str) -> torch.Tensor:
    """The layer's output, or the first tensor of a tuple output."""
    if isinstance(out, torch.Tensor):
        return out
    if isinstance(out, tuple | list) and out and isinstance(out[0], torch.Tensor):
        return out[0]
    raise InvalidParameterError(
        f"Layer {name!r} returns {type(out).__name__}, not a tensor (nor a tuple starting "
        "with one); name a layer whose output is a tensor."
    )


def _one_call(calls: list[torch.Tensor], name: str) -> torch.Tensor:
    """The layer's single output of a forward pass (0 or 2+ calls are refused)."""
    if len(calls) != 1:
        why = "never called it" if not calls else f"called it {len(calls)} times"
        bypassed = (
            " xplain differentiates the model from its continuous input (a text model from "
            "its input embeddings), so a lookup layer such as word_embeddings is bypassed: "
            "name the layer that takes its output (e.g. 'embeddings')." if not calls else ""
        )
        raise InvalidParameterError(
            f"The model's forward pass from xplain's differentiable input {why}: layer "
            f"{name!r} must be called exactly once per forward pass for its units to be "
            f"attributed; name another layer.{bypassed}"
        )
    return calls[0]


def path(s: Setup, alphas: np.ndarray) -> torch.Tensor:
    """The points ``x' + alpha (x - x')`` ``[len(alphas), *S]``."""
    x = s.view.inputs
    base = s.view.baseline.to(x.dtype)
    alpha = torch.as_tensor(alphas).to(x).view(-1, *[1] * (x.dim() - 1))
    return (base + alpha * (x - base)).detach()


def end_scores(s: Setup) -> tuple[torch.Tensor, torch.Tensor]:
    """f(x) and f(baseline) of the explained class, ``[1]`` each."""
    t = s.prepared.target
    score = s.view.scores_at(s.view.inputs)[:, t]
    with torch.no_grad():
        base = s.view.forward(s.view.baseline.to(s.view.inputs.dtype))[:, t]
    return score, base


def layer_result(
    s: Setup,
    method: str,
    values: torch.Tensor,
    params: dict[str, Any],
    score: torch.Tensor | None,
    base_score: torch.Tensor | None,
    gap: float | None,
    diagnostics: dict[str, Any],
) -> LayerAttribution:
    """The LayerAttribution of ``values`` ``[*U]`` for the prepared instance."""
    array = values.detach().double().cpu().numpy()
    features = list(s.prepared.encoded.features)
    sequence = array.ndim == 2  # [T, H]: positions first, then the hidden units
    positions = features if sequence and len(features) == array.shape[0] else None
    return LayerAttribution(
        method=method,
        layer=s.layer,
        values=array,
        target=s.prepared.target,
        target_label=s.prepared.labels[s.prepared.target],
        prediction=np.asarray(s.prepared.probabilities, dtype=np.float64),
        score=None if score is None else float(score.reshape(-1)[0]),
        base_score=None if base_score is None else float(base_score.reshape(-1)[0]),
        completeness_gap=gap,
        unit_axis=1 if sequence else 0,
        positions=positions,
        params=dict(params),
        diagnostics=diagnostics,
    )
