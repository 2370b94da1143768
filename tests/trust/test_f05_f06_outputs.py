"""Findings 5 and 6: what a torch model outputs (probabilities, one score) is read as it is.

Tiny float64 models over 1 x 4 x 4 grey images (the image adapter passes pixels to the
model unchanged, and one channel makes its channel aggregation the identity), so values
can be compared with Captum on the raw module to rounding.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

import xplain
from xplain.adapters import TabularEncoder

captum_attr = pytest.importorskip("captum.attr")

pytestmark = pytest.mark.filterwarnings("ignore:Input Tensor 0 did not already require gradients")

N_STEPS = 24


def _mlp(*tail: nn.Module, n_out: int = 3, seed: int = 0) -> nn.Sequential:
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Flatten(), nn.Linear(16, 8), nn.Tanh(), nn.Linear(8, n_out), *tail
    ).double()


def _image(seed: int = 1) -> torch.Tensor:
    return torch.rand(1, 1, 4, 4, generator=torch.Generator().manual_seed(seed)).double()


def _captum(module: nn.Module, image: torch.Tensor, target: int) -> dict[str, np.ndarray]:
    """Captum's saliency (signed) and IG (Gauss-Legendre, black baseline) per pixel."""
    saliency = captum_attr.Saliency(module).attribute(image.clone(), target=target, abs=False)
    ig = captum_attr.IntegratedGradients(module).attribute(
        image.clone(), baselines=torch.zeros_like(image), target=target, n_steps=N_STEPS,
        method="gausslegendre",
    )
    return {"saliency": saliency.reshape(-1).numpy(), "ig": ig.reshape(-1).numpy()}


def _ours(ex: xplain.Explainer, image: torch.Tensor, target=None) -> dict:
    sal = ex.explain(image[0], "saliency", target=target, absolute=False)
    ig = ex.explain(image[0], "integrated_gradients", target=target, n_steps=N_STEPS)
    return {"saliency": sal.values, "ig": ig.values, "e": ig}


def _assert_close(ours: np.ndarray, theirs: np.ndarray) -> None:
    scale = np.abs(theirs).max()
    assert scale > 0
    np.testing.assert_allclose(ours, theirs, rtol=1e-7, atol=1e-9 * scale)


def test_f05_softmax_model_not_renormalised():
    net = _mlp(nn.Softmax(dim=1))
    image = _image()
    with torch.no_grad():
        p = net(image)[0].numpy()
    ex = xplain.Explainer(net, modality="image")
    ours = _ours(ex, image)
    e = ours["e"]
    np.testing.assert_allclose(e.prediction, p, rtol=1e-12)  # not softmax(p)
    assert e.output == "probability"  # the model's own output is the default
    assert e.target == int(np.argmax(p))
    assert "Softmax" in e.diagnostics["model_output"]
    theirs = _captum(net, image, e.target)
    _assert_close(ours["saliency"], theirs["saliency"])
    _assert_close(ours["ig"], theirs["ig"])
    # completeness of IG on the probability itself: sum = p_t(x) - p_t(black)
    with torch.no_grad():
        base = net(torch.zeros_like(image))[0, e.target].item()
    assert abs(e.values.sum() - (p[e.target] - base)) < 1e-6


def test_f05_logsoftmax_model_explains_its_log_probabilities():
    net = _mlp(nn.LogSoftmax(dim=-1))
    image = _image(2)
    with torch.no_grad():
        log_p = net(image)[0].numpy()
    ex = xplain.Explainer(net, modality="image")
    ours = _ours(ex, image, target=2)
    e = ours["e"]
    np.testing.assert_allclose(e.prediction, np.exp(log_p), rtol=1e-12)
    assert e.output == "log_probability"
    theirs = _captum(net, image, 2)
    _assert_close(ours["saliency"], theirs["saliency"])
    _assert_close(ours["ig"], theirs["ig"])


class _SoftmaxInForward(nn.Module):
    """Probabilities from ``torch.softmax`` inside forward: no Softmax layer to see."""

    def __init__(self) -> None:
        super().__init__()
        self.body = _mlp()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.body(x), dim=1)


