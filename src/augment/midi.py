"""Melodies as MIDI files and as short audio clips.

A melody becomes a one-track MIDI file (music21 writes it) whose tempo comes from the
prompt's tempo word when it has one ("Adagio" ~ 66 beats per minute, "Allegro" ~ 132);
rests become silence between notes, a trailing rest lengthens the track. The audio clip
is a plain additive synth (a few harmonics under an attack/decay/release envelope)
rendered with numpy and written as 16-bit mono WAV with the standard ``wave`` module:
enough to hear the contour and rhythm of a melody in a report, nothing more.
"""

from __future__ import annotations

import io
import re
import wave
from fractions import Fraction
from pathlib import Path

import numpy as np

from .melody import Melody

DEFAULT_BPM = 120
# Usual metronome values of the Italian marks (middle of the traditional ranges), and
# of the tempo classes ``prompt_scan.tempo_claims`` gives plain words ("slowly", "brisk").
TEMPO_MARK_BPM: dict[str, int] = {
    "grave": 40, "largo": 50, "lento": 56, "larghetto": 63, "adagio": 66, "adagietto": 72,
    "andante": 88, "andantino": 96, "moderato": 108, "allegretto": 116, "allegro": 132,
    "vivace": 160, "vivacissimo": 172, "presto": 180, "prestissimo": 200,
}
TEMPO_CLASS_BPM: dict[str, int] = {"slow": 66, "moderate": 108, "fast": 144}
_MARK_WORD = re.compile(r"\b(" + "|".join(sorted(TEMPO_MARK_BPM, key=len, reverse=True)) + r")\b",
                        re.IGNORECASE)
_BPM_PATTERN = re.compile(r"\b(\d{2,3})\s*(?:bpm|beats per minute)\b", re.IGNORECASE)


def tempo_bpm(prompt: str | None) -> int | None:
    """Beats (quarter notes) per minute the prompt asks for, None when it says nothing.

    An explicit "90 bpm" first; else the first tempo claim the prompt parser finds: an
    Italian mark by its usual metronome value (Adagio 66, Allegro 132), a plain word by
    its class (slow 66, moderate 108, fast 144). Character words ("gentle") say nothing.
    """
    from .prompt_scan import tempo_claims
    from .prompt_words import TEMPO_MARKS

    if not prompt:
        return None
    explicit = _BPM_PATTERN.search(prompt)
    if explicit and 20 <= int(explicit.group(1)) <= 400:
        return int(explicit.group(1))
    for claim in tempo_claims(prompt):
        if claim.tempo is None:
            continue
        mark = _MARK_WORD.search(claim.text) if claim.form == "italian" else None
        word = mark.group(1).lower() if mark else ""
        # "Allegro moderato" is claimed moderate, not fast: then the class decides.
        if word and TEMPO_MARKS.get(word) == claim.tempo:
            return TEMPO_MARK_BPM[word]
        return TEMPO_CLASS_BPM.get(claim.tempo, DEFAULT_BPM)
    return None


# --- MIDI -----------------------------------------------------------------------------

def write_midi(melody: Melody, path: Path, bpm: float = DEFAULT_BPM) -> Path:
    """Write ``melody`` as a one-track MIDI file at ``bpm`` quarter notes per minute.

    Every track ends exactly where the melody ends, so a trailing rest survives
    (music21 alone would drop it and pad one quarter note instead).
    """
    from music21 import midi, note, stream, tempo

    part: stream.Stream = stream.Stream()
    part.append(tempo.MetronomeMark(number=bpm))
    for pitch, quarters in melody.pairs():
        if pitch is None:
            part.append(note.Rest(quarterLength=quarters))
        else:
            part.append(note.Note(pitch, quarterLength=quarters))
    mf = midi.translate.streamToMidiFile(part)
    end_tick = round(melody.total_quarters * mf.ticksPerQuarterNote)
    for track in mf.tracks:
        tick = 0
        for index, event in enumerate(track.events):
            if event.isDeltaTime():
                nxt = track.events[index + 1] if index + 1 < len(track.events) else None
                if nxt is not None and nxt.type == midi.MetaEvents.END_OF_TRACK:
                    event.time = max(0, end_tick - tick)
                tick += int(event.time)
    path.parent.mkdir(parents=True, exist_ok=True)
    mf.open(str(path), "wb")
    try:
        mf.write()
    finally:
        mf.close()
    return path


