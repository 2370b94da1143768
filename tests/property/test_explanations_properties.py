"""Properties of Explanations slicing over generated batches, masks and feature subsets.

* rows: ``es[mask].values == es.values[mask]`` and ``es[positions]`` likewise;
* features: ``es[:, names].values == es.values[:, idx]`` and ``es[:, name] ==
  es.values[:, idx]``, with every per-feature array (special, shown) following;
* a restricted explanation still adds up: base + kept + left out = base + all;
* the long frame holds every value once, the JSON round trip gives the batch back.
"""

from __future__ import annotations

import json

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from xplain.display import FeatureDisplay
from xplain.explanation import Explanation
from xplain.explanations import Explanations


@st.composite
def batches(draw: st.DrawFn) -> tuple[Explanations, list[str]]:
    n = draw(st.integers(1, 6))
    names = draw(st.lists(st.text(min_size=1, max_size=5), min_size=1, max_size=6,
                          unique=True))
    d = len(names)
    finite = st.floats(-1e6, 1e6, allow_nan=False)
    rows = []
    for _ in range(n):
        values = draw(st.lists(finite, min_size=d, max_size=d))
        special = draw(st.lists(st.booleans(), min_size=d, max_size=d))
        shown = draw(st.lists(st.integers(-5, 5), min_size=d, max_size=d))
        base = draw(st.none() | finite)
        rows.append(Explanation(
            features=names, values=np.array(values), target=0, target_label="a",
            prediction=np.array([0.4, 0.6]), labels=["a", "b"], method="kernel_shap",
            params={}, diagnostics={} if base is None else {"base_value": base, "delta": 1.0},
            n_model_evals=0, seconds=0.0, modality="tabular", output="probability",
            special=np.array(special), display=FeatureDisplay("bars", shown=shown),
        ))
    return Explanations(rows), names


@given(batches(), st.data())
def test_row_masks_and_positions_select_as_numpy_does(batch, data):
    es, _ = batch
    n = len(es)
    mask = np.array(data.draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    chosen = es[mask]
    assert len(chosen) == int(mask.sum())
    if mask.any():  # an empty batch has no features: (0, 0)
        np.testing.assert_array_equal(chosen.values, es.values[mask])
    else:
        assert chosen.values.shape == (0, 0)
    positions = data.draw(st.lists(st.integers(-n, n - 1), max_size=8))
    assert list(es[positions]) == [list(es)[i] for i in positions]


@given(batches(), st.data())
def test_features_by_name_select_as_numpy_does(batch, data):
    es, names = batch
    picked = data.draw(st.lists(st.sampled_from(names), min_size=1, unique=True))
    idx = [names.index(name) for name in picked]
    sub = es[:, picked]
    assert sub.features == picked
    np.testing.assert_array_equal(sub.values, es.values[:, idx])
    np.testing.assert_array_equal(es[:, picked[0]], es.values[:, idx[0]])
    np.testing.assert_array_equal(sub.data, es.data[:, idx])
    for whole, part in zip(es, sub, strict=True):
        np.testing.assert_array_equal(part.special, whole.special[idx])
        assert part.base_value == whole.base_value
        if len(idx) < len(names):
            left = part.diagnostics["restricted"]
            # f(x) - f(reference) does not depend on the features kept; sums over them do
            assert part.diagnostics.get("delta") == whole.diagnostics.get("delta")
            assert "completeness_gap" not in part.diagnostics
            assert left["features_left_out"] == len(names) - len(idx)
            total = part.values.sum() + left["values_left_out"]
            assert np.isclose(total, whole.values.sum(), rtol=1e-9, atol=1e-6)


@given(batches())
def test_long_frame_and_round_trip(batch):
    es, names = batch
    long = es.to_frame()
    assert len(long) == len(es) * len(names)
    np.testing.assert_array_equal(long["value"], es.values.ravel())
    np.testing.assert_allclose(es.mean_abs()[names].to_numpy(), np.abs(es.values).mean(0))
    assert Explanations.from_dict(json.loads(json.dumps(es.to_dict()))) == es
