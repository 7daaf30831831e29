"""The fast per-variant paths equal the plain definitions they replace, on and off the grid.

``Melody`` holds durations as ticks of 1/48 quarter (ints; an exact Fraction only off the
grid). Each function below is checked against its plain Fraction definition (as the code
read before ticks) on random melodies that mix grid durations with off-grid ones
(quintuplets, 0.3 quarter), so every shortcut (int bounds, tick steps, table lookups,
ranges from the lowest and highest note) must give the same answer, the same text and
the same floats.
"""

from __future__ import annotations

import math
from dataclasses import replace
from fractions import Fraction
from typing import Any

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from augment.checks import check_claims, check_rhythm_grid
from augment.codec import FormatConfig, format_melody, parse_melody
from augment.config import ChecksConfig
from augment.example import Example, Message, Step
from augment.facts import bar_count, grid_share, in_scale_rate
from augment.melody import GRID_QUARTER, Melody, scale_durations
from augment.reprompt import whole_bars
from augment.rules.diatonic import bar_cuts, onsets, shift_pitch
from augment.rules.ornament import apply_ornament, ornament_options
from augment.rules.rhythm import apply_rhythm, rhythm_options
from augment.rules.sequence import Sequence, make_sequence
from augment.rules.time_scale import TimeScale
from augment.theory import MODES, Key, MelodyArrays, detect_key, detect_keys

GRID = [t * GRID_QUARTER for t in (2, 3, 4, 6, 8, 9, 12, 16, 18, 24, 32, 36, 48, 72, 96, 144, 192)]
OFF_GRID = [Fraction(1, 5), Fraction(2, 5), Fraction(3, 10), Fraction(1, 7), Fraction(6, 5)]
durations = st.one_of(st.sampled_from(GRID), st.sampled_from(GRID), st.sampled_from(OFF_GRID))
pitches = st.one_of(st.none(), st.integers(40, 90), st.integers(55, 75))
melodies = st.lists(st.tuples(pitches, durations), min_size=1, max_size=24).map(
    lambda pairs: Melody(tuple(p for p, _ in pairs), tuple(d for _, d in pairs)))
keys = st.builds(Key, st.integers(0, 11), st.sampled_from(["major", "minor"]))
minimums = st.sampled_from([Fraction(1, 16), Fraction(1, 8), Fraction(1, 4), Fraction(1, 3),
                            Fraction(1, 10), Fraction(0.1)])
bars = st.sampled_from([Fraction(4), Fraction(3), Fraction(3, 2), Fraction(5, 2), Fraction(7, 8)])


def on_grid(value: Fraction) -> bool:
    return (value / GRID_QUARTER).denominator == 1


def example_of(melody: Melody, prompt: str = "Write a melody.", key: Key | None = None) -> Example:
    messages = (Message("user", prompt), Message("assistant", "melody_pitch_duration_data: []"))
    return replace(Example.seed(messages, melody, 1, "test"), key=key)


@settings(max_examples=200, deadline=None)
@given(melodies)
def test_ticks_hold_the_exact_durations(melody: Melody) -> None:
    assert all(type(t) is int or (isinstance(t, Fraction) and t.denominator != 1) for t in melody.ticks)
    assert Melody(melody.pitches, melody.durations) == melody
    assert melody.total_quarters == sum(melody.durations, Fraction(0))
    assert melody.is_on_grid() == all(on_grid(d) for d in melody.durations)
    assert melody.notes == tuple(p for p in melody.pitches if p is not None)


@settings(max_examples=200, deadline=None)
@given(melodies, st.sampled_from([FormatConfig(), FormatConfig("whole", "null")]))
def test_melody_text_is_the_float_of_each_exact_duration(melody: Melody, fmt: FormatConfig) -> None:
    rest = "0" if fmt.rest == 0 else "null"
    pairs = ", ".join(f"[{rest if p is None else p}, {float(d / fmt.quarters_per_unit)!r}]"
                      for p, d in zip(melody.pitches, melody.durations, strict=True))
    text = format_melody(melody, fmt)
    assert text == f"melody_pitch_duration_data: [{pairs}]"
    back = parse_melody(text, fmt)
    on = [i for i, d in enumerate(melody.durations) if on_grid(d)]
    assert [back.ticks[i] for i in on] == [melody.ticks[i] for i in on]


