"""The tutorial notebooks (``notebooks/*.ipynb``) run top to bottom, cleanly, and check out.

The notebooks are tutorials: prose and code that shows results, no ``assert``. The facts
each one relies on are checked here: :data:`CHECKS` holds, per notebook, check cells that
the test inserts right after the code cell they belong to (found by one of its lines), so
they run in the same kernel on the notebook's own variables. A failing check (or any
error) fails the test with the cell and its traceback; so does a warning printed in a cell's
output. A notebook runs in the ``python3`` kernel of this environment, in a fresh
temporary working directory (so files it writes land there). The demo models come from
the xplain cache like in the rest of the suite (``$XPLAIN_CACHE_DIR`` or
``~/.cache/xplain``; built offline on first use).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOK_DIR = Path(__file__).resolve().parents[1] / "notebooks"
NOTEBOOKS = sorted(NOTEBOOK_DIR.glob("*.ipynb"))
EXPECTED = [
    "01_sentiment_tokens.ipynb",
    "02_adult_tabular.ipynb",
    "03_metrics_and_sanity.ipynb",
    "04_dataset_scale.ipynb",
    "05_evaluation_second_round.ipynb",
]
CELL_TIMEOUT_S = 600  # per cell; each notebook takes 15-90 s on 2 CPU cores

# notebook -> [(text found in one code cell, the check cell run right after that cell)]
CHECKS: dict[str, list[tuple[str, str]]] = {
    "01_sentiment_tokens": [
        (
            'print(ex.modality, ex.output, model.config.id2label)',
            """\
assert ex.modality == "text" and ex.output == "logits"
assert model.config.id2label == {0: "negative", 1: "positive"}
""",
        ),
        (
            'e = ex.explain(text, method="integrated_gradients")',
            """\
assert e.target_label == "negative" and e.prediction[0] > 0.9
""",
        ),
        (
            'top = e.top(5)',
            """\
assert len(top) == 5 and not top["special"].any()
assert top["value"].abs().is_monotonic_decreasing
""",
        ),
        (
            'frame = e.to_frame()',
            """\
assert list(frame["feature"]) == e.features and frame["special"].sum() == 2  # [CLS], [SEP]
""",
        ),
        (
            'print(e.diagnostics)',
            """\
assert e.diagnostics["completeness_gap"] < 0.01
assert coarse.params["n_steps"] == 2
assert coarse.diagnostics["completeness_gap"] >= e.diagnostics["completeness_gap"]
""",
        ),
        (
            'METHODS = ["saliency", "input_x_gradient", "integrated_gradients", "smoothgrad"]',
            """\
labels = dict(zip(sentences.sentence, sentences.label, strict=True))
for (text, method), exp in explanations.items():
    assert exp.target == labels[text]  # the model gets these three right
    assert exp.features == explanations[text, "saliency"].features
    if method == "saliency":
        assert (exp.values >= 0).all()  # |gradient|; absolute=False keeps the sign
    if method == "integrated_gradients":
        assert exp.diagnostics["completeness_gap"] < 0.01
""",
        ),
        (
            'pieces = ex.explain(text, method="integrated_gradients")',
            """\
assert "##iche" in pieces.features and "cliches" in words.features
assert len(words.features) < len(pieces.features)
np.testing.assert_allclose(words.values.sum(), pieces.values.sum(), rtol=1e-4)
assert words.diagnostics["completeness_gap"] < 0.01
""",
        ),
        (
            'text = sentences.sentence[2]',
            """\
assert c.methods == METHODS and c.target_label == "positive"
assert {exp.target for exp in c.explanations.values()} == {1}
""",
        ),
        (
            'agreement = c.agreement(k=3)',
            """\
pair = agreement.set_index(["method_a", "method_b"]).loc[("saliency", "smoothgrad")]
assert len(agreement) == len(METHODS) * (len(METHODS) - 1) // 2
assert agreement[["spearman", "kendall"]].abs().max().max() <= 1
assert agreement["top_k_jaccard"].between(0, 1).all()
assert pair["spearman"] > 0.8
""",
        ),
        (
            'saliency = c.explanations["saliency"]',
            """\
assert 0.5 < size["0.15"] / size["saliency"] < 2
assert size["3.0"] > 3 * size["saliency"]
""",
        ),
        (
            'smooth = ex.explain(text, method="integrated_gradients", noise_samples=8, n_steps=16)',
            """\
