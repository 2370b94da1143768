"""Fixtures of the report tests: explanations carrying hostile strings, and a headless Chromium.

Every fixture that builds data smuggles in markup: a token ``<script>alert(1)</script>``, a
column ``<img src=x onerror=alert(1)>``, class labels, method names, parameters and
diagnostics that would set ``window.__xss`` or open a dialog if they ever ran.

The browser is Debian's ``/usr/bin/chromium`` driven by Playwright for Python (never a
downloaded browser). When chromium is missing and we are root, ``scripts/ensure_chromium.sh``
installs it with apt-get; otherwise the browser tests are skipped with the reason.
"""

from __future__ import annotations

import copy
import dataclasses
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
from report_payloads import ATTRIBUTE, COLUMN, LABEL, TOKEN
from torch import nn

import xplain
from xplain.comparison import Comparison
from xplain.explanation import Explanation

TEXT = "a gripping , funny and heartfelt film ."
TEXT_METHODS = ["saliency", "input_x_gradient", "integrated_gradients", "occlusion"]
TABULAR_METHODS = ["occlusion", "kernel_shap", "lime", "exact_shapley"]
IMAGE_METHODS = ["saliency", "integrated_gradients", "grad_cam", "occlusion"]

ROOT = Path(__file__).resolve().parents[2]
ENSURE_CHROMIUM = ROOT / "scripts" / "ensure_chromium.sh"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def hostile(e: Explanation, position: int = 2) -> Explanation:
    """``e`` with the script token at ``position`` and markup in its parameters/diagnostics."""
    features = list(e.features)
    if e.modality == "text":
        features[position] = TOKEN
    return dataclasses.replace(
        e,
        features=features,
        params={**e.params, ATTRIBUTE: LABEL},
        diagnostics={**e.diagnostics, "note": ATTRIBUTE, LABEL: 1.5},
    )


# -- text ------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def text_explainer(tiny_bert, minilm_tokenizer) -> xplain.Explainer:
    model = copy.deepcopy(tiny_bert)
    model.config.id2label = {0: COLUMN, 1: LABEL}
    model.config.label2id = {COLUMN: 0, LABEL: 1}
    return xplain.Explainer(model, tokenizer=minilm_tokenizer)


@pytest.fixture(scope="session")
def text_comparison(text_explainer) -> Comparison:
    return text_explainer.compare(
        TEXT,
        methods=TEXT_METHODS,
        params={"integrated_gradients": {"n_steps": 8}},
        metrics=["deletion_auc", "insertion_auc", "completeness_gap"],
    )


@pytest.fixture(scope="session")
def hostile_text_comparison(text_comparison) -> Comparison:
    """The text comparison with the script token, one method named by markup, no metrics."""
    explanations = {name: hostile(e) for name, e in text_comparison.explanations.items()}
    explanations[ATTRIBUTE] = explanations.pop("occlusion")
    return Comparison(text_comparison.explainer, explanations, metrics=())


@pytest.fixture(scope="session")
def text_explanation(text_comparison) -> Explanation:
    return hostile(text_comparison.explanations["integrated_gradients"])


@pytest.fixture(scope="session")
def text_batch(text_explainer) -> list[Explanation]:
    texts = [TEXT, "an unwatchable , dull mess", "not good , not terrible", f"nice {TOKEN} film"]
    batch = text_explainer.explain_batch(texts, "saliency")
    return [hostile(e, position=1) if i == 0 else e for i, e in enumerate(batch)]


# -- tabular ---------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def table() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 120
    return pd.DataFrame(
        {
            "age": rng.integers(18, 80, n),
            "hours per week worked (self-reported)": rng.normal(40, 10, n).round(1),
            COLUMN: rng.normal(size=n),
            "job": rng.choice(["clerk", TOKEN, "engineer"], n),
            "capital": rng.exponential(800, n).round(),
            "married": rng.random(n) < 0.5,
        }
    )


@pytest.fixture(scope="session")
def tabular_explainer(table) -> xplain.Explainer:
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numeric = [c for c in table.columns if c != "job"]
    score = 0.05 * (table["age"] - 45) + table[COLUMN] + 0.8 * table["married"]
    y = np.where(score > 0.2, LABEL, "rich")
    pre = ColumnTransformer([("cat", OneHotEncoder(), ["job"]), ("num", StandardScaler(), numeric)])
    model = Pipeline([("pre", pre), ("model", LogisticRegression())]).fit(table, y)
    return xplain.Explainer(model, data=table.iloc[:40])


@pytest.fixture(scope="session")
def tabular_comparison(tabular_explainer, table) -> Comparison:
    row = table[table["job"] == TOKEN].iloc[0]  # a hostile value too
    return tabular_explainer.compare(
        row,
        methods=TABULAR_METHODS,
        target=LABEL,
        params={"lime": {"num_samples": 300}, "kernel_shap": {"max_evals": 300}},
    )


