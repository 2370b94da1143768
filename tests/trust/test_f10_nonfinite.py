"""Finding 10: NaN or infinite model outputs (or gradients) raise ModelOutputError.

Before, NaN became values, argmax of NaN chose target 0, kernel_shap said ``exact: True``
and IG spent its whole budget. Every model call of every modality is now checked, and
the error says how many inputs and which output columns were not finite, and where.
"""

from __future__ import annotations

import copy
import json

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

import xplain
from xplain.adapters import TabularEncoder
from xplain.errors import ModelOutputError
from xplain.explanation import Explanation

pytestmark = pytest.mark.filterwarnings("ignore:Input Tensor 0 did not already require gradients")


class _NaNBetween(nn.Module):
    """Logits of a linear model, NaN in class 1 where ``low < mean pixel < high``."""

    def __init__(self, low: float, high: float) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.linear = nn.Linear(16, 2).double()
        self.low, self.high = low, high

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.linear(x.flatten(1))
        mean = x.flatten(1).mean(1)
        low = (mean > self.low) & (mean < self.high)  # [N]
        nan = torch.zeros_like(out)
        nan[:, 1] = torch.where(low, torch.nan, 0.0)
        return out + nan


def _image(value: float = 0.8) -> torch.Tensor:
    return torch.full((1, 4, 4), value, dtype=torch.float64)


def test_f10_nan_prediction_is_refused_not_argmaxed():
    ex = xplain.Explainer(_NaNBetween(-1.0, 2.0), modality="image")  # NaN everywhere
    with pytest.raises(ModelOutputError) as info:
        ex.explain(_image(), "saliency")
    message = str(info.value)
    assert "While predicting the instance" in message
    assert "NaN scores for 1 of the 1 input(s)" in message and "column(s) 1" in message


def test_f10_nan_on_the_integration_path_stops_integrated_gradients():
    # finite at the image (mean 0.8) and the black baseline, NaN on the path in between
    ex = xplain.Explainer(_NaNBetween(0.2, 0.6), modality="image")
    with pytest.raises(ModelOutputError, match="While integrated_gradients evaluated") as info:
        ex.explain(_image(), "integrated_gradients")
    # the first batch of path points was refused: 15 Fejer points, 0.8 a each
    alphas = (1 - np.cos(np.arange(1, 16) * np.pi / 16)) / 2
    n_nan = int(((0.8 * alphas > 0.2) & (0.8 * alphas < 0.6)).sum())
    assert f"NaN scores for {n_nan} of the 15 input(s)" in str(info.value)
    assert ex.adapter.n_model_evals <= 2 + 15  # prediction, baseline, one batch: not 1,010


def test_f10_finite_outputs_with_nan_gradient_are_refused():
    torch.manual_seed(0)
    linear = nn.Linear(16, 2).double()

    class Sqrt(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.linear = linear

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.linear(torch.sqrt(x.flatten(1)))  # d sqrt / dx = inf at 0

    image = _image(0.5)
    image[0, 0, 0] = 0.0
    ex = xplain.Explainer(Sqrt(), modality="image")
    with pytest.raises(ModelOutputError, match="saliency computed 1 NaN or infinite"):
        ex.explain(image, "saliency", absolute=False)


def test_f10_kernel_shap_never_reports_exact_on_nan():
    rng = np.random.default_rng(0)
    data = pd.DataFrame(rng.normal(size=(40, 3)), columns=["a", "b", "c"])

    def model(frame: pd.DataFrame) -> np.ndarray:
        out = frame["a"].to_numpy() + 2 * frame["b"].to_numpy()
        return np.where(frame["c"].to_numpy() > 5, np.nan, out)  # NaN for c > 5

    ex = xplain.Explainer(model, data=data)
    row = {"a": 0.1, "b": 0.2, "c": 0.3}
    assert np.isfinite(ex.explain(row, "kernel_shap").values).all()
    with pytest.raises(ModelOutputError) as info:
        ex.explain({"a": 0.1, "b": 0.2, "c": 9.0}, "kernel_shap")
    assert "model function 'model' returned NaN scores for 1 of the 1" in str(info.value)


def test_f10_tabular_torch_model_checked():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(50, 2))
    encoder = TabularEncoder().fit(X)

    class Overflow(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.linear = nn.Linear(encoder.n_outputs, 2).double()

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.linear(x) * torch.exp(1000 * torch.relu(x[:, :1] - 4))  # inf if > 4

    ex = xplain.Explainer(Overflow(), data=X, encoder=encoder)
    with pytest.raises(ModelOutputError, match="Overflow returned infinite scores for 1 of"):
        ex.explain(np.array([50.0, 0.0]), "kernel_shap")


def test_f10_text_model_checked(tiny_bert, minilm_tokenizer):
    model = copy.deepcopy(tiny_bert)
    with torch.no_grad():
        model.classifier.bias[0] = torch.inf
    ex = xplain.Explainer(model, tokenizer=minilm_tokenizer)
    with pytest.raises(ModelOutputError, match="infinite scores for 1 of the 1 input.*column.*0"):
        ex.explain("a fine film", "saliency")


def test_f10_to_dict_is_strict_json():
    e = Explanation(
        features=["a", "b"],
        values=np.array([0.5, -0.25]),
        target=1,
        target_label="1",
        prediction=np.array([0.3, 0.7]),
        labels=["0", "1"],
        method="integrated_gradients",
        params={"n_steps": 16},
        diagnostics={"completeness_gap": np.float64(np.nan), "std_err": np.array([np.inf, 0])},
        n_model_evals=3,
        seconds=0.1,
        modality="tabular",
        output="logits",
    )
    payload = json.loads(json.dumps(e.to_dict(), allow_nan=False))
    assert payload["diagnostics"] == {"completeness_gap": None, "std_err": [None, 0.0]}
    assert payload["values"] == [0.5, -0.25]
    broken = Explanation(**{**e.__dict__, "values": np.array([np.nan, 1.0])})
    with pytest.raises(ModelOutputError, match="values holds 1 NaN"):
        broken.to_dict()
