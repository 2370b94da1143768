"""Wrapper for Hugging Face sequence classifiers (``*ForSequenceClassification``)."""

from __future__ import annotations

from typing import Any

import torch

from xplain.errors import InvalidInputError, InvalidParameterError, MethodNotApplicableError
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
    ``config.problem_type`` is read as transformers' own losses read it: a regression
    (also ``num_labels=1`` without a problem type) is explained and shown as its scores, a
    multi-label classifier as its logits with a sigmoid per label as the prediction;
    neither gets a softmax (:mod:`xplain.models.outputs`).
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
        if any(p.is_meta for p in model.parameters()):
            raise InvalidParameterError(
                f"{type(model).__name__} has weights on the 'meta' device (shapes only, no "
                "values), so it cannot be evaluated; load or materialise its weights first "
                "(e.g. from_pretrained without device_map='meta', or model.to_empty(...) "
                "followed by load_state_dict)."
            )
        self.model = model
        self.tokenizer = tokenizer
        self.embedding_layer: torch.nn.Module = model.get_input_embeddings()
        self.reader = OutputReader(model, type(model).__name__, _declared(model.config))
        _check_unique(self.labels)

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

    def check_ids(self, input_ids: torch.Tensor) -> None:
        """Refuse token ids ``[B, T]`` that the model's word embeddings do not cover (a
        tokenizer of another model), before torch's embedding fails with an IndexError."""
        rows = getattr(self.embedding_layer, "num_embeddings", None)
        largest = int(input_ids.max()) if input_ids.numel() else -1
        if isinstance(rows, int) and largest >= rows:
            raise InvalidInputError(
                f"The tokenizer gave token id {largest}, but {type(self.model).__name__} has "
                f"only {rows} word embeddings (config.vocab_size): the tokenizer belongs to "
                "another model. Pass the tokenizer the model was trained with "
                "(AutoTokenizer.from_pretrained on the model's own folder)."
            )

    def embed(self, input_ids: torch.Tensor) -> torch.Tensor:
        """Word embeddings ``[B, T, H]`` of token ids ``[B, T]`` (no position embeddings)."""
        with torch.no_grad():
            return self.embedding_layer(input_ids.to(self.device)).detach()

    def logits_from_ids(
        self, input_ids: torch.Tensor, extras: dict[str, torch.Tensor]
    ) -> torch.Tensor:
        """Logits ``[B, C]`` for token ids ``[B, T]`` and matching extras (attention mask...)."""
        self.count(input_ids.shape[0])
        try:
            with torch.no_grad(), eval_mode(self.model):
                out = self.model(input_ids=input_ids.to(self.device), **_on(extras, self.device))
        except ValueError as err:
            # decoder classifiers (GPT-2, Llama...) pool the last non-pad token: without
            # config.pad_token_id they refuse every batch of more than one text
            if input_ids.shape[0] > 1 and getattr(self.model.config, "pad_token_id", 0) is None:
                raise InvalidParameterError(
                    f"{type(self.model).__name__} cannot score a batch of texts while its "
                    f"config.pad_token_id is None ({err}); perturbation methods score many "
                    "masked texts at once. Set model.config.pad_token_id = "
                    "tokenizer.pad_token_id (or tokenizer.eos_token_id if it has no pad token)."
                ) from err
            raise
        return self.reader.logits(out, input_ids.shape[0])

    def logits_from_embeddings(
        self, embeddings: torch.Tensor, extras: dict[str, torch.Tensor]
    ) -> torch.Tensor:
        """Logits ``[B, C]`` for word embeddings ``[B, T, H]``; extras ``[1, T]`` broadcast."""
        n = embeddings.shape[0]
        self.count(n)
        expanded = {k: v.expand(n, -1) for k, v in _on(extras, self.device).items()}
        try:
            with eval_mode(self.model):
                out = self.model(inputs_embeds=embeddings, **expanded)
        except NotImplementedError as err:  # e.g. BART-style classifiers pool at input_ids
            raise MethodNotApplicableError(
                f"{type(self.model).__name__} does not accept input embeddings "
                f"(inputs_embeds: {err}), which gradient methods differentiate. Perturbation "
                "methods (occlusion, lime, kernel_shap, exact_shapley) need only token ids."
            ) from err
        logits = self.reader.logits(out, n)
        # a gradient was asked for (grad mode on, inputs tracked) and the scores have none
        if torch.is_grad_enabled() and embeddings.requires_grad and not logits.requires_grad:
            raise MethodNotApplicableError(self._no_gradient(logits))
        return logits

    def _no_gradient(self, logits: torch.Tensor) -> str:
        """Why the scores of a forward from embeddings that need a gradient have none."""
        name = type(self.model).__name__
        if torch.is_inference_mode_enabled():
            cause = (
                "explain was called inside torch.inference_mode(), which turns gradients "
                "off; call it outside inference_mode"
            )
        elif not logits.is_floating_point():
            cause = f"{name} returns integer scores ({logits.dtype}), which have no gradient"
        else:
            cause = (
                f"{name}'s output does not depend differentiably on its input embeddings "
                "(its forward detaches the scores or computes them without gradients)"
            )
        return (
            f"Gradient methods need the gradient of the scores with respect to the input "
            f"embeddings, but {cause}. Perturbation methods (occlusion, lime, kernel_shap, "
            "exact_shapley) need no gradient."
        )


def _declared(config: Any) -> str | None:
    """What ``config.problem_type`` says the outputs are, as transformers' own losses read
    it: "regression" (also one label and no problem_type), "multi_label", else None."""
    problem = getattr(config, "problem_type", None)
    if problem == "regression" or (problem is None and getattr(config, "num_labels", 0) == 1):
        return "regression"
    return "multi_label" if problem == "multi_label_classification" else None


def _check_unique(labels: list[str]) -> None:
    """Refuse class labels given to several classes: a label target would be a guess."""
    seen: dict[str, list[int]] = {}
    for index, label in enumerate(labels):
        seen.setdefault(label, []).append(index)
    repeated = {label: idx for label, idx in seen.items() if len(idx) > 1}
    if repeated:
        which = "; ".join(
            f"{label!r} to classes {' and '.join(map(str, idx))}"
            for label, idx in repeated.items()
        )
        raise InvalidParameterError(
            f"The model's config.id2label gives the same label to several classes ({which}), "
            "so a target given by label would be a guess. Give each class its own label: "
            "model.config.id2label = {0: '...', 1: '...'} (and label2id to match)."
        )


def _on(tensors: dict[str, torch.Tensor], device: torch.device) -> dict[str, torch.Tensor]:
    return {k: v.to(device) for k, v in tensors.items()}