words = ~plain.to_frame()["special"]
assert smooth.method == "integrated_gradients"
assert smooth.params["noise_samples"] == 8 and smooth.params["n_steps"] == 16
assert smooth.n_model_evals >= 8 * 16
assert smooth.diagnostics["completeness_gap"] < 0.01
assert np.corrcoef(plain.values[words], smooth.values[words])[0, 1] > 0.9
""",
        ),
    ],
    "02_adult_tabular": [
        (
            'import numpy as np',
            """\
assert models.gbt_accuracy > 0.82 and models.mlp_accuracy > 0.82
""",
        ),
        (
            "gbt = models.gbt_explainer()",
            """\
assert "tree_shap" in gbt.applicable_methods()
assert "integrated_gradients" not in gbt.applicable_methods()  # trees have no gradients
assert "integrated_gradients" in mlp.applicable_methods()
""",
        ),
        (
            'c = gbt.compare(',
            """\
assert c.target_label == ">50K" and c.prediction[1] > 0.9
""",
        ),
        (
            "lime, kshap, tshap = ",
            """\
assert abs(tshap.values.sum() - (p - base)) < 1e-6
assert abs(kshap.values.sum() - (p - base)) < 1e-6
assert kshap.diagnostics["efficiency_gap"] < 1e-9
assert kshap.diagnostics["exact"]  # every background row's game enumerated
for e in c.explanations.values():
    assert e.top(1)["feature"].item() == "capital-gain"  # 13,550 in capital gains
""",
        ),
        (
            'agreement = c.agreement(k=5)',
            """\
sign = agreement.set_index(["method_a", "method_b"])["sign_agreement"]
assert (agreement["spearman"] > 0.8).all()
assert sign[("kernel_shap", "tree_shap")] >= max(sign[("lime", "kernel_shap")],
                                                 sign[("lime", "tree_shap")])
""",
        ),
        (
            'ig = mlp.explain(row, method="integrated_gradients")',
            """\
assert ig.features == list(models.X_test.columns)
assert ig.target_label == ">50K" and ig.diagnostics["completeness_gap"] < 0.01
assert ig.top(1)["feature"].item() == "capital-gain"
""",
        ),
        (
            "small = models.gbt_explainer(",
            """\
np.testing.assert_allclose(tree.values, exact.values, atol=1e-8)
""",
        ),
        (
            'rows = [models.X_test.iloc[i] for i in range(200)]',
            """\
assert len(es) == 200 and {e.target_label for e in es} == {">50K"}
""",
        ),
        (
            'report = xplain.report.BatchReport(es)',
            """\
assert list(importance["feature"]) == list(mean_abs.index)
np.testing.assert_allclose(importance["mean_abs"], mean_abs.to_numpy())
assert (importance["count"] == 200).all()
assert importance["feature"].iloc[0] in {"relationship", "marital-status", "capital-gain"}
""",
        ),
        (
            'path = xplain.report.save_batch_html(es, "adult_tree_shap.html")',
            """\
assert path.stat().st_size > 10_000 and "<svg" in path.read_text(encoding="utf-8")
""",
        ),
        (
            'X = models.X_test.iloc[:200]',
            """\
assert by_relationship["Husband"] > 0 > by_relationship["Own-child"]
assert min(trend.values()) > 0.5
""",
        ),
    ],
    "03_metrics_and_sanity": [
        (
            'model, tok = zoo.sentiment_classifier()',
            """\
assert c.target_label == "positive" and c.prediction[1] > 0.9
""",
        ),
        (
            'scores = c.evaluate()',
            """\
assert list(scores.index) == METHODS
assert higher["deletion_auc"] is False and higher["insertion_auc"] is True
""",
        ),
        (
            'scores[["completeness_gap", "deletion_auc",',
            """\
not_additive = ["saliency", "input_x_gradient", "smoothgrad"]
assert scores.loc["integrated_gradients", "completeness_gap"] < 0.01
assert scores.loc["kernel_shap", "completeness_gap"] < 1e-6
assert scores.loc[not_additive, "completeness_gap"].isna().all()
assert scores["deletion_auc"].idxmax() == "input_x_gradient"
assert scores["faithfulness_correlation"].idxmin() == "input_x_gradient"
for method in ["saliency", "integrated_gradients", "smoothgrad", "lime", "kernel_shap"]:
    assert scores.loc[method, "deletion_auc"] < scores.loc[method, "insertion_auc"]
    assert scores.loc[method, "faithfulness_correlation"] > 0.5
""",
        ),
        (
            'faithfulness = ["deletion_auc", "insertion_auc", "comprehensiveness", "sufficiency",',
            """\
