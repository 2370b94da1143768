"""LIME on text: xplain ``lime`` vs ``lime.lime_text.LimeTextExplainer``, side by side.

The offline MiniLM sentiment model, SST-2 dev sentences, P(predicted class). lime gets
the classifier a competent user writes: the same model, batched (128 texts), dynamic
padding, ``torch.no_grad()``, the same torch threads. Prints, in one process:

1. **Estimand**: lime's fit converges to the weighted ridge fit over its mask
   distribution (``k`` of ``d`` words removed, ``k`` uniform on 1..d). Both libraries'
   limits are computed exactly by enumerating every mask (sentences of <= 12 words):
   xplain (words, removal) against lime with the same word split, and against lime's
   default split (``\\W+``: punctuation is no feature, "well-made" is two).
2. **Equal accuracy**: each library's error (relative L2 of the coefficients) against its
   OWN exact limit, mean over seeds and sentences, on a grid of sample counts (scores of
   every mask cached, so these runs cost no model time); the smallest xplain budget
   reaching lime's error at 500 and 1000 samples, and the time ratio at that budget.
3. **Equal samples** at 500 and 1000: xplain's defaults (tokens, [MASK]) and xplain with
   word removal, against lime.
4. Where the model's time goes (xplain alone): [MASK] vs removal, one padded batch vs
   length-sorted chunks.

Run: ``.venv/bin/python benchmarks/bench_text_perturbation.py [--quick] [--repeats 3]
[--load N]``.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import sys

import numpy as np
import torch
from _harness import add_common_arguments, bench_session, print_table, ratio, side_by_side
from lime.lime_text import IndexedString, LimeTextExplainer
from sklearn.linear_model import Ridge

import xplain
from xplain.adapters import text as text_adapter
from xplain.datasets import load_sst2
from xplain.methods.perturbation._kernels import cosine_distance_to_full, exponential_kernel
from xplain.methods.perturbation._sampling import all_coalitions
from xplain.methods.perturbation.lime import Lime
from xplain.zoo import sentiment_classifier

BATCH = 128  # texts per model call in lime's classifier_fn
REFERENCE_N = 20_000  # the limit is taken with lime's ridge scaled as at this many samples
GRID = (100, 150, 200, 250, 300, 400, 500, 600, 800, 1000, 1500)


def lime_classifier(model, tokenizer):
    """lime's classifier_fn: texts -> probabilities [n, 2], batched, no_grad."""

    def classify(texts: list[str]) -> np.ndarray:
        out = []
        with torch.no_grad():
            for i in range(0, len(texts), BATCH):
                enc = tokenizer(texts[i : i + BATCH], padding=True, truncation=True,
                                return_tensors="pt")
                out.append(torch.softmax(model(**enc).logits, -1).numpy())
        return np.concatenate(out)

    return classify


def population_fit(masks: np.ndarray, y: np.ndarray, n: int = REFERENCE_N) -> np.ndarray:
    """lime's fit in expectation: each mask weighted by its probability under lime_text's
    draw x the kernel (cosine distance x 100, width 25), the instance as one sample."""
    d = masks.shape[1]
    removed = d - masks.sum(1)
    prob = np.array([0.0 if k == 0 else 1.0 / (d * math.comb(d, int(k))) for k in removed])
    weights = exponential_kernel(100 * cosine_distance_to_full(masks), 25.0)
    weights *= np.where(removed == 0, 1.0, (n - 1) * prob)
    return Ridge(alpha=1.0).fit(masks.astype(float), y, sample_weight=weights).coef_


def lime_vector(explanation, label: int, d: int) -> np.ndarray:
    out = np.zeros(d)
    for feature, weight in explanation.local_exp[label]:
        out[feature] = weight
    return out


def relative_error(estimate: np.ndarray, reference: np.ndarray) -> float:
    return float(np.linalg.norm(estimate - reference) / np.linalg.norm(reference))


@dataclasses.dataclass
class Sentence:
    text: str
    target: int
    view: object  # xplain's view with cached scores
    x_ref: np.ndarray  # xplain's exact limit [d_x]
    x_words: list[str]
    table: dict  # lime: text -> probabilities
    l_ref: np.ndarray  # lime's exact limit [d_l]
    l_words: list[str]


