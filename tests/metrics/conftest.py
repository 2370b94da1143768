"""Fixtures of the metric tests (helpers live in ``vector_models``)."""

from __future__ import annotations

import numpy as np
import pytest
from vector_models import linear_module, vector_explainer


@pytest.fixture
def additive():
    """An additive model of 12 features: (explainer, instance, weights, true attribution)."""
    rng = np.random.default_rng(0)
    w, x = rng.normal(size=12), rng.normal(size=12)
    return vector_explainer(linear_module(w)), x, w, w * x
