"""Small randomly initialised transformer classifiers for tests (nothing downloaded)."""

from __future__ import annotations

from typing import Any

import torch

SENTIMENT_LABELS = {
    "id2label": {0: "negative", 1: "positive"},
    "label2id": {"negative": 0, "positive": 1},
}


def random_bert(
    vocab_size: int,
    *,
    hidden: int = 16,
    layers: int = 1,
    intermediate: int = 32,
    positions: int = 64,
    seed: int = 0,
    **config: Any,
) -> torch.nn.Module:
    """A 2-class ``BertForSequenceClassification`` (2 heads) seeded by ``seed``, in eval
    mode; ``config`` adds ``BertConfig`` fields (``initializer_range``, ``hidden_act``...).
    The global torch RNG is left as it was."""
    from transformers import BertConfig, BertForSequenceClassification

    bert_config = BertConfig(
        vocab_size=vocab_size,
        hidden_size=hidden,
        num_hidden_layers=layers,
        num_attention_heads=2,
        intermediate_size=intermediate,
        max_position_embeddings=positions,
        num_labels=2,
        **config,
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return BertForSequenceClassification(bert_config).eval()
