"""What several benchmarks time the same way."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from typing import Any


def best_of(fn: Callable[[], Any], repeat: int) -> float:
    """The fastest of ``repeat`` calls of ``fn``, in seconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def best_of_each(fns: dict[str, Callable[[], Any]], repeat: int) -> dict[str, float]:
    """The fastest of ``repeat`` calls of each of ``fns``, in seconds, the calls taken in
    turn (one of each, then again), so that a ratio of two of them is measured in the same
    spells of a machine whose speed moves within minutes."""
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeat):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: min(each) for name, each in times.items()}


def machine_probe(repeat: int = 5) -> float:
    """Seconds (best of ``repeat``) of a fixed piece of plain Python work of the kind that
    dominates a run (small tuples and dicts, str joins, sha256 digests of short texts): a
    yardstick printed beside a benchmark's figures, since the machines this project is
    measured on differ by up to ~2.5x from one session to the next. Compare figures taken on
    different days by their probes, not as they are."""

    def work() -> None:
        for i in range(100_000):
            notes = tuple(range(i % 16))
            fields = {"i": i, "notes": notes}
            text = ",".join(map(str, fields["notes"]))
            hashlib.sha256(text.encode()).hexdigest()

    return best_of(work, repeat)
