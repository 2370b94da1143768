"""The hybrids of the tabular adapter's row space: the values of ``np.where``."""

from __future__ import annotations

import numpy as np

from xplain.adapters._tabular_backends import RowSpace


def test_row_space_hybrids_equal_where() -> None:
    rng = np.random.default_rng(1)
    background, row = rng.normal(size=(7, 6)), rng.normal(size=6)
    games, masks = rng.integers(0, 7, size=50), rng.random((50, 6)) < 0.5
    space = RowSpace(backend=None, background=background)  # type: ignore[arg-type]
    hybrids = space.hybrids(row, games, masks)
    np.testing.assert_array_equal(hybrids, np.where(masks, row, background[games]))
    assert hybrids.flags.c_contiguous and not np.shares_memory(hybrids, background)
