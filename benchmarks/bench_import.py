"""Import time and time to a first explanation, each in a fresh process (issue 15).

Every snippet runs in a new interpreter (``python -c``), ``--repeats`` times, interleaved
with the others, and the median wall time of the process is reported (interpreter start
included: ``python -c pass`` is the floor). Rows:

* ``import xplain``, ``from xplain import Explainer``, and the latter after the modules it
  imported eagerly before issue 15 (pandas, scipy.stats, scipy.special, sklearn's linear
  models): what the lazy imports save;
* the incumbents' imports: ``import shap``, ``import captum.attr``,
  ``import lime.lime_tabular``, and ``import torch`` alone;
* a first tabular KernelSHAP explanation of a scikit-learn logistic regression (16
  features, 10 background rows, 512 evaluations) vs shap's ``KernelExplainer`` on the
  same model (both include importing sklearn and fitting the model);
* a first text Integrated Gradients explanation (the demo MiniLM SST-2 classifier, from
  its cached folder) vs Captum's ``LayerIntegratedGradients`` (50 steps) vs loading the
  model alone.

Run: ``.venv/bin/python benchmarks/bench_import.py [--repeats 5] [--parts it]``
(``--parts i``: imports only; ``t``: the first explanations).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time

from _harness import print_table, ratio

IMPORTS = {
    "python -c pass (floor)": "pass",
    "import torch": "import torch",
    "import xplain": "import xplain",
    "from xplain import Explainer": "from xplain import Explainer",
    "same, after the eager imports of before": (
        "import pandas, scipy.stats, scipy.special, sklearn.linear_model\n"
        "from xplain import Explainer"
    ),
    "import shap": "import shap",
    "import captum.attr": "import captum.attr",
    "import lime.lime_tabular": "import lime.lime_tabular",
}

TABULAR = """
import numpy as np
from sklearn.linear_model import LogisticRegression
rng = np.random.default_rng(0)
x = rng.normal(size=(400, 16))
model = LogisticRegression().fit(x, (x @ rng.normal(size=16) > 0).astype(int))
"""
FIRST = {
    "tabular: sklearn model only": TABULAR,
    "tabular: first xplain kernel_shap": TABULAR + (
        "from xplain import Explainer\n"
        "Explainer(model, data=x[:10]).explain(x[10], 'kernel_shap', target=1, max_evals=512)"
    ),
    "tabular: first shap KernelExplainer": TABULAR + (
        "import shap\n"
        "shap.KernelExplainer(lambda d: model.predict_proba(d)[:, 1], x[:10])"
        ".shap_values(x[10:11], nsamples=512, silent=True)"
    ),
}
TEXT = """
from transformers import AutoModelForSequenceClassification, AutoTokenizer
folder = {folder!r}
model = AutoModelForSequenceClassification.from_pretrained(folder).eval()
tokenizer = AutoTokenizer.from_pretrained(folder)
sentence = "a gripping, funny and quietly moving film"
"""
TEXT_FIRST = {
    "text: model load only": "",
    "text: first xplain integrated_gradients": (
        "from xplain import Explainer\n"
        "Explainer(model, tokenizer=tokenizer).explain(sentence, 'integrated_gradients', 1)"
    ),
    "text: first captum LayerIntegratedGradients": """
from captum.attr import LayerIntegratedGradients
import torch
enc = tokenizer(sentence, return_tensors="pt", return_special_tokens_mask=True)
special = enc.pop("special_tokens_mask").bool()
def forward(ids, mask, types):
    return model(input_ids=ids, attention_mask=mask, token_type_ids=types).logits
LayerIntegratedGradients(forward, model.get_input_embeddings()).attribute(
    enc["input_ids"], baselines=torch.where(special, enc["input_ids"], tokenizer.pad_token_id),
    additional_forward_args=(enc["attention_mask"], enc["token_type_ids"]), target=1,
    n_steps=50, method="gausslegendre")
""",
}


def process_time(code: str) -> float:
    """Wall time of a fresh interpreter running ``code`` (it must succeed)."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
    return time.perf_counter() - start


def interleaved(snippets: dict[str, str], repeats: int) -> dict[str, float]:
    """Median process time of each snippet over ``repeats`` interleaved rounds."""
    times: dict[str, list[float]] = {name: [] for name in snippets}
    for _ in range(repeats):
        for name, code in snippets.items():
            times[name].append(process_time(code))
    return {name: statistics.median(values) for name, values in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="interleaved rounds")
    parser.add_argument("--parts", default="it", help="i: imports, t: first explanations")
    args = parser.parse_args()
    print(
        f"fresh processes, median of {args.repeats} interleaved repeats, {os.cpu_count()} "
        f"cores, load average {os.getloadavg()[0]:.2f}\n"
    )
    if "i" in args.parts:
        t = interleaved(IMPORTS, args.repeats)
        ref = t["from xplain import Explainer"]
        print_table(
            ["process", "seconds", "/ from xplain import Explainer"],
            [[name, f"{s:.2f}", f"{ratio(s, ref)}x"] for name, s in t.items()],
        )
    if "t" in args.parts:
        from xplain.zoo import sentiment_classifier_path

        text = TEXT.format(folder=str(sentiment_classifier_path()))
        snippets = {**FIRST, **{name: text + code for name, code in TEXT_FIRST.items()}}
        t = interleaved(snippets, args.repeats)
        rows = []
        for modality, ours, theirs, base in (
            ("tabular", "first xplain kernel_shap", "first shap KernelExplainer",
             "sklearn model only"),
            ("text", "first xplain integrated_gradients",
             "first captum LayerIntegratedGradients", "model load only"),
        ):
            a, b, c = (t[f"{modality}: {k}"] for k in (ours, theirs, base))
            rows.append([
                f"{modality}: {ours} vs {theirs}", f"{a:.2f}", f"{b:.2f}", f"{c:.2f}",
                f"{ratio(a, b)}x", f"{ratio(a - c, b - c)}x",
            ])
        print_table(
            ["first explanation (fresh process)", "xplain s", "incumbent s", "model only s",
             "ratio", "ratio beyond the model"],
            rows,
        )


if __name__ == "__main__":
    main()
