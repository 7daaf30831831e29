"""The fast paths of large runs equal the plain definitions they replace."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from augment.near import MinHasher, NearParams, candidate_pairs, edit_distance, near_pairs


def levenshtein(a: list[str], b: list[str]) -> int:
    """The textbook dynamic programme."""
    prev = list(range(len(b) + 1))
    for i, ta in enumerate(a, start=1):
        cur = [i] + [0] * len(b)
        for j, tb in enumerate(b, start=1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ta != tb))
        prev = cur
    return prev[-1]


tokens = st.lists(st.sampled_from(["+1:1", "-1:1", "+2:1/2", "R:2", "0:1"]), max_size=90)


@settings(max_examples=300, deadline=None)
@given(tokens, tokens)
def test_bit_vector_edit_distance_equals_the_dynamic_programme(a: list[str], b: list[str]) -> None:
    assert edit_distance(a, b) == levenshtein(a, b)


def test_edit_distance_known_values() -> None:
    assert edit_distance("kitten", "sitting") == 3
    assert edit_distance("", "abc") == 3
    assert edit_distance("flaw", "lawn") == 2


def test_batched_signatures_equal_one_at_a_time() -> None:
    rng = np.random.default_rng(3)
    sets = [np.unique(rng.integers(0, 2**32, size=int(rng.integers(0, 70))).astype(np.uint64))
            for _ in range(400)]
    sets[7] = np.zeros(0, dtype=np.uint64)
    hasher = MinHasher(64)
    one_by_one = np.vstack([hasher.signature(s) for s in sets])
    for chunk in (1, 100, 1 << 14):
        assert (hasher.signatures(sets, chunk_shingles=chunk) == one_by_one).all()


def _pairs_by_dict(signatures: np.ndarray, bands: int, rows: int, groups: list[int]) -> list:
    pairs = set()
    for band in range(bands):
        buckets: dict[bytes, list[int]] = {}
        for i, row in enumerate(signatures[:, band * rows:(band + 1) * rows]):
            buckets.setdefault(row.tobytes(), []).append(i)
        for m in buckets.values():
            pairs.update((x, y) for x in m for y in m if x < y and groups[x] != groups[y])
    return sorted(pairs)


def test_candidate_pairs_equal_the_bucket_dictionary_with_and_without_groups() -> None:
    rng = np.random.default_rng(5)
    # Few distinct values so that buckets of every size (2 to > 32) occur.
    sigs = rng.integers(0, 3, size=(300, 12)).astype(np.uint64)
    sigs[:60] = 7  # one bucket of 60 in every band
    groups = rng.integers(0, 4, size=300).tolist()
    assert candidate_pairs(sigs, 6, 2, groups) == _pairs_by_dict(sigs, 6, 2, groups)
    assert candidate_pairs(sigs, 4, 3) == _pairs_by_dict(sigs, 4, 3, list(range(300)))
    # Many groups: a big bucket's pairs are mostly across groups (all made, then filtered);
    # few groups: mostly inside one (made group by group). Both ways give the same pairs.
    many = rng.integers(0, 40, size=300).tolist()
    assert candidate_pairs(sigs, 6, 2, many) == _pairs_by_dict(sigs, 6, 2, many)


def test_near_pairs_with_groups_are_the_cross_group_subset() -> None:
    rng = np.random.default_rng(9)
    base = [f"{int(x):+d}:1" for x in rng.integers(-5, 6, size=30)]
    seqs = []
    for k in range(40):
        s = list(base)
        for pos in rng.integers(0, 30, size=k % 6):
            s[int(pos)] = "R:2"
        seqs.append(tuple(s))
    groups = [k % 3 for k in range(40)]
    params = NearParams(shingle_size=3, lsh_threshold=0.3, similarity=0.8)
    every = near_pairs(seqs, params)
    assert len(every) > 50
    assert near_pairs(seqs, params, groups) == [p for p in every if groups[p[0]] != groups[p[1]]]


def test_example_init_takes_the_fields_as_the_dataclass_would() -> None:
    """``Example.__init__`` is written out (slot setters, ~0.5 us less an example): its
    parameters are the fields, in order, with the fields' defaults; every field is set to
    what was given, by position or by name; the example stays frozen, and ``replace`` and
    pickling make equal examples."""
    import dataclasses
    import inspect
    import pickle

    from augment.example import Example, Message, Step
    from augment.melody import Melody
    from augment.theory import Key

    params = list(inspect.signature(Example.__init__).parameters.values())[1:]
    fields = dataclasses.fields(Example)
    assert [p.name for p in params] == [f.name for f in fields]
    assert [p.default for p in params] == [inspect.Parameter.empty if f.default is dataclasses.MISSING
                                           else f.default for f in fields]
    values = ("v1", (Message("user", "hi"), Message("assistant", None)), Melody.from_ticks((60,), (4,)),
              1, "s1", "seeds.jsonl:1", "s1", (Step("transpose", (("semitones", 2),)),),
              Key(2, "major"), (("meter", "3/4"),))
    by_position = Example(*values)
    by_name = Example(**{f.name: v for f, v in zip(fields, values, strict=True)})
    assert [getattr(by_position, f.name) for f in fields] == list(values)
    assert by_name == by_position and hash(by_name) == hash(by_position)
    assert [getattr(Example(*values[:6]), f.name) for f in fields[6:]] == [None, (), None, ()]
    with pytest.raises(dataclasses.FrozenInstanceError):
        by_position.id = "v2"  # type: ignore[misc]
    assert dataclasses.replace(by_position, id="v2") == Example("v2", *values[1:])
    assert pickle.loads(pickle.dumps(by_position)) == by_position
