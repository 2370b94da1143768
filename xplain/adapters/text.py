"""Text adapter for Hugging Face sequence classifiers.

Gradient view: the input word embeddings (found through ``get_input_embeddings()``;
position and token-type embeddings are added inside the model, untouched), aggregated
to one value per token by ``sum`` (default), ``l2`` or ``mean`` over the hidden
dimension, optionally merged into words. Perturbation view: tokens (or words) masked
with the mask or pad token, or removed, with the attention mask kept consistent.
Special tokens ([CLS], [SEP], <s>...) are kept as features, marked, never perturbed, and
keep their own embedding in the baseline.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch

from xplain._validation import BOOLEAN, NONE, Interval, Options, Param, validate_params
from xplain.adapters.base import DifferentiableView, Encoded, InterpretableView, TorchModelAdapter
from xplain.display import FeatureDisplay
from xplain.errors import InvalidInputError, InvalidParameterError
from xplain.models.base import explained_scores
from xplain.models.huggingface import HuggingFaceClassifier

AGGREGATIONS = ("sum", "l2", "mean")
BASELINES = ("pad", "mask", "zero")
REPLACEMENTS = ("mask", "pad", "remove")
REMOVAL_CHUNK = 64  # texts per model call when tokens are removed (sorted by length)
SPREAD_ROWS = 4096  # embedding rows (evenly strided) that estimate the embeddings' spread
# how tokenizers mark sub-words, for reports: WordPiece glues "##ing" to the previous piece;
# byte-level BPE ("Ġ") and SentencePiece ("▁") mark a piece that starts a word
TOKEN_DISPLAY = FeatureDisplay("tokens", options={"continuation": "##", "word_start": ["Ġ", "▁"]})


class TextAdapter(TorchModelAdapter):
    """Explain a Hugging Face sequence classifier token by token (or word by word).

    Args:
        model: A transformers sequence-classification model (with
            ``get_input_embeddings()`` and a config).
        tokenizer: Its tokenizer (a fast tokenizer for ``merge_subwords``).
        **params: ``aggregation`` (``"sum"``, ``"l2"`` or ``"mean"`` over the hidden
            dimension: embedding attributions -> one value per token; default
            ``"sum"``), ``merge_subwords`` (bool, one feature per word; default False),
            ``baseline`` (the reference embeddings of gradient methods: ``"pad"``,
            ``"mask"`` or ``"zero"``; default ``"pad"``), ``replacement`` (how a
            perturbation hides a token: ``"mask"``, ``"pad"`` or ``"remove"``; default
            ``"mask"``), ``max_length`` (int >= 2: truncate longer texts; None: the
            model's limit).

    Raises:
        InvalidParameterError: a parameter is unknown or out of range, the model is not
            a sequence classifier, or ``max_length`` leaves no room past the special
            tokens.
    """

    modality: ClassVar[str] = "text"
    parameters: ClassVar[dict[str, Param]] = {
        "aggregation": Param("sum", Options(AGGREGATIONS), doc="embedding dims -> token"),
        "merge_subwords": Param(False, BOOLEAN, doc="one feature per word, not per piece"),
        "baseline": Param("pad", Options(BASELINES), doc="reference token embeddings"),
        "replacement": Param("mask", Options(REPLACEMENTS), doc="how a masked token is hidden"),
        "max_length": Param(None, Interval(int, 2), NONE, doc="truncate longer texts"),
    }

    def __init__(self, model: Any, tokenizer: Any, **params: Any) -> None:
        self.params = validate_params("TextAdapter", self.parameters, params)
        self.model = HuggingFaceClassifier(model, tokenizer)
        self.tokenizer = tokenizer
        limit = self.model.max_length
        self.max_length = min(self.params["max_length"] or limit, limit)
        # the user's max_length cuts texts, or else the model's limit does
        self._length_limit = (
            f"max_length={self.max_length}"
            if self.max_length == self.params["max_length"]
            else f"the model accepts at most {limit} tokens"
        )
        self._n_special = _special_count(tokenizer)
        if self.max_length <= self._n_special:
            raise InvalidParameterError(
                f"The 'max_length' parameter of TextAdapter leaves no room for a word: "
                f"max_length={self.max_length} ({self._length_limit}), but the tokenizer adds "
                f"{self._n_special} special tokens to every text. Pass max_length >= "
                f"{self._n_special + 1}, or None for the model's limit."
            )

    @property
    def labels(self) -> list[str]:
        return self.model.labels

    def torch_module(self) -> torch.nn.Module:
        return self.model.model


    def encode(self, instance: Any) -> Encoded:
        if not isinstance(instance, str):
            raise InvalidInputError(
                f"A text explainer expects the instance to be a str. Got "
                f"{type(instance).__name__}; pass one string (use explain_batch for many)."
            )
        if not instance.strip():
            raise InvalidInputError(
                "The text to explain is empty or only whitespace; pass a non-empty string."
            )
        merge = self.params["merge_subwords"]
        enc = self.tokenizer(
            instance,
            truncation=True,
            max_length=self.max_length,
            return_tensors="pt",
            return_special_tokens_mask=True,
            return_offsets_mapping=merge,
        )
        ids = enc["input_ids"]  # [1, T]
        self.model.check_ids(ids)
        special = enc.pop("special_tokens_mask")[0].numpy().astype(bool)
        offsets = enc.pop("offset_mapping", None)
        extras = {k: v for k, v in enc.items() if k != "input_ids"}
        tokens = self.tokenizer.convert_ids_to_tokens(ids[0].tolist())
        self._require_content(instance, ids[0].numpy(), special, tokens)
        notes: dict[str, Any] = {}
        full_length = len(self.tokenizer(instance, verbose=False)["input_ids"])
        if full_length > ids.shape[1]:
            notes["truncated"] = (
                f"the text has {full_length} tokens, {self._n_special} special ones included; "
                f"only the first {ids.shape[1]} were explained ({self._length_limit})"
            )
        groups = [[i] for i in range(len(tokens))]
        features = list(tokens)
        if merge:
            groups, features, special = self._words(enc, instance, offsets, special, groups)
        return Encoded(
            features=features,
            instance=instance,
            data={"input_ids": ids, "extras": extras, "groups": groups, "tokens": tokens},
            notes=notes,
            special=special,
        )

    def feature_spans(self, encoded: Encoded) -> list[tuple[int, int] | None]:
        """Where each feature lies in the text: ``(start, end)`` character offsets (end
        exclusive), None for a special token. A word's span runs from its first piece to
        its last, so every sub-word piece of a marked word is in a character rationale.

        Args:
            encoded: The text, from :meth:`encode`.

        Returns:
            One span (or None) per feature of ``encoded``.

        Raises:
            InvalidParameterError: the tokenizer is a slow one, which gives no offsets.
        """
        try:
            enc = self.tokenizer(
                encoded.instance, truncation=True, max_length=self.max_length,
                return_offsets_mapping=True,
            )
        except NotImplementedError as err:
            raise InvalidParameterError(
                "Character spans of tokens need a fast tokenizer (offsets); load it with "
                "AutoTokenizer.from_pretrained(path, use_fast=True)."
            ) from err
        offsets = enc["offset_mapping"]  # [T] (start, end) per token; (0, 0) for specials
        return [
            None if is_special else (int(offsets[g[0]][0]), int(offsets[g[-1]][1]))
            for g, is_special in zip(encoded.data["groups"], encoded.special, strict=True)
        ]

    def display(self, encoded: Encoded) -> FeatureDisplay:
        """A strip of tokens (or words), sub-word markers as the tokenizer writes them.

        Args:
            encoded: The text, from :meth:`encode` (the display is the same for every
                text).
        """
        return TOKEN_DISPLAY

    def _require_content(
        self, text: str, ids: np.ndarray, special: np.ndarray, tokens: list[str]
    ) -> None:
        """Refuse a text that tokenises to special tokens only, as the empty text is.

        Zero-width, control and lone combining characters are dropped by tokenizers; a
        special token typed in the text ("[SEP]") is no content either; an unknown word is.
        """
        # an unknown word ([UNK]) is content: the text had a word the vocabulary lacks
        unknown = getattr(self.tokenizer, "unk_token_id", None)
        markers = set(getattr(self.tokenizer, "all_special_ids", [])) - {unknown}
        reserved = np.isin(ids, sorted(markers))
        if (special | reserved).all():
            shown = repr(text[:40]) + ("..." if len(text) > 40 else "")
            raise InvalidInputError(
                f"The text to explain ({len(text)} characters: {shown}) has no token but the "
                f"special ones after tokenisation ({' '.join(tokens)}): the tokenizer drops "
                "zero-width, control and combining characters. Pass a text with at least one "
                "word."
            )

    def _words(
        self,
        enc: Any,
        text: str,
        offsets: torch.Tensor,
        special: np.ndarray,
        groups: list[list[int]],
    ) -> tuple[list[list[int]], list[str], np.ndarray]:
        """Group sub-word pieces by the word they come from (fast tokenizers only)."""
        try:
            word_ids = enc.word_ids(0)
        except (ValueError, AttributeError) as err:
            raise InvalidParameterError(
                "merge_subwords=True needs a fast tokenizer (word_ids()); load it with "
                "AutoTokenizer.from_pretrained(path, use_fast=True)."
            ) from err
        merged: list[list[int]] = []
        seen: dict[int, int] = {}
        for pos, word in enumerate(word_ids):
            if word is None or special[pos]:
                merged.append([pos])
            elif word in seen:
                merged[seen[word]].append(pos)
            else:
                seen[word] = len(merged)
                merged.append([pos])
        tokens = enc.tokens(0)
        spans = offsets[0].tolist()
        features = []
        for group in merged:
            if special[group[0]]:
                features.append(tokens[group[0]])
            else:
                start, end = spans[group[0]][0], spans[group[-1]][1]
                # Metaspace offsets (SentencePiece '▁word') include the space before a word
                features.append(text[start:end].strip() or tokens[group[0]])
        is_special = np.array([bool(special[g[0]]) for g in merged])
        return merged, features, is_special

    def predict(self, encoded: Encoded) -> np.ndarray:
        logits = self.model.logits_from_ids(encoded.data["input_ids"], encoded.data["extras"])
        encoded.data["logits"] = logits[0].detach()
        if self.model.reader.note:  # the model returns probabilities, or one score
            encoded.notes["model_output"] = self.model.reader.note
        return self.model.reader.prediction(logits)[0].cpu().numpy()

    # -- gradient view -------------------------------------------------------------------
    def _replacement_id(self, kind: str) -> int:
        tok = self.tokenizer
        candidates = {
            "pad": [tok.pad_token_id, tok.unk_token_id, tok.eos_token_id],
            "mask": [tok.mask_token_id, tok.pad_token_id, tok.unk_token_id],
        }[kind]
        for token_id in candidates:
            if token_id is not None:
                return int(token_id)
        raise InvalidParameterError(
            f"The tokenizer has no {kind} token (nor pad/unk) to use as a baseline or mask; "
            "choose baseline='zero' or set tokenizer.pad_token."
        )

    def _fill(self, kind: str, encoded: Encoded, role: str) -> int:
        """The token id standing in for hidden tokens; a note when it is not the ``kind``
        token asked for (the tokenizer has none, e.g. no pad token)."""
        token_id = self._replacement_id(kind)
        if token_id != getattr(self.tokenizer, f"{kind}_token_id", None):
            token = self.tokenizer.convert_ids_to_tokens(token_id)
            encoded.notes[f"{role}_note"] = (
                f"the tokenizer has no {kind} token, so {token} (id {token_id}) served as the "
                f"{role} ({role}={kind!r})"
            )
        return token_id

    def differentiable_view(self, encoded: Encoded, output: str) -> DifferentiableView:
        ids = encoded.data["input_ids"]
        special = torch.as_tensor(self._token_special(encoded))
        inputs = self.model.embed(ids)  # [1, T, H]
        kind = self.params["baseline"]
        if kind == "zero":
            baseline = torch.where(special[None, :, None], inputs, torch.zeros_like(inputs))
        else:
            base_ids = torch.where(special[None], ids, self._fill(kind, encoded, "baseline"))
            baseline = self.model.embed(base_ids)
        extras = encoded.data["extras"]
        logits = encoded.data.get("logits")

        def forward(embeddings: torch.Tensor) -> torch.Tensor:
            return explained_scores(self.model.logits_from_embeddings(embeddings, extras), output)

        return DifferentiableView(
            inputs=inputs,
            baseline=baseline,
            forward=forward,
            aggregate=lambda attr: self._aggregate(attr, encoded.data["groups"]),
            scores=explained_scores(logits[None], output)[0] if logits is not None else None,
            module=self.model.model,
            noise_scale=self._embedding_spread(inputs),
        )

    def identity(self) -> dict[str, Any]:
        tokenizer = self.tokenizer
        vocab = tokenizer.get_vocab() if hasattr(tokenizer, "get_vocab") else repr(tokenizer)
        return {**super().identity(), "tokenizer": type(tokenizer).__name__,
                "vocab": vocab, "max_length": self.max_length}

    def _embedding_spread(self, inputs: torch.Tensor) -> float:
        """The token embeddings' standard deviation per hidden dimension, averaged: the
        scale of noise on this view. (The input range, the image default, is set by a few
        outlier dimensions, about 20 spreads on MiniLM: noise that large swamps the text.)"""
        weight = getattr(self.model.embedding_layer, "weight", None)
        if isinstance(weight, torch.Tensor) and weight.ndim == 2 and weight.shape[0] > 1:
            # cached per table and version: ~20 ms on MiniLM, a quarter of a saliency call
            key = (id(weight), weight.data_ptr(), weight._version)
            cached = self.__dict__.get("_spread")
            if cached is None or cached[0] != key:
                rows = weight.detach()[:: max(1, weight.shape[0] // SPREAD_ROWS)]  # [V', H]
                cached = self._spread = (key, float(rows.double().std(0).mean()))
            return cached[1]
        # no embedding table to read: the spread of this text's own embeddings
        return float(inputs.double().std(unbiased=False))

    def _token_special(self, encoded: Encoded) -> np.ndarray:
        """Special-token flags per token position (``encoded.special`` is per feature)."""
        flags = np.zeros(encoded.data["input_ids"].shape[1], dtype=bool)
        for group, is_special in zip(encoded.data["groups"], encoded.special, strict=True):
            flags[group] = is_special
        return flags

    def _aggregate(self, attributions: torch.Tensor, groups: list[list[int]]) -> np.ndarray:
        """``[T, H]`` per-dimension attributions -> ``[d]`` per-feature values."""
        attr = attributions.detach().double().cpu().numpy()
        rule = self.params["aggregation"]
        per_token = (attr**2).sum(-1) if rule == "l2" else attr.sum(-1)
        values = np.array([per_token[g].sum() for g in groups])
        if rule == "l2":
            return np.sqrt(values)
        if rule == "mean":
            return values / np.array([len(g) * attr.shape[-1] for g in groups])
        return values

    # -- perturbation view ---------------------------------------------------------------
    def interpretable_view(self, encoded: Encoded, output: str) -> InterpretableView:
        ids = encoded.data["input_ids"][0]  # [T]
        extras = encoded.data["extras"]
        groups = encoded.data["groups"]
        active = np.flatnonzero(~encoded.special)
        mode = self.params["replacement"]
        fill = None if mode == "remove" else self._fill(mode, encoded, "replacement")

        def evaluate(masks: np.ndarray) -> np.ndarray:
            masks = np.asarray(masks, dtype=bool)  # [n, d]
            keep = np.ones((masks.shape[0], ids.shape[0]), dtype=bool)  # [n, T]
            for col, feature in enumerate(active):
                keep[:, groups[feature]] = masks[:, [col]]
            if fill is None and keep.shape[0]:  # removal: shortest texts first
                return self._removal_scores(ids, extras, keep, output)
            batch_ids, batch_extras = self._masked_batch(ids, extras, keep, fill)
            logits = self.model.logits_from_ids(batch_ids, batch_extras)
            return explained_scores(logits, output).detach().cpu().numpy()

        scores = evaluate(np.ones((1, len(active)), dtype=bool))[0]
        base_scores = evaluate(np.zeros((1, len(active)), dtype=bool))[0]
        return InterpretableView(
            n_features=len(active),
            evaluate=evaluate,
            active=active,
            scores=scores,
            base_scores=base_scores,
            n_total=len(encoded.features),
        )

    def _removal_scores(
        self, ids: torch.Tensor, extras: dict[str, torch.Tensor], keep: np.ndarray, output: str
    ) -> np.ndarray:
        """Scores ``[n, C]`` of texts with the tokens outside ``keep`` ``[n, T]`` removed.

        Shorter texts cost less: the texts go through the model shortest first, in chunks
        of ``REMOVAL_CHUNK`` cut to the longest text of the chunk (padding only there).
        """
        lengths = keep.sum(1)  # [n] tokens left per text
        order = np.argsort(lengths, kind="stable")
        out: np.ndarray | None = None
        for start in range(0, order.shape[0], REMOVAL_CHUNK):
            rows = order[start : start + REMOVAL_CHUNK]
            batch_ids, batch_extras = self._masked_batch(ids, extras, keep[rows], None)
            # the tail past it is padding in every row (one column at least: a text with
            # every token removed, from a tokenizer that adds no special tokens)
            width = max(1, int(lengths[rows].max()))
            logits = self.model.logits_from_ids(
                batch_ids[:, :width], {k: v[:, :width] for k, v in batch_extras.items()}
            )
            scores = explained_scores(logits, output).detach().cpu().numpy()  # [r, C]
            if out is None:
                out = np.empty((order.shape[0], scores.shape[1]), dtype=scores.dtype)
            out[rows] = scores
        return out

    def _masked_batch(
        self,
        ids: torch.Tensor,
        extras: dict[str, torch.Tensor],
        keep: np.ndarray,
        fill: int | None,
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Token ids ``[n, T]`` with hidden tokens replaced by ``fill`` or removed."""
        keep_t = torch.as_tensor(keep)
        n = keep.shape[0]
        if fill is not None:
            batch = torch.where(keep_t, ids[None], fill)
            return batch, {k: v.expand(n, -1) for k, v in extras.items()}
        # removal: drop hidden tokens, left-align the rest, pad and mask out the tail
        pad = self._replacement_id("pad")
        order = torch.argsort((~keep_t).to(torch.int8), dim=1, stable=True)
        batch = torch.where(keep_t, ids[None], pad).gather(1, order)
        lengths = keep_t.sum(1, keepdim=True)
        positions = torch.arange(ids.shape[0])[None]
        out_extras = {}
        for key, value in extras.items():
            moved = value.expand(n, -1).gather(1, order)
            if key == "attention_mask":
                moved = (positions < lengths).to(value.dtype)
            out_extras[key] = moved
        batch = torch.where(positions < lengths, batch, pad)
        return batch, out_extras


def _special_count(tokenizer: Any) -> int:
    """Special tokens the tokenizer adds to one text ([CLS] and [SEP]: 2), 0 if unknown."""
    count = getattr(tokenizer, "num_special_tokens_to_add", None)
    return int(count(pair=False)) if callable(count) else 0
