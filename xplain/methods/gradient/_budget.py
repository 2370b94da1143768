"""What a gradient method may hold at once: chunk sizes and noise within ``xplain.limits``."""

from __future__ import annotations

import torch

from xplain.errors import InvalidParameterError
from xplain.limits import current

NOISE_SIGMAS = 10  # Gaussian draws beyond 10 std happen with probability ~1e-23


def rows_per_chunk(row: torch.Tensor) -> int:
    """Rows shaped like ``row`` (one input ``[*S]``) that fit in one array of at most
    ``xplain.limits.current().max_memory_bytes`` (at least 1)."""
    row_bytes = max(row.numel() * row.element_size(), 1)
    return max(1, current().max_memory_bytes // row_bytes)


def check_noise(owner: str, parameter: str, value: float, std: float, dtype: torch.dtype) -> None:
    """Refuse Gaussian noise of std ``std`` (set by ``parameter=value``) whose draws would
    overflow ``dtype``: the noisy inputs would be infinite and every attribution NaN."""
    largest = torch.finfo(dtype).max
    if std * NOISE_SIGMAS >= largest:
        raise InvalidParameterError(
            f"The {parameter!r} parameter of {owner} gives Gaussian noise of std {std:.3g}, "
            f"too large for {dtype} inputs (largest value {largest:.3g}): the noisy inputs "
            f"would be infinite. Got {value!r}. Use noise of at most a few times the input's "
            "range."
        )
