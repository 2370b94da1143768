"""Findings 14 and 15: the user's model mode is left alone; unguided ReLUs are caught.

14: every model evaluation runs in eval mode (dropout off) and gives each submodule its
own mode back, so explanations do not depend on the mode the user left the model in.
15: guided backpropagation only guides the ``nn.ReLU`` modules the forward pass calls; a
model applying ``F.relu`` beside an unused ``nn.ReLU`` would get the plain gradient.
"""

from __future__ import annotations

import copy
import threading

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import xplain
from xplain.adapters import TabularEncoder
from xplain.errors import MethodNotApplicableError

ROWS = np.random.default_rng(0).random((40, 4))
IMAGE = np.random.default_rng(1).random((8, 8, 3))


def dropout_mlp() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Linear(4, 16), nn.Dropout(0.5), nn.BatchNorm1d(16), nn.ReLU(), nn.Linear(16, 2)
    ).double()


def modes(model: nn.Module) -> list[bool]:
    return [m.training for m in model.modules()]


def eval_gradient(model: nn.Module, row: np.ndarray, target: int) -> np.ndarray:
    """d logit[target] / d z of a copy in eval mode, by hand (z: the encoded row, z-scores)."""
    twin = copy.deepcopy(model).eval()
    mean, std = ROWS.mean(0), ROWS.std(0)
    x = torch.as_tensor((row - mean) / std)[None].requires_grad_(True)
    (grad,) = torch.autograd.grad(twin(x)[0, target], x)
    return grad[0].numpy()  # per encoded column (one per numeric column)


def test_f14_explainer_leaves_the_user_mode_and_explains_in_eval_mode():
    model = dropout_mlp()
    model.train()
    model[2].eval()  # mixed modes (a frozen batch norm) must come back exactly
    before = modes(model)
    # the network takes z-scores (what eval_gradient differentiates at)
    explainer = xplain.Explainer(model, data=ROWS, encoder=TabularEncoder().fit(ROWS))
    assert modes(model) == before
    first = explainer.explain(ROWS[0], "saliency", absolute=False)
    assert modes(model) == before
    # dropout off and batch norm on its running statistics: the eval-mode gradient
    np.testing.assert_allclose(
        first.values, eval_gradient(model, ROWS[0], first.target), rtol=1e-10, atol=1e-12
    )
    again = explainer.explain(ROWS[0], "saliency", absolute=False)
    np.testing.assert_array_equal(again.values, first.values)


def test_f14_train_mode_set_between_calls_changes_nothing():
    model = dropout_mlp().eval()
    explainer = xplain.Explainer(model, data=ROWS)
    reference = explainer.compare(ROWS[1], methods=["saliency", "kernel_shap"])
    scores = reference.evaluate(["deletion_auc"])["deletion_auc"]  # metrics call the model
    model.train()
    for _ in range(3):
        got = explainer.compare(ROWS[1], methods=["saliency", "kernel_shap"])
        for name, explanation in got.explanations.items():
            np.testing.assert_array_equal(explanation.values, reference.explanations[name].values)
        np.testing.assert_array_equal(got.evaluate(["deletion_auc"])["deletion_auc"], scores)
    assert model.training and all(modes(model))


def test_f14_text_model_in_train_mode(tiny_bert, minilm_tokenizer):
    model = copy.deepcopy(tiny_bert).train()  # the fixture is shared: never mutate it
    explainer = xplain.Explainer(model, tokenizer=minilm_tokenizer)
    assert model.training
    runs = [explainer.explain("a gripping film", "integrated_gradients", n_steps=4) for _ in "ab"]
    np.testing.assert_array_equal(runs[0].values, runs[1].values)
    assert all(modes(model))
    evaluated = xplain.Explainer(copy.deepcopy(tiny_bert).eval(), tokenizer=minilm_tokenizer)
    expected = evaluated.explain("a gripping film", "integrated_gradients", n_steps=4)
    np.testing.assert_allclose(runs[0].values, expected.values, rtol=1e-12, atol=1e-12)


def test_f14_mode_restored_after_an_error_and_with_overlapping_blocks():
    from xplain.models.torch import eval_mode

    model = dropout_mlp().train()
    with pytest.raises(RuntimeError, match="boom"), eval_mode(model):
        assert not any(modes(model))
        raise RuntimeError("boom")
    assert all(modes(model))
    # a submodule's block entered first and left first while the whole model's block is
    # still open: the model must stay in eval mode until the last block leaves
    inner, outer = eval_mode(model[1]), eval_mode(model)
    inner.__enter__()
    outer.__enter__()
    inner.__exit__(None, None, None)
    assert not any(modes(model))
    outer.__exit__(None, None, None)
    assert all(modes(model))
    # threads: the first in saves the mode, the last out restores it
    inside, release = threading.Barrier(3), threading.Barrier(3)
    seen: list[bool] = []

    def hold() -> None:
        with eval_mode(model):
            inside.wait()
            release.wait()
            seen.append(any(modes(model)))

    threads = [threading.Thread(target=hold) for _ in range(2)]
    for thread in threads:
        thread.start()
    inside.wait()
    assert not any(modes(model))
    release.wait()
    for thread in threads:
        thread.join()
    assert seen == [False, False] and all(modes(model))


class FunctionalReluCnn(nn.Module):
    """Applies F.relu; its ``relu`` module is declared but never called."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.conv = nn.Conv2d(3, 4, 3, padding=1)
        self.relu = nn.ReLU()
        self.head = nn.Linear(4 * 8 * 8, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(F.relu(self.conv(x)).flatten(1))


@pytest.mark.parametrize("method", ["guided_backprop", "guided_grad_cam"])
def test_f15_functional_relu_with_unused_module_is_refused(method):
    model = FunctionalReluCnn().double()
    explainer = xplain.Explainer(model, modality="image")
    with pytest.raises(MethodNotApplicableError, match=r"never called .*'relu'.*F\.relu"):
        explainer.explain(IMAGE, method)


def test_f15_only_called_relus_are_counted_and_the_rule_holds():
    # score = w2 . relu(W1 x); `spare` is an nn.ReLU the forward never calls
    w1 = torch.tensor([[1.0, -2.0], [0.5, 1.0], [-1.0, 0.5]], dtype=torch.float64)
    w2 = torch.tensor([[2.0, -3.0, 1.0], [0.0, 0.0, 0.0]], dtype=torch.float64)
    model = nn.Sequential(nn.Linear(2, 3, bias=False), nn.ReLU(), nn.Linear(3, 2, bias=False))
    model.spare = nn.ReLU()
    model = model.double()

    def forward(x: torch.Tensor) -> torch.Tensor:
        return model[2](model[1](model[0](x)))

    model.forward = forward
    with torch.no_grad():
        model[0].weight.copy_(w1)
        model[2].weight.copy_(w2)
    data = np.array([[1.0, 0.2], [0.0, 0.0], [2.0, 1.0]])
    explainer = xplain.Explainer(model, data=data, encoder=TabularEncoder().fit(data))
    x = np.array([1.0, 0.2])
    e = explainer.explain(x, "guided_backprop", target=0)
    assert e.diagnostics["guided_relus"] == 1
    assert "1 of the model's 2 nn.ReLU modules ('spare')" in e.diagnostics["note"]
    # the guided rule by hand on the encoded row z = (x - mean) / std
    mean, std = data.mean(0), data.std(0)
    h = w1.numpy() @ ((x - mean) / std)
    expected = w1.numpy().T @ ((h > 0) * np.maximum(w2[0].numpy(), 0))  # d/dz
    np.testing.assert_allclose(e.values, expected, rtol=1e-12, atol=1e-12)