@settings(max_examples=200, deadline=None)
@given(st.lists(melodies, min_size=1, max_size=6))
def test_histograms_and_keys_are_the_same_floats(batch: list[Melody]) -> None:
    for melody in batch:
        hist = np.zeros(12)
        for p, d in zip(melody.pitches, melody.durations, strict=True):
            if p is not None:
                hist[p % 12] += float(d)
        assert np.array_equal(melody.pitch_class_histogram(), hist)
        assert detect_key(melody) == detect_keys([melody])[0]
    durs = [d for m in batch for d in m.durations]
    quarters = np.array([d.numerator for d in durs]) / np.array([d.denominator for d in durs])
    assert np.array_equal(MelodyArrays.of(batch).quarters, quarters)


def rhythm_options_fraction(melody: Melody, bar: Fraction, min_duration: Fraction,
                            operations: tuple[str, ...]) -> list[dict[str, Any]]:
    times, p, d = onsets(melody), melody.pitches, melody.durations

    def same_bar(start: Fraction, end: Fraction) -> bool:
        return (start // bar) == ((end - Fraction(1, 10**9)) // bar)

    out: list[dict[str, Any]] = []
    for i in range(len(melody)):
        if "split" in operations and p[i] is not None:
            for parts in (2, 3):
                if on_grid(d[i] / parts) and d[i] / parts >= min_duration:
                    out.append({"op": "split", "index": i, "parts": parts})
        if i + 1 >= len(melody) or not same_bar(times[i], times[i + 2]):
            continue
        if "merge" in operations and p[i] is not None and p[i] == p[i + 1]:
            out.append({"op": "merge", "index": i})
        if d[i] == d[i + 1] and on_grid(d[i] / 2) and d[i] / 2 >= min_duration:
            if "dot" in operations:
                out.append({"op": "dot", "index": i})
            if "syncopate" in operations:
                out.append({"op": "syncopate", "index": i})
    return out


@settings(max_examples=300, deadline=None)
@given(melodies, bars, minimums)
def test_rhythm_options_and_changes_equal_the_fraction_definitions(
        melody: Melody, bar: Fraction, least: Fraction) -> None:
    ops = ("split", "merge", "dot", "syncopate")
    options = rhythm_options(melody, bar, least, ops)
    assert options == rhythm_options_fraction(melody, bar, least, ops)
    for option in options:
        out = apply_rhythm(melody, option["op"], option["index"], option.get("parts", 2))
        d, i = list(melody.durations), option["index"]
        if option["op"] == "split":
            d[i:i + 1] = [d[i] / option["parts"]] * option["parts"]
        elif option["op"] == "merge":
            d[i:i + 2] = [d[i] + d[i + 1]]
        else:
            long, short = d[i] * 3 / 2, d[i] / 2
            d[i], d[i + 1] = (long, short) if option["op"] == "dot" else (short, long)
        assert out.durations == tuple(d)
        assert Melody(out.pitches, out.durations) == out


@settings(max_examples=200, deadline=None)
@given(melodies, keys, minimums)
def test_ornament_options_equal_the_fraction_definition(melody: Melody, key: Key,
                                                        least: Fraction) -> None:
    options = ornament_options(melody, key, least, ("passing", "neighbour"), 36, 96)
    halves = {i for i, d in enumerate(melody.durations) if on_grid(d / 2) and d / 2 >= least}
    quarters = {i for i, d in enumerate(melody.durations) if on_grid(d / 4) and d / 4 >= least}
    assert {o["index"] for o in options if o["kind"] == "passing"} <= halves
    assert {o["index"] for o in options if o["kind"] == "neighbour"} <= quarters
    for option in options:
        out = apply_ornament(melody, option["kind"], option["index"], option["pitch"])
        d, i = list(melody.durations), option["index"]
        d[i:i + 1] = [d[i] / 2] * 2 if option["kind"] == "passing" else [d[i] / 2, d[i] / 4, d[i] / 4]
        assert out.durations == tuple(d)


@settings(max_examples=200, deadline=None)
@given(melodies, st.sampled_from(["2, 1/2, 3/2", "5/4, 2/3", "3, 1/3"]), minimums)
def test_time_scale_factors_equal_the_fraction_definition(melody: Melody, factors: str,
                                                          least: Fraction) -> None:
    rule = TimeScale(factors=factors, min_duration_quarters=float(least), max_duration_quarters=4.0)
    low, high = Fraction(str(float(least))), Fraction(4)
    expected = [Fraction(f) for f in factors.split(",")
                if all(on_grid(d * Fraction(f)) and low <= d * Fraction(f) <= high
                       for d in melody.durations)]
    assert rule.allowed(melody) == expected
    for f in expected + [Fraction(5, 7)]:
        assert scale_durations(melody, f).durations == tuple(d * f for d in melody.durations)


@settings(max_examples=200, deadline=None)
@given(melodies, st.sampled_from([(8, 6), (8, 6, 5), (4,), (16, 12, 10)]),
       st.sampled_from([0.125, 0.1, 1 / 3]), st.sampled_from([16.0, 1.5, 2.0]))
def test_rhythm_grid_check_equals_the_fraction_definition(melody: Melody, grid: tuple[int, ...],
                                                          low_q: float, high_q: float) -> None:
    config = ChecksConfig(rhythm_grid_per_quarter=grid, min_duration_quarter=low_q,
                          max_duration_quarter=high_q)
    grids = [Fraction(1, g) for g in grid]
    low, high = Fraction(low_q), Fraction(high_q)
    expected = None
    for index, d in enumerate(melody.durations, start=1):
        if not any((d / g).denominator == 1 for g in grids):
            expected = f"rhythm_grid: note {index} lasts {d} quarter, off the rhythm grid"
            break
        if not low <= d <= high:
            expected = f"rhythm_grid: note {index} lasts {d} quarter, outside {low}-{high}"
            break
    assert check_rhythm_grid(example_of(melody), config) == expected


@settings(max_examples=200, deadline=None)
@given(melodies, keys, bars)
def test_lengths_bars_and_rates_equal_the_fraction_definitions(melody: Melody, key: Key,
                                                               bar: Fraction) -> None:
    total = sum(melody.durations, Fraction(0))
    on = sum((d for p, d in zip(melody.pitches, melody.durations, strict=True)
              if p is not None and p % 12 in key.scale_pitch_classes()), Fraction(0))
    sounding = sum((d for p, d in zip(melody.pitches, melody.durations, strict=True) if p is not None),
                   Fraction(0))
    assert in_scale_rate(melody, key) == (float(on / sounding) if sounding else 1.0)
    assert bar_count(melody, (3, 8)) == total / Fraction(3, 2)
    grids = (Fraction(1, 4), Fraction(1, 6))
    assert grid_share(melody) == sum(any((d / g).denominator == 1 for g in grids)
                                     for d in melody.durations) / len(melody)
    times = onsets(melody)
    assert times[-1] == total and times[0] == 0
    assert bar_cuts(melody, bar) == [n for n in range(1, len(times)) if (times[n] / bar).denominator == 1]
    for meter, quarters in (("4/4", Fraction(4)), ("3/8", Fraction(3, 2)), ("5/4", Fraction(5))):
        whole = total / quarters
        assert whole_bars(example_of(melody), meter) == (int(whole) if whole.denominator == 1 else None)


@settings(max_examples=200, deadline=None)
@given(melodies, st.sampled_from(["Write a melody in 3/4.", "A 2-bar tune in 4/4.", "Give me 4 bars.",
                                  "A waltz in three, 8 bars.", "Write 6 notes in 6/8."]))
def test_claims_check_equals_the_fraction_definition(melody: Melody, prompt: str) -> None:
    from augment.prompt import parse_claims

    claims = parse_claims(prompt)
    total = sum(melody.durations, Fraction(0))

    def bar_q(meter: str) -> Fraction:
        num, den = meter.split("/")
        return Fraction(4 * int(num), int(den))

    options = sorted(claims.meter_options or ())
    fits = [m for m in options if (total / bar_q(m)).denominator == 1]
    expected = None
    if options and not fits:
        expected = f"claims: the prompt says {' or '.join(options)} but {total} quarters are not whole bars"
    elif claims.bars is not None:
        meter = fits[0] if len(fits) == 1 else "4/4" if not options else None
        if meter is not None and total / bar_q(meter) != claims.bars:
            expected = (f"claims: the prompt says {claims.bars} bars but the melody has "
                        f"{total / bar_q(meter)} bars of {meter}")
    if expected is None and claims.notes is not None and claims.notes != len(melody.notes):
        expected = f"claims: the prompt says {claims.notes} notes but the melody has {len(melody.notes)}"
    assert check_claims(example_of(melody, prompt), ChecksConfig()) == expected


def test_shift_pitch_keeps_the_order_of_notes_in_every_key() -> None:
    # diatonic_shift's sample moves only the lowest and highest note to find the range.
    for tonic in range(12):
        for mode in MODES:
            key = Key(tonic, mode)
            for steps in range(-8, 9):
                moved = [shift_pitch(p, steps, key) for p in range(0, 128)]
                assert moved == sorted(moved), (key, steps)


# Mostly even note values, so that notes end on bar lines and motifs exist.
even_melodies = st.lists(
    st.tuples(st.one_of(st.integers(55, 75), st.integers(55, 75), st.none()),
              st.sampled_from([Fraction(n, d) for n, d in ((1, 2), (1, 1), (1, 2), (1, 1), (1, 4), (2, 5))])),
    min_size=12, max_size=40).map(
        lambda pairs: Melody(tuple(p for p, _ in pairs), tuple(d for _, d in pairs)))


@settings(max_examples=200, deadline=None)
@given(even_melodies, keys, bars, st.integers(30, 60), st.integers(70, 110))
def test_sequence_options_equal_the_built_sequences(melody: Melody, key: Key, bar: Fraction,
                                                   low: int, high: int) -> None:
    from augment.rules.fragment import opening_bars

    rule = Sequence(max_motif_bars=3, max_repeats=3, step_choices="1,-1,2,-3", low_pitch=low,
                    high_pitch=high)
    expected = []
    for motif_bars in range(1, 4):
        try:
            motif = opening_bars(melody, motif_bars, bar)
        except ValueError:
            continue
        if len(motif.notes) < 2:
            continue
        for steps in (1, -1, 2, -3):
            for repeats in range(1, 4):
                r = make_sequence(motif, steps, repeats, key).pitch_range()
                if r is not None and low <= r[0] and r[1] <= high:
                    expected.append({"motif_bars": motif_bars, "steps": steps, "repeats": repeats})
    assert rule.options(melody, key, bar) == expected


def test_copies_of_examples_equal_dataclasses_replace() -> None:
    melody = Melody.from_pairs([(60, 1), (62, 0.5)])
    seed = replace(example_of(melody, "In C major."), key=Key(0, "major"), facts=(("meter", (4, 4)),))
    step = Step.of("transpose", {"semitones": 2})
    child = seed.derive(melody, step, Key(2, "major"))
    assert child == replace(seed, id=child.id, melody=melody, parent_id=seed.id, steps=(step,),
                            key=Key(2, "major"))
    written = child.with_content(0, "In D major.")
    assert written == replace(child, messages=(replace(child.messages[0], content="In D major."),
                                               child.messages[1]))


DURATION_TEXTS = ["0.5", "0.50", "5e-1", "1", "2", "0.3333333333333333", "0.33333", "0.3", "1e-1",
                  "0.1875", "0", "-1", "0.001", "86400", "86401", "4e4", "1e999", "1E-999", "0.2", "0.05"]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(DURATION_TEXTS), min_size=1, max_size=6),
       st.sampled_from([FormatConfig(), FormatConfig("whole", "null")]))
