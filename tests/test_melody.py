from __future__ import annotations

from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from augment.melody import (
    GRID_QUARTER,
    Melody,
    invert,
    retrograde,
    scale_durations,
    transpose,
    transposition_range,
)

pitch_or_rest = st.one_of(st.none(), st.integers(min_value=30, max_value=100))
grid_duration = st.integers(min_value=1, max_value=48 * 8).map(lambda t: t * GRID_QUARTER)
melodies = st.lists(st.tuples(pitch_or_rest, grid_duration), min_size=1, max_size=40).map(
    lambda pairs: Melody(tuple(p for p, _ in pairs), tuple(d for _, d in pairs))
)


@given(melodies, st.integers(min_value=-24, max_value=24))
def test_transpose_then_back_is_identity(melody: Melody, k: int) -> None:
    assert transpose(transpose(melody, k), -k) == melody


@given(melodies, st.integers(min_value=-24, max_value=24))
def test_transpose_keeps_intervals_rests_and_rhythm(melody: Melody, k: int) -> None:
    moved = transpose(melody, k)
    assert moved.intervals() == melody.intervals()
    assert moved.durations == melody.durations
    assert [p is None for p in moved.pitches] == [p is None for p in melody.pitches]


@given(melodies, st.integers(min_value=40, max_value=90))
def test_inversion_negates_intervals_and_is_an_involution(melody: Melody, axis: int) -> None:
    mirrored = invert(melody, axis)
    assert mirrored.intervals() == tuple(-i for i in melody.intervals())
    assert invert(mirrored, axis) == melody


@given(melodies)
def test_retrograde_reverses_pairs(melody: Melody) -> None:
    assert retrograde(melody).pairs() == melody.pairs()[::-1]
    assert retrograde(retrograde(melody)) == melody


def test_scale_durations_and_values_are_not_mutated() -> None:
    m = Melody.from_pairs([(60, 0.5), (None, 0.5), (67, 1)])
    doubled = scale_durations(m, Fraction(2))
    assert doubled.durations == (Fraction(1), Fraction(1), Fraction(2))
    assert m.durations == (Fraction(1, 2), Fraction(1, 2), Fraction(1))
    assert m.total_quarters == 2 and doubled.total_quarters == 4


def test_transposition_range_keeps_notes_in_bounds() -> None:
    m = Melody.from_pairs([(60, 1), (72, 1)])
    fits = transposition_range(m, 55, 80)
    assert (fits.start, fits.stop) == (-5, 9)
    for k in fits:
        low, high = transpose(m, k).pitch_range() or (0, 0)
        assert 55 <= low and high <= 80


def test_rests_are_not_pitches() -> None:
    m = Melody.from_pairs([(60, 1), (None, 1), (64, 2)])
    assert m.notes == (60, 64)
    assert m.intervals() == (4,)
    hist = m.pitch_class_histogram()
    assert hist[0] == 1 and hist[4] == 2 and hist.sum() == 3
