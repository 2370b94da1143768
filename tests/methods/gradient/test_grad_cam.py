"""Grad-CAM: parity with Captum, localisation, layer choice and errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from captum.attr import LayerAttribution, LayerGradCam
from conftest_image import (
    SIDE,
    QuadrantNet,
    hook_count,
    image_view,
    make_cnn,
    quadrant_image,
    random_image,
    relative_error,
)
from torch import nn

import xplain
from xplain.errors import InvalidParameterError, MethodNotApplicableError
from xplain.methods.gradient.grad_cam import GradCam
from xplain.views import SpatialDifferentiableView


def captum_grad_cam(model, layer, x, target, relu=True, mode="bilinear"):
    cam = LayerGradCam(model, layer).attribute(x, target, relu_attributions=relu)
    return LayerAttribution.interpolate(cam, tuple(x.shape[2:]), interpolate_mode=mode).detach()


@pytest.mark.parametrize("target", [0, 3])
@pytest.mark.parametrize("relu", [True, False])
def test_matches_captum_layer_grad_cam_on_the_last_conv(target, relu):
    model, image = make_cnn(), random_image()
    view = image_view(model, image)
    ours = GradCam(relu=relu).attribute(view, target)
    theirs = captum_grad_cam(model, model[3], image[None], target, relu)  # [1, 1, H, W]
    assert ours.diagnostics["layer"] == "3"  # found automatically
    assert relative_error(ours.values[0], theirs[0, 0]) < 1e-5
    assert torch.all(ours.values[1:] == 0)  # the map lives in the first channel only
    if relu:
        assert theirs.min() >= 0 and theirs.max() > 0


@pytest.mark.parametrize("mode", ["bilinear", "nearest", "bicubic"])
def test_named_layer_and_interpolation_match_captum(mode):
    model, image = make_cnn(), random_image(seed=2)
    view = image_view(model, image)
    ours = GradCam(layer="4", interpolation=mode).attribute(view, 1).values
    theirs = captum_grad_cam(model, model[4], image[None], 1, mode=mode)
    assert relative_error(ours[0], theirs[0, 0]) < 1e-5


@pytest.mark.parametrize("aggregation", ["max_abs", "sum", "l2"])
def test_every_channel_aggregation_returns_the_map(aggregation):
    model, image = make_cnn(), random_image(seed=3)
    view = image_view(model, image, channel_aggregation=aggregation)
    values = view.to_features(GradCam().attribute(view, 2).values)
    theirs = captum_grad_cam(model, model[3], image[None], 2)[0, 0].reshape(-1).numpy()
    np.testing.assert_allclose(values, theirs, rtol=1e-12, atol=1e-15)


def test_batched_points_equal_one_at_a_time():
    model = make_cnn()
    view = image_view(model, random_image())
    points = torch.stack([random_image(seed=s) for s in range(3)])
    together, _ = GradCam(internal_batch_size=2).attribute_points(view, points, 4)
    for point, ours in zip(points, together, strict=True):
        alone, _ = GradCam().attribute_points(view, point[None], 4)
        torch.testing.assert_close(ours, alone[0], rtol=1e-12, atol=1e-15)


def test_mass_concentrates_in_the_only_quadrant_the_model_sees():
    model, image = QuadrantNet(), quadrant_image()
    view = image_view(model, image)
    cam = view.to_features(GradCam().attribute(view, 0).values).reshape(SIDE, SIDE)
    half = SIDE // 2
    quadrant = np.zeros((SIDE, SIDE), dtype=bool)
    quadrant[:half, half:] = True
    assert cam[quadrant].sum() / cam.sum() > 0.85
    # two 3x3 convolutions spread the activations 2 pixels beyond the quadrant, no further
    near = np.zeros_like(quadrant)
    near[: half + 2, half - 2 :] = True
    assert np.all(cam[~near] == 0) and np.all(cam[quadrant] > 0)


class LateDefinedConv(nn.Module):
    """Its convolutions are defined in the opposite order to the one they run in."""

    def __init__(self) -> None:
        super().__init__()
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            self.late = nn.Conv2d(4, 4, 3, padding=1)
            self.early = nn.Conv2d(3, 4, 3, padding=1)
            self.head = nn.Linear(4, 2)
        self.double().eval()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.relu(self.late(torch.relu(self.early(x))))
        return self.head(h.mean((2, 3)))


def test_the_default_layer_is_the_last_conv_called_not_the_last_defined():
    model, image = LateDefinedConv(), random_image()
    ours = GradCam().attribute(image_view(model, image), 1)
    assert ours.diagnostics["layer"] == "late"
    theirs = captum_grad_cam(model, model.late, image[None], 1)
    assert relative_error(ours.values[0], theirs[0, 0]) < 1e-5


def test_a_model_without_convolutions_is_not_applicable():
    mlp = nn.Sequential(nn.Flatten(), nn.Linear(3 * SIDE * SIDE, 4)).double()
    explainer = xplain.Explainer(mlp, modality="image")
    with pytest.raises(MethodNotApplicableError, match="convolutional layer.*Sequential"):
        explainer.explain(random_image(), "grad_cam")
    with pytest.raises(MethodNotApplicableError, match=r"nn\.ReLU"):  # it lacks those too
        explainer.explain(random_image(), "guided_grad_cam")


def test_bad_layer_names_are_explained():
    view = image_view(make_cnn(), random_image())
    with pytest.raises(InvalidParameterError, match=r"'layer'.*'30'.*Did you mean '3'.*'0', '3'"):
        GradCam(layer="30").attribute(view, 0)
    with pytest.raises(InvalidParameterError, match=r"feature map.*'7'.*\[1, 5\]"):
        GradCam(layer="7").attribute(view, 0)  # the Linear head
    with pytest.raises(InvalidParameterError, match="'layer' parameter of grad_cam"):
        GradCam(layer=3)
    with pytest.raises(InvalidParameterError, match="'interpolation'"):
        GradCam(interpolation="area")


def test_hooks_are_removed_even_when_the_forward_pass_fails():
    model = make_cnn()
    view = image_view(model, random_image())
    GradCam().attribute(view, 0)
    assert hook_count(model) == 0
    with pytest.raises(IndexError):
        GradCam().attribute(view, 99)  # no such class: fails inside the hooked forward
    assert hook_count(model) == 0


def test_explainer_runs_grad_cam_on_images_only():
    model, image = make_cnn(), random_image()
    e = xplain.Explainer(model, modality="image").explain(image, "grad_cam", target=2)
    assert e.values.shape == (SIDE * SIDE,) and e.image_shape == (SIDE, SIDE)
    theirs = captum_grad_cam(model, model[3], image[None], 2)[0, 0].reshape(-1).numpy()
    np.testing.assert_allclose(e.values, theirs, rtol=1e-12, atol=1e-15)
    assert GradCam.view is SpatialDifferentiableView  # images: the view type, no modality