@pytest.fixture(scope="session")
def tabular_explanation(tabular_comparison) -> Explanation:
    return hostile(tabular_comparison.explanations["kernel_shap"])


@pytest.fixture(scope="session")
def tabular_batch(tabular_explainer, table) -> list[Explanation]:
    rows = [table.iloc[i] for i in range(40)]
    return tabular_explainer.explain_batch(rows, "exact_shapley", target="rich")


@pytest.fixture(scope="session")
def wide_table() -> pd.DataFrame:
    """14 numeric columns, two of them named like metrics and sentences (layout tests)."""
    rng = np.random.default_rng(1)
    names = [f"feature_{i}" for i in range(12)] + [
        "deletion_auc", "hours per week worked (self-reported)"
    ]
    return pd.DataFrame(rng.normal(size=(120, 14)), columns=names)


@pytest.fixture(scope="session")
def wide_explainer(wide_table) -> xplain.Explainer:
    from sklearn.linear_model import LogisticRegression

    y = (wide_table.iloc[:, 0] + 0.5 * wide_table.iloc[:, 3] - wide_table.iloc[:, 5] > 0)
    model = LogisticRegression().fit(wide_table, y.astype(int))
    return xplain.Explainer(model, data=wide_table.iloc[:30])


@pytest.fixture(scope="session")
def wide_explanation(wide_explainer, wide_table) -> Explanation:
    """KernelSHAP on too few coalitions for 14 features: standard errors, converged=False."""
    return wide_explainer.explain(wide_table.iloc[60], "kernel_shap", max_evals=60)


# -- image -----------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def image_explainer() -> xplain.Explainer:
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = nn.Sequential(
            nn.Conv2d(3, 4, 3, padding=1),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d(2),
            nn.Flatten(),
            nn.Linear(16, 3),
        )
    return xplain.Explainer(model.double().eval(), modality="image")


@pytest.fixture(scope="session")
def image() -> np.ndarray:
    yy, xx = np.mgrid[0:16, 0:16]
    disc = ((yy - 7.5) ** 2 + (xx - 7.5) ** 2 < 30)[..., None]
    return np.where(disc, [230, 180, 40], [30, 60, 120]).astype(np.uint8)  # [16, 16, 3]


@pytest.fixture(scope="session")
def image_comparison(image_explainer, image) -> Comparison:
    return image_explainer.compare(image, methods=IMAGE_METHODS, metrics=["deletion_auc"])


@pytest.fixture(scope="session")
def image_explanation(image_comparison) -> Explanation:
    return hostile(image_comparison.explanations["integrated_gradients"])


# -- the browser -----------------------------------------------------------------------------
@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = shutil.which("chromium")
    if path is not None:
        return path
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        pytest.skip(
            "chromium is not installed and installing it needs root: run "
            "scripts/ensure_chromium.sh as root (apt-get install chromium chromium-driver)"
        )
    done = subprocess.run(
        ["bash", str(ENSURE_CHROMIUM)], capture_output=True, text=True, timeout=1800
    )
    path = shutil.which("chromium")
    if path is None:
        pytest.skip(
            f"scripts/ensure_chromium.sh could not install chromium (exit {done.returncode}): "
            f"{(done.stderr or done.stdout)[-500:]}"
        )
    return path


@pytest.fixture(scope="session")
def browser(chromium_path, tmp_path_factory) -> Iterator[object]:
    """One Chromium for the session (a fresh profile), as a Playwright browser context."""
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="the browser tests need Playwright: pip install playwright"
    )
    with sync_api.sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),
            executable_path=chromium_path,
            headless=True,
            args=CHROMIUM_FLAGS,
            viewport={"width": 1100, "height": 800},
        )
        yield context
        context.close()


@dataclasses.dataclass
class LoadedReport:
    """A report open in the browser, with what happened while it loaded."""

    page: object
    errors: list[str]
    dialogs: list[str]
    requests: list[str]


@pytest.fixture
def open_report(browser) -> Iterator[Callable[..., LoadedReport]]:
    """``open_report(path)``: load an HTML file from a file:// URL and record its events."""
    pages = []

    def load(path: Path, width: int = 1100) -> LoadedReport:
        page = browser.new_page()
        pages.append(page)
        page.set_viewport_size({"width": width, "height": 800})
        loaded = LoadedReport(page, [], [], [])
        page.on("console", lambda m: loaded.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda error: loaded.errors.append(str(error)))

        def dialog(d) -> None:
            loaded.dialogs.append(d.message)
            d.dismiss()

        page.on("dialog", dialog)
        page.on(
            "request",
            lambda r: None if r.url.startswith(("file:", "data:")) else loaded.requests.append(
                r.url
            ),
        )
        page.goto(path.resolve().as_uri(), wait_until="load")
        return loaded

    yield load
    for page in pages:
        page.close()
