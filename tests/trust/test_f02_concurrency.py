"""Finding 2: concurrent explanations of one model give exactly the serial results.

Hooks installed by one call (DeepLIFT's rescale rule, guided ReLUs, Grad-CAM's recorder)
act only on that call's own forward passes; ``n_model_evals`` counts only the rows of
the call's own thread; one-time adapter caches are built once and charged to no call.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from torch import nn

import xplain
from xplain.methods.gradient._guided import guided_relus
from xplain.methods.gradient._rescale import RescaleHooks

N_THREADS = 4
IMAGES = [np.random.default_rng(i).random((8, 8, 3)) for i in range(3)]
# (method, params): every hook-installing gradient method, and a sampling one
IMAGE_RUNS: list[tuple[str, dict[str, Any]]] = [
    ("saliency", {}),
    ("integrated_gradients", {"n_steps": 8}),
    ("deeplift", {}),
    ("guided_backprop", {}),
    ("grad_cam", {}),
    ("lime", {"num_samples": 30, "seed": 1}),
]


def cnn(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(3, 4, 3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),
        nn.Conv2d(4, 6, 3, padding=1),
        nn.ReLU(),
        nn.Flatten(),
        nn.Linear(6 * 4 * 4, 3),
    ).double()


def in_threads(jobs: list[Callable[[], Any]]) -> list[Any]:
    """Run ``jobs`` on N_THREADS threads, all released at once; results in job order."""
    start = threading.Barrier(N_THREADS)

    def run(chunk: list[tuple[int, Callable[[], Any]]]) -> list[tuple[int, Any]]:
        start.wait()
        return [(i, job()) for i, job in chunk]

    chunks = [list(enumerate(jobs))[k::N_THREADS] for k in range(N_THREADS)]
    with ThreadPoolExecutor(N_THREADS) as pool:
        done = [pair for part in pool.map(run, chunks) for pair in part]
    return [result for _, result in sorted(done, key=lambda pair: pair[0])]


def assert_same(got: xplain.Explanation, expected: xplain.Explanation) -> None:
    assert got.method == expected.method
    np.testing.assert_array_equal(got.values, expected.values)
    np.testing.assert_array_equal(got.prediction, expected.prediction)
    assert got.n_model_evals == expected.n_model_evals, got.method
    np.testing.assert_equal(got.diagnostics, expected.diagnostics)


def test_f02_hooks_act_only_for_the_installing_thread():
    model = cnn()
    x = torch.as_tensor(np.stack([i.transpose(2, 0, 1) for i in IMAGES[:2]]))  # [2, 3, 8, 8]

    def gradient() -> torch.Tensor:  # another call's plain gradient of class 0
        points = x.clone().requires_grad_(True)
        (grad,) = torch.autograd.grad(model(points)[:, 0].sum(), points)
        return grad

    def elsewhere() -> torch.Tensor:
        with ThreadPoolExecutor(1) as pool:
            return pool.submit(gradient).result()

    plain = gradient()
    with RescaleHooks(model, 1e-10) as hooks:
        hooks.rows = 2  # a 2-row forward would be paired and rescaled in this thread
        seen = elsewhere()
        assert hooks.rescaled == hooks.skipped == 0
        assert all(stash == [] for stash in hooks._stash.values())
    torch.testing.assert_close(seen, plain, rtol=0, atol=0)
    with guided_relus(model, "guided_backprop") as called:
        seen = elsewhere()
        assert called == set()
        assert not torch.equal(gradient(), plain)  # this thread's own forward is guided
    torch.testing.assert_close(seen, plain, rtol=0, atol=0)


def test_f02_mixed_methods_on_one_explainer_equal_serial():
    explainer = xplain.Explainer(cnn(), modality="image")
    jobs = [
        (lambda m=m, p=p, img=img: explainer.explain(img, m, **p))
        for _ in range(2)
        for m, p in IMAGE_RUNS
        for img in IMAGES
    ]
    serial = [job() for job in jobs]
    for _ in range(2):
        for got, expected in zip(in_threads(jobs), serial, strict=True):
            assert_same(got, expected)


def test_f02_explainers_sharing_one_model_and_compare_and_batch():
    model = cnn(1)
    first = xplain.Explainer(model, modality="image")
    second = xplain.Explainer(model, modality="image", baseline="blurred")
    methods = ["saliency", "deeplift", "guided_backprop", "guided_grad_cam"]
    jobs: list[Callable[[], Any]] = []
    for img in IMAGES:
        jobs.append(lambda img=img: first.compare(img, methods=methods).explanations)
        jobs.append(lambda img=img: second.compare(img, methods=methods).explanations)
        jobs.append(lambda img=img: {"b": first.explain_batch([img, img[::-1]], "deeplift")})
        jobs.append(lambda img=img: {"g": second.explain(img, "guided_backprop")})
    serial = [job() for job in jobs]
    for got, expected in zip(in_threads(jobs), serial, strict=True):
        assert got.keys() == expected.keys()
        for key in got:
            pairs = (
                zip(got[key], expected[key], strict=True)
                if isinstance(got[key], xplain.Explanations)
                else [(got[key], expected[key])]
            )
            for a, b in pairs:
                assert_same(a, b)


def test_f02_text_explainer_under_threads(tiny_bert, minilm_tokenizer):
    explainer = xplain.Explainer(tiny_bert, tokenizer=minilm_tokenizer)
    texts = ["a gripping film", "dull, slow and far too long", "not bad at all"]
    runs = [
        ("saliency", {}),
        ("integrated_gradients", {"n_steps": 4}),
        ("deeplift", {}),
        ("lime", {"num_samples": 20, "seed": 0}),
    ]
    jobs = [
        (lambda m=m, p=p, t=t: explainer.explain(t, m, **p)) for m, p in runs for t in texts
    ]
    serial = [job() for job in jobs]
    for got, expected in zip(in_threads(jobs), serial, strict=True):
        assert_same(got, expected)


@pytest.fixture(scope="module")
def pipeline_and_data() -> tuple[Pipeline, pd.DataFrame]:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "age": rng.integers(18, 80, 200).astype(float),
            "hours": rng.normal(40, 10, 200),
            "job": rng.choice(["a", "b", "c"], 200),
            "city": rng.choice(["x", "y"], 200),
        }
    )
    y = (frame["age"] / 40 + (frame["job"] == "b") + rng.normal(0, 0.3, 200) > 1.5).astype(int)
    encode = ColumnTransformer(
        [("cat", OneHotEncoder(), ["job", "city"]), ("num", StandardScaler(), ["age", "hours"])]
    )
    return Pipeline([("encode", encode), ("lr", LogisticRegression())]).fit(frame, y), frame


def test_f02_tabular_pipeline_fresh_explainers_count_as_serial(pipeline_and_data):
    model, frame = pipeline_and_data
    rows = [frame.iloc[i] for i in range(4)]
    runs = [
        ("kernel_shap", {"max_evals": 64, "seed": 0}),
        ("lime", {"num_samples": 50, "seed": 0}),
        ("exact_shapley", {}),
    ]

    def jobs_of(explainer: xplain.Explainer) -> list[Callable[[], Any]]:
        jobs = [
            (lambda m=m, p=p, r=r: [explainer.explain(r, m, **p)]) for m, p in runs for r in rows
        ]
        # kernel_shap explains a batch in one pass (Method.batched), its cost shared out
        batch = frame.iloc[4:7]
        return [*jobs, lambda: explainer.explain_batch(batch, "kernel_shap", max_evals=64)]

    serial_explainer = xplain.Explainer(model, data=frame, background_size=8)
    serial = [job() for job in jobs_of(serial_explainer)]
    # a fresh explainer: its lazily built caches (model space, background scores) are
    # built by whichever thread comes first, and must be charged to no explanation
    threaded_explainer = xplain.Explainer(model, data=frame, background_size=8)
    for got, expected in zip(in_threads(jobs_of(threaded_explainer)), serial, strict=True):
        for a, b in zip(got, expected, strict=True):
            assert_same(a, b)
    # the running total counts every row once: the caches were built once
    assert threaded_explainer.adapter.n_model_evals == serial_explainer.adapter.n_model_evals
    # and an explanation's count does not depend on what ran before it
    again = serial_explainer.explain(rows[0], "kernel_shap", max_evals=64, seed=0)
    assert again.n_model_evals == serial[0][0].n_model_evals
