"""Sanity checks: does an explanation depend on what the model has learned?"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import torch

from xplain._validation import NONE, SEED, InstanceOf, Param, validate_params
from xplain.errors import InvalidParameterError, MethodNotApplicableError
from xplain.explanation import Explanation
from xplain.limits import check_rows
from xplain.metrics._common import encode_again, rebuild_method, writable_instance
from xplain.metrics.agreement import rank_correlation

if TYPE_CHECKING:
    from xplain.explainer import Explainer

_RANDOMISATION = {
    "layers": Param(
        None, InstanceOf((list, tuple), "a list of module names"), NONE, doc="top-down order"
    ),
    "seed": Param(0, SEED, doc="seed of the random weights"),
}


def model_parameter_randomisation(
    explainer: Explainer,
    explanation: Explanation,
    *,
    layers: Sequence[str] | None = None,
    seed: int | None = 0,
) -> pd.DataFrame:
    """Cascading randomisation of the model's layers from the top, re-explaining each time.

    Adebayo, Gilmer, Muelly, Goodfellow, Hardt and Kim (2018), "Sanity Checks for Saliency
    Maps" (NeurIPS). The model is deep-copied (the user's model is never modified); at
    step ``s`` the top ``s`` layers of the copy hold random weights, the instance is
    explained again by the same method, parameters and target, and compared with the
    original explanation over the non-special features: ``spearman`` (signed values) and
    ``spearman_abs`` (|values|, as in the paper). One row per step, the top layer first.

    An explanation that reflects the model should lose its similarity as layers are
    randomised: low similarity *passes*. One that stays similar (near 1) behaves like an
    edge detector: it shows the input, not the model.

    ``layers`` names the modules to randomise, top first; by default the modules that own
    parameters, grouped into blocks (``encoder.layer.3``: the numbered block; otherwise
    the parent module, e.g. ``bert.embeddings``), in reverse order of definition. A
    tensor's random weights are drawn from a normal with that tensor's own mean and std,
    so activations keep their scale while the learned structure is destroyed. One
    re-explanation per layer group, each costed as the original's ``n_model_evals``: beyond
    ``xplain.limits`` the call is refused before the model is copied.

    Args:
        explainer: The Explainer that made ``explanation`` (its model is run again).
        explanation: The Explanation scored (of ``explainer``'s model).
        seed: Seed of the random draws (None: not reproducible).
    """
    p = validate_params(
        "model_parameter_randomisation", _RANDOMISATION, {"layers": layers, "seed": seed}
    )
    if not isinstance(explainer.model, torch.nn.Module):
        raise MethodNotApplicableError(
            "model_parameter_randomisation randomises the layers of a torch model; this "
            f"explainer's model is a {type(explainer.model).__name__}."
        )
    encode_again(explainer, explanation)  # refuse another model's or instance's explanation
    # one explanation per layer group, each at the original's cost: refused before the copy
    rows = len(layer_groups(explainer.model, p["layers"])) * max(1, explanation.n_model_evals)
    check_rows("model_parameter_randomisation", rows, "randomise fewer layers (layers=[...])")
    clone = copy.deepcopy(explainer)
    groups = layer_groups(clone.model, p["layers"])
    method, params, _ = rebuild_method(explanation)
    active = ~explanation._special_flags()
    original = np.asarray(explanation.values, dtype=np.float64)[active]
    generator = torch.Generator()
    if p["seed"] is None:
        generator.seed()
    else:
        generator.manual_seed(p["seed"])

    instance = writable_instance(explanation)
    rows = []
    for step, (name, parameters) in enumerate(groups, start=1):
        with torch.no_grad():
            for param in parameters:
                param.copy_(_redraw(param, generator))
        again = clone.explain(instance, method, explanation.target, **params)
        values = np.asarray(again.values, dtype=np.float64)[active]
        rows.append(
            {
                "step": step,
                "layer": name,
                "spearman": rank_correlation(original, values),
                "spearman_abs": rank_correlation(np.abs(original), np.abs(values)),
            }
        )
    return pd.DataFrame(rows, columns=["step", "layer", "spearman", "spearman_abs"])


def layer_groups(
    model: torch.nn.Module, layers: Sequence[str] | None = None
) -> list[tuple[str, list[torch.nn.Parameter]]]:
    """The blocks randomised by :func:`model_parameter_randomisation`, top first.

    Args:
        model: The torch model whose layers are grouped.
        layers: Module names to randomise, top first (None: every module with parameters).
    """
    modules = dict(model.named_modules())
    if layers is not None:
        unknown = [name for name in layers if name not in modules]
        if unknown:
            raise InvalidParameterError(
                f"The 'layers' parameter of model_parameter_randomisation names modules the "
                f"model does not have: {unknown}. Its modules with parameters: "
                f"{sorted(n for n, m in modules.items() if _owns_parameters(m))}."
            )
        return [(name, list(modules[name].parameters())) for name in layers]
    groups: dict[str, list[torch.nn.Parameter]] = {}
    for name, module in modules.items():
        if _owns_parameters(module):
            groups.setdefault(_block(name), []).extend(module.parameters(recurse=False))
    return list(reversed(groups.items()))


def _owns_parameters(module: torch.nn.Module) -> bool:
    return any(True for _ in module.parameters(recurse=False))


def _block(name: str) -> str:
    """``a.layer.3.attention.query`` -> ``a.layer.3``; ``a.embeddings.word`` -> ``a.embeddings``."""
    parts = name.split(".")
    for i, part in enumerate(parts):
        if part.isdigit():
            return ".".join(parts[: i + 1])
    return ".".join(parts[:-1]) or name or "(model)"


def _redraw(param: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Random values with the tensor's own mean and std."""
    data = param.detach().float()
    std = data.std() if data.numel() > 1 else torch.zeros(())
    noise = torch.randn(param.shape, generator=generator)
    return (noise * std + data.mean()).to(dtype=param.dtype, device=param.device)
