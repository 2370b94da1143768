"""Second hostile try-out of the image path: each test is a defect it found, named after it.

Models are tiny CNNs; numbers are checked against Captum or the model itself.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from captum.attr import InputXGradient

import xplain
from xplain.errors import InvalidInputError, InvalidParameterError, MethodNotApplicableError


def _cnn(channels: int = 3, first: torch.nn.Module | None = None) -> torch.nn.Module:
    torch.manual_seed(0)
    layers = [] if first is None else [first]
    layers += [
        torch.nn.Conv2d(channels, 4, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.AdaptiveAvgPool2d(2),
        torch.nn.Flatten(),
        torch.nn.Linear(16, 3),
    ]
    return torch.nn.Sequential(*layers).double().eval()


def _image(height: int = 6, width: int = 6, channels: int = 3) -> np.ndarray:
    return np.random.default_rng(0).random((height, width, channels))


class _InPlaceNormalise(torch.nn.Module):
    """``torchvision.transforms.Normalize(inplace=True)`` as a first layer: writes its input."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.sub_(0.5).div_(0.25)


class _Normalise(torch.nn.Module):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x - 0.5) / 0.25


GRID = {"segmentation": "grid", "segmentation_params": {"rows": 2, "cols": 2}}


def test_model_writing_its_input_in_place_gets_its_own_copy():
    image = _image()
    inplace, pure = _cnn(first=_InPlaceNormalise()), _cnn(first=_Normalise())
    # gradient methods: was a raw "leaf Variable ... in-place operation" RuntimeError
    got = xplain.Explainer(inplace, modality="image", channel_aggregation="sum").explain(
        image, method="input_x_gradient", target=0
    )
    x = torch.as_tensor(image.transpose(2, 0, 1)[None].copy())
    ref = InputXGradient(pure).attribute(x.requires_grad_(), target=0)[0].sum(0)
    np.testing.assert_allclose(got.values, ref.detach().numpy().reshape(-1), rtol=1e-10)
    # perturbation methods: the prediction normalised the stored pixels, and every later
    # masked image was normalised twice (silently wrong values and prediction)
    ex_inplace = xplain.Explainer(inplace, modality="image", **GRID)
    ex_pure = xplain.Explainer(pure, modality="image", **GRID)
    a = ex_inplace.explain(image, method="kernel_shap", target=0)
    b = ex_pure.explain(image, method="kernel_shap", target=0)
    np.testing.assert_allclose(a.values, b.values, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(a.prediction, b.prediction, rtol=1e-12)


def test_model_with_integer_scores_has_no_gradient():
    class Votes(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.net = _cnn()

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return (self.net(x) * 10).round().long()

    ex = xplain.Explainer(Votes(), modality="image", **GRID)
    with pytest.raises(MethodNotApplicableError, match="no gradient.*kernel_shap"):
        ex.explain(_image(), method="saliency")
    assert np.isfinite(ex.explain(_image(), method="occlusion").values).all()


def test_bfloat16_image_tensor_is_read():
    image = torch.rand(3, 6, 6).to(torch.bfloat16)
    ex = xplain.Explainer(_cnn(), modality="image")
    got = ex.explain(image, method="saliency")
    expected = ex.explain(image.double(), method="saliency")
    np.testing.assert_array_equal(got.values, expected.values)


def test_complex_image_is_refused():
    with pytest.raises(InvalidInputError, match="complex"):
        xplain.Explainer(_cnn(), modality="image").explain(_image().astype(np.complex128))


def test_uint16_array_is_refused_as_ambiguous():
    # 16-bit data: values / 255 (as any integer array) or / 65535 (as PIL's I;16)? Values
    # <= 255 were read / 255, while the same data as a PIL I;16 image is read / 65535.
    low = (_image(channels=1)[..., 0] * 200).astype(np.uint16)
    with pytest.raises(InvalidInputError, match="65535"):
        xplain.Explainer(_cnn(1), modality="image").explain(low)


@pytest.mark.parametrize(
    "batch",
    [_image(5, 6, 1), torch.rand(1, 5, 6)],
    ids=["numpy-HWC", "torch-CHW"],
)
def test_explain_batch_of_one_image_is_refused(batch):
    # one image was split along its first axis: H "images" of one row each
    model = torch.nn.Sequential(
        torch.nn.Conv2d(1, 2, 1), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(),
        torch.nn.Linear(2, 2),
    )
    with pytest.raises(InvalidInputError, match="one image"):
        xplain.Explainer(model, modality="image").explain_batch(batch, method="saliency")


def test_explain_batch_of_a_4d_stack_still_works():
    stack = np.stack([_image(), _image()[::-1]])
    ex = xplain.Explainer(_cnn(), modality="image")
    got = ex.explain_batch(stack, method="saliency")
    np.testing.assert_array_equal(got[1].values, ex.explain(stack[1], method="saliency").values)


def test_labels_of_the_wrong_length_are_refused():
    ex = xplain.Explainer(_cnn(), modality="image", labels=["cat", "dog"])
    with pytest.raises(InvalidParameterError, match="2 labels.*3 classes"):
        ex.explain(_image(), method="saliency")


def test_duplicate_labels_are_refused():
    with pytest.raises(InvalidParameterError, match="'cat'"):
        xplain.Explainer(_cnn(), modality="image", labels=["cat", "dog", "cat"])


def test_preprocess_returning_numpy_is_refused():
    ex = xplain.Explainer(_cnn(), modality="image", preprocess=lambda x: x.numpy())
    with pytest.raises(InvalidParameterError, match="preprocess.*ndarray"):
        ex.explain(_image(), method="occlusion")


def test_preprocess_changing_the_batch_is_refused():
    ex = xplain.Explainer(_cnn(), modality="image", preprocess=lambda x: x[:1], **GRID)
    with pytest.raises(InvalidParameterError, match="preprocess.*1 image"):
        ex.explain(_image(), method="kernel_shap")


@pytest.mark.parametrize(
    "params",
    [{"n_segments": 0}, {"channel_axis": 0}],
    ids=["zero-segments", "channel-axis"],
)
def test_segmentation_params_skimage_rejects_are_named(params):
    ex = xplain.Explainer(_cnn(), modality="image", segmentation_params=params)
    with pytest.raises(InvalidParameterError, match="segmentation_params"):
        ex.explain(_image(), method="occlusion")


def test_grid_accepts_numpy_integers():
    params = {"segmentation": "grid", "segmentation_params": {"rows": np.int64(2), "cols": 3}}
    segments = xplain.Explainer(_cnn(), modality="image", **params).adapter.segments(_image())
    assert len(np.unique(segments)) == 6


def test_xrai_huge_dilation_is_the_whole_image():
    # was a raw MemoryError: a (2r + 1)^2 disk for r = 10**6
    ex = xplain.Explainer(_cnn(), modality="image")
    huge = ex.explain(_image(), method="xrai", n_steps=4, dilation=10**6, target=0)
    whole = ex.explain(_image(), method="xrai", n_steps=4, dilation=12, target=0)
    np.testing.assert_array_equal(huge.values, whole.values)


def test_xrai_infinite_scale_is_refused():
    with pytest.raises(InvalidParameterError, match="scales"):
        xplain.Explainer(_cnn(), modality="image").explain(
            _image(), method="xrai", scales=[float("inf")]
        )


def test_blur_sigma_without_blurred_baseline_is_refused():
    with pytest.raises(InvalidParameterError, match="blur_sigma.*baseline='blurred'"):
        xplain.Explainer(_cnn(), modality="image", blur_sigma=2.0)


@pytest.mark.parametrize("mean", ["0.5", True], ids=["str", "bool"])
def test_mean_must_be_numbers(mean):
    with pytest.raises(InvalidParameterError, match="'mean'"):
        xplain.Explainer(_cnn(), modality="image", baseline="mean", mean=mean)
