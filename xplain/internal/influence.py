"""Internal influence: the average gradient of a class score at a layer's units.

Leino, Sen, Datta, Fredrikson and Li (2018), "Influence-Directed Explanations for Deep
Convolutional Networks" (ITC; arXiv:1802.03788). The distributional influence of unit
``y_j`` for the quantity of interest ``F`` (here a class score) over a distribution of
interest ``P`` is ``chi_j = E_{x ~ P}[dF/dy_j (x)]``.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from xplain._validation import NONE, Interval, Options, Param, validate_params
from xplain.errors import InvalidInputError
from xplain.internal._layers import end_scores, layer_pass, layer_result, path, setup
from xplain.internal.result import LayerAttribution
from xplain.limits import check_rows
from xplain.methods.gradient._quadrature import RULES, quadrature

DISTRIBUTIONS = ("path", "point", "instances")
PARAMETERS = {
    "distribution": Param("path", Options(DISTRIBUTIONS), doc="distribution of interest"),
    "n_steps": Param(32, Interval(int, 1), doc="points on the path"),
    "rule": Param("gausslegendre", Options(RULES), doc="quadrature rule on the path"),
    "internal_batch_size": Param(None, Interval(int, 1), NONE, doc="rows per forward/backward"),
}


def internal_influence(
    explainer: Any,
    instance: Any,
    layer: str,
    *,
    target: int | str | None = None,
    distribution: str = "path",
    n_steps: int = 32,
    rule: str = "gausslegendre",
    internal_batch_size: int | None = None,
) -> LayerAttribution:
    """The average gradient of the class score at each unit of ``layer`` (Leino et al. 2018).

    The distribution of interest ``P`` is

    * ``"path"``: the straight line from the adapter's baseline to the instance,
      ``sum_k w_k dF/dy_j(x' + alpha_k (x - x'))`` with the ``n_steps`` nodes and weights
      of ``rule`` (Captum's ``InternalInfluence`` at equal ``n_steps`` and rule);
    * ``"point"``: the instance alone, ``dF/dy_j(x)``;
    * ``"instances"``: the instances given (``instance`` is then a list or tuple of them,
      or a DataFrame of rows), ``mean_m dF/dy_j(x_m)``; every instance must give the
      layer the same shape (texts of one token length).

    Args:
        explainer: An :class:`xplain.Explainer` over a torch model (text, tabular, image).
        instance: The instance, or for ``distribution="instances"`` the instances.
        layer: A module name of the model (``dict(model.named_modules())``), or a unique
            end of one.
        target: The class: None (the predicted class; for a set of instances, the class
            predicted most often, the lowest index on ties), an index or a label.
        distribution: ``"path"``, ``"point"`` or ``"instances"``.
        n_steps: Points on the path (``"path"`` only).
        rule: The quadrature rule on the path (``"path"`` only).
        internal_batch_size: Points per forward/backward pass (None: all).

    Returns:
        LayerAttribution: one value per unit, ``completeness_gap`` None (influence
        promises no sum).

    Raises:
        InvalidParameterError: a bad layer name or parameter.
        InvalidInputError: ``"instances"`` without a non-empty list of instances, or
            instances whose layer outputs differ in shape.
        InvalidTargetError: the target is no class of the model.
        MethodNotApplicableError: the model has no gradients.
    """
    owner = "internal_influence"
    params = validate_params(
        owner,
        PARAMETERS,
        {
            "distribution": distribution,
            "n_steps": n_steps,
            "rule": rule,
            "internal_batch_size": internal_batch_size,
        },
    )
    batch = params["internal_batch_size"]
    if params["distribution"] == "instances":
        return _over_instances(explainer, instance, layer, target, params)
    s = setup(explainer, instance, target, layer, owner)
    if params["distribution"] == "point":
        points, weights = s.view.inputs, np.ones(1)
    else:
        check_rows(owner, params["n_steps"], "lower n_steps")
        alphas, weights = quadrature(params["rule"], params["n_steps"])
        points = path(s, alphas)
    found = layer_pass(s.view, s.module, s.layer, points, s.prepared.target, batch)
    w = torch.as_tensor(weights).to(found.gradients)  # [n], summing to 1
    values = (w.view(-1, *[1] * (found.gradients.dim() - 1)) * found.gradients).sum(0)
    score, base = end_scores(s)
    base = base if params["distribution"] == "path" else None
    n_rows = len(weights)
    return layer_result(s, owner, values, params, score, base, None, {"n_points": n_rows})


def _over_instances(
    explainer: Any, instances: Any, layer: str, target: Any, params: dict[str, Any]
) -> LayerAttribution:
    """Influence averaged over a set of instances (each at its own point)."""
    owner = "internal_influence"
    items = _items(instances)
    check_rows(owner, 2 * len(items), "pass fewer instances")
    if target is None:  # the class predicted most often
        first = [explainer._prepare(item, None).target for item in items]
        counts = Counter(first)
        target = min(counts, key=lambda c: (-counts[c], c))
    grads, shape = [], None
    predictions = []
    for i, item in enumerate(items):
        s = setup(explainer, item, target, layer, owner)
        found = layer_pass(
            s.view, s.module, s.layer, s.view.inputs, s.prepared.target,
            params["internal_batch_size"],
        )
        unit_shape = tuple(found.gradients.shape[1:])
        if shape is not None and unit_shape != shape:
            raise InvalidInputError(
                f"internal_influence over instances averages units of one shape, and "
                f"instance {i} gives layer {s.layer!r} the shape {unit_shape}, not {shape} "
                "(instance 0's). Pass instances of one size (texts of one token length)."
            )
        shape = unit_shape
        grads.append(found.gradients[0])
        predictions.append(np.asarray(s.prepared.probabilities, dtype=np.float64))
    values = torch.stack(grads).mean(0)  # [*U]
    result = layer_result(s, owner, values, params, None, None, None, {"n_points": len(items)})
    result.prediction[:] = np.mean(predictions, axis=0)
    return result


def _items(instances: Any) -> list[Any]:
    """The instances of a set: a list or tuple, or a DataFrame's rows."""
    try:
        import pandas as pd

        if isinstance(instances, pd.DataFrame):
            return [row for _, row in instances.iterrows()]
    except ImportError:  # pragma: no cover - pandas is a dependency
        pass
    if isinstance(instances, Sequence) and not isinstance(instances, str) and instances:
        return list(instances)
    raise InvalidInputError(
        "internal_influence with distribution='instances' takes a non-empty list or tuple "
        f"of instances (or a DataFrame of rows) as its instances. Got "
        f"{type(instances).__name__}{' (empty)' if hasattr(instances, '__len__') else ''}; "
        "for one instance use distribution='point' or 'path'."
    )
