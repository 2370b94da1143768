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

import pandas as pd

from xplain._resources import data_path
from xplain.errors import InvalidParameterError

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
