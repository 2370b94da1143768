"""Plausibility against human rationales (ERASER, DeYoung et al. 2020, arXiv:1911.03429).

Reference definitions checked by hand here:
* token P/R/F1 as ferret's ``Tokenf1_PlausibilityEvaluation`` (ferret-xai 0.4.2:
  ``tp = (true & pred).sum()``, P = tp / pred, R = tp / true, F1 = 0 when P or R is 0) on
  ferret's ``get_discrete_explanation_topK(scores, k, only_pos=True)`` (the top k among the
  positive scores);
* IoU-F1 as ERASER's ``partial_match_score`` (a predicted span matches at IoU >= 0.5;
  P = matches / predicted spans, R = matched human spans / human spans);
* AUPRC as average precision, sum_n (R_n - R_{n-1}) P_n (ferret and ERASER use the
  trapezoidal area of the PR curve instead: 0.7917 rather than 0.8333 on the example below).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import xplain
from xplain.datasets import load_eraser
from xplain.errors import InvalidInputError, InvalidParameterError, XplainError
from xplain.explanation import Explanation
from xplain.metrics import METRICS, available_metrics, plausibility
from xplain.metrics.plausibility import (
    align_rationale,
    auprc,
    discrete_rationale,
    iou_f1,
    iou_precision_recall_f1,
    token_f1,
    token_precision,
    token_precision_recall_f1,
    token_recall,
)

FIXTURE = Path(__file__).parent / "eraser_fixture"


def _explanation(values, special=None, instance=None) -> Explanation:
    values = np.asarray(values, dtype=float)
    d = values.size
    return Explanation(
        features=[f"t{i}" for i in range(d)], values=values, target=1, target_label="pos",
        prediction=np.array([0.4, 0.6]), labels=["neg", "pos"], method="hand", params={},
        diagnostics={}, n_model_evals=0, seconds=0.0, modality="text", output="probability",
        special=np.zeros(d, bool) if special is None else np.asarray(special, bool),
        instance=instance,
    )


# -- token precision / recall / F1 ------------------------------------------------------
def test_token_prf_hand_computed():
    # scores rank t0 (0.9) > t2 (0.8) > t4 (0.3) > t1 (0.1) > t3 (-0.5); truth {t0, t3, t4}
    e = _explanation([0.9, 0.1, 0.8, -0.5, 0.3])
    truth = [1, 0, 0, 1, 1]
    # default k = |truth| = 3: picked {t0, t2, t4}; tp = 2 -> P = R = F1 = 2/3
    assert token_precision_recall_f1(None, e, rationale=truth) == pytest.approx((2 / 3,) * 3)
    # k = 1: {t0}: P = 1, R = 1/3, F1 = 2 * 1 * 1/3 / (4/3) = 0.5
    assert token_precision(None, e, rationale=truth, k=1) == 1.0
    assert token_recall(None, e, rationale=truth, k=1) == pytest.approx(1 / 3)
    assert token_f1(None, e, rationale=truth, k=1) == pytest.approx(0.5)
    # k = 5 with positive_only: t3 (-0.5) is never picked -> {t0, t1, t2, t4}: P 2/4, R 2/3
    p, r, f = token_precision_recall_f1(None, e, rationale=truth, k=5)
    assert (p, r, f) == pytest.approx((0.5, 2 / 3, 2 * 0.5 * (2 / 3) / (0.5 + 2 / 3)))
    # without it, all five: P 3/5, R 1
    assert token_precision_recall_f1(None, e, rationale=truth, k=5, positive_only=False) == (
        pytest.approx((0.6, 1.0, 0.75))
    )
    # threshold 0.2: {t0, t2, t4} again
    assert token_f1(None, e, rationale=truth, threshold=0.2) == pytest.approx(2 / 3)


def test_nothing_picked_scores_zero_as_ferret():
    e = _explanation([-1.0, -2.0, -0.5])
    assert token_precision_recall_f1(None, e, rationale=[1, 0, 0]) == (0.0, 0.0, 0.0)
    assert iou_f1(None, e, rationale=[1, 0, 0]) == 0.0


def test_discrete_rationale_ties_in_feature_order():
    picked = discrete_rationale(np.array([1.0, 2.0, 2.0, 2.0]), k=2)
    assert picked.tolist() == [False, True, True, False]


def test_special_features_are_left_out():
    # [CLS] t1 t2 [SEP]: [CLS] scores highest but is never picked nor counted
    e = _explanation([5.0, 1.0, 0.2, 4.0], special=[1, 0, 0, 1])
    aligned = align_rationale(None, e, [1, 1, 0, 0])
    assert aligned.truth.tolist() == [True, False]
    assert token_precision_recall_f1(None, e, rationale=[0, 1, 0, 0]) == (1.0, 1.0, 1.0)


# -- IoU-F1 -----------------------------------------------------------------------------
def test_iou_f1_partial_overlaps_hand_computed():
    truth = [np.arange(0, 4), np.array([6, 7])]
    predicted = [np.arange(1, 4), np.arange(5, 9), np.array([10])]
    # IoU: {1,2,3} vs {0..3} = 3/4 (match); {5..8} vs {6,7} = 2/4 = 0.5 (match, >=);
    # {10}: 0. P = 2/3, R = 2/2, F1 = 0.8
    assert iou_precision_recall_f1(truth, predicted) == pytest.approx((2 / 3, 1.0, 0.8))
    # {4..8} vs {6, 7}: 2/5 = 0.4 < 0.5, no match: P = 1/3, R = 1/2, F1 = 0.4
    predicted = [np.arange(1, 4), np.arange(4, 9), np.array([10])]
    assert iou_precision_recall_f1(truth, predicted) == pytest.approx((1 / 3, 0.5, 0.4))
    # at iou=0.4 it matches again
    assert iou_precision_recall_f1(truth, predicted, 0.4)[2] == pytest.approx(0.8)


def test_iou_recall_counts_human_spans_not_predicted_ones():
    # two predicted halves of one human span, each IoU exactly 0.5: ERASER's code counts
    # 2 matches over 1 human span (recall 2); recall here is 1
    p, r, f = iou_precision_recall_f1([np.arange(4)], [np.arange(2), np.arange(2, 4)])
    assert (p, r, f) == (1.0, 1.0, 1.0)


def test_iou_f1_metric_on_mask_runs():
    # human runs {t1, t2} and {t5}; top-3 = {t1, t2, t3} -> one run {1,2,3}: IoU 2/3 with
    # {1,2} (match), 0 with {5}: P = 1/1, R = 1/2, F1 = 2/3
    e = _explanation([0.0, 0.9, 0.8, 0.7, 0.0, 0.1])
    assert iou_f1(None, e, rationale=[0, 1, 1, 0, 0, 1]) == pytest.approx(2 / 3)


# -- AUPRC ------------------------------------------------------------------------------
def test_auprc_hand_computed():
    # ranking t0 (hit), t1, t2 (hit), t3: AP = 1/2 * 1 + 1/2 * 2/3 = 5/6
    e = _explanation([0.9, 0.8, 0.7, 0.6])
    assert auprc(None, e, rationale=[1, 0, 1, 0]) == pytest.approx(5 / 6)
    # negative scores clipped to 0 tie with one another: AP over the tie = prevalence
    e = _explanation([-0.1, -0.2, -0.3, -0.4])
    assert auprc(None, e, rationale=[0, 0, 0, 1]) == pytest.approx(0.25)
    assert auprc(None, e, rationale=[0, 0, 0, 1], positive_only=False) == pytest.approx(0.25)
    assert auprc(None, e, rationale=[1, 0, 0, 0], positive_only=False) == pytest.approx(1.0)


# -- aggregate --------------------------------------------------------------------------
def test_plausibility_frame_macro_and_micro():
    e1 = _explanation([0.9, 0.1, 0.8, -0.5, 0.3])  # P = R = F1 = 2/3 (see above)
    e2 = _explanation([0.5, 0.4, 0.0])  # truth {t0}, k = 1: picked {t0}: P = R = F1 = 1
    frame = plausibility(None, [e1, e2], [[1, 0, 0, 1, 1], [1, 0, 0]])
    assert list(frame.index) == [0, 1, "macro", "micro"]
    assert frame.loc[0, "token_f1"] == pytest.approx(2 / 3)
    assert frame.loc[1, "token_f1"] == 1.0
    assert frame.loc["macro", "token_f1"] == pytest.approx((2 / 3 + 1) / 2)
    # micro: tp 2 + 1 over picked 3 + 1 and truth 3 + 1: P = R = 3/4
    assert frame.loc["micro", "token_precision"] == pytest.approx(0.75)
    assert frame.loc["micro", "token_f1"] == pytest.approx(0.75)
    # spans e1: human {0}, {3, 4}; picked {0}, {2}, {4}: {0} matches (1.0), {4} vs {3,4}
    # IoU 1/2 (match): P 2/3, R 2/2; e2: 1/1, 1/1. micro P = 3/4, R = 3/3
    assert frame.loc[0, "iou_f1"] == pytest.approx(0.8)
    assert frame.loc["micro", "iou_precision"] == pytest.approx(0.75)
    assert frame.loc["micro", "iou_recall"] == 1.0
    assert frame.loc["micro", "auprc"] <= 1.0


# -- sub-word alignment on the MiniLM tokenizer ----------------------------------------
TEXT = "a dull , lifeless and unwatchable script ."


def test_character_spans_cover_every_subword_piece(small_text_explainer):
    e = small_text_explainer.explain(TEXT, method="saliency")
    assert e.features[6:9] == ["un", "##watch", "##able"]  # [CLS] a dull , lifeless and ...
    start = TEXT.index("unwatchable")
    aligned = align_rationale(small_text_explainer, e, [(start, start + 11), (2, 6)])
    active = [f for f, s in zip(e.features, e.special, strict=True) if not s]
    assert [f for f, t in zip(active, aligned.truth, strict=True) if t] == [
        "dull", "un", "##watch", "##able"
    ]
    assert [s.tolist() for s in aligned.spans] == [[5, 6, 7], [1]]
    # a span inside a word (characters of "watch") still marks the piece holding them
    aligned = align_rationale(small_text_explainer, e, [(start + 3, start + 5)])
    assert [active[i] for i in np.flatnonzero(aligned.truth)] == ["##watch"]


def test_character_spans_on_merged_words(minilm_tokenizer, tiny_bert):
    ex = xplain.Explainer(tiny_bert, tokenizer=minilm_tokenizer, merge_subwords=True)
    e = ex.explain(TEXT, method="saliency")
    start = TEXT.index("unwatchable")
    aligned = align_rationale(ex, e, [(start, start + 11)])
    active = [f for f, s in zip(e.features, e.special, strict=True) if not s]
    assert [active[i] for i in np.flatnonzero(aligned.truth)] == ["unwatchable"]


def test_evaluate_takes_the_rationale_through_params(small_text_explainer):
    c = small_text_explainer.compare(TEXT, methods=["saliency", "occlusion"])
    spans = [(2, 6), (TEXT.index("unwatchable"), TEXT.index("unwatchable") + 11)]
    names = ["token_f1", "iou_f1", "auprc", "token_precision", "token_recall"]
    frame = c.evaluate(names, params={n: {"rationale": spans} for n in names})
    assert ((frame[names] >= 0) & (frame[names] <= 1)).all().all()
    for method, e in c.explanations.items():
        assert frame.loc[method, "token_f1"] == token_f1(small_text_explainer, e, rationale=spans)
    assert "iou_f1" in c.to_html()  # the report shows the last evaluation
    # the shortcut: rationale= goes to every evaluated metric that takes it
    shortcut = c.evaluate(names, rationale=spans)
    assert shortcut[names].equals(frame[names])
    mixed = c.evaluate(["token_f1", "deletion_auc"], rationale=spans)
    assert mixed["token_f1"].equals(frame["token_f1"])
    with pytest.raises(InvalidParameterError, match="'rationale', which none of the evaluated"):
        c.evaluate(["deletion_auc"], rationale=spans)
    with pytest.raises(InvalidParameterError, match="needs a human rationale"):
        c.evaluate(["token_f1"])


def test_registered_in_metrics():
    table = available_metrics().set_index("name")
    for name in ("token_precision", "token_recall", "token_f1", "iou_f1", "auprc"):
        assert table.loc[name, "category"] == "plausibility"
        assert "rationale" in METRICS[name].requires
        assert METRICS[name].higher_is_better is True


# -- bad input --------------------------------------------------------------------------
def test_bad_rationales_are_refused(small_text_explainer):
    e = small_text_explainer.explain(TEXT, method="saliency")
    with pytest.raises(InvalidInputError, match=r"\(40, 99\) lies outside"):
        token_f1(small_text_explainer, e, rationale=[(40, 99)])
    with pytest.raises(InvalidInputError, match="outside"):
        token_f1(small_text_explainer, e, rationale=[(5, 5)])
    with pytest.raises(InvalidInputError, match="empty"):
        token_f1(small_text_explainer, e, rationale=[])
    with pytest.raises(InvalidInputError, match="covers none"):
        token_f1(small_text_explainer, e, rationale=[(1, 2)])  # the space after "a"
    with pytest.raises(InvalidParameterError, match="character spans"):
        token_f1(small_text_explainer, e, rationale=["dull"])
    with pytest.raises(InvalidParameterError, match="needs a human rationale"):
        auprc(small_text_explainer, e)
    mask = np.zeros(e.n_features)
    with pytest.raises(InvalidInputError, match="covers none"):
        token_f1(small_text_explainer, e, rationale=mask)
    mask[2] = 2
    with pytest.raises(InvalidParameterError, match="0/1"):
        token_f1(small_text_explainer, e, rationale=mask)
    with pytest.raises(InvalidParameterError, match="not both"):
        token_f1(small_text_explainer, e, rationale=[(2, 6)], k=2, threshold=0.1)
    with pytest.raises(InvalidParameterError, match="'k' parameter"):
        token_f1(small_text_explainer, e, rationale=[(2, 6)], k=0)
    with pytest.raises(InvalidParameterError, match="'iou' parameter"):
        iou_f1(small_text_explainer, e, rationale=[(2, 6)], iou=1.5)
    with pytest.raises(InvalidParameterError, match="one rationale per explanation"):
        plausibility(small_text_explainer, [e], [])


def test_character_spans_need_a_text():
    e = _explanation([1.0, 2.0], instance=np.array([1.0, 2.0]))
    with pytest.raises(InvalidParameterError, match="0/1 mask"):
        token_f1(None, e, rationale=[(0, 1)])


# -- loader -----------------------------------------------------------------------------
def test_load_eraser_fixture():
    frame = load_eraser(FIXTURE, "val")
    assert list(frame["annotation_id"]) == ["posA", "negB"]
    assert list(frame["label"]) == ["POS", "NEG"]
    pos, neg = frame.iloc[0], frame.iloc[1]
    assert pos.text == "the film is a joy to watch .\nsadly the ending drags ."
    assert pos.rationale == [(14, 17), (9, 13)]
    for row in frame.itertuples():  # each span is its evidence's text
        assert [row.text[a:b] for a, b in row.rationale] == row.evidence
    assert neg.evidence == ["dull", "unwatchable"]


def test_loader_rows_feed_the_metrics(small_text_explainer):
    frame = load_eraser(FIXTURE, "val")
    es = [small_text_explainer.explain(t, method="saliency") for t in frame.text]
    scores = plausibility(small_text_explainer, es, list(frame.rationale))
    assert scores.shape == (4, 7)
    assert scores.to_numpy().min() >= 0 and scores.to_numpy().max() <= 1


def _dataset(tmp_path: Path, doc: str, annotation: dict) -> Path:
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "d1").write_text(doc)
    (tmp_path / "test.jsonl").write_text(json.dumps(annotation) + "\n")
    return tmp_path


def test_loader_refuses_bad_files(tmp_path):
    with pytest.raises(InvalidParameterError, match="split must be one of"):
        load_eraser(FIXTURE, "dev")
    with pytest.raises(InvalidInputError, match="not an ERASER dataset folder"):
        load_eraser(tmp_path, "val")
    evidence = {"docid": "d1", "start_token": 2, "end_token": 5, "text": "x"}
    root = _dataset(tmp_path, "one two three\n", {"annotation_id": "d1",
                                                  "classification": "POS",
                                                  "evidences": [[evidence]]})
    with pytest.raises(InvalidInputError, match=r"tokens \[2, 5\) in document 'd1' of 3"):
        load_eraser(root, "test")
    (root / "test.jsonl").write_text('{"annotation_id": "d1", "evidences": [[{"docid": 3}]]}')
    with pytest.raises(InvalidInputError, match="does not exist"):
        load_eraser(root, "test")
    (root / "test.jsonl").write_text("{not json\n")
    with pytest.raises(XplainError, match="line 1 is not an ERASER annotation"):
        load_eraser(root, "test")


# -- properties -------------------------------------------------------------------------
@st.composite
def _case(draw):
    """Scores over d features and a human rationale of non-touching runs."""
    d = draw(st.integers(2, 24))
    truth = np.zeros(d, dtype=bool)
    starts = draw(st.lists(st.integers(0, d - 1), min_size=1, max_size=4, unique=True))
    for s in sorted(starts):
        length = draw(st.integers(1, 3))
        if not truth[max(0, s - 1) : s + length + 1].any():  # keep a gap between runs
            truth[s : s + length] = True
    if not truth.any():
        truth[starts[0]] = True
    scores = draw(st.lists(st.floats(-5, 5, allow_nan=False), min_size=d, max_size=d))
    return np.array(scores), truth


@settings(max_examples=60, deadline=None)
@given(_case(), st.integers(1, 30))
def test_scores_lie_in_unit_interval(case, k):
    scores, truth = case
    e = _explanation(scores)
    for value in (
        *token_precision_recall_f1(None, e, rationale=truth, k=k),
        iou_f1(None, e, rationale=truth, k=k),
        auprc(None, e, rationale=truth),
    ):
        assert 0.0 <= value <= 1.0


@settings(max_examples=60, deadline=None)
@given(_case(), st.floats(0.1, 10))
def test_perfect_explanation_scores_one(case, scale):
    _, truth = case
    e = _explanation(scale * truth.astype(float))  # exactly the rationale, positive
    assert token_f1(None, e, rationale=truth) == 1.0
    assert iou_f1(None, e, rationale=truth) == 1.0
    assert auprc(None, e, rationale=truth) == pytest.approx(1.0)


def test_long_mask_rationales_are_cached_by_content():
    """Comparison caches scores by their parameters: numpy abbreviates the repr of arrays
    over 1,000 entries, so two long masks differing in the middle must not share a score."""
    from xplain._identity import config_fingerprint

    a = np.zeros(2000, dtype=int)
    b = a.copy()
    b[1000] = 1
    assert repr(a) == repr(b)  # what the old cache key compared
    assert config_fingerprint({"rationale": a}) != config_fingerprint({"rationale": b})
