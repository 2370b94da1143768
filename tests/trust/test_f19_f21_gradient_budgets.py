"""Findings 19 (gradient methods) and 21.

19. Budgets whose model rows exceed ``xplain.limits`` (``n_steps=10**9``, adaptive IG with
    ``max_steps=10**7``, ``noise_samples=10**8``, a huge ``n_samples``) are refused up front,
    before any model call; budgets below the ceiling run in chunks bounded by
    ``max_memory_bytes``, with the same result as in one piece.
21. Float parameters of the gradient methods are finite: ``inf`` and NaN are refused, and
    so is noise whose std overflows the input's dtype.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
import torch

from xplain import limits
from xplain.adapters.base import DifferentiableView
from xplain.errors import InvalidParameterError, ResourceLimitError
from xplain.methods.build import build_method
from xplain.methods.gradient._quadrature import quadrature

HUGE = 10**9


class Counting(torch.nn.Module):
    """Wraps a network; records the rows of every forward call."""

    def __init__(self, net: torch.nn.Module) -> None:
        super().__init__()
        self.net = net
        self.calls: list[int] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls.append(x.shape[0])
        return self.net(x)


def _view(shape=(6,), dtype=torch.float64, background: int = 4) -> DifferentiableView:
    torch.manual_seed(0)
    width = int(np.prod(shape))
    net = torch.nn.Sequential(
        torch.nn.Flatten(), torch.nn.Linear(width, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3)
    ).to(dtype)
    model = Counting(net)
    gen = torch.Generator().manual_seed(1)
    x = torch.randn((1, *shape), generator=gen, dtype=dtype)
    return DifferentiableView(
        inputs=x,
        baseline=torch.zeros_like(x),
        forward=model,
        aggregate=lambda a: a.flatten().numpy(),
        background=torch.randn((background, *shape), generator=gen, dtype=dtype),
        module=model,
    )


def _refused(method: str, params: dict, match: str, view: DifferentiableView | None = None):
    view = view or _view()
    start = time.perf_counter()
    with pytest.raises(ResourceLimitError, match=match):
        build_method(method, params).attribute(view, 0)
    # refused up front: the old code ran for minutes (or died of MemoryError); 10 s leaves
    # room for a loaded CI machine
    assert time.perf_counter() - start < 10.0
    assert view.forward.calls == []  # refused before any model call


# -- finding 19 ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "method, params, fix",
    [
        ("integrated_gradients", {"n_steps": HUGE}, "lower n_steps"),
        # nested Fejer: 15 + 16 + ... + 2^22 - 1 = 8,388,607 path points fit 10^7, 10^8 not
        ("integrated_gradients", {"tolerance": 1e-300, "max_steps": 10**8}, "max_steps"),
        ("integrated_gradients", {"tolerance": 1e-300, "max_steps": 10**7,
                                  "rule": "gausslegendre"}, "max_steps"),
        ("integrated_gradients", {"n_steps": 16, "noise_samples": 10**6}, "noise_samples"),
        ("smoothgrad", {"noise_samples": 10**8}, "lower noise_samples"),
        ("gradient_shap", {"n_samples": HUGE}, "lower n_samples"),
    ],
)
def test_f19_huge_budgets_are_refused_before_any_model_call(method, params, fix):
    _refused(method, params, f"would evaluate .* model rows.*{fix}")


def test_f19_xrai_budget_counts_both_baselines():
    view = _view(shape=(3, 8, 8))
    with limits.override(max_model_rows=1000):
        # 2 baselines x 600 path points: over 1000 although one IG run is not
        _refused("xrai", {"n_steps": 600}, "xrai would evaluate 1,20[0-9] model rows", view)


def test_f19_the_ceiling_is_configurable():
    view = _view()
    with limits.override(max_model_rows=100):
        _refused("integrated_gradients", {"n_steps": 200}, "lower n_steps", view)
        build_method("integrated_gradients", {"n_steps": 50}).attribute(view, 0)
    assert max(view.forward.calls) <= 50


@pytest.mark.parametrize(
    "rule, points",
    [
        ("gausslegendre", 16 + 32 + 64 + 128),  # each pass a fresh rule
        ("fejer", 15 + 16 + 32 + 64),  # nested: 15, 31, 63, 127 nodes, only the new ones
    ],
)
def test_f19_adaptive_plan_is_the_worst_case_of_its_passes(rule, points):
    # path points at most, plus the input and the baseline
    view = _view()
    params = {"max_steps": 128, "tolerance": 1e-300, "rule": rule}
    with limits.override(max_model_rows=points + 1):
        _refused("integrated_gradients", params, "max_steps")
    with limits.override(max_model_rows=points + 2):
        build_method("integrated_gradients", params).attribute(view, 0)
    assert sum(view.forward.calls) == points + 2


def _row_bytes(view: DifferentiableView) -> int:
    return view.inputs[0].numel() * view.inputs.element_size()


@pytest.mark.parametrize(
    "method, params",
    [
        ("integrated_gradients", {"n_steps": 64}),
        ("integrated_gradients", {"rule": "riemann_trapezoid", "tolerance": 1e-6}),
        ("gradient_shap", {"n_samples": 50, "stdevs": 0.1}),
        ("smoothgrad", {"noise_samples": 30, "variant": "vargrad"}),
        ("smoothgrad", {"noise_samples": 30, "variant": "smoothgrad_sq"}),
        ("integrated_gradients", {"n_steps": 8, "noise_samples": 9}),
    ],
)
def test_f19_memory_ceiling_chunks_the_work_with_the_same_result(method, params):
    whole_view, chunked_view = _view(), _view()
    whole = build_method(method, params).attribute(whole_view, 1)
    with limits.override(max_memory_bytes=7 * _row_bytes(chunked_view)):
        chunked = build_method(method, params).attribute(chunked_view, 1)
    torch.testing.assert_close(chunked.values, whole.values, rtol=1e-10, atol=1e-13)
    assert max(chunked_view.forward.calls) <= 7 < max(whole_view.forward.calls)
    # as many rows, but for Smooth IG's baseline, scored once per block of noisy copies
    blocks = -(-params.get("noise_samples", 1) // 7) if method != "smoothgrad" else 1
    assert sum(chunked_view.forward.calls) == sum(whole_view.forward.calls) + blocks - 1


def test_f19_deepshap_pairs_beyond_the_memory_ceiling_are_refused():
    view = _view(background=50)
    with limits.override(max_memory_bytes=10 * _row_bytes(view)):
        _refused("deepshap", {}, "lower max_background", view)
        build_method("deepshap", {"max_background": 5}).attribute(view, 0)


def test_f19_gauss_legendre_with_many_nodes_is_fast_and_exact():
    start = time.perf_counter()
    alphas, weights = quadrature("gausslegendre", 100_000)
    # 0.1-0.3 s (more on a loaded machine); numpy's rule alone would need 80 GB and hours
    assert time.perf_counter() - start < 20.0
    assert alphas.shape == weights.shape == (100_000,)
    assert np.all((alphas > 0) & (alphas < 1)) and np.all(np.diff(alphas) > 0)
    assert weights.sum() == pytest.approx(1.0, abs=1e-12)
    assert weights @ alphas**41 == pytest.approx(1 / 42, rel=1e-12)
    # below the panel size the rule is numpy's Gauss-Legendre itself
    nodes, w = np.polynomial.legendre.leggauss(200)
    small = quadrature("gausslegendre", 200)
    np.testing.assert_array_equal(small[0], (nodes + 1) / 2)
    np.testing.assert_array_equal(small[1], w / 2)


# -- finding 21 ---------------------------------------------------------------------------
FLOAT_PARAMETERS = [
    ("smoothgrad", "noise_std"),
    ("integrated_gradients", "noise_std"),
    ("integrated_gradients", "tolerance"),
    ("deeplift", "eps"),
    ("deepshap", "eps"),
    ("gradient_shap", "stdevs"),
    ("xrai", "sigma"),
]


@pytest.mark.parametrize("method, name", FLOAT_PARAMETERS)
@pytest.mark.parametrize("value", [float("inf"), float("-inf"), float("nan")])
def test_f21_float_parameters_must_be_finite(method, name, value):
    with pytest.raises(InvalidParameterError) as info:
        build_method(method, {name: value})
    message = str(info.value)
    assert f"'{name}'" in message and "finite" in message and f"Got {value!r}" in message


@pytest.mark.parametrize(
    "method, params",
    [
        ("smoothgrad", {"noise_std": 1e300}),
        ("gradient_shap", {"stdevs": 1e300}),
    ],
)
def test_f21_noise_that_overflows_the_input_dtype_is_refused(method, params):
    view = _view(dtype=torch.float32)
    with pytest.raises(InvalidParameterError, match=f"{next(iter(params))}.*float32"):
        build_method(method, params).attribute(view, 0)
    assert view.forward.calls == []
