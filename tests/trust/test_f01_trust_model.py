"""Finding 1: code in a model folder runs only with --trust-model, and nothing prompts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from random_models import SENTIMENT_LABELS, random_bert

from xplain import cli

CUSTOM_CODE = '''
from pathlib import Path
from transformers import BertForSequenceClassification

Path(MARKER).write_text("yes")


class CustomBert(BertForSequenceClassification):
    pass
'''


@pytest.fixture
def folder_with_code(tmp_path, minilm_tokenizer) -> Path:
    """A saved tiny BERT whose config names a class from a .py file in the folder."""
    folder = tmp_path / "model"
    random_bert(minilm_tokenizer.vocab_size, **SENTIMENT_LABELS).save_pretrained(folder)
    minilm_tokenizer.save_pretrained(folder)
    # transformers imports a copy from its module cache: the marker path is absolute
    marker = repr(str(folder / "CODE_RAN"))
    (folder / "custom_model.py").write_text(CUSTOM_CODE.replace("MARKER", marker))
    config = json.loads((folder / "config.json").read_text())
    config["auto_map"] = {"AutoModelForSequenceClassification": "custom_model.CustomBert"}
    (folder / "config.json").write_text(json.dumps(config))
    return folder


def run_text(folder: Path, out: Path, *extra: str, answer: str = "y\ny\n"):
    args = ["text", "--model", str(folder), "--text", "a fine film", "--quiet"]
    args += ["--methods", "saliency", "--out", str(out), *extra]
    # a "y" on standard input is what accepted transformers' prompt before the fix
    return CliRunner().invoke(cli.cli, args, input=answer)


def test_f01_folder_code_refused_without_trust_model(folder_with_code, tmp_path):
    result = run_text(folder_with_code, tmp_path / "r.html")
    assert result.exit_code == 2, result.output
    assert "--trust-model" in result.stderr
    assert "auto_map" in result.stderr
    assert not (folder_with_code / "CODE_RAN").exists()
    assert not (tmp_path / "r.html").exists()


def test_f01_tokenizer_code_refused_too(folder_with_code, tmp_path):
    config = json.loads((folder_with_code / "config.json").read_text())
    del config["auto_map"]
    (folder_with_code / "config.json").write_text(json.dumps(config))
    settings = json.loads((folder_with_code / "tokenizer_config.json").read_text())
    settings["auto_map"] = {"AutoTokenizer": ["custom_model.Tok", None]}
    (folder_with_code / "tokenizer_config.json").write_text(json.dumps(settings))
    result = run_text(folder_with_code, tmp_path / "r.html")
    assert result.exit_code == 2
    assert "tokenizer_config.json" in result.stderr
    assert not (folder_with_code / "CODE_RAN").exists()


def test_f01_folder_code_runs_with_trust_model(folder_with_code, tmp_path):
    result = run_text(folder_with_code, tmp_path / "r.html", "--trust-model", answer="")
    assert result.exit_code == 0, result.output
    assert (folder_with_code / "CODE_RAN").read_text() == "yes"
    assert (tmp_path / "r.html").exists()


def test_f01_plain_folder_needs_no_trust(tmp_path, minilm_tokenizer):
    folder = tmp_path / "plain"
    random_bert(minilm_tokenizer.vocab_size, **SENTIMENT_LABELS).save_pretrained(folder)
    minilm_tokenizer.save_pretrained(folder)
    result = run_text(folder, tmp_path / "r.html", answer="")
    assert result.exit_code == 0, result.output


def test_f01_loader_never_prompts(folder_with_code, monkeypatch):
    """Even past the auto_map check, transformers is told trust_remote_code explicitly."""
    import transformers

    from xplain import _cli_loading

    seen = []

    def spy(folder, **options):
        seen.append(options)
        raise OSError("stop here")

    monkeypatch.setattr(transformers.AutoModelForSequenceClassification, "from_pretrained", spy)
    monkeypatch.setattr(_cli_loading, "custom_code_files", lambda folder: [])
    with pytest.raises(_cli_loading.UserError):
        _cli_loading.load_text_model(folder_with_code)
    assert seen == [{"local_files_only": True, "trust_remote_code": False}]
