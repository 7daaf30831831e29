"""The index computations shared by ragged batches (``augment.ragged``), against numpy's
general functions they stand in for."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from augment import ragged

INT_TYPES = st.sampled_from([np.int8, np.int32, np.int64, np.uint8, np.uint32, np.uint64])


@given(INT_TYPES.flatmap(lambda t: hnp.arrays(t, st.integers(0, 300))))
def test_distinct_is_np_unique_for_any_integers(values: np.ndarray) -> None:
    expected = np.unique(values)
    for runs in (False, True):  # the sort used does not change the values
        out = ragged.distinct(values, runs)
        assert out.dtype == expected.dtype and np.array_equal(out, expected)


def test_distinct_of_candidate_pair_codes_and_of_other_types() -> None:
    rng = np.random.default_rng(7)
    codes = rng.integers(0, 10**12, 200_000) * 3  # many distinct values, some repeated
    codes[::5] = codes[1::5]
    assert np.array_equal(ragged.distinct(codes), np.unique(codes))
    extremes = np.array([np.iinfo(np.int64).max, np.iinfo(np.int64).min, 0, -1, 0], dtype=np.int64)
    assert ragged.distinct(extremes).tolist() == sorted({0, -1, *extremes[:2].tolist()})
    floats = np.array([0.5, np.nan, 0.25, np.nan, 0.5])  # not integers: np.unique's own rules
    assert np.array_equal(ragged.distinct(floats), np.unique(floats), equal_nan=True)
    grid = np.array([[1, 2], [1, 2], [0, 5]])
    assert np.array_equal(ragged.distinct(grid), np.unique(grid))


@given(INT_TYPES.flatmap(lambda t: hnp.arrays(t, st.integers(0, 300),
                                               elements=st.integers(0, 5) | st.integers(0, 127))))
def test_first_equal_is_the_first_index_np_unique_finds(values: np.ndarray) -> None:
    _, first, inverse = np.unique(values, return_index=True, return_inverse=True)
    out = ragged.first_equal(values)
    assert out.tolist() == first[inverse.reshape(-1)].tolist()
    assert all(values[i] == values[j] and i <= j for j, i in enumerate(out.tolist()))


@given(st.lists(st.text(alphabet="sv0123abf\x00é", max_size=5), max_size=60),
       st.data())
def test_text_order_is_the_order_python_sorts_in(texts: list[str], data: st.DataObject) -> None:
    first = np.array(data.draw(st.lists(st.booleans(), min_size=len(texts), max_size=len(texts))),
                     dtype=bool)
    order = sorted(range(len(texts)), key=texts.__getitem__)
    assert ragged.text_order(texts).tolist() == order
    assert ragged.text_order(texts, first).tolist() == \
        [i for i in order if first[i]] + [i for i in order if not first[i]]


def test_text_order_of_example_ids_takes_the_bytes_way() -> None:
    ids = [f"v{(i * 7919) % 10007:015x}" for i in range(3000)] + [f"s{i:012x}" for i in range(50)]
    assert ragged._byte_words(ids) is not None and ragged._byte_words(["é"]) is None
    assert ragged._byte_words(["a\x00"]) is None and ragged._byte_words(["a", "b\x00c"]) is None
    assert ragged.text_order(ids).tolist() == sorted(range(len(ids)), key=ids.__getitem__)


# Long texts sharing their first 8 bytes or more, so that rows tie on their first word (or
# more) and are ordered by the words after it; a NUL or non-ASCII text takes Python's way.
@settings(max_examples=300)
@given(st.lists(st.tuples(st.sampled_from(["", "v1234567", "v12345678", "v1234567\x7f", "s0000000"]),
                          st.text(alphabet="ab\x01~é\x00", max_size=12)).map("".join), max_size=40))
def test_text_order_of_texts_tied_on_their_first_words(texts: list[str]) -> None:
    assert ragged.text_order(texts).tolist() == sorted(range(len(texts)), key=texts.__getitem__)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(alphabet="ab~Z9é\x00", max_size=4), max_size=30),
       st.lists(st.text(alphabet="ab~Z9é\x00", max_size=4), max_size=30))
def test_merged_order_of_two_sorted_parts_is_the_text_order(first: list[str], second: list[str]) -> None:
    """Two parts each in text order already (a run's kept seeds, then its kept variants):
    placing the first among the second gives what sorting the whole does, stably (equal
    texts: the first part's first)."""
    from augment.ragged import merged_order, text_order

    texts = sorted(first) + sorted(second)
    assert merged_order(texts, len(first)).tolist() == text_order(texts).tolist()
    boxed = [(t,) for t in texts]  # the texts read by a key (a run's examples by id)
    assert merged_order(boxed, len(first), key=lambda b: b[0]).tolist() == text_order(texts).tolist()
    whole = sorted(texts)  # one part only: already in order
    in_place = list(range(len(whole)))
    assert merged_order(whole, 0).tolist() == merged_order(whole, len(whole)).tolist() == in_place
    with pytest.raises(ValueError):
        merged_order(texts, len(texts) + 1)
