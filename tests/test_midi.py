"""MIDI files and audio clips keep the music: pitches, durations, rests, tempo, pitch of a tone."""

from __future__ import annotations

import io
import wave
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from music21 import converter, corpus

from augment.melody import GRID_QUARTER, Melody
from augment.midi import (
    AUDIO_SAMPLE_RATE_HZ,
    DEFAULT_BPM,
    read_midi,
    render_samples,
    render_wav,
    tempo_bpm,
    write_midi,
)


def merged_rests(melody: Melody) -> Melody:
    """Consecutive rests as one (MIDI has no boundary between two silences)."""
    pitches: list[int | None] = []
    durations: list[Fraction] = []
    for p, d in melody.pairs():
        if p is None and pitches and pitches[-1] is None:
            durations[-1] += d
        else:
            pitches.append(p)
            durations.append(d)
    return Melody(tuple(pitches), tuple(durations))


@pytest.mark.parametrize("prompt, bpm", [
    ("Write an Adagio melody in D minor.", 66),
    ("An allegretto theme", 116),          # not Allegro: the longer word wins
    ("Allegro con brio in C major", 132),
    ("Write a slow, singing melody in E-flat major.", 66),
    ("A march at 96 bpm, Allegro", 96),    # an explicit number beats a word
    ("Allegro moderato, in F major", 108),  # claimed moderate: the class decides
    ("Play it briskly.", 144),
    ("Slow, singing Adagio in E minor", 66),
    ("A gentle lullaby", None),            # a character word, no tempo
    ("Compose a graceful minuet in G major in 3/4.", None),
    (None, None),
])
def test_tempo_words(prompt: str | None, bpm: int | None) -> None:
    assert tempo_bpm(prompt) == bpm


def chorale_soprano() -> Melody:
    """The soprano of Bach's chorale BWV 66.6, ties merged, with a rest put in and at the end."""
    part = corpus.parse("bach/bwv66.6").parts[0].stripTies().flatten()
    pairs: list[tuple[int | None, Fraction]] = [
        (None if n.isRest else int(n.pitch.midi), Fraction(n.quarterLength))
        for n in part.notesAndRests]
    pairs.insert(5, (None, Fraction(1, 2)))
    pairs.append((None, Fraction(3, 4)))
    return Melody.from_pairs(pairs)


def test_chorale_reads_back_with_music21(tmp_path: Path) -> None:
    melody = chorale_soprano()
    path = write_midi(melody, tmp_path / "bwv66.6.mid", bpm=66)
    score = converter.parse(path, quantizePost=False).stripTies().flatten()
    notes = list(score.notes)
    assert [n.pitch.midi for n in notes] == list(melody.notes)
    expected_onsets, expected_lengths, now = [], [], Fraction(0)
    for p, d in melody.pairs():
        if p is not None:
            expected_onsets.append(now)
            expected_lengths.append(d)
        now += d
    assert [Fraction(n.offset) for n in notes] == expected_onsets
    assert [Fraction(n.quarterLength) for n in notes] == expected_lengths
    marks = score.getElementsByClass("MetronomeMark")
    assert marks and marks[0].number == pytest.approx(66, abs=0.01)
    # Our own reader also gets the rests back, the trailing one included.
    back, bpm = read_midi(path)
    assert back == melody
    assert bpm == pytest.approx(66, abs=0.01)


grid_durations = st.integers(1, 4 * 48).map(lambda t: t * GRID_QUARTER)
pairs = st.lists(st.tuples(st.one_of(st.none(), st.integers(21, 108)), grid_durations),
                 min_size=1, max_size=24)


@settings(max_examples=40, deadline=None)
@given(pairs, st.integers(40, 200))
def test_any_grid_melody_survives_midi(tmp_path_factory: pytest.TempPathFactory,
                                       raw: list[tuple[int | None, Fraction]], bpm: int) -> None:
    melody = Melody(tuple(p for p, _ in raw), tuple(d for _, d in raw))
    path = write_midi(melody, tmp_path_factory.mktemp("m") / "x.mid", bpm)
    back, tempo = read_midi(path)
    expected = merged_rests(melody)
    if expected.pitches[0] is None and len(expected) == 1:
        # A melody of silence only: the track still lasts as long.
        assert back.total_quarters == melody.total_quarters
    else:
        assert back == expected
    assert tempo == pytest.approx(bpm, rel=1e-4)


def test_wav_is_16_bit_mono_of_the_right_length() -> None:
    melody = Melody.from_pairs([[60, 1], [None, 1], [64, 2]])
    data = render_wav(melody, bpm=120)
    with wave.open(io.BytesIO(data)) as handle:
        assert handle.getnchannels() == 1
        assert handle.getsampwidth() == 2
        assert handle.getframerate() == AUDIO_SAMPLE_RATE_HZ
        frames = handle.getnframes()
        pcm = np.frombuffer(handle.readframes(frames), dtype="<i2")
    assert frames == round(2.0 * AUDIO_SAMPLE_RATE_HZ)   # 4 quarters at 120 bpm
    half = AUDIO_SAMPLE_RATE_HZ // 2
    assert np.all(pcm[half + 5:2 * half - 5] == 0)        # the rest is silent
    assert np.abs(pcm[:half]).max() > 10_000              # the notes sound
    assert np.abs(pcm[2 * half:]).max() > 10_000


@pytest.mark.parametrize("pitch, hz", [(69, 440.0), (57, 220.0), (72, 523.25)])
def test_a_note_sounds_at_its_pitch(pitch: int, hz: float) -> None:
    samples = render_samples(Melody.from_pairs([[pitch, 4]]), bpm=DEFAULT_BPM)
    spectrum = np.abs(np.fft.rfft(samples))
    freqs = np.fft.rfftfreq(len(samples), 1 / AUDIO_SAMPLE_RATE_HZ)
    assert freqs[int(np.argmax(spectrum))] == pytest.approx(hz, abs=1.0)


def test_long_melody_is_cut_to_the_clip_length() -> None:
    melody = Melody.from_pairs([[60 + i % 12, 1] for i in range(64)])
    samples = render_samples(melody, bpm=60, max_seconds=3.0)
    assert len(samples) == 3 * AUDIO_SAMPLE_RATE_HZ
    assert abs(samples[-1]) < 1e-6   # faded out, no click