def test_parsed_durations_equal_the_fraction_definition(texts: list[str], fmt: FormatConfig) -> None:
    from augment.errors import MelodyFormatError
    from augment.limits import MAX_DURATION_QUARTER, MIN_DURATION_QUARTER

    expected: list[Fraction | None] = []
    for text in texts:  # exponents over 128 are refused before Fraction() is called
        exponent = text.lower().partition("e")[2]
        value = Fraction(text) if not exponent or abs(int(exponent)) <= 128 else None
        quarters = None if value is None else value * fmt.quarters_per_unit
        if quarters is None or not MIN_DURATION_QUARTER <= quarters <= MAX_DURATION_QUARTER:
            expected.append(None)
            continue
        ticks = quarters / GRID_QUARTER
        near = abs(ticks - round(ticks)) * GRID_QUARTER <= Fraction(1, 100_000)
        expected.append(round(ticks) * GRID_QUARTER if near else quarters)
    line = "melody_pitch_duration_data: [" + ", ".join(f"[60, {t}]" for t in texts) + "]"
    try:
        melody = parse_melody(line, fmt)
    except MelodyFormatError as exc:
        assert None in expected
        assert [int(msg.split(":")[0].split()[1]) for _, msg in exc.problems] == \
            [i for i, e in enumerate(expected, start=1) if e is None]
    else:
        assert list(melody.durations) == expected


def test_off_grid_durations_stay_exact() -> None:
    melody = Melody.from_pairs([(60, "0.2"), (60, "0.2"), (64, "0.6"), (None, 1)])
    assert melody.ticks == (Fraction(48, 5), Fraction(48, 5), Fraction(144, 5), 48)
    assert not melody.is_on_grid() and melody.total_quarters == 2
    assert apply_rhythm(melody, "merge", 0).ticks == (Fraction(96, 5), Fraction(144, 5), 48)
    merged = Melody.from_pairs([(60, "0.4"), (60, "0.6")])
    assert apply_rhythm(merged, "merge", 0).ticks == (48,)  # whole again: an int
    assert math.isclose(melody.pitch_class_histogram().sum(), 1.0)
