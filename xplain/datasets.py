"""Small datasets bundled with xplain for demos and tests.

SST-2 (Stanford Sentiment Treebank, binary) comes from Socher et al. (2013), "Recursive Deep
Models for Semantic Compositionality Over a Sentiment Treebank", EMNLP, as distributed in GLUE
(Wang et al., 2018). The dev split is complete (872 sentences); the train split is a seeded
random sample of 20,000 of the 67,349 GLUE training phrases (see ``data/README.md``).

Adult (Census Income) comes from Becker and Kohavi (1996), UCI Machine Learning Repository
(CC BY 4.0): a seeded random sample of 10,000 of its 32,561 training rows (see
``data/README.md``).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pandas as pd

from xplain._resources import data_path
from xplain.errors import InvalidInputError, InvalidParameterError

_SST2_SPLITS = ("train", "dev")
ADULT_TARGET = "Salary"
ADULT_MISSING = "?"  # how Adult writes a missing value; kept as a category of its own


def load_sst2(split: str = "dev") -> pd.DataFrame:
    """SST-2 as a DataFrame with columns ``sentence`` (str) and ``label`` (0 negative, 1 positive).

    ``split`` is ``"dev"`` (872 sentences) or ``"train"`` (a 20,000-phrase sample).
    """
    if split not in _SST2_SPLITS:
        raise InvalidParameterError(
            f"load_sst2: split must be one of {list(_SST2_SPLITS)}, got {split!r}"
        )
    frame = pd.read_csv(
        data_path(f"sst2/{split}.tsv"),
        sep="\t",
        quoting=csv.QUOTE_NONE,
        keep_default_na=False,
        dtype={"label": "int64", "sentence": str},
    )
    return frame[["sentence", "label"]]


def load_adult() -> tuple[pd.DataFrame, pd.Series]:
    """Adult (Census Income): ``X`` with its 14 feature columns and ``y`` (1: income >50K).

    10,000 rows, a seeded sample of the UCI training file. The 6 numeric columns (``age``,
    ``fnlwgt``, ``education-num``, ``capital-gain``, ``capital-loss``, ``hours-per-week``)
    are int64; the 8 others are pandas ``category`` columns with their values stripped of
    whitespace. Missing values (written ``?``, in ``workclass``, ``occupation`` and
    ``native-country``) are kept as the category ``"?"``: they are informative (10% of the
    rows missing ``occupation`` earn >50K, 25% of the others) and explainers need no NaNs.
    """
    frame = pd.read_csv(data_path("adult/adult.csv"), skipinitialspace=True, keep_default_na=False)
    y = (frame.pop(ADULT_TARGET).str.strip() == ">50K").astype("int64").rename("income>50K")
    for column in frame.columns:
        if not pd.api.types.is_numeric_dtype(frame[column]):
            frame[column] = frame[column].str.strip().astype("category")
    return frame, y


ERASER_SPLITS = ("train", "val", "test")


def load_eraser(path: str | Path, split: str = "val") -> pd.DataFrame:
    """Read an ERASER-format dataset (DeYoung et al. 2020, arXiv:1911.03429) you have.

    ERASER's layout: ``path/docs/<docid>`` holds a document, one sentence per line, tokens
    separated by spaces; ``path/<split>.jsonl`` holds one annotation per line with
    ``annotation_id``, ``classification`` (the label), optional ``query`` and ``docids``,
    and ``evidences``: a list of evidence groups (lists), each of
    ``{docid, start_token, end_token, text, start_sentence, end_sentence}``; ``start_token``
    (inclusive) and ``end_token`` (exclusive) index the document's tokens counted over all
    its sentences. No ERASER data ships with xplain (see ``data/README.md``).

    Args:
        path: The dataset's folder (e.g. ``movies/``), with ``docs/`` and the ``.jsonl``.
        split: ``"train"``, ``"val"`` or ``"test"`` (the file ``{split}.jsonl``).

    Returns:
        One row per annotation and document it has evidence in (the annotation's own
        document when it has none): ``annotation_id``, ``docid``, ``text`` (the document,
        tokens joined by spaces, sentences by newlines), ``label``, ``query``,
        ``rationale`` (the evidences as ``(start, end)`` character spans of ``text``, end
        exclusive, what the plausibility metrics take) and ``evidence`` (their texts).

    Raises:
        InvalidParameterError: ``split`` is not one of the three.
        InvalidInputError: a file is missing or malformed, or an evidence lies outside its
            document.
    """
    if split not in ERASER_SPLITS:
        raise InvalidParameterError(
            f"load_eraser: split must be one of {list(ERASER_SPLITS)}, got {split!r}"
        )
    root = Path(path)
    annotations = root / f"{split}.jsonl"
    if not annotations.is_file() or not (root / "docs").is_dir():
        raise InvalidInputError(
            f"load_eraser: {root} is not an ERASER dataset folder: it needs a docs/ folder "
            f"and {split}.jsonl (found docs/: {(root / 'docs').is_dir()}, {split}.jsonl: "
            f"{annotations.is_file()}). Point it at the unpacked dataset, e.g. movies/."
        )
    documents: dict[str, tuple[str, list[tuple[int, int]]]] = {}
    rows = []
    for number, line in enumerate(annotations.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        where = f"{annotations.name} line {number}"
        try:
            record = json.loads(line)
            ann_id = str(record["annotation_id"])
            groups = record.get("evidences") or []
            evidences = [e for g in groups for e in (g if isinstance(g, list) else [g])]
            by_doc: dict[str, list[dict[str, Any]]] = {}
            for evidence in evidences:
                by_doc.setdefault(str(evidence["docid"]), []).append(evidence)
        except (json.JSONDecodeError, KeyError, TypeError) as err:
            raise InvalidInputError(
                f"load_eraser: {where} is not an ERASER annotation ({err!r}); each line needs "
                "annotation_id, classification and evidences lists of {docid, start_token, "
                "end_token, text}."
            ) from err
        for docid in by_doc or {str((record.get("docids") or [ann_id])[0]): []}:
            if docid not in documents:
                documents[docid] = _eraser_document(root / "docs" / docid, where)
            text, offsets = documents[docid]
            spans = []
            for evidence in by_doc.get(docid, []):
                start, end = evidence.get("start_token"), evidence.get("end_token")
                if not (isinstance(start, int) and isinstance(end, int)
                        and 0 <= start < end <= len(offsets)):
                    raise InvalidInputError(
                        f"load_eraser: {where} has an evidence of tokens [{start}, {end}) in "
                        f"document {docid!r} of {len(offsets)} tokens; start_token (inclusive) "
                        "and end_token (exclusive) must satisfy 0 <= start < end <= its tokens."
                    )
                spans.append((offsets[start][0], offsets[end - 1][1]))
            rows.append({
                "annotation_id": ann_id,
                "docid": docid,
                "text": text,
                "label": record.get("classification"),
                "query": record.get("query"),
                "rationale": spans,
                "evidence": [str(e.get("text", "")) for e in by_doc.get(docid, [])],
            })
    columns = ["annotation_id", "docid", "text", "label", "query", "rationale", "evidence"]
    return pd.DataFrame(rows, columns=columns)


def _eraser_document(file: Path, where: str) -> tuple[str, list[tuple[int, int]]]:
    """An ERASER document's text (tokens joined by spaces, sentences by newlines) and each
    token's ``(start, end)`` characters in it."""
    if not file.is_file():
        raise InvalidInputError(
            f"load_eraser: {where} refers to document {file.name!r}, but {file} does not "
            "exist; the docs/ folder must hold every document the annotations name."
        )
    sentences = [line.split() for line in file.read_text(encoding="utf-8").splitlines()]
    sentences = [tokens for tokens in sentences if tokens]
    offsets, position = [], 0
    for tokens in sentences:
        for token in tokens:
            offsets.append((position, position + len(token)))
            position += len(token) + 1  # the space (or newline) after it
    text = "\n".join(" ".join(tokens) for tokens in sentences)
    return text, offsets
