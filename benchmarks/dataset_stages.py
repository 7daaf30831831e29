"""Measure the dataset stages on real melodies (tests/data/corpus_melodies.jsonl).

    python benchmarks/dataset_stages.py

Prints near-dedup calibration (probe recall, melodies merged and whether each merged pair
is a known same tune), and split fractions of ``assign_groups`` against plain hashing.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from augment.calibrate import calibrate  # noqa: E402
from augment.near import invariant_key, melody_tokens, near_pairs  # noqa: E402
from augment.split import Group, assign_groups  # noqa: E402
from dataset_util import corpus  # noqa: E402
from test_dedup import SAME_TUNES  # noqa: E402


def main() -> None:
    items = corpus()
    t = time.perf_counter()
    cal = calibrate([m for _, m in items], np.random.default_rng(0))
    print(f"calibration on {len(items)} real melodies ({time.perf_counter() - t:.1f} s):")
    print(json.dumps(cal.as_dict(), indent=1))
    pairs = near_pairs([melody_tokens(m) for _, m in items], cal.params)
    false = set()
    for i, j, sim in pairs:
        same = invariant_key(items[i][1]) == invariant_key(items[j][1]) or \
            frozenset({items[i][0], items[j][0]}) in SAME_TUNES
        print(f"  merged {items[i][0]} ~ {items[j][0]} sim {sim:.3f} {'same tune' if same else 'FALSE'}")
        if not same:
            false |= {i, j}
    print(f"false merges: {len(false)} of {len(items)} melodies ({len(false) / len(items):.2%})")
    rng = np.random.default_rng(0)
    worst_ours = worst_hash = 0.0
    for trial in range(200):
        sizes = rng.integers(1, 30, size=int(rng.integers(20, 100)))
        groups = [Group(f"g{i}", int(n)) for i, n in enumerate(sizes)]
        side = assign_groups(groups, 0.1, 0.1, trial)
        total = sizes.sum()
        order = sorted(groups, key=lambda g: hashlib.sha256(f"{trial}:{g.id}".encode()).hexdigest())
        n_test = round(0.1 * len(groups))
        hashed_test = sum(g.rows for g in order[:n_test])
        ours_test = sum(g.rows for g in groups if side[g.id] == "test")
        worst_ours = max(worst_ours, abs(ours_test / total - 0.1))
        worst_hash = max(worst_hash, abs(hashed_test / total - 0.1))
    print(f"split, 200 random group sets (20-100 groups of 1-29 rows), test = 0.1: worst miss "
          f"{worst_ours:.2%} of rows size-aware, {worst_hash:.2%} counting families by hash")


if __name__ == "__main__":
    main()
