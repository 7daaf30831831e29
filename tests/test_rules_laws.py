"""Property tests: the musical law of every rule, on random melodies (hypothesis)."""

from __future__ import annotations

import json
from dataclasses import replace
from fractions import Fraction

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from augment.example import Example, Message
from augment.melody import Melody
from augment.rules import BUILTIN_RULES
from augment.rules.diatonic import all_in_key, bar_quarters, from_step, in_key, onsets
from augment.rules.diatonic_shift import DiatonicShift
from augment.rules.fragment import Fragment
from augment.rules.invert import Invert, invert_diatonic
from augment.rules.mode_change import ModeChange
from augment.rules.ornament import Ornament, ornament_options
from augment.rules.retrograde import Retrograde, RetrogradeInversion
from augment.rules.rhythm import Rhythm, rhythm_options
from augment.rules.sequence import Sequence
from augment.rules.time_scale import TimeScale
from augment.rules.transpose import Transpose
from augment.theory import Key

DURATIONS = [Fraction(n, d) for n, d in ((1, 4), (1, 2), (3, 4), (1, 1), (3, 2), (2, 1), (1, 3))]
keys = st.builds(Key, st.integers(0, 11), st.sampled_from(["major", "minor"]))
pitches = st.one_of(st.none(), st.integers(48, 84)) | st.integers(48, 84)
melodies = st.lists(st.tuples(pitches, st.sampled_from(DURATIONS)), min_size=2, max_size=20).map(
    lambda pairs: Melody(tuple(p for p, _ in pairs), tuple(d for _, d in pairs)))


@st.composite
def keyed(draw: st.DrawFn, rests: bool = True) -> tuple[Melody, Key]:
    """A melody whose every note is in the drawn key (steps 30-44 lie in MIDI 40-88)."""
    key = draw(keys)
    steps = draw(st.lists(st.one_of(st.integers(30, 42), st.none()) if rests else st.integers(30, 42),
                          min_size=2, max_size=20))
    durs = draw(st.lists(st.sampled_from(DURATIONS), min_size=len(steps), max_size=len(steps)))
    ps = tuple(None if s is None else from_step(s, 0, key) for s in steps)
    return Melody(ps, tuple(durs)), key


def example(melody: Melody, key: Key | None = None) -> Example:
    messages = (Message("user", "Write a melody."), Message("assistant", "melody_pitch_duration_data: []"))
    return replace(Example.seed(messages, melody, 1, "test"), key=key)


def contour(melody: Melody) -> list[int]:
    out: list[int] = []
    for p in melody.notes:
        if not out or out[-1] != p:
            out.append(p)
    return out


def keeps_bars(before: Melody, after: Melody, bar: Fraction) -> bool:
    """Same total length, and every bar line where a note started still has a note starting."""
    new = set(onsets(after))
    downbeats = [t for t in onsets(before) if (t / bar).denominator == 1]
    return after.total_quarters == before.total_quarters and all(t in new for t in downbeats)


@given(melodies, st.integers(-12, 12))
def test_transpose_keeps_intervals(melody: Melody, k: int) -> None:
    out = Transpose().apply(melody, semitones=k)
    assert out.intervals() == melody.intervals() and out.durations == melody.durations


@given(melodies, st.integers(55, 75))
def test_chromatic_inversion_negates_intervals_and_is_an_involution(melody: Melody, axis: int) -> None:
    rule = Invert()
    out = rule.apply(melody, kind="chromatic", axis_pitch=axis)
    assert out.intervals() == tuple(-i for i in melody.intervals())
    assert rule.apply(out, kind="chromatic", axis_pitch=axis) == melody


@given(keyed(), st.integers(0, 6), melodies)
def test_diatonic_inversion_stays_in_key_and_is_an_involution(mk: tuple[Melody, Key], degree: int,
                                                               chromatic: Melody) -> None:
    melody, key = mk
    axis = from_step(35 + degree, 0, key)
    params = {"kind": "diatonic", "axis_pitch": axis, "key_tonic": key.tonic, "key_mode": key.mode}
    out = Invert().apply(melody, **params)
    assert all_in_key(out, key)
    # Mirrored in scale steps: a step up becomes a step down.
    assert Invert().apply(out, **params) == melody
    # With chromatic notes: whenever a mirror exists, mirroring back restores the melody.
    mirrored = invert_diatonic(chromatic, axis, key)
    if mirrored is not None:
        assert invert_diatonic(mirrored, axis, key) == chromatic


@given(melodies, st.integers(55, 75))
def test_retrograde_reverses_pairs_and_twice_is_identity(melody: Melody, axis: int) -> None:
    out = Retrograde().apply(melody)
    assert out.pairs() == melody.pairs()[::-1]
    assert Retrograde().apply(out) == melody
    ri = RetrogradeInversion()
    params = {"kind": "chromatic", "axis_pitch": axis}
    assert ri.apply(ri.apply(melody, **params), **params) == melody


