"""Models for fault injection in explain_dataset tests (importable by worker processes)."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import numpy as np

MARKER = 1000.0  # column "a" of the rows that trigger the fault


class FlakyModel:
    """A linear-logistic classifier over a DataFrame that fails on rows whose column ``a``
    is ``MARKER`` while the file ``flag`` exists: it raises, or (``kill=True``) kills the
    worker process it runs in (never the test's own process, ``driver_pid``)."""

    classes_ = np.array([0, 1])

    def __init__(self, weights: np.ndarray, flag: Path, kill: bool = False) -> None:
        self.weights = np.asarray(weights, dtype=np.float64)
        self.flag = str(flag)
        self.kill = kill
        self.driver_pid = os.getpid()

    def predict_proba(self, frame) -> np.ndarray:
        x = np.asarray(frame, dtype=np.float64)
        if os.path.exists(self.flag) and np.any(x[:, 0] == MARKER):
            if self.kill and os.getpid() != self.driver_pid:
                os.kill(os.getpid(), signal.SIGKILL)
            raise RuntimeError("injected fault")
        z = np.tanh(x / 1000.0) @ self.weights
        p = 1.0 / (1.0 + np.exp(-z))
        return np.column_stack([1 - p, p])
