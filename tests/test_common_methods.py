"""The common test: every registered method through every adapter it claims to support.

One small offline explainer is built per (modality, model kind) — a tiny random BERT, a
scikit-learn tree ensemble, a scikit-learn pipeline, a torch MLP over the tabular encoding
and a small CNN. The (case, method) pairs come from the registry, so a newly registered
method is tested here automatically, for every modality it lists, on every case whose
adapter offers the view it runs on. For each pair we check:

* shape: one finite value per feature, the method's name and the parameters used;
* determinism: two runs with the same ``seed`` give identical values;
* inputs not mutated: the instance, the background data and the model are unchanged;
* bad parameters rejected: an unknown name and an out-of-range value raise
  ``InvalidParameterError`` before the model is called;
* HTML renders and ``to_dict()`` is JSON;

and, for every pair that does not apply, that ``explain`` raises
``MethodNotApplicableError``. Methods get cheap parameters (few steps, samples or
evaluations), picked by name from their declared ``parameters``.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch
from random_models import SENTIMENT_LABELS, random_bert
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from torch import nn

import xplain
from xplain._validation import Interval, Options, Param
from xplain.adapters import TabularEncoder
from xplain.methods.gradient.smoothgrad import SmoothGrad
from xplain.registry import get_method, method_names
from xplain.views import (
    DifferentiableView,
    InterpretableView,
    SpatialDifferentiableView,
    TreeView,
)

VIEWS = (DifferentiableView, SpatialDifferentiableView, InterpretableView, TreeView)
pytestmark = pytest.mark.filterwarnings("ignore::PendingDeprecationWarning:shap.*")

SEED = 7  # not any method's default, so that passing it is visible in ``e.params``

# Cheap values, by parameter name, for whichever method declares the parameter.
CHEAP: dict[str, Any] = {
    "n_steps": 4,  # integrated_gradients, xrai
    "max_steps": 8,
    "noise_samples": 3,  # smoothgrad
    "n_samples": 4,  # gradient_shap
    "num_samples": 40,  # lime
    "max_evals": 48,  # kernel_shap
    "max_background": 4,  # deepshap
    "scales": (100.0,),  # xrai: one Felzenszwalb scale
    "seed": SEED,
}


# -- the cases ------------------------------------------------------------------------------
@dataclass
class Built:
    """A ready explainer, the instance it explains and the user's background data."""

    explainer: xplain.Explainer
    instance: Any
    data: pd.DataFrame | None = None
    data_at_build: pd.DataFrame | None = None  # a copy taken before the Explainer was built
    runs: dict[str, Run] = field(default_factory=dict)


@dataclass(frozen=True)
class Case:
    """One (modality, model kind): the adapter views it offers and how to build it."""

    name: str
    modality: str
    views: frozenset[str]
    build: Callable[[], Built]


def _text_bert() -> Built:
    """A 1-layer random BERT (hidden 16) with a WordPiece tokenizer trained here.

    ``hidden_act="relu"`` makes its activation an ``nn.ReLU`` module, which the guided
    methods need (BERT's default GELU cannot be guided, and they refuse it).
    """
    from tokenizers import BertWordPieceTokenizer
    from transformers import BertTokenizerFast

    corpus = ["a gripping and funny film", "an unwatchable mess of a movie", "not good"]
    trainer = BertWordPieceTokenizer(lowercase=True)
    trainer.train_from_iterator(
        corpus, vocab_size=100, min_frequency=1, show_progress=False,
        special_tokens=["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"],
    )  # fmt: skip
    tokenizer = BertTokenizerFast(vocab=trainer.get_vocab())
    model = random_bert(
        len(tokenizer), positions=32, initializer_range=0.3, hidden_act="relu", **SENTIMENT_LABELS
    ).double()
    return Built(xplain.Explainer(model, tokenizer=tokenizer), "a gripping and funny film")


