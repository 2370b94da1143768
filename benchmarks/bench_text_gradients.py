"""Integrated Gradients on the offline sentiment model: xplain vs Captum, side by side.

Prints, in one process with the same thread settings (shared harness: warm-up, then
interleaved rounds, medians), ratios xplain / Captum ``LayerIntegratedGradients``:

1. equal steps: 50 Gauss-Legendre steps, same PAD baseline keeping [CLS]/[SEP], all steps
   in one batch; beside it a bare forward+backward of the same 50 rows per sentence (the
   floor: what the model alone costs);
2. defaults, on 20 SST-2 dev sentences and on the 20 longest dev sentences: xplain's
   defaults (adaptive Fejer from 15 nested nodes, per-sentence completeness gap <= 1%)
   and its previous default (adaptive Gauss-Legendre, 16 then a fresh 32...) vs Captum's
   defaults (50 Gauss-Legendre steps), with the gaps and path points xplain spends, and
   the bare forward+backward passes of the same sizes as the defaults' (their floor);
3. with ``--rules``: per quadrature rule, the smallest n_steps reaching a gap <= 1%.

Run: ``.venv/bin/python benchmarks/bench_text_gradients.py [--repeats 5] [--threads 2]
[--load 2] [--sentences 20] [--rules]``; ``--quick`` (6 sentences, 3 repeats) takes about
a minute on 2 idle cores.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
from _harness import add_common_arguments, bench_session, print_table, ratio, side_by_side
from captum.attr import LayerIntegratedGradients

import xplain
from xplain.datasets import load_sst2
from xplain.methods.gradient._quadrature import RULES, quadrature
from xplain.zoo import sentiment_classifier

STEP_GRID = (3, 4, 6, 7, 8, 12, 15, 16, 24, 31, 32, 48, 63, 64, 96, 127, 128)
EQUAL_STEPS = 50


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


def bare_runner(model, tokenizer):
    """Forward+backward passes of a sentence's path rows (one pass per batch size given;
    default one of 50 rows): the model's own cost, nothing else."""
    embeddings = model.get_input_embeddings()

    def run(sentence: str, target: int, sizes: tuple[int, ...] = (EQUAL_STEPS,)) -> None:
        enc = tokenizer(sentence, return_tensors="pt")
        with torch.no_grad():
            x = embeddings(enc["input_ids"])  # [1, T, H]
        for size in sizes:
            alphas = torch.as_tensor(quadrature("gausslegendre", size)[0], dtype=torch.float32)
            path = (alphas.view(-1, 1, 1) * x).requires_grad_(True)  # [size, T, H]
            extras = {k: v.expand(size, -1) for k, v in enc.items() if k != "input_ids"}
            logits = model(inputs_embeds=path, **extras).logits
            torch.autograd.grad(logits[:, target].sum(), path)

    return run