@given(melodies, st.sampled_from(["2", "1/2", "3/2", "2/3"]))
def test_time_scale_keeps_pitches_and_scales_every_duration(melody: Melody, factor: str) -> None:
    out = TimeScale().apply(melody, factor=factor)
    assert out.pitches == melody.pitches
    assert out.durations == tuple(d * Fraction(factor) for d in melody.durations)


@given(melodies, st.integers(0, 2**32))
def test_time_scale_draws_only_grid_factors_within_limits(melody: Melody, seed: int) -> None:
    rule = TimeScale()
    params = rule.sample(example(melody), np.random.default_rng(seed))
    if params is None:
        return
    out = rule.apply(melody, **params)
    assert out.is_on_grid()
    assert all(Fraction(1, 8) <= d <= 8 for d in out.durations)


@settings(max_examples=60)
@given(melodies, st.sampled_from([(4, 4), (3, 4), (6, 8)]))
def test_rhythm_keeps_total_bars_and_contour(melody: Melody, meter: tuple[int, int]) -> None:
    bar = bar_quarters(meter)
    for params in rhythm_options(melody, bar, Fraction(1, 4), ("split", "merge", "dot", "syncopate")):
        out = Rhythm().apply(melody, **params)
        assert keeps_bars(melody, out, bar)
        if params["op"] != "split":  # only a split adds onsets; none of the others adds one
            assert set(onsets(out)) - set(onsets(melody)) <= {t for t in onsets(out) if t % bar}
        assert contour(out) == contour(melody)
        assert out.is_on_grid()


@settings(max_examples=60)
@given(keyed())
def test_ornament_keeps_total_bars_and_key(mk: tuple[Melody, Key]) -> None:
    melody, key = mk
    for params in ornament_options(melody, key, Fraction(1, 4), ("passing", "neighbour"), 36, 96):
        out = Ornament().apply(melody, **params)
        assert keeps_bars(melody, out, Fraction(4))
        assert set(onsets(melody)) <= set(onsets(out))
        assert all_in_key(out, key)
        assert len(out) == len(melody) + (1 if params["kind"] == "passing" else 2)


@given(keyed(), st.integers(-5, 5))
def test_diatonic_shift_keeps_every_note_in_the_key(mk: tuple[Melody, Key], steps: int) -> None:
    melody, key = mk
    params = {"steps": steps, "key_tonic": key.tonic, "key_mode": key.mode}
    out = DiatonicShift().apply(melody, **params)
    assert all_in_key(out, key)
    assert DiatonicShift().apply(out, **{**params, "steps": -steps}) == melody
    # Seven steps is exactly an octave.
    octave = DiatonicShift().apply(melody, **{**params, "steps": 7})
    assert octave.notes == tuple(p + 12 for p in melody.notes)


@given(keyed())
def test_mode_change_lands_in_the_parallel_key_and_back(mk: tuple[Melody, Key]) -> None:
    melody, key = mk
    rule = ModeChange()
    out = rule.apply(melody, key_tonic=key.tonic, key_mode=key.mode)
    target = rule.derive_key(key, key_tonic=key.tonic, key_mode=key.mode)
    assert target == Key(key.tonic, "minor" if key.mode == "major" else "major")
    leading_tone = (key.tonic + 11) % 12
    assert all(in_key(p, target) or p % 12 == leading_tone for p in out.notes)
    assert out.durations == melody.durations
    if key.mode == "major":  # major -> minor -> major is the identity
        assert rule.apply(out, key_tonic=key.tonic, key_mode="minor") == melody


@given(keyed(rests=False), st.integers(0, 2**32))
def test_sequence_and_fragment_keep_whole_bars_and_key(mk: tuple[Melody, Key], seed: int) -> None:
    melody, key = mk
    ex = example(melody, key)
    rng = np.random.default_rng(seed)
    params = Sequence().sample(ex, rng)
    if params is not None:
        out = Sequence().apply(melody, **params)
        assert all_in_key(out, key)
        assert out.total_quarters % 4 == 0
        assert out.total_quarters == 4 * params["motif_bars"] * (1 + params["repeats"])
    params = Fragment().sample(ex, rng)
    if params is not None:
        out = Fragment().apply(melody, **params)
        assert out.pairs() == melody.pairs()[:len(out)] and len(out) < len(melody)
        assert out.total_quarters == 4 * params["bars"]


@settings(max_examples=40)
@given(melodies, st.one_of(st.none(), keys), st.integers(0, 2**32))
def test_every_rule_draws_json_params_that_replay_in_range(melody: Melody, key: Key | None,
                                                           seed: int) -> None:
    for name, cls in BUILTIN_RULES.items():
        rule = cls()
        params = rule.sample(example(melody, key), np.random.default_rng(seed))
        if params is None:
            continue
        recorded = json.loads(json.dumps(params))
        assert recorded == params, name
        out = rule.apply(melody, **recorded)
        assert out == cls().apply(melody, **recorded), name
        assert out != melody, name
        assert all(d > 0 for d in out.durations), name
        low, high = getattr(rule, "low_pitch", 0), getattr(rule, "high_pitch", 127)
        r = out.pitch_range()
        assert r is None or (low <= r[0] and r[1] <= high), name
