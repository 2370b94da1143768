"""``make demo``: explain real data with the offline demo models, in one HTML report.

Sections: SST-2 sentences explained token by token by the MiniLM sentiment model (the
methods side by side); one Adult income row explained by LIME, KernelSHAP and TreeSHAP on
gradient-boosted trees (compared, with faithfulness metrics) and by Integrated Gradients on
an MLP; and scikit-learn digits explained pixel by pixel by a small CNN (original,
saliency, SmoothGrad, IG, Grad-CAM, XRAI side by side). Each instance has its own heading.
Prints where the report is.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from xplain.datasets import load_sst2
from xplain.explainer import Explainer
from xplain.report.render import render_document
from xplain.zoo import adult_models, digits_cnn, digits_images, sentiment_classifier

TEXT_METHODS = ("saliency", "input_x_gradient", "integrated_gradients", "smoothgrad")
TREE_METHODS = ("lime", "kernel_shap", "tree_shap")
IMAGE_METHODS = ("saliency", "smoothgrad", "integrated_gradients", "grad_cam", "xrai")
IMAGE_METRICS = ("deletion_auc", "insertion_auc")


def text_section(n_sentences: int) -> tuple[str, list]:
    """Explain the first SST-2 dev sentences with every text gradient method."""
    model, tokenizer = sentiment_classifier()
    explainer = Explainer(model, tokenizer=tokenizer)
    sentences = load_sst2("dev")["sentence"].tolist()[:n_sentences]
    instances = []
    for i, sentence in enumerate(sentences, 1):
        comparison = explainer.compare(sentence, TEXT_METHODS)  # no metrics: not asked for
        instances.append((f"Sentence {i}: \u201c{sentence}\u201d", [comparison]))
        ig = comparison.explanations["integrated_gradients"]
        top = ", ".join(ig.top(3)["feature"])
        print(
            f"{ig.predicted_label:>8} ({ig.prediction_text()})  {sentence[:60]!r:64}"
            f" IG top: {top}  (gap {ig.diagnostics['completeness_gap']:.1e})"
        )
    return "Sentiment (MiniLM fine-tuned on SST-2), token attributions", instances


def tabular_section(row: int) -> tuple[str, list]:
    """One Adult test row: the tree model compared by three methods, the MLP by IG."""
    models = adult_models()
    instance = models.X_test.iloc[row]
    comparison = models.gbt_explainer(background_size=50).compare(instance, TREE_METHODS)
    comparison.evaluate()  # the faithfulness metrics the report shows (model calls)
    ig = models.mlp_explainer(background_size=50).explain(
        instance, "integrated_gradients", target=comparison.target  # the class the trees chose
    )
    for name, e in [*comparison.explanations.items(), ("integrated_gradients (MLP)", ig)]:
        top = ", ".join(e.top(3)["feature"])
        print(f"adult row {row}: {name:<27} {e.target_label}: {e.prediction_text()}"
              f"  top: {top}")
    print(f"  (GBT test accuracy {models.gbt_accuracy:.3f}, MLP {models.mlp_accuracy:.3f})")
    heading = (
        f"Adult income, test row {row}: gradient-boosted trees (LIME, KernelSHAP, TreeSHAP) "
        "and an MLP (Integrated Gradients)"
    )
    instance = f"Test row {row}, explaining class \u201c{comparison.target_label}\u201d"
    return heading, [(instance, [comparison, ig])]


def image_section(n_images: int) -> tuple[str, list]:
    """The first test digits, each explained by every image method side by side."""
    model, preprocess, labels = digits_cnn()
    explainer = Explainer(model, modality="image", preprocess=preprocess, labels=labels)
    images, truth = digits_images("test")
    instances = []
    for i, (image, label) in enumerate(zip(images[:n_images], truth[:n_images].tolist(),
                                           strict=True), 1):
        comparison = explainer.compare(image, IMAGE_METHODS, metrics=IMAGE_METRICS)
        instances.append((f"Test digit {i}: a {label}", [comparison]))
        best = comparison.evaluate()["deletion_auc"].idxmin()
        first = next(iter(comparison.explanations.values()))
        print(
            f"digit {label}: predicted {comparison.target_label} "
            f"({first.prediction_text()})  lowest deletion AUC: {best}"
        )
    return "Digits (small CNN on scikit-learn's digits), pixel attributions", instances


def main(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(description="Run the xplain demo and write an HTML report.")
    parser.add_argument("--out", default="out/xplain-demo.html", help="report path")
    parser.add_argument("--sentences", type=int, default=5)
    parser.add_argument("--adult-row", type=int, default=15, help="Adult test row to explain")
    parser.add_argument("--images", type=int, default=2)
    args = parser.parse_args(argv)
    sections = [
        text_section(args.sentences),
        tabular_section(args.adult_row),
        image_section(args.images),
    ]
    path = Path(args.out)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_document("xplain demo", sections), encoding="utf-8")
    print(f"\nReport written to {path.resolve()}")
    return path


if __name__ == "__main__":
    main()
