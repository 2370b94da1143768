"""ImageAdapter: input formats and errors, channel aggregation, baselines, the segment view."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from scipy.ndimage import gaussian_filter
from torch import nn

import xplain
from xplain.adapters.image import ImageAdapter, to_pixels
from xplain.errors import InvalidInputError, InvalidParameterError
from xplain.views import Groups, InterpretableView

SIDE = 16


def make_cnn(channels: int = 3, seed: int = 0) -> nn.Sequential:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = nn.Sequential(
            nn.Conv2d(channels, 4, 3, padding=1),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d(2),
            nn.Flatten(),
            nn.Linear(16, 3),
        )
    return model.double().eval()


def rgb_uint8(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (SIDE, SIDE, 3), dtype=np.uint8)


def prepared(adapter: ImageAdapter, image):
    encoded = adapter.encode(image)
    adapter.predict(encoded)
    return encoded


# -- instances ---------------------------------------------------------------------------
def test_every_input_format_gives_the_same_pixels():
    array = rgb_uint8()
    expected = array / 255.0
    chw = torch.as_tensor(expected).permute(2, 0, 1)
    for image in (array, expected, chw, chw[None], expected[None], Image.fromarray(array)):
        np.testing.assert_allclose(to_pixels(image), expected)
    grey = expected[..., 0]
    for image in (grey, torch.as_tensor(grey), Image.fromarray(array[..., 0])):
        np.testing.assert_allclose(to_pixels(image), grey[..., None])
    assert to_pixels(torch.zeros(4, 5, 6, dtype=torch.uint8)).shape == (5, 6, 4)  # RGBA


@pytest.mark.parametrize(
    ("image", "message"),
    [
        (torch.rand(SIDE, SIDE, 3), r"shape \[16, 16, 3\].*channels-last.*permute\(2, 0, 1\)"),
        (np.random.rand(3, SIDE, SIDE), r"shape \[3, 16, 16\].*channels-first.*np\.transpose"),
        (torch.rand(2, 3, SIDE, SIDE), r"batch of 2 images.*explain_batch"),
        (torch.rand(1, 1, 3, SIDE, SIDE), r"\[C, H, W\] or \[1, C, H, W\].*\[1, 1, 3, 16, 16\]"),
        (torch.rand(2, SIDE, SIDE), r"C in \{1, 3, 4\}.*\[2, 16, 16\]"),
        (np.full((SIDE, SIDE, 3), np.nan), r"non-finite"),
        (np.full((SIDE, SIDE, 3), 2.5), r"\[0, 1\].*\[2.5, 2.5\].*preprocess"),
        (np.full((SIDE, SIDE), 300), r"0\.\.255"),
        ("cat.png", r"torch.Tensor \[C, H, W\].*Got str"),
    ],
)
def test_malformed_images_are_explained(image, message):
    with pytest.raises(InvalidInputError, match=message):
        ImageAdapter(make_cnn()).encode(image)


def test_a_model_that_rejects_the_image_gets_a_clear_error():
    adapter = ImageAdapter(make_cnn(channels=1))
    with pytest.raises(InvalidInputError, match=r"\[1, 3, 16, 16\].*channels the model expects"):
        adapter.predict(adapter.encode(rgb_uint8()))


def test_features_prediction_and_preprocess():
    model = make_cnn()
    adapter = ImageAdapter(model, preprocess=lambda x: (x - 0.5) / 0.25, labels=["a", "b", "c"])
    encoded = adapter.encode(rgb_uint8())
    assert encoded.features[:3] == ["(0, 0)", "(0, 1)", "(0, 2)"]
    assert encoded.features[SIDE] == "(1, 0)" and len(encoded.features) == SIDE * SIDE
    probabilities = adapter.predict(encoded)
    x = torch.as_tensor(rgb_uint8() / 255.0).permute(2, 0, 1)[None]
    expected = torch.softmax(model((x - 0.5) / 0.25), -1)[0].detach().numpy()
    np.testing.assert_allclose(probabilities, expected, rtol=1e-12)
    assert encoded.data["pixels"].dtype == torch.float64  # the model's dtype
    assert adapter.labels == ["a", "b", "c"]


# -- gradient view -------------------------------------------------------------------------
def test_channel_aggregations_equal_hand_computed_reductions():
    attr = torch.randn(3, 4, 5, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    a = attr.numpy()
    # at each pixel, the channel value of largest magnitude, sign kept
    signed_max = np.array([[max(a[:, i, j], key=abs) for j in range(5)] for i in range(4)])
    expected = {"sum": a.sum(0), "l2": np.sqrt((a**2).sum(0)), "max_abs": signed_max}
    for rule, values in expected.items():
        adapter = ImageAdapter(make_cnn(), channel_aggregation=rule)
        np.testing.assert_allclose(adapter.aggregate(attr), values.reshape(-1))
    # on absolute gradients (saliency) max_abs is Simonyan et al.'s max_c |w_c|
    adapter = ImageAdapter(make_cnn())
    np.testing.assert_allclose(adapter.aggregate(attr.abs()), np.abs(a).max(0).reshape(-1))


def test_gradient_view_forward_baseline_and_module():
    model = make_cnn()
    adapter = ImageAdapter(model, preprocess=lambda x: x * 2 - 1)
    encoded = prepared(adapter, rgb_uint8())
    view = adapter.differentiable_view(encoded, "logits")
    assert view.inputs.shape == (1, 3, SIDE, SIDE) and view.module is model
    torch.testing.assert_close(view.forward(view.inputs), model(view.inputs * 2 - 1))
    torch.testing.assert_close(view.scores, model(view.inputs * 2 - 1)[0].detach())
    assert torch.all(view.baseline == 0)


def test_baselines():
    image = rgb_uint8()
    pixels = image / 255.0

    def baseline(**params) -> np.ndarray:
        encoded = ImageAdapter(make_cnn(), **params).encode(image)
        return encoded.data["baseline"][0].permute(1, 2, 0).numpy()

    assert np.all(baseline() == 0)
    blurred = gaussian_filter(pixels, sigma=(1.6, 1.6, 0), mode="nearest")  # side / 10
    np.testing.assert_allclose(baseline(baseline="blurred"), blurred)
    np.testing.assert_allclose(
        baseline(baseline="blurred", blur_sigma=3.0),
        gaussian_filter(pixels, sigma=(3, 3, 0), mode="nearest"),
    )
    mean = (0.485, 0.456, 0.406)
    np.testing.assert_allclose(
        baseline(baseline="mean", mean=mean), np.broadcast_to(mean, (16, 16, 3))
    )
    np.testing.assert_allclose(baseline(baseline="mean", mean=0.5), 0.5)
    noise = baseline(baseline="uniform", seed=3)
    np.testing.assert_array_equal(noise, baseline(baseline="uniform", seed=3))
    assert not np.array_equal(noise, baseline(baseline="uniform", seed=4))
    assert noise.min() >= 0 and noise.max() <= 1 and noise.std() > 0.2


def test_bad_adapter_parameters():
    with pytest.raises(InvalidParameterError, match="'mean'.*baseline='mean'"):
        ImageAdapter(make_cnn(), baseline="mean")
    with pytest.raises(InvalidParameterError, match="'mean'.*baseline='mean'"):
        ImageAdapter(make_cnn(), mean=0.5)
    with pytest.raises(InvalidParameterError, match="'mean'.*1 or 3 values"):
        ImageAdapter(make_cnn(), baseline="mean", mean=(0.1, 0.2)).encode(rgb_uint8())
    with pytest.raises(InvalidParameterError, match="'channel_aggregation'.*'max_abs'"):
        ImageAdapter(make_cnn(), channel_aggregation="mean")
    with pytest.raises(InvalidParameterError, match="'segmentation'"):
        ImageAdapter(make_cnn(), segmentation="watershed")
    adapter = ImageAdapter(make_cnn(), segmentation_params={"n_segmentz": 4})
    encoded = prepared(adapter, rgb_uint8())
    with pytest.raises(InvalidParameterError, match="skimage.segmentation.slic"):
        adapter.interpretable_view(encoded, "logits")


# -- perturbation view ---------------------------------------------------------------------
@pytest.mark.parametrize(
    "params",
    [
        {},
        {"baseline": "blurred"},
        {"baseline": "mean", "mean": 0.3},
        {"baseline": "uniform", "seed": 1},
    ],
)
def test_all_present_is_the_image_and_all_absent_the_baseline(params):
    model = make_cnn()
    adapter = ImageAdapter(model, **params)
    encoded = prepared(adapter, rgb_uint8())
    view = adapter.interpretable_view(encoded, "logits")
    d = view.n_features
    scores = view.evaluate(np.array([np.ones(d, bool), np.zeros(d, bool)]))
    with torch.no_grad():
        np.testing.assert_allclose(scores[0], model(encoded.data["pixels"])[0].numpy())
        np.testing.assert_allclose(scores[1], model(encoded.data["baseline"])[0].numpy())
    np.testing.assert_allclose(view.scores, scores[0])
    np.testing.assert_allclose(view.base_scores, scores[1])


def test_a_removed_segment_shows_the_baseline_and_batches_agree():
    model = make_cnn()
    adapter = ImageAdapter(model, segmentation="grid", segmentation_params={"rows": 2, "cols": 2})
    encoded = prepared(adapter, rgb_uint8())
    view = adapter.interpretable_view(encoded, "probability")
    assert view.n_features == 4 and view.n_total == SIDE * SIDE
    mask = np.array([[True, False, False, True]])
    composed = encoded.data["pixels"].clone()
    composed[..., :8, 8:] = 0  # segment 1: top right -> black
    composed[..., 8:, :8] = 0  # segment 2: bottom left
    with torch.no_grad():
        expected = torch.softmax(model(composed), -1)[0].numpy()
    np.testing.assert_allclose(view.evaluate(mask)[0], expected)
    masks = np.random.default_rng(0).random((9, 4)) < 0.5
    small = ImageAdapter(
        model, segmentation="grid", segmentation_params={"rows": 2, "cols": 2}, batch_size=2
    )
    small_view = small.interpretable_view(prepared(small, rgb_uint8()), "probability")
    np.testing.assert_allclose(small_view.evaluate(masks), view.evaluate(masks))


def test_segment_values_spread_over_their_pixels_and_back():
    segments = np.array([0, 0, 1, 2, 2, 2])
    view = InterpretableView(
        n_features=3,
        evaluate=lambda m: m,
        scores=np.zeros(1),
        base_scores=np.zeros(1),
        feature_map=Groups(segments, 3),
    )
    values = np.array([2.0, -1.0, 3.0])
    np.testing.assert_allclose(view.to_features(values), [1, 1, -1, 1, 1, 1])
    np.testing.assert_allclose(view.from_features(view.to_features(values)), values)


@pytest.mark.parametrize("method", ["slic", "felzenszwalb", "quickshift", "grid"])
def test_segmentations_label_every_pixel_contiguously(method):
    adapter = ImageAdapter(make_cnn(), segmentation=method)
    view = adapter.interpretable_view(prepared(adapter, rgb_uint8()), "logits")
    segments = view.feature_map.groups
    labels = np.unique(segments)
    np.testing.assert_array_equal(labels, np.arange(view.n_features))
    assert segments.shape == (SIDE * SIDE,) and 1 <= view.n_features <= SIDE * SIDE
    if method == "grid":  # 8 x 8 cells of 2 x 2 pixels
        grid = segments.reshape(SIDE, SIDE)
        assert view.n_features == 64 and grid[0, 1] == grid[1, 0] == grid[1, 1] == grid[0, 0]


# -- end to end ----------------------------------------------------------------------------
def test_occlusion_of_superpixels_gives_per_pixel_densities():
    model = make_cnn()
    explainer = xplain.Explainer(
        model, modality="image", segmentation="grid", segmentation_params={"rows": 4, "cols": 4}
    )
    image = rgb_uint8()
    e = explainer.explain(image, "occlusion")
    assert e.image_shape == (SIDE, SIDE) and len(e.features) == SIDE * SIDE
    values = e.values.reshape(SIDE, SIDE)
    pixels = torch.as_tensor(image / 255.0).permute(2, 0, 1)[None]
    with torch.no_grad():
        full = model(pixels)[0, e.target]
        for r, c in [(0, 0), (1, 2), (3, 3)]:
            hidden = pixels.clone()
            hidden[..., 4 * r : 4 * r + 4, 4 * c : 4 * c + 4] = 0
            drop = float(full - model(hidden)[0, e.target])
            cell = values[4 * r : 4 * r + 4, 4 * c : 4 * c + 4]
            np.testing.assert_allclose(cell, drop / 16)  # spread evenly: sums to the drop
    frame = e.to_frame()
    assert list(frame["feature"][:2]) == ["(0, 0)", "(0, 1)"]
    assert e.to_dict()["image_shape"] == [SIDE, SIDE]


def test_image_explanations_render_as_inline_pngs():
    explainer = xplain.Explainer(make_cnn(), modality="image", labels=["<b>cat</b>", "dog", "owl"])
    e = explainer.explain(rgb_uint8(), "saliency", target=0)
    html = e.to_html()
    assert html.count('src="data:image/png;base64,') == 2
    assert "<script" not in html and "http" not in html.replace("http-equiv", "")
    assert "&lt;b&gt;cat&lt;/b&gt;" in html and "<b>cat</b>" not in html
    assert '<table class="bars">' not in html  # no per-pixel bar table