assert set(ranks.index[:2]) == {"lime", "kernel_shap"} and ranks.index[-1] == "input_x_gradient"
""",
        ),
        (
            'sensitivity = pd.Series({',
            """\
assert sensitivity.idxmax() == "input_x_gradient"
assert sensitivity["integrated_gradients"] < sensitivity["saliency"]
""",
        ),
        (
            'agreement = c.agreement(k=3)',
            """\
pair = agreement.set_index(["method_a", "method_b"])["spearman"]
ixg = agreement[(agreement.method_a == "input_x_gradient")
                | (agreement.method_b == "input_x_gradient")]
assert len(agreement) == len(METHODS) * (len(METHODS) - 1) // 2
assert pair[("saliency", "smoothgrad")] > 0.8
assert pair[("lime", "kernel_shap")] > 0.5
assert pair[("integrated_gradients", "kernel_shap")] > 0.5
assert (ixg["spearman"] < 0.2).all()
""",
        ),
        (
            'cnn, preprocess, labels = zoo.digits_cnn()',
            """\
assert e.predicted_label == str(int(digits[0])) and e.image_shape == (32, 32)
""",
        ),
        (
            'check = metrics.model_parameter_randomisation(dex, e, seed=0)',
            """\
assert list(check["layer"]) == ["10", "6", "3", "0"]  # Linear, then the 3 convs, top first
""",
        ),
        (
            'rows = []',
            """\
assert summary.loc["saliency", "top layer random"] < 0.5
assert summary.loc["saliency", "all layers random"] < 0.2
assert summary.loc["input_x_gradient", "all layers random"] > 0.6
""",
        ),
    ],
    "04_dataset_scale": [
        (
            'adult = gbt.explain_dataset(',
            """\
assert len(adult) == len(models.X_test) and adult.complete
""",
        ),
        (
            'for path in sorted((OUT / "adult_tree_shap").iterdir())[:4]:',
            """\
assert len(manifest["partitions"]) == 8  # 2,000 rows in blocks of 256
""",
        ),
        (
            'frame = adult.to_pandas()',
            """\
assert gap < 1e-6
""",
        ),
        (
            'importance = adult.global_importance()',
            """\
expected = values.abs().mean().sort_values(ascending=False)
assert list(importance["feature"]) == list(expected.index)
np.testing.assert_allclose(importance["mean_abs"], expected.to_numpy())
assert importance["feature"].iloc[0] in {"relationship", "marital-status", "capital-gain"}
""",
        ),
        (
            'i = 3',
            """\
assert e.features == direct.features and e.target_label == ">50K"
np.testing.assert_allclose(e.values, direct.values, rtol=1e-9, atol=1e-12)
""",
        ),
        (
            'model, tok = zoo.sentiment_classifier()',
            """\
assert len(texts) == 1000
assert sst.complete and len(sst) == 1000
""",
        ),
        (
            "rows = sst.to_pandas(",
            """\
assert (rows["n_model_evals"] == 2).all()  # the prediction, then one forward+backward pass
""",
        ),
        (
            'tokens = sst.global_importance()',
            """\
assert "not" in frequent.index[:3]
""",
        ),
        (
            "e = sst.explanation(i)",
            """\
assert e.features == direct.features
np.testing.assert_allclose(e.values, direct.values, rtol=1e-4, atol=1e-6)
assert ig.features == e.features and ig.diagnostics["completeness_gap"] < 0.01
assert side.loc["bad", "input_x_gradient"] > 0 > side.loc["bad", "integrated_gradients"]
""",
        ),
        (
            'parts = sorted((OUT / "sst2_input_x_gradient").glob("part-*.parquet"))',
            """\
assert {path.name: path.stat().st_mtime_ns for path in parts} == written  # none rewritten
assert rewritten == []
""",
        ),
        (
            'folder = OUT / "adult_tree_shap"',
            """\
assert partial.missing_partitions == [5] and len(partial) == 2000 - (stop - first)
""",
        ),
        (
            "resumed = gbt.explain_dataset(",
            """\
assert resumed.complete and (folder / "_SUCCESS").exists()
assert all(folder.joinpath(n).stat().st_mtime_ns == t for n, t in mtimes.items())
pd.testing.assert_frame_equal(
    resumed.to_pandas().drop(columns="seconds"), before.drop(columns="seconds")
)
assert rewritten == ["part-000005.parquet"]
""",
        ),
        (
            'reopened = xplain.open_dataset(OUT / "sst2_input_x_gradient")',
            """\