def _mixed_table(n: int = 80) -> tuple[pd.DataFrame, np.ndarray]:
    """Int, float, str, category and bool columns, and a binary label."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame(
        {
            "age": rng.integers(18, 80, n),
            "education": rng.choice(["HS-grad", "Bachelors", "Masters"], n),
            "hours": rng.normal(40, 10, n).round(1),
            "sex": pd.Categorical(rng.choice(["Female", "Male"], n)),
            "married": rng.random(n) < 0.5,
        }
    )
    score = 0.05 * (frame["age"] - 45) + (frame["education"] == "Masters") + frame["married"]
    return frame, (score + rng.normal(0, 0.5, n) > 0.5).to_numpy().astype(int)


def _tabular_trees() -> Built:
    """A scikit-learn gradient-boosted ensemble on numeric columns (TreeSHAP applies)."""
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(rng.normal(size=(80, 4)), columns=["f0", "f1", "f2", "f3"])
    frame["f4"] = rng.integers(0, 4, 80)
    y = (frame.f0 + frame.f1 * frame.f2 + 0.3 * frame.f4 > 0.5).to_numpy().astype(int)
    model = GradientBoostingClassifier(n_estimators=8, max_depth=2, random_state=0).fit(frame, y)
    pristine = frame.copy(deep=True)
    explainer = xplain.Explainer(model, data=frame, background_size=8)
    return Built(explainer, frame.iloc[3], frame, pristine)


def _tabular_pipeline() -> Built:
    """A one-hot + logistic-regression pipeline: perturbation only (no gradients, no trees)."""
    frame, y = _mixed_table()
    pre = ColumnTransformer(
        [("cat", OneHotEncoder(), ["education", "sex", "married"]),
         ("num", StandardScaler(), ["age", "hours"])]
    )  # fmt: skip
    model = Pipeline([("pre", pre), ("model", LogisticRegression(max_iter=300))]).fit(frame, y)
    pristine = frame.copy(deep=True)
    explainer = xplain.Explainer(model, data=frame, background_size=8)
    return Built(explainer, frame.iloc[5], frame, pristine)


def _tabular_torch() -> Built:
    """A torch MLP (Linear-ReLU-Linear) over the tabular encoding: gradients and masks."""
    frame, _ = _mixed_table()
    encoder = TabularEncoder().fit(frame)
    width = len(encoder.get_feature_names_out())
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        mlp = nn.Sequential(nn.Linear(width, 8), nn.ReLU(), nn.Linear(8, 2)).double().eval()
    pristine = frame.copy(deep=True)
    explainer = xplain.Explainer(mlp, data=frame, encoder=encoder, background_size=8)
    return Built(explainer, frame.iloc[7], frame, pristine)


def _image_cnn() -> Built:
    """Conv-ReLU-MaxPool-Conv-ReLU-AvgPool-Linear on 16 x 16 RGB; 3 x 3 grid superpixels."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        cnn = nn.Sequential(
            nn.Conv2d(3, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(4, 6, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(2),
            nn.Flatten(), nn.Linear(24, 4),
        ).double().eval()  # fmt: skip
    explainer = xplain.Explainer(
        cnn, modality="image", segmentation="grid", segmentation_params={"rows": 3, "cols": 3}
    )
    image = np.random.default_rng(0).integers(0, 256, (16, 16, 3), dtype=np.uint8)  # H, W, C
    return Built(explainer, image)


CASES = {
    case.name: case
    for case in [
        Case("text_bert", "text", frozenset({DifferentiableView, InterpretableView}), _text_bert),
        Case("tabular_trees", "tabular", frozenset({InterpretableView, TreeView}), _tabular_trees),
        Case("tabular_pipeline", "tabular", frozenset({InterpretableView}), _tabular_pipeline),
        Case(
            "tabular_torch", "tabular", frozenset({DifferentiableView, InterpretableView}),
            _tabular_torch,
        ),
        Case(
            "image_cnn", "image", frozenset({SpatialDifferentiableView, InterpretableView}),
            _image_cnn,
        ),
    ]
}


def applies(case: Case, method: str) -> bool:
    cls = get_method(method)
    return any(issubclass(view, cls.view) for view in case.views)


APPLICABLE = [
    pytest.param(c, m, id=f"{c}-{m}") for c in CASES for m in method_names() if applies(CASES[c], m)
]
NOT_APPLICABLE = [
    pytest.param(c, m, id=f"{c}-{m}")
    for c in CASES
    for m in method_names()
    if not applies(CASES[c], m)
]


# -- running a pair once (shared by the checks) -----------------------------------------
def cheap_params(method: str) -> dict[str, Any]:
    return {k: v for k, v in CHEAP.items() if k in get_method(method).parameters}


def snapshot(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        return value.detach().clone()
    return copy.deepcopy(value)


def assert_same(before: Any, after: Any, what: str) -> None:
    if isinstance(before, pd.DataFrame):
        pd.testing.assert_frame_equal(after, before, obj=what)
    elif isinstance(before, pd.Series):
        pd.testing.assert_series_equal(after, before, obj=what)
    elif isinstance(before, torch.Tensor):
        assert after.dtype == before.dtype and torch.equal(after, before), f"{what} changed"
    elif isinstance(before, np.ndarray):
        assert after.dtype == before.dtype, f"{what} changed dtype"
        np.testing.assert_array_equal(after, before, err_msg=f"{what} changed")
    elif isinstance(before, dict):
        assert after.keys() == before.keys(), f"{what} changed keys"
        for key in before:
            assert_same(before[key], after[key], f"{what}[{key!r}]")
    else:
        assert after == before, f"{what} changed"


def state(built: Built) -> dict[str, Any]:
    """Everything a method must leave alone: instance, user data, background, model."""
    adapter = built.explainer.adapter
    out: dict[str, Any] = {"instance": snapshot(built.instance)}
    if built.data is not None:
        out["data"] = built.data.copy(deep=True)
    background = getattr(adapter, "background", None)
    if background is not None:
        out["background rows"] = np.array(background.rows, copy=True)
        out["background weights"] = np.array(background.weights, copy=True)
    model = built.explainer.model
    if isinstance(model, nn.Module):
        out["model parameters"] = {k: v.clone() for k, v in model.state_dict().items()}
        out["model hooks"] = sum(
            len(m._forward_hooks) + len(m._forward_pre_hooks) + len(m._backward_hooks)
            for m in model.modules()
        )
        out["model training flag"] = model.training
    return out


def current(built: Built, before: dict[str, Any]) -> dict[str, Any]:
    """The live objects matching ``before``'s keys (compared with ``assert_same``)."""
    adapter, model = built.explainer.adapter, built.explainer.model
    live: dict[str, Any] = {"instance": built.instance}
    if "data" in before:
        live["data"] = built.data
    if "background rows" in before:
        live["background rows"] = adapter.background.rows
        live["background weights"] = adapter.background.weights
    if "model parameters" in before:
        live["model parameters"] = dict(model.state_dict())
        live["model hooks"] = sum(
            len(m._forward_hooks) + len(m._forward_pre_hooks) + len(m._backward_hooks)
            for m in model.modules()
        )
        live["model training flag"] = model.training
    return live


@dataclass
class Run:
    params: dict[str, Any]
    first: xplain.Explanation
    second: xplain.Explanation
    before: dict[str, Any]
    after: dict[str, Any]


class World:
    """Builds each case once and runs each (case, method) pair once, lazily."""

    def __init__(self) -> None:
        self._built: dict[str, Built] = {}

    def case(self, name: str) -> Built:
        if name not in self._built:
            self._built[name] = CASES[name].build()
        return self._built[name]

    def run(self, case: str, method: str) -> Run:
        built = self.case(case)
        if method not in built.runs:
            params = cheap_params(method)
            before = state(built)
            explainer = built.explainer
            first = explainer.explain(built.instance, method, **params)
            second = explainer.explain(built.instance, method, **params)
            after = current(built, before)
            built.runs[method] = Run(params, first, second, before, after)
        return built.runs[method]


@pytest.fixture(scope="module")
def world() -> World:
    return World()


# -- the registry is covered --------------------------------------------------------------
def test_every_method_is_covered_for_every_modality_it_claims() -> None:
    # a method claims the modalities whose adapters offer its view type (grad_cam: images)
    missing = [m for m in method_names() if not any(applies(c, m) for c in CASES.values())]
    assert not missing, f"no common-test case runs: {', '.join(missing)}; add a case"


@pytest.mark.parametrize("case", list(CASES))
def test_declared_views_are_what_the_adapter_offers(world: World, case: str) -> None:
    explainer = world.case(case).explainer
    assert explainer.modality == CASES[case].modality
    offered = set(explainer.adapter.view_types())
    assert offered == set(CASES[case].views)
    assert {view for view in VIEWS if explainer.adapter.supports(view)} == {
        view for view in VIEWS if any(issubclass(t, view) for t in offered)
    }
    expected = [m for m in method_names() if applies(CASES[case], m)]
    assert explainer.applicable_methods() == expected


@pytest.mark.parametrize("case", [c for c in CASES if CASES[c].modality == "tabular"])
def test_building_an_explainer_leaves_the_data_alone(world: World, case: str) -> None:
    built = world.case(case)
    pd.testing.assert_frame_equal(built.data, built.data_at_build)


# -- every applicable pair ----------------------------------------------------------------
@pytest.mark.parametrize(("case", "method"), APPLICABLE)
def test_shape_and_parameters(world: World, case: str, method: str) -> None:
    run = world.run(case, method)
    e = run.first
    assert isinstance(e, xplain.Explanation)
    assert e.method == method
    assert e.modality == CASES[case].modality
    assert isinstance(e.values, np.ndarray) and e.values.ndim == 1
    assert len(e.features) > 0 and len(e.values) == len(e.features)
    assert np.all(np.isfinite(e.values)), f"non-finite values: {e.values}"
    declared = get_method(method).parameters.keys()
    if get_method(method) is SmoothGrad:  # the wrapper also reports its base method's params
        assert declared <= e.params.keys() and e.params["base"] == "saliency"
    else:  # nothing else, e.g. no silent noise wrapper around the method
        assert e.params.keys() == declared
    for name, value in run.params.items():
        assert e.params[name] == value, f"e.params[{name!r}] = {e.params[name]!r}, not {value!r}"
    assert 0 <= e.target < len(e.prediction) and e.target_label == e.labels[e.target]
    assert np.all(np.isfinite(e.prediction))
    assert e.n_model_evals >= 1 and e.seconds >= 0


@pytest.mark.parametrize(("case", "method"), APPLICABLE)
def test_deterministic_under_a_seed(world: World, case: str, method: str) -> None:
    run = world.run(case, method)
    if "seed" in get_method(method).parameters:
        assert run.first.params["seed"] == run.second.params["seed"] == SEED
    np.testing.assert_array_equal(run.second.values, run.first.values)
    assert run.second.features == run.first.features
    assert run.second.target == run.first.target


@pytest.mark.parametrize(("case", "method"), APPLICABLE)
def test_inputs_are_not_mutated(world: World, case: str, method: str) -> None:
    run = world.run(case, method)
    assert run.after.keys() == run.before.keys()
    for key, before in run.before.items():
        assert_same(before, run.after[key], f"{key} after {method}")


def invalid_value(param: Param) -> Any:
    """A value ``param`` rejects: below an int or float lower bound, else a bad option."""
    candidates: list[Any] = []
    for kind in (int, float):
        for c in param.constraints:
            if isinstance(c, Interval) and c.kind is kind and c.low is not None:
                candidates += [kind(c.low) - 1, kind(c.low)]
    for c in param.constraints:
        if isinstance(c, Options):
            candidates.append("not-an-option")
    return next((v for v in candidates if not param.accepts(v)), None)


@pytest.mark.parametrize(("case", "method"), APPLICABLE)
def test_bad_parameters_are_rejected(world: World, case: str, method: str) -> None:
    built = world.case(case)
    explainer, evals = built.explainer, built.explainer.adapter.n_model_evals
    with pytest.raises(xplain.InvalidParameterError, match=rf"{method}.*'n_stepz'") as info:
        explainer.explain(built.instance, method, n_stepz=3)
    assert str(info.value).startswith(method), str(info.value)

    parameters = get_method(method).parameters
    bad = {name: invalid_value(p) for name, p in parameters.items()}
    bad = {name: value for name, value in bad.items() if value is not None}
    numeric = [n for n, v in bad.items() if not isinstance(v, str)]
    if not bad:
        pytest.skip(f"{method} has no parameter with a value to reject")
    name = (numeric or list(bad))[0]
    with pytest.raises(xplain.InvalidParameterError) as info:
        explainer.explain(built.instance, method, **{name: bad[name]})
    message = str(info.value)
    assert f"'{name}' parameter of {method}" in message and repr(bad[name]) in message, message
    assert explainer.adapter.n_model_evals == evals, "parameters must be checked before the model"


@pytest.mark.parametrize(("case", "method"), APPLICABLE)
def test_html_and_dict_render(world: World, case: str, method: str) -> None:
    e = world.run(case, method).first
    html = e._repr_html_()
    assert isinstance(html, str) and html.strip()
    assert method in html
    payload = json.loads(json.dumps(e.to_dict()))
    assert payload["method"] == method
    assert len(payload["values"]) == len(payload["features"]) == len(e.features)


# -- every pair that does not apply -------------------------------------------------------
@pytest.mark.parametrize(("case", "method"), NOT_APPLICABLE)
def test_inapplicable_methods_are_refused(world: World, case: str, method: str) -> None:
    built = world.case(case)
    evals = built.explainer.adapter.n_model_evals
    with pytest.raises(xplain.MethodNotApplicableError) as info:
        built.explainer.explain(built.instance, method)
    message = str(info.value)
    assert repr(method) in message and "Methods that apply" in message, message
    assert built.explainer.adapter.n_model_evals == evals


# -- instance formats beyond the matrix's ------------------------------------------------------
@pytest.mark.parametrize("method", ["saliency", "occlusion"])
def test_image_tensor_and_float_array_are_not_mutated(world: World, method: str) -> None:
    """A channels-first tensor and a float [0, 1] array, besides the uint8 array above."""
    built = world.case("image_cnn")
    as_float = built.instance / 255.0
    as_tensor = torch.as_tensor(as_float).permute(2, 0, 1).contiguous()
    results = []
    for image in (as_float, as_tensor):
        before = snapshot(image)
        results.append(built.explainer.explain(image, method).values)
        assert_same(before, image, f"{type(image).__name__} image after {method}")
    np.testing.assert_allclose(results[0], results[1], rtol=1e-12, atol=1e-12)