def test_f05_probabilities_detected_at_run_time():
    net = _SoftmaxInForward()
    image = _image(3)
    with torch.no_grad():
        p = net(image)[0].numpy()
    ex = xplain.Explainer(net, modality="image")
    e = ex.explain(image[0], "saliency", absolute=False)
    np.testing.assert_allclose(e.prediction, p, rtol=1e-12)
    assert e.output == ex.output == "probability"
    assert "first call" in e.diagnostics["model_output"]
    _assert_close(e.values, _captum(net, image, e.target)["saliency"])


def test_softmax_layer_unused_by_forward_is_not_trusted():
    """A Softmax registered last but unused by forward must not turn logits into logs."""

    class Odd(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.body = _mlp()
            self.unused = nn.Softmax(dim=1)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.body(x)

    net = Odd()
    image = _image(4)
    with torch.no_grad():
        logits = net(image)[0]
    e = xplain.Explainer(net, modality="image").explain(image[0], "saliency")
    np.testing.assert_allclose(e.prediction, torch.softmax(logits, 0).numpy(), rtol=1e-12)
    assert e.output == "logits" and "model_output" not in e.diagnostics


def test_f05_tabular_torch_softmax_model_not_renormalised():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    encoder = TabularEncoder().fit(X)
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(encoder.n_outputs, 4), nn.Softmax(dim=1)).double()
    ex = xplain.Explainer(net, data=X, encoder=encoder)
    e = ex.explain(X[0], "saliency")
    with torch.no_grad():
        p = net(torch.as_tensor(encoder.transform(X[:1]), dtype=torch.float64))[0].numpy()
    np.testing.assert_allclose(e.prediction, p, rtol=1e-6)  # the encoder rounds to float32
    assert e.output == "probability" and "Softmax" in e.diagnostics["model_output"]


def test_f05_sigmoid_single_output_is_the_probability_of_class_1():
    net = _mlp(nn.Sigmoid(), n_out=1)
    image = _image(5)
    with torch.no_grad():
        p = net(image)[0, 0].item()
    ex = xplain.Explainer(net, modality="image")
    ours = _ours(ex, image)
    e = ours["e"]
    np.testing.assert_allclose(e.prediction, [1 - p, p], rtol=1e-12)
    assert e.output == "probability" and e.target == 1
    theirs = _captum(net, image, 0)
    _assert_close(ours["saliency"], theirs["saliency"])
    _assert_close(ours["ig"], theirs["ig"])


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_f06_single_output_explains_z_like_captum(sign):
    net = _mlp(n_out=1)
    with torch.no_grad():
        net[-1].bias.fill_(sign * 3.0)  # z > 0 or z < 0 on the image
    image = _image(6)
    with torch.no_grad():
        z = net(image)[0, 0].item()
    assert np.sign(z) == sign
    ex = xplain.Explainer(net, modality="image")
    ours = _ours(ex, image)
    e = ours["e"]
    sigma = 1 / (1 + np.exp(-z))
    np.testing.assert_allclose(e.prediction, [1 - sigma, sigma], rtol=1e-12)
    assert e.target == 1 and e.output == "logits"  # z itself, whatever its sign
    theirs = _captum(net, image, 0)
    _assert_close(ours["saliency"], theirs["saliency"])
    _assert_close(ours["ig"], theirs["ig"])
    # IG completeness on z: sum = z(x) - z(black)
    with torch.no_grad():
        base = net(torch.zeros_like(image))[0, 0].item()
    assert abs(e.values.sum() - (z - base)) < 1e-6 * max(1.0, abs(z - base))


def test_f06_single_output_target_zero():
    net = _mlp(n_out=1)
    image = _image(7)
    ex = xplain.Explainer(net, modality="image")
    with pytest.raises(xplain.errors.InvalidTargetError, match="one output z"):
        ex.explain(image[0], "saliency", target=0)
    # class 0's probability is 1 - sigmoid(z): its gradient is minus class 1's
    by_probability = xplain.Explainer(net, modality="image", output="probability")
    zero = by_probability.explain(image[0], "saliency", target=0, absolute=False)
    one = by_probability.explain(image[0], "saliency", target=1, absolute=False)
    assert np.abs(one.values).max() > 0
    np.testing.assert_allclose(zero.values, -one.values, rtol=1e-10, atol=1e-14)
