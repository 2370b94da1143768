"""Integrated Gradients on the offline sentiment model: xplain vs Captum, side by side.

Prints, for 20 SST-2 dev sentences, in one process with the same thread settings
(warm-up first, median of several repeats, interleaved so machine noise hits both):

1. wall time of xplain IG vs Captum LayerIntegratedGradients at equal n_steps=50 (same
   Gauss-Legendre rule, same PAD baseline keeping [CLS]/[SEP], all steps in one batch);
2. wall time of xplain IG at ITS defaults (adaptive Gauss-Legendre from 16 steps) and
   with the nested adaptive trapezoid vs Captum at ITS defaults (50 Gauss-Legendre
   steps), with the completeness gaps and path points xplain spends;
3. per quadrature rule, the smallest n_steps reaching a completeness gap <= 1%.

Run: ``.venv/bin/python benchmarks/bench_text_gradients.py [--repeats 5] [--threads 2]``.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import torch
from captum.attr import LayerIntegratedGradients

import xplain
from xplain.datasets import load_sst2
from xplain.methods.gradient._quadrature import RULES
from xplain.zoo import sentiment_classifier

STEP_GRID = (2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256)


def captum_runner(model, tokenizer):
    """A function running Captum LIG on one sentence with our baseline convention."""
    embeddings = model.get_input_embeddings()

    def forward(input_ids, attention_mask, token_type_ids):
        return model(
            input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
        ).logits

    lig = LayerIntegratedGradients(forward, embeddings)

    def run(sentence: str, n_steps: int | None, target: int) -> torch.Tensor:
        enc = tokenizer(sentence, return_tensors="pt", return_special_tokens_mask=True)
        special = enc.pop("special_tokens_mask").bool()
        baseline = torch.where(special, enc["input_ids"], tokenizer.pad_token_id)
        kwargs = {} if n_steps is None else {"n_steps": n_steps, "method": "gausslegendre"}
        return lig.attribute(
            enc["input_ids"],
            baselines=baseline,
            additional_forward_args=(enc["attention_mask"], enc["token_type_ids"]),
            target=target,
            **kwargs,
        )

    return run


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def compare(label: str, ours, theirs, repeats: int) -> float:
    ours(), theirs()  # warm-up
    t_ours, t_theirs = [], []
    for _ in range(repeats):
        t_ours.append(timed(ours))
        t_theirs.append(timed(theirs))
    a, b = statistics.median(t_ours), statistics.median(t_theirs)
    print(f"{label:<42} xplain {a:7.3f} s   captum {b:7.3f} s   ratio {a / b:5.2f}")
    return a / b


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sentences", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    model, tokenizer = sentiment_classifier()
    sentences = load_sst2("dev")["sentence"].tolist()[: args.sentences]
    explainer = xplain.Explainer(model, tokenizer=tokenizer)
    targets = [explainer.explain(s, "saliency").target for s in sentences]
    captum = captum_runner(model, tokenizer)
    print(f"{len(sentences)} SST-2 dev sentences, {args.threads} threads, "
          f"median of {args.repeats} repeats\n")

    def ours(**params):
        return lambda: [explainer.explain(s, "integrated_gradients", t, **params)
                        for s, t in zip(sentences, targets, strict=True)]

    def theirs(n_steps):
        return lambda: [captum(s, n_steps, t) for s, t in zip(sentences, targets, strict=True)]

    compare("equal steps (50 Gauss-Legendre)", ours(n_steps=50), theirs(50), args.repeats)
    compare("defaults (xplain vs Captum's 50 GL)", ours(), theirs(None), args.repeats)
    compare("nested adaptive trapezoid vs Captum's 50 GL", ours(rule="riemann_trapezoid"),
            theirs(None), args.repeats)
    for label, params in (("default", {}), ("nested trapezoid", {"rule": "riemann_trapezoid"})):
        runs = [explainer.explain(s, "integrated_gradients", t, **params)
                for s, t in zip(sentences, targets, strict=True)]
        gaps = [e.diagnostics["completeness_gap"] for e in runs]
        points = [e.n_model_evals - 2 for e in runs]  # path points (less prediction, baseline)
        print(f"xplain {label}: completeness gap median {np.median(gaps):.2e}, max "
              f"{max(gaps):.2e} (target <= 1e-2); path points per sentence: mean "
              f"{np.mean(points):.1f}, max {max(points)}")
    print()

    print("smallest n_steps with completeness gap <= 1% (median / max over sentences):")
    for rule in RULES:
        needed = []
        for s, t in zip(sentences, targets, strict=True):
            for n in STEP_GRID:
                if rule == "riemann_trapezoid" and n < 2:
                    continue
                e = explainer.explain(s, "integrated_gradients", t, rule=rule, n_steps=n)
                if e.diagnostics["completeness_gap"] <= 0.01:
                    needed.append(n)
                    break
            else:
                needed.append(float("inf"))
        print(f"  {rule:<18} median {np.median(needed):5.0f}   max {max(needed):5.0f}")


if __name__ == "__main__":
    main()
