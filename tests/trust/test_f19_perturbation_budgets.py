"""Finding 19 (perturbation methods and metrics): budgets beyond ``xplain.limits`` are
refused up front with ResourceLimitError (no hang, no raw MemoryError), and the arrays
that grow with a budget are built in bounded chunks with the same result."""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.linear_model import LogisticRegression

import xplain
from xplain import metrics
from xplain.errors import ResourceLimitError
from xplain.methods.perturbation import occlusion
from xplain.metrics import _common

SIZE = 16
IMAGE = np.random.default_rng(0).random((SIZE, SIZE, 3))
HUGE = 10**9
# the instance's prediction and the perturbation view's full and empty scores come first
PREPARATION_ROWS = 3
TABULAR_PREPARATION_ROWS = 1 + 5  # the prediction and the 5 background rows' scores


@pytest.fixture(scope="module")
def image_explainer():
    torch.manual_seed(0)
    cnn = torch.nn.Sequential(
        torch.nn.Conv2d(3, 2, 3, padding=1),
        torch.nn.ReLU(),
        torch.nn.Flatten(),
        torch.nn.Linear(2 * SIZE * SIZE, 3),
    ).double()  # float64: batching the model calls differently changes no digit
    return xplain.Explainer(cnn, modality="image")


@pytest.fixture(scope="module")
def tabular():
    """A logistic regression on 24 numeric columns, with 5 background rows."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(rng.normal(size=(80, 24)), columns=[f"c{i}" for i in range(24)])
    model = LogisticRegression().fit(frame, (frame["c0"] + frame["c1"] > 0).astype(int))
    return xplain.Explainer(model, data=frame.iloc[:5]), frame.iloc[10]


def _refused(explainer, call, match, max_rows=PREPARATION_ROWS):
    """``call()`` raises ResourceLimitError quickly, spending at most ``max_rows`` rows."""
    before = explainer.adapter.n_model_evals
    start = time.perf_counter()
    with pytest.raises(ResourceLimitError, match=match):
        call()
    # refused up front: the old code ran for minutes (or died of MemoryError); 10 s leaves
    # room for a loaded CI machine
    assert time.perf_counter() - start < 10.0
    assert explainer.adapter.n_model_evals - before <= max_rows


# -- perturbation methods -------------------------------------------------------------------
def test_f19_lime_num_samples_on_images(image_explainer):
    _refused(
        image_explainer,
        lambda: image_explainer.explain(IMAGE, "lime", num_samples=HUGE),
        r"lime would evaluate .* model rows.*lower num_samples",
    )


def test_f19_lime_num_samples_on_text(small_text_explainer):
    text = " ".join(["word"] * 40)  # 2^40 distinct masks: the budget is the bound
    _refused(
        small_text_explainer,
        lambda: small_text_explainer.explain(text, "lime", num_samples=HUGE),
        "lower num_samples",
    )


def test_f19_lime_num_samples_on_tabular_neighbourhoods(tabular):
    explainer, row = tabular
    _refused(
        explainer,
        lambda: explainer.explain(row, "lime", num_samples=HUGE),
        "lime would evaluate 1,000,000,000 model rows",
        TABULAR_PREPARATION_ROWS,
    )


def test_f19_lime_design_matrix_memory(image_explainer):
    # few rows allowed in memory: 200,000 samples x 34 segments x 9 bytes is 58 MiB
    with xplain.limits.override(max_memory_bytes=2**20):
        _refused(
            image_explainer,
            lambda: image_explainer.explain(IMAGE, "lime", num_samples=200_000),
            r"lime would hold .* MiB at once.*lower num_samples",
        )


def test_f19_kernel_shap_max_evals_on_images(image_explainer):
    _refused(
        image_explainer,
        lambda: image_explainer.explain(IMAGE, "kernel_shap", max_evals=HUGE),
        r"kernel_shap would evaluate 1,000,000,000 model rows.*lower max_evals",
    )


def test_f19_kernel_shap_max_evals_on_text(small_text_explainer):
    text = " ".join(["word"] * 40)
    _refused(
        small_text_explainer,
        lambda: small_text_explainer.explain(text, "kernel_shap", max_evals=HUGE),
        "lower max_evals",
    )


def test_f19_kernel_shap_max_evals_over_baseline_games(tabular):
    explainer, row = tabular
    _refused(
        explainer,
        lambda: explainer.explain(row, "kernel_shap", max_evals=HUGE),
        "kernel_shap would evaluate",
        TABULAR_PREPARATION_ROWS,
    )


def test_f19_exact_shapley_on_too_many_features(tabular):
    explainer, row = tabular  # 24 columns: 2^24 coalitions x 5 background rows
    _refused(
        explainer,
        lambda: explainer.explain(row, "exact_shapley", max_features=24),
        r"exact_shapley would evaluate 83,886,070 model rows.*kernel_shap",
        TABULAR_PREPARATION_ROWS,
    )


def test_f19_occlusion_windows(image_explainer):
    with xplain.limits.override(max_model_rows=10):  # 34 segments: 34 windows
        _refused(
            image_explainer,
            lambda: image_explainer.explain(IMAGE, "occlusion"),
            "occlusion would evaluate 34 model rows.*raise stride",
        )


def test_f19_occlusion_in_chunks_gives_the_same_values(image_explainer, monkeypatch):
    whole = image_explainer.explain(IMAGE, "occlusion", window=3, stride=2)
    monkeypatch.setattr(occlusion, "MASK_BYTES", 2 * 34)  # two windows at a time
    chunked = image_explainer.explain(IMAGE, "occlusion", window=3, stride=2)
    np.testing.assert_allclose(chunked.values, whole.values, rtol=1e-12, atol=1e-15)
    assert chunked.diagnostics["n_windows"] == whole.diagnostics["n_windows"] == 17


# -- metrics ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def explained(image_explainer):
    return image_explainer.explain(IMAGE, "saliency")


@pytest.mark.parametrize(
    ("metric", "params", "fix"),
    [
        (metrics.faithfulness_correlation, {"n_subsets": HUGE}, "lower n_subsets"),
        (metrics.infidelity, {"n_perturbations": HUGE}, "lower n_perturbations"),
        (metrics.max_sensitivity, {"n_samples": HUGE}, "lower n_samples"),
    ],
    ids=lambda v: getattr(v, "__name__", "") or None,
)
def test_f19_metric_budgets_are_refused_before_any_model_call(
    image_explainer, explained, metric, params, fix
):
    _refused(image_explainer, lambda: metric(image_explainer, explained, **params), fix, 0)


@pytest.mark.parametrize(
    ("metric", "params", "fix", "ceiling"),
    [
        (metrics.deletion_auc, {}, "pass a smaller n_steps", 15),  # 35 steps
        (metrics.insertion_auc, {"n_steps": 20}, "pass a smaller n_steps", 15),
        (metrics.comprehensiveness, {"fractions": tuple(np.linspace(0.1, 1, 20))}, "fewer", 15),
        (metrics.faithfulness_correlation, {"n_subsets": 20}, "lower n_subsets", 15),
        (metrics.infidelity, {"n_perturbations": 20}, "lower n_perturbations", 15),
        (metrics.max_sensitivity, {}, "lower n_samples", 15),  # 10 re-explanations
        (metrics.model_parameter_randomisation, {}, "randomise fewer layers", 1),  # 2 layers
    ],
    ids=lambda v: getattr(v, "__name__", "") or None,
)
def test_f19_metric_budgets_follow_the_configured_ceiling(
    image_explainer, explained, metric, params, fix, ceiling
):
    with xplain.limits.override(max_model_rows=ceiling):
        _refused(image_explainer, lambda: metric(image_explainer, explained, **params), fix)
    metric(image_explainer, explained, **params)  # within the default ceiling: it runs


def test_f19_metrics_in_chunks_draw_and_score_the_same(image_explainer, explained, monkeypatch):
    functions = {
        "correlation": lambda: metrics.faithfulness_correlation(
            image_explainer, explained, n_subsets=30
        ),
        "infidelity": lambda: metrics.infidelity(image_explainer, explained, n_perturbations=30),
        "deletion": lambda: metrics.deletion_curve(image_explainer, explained).to_numpy(),
    }
    whole = {name: f() for name, f in functions.items()}
    monkeypatch.setattr(_common, "CHUNK_BYTES", 1)  # one row per chunk
    for name, f in functions.items():
        np.testing.assert_allclose(f(), whole[name], rtol=1e-12, err_msg=name)
