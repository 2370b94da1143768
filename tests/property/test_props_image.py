"""Properties of image explanations over generated arrays, tensors, models and parameters.

* every call ends in a finite Explanation or a clear XplainError, never a raw exception,
  whatever the image's shape (0-size axes, 2-D, 1 to 5 channels), dtype or values
  (outside [0, 1], NaN), for 1- and 3-channel CNNs that flatten with ``.view``;
* a network that outputs NaN is refused with ModelOutputError;
* the user's tensor or array is unchanged and the model's mode is restored.
"""

from __future__ import annotations

import numpy as np
import torch
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from outcomes import assert_trustworthy, outcome
from torch import nn

import xplain
from xplain import ModelOutputError


class ViewNet(nn.Module):
    """Conv-ReLU-pool to a fixed 2 x 2 grid, flattened with ``.view`` (needs contiguity)."""

    def __init__(self, channels: int, poison: bool = False) -> None:
        super().__init__()
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(channels)
            self.conv = nn.Conv2d(channels, 3, 3, padding=1)
            self.pool = nn.AdaptiveAvgPool2d(2)
            self.head = nn.Linear(12, 3)
        self.poison = poison

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.pool(torch.relu(self.conv(x)))
        out = self.head(h.view(h.shape[0], -1))
        return out * float("nan") if self.poison else out


MODELS = {c: ViewNet(c).double().eval() for c in (1, 3)}
METHODS = {
    "saliency": st.just({}),
    "integrated_gradients": st.fixed_dictionaries({"n_steps": st.integers(0, 16)}),
    "gradient_shap": st.fixed_dictionaries({"n_samples": st.integers(0, 8)}),
    "smoothgrad": st.fixed_dictionaries(
        {"noise_samples": st.integers(1, 4)},
        optional={"noise_std": st.sampled_from([0.0, 0.1, float("inf"), float("nan")])},
    ),
    "grad_cam": st.just({}),
    "occlusion": st.just({}),
    "lime": st.fixed_dictionaries({"num_samples": st.integers(1, 40)}),
    "kernel_shap": st.fixed_dictionaries({"max_evals": st.integers(1, 60)}),
}

shapes = st.one_of(
    st.tuples(st.integers(0, 10), st.integers(0, 10)),
    st.tuples(st.integers(0, 10), st.integers(0, 10), st.integers(1, 5)),
)
dtypes = st.sampled_from([np.uint8, np.uint16, np.float32, np.float64, np.int64, np.bool_])


@st.composite
def arrays(draw) -> np.ndarray:
    """Images as users hand them over: any small shape, dtype and value range."""
    dtype = np.dtype(draw(dtypes))
    if dtype.kind == "f":
        elements = st.floats(-0.5, 1.5, width=32) | st.sampled_from([np.nan, 0.0, 1.0])
    else:
        elements = None
    return draw(hnp.arrays(dtype, draw(shapes), elements=elements))


@given(
    image=arrays(),
    as_tensor=st.booleans(),
    channels=st.sampled_from([1, 3]),
    method=st.sampled_from(sorted(METHODS)),
    data=st.data(),
)
def test_image_result_is_finite_or_an_xplain_error(image, as_tensor, channels, method, data):
    model = MODELS[channels]
    params = data.draw(METHODS[method], label="params")
    instance = torch.as_tensor(np.moveaxis(image, -1, 0).copy()) if (
        as_tensor and image.ndim == 3
    ) else image
    before = instance.clone() if isinstance(instance, torch.Tensor) else instance.copy()
    explainer = xplain.Explainer(model, modality="image", segmentation_params={"n_segments": 4})
    result = outcome(lambda: explainer.explain(instance, method=method, **params))
    assert_trustworthy(result)
    if isinstance(instance, torch.Tensor):
        torch.testing.assert_close(instance, before, rtol=0, atol=0, equal_nan=True)
    else:
        np.testing.assert_array_equal(instance, before)
    assert not model.training


@given(channels=st.sampled_from([1, 3]), method=st.sampled_from(sorted(METHODS)))
def test_image_model_returning_nan_is_refused(channels, method):
    model = ViewNet(channels, poison=True).double().eval()
    image = np.linspace(0, 1, 8 * 8 * channels).reshape(8, 8, channels)
    explainer = xplain.Explainer(model, modality="image")
    result = outcome(lambda: explainer.explain(image, method=method))
    assert isinstance(result, ModelOutputError), result


@given(preprocessed=st.booleans(), method=st.sampled_from(sorted(METHODS)))
def test_single_channel_view_cnn_runs_every_method(preprocessed, method):
    """Finding 7's CNN: 1 channel, ``.view`` after the convolution, with a preprocess."""
    model = MODELS[1]
    image = np.linspace(0, 1, 64).reshape(8, 8)
    extra = {"preprocess": lambda x: (x - 0.5) / 0.25} if preprocessed else {}
    explainer = xplain.Explainer(
        model, modality="image", segmentation_params={"n_segments": 4}, **extra
    )
    result = explainer.explain(image, method=method)
    assert np.isfinite(result.values).all()