assert len(reopened) == 1000 and reopened.method == "input_x_gradient"
""",
        ),
    ],
    "05_evaluation_second_round": [
        (
            "rationales = [char_spans(",
            """\
assert len(texts) == len(rationales) == 7
assert [[t[s:e] for s, e in r] for t, r in zip(texts, rationales)] == list(MARKED.values())
""",
        ),
        (
            "explanations = {method: [] for method in METHODS}",
            """\
truth = [sst.label[i] for i in MARKED]
for method in METHODS:
    assert [e.target for e in explanations[method]] == truth  # all seven right
assert all(len(scores) == len(METHODS) for scores in comprehensiveness)
""",
        ),
        (
            "per_sentence = metrics.plausibility(",
            """\
assert list(per_sentence.index) == [*range(7), "macro", "micro"]
assert per_sentence.ge(0).all().all() and per_sentence.le(1).all().all()
# by hand, "... gone horribly wrong .": k = 2 marked tokens; IG's top two are exactly them
e = explanations["integrated_gradients"][1]
frame = e.to_frame()
top2 = frame[~frame["special"]].sort_values("value", ascending=False)["feature"][:2]
assert set(top2) == {"horribly", "wrong"} and per_sentence.loc[1, "token_f1"] == 1.0
np.testing.assert_allclose(
    per_sentence.loc["macro", "token_f1"],
    np.mean([metrics.token_f1(ex, e, rationale=r)
             for e, r in zip(explanations["integrated_gradients"], rationales)]),
)
""",
        ),
        (
            'table["comprehensiveness"] = pd.concat(comprehensiveness, axis=1).mean(axis=1)',
            """\
assert list(table.index) == METHODS  # one row per method
plaus = table[["token_f1", "iou_f1", "auprc"]]
assert plaus.ge(0).all().all() and plaus.le(1).all().all()
assert (plaus.idxmax() == "saliency").all()  # most plausible on all three
assert table["comprehensiveness"].idxmax() == "kernel_shap"  # most faithful
assert (plaus.idxmin() == "input_x_gradient").all()
assert table["comprehensiveness"].idxmin() == "input_x_gradient"
assert table.loc["integrated_gradients", ["plausibility rank", "faithfulness rank"]].eq(2).all()
""",
        ),
        (
            "boxes = [ink_box(images[i]) for i in range(N_IMAGES)]",
            """\
for i, (x0, y0, x1, y1) in enumerate(boxes):
    ink = images[i][0].numpy() >= 0.5
    inside = np.zeros_like(ink)
    inside[y0:y1, x0:x1] = True
    assert 0 <= x0 < x1 <= 32 and 0 <= y0 < y1 <= 32
    assert ink[inside].any() and not ink[~inside].any()  # the box holds all the ink
    assert ink[y0:y1, x0].any() and ink[y0:y1, x1 - 1].any()  # and is tight
""",
        ),
        (
            "localisation = pd.DataFrame(rows).groupby",
            """\
assert localisation.ge(0).all().all() and localisation.le(1).all().all()
assert len(rows) == 3 * N_IMAGES and 0.5 < share < 0.7
assert localisation.loc[["saliency", "integrated_gradients"], "pointing_game"].eq(1).all()
assert localisation.loc["grad_cam", "pointing_game"] == 0.8
assert (localisation["relevance_mass_accuracy"] > share).all()
assert localisation["relevance_mass_accuracy"].idxmax() == "integrated_gradients"
assert localisation.loc["saliency", "relevance_rank_accuracy"] > share + 0.05
assert localisation.loc["saliency", "localisation_iou"] > share / (2 - share) + 0.05
assert (localisation.drop("saliency")["localisation_iou"] < share / (2 - share) + 0.05).all()
""",
        ),
        (
            "metrics.confidence_summary(dex, es)",
            """\
assert (confidence["n"] == N_IMAGES).all()
assert confidence["average_drop"].between(0, 100).all()
assert confidence["average_drop"].idxmin() == "integrated_gradients"
assert confidence.loc["integrated_gradients", "average_drop"] < 20
assert (confidence.drop("integrated_gradients")["average_drop"] > 40).all()
assert (confidence["increase_in_confidence"] == 0).all()
""",
        ),
        (
            "text = sst.sentence[11]",
            """\
assert tokens[0] == "[CLS]" and tokens[-1] == "[SEP]" and len(LAYERS) == 6
for layer, a in conductance.items():
    assert a.target_label == "positive" and a.values.shape == (len(tokens), 384)
    np.testing.assert_allclose(per_token[layer.split(".")[-1]].sum(), a.total, rtol=1e-5)
