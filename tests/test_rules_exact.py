"""Exact values of every rule on a real tune (Bach, BWV 66.6) and on hand-made seed examples."""

from __future__ import annotations

import json
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from music21 import corpus

from augment.codec import FormatConfig, parse_line
from augment.example import Example
from augment.melody import Melody
from augment.pipeline import annotate_keys, read_seeds
from augment.rules import BUILTIN_RULES
from augment.rules.ornament import ornament_options
from augment.rules.rhythm import rhythm_options
from augment.theory import Key

SEEDS = Path(__file__).resolve().parents[1] / "seeds" / "beethoven.jsonl"
F_SHARP_MINOR = {"key_tonic": 6, "key_mode": "minor"}


@pytest.fixture(scope="module")
def bach() -> Melody:
    """BWV 66.6 soprano, first two bars after the pickup: A B C# E | C# B A C# (F# minor)."""
    score = corpus.parse("bach/bwv66.6")
    notes = list(score.parts[0].flatten().notesAndRests)[2:10]
    return Melody.from_pairs([(n.pitch.midi, n.quarterLength) for n in notes])


# Four of the first hand-made seeds, inline so the tests do not follow edits of the seed file.
SEED_LINES = {
    "c_major": ("Generate a melody in C major.",
                "[[60, 0.5], [62, 0.25], [64, 0.25], [65, 0.5], [67, 0.5], [69, 0.25], [71, 0.25], "
                "[72, 1.0]]"),
    "a_minor": ("Compose a short piece in A minor.",
                "[[57, 0.5], [59, 0.25], [60, 0.25], [62, 0.5], [64, 0.5], [65, 0.25], [67, 0.25], "
                "[69, 1.0]]"),
    "f_minor": ("Write an energetic theme in F minor with a rising arpeggio.",
                "[[60, 1.0], [65, 0.5], [68, 0.5], [72, 0.5], [77, 0.5], [76, 0.25], [74, 0.25], "
                "[72, 0.5], [70, 0.5], [67, 0.5], [64, 0.5], [65, 2.0]]"),
    "minuet": ("Compose a graceful minuet melody in G major in 3/4.",
               "[[67, 1.0], [71, 1.0], [74, 1.0], [72, 1.5], [71, 0.5], [69, 1.0], [71, 1.0], [69, 1.0], "
               "[67, 1.0], [66, 2.0], [67, 1.0], [74, 1.0], [72, 1.0], [71, 1.0], [69, 1.0], [67, 1.0]]"),
}


def seed(name: str) -> Example:
    prompt, pairs = SEED_LINES[name]
    line = json.dumps({"messages": [{"role": "user", "content": prompt}, {
        "role": "assistant", "content": f"melody_pitch_duration_data: {pairs}"}]})
    example, findings = parse_line(line, FormatConfig(), "seeds", 1)
    assert example is not None and not findings
    return annotate_keys([example])[0]


@pytest.fixture(scope="module")
def seed_file() -> list[Example]:
    examples, rejected, _ = read_seeds([SEEDS], FormatConfig())
    assert not rejected
    return annotate_keys(examples)


def apply(rule: str, melody: Melody, **params: object) -> tuple[int | None, ...]:
    return BUILTIN_RULES[rule]().apply(melody, **params).pitches


def test_bach_melody_is_what_we_think(bach: Melody) -> None:
    assert bach.pitches == (69, 71, 73, 76, 73, 71, 69, 73)
    assert set(bach.durations) == {Fraction(1)}


def test_diatonic_shift_bach(bach: Melody) -> None:
    # A B C# E -> B C# D F#: the third C#-E becomes the minor third D-F#... inside F# minor.
    assert apply("diatonic_shift", bach, steps=1, **F_SHARP_MINOR) == (71, 73, 74, 78, 74, 73, 71, 74)
    assert apply("diatonic_shift", bach, steps=-2, **F_SHARP_MINOR) == (66, 68, 69, 73, 69, 68, 66, 69)


def test_inversions_bach(bach: Melody) -> None:
    # Chromatic mirror around F#4: A (3 above) -> D# (3 below).
    assert apply("invert", bach, kind="chromatic", axis_pitch=66) == (63, 61, 59, 56, 59, 61, 63, 59)
    # Tonal mirror: A (the 3rd) -> D (the 3rd below), E (7th) -> G# (7th below).
    assert apply("invert", bach, kind="diatonic", axis_pitch=66,
                 **F_SHARP_MINOR) == (62, 61, 59, 56, 59, 61, 62, 59)
    assert apply("retrograde_inversion", bach, kind="chromatic",
                 axis_pitch=66) == (59, 63, 61, 59, 56, 59, 61, 63)
    assert apply("retrograde", bach) == (73, 69, 71, 73, 76, 73, 71, 69)


def test_mode_change_bach(bach: Melody) -> None:
    # F# minor -> F# major: A -> A#, E -> E# (MIDI 77); B and C# stay.
    assert apply("mode_change", bach, **F_SHARP_MINOR) == (70, 71, 73, 77, 73, 71, 70, 73)


def test_sequence_and_fragment_bach(bach: Melody) -> None:
    # Motif A B C# E, then a step lower twice: G# A B D, F# G# A C#.
    assert apply("sequence", bach, motif_bars=1, steps=-1, repeats=2, bar_quarters="4",
                 **F_SHARP_MINOR) == (69, 71, 73, 76, 68, 69, 71, 74, 66, 68, 69, 73)
    assert BUILTIN_RULES["fragment"]().apply(bach, bars=1, bar_quarters="4") == Melody(
        (69, 71, 73, 76), (Fraction(1),) * 4)


