"""The example time-series adapter (examples/timeseries_adapter.py), written only against
the public API, gets the gradient and perturbation methods, the metrics and HTML reports."""

from __future__ import annotations

import dataclasses
import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import xplain
from xplain import metrics
from xplain.errors import MethodNotApplicableError
from xplain.registry import get_method
from xplain.report import BatchReport
from xplain.testing import check_method

T, F = 6, 2
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "timeseries_adapter.py"


def _load_example():
    spec = importlib.util.spec_from_file_location("timeseries_adapter", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    sys.modules["timeseries_adapter"] = module
    spec.loader.exec_module(module)
    return module


ts = _load_example()


class LinearSeries(torch.nn.Module):
    """logits[c] = sum_{t, f} W[c, t, f] x[t, f]: every attribution is known in closed form."""

    def __init__(self) -> None:
        super().__init__()
        self.weight = torch.nn.Parameter(
            torch.linspace(-1.0, 2.0, 2 * T * F, dtype=torch.float64).reshape(2, T, F)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.einsum("btf,ctf->bc", x, self.weight)


class ConvSeries(torch.nn.Module):
    """A small 1-D CNN over [B, T, F]."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.conv = torch.nn.Conv1d(F, 4, 3, padding=1)
        self.out = torch.nn.Linear(4, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.out(torch.relu(self.conv(x.transpose(1, 2))).mean(-1))


SERIES = np.random.default_rng(0).normal(size=(T, F))


@pytest.fixture(scope="module")
def linear() -> tuple[xplain.Explainer, LinearSeries]:
    model = LinearSeries()
    return xplain.Explainer(model, adapter=ts.SeriesAdapter(model, labels=["calm", "spike"])), model


@pytest.fixture(scope="module")
def conv() -> xplain.Explainer:
    model = ConvSeries().double()
    return xplain.Explainer(model, adapter=ts.SeriesAdapter(model, baseline="mean"))


def exact(model: LinearSeries, target: int) -> np.ndarray:
    """Per-step attributions of the linear model against the zero baseline."""
    return (SERIES * model.weight[target].detach().numpy()).sum(-1)  # [T]


def test_the_adapter_claims_its_methods_and_refuses_image_ones(conv):
    assert set(ts.CLAIMED) <= set(conv.applicable_methods())
    assert "grad_cam" not in conv.applicable_methods()
    with pytest.raises(MethodNotApplicableError, match="grad_cam.*image"):
        conv.explain(SERIES, method="grad_cam")


@pytest.mark.parametrize("method", ["input_x_gradient", "integrated_gradients", "occlusion",
                                    "kernel_shap", "exact_shapley"])
def test_exact_methods_give_the_closed_form_on_a_linear_series_model(linear, method):
    explainer, model = linear
    e = explainer.explain(SERIES, method=method, target=1)
    assert e.features == [f"t{t}" for t in range(T)] and e.modality == "timeseries"
    np.testing.assert_allclose(e.values, exact(model, 1), atol=1e-6)


def test_saliency_and_lime_rank_the_steps_like_the_truth(linear):
    explainer, model = linear
    weights = model.weight[1].detach().numpy()
    saliency = explainer.explain(SERIES, method="saliency", target=1)
    np.testing.assert_allclose(saliency.values, np.abs(weights).sum(-1), atol=1e-9)
    lime = explainer.explain(SERIES, method="lime", target=1, seed=0)
    truth = exact(model, 1)
    assert np.corrcoef(lime.values, truth)[0, 1] > 0.95


def test_occlusion_on_the_cnn_is_the_score_drop_of_each_step_masked_to_the_mean(conv):
    e = conv.explain(SERIES, method="occlusion")
    model, x = conv.adapter.model, torch.as_tensor(SERIES[None])
    with torch.no_grad():
        full = model(x)[0, e.target]
        drops = []
        for t in range(T):
            masked = x.clone()
            masked[0, t] = x[0].mean(0)  # baseline="mean": each channel's mean
            drops.append(float(full - model(masked)[0, e.target]))
    np.testing.assert_allclose(e.values, drops, atol=1e-9)


def test_metrics_prefer_the_true_order_to_its_reverse(linear):
    explainer, _ = linear
    good = explainer.explain(SERIES, method="occlusion", target=1)
    bad = dataclasses.replace(good, values=-good.values)
    assert metrics.deletion_auc(explainer, good) < metrics.deletion_auc(explainer, bad)
    assert metrics.insertion_auc(explainer, good) > metrics.insertion_auc(explainer, bad)
    assert metrics.comprehensiveness(explainer, good) > metrics.comprehensiveness(explainer, bad)
    assert metrics.sufficiency(explainer, good) < metrics.sufficiency(explainer, bad)
    assert metrics.max_sensitivity(explainer, good, n_samples=3) >= 0


def test_compare_evaluate_and_reports_render_with_its_display(conv, tmp_path):
    c = conv.compare(SERIES, methods=list(ts.CLAIMED), metrics=["deletion_auc"])
    assert np.isfinite(c.evaluation["deletion_auc"]).all()
    before = conv.adapter.n_model_evals
    html = c.explanations["occlusion"].to_html()
    c.save_html(tmp_path / "c.html")
    c._repr_html_()
    assert conv.adapter.n_model_evals == before  # displaying calls no model
    # its own display kind, drawn by the renderer the example registered: one cell per step
    assert '<svg class="series"' in html and html.count("<rect") == T
    assert 'class="bars"' not in html
    batch = BatchReport(conv.explain_batch([SERIES, 2 * SERIES], method="saliency")).to_html()
    assert "Global importance" in batch and "t0" in batch


def test_the_display_round_trips_as_plain_data(conv):
    e = conv.explain(SERIES, method="saliency")
    assert e.display.kind == "series" and e.display.options == {"channels": F}
    restored = xplain.Explanation.from_dict(e.to_dict())
    assert restored == e and restored.display == e.display
    assert '<svg class="series"' in restored.to_html()


@pytest.mark.parametrize("method", ts.CLAIMED)
def test_every_claimed_method_passes_check_method(method):
    report = check_method(get_method(method))  # raises MethodCheckError on a failure
    assert report["known truth"].startswith("passed")  # on check_method's known-truth models