first = per_token["0"].drop(["[CLS]", "[SEP]"])
assert set(first.nlargest(2).index) == {"very", "well"}
""",
        ),
        (
            "gaps = pd.DataFrame(",
            """\
assert (gaps["completeness_gap"] < 0.005).all()
np.testing.assert_allclose(gaps["sum over units"], gaps["f(x) - f(baseline)"], rtol=0.005)
assert (gaps["share on [CLS]"].iloc[:5].abs() < 0.1).all()
np.testing.assert_allclose(gaps["share on [CLS]"].iloc[-1], 1.0, atol=1e-6)
""",
        ),
        (
            "text = sst.sentence[6]",
            """\
sal, ixg = certificates["saliency"], certificates["input_x_gradient"]
for cert in certificates.values():
    assert cert.k == 3 and len(cert.features) == 3 and cert.lam == 0.25 and cert.q == 32
    assert 0 <= cert.incremental_radius <= 2 and 0 <= cert.decremental_radius <= 2
    assert cert.p_a >= cert.p_b >= 0
    np.testing.assert_allclose(cert.incremental_radius, (cert.p_a - cert.p_b) / (2 * 0.25))
    assert cert.matches_model  # the smoothed full input is negative, as the model says
assert sal.features == ["gone", "horribly", "wrong"] and sal.consistent
assert 0.5 < sal.incremental_radius < 1 and sal.certified_additions == 0
assert not ixg.consistent and ixg.labels[ixg.label] == "positive"
assert sal.decremental_radius == ixg.decremental_radius  # the same full input
""",
        ),
        (
            "radius = c.evaluate(",
            """\
assert list(radius.index) == ["saliency", "input_x_gradient"]
assert (radius["certified_radius"] >= 0).all()
np.testing.assert_allclose(radius.loc["saliency", "certified_radius"],
                           certificates["saliency"].incremental_radius)
assert radius.loc["input_x_gradient", "certified_radius"] == 0  # not consistent
""",
        ),
    ],
}


def code_cells(nb) -> list:
    return [cell for cell in nb.cells if cell.cell_type == "code"]


def anchored(nb, anchor: str):
    """The one code cell of ``nb`` whose source contains ``anchor``."""
    cells = [cell for cell in code_cells(nb) if anchor in cell.source]
    assert len(cells) == 1, f"{len(cells)} code cells contain {anchor!r}; update CHECKS"
    return cells[0]


def with_checks(nb, checks: list[tuple[str, str]]):
    """``nb`` with each check cell inserted right after the code cell it belongs to."""
    for anchor, source in reversed(checks):  # reversed: checks of one cell keep their order
        index = nb.cells.index(anchored(nb, anchor))
        nb.cells.insert(index + 1, nbformat.v4.new_code_cell(source))
    return nb


def test_the_tutorial_notebooks_are_all_there():
    assert [p.name for p in NOTEBOOKS] == EXPECTED
    assert sorted(CHECKS) == [p.stem for p in NOTEBOOKS]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_is_a_clean_tutorial_with_its_checks_here(path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.nbformat == 4
    assert nb.metadata["kernelspec"]["name"] == "python3"
    code = code_cells(nb)
    assert code and any(cell.cell_type == "markdown" for cell in nb.cells)
    for i, cell in enumerate(code):
        assert cell.outputs == [], f"code cell {i} has stored outputs; clear them"
        assert cell.execution_count is None, f"code cell {i} has an execution count"
        asserts = [n for n in ast.walk(ast.parse(cell.source)) if isinstance(n, ast.Assert)]
        assert not asserts, f"code cell {i} asserts: move the check to CHECKS in this file"
    for anchor, source in CHECKS[path.stem]:
        anchored(nb, anchor)
        compile(source, f"check after {anchor!r}", "exec")


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_runs_and_passes_its_checks_without_warnings(path, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # inherited by the kernel: never the network
    nb = with_checks(nbformat.read(path, as_version=4), CHECKS[path.stem])
    client = nbclient.NotebookClient(
        nb,
        timeout=CELL_TIMEOUT_S,
        kernel_name="python3",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()  # raises CellExecutionError naming the failing cell or check
    outputs = [output for cell in code_cells(nb) for output in cell.outputs]
    assert not [output for output in outputs if output.output_type == "error"]
    warnings = [
        output.text
        for output in outputs
        if output.output_type == "stream" and output.name == "stderr" and "Warning" in output.text
    ]
    assert not warnings, f"a cell printed a warning: {warnings[0][:2000]}"
