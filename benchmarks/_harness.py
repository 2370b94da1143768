"""Shared plumbing of the benchmarks: interleaved medians, a CPU burner, thread settings.

Every benchmark runs xplain and the incumbent in one process, with the same thread
settings, warm-up first, then ``repeats`` rounds in which each contender runs once in
turn (interleaved, so machine noise hits all of them), and reports medians. ``--load N``
starts N busy-looping processes for the whole run: the case of a user's Jupyter kernel on
a busy laptop, where BLAS thread pools that spin-wait lose their cores.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

BURNER = "while True:\n    pass\n"


def add_common_arguments(parser: argparse.ArgumentParser, repeats: int = 5) -> None:
    """``--repeats``, ``--threads`` and ``--load`` with their defaults."""
    parser.add_argument("--repeats", type=int, default=repeats, help="interleaved rounds")
    parser.add_argument(
        "--threads", type=int, default=2, help="torch threads for every contender"
    )
    parser.add_argument(
        "--load",
        type=int,
        default=0,
        help="busy-looping processes run beside the benchmark (0: none)",
    )


@contextlib.contextmanager
def cpu_load(processes: int) -> Iterator[None]:
    """Run ``processes`` busy-looping Python processes while the block runs."""
    burners = [
        subprocess.Popen([sys.executable, "-c", BURNER], stdout=subprocess.DEVNULL)
        for _ in range(processes)
    ]
    try:
        if burners:
            time.sleep(0.5)  # let them start spinning
        yield
    finally:
        for burner in burners:
            burner.kill()
            burner.wait()


@contextlib.contextmanager
def bench_session(args: argparse.Namespace) -> Iterator[None]:
    """Torch threads set to ``args.threads``, ``args.load`` burners running, a header."""
    import torch

    torch.set_num_threads(args.threads)
    load = getattr(args, "load", 0)
    print(
        f"{args.threads} torch threads, median of {args.repeats} interleaved repeats, "
        f"{load} CPU burner process(es), {os.cpu_count()} cores, "
        f"load average {os.getloadavg()[0]:.2f}\n"
    )
    with cpu_load(load):
        yield


@dataclass
class Timing:
    """Median wall time, all the times and the first result of one contender."""

    median: float
    times: list[float]
    result: object


def side_by_side(runs: dict[str, Callable[[], object]], repeats: int) -> dict[str, Timing]:
    """Time each run ``repeats`` times, interleaved, after one warm-up of each."""
    for fn in runs.values():
        fn()
    times: dict[str, list[float]] = {name: [] for name in runs}
    results: dict[str, object] = {}
    for _ in range(repeats):
        for name, fn in runs.items():
            start = time.perf_counter()
            out = fn()
            times[name].append(time.perf_counter() - start)
            results.setdefault(name, out)
    return {
        name: Timing(statistics.median(times[name]), times[name], results[name])
        for name in runs
    }


def ratio(a: float, b: float) -> str:
    """``a / b`` printed with 3 significant digits (``inf`` when ``b`` is 0)."""
    return f"{a / b:.3g}" if b > 0 else "inf"


def print_table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    """A Markdown table, ready to paste into the README."""
    cells = [[str(cell) for cell in row] for row in rows]
    print("| " + " | ".join(headers) + " |")
    print("|" + "|".join("---" for _ in headers) + "|")
    for row in cells:
        print("| " + " | ".join(row) + " |")
    print()