def read_midi(path: Path) -> tuple[Melody, float | None]:
    """Read a one-voice MIDI file back as (melody, bpm of its first tempo event).

    Gaps between notes come back as rests, and so does the time between the last note
    and the end of the track. Durations are exact on MIDI's tick grid.
    """
    from music21 import midi

    mf = midi.MidiFile()
    mf.open(str(path))
    try:
        mf.read()
    finally:
        mf.close()
    ticks_per_quarter = mf.ticksPerQuarterNote
    onsets: list[tuple[int, int, int]] = []  # (start tick, end tick, pitch)
    sounding: dict[int, int] = {}
    end_tick = 0
    bpm_value: float | None = None
    for track in mf.tracks:
        tick = 0
        for event in track.events:
            if event.isDeltaTime():
                tick += int(event.time)
                continue
            end_tick = max(end_tick, tick)
            pitch = event.pitch
            if event.type == midi.MetaEvents.SET_TEMPO and bpm_value is None:
                data = event.data
                microseconds = int.from_bytes(data if isinstance(data, bytes) else b"", "big")
                bpm_value = 60_000_000 / microseconds if microseconds else None
            elif event.isNoteOn() and pitch is not None:
                sounding[pitch] = tick
            elif event.isNoteOff() and pitch is not None and pitch in sounding:
                onsets.append((sounding.pop(pitch), tick, pitch))
    pitches: list[int | None] = []
    durations: list[Fraction] = []
    now = 0
    for start, end, pitch in sorted(onsets):
        if start > now:
            pitches.append(None)
            durations.append(Fraction(start - now, ticks_per_quarter))
        pitches.append(pitch)
        durations.append(Fraction(end - start, ticks_per_quarter))
        now = max(now, end)
    if end_tick > now:
        pitches.append(None)
        durations.append(Fraction(end_tick - now, ticks_per_quarter))
    return Melody(tuple(pitches), tuple(durations)), bpm_value


# --- audio ----------------------------------------------------------------------------

AUDIO_SAMPLE_RATE_HZ = 11_025
# Harmonic amplitudes (fundamental first): a soft, reed-like tone.
_HARMONICS = (1.0, 0.5, 0.3, 0.15, 0.08)
_ATTACK_S, _RELEASE_S, _DECAY_PER_S = 0.012, 0.04, 1.8


def _note_wave(pitch: int, seconds: float, sample_rate: int) -> np.ndarray:
    """One note: harmonics below Nyquist under an attack / exponential decay / release."""
    n = max(int(round(seconds * sample_rate)), 1)
    t = np.arange(n) / sample_rate
    freq_hz = 440.0 * 2.0 ** ((pitch - 69) / 12)
    tone = np.zeros(n)
    for k, amp in enumerate(_HARMONICS, start=1):
        if k * freq_hz < sample_rate / 2:
            tone += amp * np.sin(2 * np.pi * k * freq_hz * t)
    envelope = np.exp(-_DECAY_PER_S * t) * (0.35 + 0.65 * np.exp(-6.0 * t))
    attack = min(n, int(_ATTACK_S * sample_rate))
    release = min(n - attack, int(_RELEASE_S * sample_rate))
    envelope[:attack] *= np.linspace(0.0, 1.0, attack, endpoint=False)
    if release:
        envelope[n - release:] *= np.linspace(1.0, 0.0, release)
    return tone * envelope


def render_samples(melody: Melody, bpm: float = DEFAULT_BPM,
                   sample_rate: int = AUDIO_SAMPLE_RATE_HZ, max_seconds: float = 8.0) -> np.ndarray:
    """The melody as float samples in [-1, 1], cut (with a fade) after ``max_seconds``."""
    seconds_per_quarter = 60.0 / bpm
    total_s = min(float(melody.total_quarters) * seconds_per_quarter, max_seconds)
    out = np.zeros(max(int(round(total_s * sample_rate)), 1))
    start_q = Fraction(0)
    for pitch, quarters in melody.pairs():
        start = int(round(float(start_q) * seconds_per_quarter * sample_rate))
        start_q += quarters
        if start >= len(out):
            break
        if pitch is None:
            continue
        note = _note_wave(pitch, float(quarters) * seconds_per_quarter, sample_rate)
        end = min(len(out), start + len(note))
        out[start:end] += note[:end - start]
    fade = min(len(out), int(0.1 * sample_rate))
    if float(melody.total_quarters) * seconds_per_quarter > max_seconds and fade:
        out[len(out) - fade:] *= np.linspace(1.0, 0.0, fade)
    peak = float(np.max(np.abs(out)))
    return out * (0.8 / peak) if peak > 0 else out


def wav_bytes(samples: np.ndarray, sample_rate: int = AUDIO_SAMPLE_RATE_HZ) -> bytes:
    """16-bit mono PCM WAV file contents for float samples in [-1, 1]."""
    pcm = np.clip(np.round(samples * 32767), -32768, 32767).astype("<i2")
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as handle:
        handle.setnchannels(1)
        handle.setsampwidth(2)
        handle.setframerate(sample_rate)
        handle.writeframes(pcm.tobytes())
    return buffer.getvalue()


def render_wav(melody: Melody, bpm: float = DEFAULT_BPM, sample_rate: int = AUDIO_SAMPLE_RATE_HZ,
               max_seconds: float = 8.0) -> bytes:
    """A short WAV clip of the melody (see ``render_samples``)."""
    return wav_bytes(render_samples(melody, bpm, sample_rate, max_seconds), sample_rate)