def enumerate_xplain(explainer, text: str, target: int):
    """xplain's view of ``text`` with every mask scored once (cached) and its exact limit."""
    enc = explainer.adapter.encode(text)
    view = explainer.adapter.interpretable_view(enc, explainer.output)
    d = view.n_features
    every = np.asarray(all_coalitions(d))[::-1]  # full mask first
    scores = np.concatenate([view.evaluate(every[i : i + 512]) for i in range(0, 2**d, 512)])
    bits = 1 << np.arange(d)

    def lookup(masks: np.ndarray) -> np.ndarray:
        return scores[2**d - 1 - np.asarray(masks, dtype=np.int64) @ bits]

    words = [w for w, s in zip(enc.features, enc.special, strict=True) if not s]
    cached = dataclasses.replace(view, evaluate=lookup)
    return cached, population_fit(every, scores[:, target]), words


def enumerate_lime(classify, text: str, target: int, split=r"\W+"):
    """Every text lime can draw for ``text`` scored once, and lime's exact limit."""
    indexed = IndexedString(text, split_expression=split, bow=True)
    d = indexed.num_words()
    every = np.asarray(all_coalitions(d))[::-1]
    texts = [indexed.inverse_removing(np.flatnonzero(~m)) for m in every]
    probs = classify(texts)
    return dict(zip(texts, probs, strict=True)), population_fit(every, probs[:, target]), [
        indexed.word(i) for i in range(d)
    ]


def pick_sentences(tokenizer, count: int, low: int, high: int) -> list[str]:
    """SST-2 dev sentences with ``low..high`` words, no repeated word and no word that
    lime's default split cuts (so that both libraries have the same features)."""
    pre = tokenizer.backend_tokenizer.pre_tokenizer
    out = []
    for text in load_sst2("dev")["sentence"]:
        words = [w for w, _ in pre.pre_tokenize_str(text)]
        alnum = [w for w in words if w.isalnum()]
        lime_words = IndexedString(text, bow=True).num_words()
        if low <= len(words) <= high and len(set(words)) == len(words) and (
            lime_words == len(alnum)
        ):
            out.append(text)
        if len(out) == count:
            break
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_arguments(parser, repeats=3)
    parser.add_argument("--quick", action="store_true", help="2 sentences, 8 seeds")
    parser.add_argument("--sentences", type=int, default=4)
    parser.add_argument("--seeds", type=int, default=16)
    args = parser.parse_args()
    sys.stdout.reconfigure(line_buffering=True)
    if args.quick:
        args.sentences, args.seeds = 2, 8
    with bench_session(args):
        run(args)


