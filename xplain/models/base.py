"""What every model wrapper offers: an evaluation counter, and the scores methods explain."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

import torch

_TOTAL_LOCK = threading.Lock()  # one lock for every counter: copies of a wrapper need none
_THREAD = threading.local()  # .rows: rows this thread evaluated; .paused: uncounted depth


def evaluated_in_this_thread() -> int:
    """Rows every :class:`EvalCounter` has evaluated in the calling thread so far.

    A call is charged the difference between its end and its start: rows evaluated by
    other threads meanwhile are not in it, so concurrent calls count as serial ones.
    """
    return getattr(_THREAD, "rows", 0)


@contextmanager
def uncounted() -> Iterator[None]:
    """Rows evaluated within the block are charged to no call of this thread: one-time
    setup (an adapter's caches, built once and then shared by every call) costs no call
    anything. They still count in each model's running total ``n_evals``."""
    _THREAD.paused = getattr(_THREAD, "paused", 0) + 1
    try:
        yield
    finally:
        _THREAD.paused -= 1


class EvalCounter:
    """Counts the rows a model has evaluated.

    ``n_evals`` is the running total over every thread; what an Explanation reports
    (``n_model_evals``) is what its own call evaluated (:func:`evaluated_in_this_thread`).
    """

    def __init__(self) -> None:
        self.n_evals = 0

    def count(self, n_rows: int) -> None:
        n = int(n_rows)
        with _TOTAL_LOCK:  # += on an attribute is not atomic across threads
            self.n_evals += n
        if not getattr(_THREAD, "paused", 0):
            _THREAD.rows = getattr(_THREAD, "rows", 0) + n


def explained_scores(logits: torch.Tensor, output: str) -> torch.Tensor:
    """The scores a method explains: raw logits, probabilities or log-probabilities."""
    if output == "logits":
        return logits
    if output == "probability":
        return torch.softmax(logits, dim=-1)
    return torch.log_softmax(logits, dim=-1)
