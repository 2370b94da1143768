"""Trust findings 7, 16 and 20 (images): tensor layout at the model boundary, PIL modes,
empty images and preprocesses that leave torch."""

from __future__ import annotations

import re

import numpy as np
import pytest
import torch

import xplain
from xplain.errors import InvalidInputError, MethodNotApplicableError

IMAGE_METHODS = [
    name
    for name, modalities in zip(
        xplain.available_methods()["name"], xplain.available_methods()["modalities"], strict=True
    )
    if "image" in modalities
]


class FlatCNN(torch.nn.Module):
    """A 1-channel CNN that flattens with ``.view`` (needs standard strides) or ``.reshape``."""

    def __init__(self, flatten: str = "view") -> None:
        super().__init__()
        self.flatten = flatten
        self.conv = torch.nn.Conv2d(1, 2, 3, padding=1)
        self.relu = torch.nn.ReLU()
        self.head = torch.nn.Linear(2 * 6 * 6, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.relu(self.conv(x))
        flat = h.view(h.shape[0], -1) if self.flatten == "view" else h.reshape(h.shape[0], -1)
        return self.head(flat)


@pytest.mark.parametrize("preprocess", [None, lambda x: (x - 0.5) / 0.25], ids=["raw", "pre"])
def test_f07_one_channel_cnn_with_view_gets_standard_layout(preprocess):
    torch.manual_seed(0)
    view_net = FlatCNN("view")
    reshape_net = FlatCNN("reshape")
    reshape_net.load_state_dict(view_net.state_dict())
    image = np.random.default_rng(0).random((6, 6, 1))
    params = {"segmentation": "grid", "segmentation_params": {"rows": 2, "cols": 2}}
    explainers = [
        xplain.Explainer(net, modality="image", preprocess=preprocess, **params)
        for net in (view_net, reshape_net)
    ]
    for method in IMAGE_METHODS:
        got, expected = (ex.explain(image, method=method) for ex in explainers)
        # the same weights give the same numbers, whichever way the model flattens
        np.testing.assert_allclose(got.values, expected.values, rtol=1e-6, atol=1e-9)
        assert np.abs(got.values).sum() > 0, method


def _grey(height: int = 4, width: int = 5) -> np.ndarray:
    return np.random.default_rng(1).random((height, width))


EIGHT_BIT_MODES = {  # mode -> channels of its pixels
    "1": 1, "L": 1, "LA": 4, "P": 3, "PA": 4, "RGB": 3, "RGBA": 4, "RGBX": 3, "RGBa": 4,
    "CMYK": 3, "YCbCr": 3, "LAB": 3, "HSV": 3,
}  # fmt: skip


def test_f16_eight_bit_pil_modes_keep_their_bands():
    from PIL import Image

    grey = (_grey() * 255).astype(np.uint8)
    rgba = Image.fromarray(np.dstack([grey, 255 - grey, grey // 2, np.full_like(grey, 128)]))
    for mode, channels in EIGHT_BIT_MODES.items():
        image = rgba.convert(mode)
        pixels = xplain.adapters.image.to_pixels(image)
        assert pixels.shape == (4, 5, channels), mode
        # the colours Pillow decodes, in [0, 1]; alpha kept where the mode has one
        expected = np.asarray(image.convert({1: "L", 3: "RGB", 4: "RGBA"}[channels])) / 255.0
        np.testing.assert_allclose(pixels, expected.reshape(4, 5, channels), atol=1e-12)
    # a palette with a transparent entry keeps it as alpha
    palette = rgba.convert("RGB").convert("P")
    palette.info["transparency"] = 0
    assert xplain.adapters.image.to_pixels(palette).shape == (4, 5, 4)


@pytest.mark.parametrize(("mode", "dtype"), [("I;16", "<u2"), ("I;16L", "<u2"),
                                             ("I;16B", ">u2"), ("I;16N", "=u2")])  # fmt: skip
def test_f16_sixteen_bit_pil_images_scale_by_65535(mode, dtype):
    from PIL import Image

    values = (_grey() * 65535).astype(np.uint16)
    image = Image.frombytes(mode, (5, 4), values.astype(dtype).tobytes())
    pixels = xplain.adapters.image.to_pixels(image)
    assert pixels.shape == (4, 5, 1)
    np.testing.assert_allclose(pixels[..., 0], values / 65535.0)
    assert len(np.unique(pixels)) == len(np.unique(values))  # not two grey levels


def test_f16_mode_f_image_gives_one_channel_to_a_grey_model():
    from PIL import Image

    grey = _grey(6, 6)
    torch.manual_seed(0)
    net = FlatCNN("reshape")
    ex = xplain.Explainer(net, modality="image")
    from_pil = ex.explain(Image.fromarray(grey.astype(np.float32), mode="F"), method="saliency")
    from_array = ex.explain(grey.astype(np.float32)[..., None], method="saliency")
    np.testing.assert_allclose(from_pil.values, from_array.values)
    assert np.abs(from_pil.values).sum() > 0  # not an all-black image


def test_f16_pil_modes_without_a_known_scale_are_refused():
    from PIL import Image

    with pytest.raises(InvalidInputError, match=r"mode 'F' must hold floats in \[0, 1\]"):
        xplain.adapters.image.to_pixels(Image.fromarray((_grey() * 255).astype(np.float32)))
    with pytest.raises(InvalidInputError, match=r"mode 'I' .* / 65535"):
        xplain.adapters.image.to_pixels(Image.fromarray((_grey() * 4000).astype(np.int32)))
    with pytest.raises(InvalidInputError, match="mode 'La' is not supported.*convert"):
        xplain.adapters.image.to_pixels(Image.new("La", (3, 3)))


@pytest.mark.parametrize("shape", [(0, 0, 3), (0, 5, 3), (5, 0, 1), (0, 0), (1, 0, 4, 3)])
def test_f20_images_without_pixels_are_refused(shape):
    ex = xplain.Explainer(FlatCNN("reshape"), modality="image")
    with pytest.raises(InvalidInputError, match=re.escape(f"no pixels (shape {list(shape)})")):
        ex.explain(np.zeros(shape), method="occlusion")
    with pytest.raises(InvalidInputError, match="no pixels"):
        ex.explain(torch.zeros(1, 0, 3), method="saliency")


@pytest.mark.parametrize(
    "preprocess",
    [lambda x: torch.as_tensor(x.numpy() * 2.0), lambda x: torch.as_tensor(x.detach().numpy())],
    ids=["numpy", "detached"],
)
def test_f20_preprocess_through_numpy_is_refused_by_gradient_methods(preprocess):
    image = _grey(6, 6)[..., None]
    torch.manual_seed(0)
    ex = xplain.Explainer(FlatCNN("reshape"), modality="image", preprocess=preprocess)
    for method in ("saliency", "integrated_gradients", "gradient_shap", "deeplift"):
        with pytest.raises(MethodNotApplicableError, match="preprocess must|torch operations"):
            ex.explain(image, method=method)
    # perturbation methods never differentiate: they still explain the model
    assert np.abs(ex.explain(image, method="occlusion").values).sum() > 0
