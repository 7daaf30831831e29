"""The Melody value type and pure kernels over it.

A melody is a sequence of (pitch, duration) pairs. Pitch is a MIDI number 0-127 or
``None`` for a rest; a rest is never analysed as a pitch. Durations are exact
``Fraction`` values in quarter notes (music21's quarterLength) whatever unit the data
file uses; the codec converts at the edges.

Every function here returns a new value and never changes its argument.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction

import numpy as np

MIN_PITCH = 0
MAX_PITCH = 127
# Finest duration grid: 1/48 of a quarter holds 64th notes (3/48) and every
# triplet down to 64th triplets (2/48).
GRID_QUARTER = Fraction(1, 48)
TICKS_PER_QUARTER = 48


@dataclass(frozen=True, slots=True)
class Melody:
    """An immutable melody: parallel tuples of pitches (None = rest) and durations."""

    pitches: tuple[int | None, ...]
    durations: tuple[Fraction, ...]

    def __post_init__(self) -> None:
        if len(self.pitches) != len(self.durations):
            raise ValueError("pitches and durations differ in length")

    @classmethod
    def from_pairs(cls, pairs: Iterable[Sequence[object]]) -> Melody:
        """Build from ``[(pitch, duration), ...]``; durations may be int/float/str/Fraction."""
        pitches: list[int | None] = []
        durations: list[Fraction] = []
        for pitch, duration in pairs:
            pitches.append(None if pitch is None else int(str(pitch)))
            durations.append(Fraction(str(duration)))
        return cls(tuple(pitches), tuple(durations))

    def __len__(self) -> int:
        return len(self.pitches)

    def pairs(self) -> list[tuple[int | None, Fraction]]:
        return list(zip(self.pitches, self.durations, strict=True))

    @property
    def notes(self) -> tuple[int, ...]:
        """Sounding pitches in order, rests left out."""
        return tuple(p for p in self.pitches if p is not None)

    @property
    def total_quarters(self) -> Fraction:
        return sum(self.durations, Fraction(0))

    def pitch_range(self) -> tuple[int, int] | None:
        notes = self.notes
        return (min(notes), max(notes)) if notes else None

    def intervals(self) -> tuple[int, ...]:
        """Semitone steps between consecutive sounding notes (rests skipped)."""
        notes = self.notes
        return tuple(b - a for a, b in zip(notes, notes[1:], strict=False))

    def is_on_grid(self) -> bool:
        return all((d / GRID_QUARTER).denominator == 1 for d in self.durations)

    def pitch_class_histogram(self) -> np.ndarray:
        """Duration-weighted pitch-class histogram (12 floats), rests ignored."""
        hist = np.zeros(12)
        for p, d in zip(self.pitches, self.durations, strict=True):
            if p is not None:
                hist[p % 12] += float(d)
        return hist


def transpose(melody: Melody, semitones: int) -> Melody:
    """Move every sounding note by ``semitones``; rests and durations stay."""
    return Melody(
        tuple(None if p is None else p + semitones for p in melody.pitches), melody.durations
    )


def invert(melody: Melody, axis: int) -> Melody:
    """Chromatic mirror: each pitch p becomes 2*axis - p (axis is a MIDI number)."""
    return Melody(
        tuple(None if p is None else 2 * axis - p for p in melody.pitches), melody.durations
    )


def retrograde(melody: Melody) -> Melody:
    """The pairs in reverse order."""
    return Melody(melody.pitches[::-1], melody.durations[::-1])


def scale_durations(melody: Melody, factor: Fraction) -> Melody:
    """Multiply every duration by ``factor`` (augmentation > 1, diminution < 1)."""
    return Melody(melody.pitches, tuple(d * factor for d in melody.durations))


def transposition_range(melody: Melody, low: int = MIN_PITCH, high: int = MAX_PITCH) -> range:
    """Every semitone offset that keeps all sounding notes within [low, high]."""
    r = melody.pitch_range()
    if r is None:
        return range(0, 1)
    return range(low - r[0], high - r[1] + 1)