def run(args: argparse.Namespace) -> None:
    model, tokenizer = sentiment_classifier()
    classify = lime_classifier(model, tokenizer)
    words_removed = xplain.Explainer(model, tokenizer=tokenizer, output="probability",
                                     merge_subwords=True, replacement="remove")
    words_masked = xplain.Explainer(model, tokenizer=tokenizer, output="probability",
                                    merge_subwords=True)
    defaults = xplain.Explainer(model, tokenizer=tokenizer, output="probability")
    texts = pick_sentences(tokenizer, args.sentences, 10, 12)
    bert_split = lambda s: [w for w, _ in tokenizer.backend_tokenizer.pre_tokenizer  # noqa: E731
                            .pre_tokenize_str(s)]

    # -- 1. estimand -----------------------------------------------------------------------
    sentences = []
    for text in texts:
        target = int(np.argmax(classify([text])[0]))
        view, x_ref, x_words = enumerate_xplain(words_removed, text, target)
        table, l_ref, l_words = enumerate_lime(classify, text, target)
        sentences.append(Sentence(text, target, view, x_ref, x_words, table, l_ref, l_words))
    first = sentences[0]
    _, aligned_ref, aligned_words = enumerate_lime(classify, first.text, first.target,
                                                   bert_split)
    assert aligned_words == first.x_words
    common = [w for w in first.x_words if w in first.l_words]
    x_common = np.array([first.x_ref[first.x_words.index(w)] for w in common])
    l_common = np.array([first.l_ref[first.l_words.index(w)] for w in common])
    print(f"estimand, {first.text!r} ({len(first.x_words)} xplain words, "
          f"{len(first.l_words)} lime words):")
    print(f"  xplain limit vs lime's limit with the same word split: max |diff| "
          f"{np.abs(first.x_ref - aligned_ref).max():.2e} (coefficients up to "
          f"{np.abs(first.x_ref).max():.3f})")
    print(f"  vs lime's default split, on the {len(common)} shared words: relative L2 "
          f"difference {relative_error(l_common, x_common):.3f}, correlation "
          f"{np.corrcoef(l_common, x_common)[0, 1]:.3f} (punctuation is a feature in xplain "
          "only)\n")

    # -- 2. equal accuracy (cached scores: no model time) -----------------------------------
    def lime_error(n: int) -> float:
        errors = []
        for s in sentences:
            fn = lambda t, s=s: np.array([s.table[x] for x in t])  # noqa: E731
            for seed in range(args.seeds):
                exp = LimeTextExplainer(random_state=seed).explain_instance(
                    s.text, fn, labels=(s.target,), num_features=len(s.l_words),
                    num_samples=n)
                errors.append(relative_error(lime_vector(exp, s.target, len(s.l_words)),
                                             s.l_ref))
        return float(np.mean(errors))

    def xplain_error(n: int, sampling: str = "stratified") -> float:
        errors = [relative_error(Lime(num_samples=n, seed=seed, sampling=sampling)
                                 .attribute(s.view, s.target).values, s.x_ref)
                  for s in sentences for seed in range(args.seeds)]
        return float(np.mean(errors))

    targets = {n: lime_error(n) for n in (500, 1000)}
    grid = {n: xplain_error(n) for n in GRID}
    iid = {n: xplain_error(n, "iid") for n in (500, 1000)}
    print(f"error vs own exact limit (mean of {args.seeds} seeds x {len(sentences)} "
          "sentences):")
    print("  lime " + ", ".join(f"{n}: {e:.4f}" for n, e in targets.items()))
    print("  xplain iid (lime's draw, distinct masks once) "
          + ", ".join(f"{n}: {e:.4f}" for n, e in iid.items()))
    print("  xplain stratified " + ", ".join(f"{n}: {e:.4f}" for n, e in grid.items()))
    matched = {n: min((m for m in GRID if grid[m] <= e), default=max(GRID))
               for n, e in targets.items()}
    print()

    # -- 3./4. time, side by side (the real model) ------------------------------------------
    def lime_run(n: int):
        def go():
            for s in sentences:
                LimeTextExplainer(random_state=0).explain_instance(
                    s.text, classify, labels=(s.target,), num_features=len(s.l_words),
                    num_samples=n)
        return go

    def xplain_run(explainer, n: int, chunk: int = text_adapter.REMOVAL_CHUNK):
        def go():
            saved = text_adapter.REMOVAL_CHUNK
            text_adapter.REMOVAL_CHUNK = chunk
            try:
                for s in sentences:
                    explainer.explain(s.text, "lime", s.target, num_samples=n)
            finally:
                text_adapter.REMOVAL_CHUNK = saved
        return go

    rows = []
    for n in (500, 1000):
        m = matched[n]
        t = side_by_side({
            "lime": lime_run(n),
            "equal accuracy": xplain_run(words_removed, m),
            "defaults": xplain_run(defaults, n),
            "words removed": xplain_run(words_removed, n),
        }, args.repeats)
        base = t["lime"].median
        rows.append([f"{n}", f"{targets[n]:.3f}", f"{m} ({grid[m]:.3f})",
                     ratio(t["equal accuracy"].median, base),
                     ratio(t["defaults"].median, base), ratio(t["words removed"].median, base)])
    print_table(
        ["lime samples", "lime error", "xplain samples reaching it (error)",
         "time at equal accuracy, xplain / lime", "equal samples: xplain defaults / lime",
         "equal samples: xplain words removed / lime"],
        rows,
    )
    n = 500 if args.quick else 1000
    t = side_by_side({
        "removal": xplain_run(words_removed, n),
        "[MASK]": xplain_run(words_masked, n),
        "one padded batch": xplain_run(words_removed, n, chunk=10**9),
    }, args.repeats)
    print_table(
        [f"xplain, words, {n} samples", "time / removal in length-sorted chunks"],
        [["[MASK] (full length)", ratio(t["[MASK]"].median, t["removal"].median)],
         ["removal, one batch padded to the longest text",
          ratio(t["one padded batch"].median, t["removal"].median)]],
    )


if __name__ == "__main__":
    main()
