"""Finding 11 (method part): an empty or blank method name is refused, never the default."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import xplain
from xplain.errors import UnknownMethodError
from xplain.registry import get_method

IMAGE = np.random.default_rng(0).random((8, 8, 3))


@pytest.fixture
def explainer():
    torch.manual_seed(0)
    cnn = torch.nn.Sequential(
        torch.nn.Conv2d(3, 2, 3, padding=1), torch.nn.Flatten(), torch.nn.Linear(128, 3)
    )
    return xplain.Explainer(cnn, modality="image")


@pytest.mark.parametrize("name", ["", "   ", "\t"])
def test_f11_empty_method_name_is_refused(explainer, name):
    calls = explainer.adapter.n_model_evals
    with pytest.raises(UnknownMethodError, match=r"empty.*integrated_gradients.*method=None"):
        explainer.explain(IMAGE, method=name)
    with pytest.raises(UnknownMethodError, match="empty"):
        explainer.explain_batch([IMAGE, IMAGE], method=name)
    with pytest.raises(UnknownMethodError, match="empty"):
        explainer.compare(IMAGE, methods=["saliency", name])
    with pytest.raises(UnknownMethodError, match="empty"):
        xplain.explain(explainer.model, IMAGE, name, modality="image")
    with pytest.raises(UnknownMethodError, match="empty"):
        get_method(name)
    assert explainer.adapter.n_model_evals == calls  # refused before any model call


def test_f11_none_still_means_the_default_method(explainer):
    assert explainer.explain(IMAGE, method=None).method == "integrated_gradients"
    assert [e.method for e in explainer.explain_batch([IMAGE], method=None)] == [
        "integrated_gradients"
    ]


def test_a_method_class_instead_of_a_name_or_object_is_named():
    from xplain.methods.gradient.integrated_gradients import IntegratedGradients

    with pytest.raises(UnknownMethodError, match=r"method class IntegratedGradients.*"
                       r"'integrated_gradients'.*IntegratedGradients\(\)"):
        get_method(IntegratedGradients)
