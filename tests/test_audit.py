"""Leakage audit: held-out melodies with an exact, transposed or near copy in train fail."""

from __future__ import annotations

import numpy as np
import pytest

from augment.audit import assert_no_leaks, find_leaks
from augment.calibrate import ornament
from augment.errors import AugmentError
from augment.melody import scale_durations, transpose
from augment.near import NearParams
from dataset_util import example, seeds_from_corpus

PARAMS = NearParams(shingle_size=2, lsh_threshold=0.3, similarity=0.85)


def test_clean_splits_pass() -> None:
    seeds = seeds_from_corpus(12, start=200, step=5)
    assert find_leaks({"train": seeds[:8], "validation": seeds[8:10], "test": seeds[10:]}, PARAMS) == []


@pytest.mark.parametrize("kind", ["exact", "transposed", "tempo", "ornament"])
def test_each_kind_of_leak_is_caught(kind: str) -> None:
    seeds = seeds_from_corpus(6, start=300, step=3)
    m = seeds[0].melody
    leaked = {"exact": m, "transposed": transpose(m, -3), "tempo": scale_durations(m, 2),
              "ornament": ornament(m, np.random.default_rng(2))}[kind]
    assert leaked is not None
    test = [example(leaked, "A different prompt.")]
    problems = find_leaks({"train": seeds, "test": test}, PARAMS)
    assert len(problems) == 1 and seeds[0].id in problems[0]
    with pytest.raises(AugmentError, match="leakage audit failed: 1 held-out"):
        assert_no_leaks({"train": seeds, "test": test}, PARAMS)
