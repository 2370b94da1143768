"""Guided backpropagation and Guided Grad-CAM: parity with Captum, the rule, hook hygiene."""

from __future__ import annotations

import warnings

import pytest
import torch
from captum.attr import GuidedBackprop as CaptumGuidedBackprop
from captum.attr import GuidedGradCam as CaptumGuidedGradCam
from conftest_image import hook_count, image_view, make_cnn, random_image, relative_error
from torch import nn

import xplain
from xplain.errors import MethodNotApplicableError
from xplain.methods.base import gradients
from xplain.methods.gradient.guided_backprop import GuidedBackprop
from xplain.methods.gradient.guided_grad_cam import GuidedGradCam
from xplain.views import DifferentiableView, SpatialDifferentiableView


def captum(attribution, *args, **kwargs) -> torch.Tensor:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Setting backward hooks on ReLU activations"
        return attribution.attribute(*args, **kwargs).detach()


@pytest.mark.parametrize("target", [0, 4])
def test_guided_backprop_matches_captum(target):
    model, image = make_cnn(), random_image()
    ours = GuidedBackprop().attribute(image_view(model, image), target)
    theirs = captum(CaptumGuidedBackprop(model), image[None], target)
    assert ours.diagnostics == {"guided_relus": 2}
    assert relative_error(ours.values, theirs[0]) < 1e-5


@pytest.mark.parametrize("mode", ["bilinear", "nearest"])
@pytest.mark.parametrize("target", [1, 2])
def test_guided_grad_cam_matches_captum(target, mode):
    model, image = make_cnn(), random_image(seed=5)
    ours = GuidedGradCam(interpolation=mode).attribute(image_view(model, image), target)
    theirs = captum(
        CaptumGuidedGradCam(model, model[3]), image[None], target, interpolate_mode=mode
    )
    assert ours.diagnostics["layer"] == "3"
    assert relative_error(ours.values, theirs[0]) < 1e-5


def test_the_rule_by_hand_on_a_two_layer_network():
    # score = w2 . relu(W1 x): guided gradient = W1^T (1[W1 x > 0] * max(w2, 0))
    w1 = torch.tensor([[1.0, -2.0], [0.5, 1.0], [-1.0, 0.5]], dtype=torch.float64)
    w2 = torch.tensor([[2.0, -3.0, 1.0]], dtype=torch.float64)
    model = nn.Sequential(nn.Linear(2, 3, bias=False), nn.ReLU(), nn.Linear(3, 1, bias=False))
    model = model.double()
    with torch.no_grad():
        model[0].weight.copy_(w1)
        model[2].weight.copy_(w2)
    x = torch.tensor([[1.0, 0.2]], dtype=torch.float64)  # W1 x = [0.6, 0.7, -0.9]
    view = DifferentiableView(
        inputs=x, baseline=torch.zeros_like(x), forward=model, aggregate=lambda a: a, module=model
    )
    guided = GuidedBackprop().attribute(view, 0).values
    expected = w1.T @ (((w1 @ x[0]) > 0) * w2[0].clamp(min=0))
    torch.testing.assert_close(guided, expected)
    plain = gradients(view, x, 0)[0]  # the hooks are gone: the plain gradient again
    torch.testing.assert_close(plain, w1.T @ (((w1 @ x[0]) > 0) * w2[0]))
    assert not torch.allclose(guided, plain)


def test_in_place_relus_give_the_same_result():
    image = random_image(seed=7)
    ours = GuidedBackprop().attribute(image_view(make_cnn(inplace=True), image), 3).values
    reference = GuidedBackprop().attribute(image_view(make_cnn(), image), 3).values
    torch.testing.assert_close(ours, reference, rtol=1e-12, atol=1e-15)


def test_hooks_are_removed_even_on_error():
    model = make_cnn()
    view = image_view(model, random_image())
    for method in (GuidedBackprop(), GuidedGradCam()):
        with pytest.raises(IndexError):
            method.attribute(view, 99)  # no such class: fails inside the hooked backward pass
        assert hook_count(model) == 0
    plain = gradients(view, view.inputs, 0)
    with torch.enable_grad():
        x = view.inputs.detach().requires_grad_(True)
        (expected,) = torch.autograd.grad(model(x)[0, 0], x)
    torch.testing.assert_close(plain, expected)


def test_a_model_without_relu_modules_is_not_applicable():
    model = nn.Sequential(nn.Conv2d(3, 2, 3), nn.Tanh(), nn.Flatten(), nn.Linear(2 * 14 * 14, 3))
    explainer = xplain.Explainer(model.double(), modality="image")
    applicable = explainer.applicable_methods()
    assert "saliency" in applicable and "grad_cam" in applicable
    assert "guided_backprop" not in applicable and "guided_grad_cam" not in applicable
    with pytest.raises(MethodNotApplicableError, match=r"nn\.ReLU.*Sequential has none"):
        explainer.explain(random_image(), "guided_backprop")
    with pytest.raises(MethodNotApplicableError, match=r"nn\.ReLU"):
        explainer.explain(random_image(), "guided_grad_cam")
    view = explainer.adapter.differentiable_view(
        explainer.adapter.encode(random_image()), "probability"
    )
    with pytest.raises(MethodNotApplicableError, match=r"Sequential has none"):
        GuidedBackprop().attribute(view, 0)  # a view alone is refused at run time


def test_guided_backprop_applies_to_any_torch_view_guided_grad_cam_to_images():
    assert GuidedBackprop.view is DifferentiableView
    assert GuidedGradCam.view is SpatialDifferentiableView
    e = xplain.Explainer(make_cnn(), modality="image").explain(random_image(), "guided_backprop")
    assert e.values.shape == (256,) and e.diagnostics["guided_relus"] == 2


def test_a_gelu_bert_does_not_list_the_guided_methods(tiny_bert, minilm_tokenizer):
    explainer = xplain.Explainer(tiny_bert, tokenizer=minilm_tokenizer)  # BERT's GELU
    assert explainer.adapter.torch_module() is tiny_bert
    applicable = explainer.applicable_methods()
    assert "integrated_gradients" in applicable and "guided_backprop" not in applicable
    with pytest.raises(MethodNotApplicableError, match=r"BertForSequenceClassification has none"):
        explainer.explain("a fine film", "guided_backprop")
