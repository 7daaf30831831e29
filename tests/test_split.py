"""Size-aware group splits: fractions within 2% of rows, groups by shared tunes, holdouts."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from augment.dataset import tune_groups
from augment.dedup import MelodyRelations
from augment.melody import transpose
from augment.near import NearParams
from augment.split import SPLITS, Group, assign_groups, key_from_name
from dataset_util import example, seeds_from_corpus


@settings(max_examples=80, deadline=None)
@given(st.lists(st.integers(1, 30), min_size=30, max_size=120), st.integers(0, 10_000))
def test_fractions_met_within_two_percent_of_rows(sizes: list[int], run_seed: int) -> None:
    groups = [Group(f"g{i}", n) for i, n in enumerate(sizes)]
    side = assign_groups(groups, 0.1, 0.1, run_seed)
    total = sum(sizes)
    for name in ("test", "validation"):
        got = sum(g.rows for g in groups if side[g.id] == name)
        # 2% of rows, or half the smallest group when groups are too coarse for that
        assert abs(got - 0.1 * total) <= max(0.02 * total, min(sizes) / 2)


def test_stratified_split_keeps_each_mode_in_every_split() -> None:
    rng = np.random.default_rng(0)
    groups = [Group(f"g{i}", int(rng.integers(1, 25)), "minor" if i % 3 == 0 else "major")
              for i in range(90)]
    side = assign_groups(groups, 0.15, 0.15, 0)
    total = sum(g.rows for g in groups)
    for name in SPLITS:
        assert {g.stratum for g in groups if side[g.id] == name} == {"major", "minor"}
    for name in ("test", "validation"):
        assert abs(sum(g.rows for g in groups if side[g.id] == name) - 0.15 * total) <= 0.02 * total


def test_forced_groups_and_determinism() -> None:
    groups = [Group(f"g{i}", 5) for i in range(20)]
    a = assign_groups(groups, 0.2, 0.1, 7, forced={"g3": "test"})
    assert a["g3"] == "test"
    assert a == assign_groups(list(reversed(groups)), 0.2, 0.1, 7, forced={"g3": "test"})
    assert a != assign_groups(groups, 0.2, 0.1, 8, forced={"g3": "test"})


def test_transposed_seeds_are_one_group() -> None:
    a, b, c = seeds_from_corpus(3, start=50, step=7)
    a_up = example(transpose(a.melody, 5), "The same tune up a fourth.")
    seeds = [a, b, c, a_up]
    group = tune_groups(seeds, MelodyRelations.of(seeds, NearParams(similarity=0.8)))
    assert group[a.seed_id] == group[a_up.seed_id]
    assert len({group[b.seed_id], group[c.seed_id], group[a.seed_id]}) == 3


def test_components_are_transitive_and_named_by_their_smallest_node() -> None:
    from augment.ragged import components

    assert components(5, np.array([2, 1]), np.array([1, 0])).tolist() == [0, 0, 0, 3, 4]
    assert components(3, np.zeros(0, int), np.zeros(0, int)).tolist() == [0, 1, 2]


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 30).flatmap(lambda n: st.tuples(
    st.just(n), st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=40))))
def test_components_equal_a_union_find(graph: tuple[int, list[tuple[int, int]]]) -> None:
    """Chains, cycles, self-loops and repeated edges in any order: each node's smallest
    connected node, as a plain union-find gives it."""
    from augment.ragged import components

    n, edges = graph
    parent = list(range(n))

    def root(x: int) -> int:
        while parent[x] != x:
            x = parent[x]
        return x
    for a, b in edges:
        ra, rb = root(a), root(b)
        parent[max(ra, rb)] = min(ra, rb)
    u = np.array([a for a, _ in edges], dtype=np.int64)
    v = np.array([b for _, b in edges], dtype=np.int64)
    assert components(n, u, v).tolist() == [root(x) for x in range(n)]


def test_key_names() -> None:
    assert key_from_name("F# major").name == "F# major"
    assert key_from_name("bb minor").name == "Bb minor"
    assert key_from_name("D dorian").name == "D dorian"
    assert key_from_name("H major") is None and key_from_name("C blues") is None
