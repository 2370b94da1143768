"""Fixtures of the perturbation-method tests (helpers live in ``synthetic_views``)."""

from __future__ import annotations

import numpy as np
import pytest
from synthetic_views import CountingView, interaction_view


@pytest.fixture
def interaction_view16() -> CountingView:
    """16 features with interactions: 2^16 coalitions."""
    return interaction_view(16)


@pytest.fixture(scope="session")
def exact16() -> np.ndarray:
    """Exact Shapley values of class 1 on ``interaction_view16``."""
    from xplain.methods.perturbation.exact_shapley import ExactShapley

    return np.asarray(ExactShapley().attribute(interaction_view(16), 1).values)


@pytest.fixture(scope="session")
def text_explainer(small_text_explainer):
    """An Explainer over a tiny random BERT with the real MiniLM tokenizer (offline)."""
    return small_text_explainer