def test_time_scale_and_rhythm_bach(bach: Melody) -> None:
    out = BUILTIN_RULES["time_scale"]().apply(bach, factor="3/2")
    assert out.pitches == bach.pitches and set(out.durations) == {Fraction(3, 2)}
    dotted = BUILTIN_RULES["rhythm"]().apply(bach, op="dot", index=0)
    assert dotted.durations[:3] == (Fraction(3, 2), Fraction(1, 2), Fraction(1))
    # Bar 1 (A B C# E) and bar 2 hold seven even pairs... but only pairs inside one bar
    # may be dotted: 0-1, 1-2, 2-3 and 4-5, 5-6, 6-7.
    dots = [o["index"] for o in rhythm_options(bach, Fraction(4), Fraction(1, 4), ("dot",))]
    assert dots == [0, 1, 2, 4, 5, 6]


def test_mode_change_seeds_keep_the_leading_tone() -> None:
    c_major = seed("c_major")
    assert c_major.key == Key(0, "major")
    rule = BUILTIN_RULES["mode_change"]()
    params = rule.sample(c_major, np.random.default_rng(0))
    assert params == {"key_tonic": 0, "key_mode": "major"}
    # C D E F G A B C -> C harmonic minor: E->Eb, A->Ab, and B stays B: it resolves to C.
    assert rule.apply(c_major.melody, **params).pitches == (60, 62, 63, 65, 67, 68, 71, 72)
    assert rule.derive_key(c_major.key, **params) == Key(0, "minor")
    a_minor = seed("a_minor")
    assert a_minor.key == Key(9, "minor")
    # A B C D E F G A -> A major: C#, F#, G#.
    assert rule.apply(a_minor.melody, key_tonic=9, key_mode="minor").pitches == (
        57, 59, 61, 62, 64, 66, 68, 69)


def test_ornament_seed_passing_tone() -> None:
    f_minor = seed("f_minor")
    assert f_minor.key == Key(5, "minor")
    options = ornament_options(f_minor.melody, f_minor.key, Fraction(1, 4), ("passing",), 36, 96)
    # F (0.5) up to Ab: the passing G takes the second half of the F.
    assert {"kind": "passing", "index": 1, "pitch": 67} in options
    out = BUILTIN_RULES["ornament"]().apply(f_minor.melody, kind="passing", index=1, pitch=67)
    assert out.pairs()[1:4] == [(65, Fraction(1, 4)), (67, Fraction(1, 4)), (68, Fraction(1, 2))]


def test_invert_draws_the_tonic_axis_nearest_the_centre() -> None:
    c_major = seed("c_major")  # C4..C5: both Cs are 6 semitones from the centre; the lower wins
    drawn = {tuple(sorted(BUILTIN_RULES["invert"]().sample(c_major, np.random.default_rng(s)).items()))
             for s in range(20)}
    assert drawn == {(("axis_pitch", 60), ("kind", "chromatic")),
                     (("axis_pitch", 60), ("key_mode", "major"), ("key_tonic", 0), ("kind", "diatonic"))}
    assert apply("invert", c_major.melody, kind="diatonic", axis_pitch=60, key_tonic=0,
                 key_mode="major") == (60, 59, 57, 55, 53, 52, 50, 48)
    assert BUILTIN_RULES["invert"]().derive_key(c_major.key, kind="chromatic", axis_pitch=60) is None


def test_meter_fact_sets_the_bars() -> None:
    minuet = seed("minuet")  # "a graceful minuet melody in G major in 3/4"
    in_three = replace(minuet, facts=(("meter", (3, 4)),))
    drawn = [BUILTIN_RULES["fragment"]().sample(in_three, np.random.default_rng(s)) for s in range(30)]
    assert {d["bar_quarters"] for d in drawn if d} == {"3"}
    assert {d["bars"] for d in drawn if d} == {2, 3, 4, 5}
    synco = BUILTIN_RULES["rhythm"]().apply(minuet.melody, op="syncopate", index=0)
    assert synco.pairs()[:2] == [(67, Fraction(1, 2)), (71, Fraction(3, 2))]


def test_key_dependent_rules_refuse_without_a_key() -> None:
    unknown = replace(seed("c_major"), key=None)
    for name in ("diatonic_shift", "mode_change", "ornament", "sequence"):
        assert BUILTIN_RULES[name]().sample(unknown, np.random.default_rng(0)) is None, name
    # Chromatic inversion needs no key: it mirrors around the first note.
    assert BUILTIN_RULES["invert"]().sample(unknown, np.random.default_rng(0)) == {
        "kind": "chromatic", "axis_pitch": 60}


def test_every_rule_varies_most_of_the_seed_file(seed_file: list[Example]) -> None:
    """Rules refuse a seed only for musical reasons (too short to cut into bars, no key,
    no note long enough to ornament); each varies at least a third of the seeds."""
    for name, cls in BUILTIN_RULES.items():
        applied = sum(cls().sample(s, np.random.default_rng(1)) is not None for s in seed_file)
        assert applied >= len(seed_file) / 3, (name, applied)
