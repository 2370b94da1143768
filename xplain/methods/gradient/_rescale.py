"""DeepLIFT's rescale rule, installed as temporary hooks on a network's non-linear modules.

The network is evaluated once on a batch ``[inputs; references]`` (``2m`` rows, the pairs
aligned half against half, as Captum does). Every supported non-linear module then sees
both halves of its own input and output, and its local gradient is replaced by the
DeepLIFT multiplier:

* element-wise activations (ReLU, Tanh, GELU, Hugging Face's activation modules...):
  ``Δout / Δin`` per element (Shrikumar et al. 2017, Sec. 3.3, rescale rule);
* ``nn.Softmax``: the same ratio, then centred over the softmax dimension (Captum's
  handling; Shrikumar et al. 2017, Sec. 3.6), per row rather than over the whole batch;
* max pooling (1d/2d/3d, also adaptive): the difference of the pooled outputs is given to
  the arg-max positions of the input (or of the reference, where its maximum is larger)
  and divided by ``Δin``, as Captum does, with contributions of overlapping windows added.

Where ``|Δin| < eps`` the plain gradient is kept. Linear layers, convolutions,
normalisation layers and functional operations (``F.relu``, attention products...) pass
plain gradients. Each call of a module is rescaled from that call's own input and
output, so a module object used at several places in one forward is handled correctly.
Hooks exist only inside :func:`rescale_gradients`, act only on the forward passes of the
thread that installed them (others may explain the same model meanwhile) and are removed
even on error.

The rule is applied by the module's own forward hook (its output is replaced by a tensor
with the same value and the multiplier as gradient), not by tensor backward hooks, so an
activation whose output feeds a max pooling directly receives the pooling's multiplier.
(Captum 0.9 registers both hooks on that one tensor and the activation records the
pooling's plain gradient, which breaks summation-to-delta on Conv-ReLU-MaxPool stacks.)

Assumption: activations keep the batch as their leading dimension (PyTorch's default;
flattening ``[B, T, H]`` to ``[B*T, H]`` is fine). A call on a tensor whose leading
dimension is not a multiple of the batch (e.g. a position-bias table) keeps its plain
gradient and is counted in ``diagnostics["skipped_calls"]``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from xplain.errors import MethodNotApplicableError
from xplain.methods.gradient._hooks import this_thread_only
from xplain.views import DifferentiableView

ELEMENTWISE: tuple[type[nn.Module], ...] = (
    nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.PReLU, nn.RReLU, nn.ELU, nn.SELU, nn.CELU, nn.GELU,
    nn.SiLU, nn.Mish, nn.Sigmoid, nn.Hardsigmoid, nn.LogSigmoid, nn.Tanh, nn.Hardtanh,
    nn.Hardswish, nn.Softplus, nn.Softsign, nn.Tanhshrink,
)  # fmt: skip
# Hugging Face's activation modules (transformers.activations), looked up by name so that
# classes missing from the installed version are skipped; LinearActivation is the identity.
HF_ACTIVATIONS = (
    "GELUActivation", "FastGELUActivation", "NewGELUActivation", "QuickGELUActivation",
    "ClippedGELUActivation", "AccurateGELUActivation", "GELUTanh", "PytorchGELUTanh",
    "SiLUActivation", "MishActivation", "LaplaceActivation", "ReLUSquaredActivation",
    "SqrtSoftplusActivation", "XIELUActivation",
)  # fmt: skip


# max pooling: the functional form that also returns the arg-max indices
POOLS: dict[type[nn.Module], Callable[..., tuple[torch.Tensor, torch.Tensor]]] = {
    nn.MaxPool1d: F.max_pool1d_with_indices,
    nn.MaxPool2d: F.max_pool2d_with_indices,
    nn.MaxPool3d: F.max_pool3d_with_indices,
    nn.AdaptiveMaxPool1d: F.adaptive_max_pool1d_with_indices,
    nn.AdaptiveMaxPool2d: F.adaptive_max_pool2d_with_indices,
    nn.AdaptiveMaxPool3d: F.adaptive_max_pool3d_with_indices,
}


def _pool_indices(module: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """Arg-max indices ``[B, C, *out]`` (flat over the spatial dimensions) of a pooling."""
    pool = POOLS[type(module)]
    if "Adaptive" in type(module).__name__:
        return pool(x, module.output_size)[1]
    args = (module.kernel_size, module.stride, module.padding, module.dilation)
    return pool(x, *args, ceil_mode=module.ceil_mode)[1]


@functools.cache
def supported_types() -> frozenset[type[nn.Module]]:
    """Module types whose gradient the rescale rule replaces (exact types, as Captum)."""
    types = set(ELEMENTWISE) | set(POOLS) | {nn.Softmax}
    try:
        import transformers.activations as hf
    except ImportError:  # pragma: no cover - transformers is a dependency
        return frozenset(types)
    types.update(getattr(hf, name) for name in HF_ACTIVATIONS if hasattr(hf, name))
    return frozenset(types)


def require_module(view: DifferentiableView, method: str) -> nn.Module:
    """The network inside ``view.forward``, or a clear error when the adapter gave none."""
    if not isinstance(view.module, nn.Module):
        raise MethodNotApplicableError(
            f"{method} hooks the non-linear layers of the torch network, but this model's "
            "view does not expose one (view.module is None). Use integrated_gradients or "
            "gradient_shap, which need only gradients."
        )
    return view.module


class _PoolRescale(torch.autograd.Function):
    """Identity on the pooled values whose backward is DeepLIFT's max-pooling rule."""

    @staticmethod
    def forward(
        ctx: Any, x: torch.Tensor, pooled: torch.Tensor, rule: Callable[..., torch.Tensor]
    ) -> torch.Tensor:
        ctx.rule = rule
        return pooled.clone()

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None, None]:
        return ctx.rule(grad), None, None


