"""The fast path for plain dict rows (``DataFrame.to_dict("records")``, as explain_batch
splits a table) gives the general path's rows, errors and fingerprints."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from test_tabular_adapter import adult_like

from xplain._identity import instance_fingerprint
from xplain.adapters._tabular_schema import TabularSchema
from xplain.errors import InvalidInputError


@pytest.fixture(scope="module")
def schema_and_frame() -> tuple[TabularSchema, pd.DataFrame]:
    frame, _ = adult_like(60)
    return TabularSchema.from_data(frame)


def test_plain_dicts_give_the_general_rows(schema_and_frame) -> None:
    schema, frame = schema_and_frame
    records = frame.to_dict("records")
    assert schema._plain_row(records[0]) is not None  # the fast path is taken
    for i, record in enumerate(records):
        general = np.empty(len(schema))  # the general path, on the same row as a Series
        values = schema._values(frame.iloc[i])
        for j, column in enumerate(schema.columns):
            general[j] = schema._value(j, column, values[j])
        np.testing.assert_array_equal(schema.row(record), general)


@pytest.mark.parametrize(
    ("column", "value"),
    [("education", "PhD"), ("age", float("nan")), ("age", "40"), ("married", 2)],
)
def test_bad_values_still_get_the_general_errors(schema_and_frame, column, value) -> None:
    schema, frame = schema_and_frame
    record = frame.to_dict("records")[0]
    record[column] = value
    assert schema._plain_row(record) is None
    with pytest.raises(InvalidInputError):
        schema.row(record)


def test_plain_fingerprints_equal_the_general_ones() -> None:
    plain = {"age": 39, "hours": 40.5, "education": "Bachelors", "big": 2**60, "neg": -0.0}
    # numpy scalars take the general path (np.number, str subclass)
    general = {k: np.str_(v) if isinstance(v, str) else np.float64(v) for k, v in plain.items()}
    assert instance_fingerprint(plain) == instance_fingerprint(general)
    assert instance_fingerprint(plain) != instance_fingerprint({**plain, "age": 40})
