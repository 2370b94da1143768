"""Word removal scores texts shortest first, in chunks cut to their longest text: the
scores must be those of the old path (every text padded to the full length, one call)."""

from __future__ import annotations

import numpy as np
import pytest

import xplain
from xplain.adapters import text as text_module
from xplain.models.base import explained_scores

SENTENCE = "a very well-made , funny and entertaining picture that nobody should miss ."


def old_path_scores(adapter, encoded, masks: np.ndarray, output: str) -> np.ndarray:
    """The previous removal path: one batch, padded to the text's full length."""
    ids = encoded.data["input_ids"][0]
    groups = encoded.data["groups"]
    active = np.flatnonzero(~encoded.special)
    keep = np.ones((masks.shape[0], ids.shape[0]), dtype=bool)
    for col, feature in enumerate(active):
        keep[:, groups[feature]] = masks[:, [col]]
    batch_ids, extras = adapter._masked_batch(ids, encoded.data["extras"], keep, None)
    logits = adapter.model.logits_from_ids(batch_ids, extras)
    return explained_scores(logits, output).detach().cpu().numpy()


@pytest.mark.parametrize("chunk", [3, 64])
def test_sorted_trimmed_chunks_give_the_old_scores(tiny_bert, minilm_tokenizer, monkeypatch,
                                                   chunk):
    monkeypatch.setattr(text_module, "REMOVAL_CHUNK", chunk)
    ex = xplain.Explainer(tiny_bert, tokenizer=minilm_tokenizer, replacement="remove",
                          merge_subwords=True)
    enc = ex.adapter.encode(SENTENCE)
    view = ex.adapter.interpretable_view(enc, "logits")
    rng = np.random.default_rng(0)
    masks = rng.random((40, view.n_features)) < rng.random((40, 1))  # lengths 0..d, shuffled
    masks[0] = True
    got = view.evaluate(masks)
    expected = old_path_scores(ex.adapter, enc, masks, "logits")
    assert got.shape == expected.shape
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)  # float64 model
    assert ex.adapter.model.n_evals >= 40 + 40  # every row scored by both paths


def test_float32_minilm_scores_match_the_old_path(minilm_random_head):
    model, tokenizer = minilm_random_head
    ex = xplain.Explainer(model, tokenizer=tokenizer, replacement="remove")
    enc = ex.adapter.encode(SENTENCE)
    view = ex.adapter.interpretable_view(enc, "probability")
    masks = np.random.default_rng(1).random((24, view.n_features)) < 0.6
    got = view.evaluate(masks)
    expected = old_path_scores(ex.adapter, enc, masks, "probability")
    # float32: other matrix shapes may sum in another order (differences ~1e-7)
    np.testing.assert_allclose(got, expected, rtol=0, atol=1e-5)
