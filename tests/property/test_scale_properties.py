"""Properties of explain_dataset over generated tables, column names, partitionings and seeds.

* engine="serial" writes the same rows (every column but ``seconds``) whatever the
  partition size, and each row is ``explain(row, seed=[seed, row_id])``;
* ``schema.to_table`` then ``schema.to_explanation`` gives back every Explanation (==),
  whatever its feature and diagnostic names (also names of the schema's own columns).
"""

from __future__ import annotations

import dataclasses
import glob
import math
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
from hypothesis import given
from hypothesis import strategies as st
from sklearn.linear_model import LogisticRegression

import xplain
from xplain.display import FeatureDisplay
from xplain.explanation import Explanation
from xplain.scale.schema import FIXED, to_explanation, to_table

# column names that collide with the schema's columns, prefixes and JSON keys
AWKWARD = ["target", "seconds", "method", "explanation", "values", "features", "tokens",
           "std_err", "value:x", "std_err:x", "base_value", "prediction", "a b", "Ä∂é 東京",
           "", "x"]
any_name = st.text(min_size=1, max_size=6).filter(lambda name: name != "row_id")
names = st.lists(st.sampled_from(AWKWARD) | any_name, min_size=2, max_size=6, unique=True)


def read_parts(directory: Path) -> pd.DataFrame:
    tables = [pq.read_table(p).to_pandas() for p in sorted(glob.glob(f"{directory}/part-*"))]
    frame = pd.concat(tables).sort_values("row_id").reset_index(drop=True)
    return frame.drop(columns=["seconds"])


@given(
    columns=names,
    n_rows=st.integers(3, 9),
    batch_rows=st.integers(1, 3),
    blocks=st.tuples(st.integers(1, 4), st.integers(1, 4)),
    seed=st.integers(0, 2**32),
    data_seed=st.integers(0, 100),
)
def test_serial_output_does_not_depend_on_the_partition_size(
    columns, n_rows, batch_rows, blocks, seed, data_seed
):
    rng = np.random.default_rng(data_seed)
    frame = pd.DataFrame(rng.normal(size=(n_rows + 6, len(columns))), columns=columns)
    labels = np.arange(len(frame)) % 2  # both classes, whatever the values
    explainer = xplain.Explainer(LogisticRegression().fit(frame, labels), data=frame.iloc[:6])
    data = frame.iloc[6:].reset_index(drop=True)
    outputs = []
    with tempfile.TemporaryDirectory() as folder:
        for k in blocks:
            out = Path(folder) / f"p{k}"
            ds = explainer.explain_dataset(
                data, "kernel_shap", params={"max_evals": 12}, output=out, engine="serial",
                batch_rows=batch_rows, partition_rows=k * batch_rows, seed=seed,
                progress=False,
            )
            outputs.append(read_parts(out))
        pd.testing.assert_frame_equal(outputs[0], outputs[1], check_exact=True)
        assert [c for c in outputs[0] if c.startswith("value:")] == [
            f"value:{c}" for c in columns
        ]
        i = n_rows - 1
        made = explainer.explain(data.iloc[i], "kernel_shap", max_evals=12, seed=[seed, i])
        assert dataclasses.replace(ds.explanation(i), seconds=made.seconds) == made


scalars = (st.none() | st.booleans() | st.integers(-(2**70), 2**70)
           | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=4))
diagnostic_values = scalars | st.lists(st.floats(-1, 1), max_size=3)
# any diagnostics, except that a base value is a finite number (Explanation refuses others)
diagnostics = st.dictionaries(
    st.sampled_from([*AWKWARD, *FIXED, "gap"]) | st.text(max_size=4), diagnostic_values, max_size=5
).map(lambda d: {k: v for k, v in d.items() if k != "base_value" or _finite_number(v)})


def _finite_number(value: object) -> bool:
    return (isinstance(value, (int, float)) and not isinstance(value, bool)
            and math.isfinite(value))


@st.composite
def explanations(draw) -> tuple[list[Explanation], list[str] | None]:
    """1-4 explanations with the same features (wide layout) or their own (lists)."""
    wide = draw(st.booleans())
    features = draw(names)
    made = []
    for _ in range(draw(st.integers(1, 4))):
        own = features if wide else draw(names)
        n = len(own)
        values = draw(st.lists(st.floats(-1e6, 1e6), min_size=n, max_size=n))
        made.append(Explanation(
            features=own, values=np.array(values), target=1, target_label="b",
            prediction=np.array([0.25, 0.75]), labels=["a", "b"], method="m",
            params={"seed": [0, 1]}, diagnostics=draw(diagnostics), n_model_evals=3,
            seconds=0.5, modality="tabular", output="probability",
            display=FeatureDisplay(kind=draw(st.sampled_from(["bars", "tokens"]))),
        ))
    return made, (features if wide else None)


@given(case=explanations())
def test_schema_round_trips_every_explanation(case):
    made, features = case
    table = to_table(range(len(made)), made, features)
    back = [to_explanation(row, features) for row in table.to_pylist()]
    assert back == made
    assert table.column_names[: len(FIXED)] == list(FIXED)
    assert len(set(table.column_names)) == len(table.column_names)
