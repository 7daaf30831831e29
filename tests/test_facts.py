"""Melody facts: exact values on small melodies and on a real chorale melody."""

from __future__ import annotations

from fractions import Fraction

import music21
import pytest

from augment.facts import (
    bar_count,
    contour_class,
    grid_share,
    in_scale_rate,
    melody_facts,
    melody_facts_batch,
    scale_degree,
    step_share,
)
from augment.melody import Melody
from augment.theory import Key
from corpus_util import top_line

# C D E F G (rest) E C: a three-bar phrase in 4/4, 12 quarters, an arch.
PHRASE = Melody.from_pairs([(60, 1), (62, 1), (64, 1), (65, 1), (67, 2), (None, 1), (64, 1), (60, 4)])


def test_phrase_facts_exact() -> None:
    f = melody_facts(PHRASE, meter=(4, 4))
    assert f.key == Key(0, "major") and f.key_margin is not None and f.key_margin > 0
    assert (f.lowest, f.highest, f.span_semitones) == (60, 67, 7)
    assert f.note_count == 7 and f.total_quarters == 12
    assert f.bars == 3 and f.complete_bars is True
    assert f.largest_leap_semitones == 4
    assert f.step_share == pytest.approx(4 / 6) and f.repeat_share == 0.0
    assert f.in_scale_rate == 1.0
    assert f.contour == (1, 1, 1, 1, -1, -1) and f.contour_class == "arch"
    assert f.last_degree == 1 and f.ends_on_tonic_triad is True
    assert f.grid_share == 1.0


def test_given_key_and_meter_change_the_facts() -> None:
    f = melody_facts(PHRASE, key=Key(7, "major"), meter=(3, 4))
    assert f.key == Key(7, "major") and f.key_margin is None
    assert f.in_scale_rate == pytest.approx(10 / 11)   # F (1 of 11 sounding quarters) is not in G
    assert f.last_degree == 4 and f.ends_on_tonic_triad is False
    assert f.bars == 4 and f.complete_bars is True
    assert melody_facts(PHRASE, meter=(6, 8)).bars == 4     # a 6/8 bar holds 3 quarters
    assert melody_facts(PHRASE, meter=(5, 4)).complete_bars is False


def test_scale_degrees_in_modes() -> None:
    assert scale_degree(71, Key(2, "dorian")) == 6      # B is the raised 6th of D dorian
    assert scale_degree(70, Key(2, "dorian")) is None
    assert scale_degree(65, Key(7, "mixolydian")) == 7
    assert in_scale_rate(Melody.from_pairs([(62, 3), (70, 1)]), Key(2, "dorian")) == 0.75


def test_contour_classes() -> None:
    def cls(*pitches: int) -> str:
        return contour_class(Melody.from_pairs([(p, 1) for p in pitches]))

    assert cls(60, 62, 64, 67) == "ascending"
    assert cls(67, 65, 64, 60) == "descending"
    assert cls(60, 67, 60) == "arch"
    assert cls(67, 60, 67) == "bowl"
    assert cls(60, 61, 60) == "level"
    assert cls(60, 62, 58, 61, 60) == "wave"


def test_grid_share_with_and_without_triplets() -> None:
    m = Melody.from_pairs([(60, "1/3"), (62, "1/3"), (64, "1/3"), (65, "3/4"), (67, "1/5")])
    assert grid_share(m) == pytest.approx(4 / 5)
    assert grid_share(m, triplets=False) == pytest.approx(1 / 5)
    assert grid_share(m, grid_quarters=Fraction(1, 2), triplets=False) == 0.0


def test_empty_and_single_note_melodies() -> None:
    assert step_share(Melody.from_pairs([(60, 1)])) == 1.0
    f = melody_facts(Melody.from_pairs([(None, 2)]), meter=(2, 4))
    assert f.key is None and f.note_count == 0 and f.span_semitones == 0
    assert f.bars == 1 and f.last_degree is None and f.in_scale_rate is None
    assert bar_count(Melody.from_pairs([(60, "3/2")]), (3, 8)) == 1


def test_batch_matches_single() -> None:
    other = Melody.from_pairs([(69, 1), (72, 1), (76, 1), (69, 2)])
    assert melody_facts_batch([PHRASE, other], [None, Key(9, "minor")]) == [
        melody_facts(PHRASE), melody_facts(other, key=Key(9, "minor"))]


def test_facts_of_a_real_chorale_melody() -> None:
    """BWV 66.6 soprano (F# minor, 4/4, one-quarter pickup balanced by a 3-quarter last bar)."""
    melody = top_line(music21.corpus.parse("bach/bwv66.6").parts[0])
    f = melody_facts(melody, meter=(4, 4))
    assert f.key == Key(6, "minor")
    assert (f.lowest, f.highest, f.note_count, f.total_quarters) == (64, 76, 36, 36)
    assert f.bars == 9 and f.complete_bars is True
    assert f.largest_leap_semitones == 5
    assert f.step_share == pytest.approx(25 / 35) and f.repeat_share == pytest.approx(5 / 35)
    assert f.in_scale_rate == pytest.approx(35.5 / 36)    # one E# (leading tone) of half a beat
    assert f.contour_class == "descending" and f.contour[:5] == (-1, -1, 1, 1, 1)
    assert f.last_degree == 1 and f.ends_on_tonic_triad is True
    assert f.grid_share == 1.0