def _unpool(values: torch.Tensor, indices: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """Add ``values`` ``[B, C, *out]`` into the arg-max positions of ``like`` ``[B, C, *in]``."""
    out = values.new_zeros(like.shape[0], like.shape[1], like[0, 0].numel())
    out.scatter_add_(2, indices.flatten(2), values.flatten(2))
    return out.view_as(like)


class RescaleHooks:
    """Context manager installing the rescale rule on the supported modules of a network,
    for the forward passes of the thread that enters it only."""

    def __init__(self, module: nn.Module, eps: float) -> None:
        self.module = module
        self.eps = eps
        self.rows = 0  # rows of the current batch [inputs; references]
        self.rescaled = 0
        self.skipped = 0
        self._stash: dict[int, list[torch.Tensor | None]] = {}
        self._handles: list[Any] = []

    def __enter__(self) -> RescaleHooks:
        supported = supported_types()
        inside: set[int] = set()  # modules nested in a hooked one are left alone
        try:
            for sub in self.module.modules():
                if type(sub) not in supported or id(sub) in inside:
                    continue
                inside.update(id(m) for m in sub.modules())
                self._stash[id(sub)] = []
                # other threads' forwards of the same model must not see the rule nor
                # touch this call's stash
                pre_hook, hook = this_thread_only(self._pre_hook), this_thread_only(self._hook)
                self._handles.append(sub.register_forward_pre_hook(pre_hook))
                self._handles.append(sub.register_forward_hook(hook))
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Remove every hook installed (idempotent)."""
        for handle in self._handles:
            handle.remove()
        self._handles.clear()
        self._stash.clear()

    def _pre_hook(self, module: nn.Module, args: tuple[Any, ...]) -> tuple[Any, ...] | None:
        x = args[0] if args else None
        if not isinstance(x, torch.Tensor) or not x.is_floating_point():
            self._stash[id(module)].append(None)
            return None
        if isinstance(module, nn.Softmax):
            # identity whose backward centres the gradient over the softmax dimension
            dim = _softmax_dim(module, x)
            centred = x - x.mean(dim, keepdim=True)
            x = x.detach() + (centred - centred.detach())
        self._stash[id(module)].append(x)
        if getattr(module, "inplace", False):
            # an in-place module would overwrite its input; keep ours intact for Δin
            return (x.clone(), *args[1:])
        return (x, *args[1:]) if x is not args[0] else None

    def _hook(self, module: nn.Module, args: tuple[Any, ...], out: Any) -> Any:
        x = self._stash[id(module)].pop()
        paired = (
            x is not None
            and isinstance(out, torch.Tensor)
            and self.rows > 0
            and x.dim() > 0
            and x.shape[0] % self.rows == 0
            and out.shape[0] == x.shape[0]
        )
        if paired and type(module) in POOLS:
            self.rescaled += 1
            return _PoolRescale.apply(x, out.detach(), self._pool_rule(module, x, out))
        if paired and out.shape == x.shape:
            self.rescaled += 1
            return self._elementwise(x, out)
        self.skipped += 1
        return None

    def _elementwise(self, x: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
        """Output with value ``out`` and gradient ``Δout / Δin`` (plain where Δin ~ 0)."""
        x_in, x_ref = x.detach().chunk(2)
        y_in, y_ref = out.detach().chunk(2)
        delta_in = x_in - x_ref
        small = delta_in.abs() < self.eps
        ratio = (y_in - y_ref) / torch.where(small, torch.ones_like(delta_in), delta_in)
        ratio = torch.where(small, torch.zeros_like(ratio), ratio)
        ratio, small = torch.cat([ratio, ratio]), torch.cat([small, small])
        # value: out exactly (x - x.detach() == 0); gradient w.r.t. x: ratio
        return torch.where(small, out, out.detach() + ratio * (x - x.detach()))

    def _pool_rule(
        self, module: nn.Module, x: torch.Tensor, out: torch.Tensor
    ) -> Callable[[torch.Tensor], torch.Tensor]:
        x = x.detach()
        indices = _pool_indices(module, x)  # [2m, C, *out]
        x_in, x_ref = x.chunk(2)
        y_in, y_ref = out.detach().chunk(2)
        i_in, i_ref = indices.chunk(2)
        top = torch.maximum(y_in, y_ref)
        delta_in = x_in - x_ref
        small = delta_in.abs() < self.eps
        safe = torch.where(small, torch.ones_like(delta_in), delta_in)

        def rule(grad: torch.Tensor) -> torch.Tensor:
            # [2m, C, *out] -> [2m, C, *in]
            g_in, g_ref = grad.chunk(2)
            # Δout = (top - y_ref) at the input's arg-max + (y_in - top) at the reference's
            moved = _unpool(g_in * (top - y_ref), i_in, x_in)
            moved = moved + _unpool(g_ref * (y_in - top), i_ref, x_in)
            plain = _unpool(grad, indices, x)
            multiplier = torch.cat([moved / safe, moved / safe])
            return torch.where(torch.cat([small, small]), plain, multiplier)

        return rule


def _softmax_dim(module: nn.Softmax, x: torch.Tensor) -> int:
    if module.dim is not None:
        return module.dim
    return 0 if x.dim() in (0, 1, 3) else 1  # torch's legacy implicit dimension


def rescale_gradients(
    view: DifferentiableView,
    inputs: torch.Tensor,
    references: torch.Tensor,
    target: int,
    eps: float,
    batch_size: int | None,
    method: str,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, dict[str, int]]:
    """DeepLIFT multipliers for aligned pairs ``inputs``/``references`` ``[M, *S]``.

    Returns the multipliers ``[M, *S]`` (attributions are ``(inputs - references) *
    multipliers``), the scores ``f(inputs)`` and ``f(references)`` ``[M]`` from the same
    forward pass, and counts of rescaled and skipped module calls.
    """
    network = require_module(view, method)
    step = batch_size or inputs.shape[0]
    grads, input_scores, reference_scores = [], [], []
    with RescaleHooks(network, eps) as hooks:
        for start in range(0, inputs.shape[0], step):
            chunk = inputs[start : start + step].detach().requires_grad_(True)
            refs = references[start : start + step].detach()
            hooks.rows = 2 * chunk.shape[0]
            hooks.rescaled = hooks.skipped = 0  # counted per forward pass
            with torch.enable_grad():
                scores = view.forward(torch.cat([chunk, refs]))[:, target]  # [2m]
                # both halves feed the target, as in Captum, so the pooling rule sees
                # the gradient of the reference half too
                (grad,) = torch.autograd.grad(scores.sum(), chunk)
            scores = scores.detach()
            grads.append(grad.detach())
            input_scores.append(scores[: chunk.shape[0]])
            reference_scores.append(scores[chunk.shape[0] :])
        stats = {"rescaled_calls": hooks.rescaled, "skipped_calls": hooks.skipped}
    return torch.cat(grads), torch.cat(input_scores), torch.cat(reference_scores), stats

