"""Wrapper for Hugging Face sequence classifiers (``*ForSequenceClassification``)."""

from __future__ import annotations

from typing import Any

import torch

from xplain.errors import InvalidParameterError
from xplain.models.base import EvalCounter
from xplain.models.outputs import OutputReader
from xplain.models.torch import eval_mode


def is_huggingface_classifier(model: Any) -> bool:
    """True for a transformers model with input embeddings and a config."""
    return (
        isinstance(model, torch.nn.Module)
        and hasattr(model, "config")
        and callable(getattr(model, "get_input_embeddings", None))
    )


class HuggingFaceClassifier(EvalCounter):
    """A transformers sequence classifier, evaluated from token ids or from embeddings.

    The model is evaluated in eval mode (dropout off) so explanations are deterministic,
    and its own mode is left as the user set it (:func:`~xplain.models.torch.eval_mode`).
    """

    def __init__(self, model: torch.nn.Module, tokenizer: Any) -> None:
        super().__init__()
        if not is_huggingface_classifier(model):
            raise InvalidParameterError(
                "HuggingFaceClassifier expects a transformers model with "
                f"get_input_embeddings() and a config. Got {type(model).__name__}."
            )
        if tokenizer is None or not callable(tokenizer):
            raise InvalidParameterError(
                "A Hugging Face text model needs its tokenizer: "
                "Explainer(model, tokenizer=AutoTokenizer.from_pretrained(path))."
            )
        self.model = model
        self.tokenizer = tokenizer
        self.embedding_layer: torch.nn.Module = model.get_input_embeddings()
        self.reader = OutputReader(model, type(model).__name__)

    @property
    def device(self) -> torch.device:
        return next(self.model.parameters()).device

    @property
    def labels(self) -> list[str]:
        id2label = getattr(self.model.config, "id2label", None) or {}
        n = int(getattr(self.model.config, "num_labels", len(id2label)) or len(id2label))
        return [str(id2label.get(i, id2label.get(str(i), f"LABEL_{i}"))) for i in range(n)]

    @property
    def max_length(self) -> int:
        """Longest input the model accepts, from the tokenizer and position embeddings."""
        limits = [getattr(self.tokenizer, "model_max_length", None)]
        positions = getattr(self.model.config, "max_position_embeddings", None)
        # RoBERTa-style models number positions from padding_idx + 1, losing that many rows
        embeddings = getattr(getattr(self.model, "base_model", None), "embeddings", None)
        offset = getattr(getattr(embeddings, "position_embeddings", None), "padding_idx", None)
        if isinstance(positions, int) and isinstance(offset, int):
            positions -= offset + 1
        limits.append(positions)
        usable = [int(v) for v in limits if isinstance(v, int) and 0 < v < 1_000_000]
        return min(usable) if usable else 512

    def embed(self, input_ids: torch.Tensor) -> torch.Tensor:
        """Word embeddings ``[B, T, H]`` of token ids ``[B, T]`` (no position embeddings)."""
        with torch.no_grad():
            return self.embedding_layer(input_ids.to(self.device)).detach()

    def logits_from_ids(
        self, input_ids: torch.Tensor, extras: dict[str, torch.Tensor]
    ) -> torch.Tensor:
        """Logits ``[B, C]`` for token ids ``[B, T]`` and matching extras (attention mask...)."""
        self.count(input_ids.shape[0])
        with torch.no_grad(), eval_mode(self.model):
            out = self.model(input_ids=input_ids.to(self.device), **_on(extras, self.device))
        return self.reader.logits(out, input_ids.shape[0])

    def logits_from_embeddings(
        self, embeddings: torch.Tensor, extras: dict[str, torch.Tensor]
    ) -> torch.Tensor:
        """Logits ``[B, C]`` for word embeddings ``[B, T, H]``; extras ``[1, T]`` broadcast."""
        n = embeddings.shape[0]
        self.count(n)
        expanded = {k: v.expand(n, -1) for k, v in _on(extras, self.device).items()}
        with eval_mode(self.model):
            out = self.model(inputs_embeds=embeddings, **expanded)
        return self.reader.logits(out, n)


def _on(tensors: dict[str, torch.Tensor], device: torch.device) -> dict[str, torch.Tensor]:
    return {k: v.to(device) for k, v in tensors.items()}
