"""Small datasets bundled with xplain for demos and tests.

SST-2 (Stanford Sentiment Treebank, binary) comes from Socher et al. (2013), "Recursive Deep
Models for Semantic Compositionality Over a Sentiment Treebank", EMNLP, as distributed in GLUE
(Wang et al., 2018). The dev split is complete (872 sentences); the train split is a seeded
random sample of 20,000 of the 67,349 GLUE training phrases (see ``data/README.md``).
"""

from __future__ import annotations

import csv

import pandas as pd

from xplain._resources import data_path
from xplain.errors import InvalidParameterError

_SST2_SPLITS = ("train", "dev")


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
