"""lime's stratified, paired mask design: the same estimand as lime_text's iid draw.

The estimand is the weighted ridge fit over lime_text's mask distribution (k features
removed, k uniform on 1..d), computed here by enumerating every mask with its
probability; the sampled designs are checked against it within their standard error.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
from sklearn.linear_model import Ridge
from synthetic_views import interaction_view

import xplain
from xplain.methods.perturbation._kernels import cosine_distance_to_full, exponential_kernel
from xplain.methods.perturbation._mask_neighbourhood import mask_neighbourhood
from xplain.methods.perturbation._sampling import all_coalitions, unique_rows
from xplain.methods.perturbation.lime import Lime

SENTENCE = "the film is funny , sad and wise"  # 8 words and commas: 255 masks


def population_fit(masks: np.ndarray, y: np.ndarray, n: int) -> np.ndarray:
    """lime's fit at ``n`` samples in expectation: every non-full mask weighted by its
    probability ``1 / (d C(d, k))`` x ``(n - 1)``, the instance by 1, Ridge(alpha=1)."""
    d = masks.shape[1]
    removed = d - masks.sum(1)
    prob = np.array([0.0 if k == 0 else 1.0 / (d * math.comb(d, int(k))) for k in removed])
    weights = exponential_kernel(100 * cosine_distance_to_full(masks), 25.0)
    weights *= np.where(removed == 0, 1.0, (n - 1) * prob)
    return Ridge(alpha=1.0).fit(masks.astype(float), y, sample_weight=weights).coef_


def test_design_is_distinct_stratified_and_paired() -> None:
    d, n = 15, 400
    masks, factors = mask_neighbourhood(n, d, np.random.default_rng(0), "stratified")
    assert masks.shape[0] <= n and masks[0].all()
    assert unique_rows(masks)[0].shape[0] == masks.shape[0]  # no duplicate
    removed = d - masks.sum(1)
    for k in range(1, d + 1):  # each stratum's factors add up to lime's share (n-1)/d
        assert factors[removed == k].sum() == pytest.approx((n - 1) / d)
    assert (removed == 1).sum() == d  # small strata enumerated
    rest = masks[2:]  # after the instance and the empty mask: every z with 1 - z
    both = np.concatenate([rest, ~rest])
    assert unique_rows(both)[0].shape[0] == rest.shape[0]  # complements already drawn


def test_enumerates_every_mask_when_the_budget_covers_them() -> None:
    view = interaction_view(6)
    n = 100  # >= 2^6: every mask once, weighted by its probability
    got = Lime(num_samples=n).attribute(view, 1).values
    every = np.asarray(all_coalitions(6))[::-1]
    y = np.asarray(view.evaluate(every))[:, 1]
    np.testing.assert_allclose(got, population_fit(every, y, n), rtol=1e-10, atol=1e-12)


def test_stratified_and_iid_estimate_the_same_fit_on_a_text_model(
    tiny_bert, minilm_tokenizer
) -> None:
    ex = xplain.Explainer(tiny_bert, tokenizer=minilm_tokenizer, replacement="remove",
                          merge_subwords=True)
    enc = ex.adapter.encode(SENTENCE)
    view = ex.adapter.interpretable_view(enc, "logits")
    d, n, seeds = view.n_features, 150, 40  # k = 1, 7: 8 masks each, the rest 26
    every = np.asarray(all_coalitions(d))[::-1]
    scores = np.asarray(view.evaluate(every))  # [2^d, C], the model's, each mask once
    y = scores[:, 1]
    bits = 1 << np.arange(d)  # every[i] holds the bits of 2^d - 1 - i

    def lookup(masks: np.ndarray) -> np.ndarray:
        return scores[2**d - 1 - np.asarray(masks, dtype=np.int64) @ bits]

    view = dataclasses.replace(view, evaluate=lookup)  # the same scores, no model calls
    truth = population_fit(every, y, n)
    errors = {}
    for sampling in ("stratified", "iid"):
        runs = np.array([Lime(num_samples=n, seed=s, sampling=sampling).attribute(view, 1).values
                         for s in range(seeds)])  # [seeds, d]
        se = runs.std(0, ddof=1) / math.sqrt(seeds)
        bias = np.abs(runs.mean(0) - truth)
        # within 4 standard errors, plus lime's own O(1/n) ratio bias (weighted fit)
        assert (bias <= 4 * se + 0.02 * np.abs(truth).max()).all(), (sampling, bias / se)
        errors[sampling] = np.sqrt(((runs - truth) ** 2).sum(1).mean())
    assert errors["stratified"] < 0.8 * errors["iid"], errors
