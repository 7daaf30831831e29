"""Splits by seed family: every variant of one seed lands on the same side.

Families are ordered by a stable hash of (run seed, seed id), so the assignment does
not depend on input order; the first ``round(test * n)`` families go to test, the next
``round(validation * n)`` to validation, the rest to train. A fraction above zero
always gets at least one family when there are at least three.
"""

from __future__ import annotations

import hashlib

from .config import SplitConfig

SPLITS = ("train", "validation", "test")


def _count(fraction: float, n: int) -> int:
    if fraction <= 0:
        return 0
    return max(1 if n >= 3 else 0, round(fraction * n))


def assign_families(seed_ids: list[str], config: SplitConfig, run_seed: int) -> dict[str, str]:
    """seed id -> split name."""
    order = sorted(set(seed_ids), key=lambda s: hashlib.sha256(f"{run_seed}:{s}".encode()).hexdigest())
    n = len(order)
    n_test = _count(config.test, n)
    n_val = min(_count(config.validation, n), max(0, n - n_test - 1))
    out = {}
    for i, sid in enumerate(order):
        out[sid] = "test" if i < n_test else "validation" if i < n_test + n_val else "train"
    return out