def nested_passes(n_steps: int) -> tuple[int, ...]:
    """The path rows of each adaptive Fejer pass that ends at ``n_steps`` nodes (15, 16,
    32, ...)."""
    passes, nodes = [15], 15
    while nodes < n_steps:
        passes.append(nodes + 1)
        nodes = 2 * nodes + 1
    return tuple(passes)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_common_arguments(parser)
    parser.add_argument("--sentences", type=int, default=20)
    parser.add_argument("--quick", action="store_true", help="6 sentences, 3 repeats")
    parser.add_argument("--rules", action="store_true", help="smallest n_steps per rule")
    args = parser.parse_args()
    if args.quick:
        args.sentences, args.repeats = 6, 3

    model, tokenizer = sentiment_classifier()
    dev = load_sst2("dev")["sentence"].tolist()
    longest = sorted(dev, key=lambda s: -len(s.split()))[: args.sentences]
    sets = {f"{args.sentences} dev": dev[: args.sentences],
            f"{args.sentences} longest dev": longest}
    explainer = xplain.Explainer(model, tokenizer=tokenizer)
    captum, bare = captum_runner(model, tokenizer), bare_runner(model, tokenizer)

    with bench_session(args):
        rows = []
        for set_name, sentences in sets.items():
            targets = [explainer.explain(s, "saliency").target for s in sentences]
            pairs = list(zip(sentences, targets, strict=True))
            # the passes xplain's defaults make per sentence, for their bare model cost
            passes = [nested_passes(explainer.explain(s, "integrated_gradients", t)
                                    .diagnostics["n_steps"]) for s, t in pairs]

            def ours(pairs=pairs, **params):
                return lambda: [explainer.explain(s, "integrated_gradients", t, **params)
                                for s, t in pairs]

            def theirs(n_steps, pairs=pairs):
                return lambda: [captum(s, n_steps, t) for s, t in pairs]

            runs = {
                "captum 50 GL": theirs(EQUAL_STEPS),
                "xplain 50 GL": ours(n_steps=EQUAL_STEPS),
                "bare fwd+bwd": lambda pairs=pairs: [bare(s, t) for s, t in pairs],
                "captum defaults": theirs(None),
                "xplain defaults": ours(),
                "bare passes of the defaults": lambda pairs=pairs, passes=passes: [
                    bare(s, t, p) for (s, t), p in zip(pairs, passes, strict=True)
                ],
                "xplain previous (adaptive GL)": ours(rule="gausslegendre"),
            }
            if set_name != f"{args.sentences} dev":  # equal steps: the dev set only
                for name in ("captum 50 GL", "xplain 50 GL", "bare fwd+bwd"):
                    del runs[name]
            t = side_by_side(runs, args.repeats)
            if "captum 50 GL" in t:
                ref = t["captum 50 GL"].median
                rows.append(("equal steps (50 GL)", set_name,
                             ratio(t["xplain 50 GL"].median, ref), "50", "-"))
                rows.append(("bare forward+backward, 50 rows", set_name,
                             ratio(t["bare fwd+bwd"].median, ref), "50", "-"))
            for name in ("xplain defaults", "xplain previous (adaptive GL)"):
                done = t[name].result
                gaps = [e.diagnostics["completeness_gap"] for e in done]
                points = [e.n_model_evals - 2 for e in done]  # less prediction, baseline
                rows.append((f"{name} vs Captum's 50 GL", set_name,
                             ratio(t[name].median, t["captum defaults"].median),
                             f"{np.mean(points):.1f} / {max(points)}",
                             f"{np.median(gaps):.1e} / {max(gaps):.1e}"))
            rows.append(("bare forward+backward of the defaults' passes", set_name,
                         ratio(t["bare passes of the defaults"].median,
                               t["captum defaults"].median),
                         f"{np.mean([sum(p) for p in passes]):.1f}", "-"))
        print_table(["IG", "sentences", "time ratio vs Captum", "path points mean / max",
                     "gap median / max"], rows)

        if args.rules:
            print("smallest n_steps with completeness gap <= 1% (median / max over sentences):")
            rule_rows = []
            for set_name, sentences in sets.items():
                targets = [explainer.explain(s, "saliency").target for s in sentences]
                for rule in RULES:
                    needed = [_smallest(explainer, s, t, rule)
                              for s, t in zip(sentences, targets, strict=True)]
                    rule_rows.append((set_name, rule, f"{np.median(needed):.0f}",
                                      f"{max(needed):.0f}"))
            print_table(["sentences", "rule", "median", "max"], rule_rows)


def _smallest(explainer, sentence: str, target: int, rule: str) -> float:
    """The smallest n_steps of STEP_GRID with a gap <= 1% (inf: none)."""
    for n in STEP_GRID:
        if rule == "riemann_trapezoid" and n < 2:
            continue
        e = explainer.explain(sentence, "integrated_gradients", target, rule=rule, n_steps=n)
        if e.diagnostics["completeness_gap"] <= 0.01:
            return n
    return float("inf")


if __name__ == "__main__":
    main()
