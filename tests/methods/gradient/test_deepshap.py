"""DeepSHAP: parity with Captum's DeepLiftShap, efficiency, background handling."""

from __future__ import annotations

import pytest
import torch
from captum.attr import DeepLiftShap as CaptumDeepLiftShap
from conftest_deep import all_hooks, captum, make_cnn, make_mlp, make_view, relative_error

from xplain.errors import InvalidParameterError
from xplain.methods.gradient.deeplift import DeepLift
from xplain.methods.gradient.deepshap import DeepShap


def _data(shape: tuple[int, ...], n: int = 1, k: int = 5, seed: int = 1):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn((n, *shape), generator=gen, dtype=torch.float64)
    background = 0.5 * torch.randn((k, *shape), generator=gen, dtype=torch.float64)
    return x, background


def test_matches_captum_on_an_mlp():
    # no softmax: Captum centres softmax multipliers over the whole batch of pairs,
    # xplain per row (the two agree for one pair, see test_deeplift)
    model = make_mlp()
    x, background = _data((6,), n=2)
    view = make_view(model, x[:1], background[:1], background)
    ours, _ = DeepShap().attribute_points(view, x, 2)
    theirs = captum(CaptumDeepLiftShap, model, x, baselines=background, target=2)
    assert relative_error(ours, theirs) < 1e-5


def test_matches_captum_on_a_cnn():
    model, twin = make_cnn(), make_cnn(copy=True)  # see make_cnn for the copy
    x, background = _data((1, 8, 8), n=2, k=4)
    view = make_view(model, x[:1], background[:1], background)
    ours, _ = DeepShap().attribute_points(view, x, 0)
    theirs = captum(CaptumDeepLiftShap, twin, x, baselines=background, target=0)
    assert relative_error(ours, theirs) < 1e-5


def test_attributions_sum_to_the_mean_difference_over_the_background():
    model = make_cnn()
    x, background = _data((1, 8, 8), n=3, k=6)
    view = make_view(model, x[:1], background[:1], background)
    values, diag = DeepShap().attribute_points(view, x, 2)
    with torch.no_grad():
        expected = (model(x)[:, 2, None] - model(background)[None, :, 2]).mean(1)
    torch.testing.assert_close(values.flatten(1).sum(1), expected, rtol=1e-10, atol=1e-12)
    assert diag["completeness_gap"] < 1e-10
    assert diag["n_background"] == 6


def test_is_deeplift_averaged_over_the_background_rows():
    model = make_mlp(softmax=True)
    x, background = _data((6,), k=3)
    values = DeepShap().attribute(make_view(model, x, background[:1], background), 1).values
    each = [
        DeepLift().attribute(make_view(model, x, background[k : k + 1]), 1).values for k in range(3)
    ]
    torch.testing.assert_close(values, torch.stack(each).mean(0), rtol=1e-10, atol=1e-14)


def test_without_background_falls_back_to_the_baseline():
    model = make_mlp()
    x, background = _data((6,))
    view = make_view(model, x, background[:1])
    result = DeepShap().attribute(view, 0)
    torch.testing.assert_close(result.values, DeepLift().attribute(view, 0).values)
    assert result.diagnostics["n_background"] == 1
    assert "background" in result.diagnostics["background_note"]


def test_batches_and_subsets_of_the_background():
    model = make_cnn()
    x, background = _data((1, 8, 8), n=2, k=7)
    view = make_view(model, x[:1], background[:1], background)
    full, _ = DeepShap().attribute_points(view, x, 1)
    chunked, _ = DeepShap(internal_batch_size=3).attribute_points(view, x, 1)
    torch.testing.assert_close(chunked, full, rtol=1e-10, atol=1e-14)

    first, diag = DeepShap(max_background=3, seed=5).attribute_points(view, x, 1)
    again, _ = DeepShap(max_background=3, seed=5).attribute_points(view, x, 1)
    other, _ = DeepShap(max_background=3, seed=6).attribute_points(view, x, 1)
    assert diag["n_background"] == 3
    assert torch.equal(first, again)
    assert not torch.allclose(first, other)
    assert all_hooks(model) == 0


@pytest.mark.parametrize(
    "params, match",
    [
        ({"max_background": 0}, "'max_background' parameter of deepshap must be an int >= 1"),
        ({"seed": -1}, "'seed'"),
        ({"eps": 0}, "'eps'"),
        ({"internal_batch_size": 1.5}, "'internal_batch_size'"),
    ],
)
def test_bad_parameters_are_rejected(params, match):
    with pytest.raises(InvalidParameterError, match=match):
        DeepShap(**params)
