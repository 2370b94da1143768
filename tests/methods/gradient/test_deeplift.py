"""DeepLIFT (rescale rule): parity with Captum, summation-to-delta, the rules themselves."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from captum.attr import DeepLift as CaptumDeepLift
from conftest_deep import all_hooks, captum, make_cnn, make_mlp, make_view, relative_error
from random_models import random_bert
from torch import nn

import xplain
from xplain.errors import InvalidParameterError, MethodNotApplicableError
from xplain.methods.build import build_method
from xplain.methods.gradient._rescale import supported_types
from xplain.methods.gradient.deeplift import DeepLift


def _inputs(shape: tuple[int, ...], n: int = 1, seed: int = 1, dtype=torch.float64):
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn((n, *shape), generator=gen, dtype=dtype)
    baseline = 0.3 * torch.randn((1, *shape), generator=gen, dtype=dtype)
    return x, baseline


@pytest.mark.parametrize("target", [0, 2])
@pytest.mark.parametrize("softmax", [False, True])
def test_matches_captum_on_an_mlp(target, softmax):
    model = make_mlp(softmax=softmax)
    x, baseline = _inputs((6,))
    ours = DeepLift().attribute(make_view(model, x, baseline), target).values
    theirs = captum(CaptumDeepLift, model, x, baselines=baseline, target=target)[0]
    assert relative_error(ours, theirs) < 1e-5


def test_matches_captum_on_a_cnn_batch():
    # Captum needs a copy between ReLU and MaxPool (see make_cnn); the function is the same
    model, twin = make_cnn(), make_cnn(copy=True)
    x, baseline = _inputs((1, 8, 8), n=3)
    values, diag = DeepLift().attribute_points(make_view(model, x[:1], baseline), x, 1)
    theirs = captum(CaptumDeepLift, twin, x, baselines=baseline.expand_as(x), target=1)
    assert relative_error(values, theirs) < 1e-5
    assert diag["rescaled_calls"] == 3  # two ReLUs and the pooling


@pytest.mark.parametrize("dtype, tol", [(torch.float64, 1e-10), (torch.float32, 1e-4)])
def test_attributions_sum_to_the_difference_in_output(dtype, tol):
    model = make_cnn(dtype=dtype)
    x, baseline = _inputs((1, 8, 8), n=4, dtype=dtype)
    values, diag = DeepLift().attribute_points(make_view(model, x[:1], baseline), x, 0)
    with torch.no_grad():
        delta = model(x)[:, 0] - model(baseline)[0, 0]
    total = values.flatten(1).sum(1)
    assert torch.allclose(total, delta, rtol=tol, atol=tol * delta.abs().max().item())
    assert diag["completeness_gap"] < tol
    # the gap is measured on the method's own forward passes: equal to ours up to round-off
    assert diag["completeness_gap"] == pytest.approx(
        ((total - delta).abs() / delta.abs()).max().item(), rel=1e-3, abs=tol * 1e-2
    )


ACTIVATIONS = sorted(
    (cls for cls in supported_types() if cls is not nn.Softmax and "Pool" not in cls.__name__),
    key=lambda cls: cls.__name__,
)


def _activation(cls: type[nn.Module], inplace: bool = False) -> nn.Module:
    torch.manual_seed(0)
    module = cls(min=-0.5, max=0.5) if cls.__name__ == "ClippedGELUActivation" else cls()
    if hasattr(module, "inplace"):
        module.inplace = inplace
    return module.double().eval()


@pytest.mark.parametrize("act", ACTIVATIONS, ids=lambda cls: cls.__name__)
def test_elementwise_rule_is_exact(act):
    # f(x) = w . act(x): DeepLIFT gives w_i * (act(x_i) - act(b_i)), whatever act is
    torch.manual_seed(0)
    model = nn.Sequential(_activation(act, inplace=True), nn.Linear(5, 2)).double().eval()
    x, baseline = _inputs((5,))
    x[0, 0] = baseline[0, 0]  # one coordinate with Δin = 0: plain gradient, zero attribution
    values = DeepLift().attribute(make_view(model, x, baseline), 1).values
    with torch.no_grad():
        act_fn = _activation(act)
        expected = model[1].weight[1] * (act_fn(x[0]) - act_fn(baseline[0]))
    torch.testing.assert_close(values, expected, rtol=1e-9, atol=1e-12)


def test_linear_network_gives_input_minus_baseline_times_weights():
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 4), nn.Linear(4, 3)).double().eval()
    x, baseline = _inputs((6,))
    result = DeepLift().attribute(make_view(model, x, baseline), 2)
    weights = (model[1].weight @ model[0].weight)[2]
    torch.testing.assert_close(result.values, (x[0] - baseline[0]) * weights)
    assert result.diagnostics["rescaled_calls"] == 0


@pytest.mark.parametrize(
    "pool, shape",
    [
        (nn.MaxPool1d(2), (2, 12)),
        (nn.MaxPool2d(3, stride=1, padding=1), (2, 6, 6)),  # overlapping windows
        (nn.MaxPool3d(2), (2, 4, 4, 4)),
        (nn.AdaptiveMaxPool2d(2), (2, 6, 6)),
    ],
    ids=["1d", "2d-overlapping", "3d", "adaptive"],
)
def test_max_pooling_keeps_summation_to_delta(pool, shape):
    torch.manual_seed(0)
    conv = {2: nn.Conv1d, 3: nn.Conv2d, 4: nn.Conv3d}[len(shape)](2, 3, 3, padding=1)
    model = nn.Sequential(conv, nn.ReLU(), pool, nn.Flatten(), nn.LazyLinear(2)).double()
    x, baseline = _inputs(shape)
    model(x)  # materialise the lazy layer
    model.eval()
    diag = DeepLift().attribute(make_view(model, x, baseline), 0).diagnostics
    assert diag["rescaled_calls"] == 2
    assert diag["completeness_gap"] < 1e-10


def test_each_point_is_explained_independently_of_the_batch():
    model = nn.Sequential(make_cnn(), nn.Softmax(dim=1)).eval()
    x, baseline = _inputs((1, 8, 8), n=3)
    view = make_view(model, x[:1], baseline)
    batched, _ = DeepLift().attribute_points(view, x, 1)
    chunked, _ = DeepLift(internal_batch_size=2).attribute_points(view, x, 1)
    for i in range(3):
        alone, _ = DeepLift().attribute_points(view, x[i : i + 1], 1)
        torch.testing.assert_close(batched[i], alone[0], rtol=1e-10, atol=1e-14)
        torch.testing.assert_close(chunked[i], alone[0], rtol=1e-10, atol=1e-14)


class _Shared(nn.Module):
    """One ReLU object applied at two places (Captum raises on this)."""

    def __init__(self, twin: bool) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.a, self.b, self.c = nn.Linear(5, 6), nn.Linear(6, 6), nn.Linear(6, 2)
        self.relu = nn.ReLU()
        self.relu2 = nn.ReLU() if twin else self.relu

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.c(self.relu2(self.b(self.relu(self.a(x)))))


def test_a_module_reused_in_one_forward_is_rescaled_at_each_call():
    shared, twin = _Shared(twin=False).double().eval(), _Shared(twin=True).double().eval()
    x, baseline = _inputs((5,))
    ours = DeepLift().attribute(make_view(shared, x, baseline), 1)
    reference = DeepLift().attribute(make_view(twin, x, baseline), 1)
    torch.testing.assert_close(ours.values, reference.values, rtol=1e-12, atol=1e-15)
    assert ours.diagnostics["rescaled_calls"] == 2
    assert ours.diagnostics["completeness_gap"] < 1e-10


class _Failing(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.lin, self.relu = nn.Linear(4, 3), nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.relu(self.lin(x))
        raise RuntimeError("broken model")


def test_hooks_are_removed_after_the_call_and_after_an_error():
    model = make_cnn()
    x, baseline = _inputs((1, 8, 8))
    view = make_view(model, x, baseline)
    DeepLift().attribute(view, 0)
    assert all_hooks(model) == 0
    with pytest.raises(IndexError):
        DeepLift().attribute(view, 7)  # no class 7: fails after the hooked forward
    assert all_hooks(model) == 0
    failing = _Failing().double()
    with pytest.raises(RuntimeError, match="broken model"):
        DeepLift().attribute(make_view(failing, *_inputs((4,))), 0)
    assert all_hooks(failing) == 0


class _PositionBias(nn.Module):
    """A ReLU applied to a parameter table, not to the batch."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.table = nn.Parameter(torch.randn(3, 4))
        self.act, self.relu, self.out = nn.Tanh(), nn.ReLU(), nn.Linear(4, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(self.act(x) + self.relu(self.table).sum(0))


def test_calls_outside_the_batch_keep_plain_gradients_and_are_counted():
    model = _PositionBias().double().eval()
    x, baseline = _inputs((4,))
    result = DeepLift().attribute(make_view(model, x, baseline), 0)
    assert result.diagnostics["skipped_calls"] == 1
    assert result.diagnostics["rescaled_calls"] == 1
    assert result.diagnostics["completeness_gap"] < 1e-10  # the table is constant


def test_noise_wrapper_runs_deeplift_on_noisy_copies():
    model = make_cnn()
    x, baseline = _inputs((1, 8, 8))
    view = make_view(model, x, baseline)
    smooth = build_method("deeplift", {"noise_samples": 4, "noise_std": 0.1})
    values = smooth.attribute(view, 0).values
    assert values.shape == x.shape[1:]
    assert not torch.allclose(values, DeepLift().attribute(view, 0).values)
    assert all_hooks(model) == 0


def test_view_without_module_is_not_applicable():
    model = make_mlp()
    view = make_view(model, *_inputs((6,)))
    view.module = None
    with pytest.raises(MethodNotApplicableError, match="view.module"):
        DeepLift().attribute(view, 0)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"eps": 0.0}, "'eps' parameter of deeplift must be a finite float > 0. Got 0.0"),
        ({"eps": -1e-3}, "'eps'"),
        ({"internal_batch_size": 0}, "'internal_batch_size'"),
        ({"n_steps": 5}, "unexpected parameter 'n_steps'"),
    ],
)
def test_bad_parameters_are_rejected(params, match):
    with pytest.raises(InvalidParameterError, match=match):
        DeepLift(**params)


def _tiny_bert(tmp_path):
    from transformers import BertTokenizerFast

    words = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "a", "good", "bad", "film", "very"]
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("\n".join(words))
    model = random_bert(len(words), layers=2, positions=16)
    return model, BertTokenizerFast(vocab_file=str(vocab))


def test_runs_on_a_transformer_through_the_text_adapter(tmp_path):
    model, tok = _tiny_bert(tmp_path)
    e = xplain.Explainer(model, tokenizer=tok).explain("a very good film", method="deeplift")
    assert e.values.shape == (6,) and np.isfinite(e.values).all()
    gap = e.diagnostics["completeness_gap"]
    assert np.isfinite(gap) and gap >= 0
    # GELU in both layers and the pooler's Tanh are rescaled; attention is not
    assert e.diagnostics["rescaled_calls"] == 3
    assert e.n_model_evals == 3  # prediction + one [x; baseline] forward of 2 rows
    assert all_hooks(model) == 0
