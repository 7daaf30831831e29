"""--target N: caps, then a greedy diversity pick that beats a random pick of the same size."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from augment.config import SelectConfig
from augment.diversity import METRICS, diversity_report, features, largest_family_share
from augment.errors import AugmentError
from augment.example import Example
from augment.select import select, typicality
from dataset_util import seeds_from_corpus, transposed_family


@pytest.fixture(scope="module")
def pool() -> list[Example]:
    """40 real tunes, each with a family of up to 12 transpositions: a lopsided pool."""
    seeds = seeds_from_corpus(40, step=12)
    out: list[Example] = []
    for i, s in enumerate(seeds):
        out.append(s)
        out.extend(transposed_family(s, [k for k in range(-6, 7) if k][: 2 + (i % 4) * 3]))
    return out


@pytest.mark.parametrize("method", ["maxmin", "mmr"])
def test_diverse_pick_beats_random_pick(pool: list[Example], method: str) -> None:
    chosen, counts = select(pool, 60, SelectConfig(max_family_share=0.05, method=method))
    assert len(chosen) == 60 and counts["not_selected"] == len(pool) - 60
    ours = diversity_report(chosen)
    rng = np.random.default_rng(0)
    for _ in range(5):
        random_pick = [pool[i] for i in rng.choice(len(pool), size=60, replace=False)]
        theirs = diversity_report(random_pick)
        assert ours["vendi_score"] > theirs["vendi_score"]
        assert ours["distinct_interval_3grams"] > theirs["distinct_interval_3grams"]
        assert ours["contour_variety"] > theirs["contour_variety"]
        assert ours["largest_family_share"] <= theirs["largest_family_share"]


def test_caps_hold_and_seeds_are_kept(pool: list[Example]) -> None:
    seeds = [e for e in pool if e.is_seed]
    cfg = SelectConfig(max_family_share=0.05, max_key_share=0.2)
    chosen, _ = select(pool, 80, cfg, must_keep=seeds)
    assert {e.id for e in seeds} <= {e.id for e in chosen}
    assert max(Counter(e.seed_id for e in chosen).values()) <= 4  # ceil(0.05 * 80)
    assert largest_family_share(chosen) <= 0.05
    with pytest.raises(AugmentError, match="below the 40 examples"):
        select(pool, 10, cfg, must_keep=seeds)


def test_selection_is_deterministic_and_order_free(pool: list[Example]) -> None:
    a, _ = select(pool, 50, SelectConfig(method="mmr"))
    b, _ = select(list(reversed(pool)), 50, SelectConfig(method="mmr"))
    assert [e.id for e in a] == [e.id for e in b]


def test_metrics_mean_what_they_say(pool: list[Example]) -> None:
    one_family = [e for e in pool if e.seed_id == pool[0].seed_id]
    assert largest_family_share(one_family) == 1.0
    assert METRICS["vendi_score"]([pool[0]] * 5) == pytest.approx(1.0)
    seeds = [e for e in pool if e.is_seed]
    assert METRICS["vendi_score"](seeds) > 2
    # transposition spreads pitch classes and keys, not intervals
    assert METRICS["pitch_class_entropy"](one_family) >= METRICS["pitch_class_entropy"]([pool[0]])
    assert METRICS["distinct_interval_3grams"](one_family) == \
        METRICS["distinct_interval_3grams"]([pool[0]])


def test_mmr_typicality_holds_back_outliers_and_lambda_one_is_maxmin(pool: list[Example]) -> None:
    x = features(pool)
    typical = typicality(x)
    assert typical.min() == 0.0 and typical.max() == 1.0
    lonely = int(np.argmin(typical))  # its 10 nearest neighbours are the least similar
    nearest = np.sort(x @ x[lonely])[-11:-1]
    assert all(np.sort(x @ x[i])[-11:-1].mean() >= nearest.mean() for i in range(len(pool)))
    seeds = [e for e in pool if e.is_seed]  # kept first, so both start from the same set
    maxmin, _ = select(pool, 60, SelectConfig(method="maxmin"), must_keep=seeds)
    mmr_one, _ = select(pool, 60, SelectConfig(method="mmr", mmr_lambda=1.0), must_keep=seeds)
    assert [e.id for e in maxmin] == [e.id for e in mmr_one]
    mmr, _ = select(pool, 60, SelectConfig(method="mmr"), must_keep=seeds)
    assert [e.id for e in mmr] != [e.id for e in maxmin]
