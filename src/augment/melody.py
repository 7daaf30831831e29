"""The Melody value type and pure kernels over it.

A melody is a sequence of (pitch, duration) pairs. Pitch is a MIDI number 0-127 or
``None`` for a rest; a rest is never analysed as a pitch. Durations are exact: the
melody holds them as ``ticks`` of the 1/48-quarter grid (``TICKS_PER_QUARTER``), a plain
``int`` for every duration on the grid (64th notes and every triplet down to 64th
triplets) and an exact ``Fraction`` of ticks only for a duration off it (a quintuplet
read from a file), so the hot paths do integer arithmetic and nothing is ever rounded.
``durations`` gives the same values as ``Fraction`` quarter notes (music21's
quarterLength) whatever unit the data file uses; the codec converts at the edges.

Every function here returns a new value and never changes its argument.
"""

from __future__ import annotations

import operator
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from fractions import Fraction
from itertools import chain
from typing import cast

import numpy as np

from . import ragged

MIN_PITCH = 0
MAX_PITCH = 127
# Finest duration grid: 1/48 of a quarter holds 64th notes (3/48) and every
# triplet down to 64th triplets (2/48).
GRID_QUARTER = Fraction(1, 48)
TICKS_PER_QUARTER = 48

# A duration in ticks: an int on the grid; an exact, never whole, Fraction off it.
Ticks = int | Fraction

# Quarter-note Fractions of the tick counts met so far (0 to 64 quarters), shared, as
# Fractions are immutable: ``durations`` then costs a lookup per note, not a Fraction.
_CACHED_TICKS = 64 * TICKS_PER_QUARTER
_QUARTERS: dict[Ticks, Fraction] = {}


def exact_ticks(value: Fraction | int) -> Ticks:
    """A tick count in the Melody form: an int when whole, else the exact Fraction."""
    if type(value) is int:
        return value
    value = cast(Fraction, value)
    return value.numerator if value.denominator == 1 else value


def ticks_of(quarters: Fraction | int | str | float) -> Ticks:
    """Ticks of a duration in quarter notes (exact: a str is read as a decimal, a float
    as its exact binary value)."""
    value = quarters if isinstance(quarters, Fraction) else Fraction(quarters)
    return exact_ticks(value * TICKS_PER_QUARTER)


def quarters_of(ticks: Ticks) -> Fraction:
    """The exact duration in quarter notes of a tick count."""
    q = _QUARTERS.get(ticks)
    if q is None:
        q = Fraction(ticks) / TICKS_PER_QUARTER
        if type(ticks) is int and 0 <= ticks < _CACHED_TICKS:
            _QUARTERS[ticks] = q
    return q


def scale_ticks(ticks: Ticks, numerator: int, denominator: int = 1) -> Ticks:
    """``ticks * numerator / denominator``, exact (an int whenever the result is whole)."""
    if type(ticks) is int:
        product = ticks * numerator
        if product % denominator == 0:
            return product // denominator
        return Fraction(product, denominator)
    return exact_ticks(cast(Fraction, ticks) * numerator / denominator)


@dataclass(frozen=True, slots=True, init=False)
class Melody:
    """An immutable melody: parallel tuples of pitches (None = rest) and durations in ticks.

    ``Melody(pitches, durations)`` takes quarter-note durations (Fraction, int, decimal
    str, or a float's exact value); ``Melody.from_ticks`` takes tick counts in the form
    above and converts nothing (the hot paths use it).
    """

    pitches: tuple[int | None, ...]
    ticks: tuple[Ticks, ...]
    # ``notes``, ``pitch_range`` and ``intervals``, made on first use: the rules and checks
    # of one variant ask for them a dozen times. Not part of the value (equality, hash,
    # repr, pickling).
    _notes: tuple[int, ...] | None = field(default=None, init=False, compare=False, repr=False)
    _range: tuple[int, int] | None = field(default=None, init=False, compare=False, repr=False)
    _intervals: tuple[int, ...] | None = field(default=None, init=False, compare=False, repr=False)
    # The melody's text as ``codec.format_melody`` last wrote it, with the format it wrote it
    # in: re-prompting writes it into the variant and the exact-duplicate key writes it
    # again. Not part of the value either.
    _text: tuple[object, str] | None = field(default=None, init=False, compare=False, repr=False)
    # ``pitch_class_ticks``, and whether every duration is a whole multiple of 3 ticks (see
    # ``pitch_class_histogram``), made on first use: a variant's key is found and checked
    # from the histogram, and its in-scale share counted from the sums. Not part of the value.
    _classes: tuple[tuple[int, ...] | None, bool] | None = field(
        default=None, init=False, compare=False, repr=False)

    def __init__(self, pitches: Iterable[int | None],
                 durations: Iterable[Fraction | int | str | float]) -> None:
        _init(self, tuple(pitches), tuple(ticks_of(d) for d in durations))

    @classmethod
    def from_ticks(cls, pitches: tuple[int | None, ...], ticks: tuple[Ticks, ...]) -> Melody:
        """The fast constructor: ``ticks`` must already be ints, or Fractions off the grid."""
        melody = object.__new__(cls)
        _init(melody, pitches, ticks)
        return melody

    def __reduce__(self) -> tuple[object, ...]:
        # Copied between processes as its two tuples (2-3x faster than the dataclass state).
        return (Melody.from_ticks, (self.pitches, self.ticks))

    @classmethod
    def from_pairs(cls, pairs: Iterable[Sequence[object]]) -> Melody:
        """Build from ``[(pitch, duration), ...]``; durations may be int/float/str/Fraction."""
        pitches: list[int | None] = []
        ticks: list[Ticks] = []
        for pitch, duration in pairs:
            pitches.append(None if pitch is None else int(str(pitch)))
            ticks.append(ticks_of(Fraction(str(duration))))
        return cls.from_ticks(tuple(pitches), tuple(ticks))

    def __len__(self) -> int:
        return len(self.pitches)

    @property
    def durations(self) -> tuple[Fraction, ...]:
        """Durations in quarter notes (exact Fractions)."""
        try:  # every tick count already met: one C-level pass
            return tuple(map(_QUARTERS.__getitem__, self.ticks))
        except KeyError:
            return tuple(map(quarters_of, self.ticks))

    def pairs(self) -> list[tuple[int | None, Fraction]]:
        return list(zip(self.pitches, self.durations, strict=True))

    @property
    def notes(self) -> tuple[int, ...]:
        """Sounding pitches in order, rests left out."""
        notes = self._notes
        if notes is None:
            pitches = self.pitches
            if None not in pitches:
                notes = cast(tuple[int, ...], pitches)
            else:
                notes = tuple([p for p in pitches if p is not None])
            object.__setattr__(self, "_notes", notes)
        return notes

    @property
    def total_ticks(self) -> Ticks:
        total = sum(self.ticks)
        return total if type(total) is int else exact_ticks(total)

    @property
    def total_quarters(self) -> Fraction:
        return quarters_of(self.total_ticks)

    def pitch_range(self) -> tuple[int, int] | None:
        """(lowest, highest) sounding pitch; None without a note."""
        r = self._range
        if r is None:
            notes = self.notes
            if not notes:
                return None
            r = (min(notes), max(notes))
            object.__setattr__(self, "_range", r)
        return r

    def intervals(self) -> tuple[int, ...]:
        """Semitone steps between consecutive sounding notes (rests skipped)."""
        intervals = self._intervals
        if intervals is None:
            notes = self.notes
            intervals = tuple(map(operator.sub, notes[1:], notes))  # b - a of each pair, in C
            object.__setattr__(self, "_intervals", intervals)
        return intervals

    def is_on_grid(self) -> bool:
        return set(map(type, self.ticks)) <= {int}  # (map and set in C: ~10x a generator)

    def pitch_class_ticks(self) -> tuple[int, ...] | None:
        """Sounding ticks on each pitch class (12 ints), rests ignored; None for a melody
        off the tick grid."""
        return self._pitch_classes()[0]

    def _pitch_classes(self) -> tuple[tuple[int, ...] | None, bool]:
        classes = self._classes
        if classes is None:
            sums: list[int] | None = None
            if self.is_on_grid():
                sums = [0] * 12
                for p, t in zip(self.pitches, cast(tuple[int, ...], self.ticks), strict=True):
                    if p is not None:
                        sums[p % 12] += t
            thirds = sums is not None and not any(t % 3 for t in set(self.ticks))
            classes = (None if sums is None else tuple(sums), thirds)
            object.__setattr__(self, "_classes", classes)
        return classes

    def pitch_class_histogram(self) -> np.ndarray:
        """Duration-weighted pitch-class histogram (12 floats), rests ignored."""
        sums, thirds = self._pitch_classes()
        if sums is not None and thirds:
            # Each duration (t / 48 quarter) is then a whole number of 1/16 quarters, exact in
            # a float, and so is every sum of them: the sums below, each divided once.
            return np.array([s / TICKS_PER_QUARTER for s in sums])
        # Summed note by note in floats, each the correctly rounded quarter value.
        hist = [0.0] * 12
        for p, t in zip(self.pitches, self.ticks, strict=True):
            if p is not None:
                hist[p % 12] += t / TICKS_PER_QUARTER if type(t) is int else float(quarters_of(t))
        return np.array(hist)


def _init(melody: Melody, pitches: tuple[int | None, ...], ticks: tuple[Ticks, ...]) -> None:
    if len(pitches) != len(ticks):
        raise ValueError("pitches and durations differ in length")
    # Through the slots' own setters (``object.__setattr__`` looks each one up every time:
    # 0.83 against 0.55 us a melody, ~1.4 million melodies made at a million examples).
    set_pitches, set_ticks, set_notes, set_range, set_intervals, set_text, set_classes = _MELODY_SLOTS
    set_pitches(melody, pitches)
    set_ticks(melody, ticks)
    set_notes(melody, None)
    set_range(melody, None)
    set_intervals(melody, None)
    set_text(melody, None)
    set_classes(melody, None)


# Each field's slot setter, in the order of the fields: pitches, ticks, then the caches.
_MELODY_SLOTS = tuple(Melody.__dict__[f.name].__set__ for f in fields(Melody))


@dataclass(frozen=True)
class GridArrays:
    """Melodies on the tick grid as flat int arrays: the pitch (-1 for a rest) and the ticks
    of every event back to back, melody i owning ``starts[i]:starts[i + 1]``. The per-seed
    stage lays a seed's variants out once and its batch steps (melody texts, checks,
    tokens) read them here."""

    pitches: np.ndarray  # int64
    ticks: np.ndarray  # int64
    starts: np.ndarray  # int64, one more than there are melodies

    @staticmethod
    def of(melodies: Sequence[Melody]) -> GridArrays | None:
        """The melodies laid out; None when a duration is off the tick grid.

        ``array('q', ...)`` takes the ints and refuses, with a TypeError, what is none (a
        Fraction off the grid, a rest's None) in one C pass, where a pass that looked at
        each item's type first cost as much again."""
        try:
            ticks = array("q", cast(list[int], list(chain.from_iterable([m.ticks for m in melodies]))))
        except TypeError:
            return None
        pitches: list[int | None] = list(chain.from_iterable([m.pitches for m in melodies]))
        try:
            sounding = array("q", cast(list[int], pitches))
        except TypeError:
            sounding = array("q", [-1 if p is None else p for p in pitches])
        starts = np.zeros(len(melodies) + 1, dtype=np.int64)
        np.cumsum(np.fromiter(map(len, melodies), np.int64, len(melodies)), out=starts[1:])
        return GridArrays(np.frombuffer(sounding, np.int64), np.frombuffer(ticks, np.int64), starts)

    def __len__(self) -> int:
        return len(self.starts) - 1

    def subset(self, rows: Sequence[int] | np.ndarray) -> GridArrays:
        """The melodies ``rows``, in that order."""
        index, starts = ragged.take(self.starts, rows)
        return GridArrays(self.pitches[index], self.ticks[index], starts)


def transpose(melody: Melody, semitones: int) -> Melody:
    """Move every sounding note by ``semitones``; rests and durations stay."""
    return Melody.from_ticks(
        tuple([None if p is None else p + semitones for p in melody.pitches]), melody.ticks
    )


def invert(melody: Melody, axis: int) -> Melody:
    """Chromatic mirror: each pitch p becomes 2*axis - p (axis is a MIDI number)."""
    return Melody.from_ticks(
        tuple([None if p is None else 2 * axis - p for p in melody.pitches]), melody.ticks
    )


def retrograde(melody: Melody) -> Melody:
    """The pairs in reverse order."""
    return Melody.from_ticks(melody.pitches[::-1], melody.ticks[::-1])


def scale_durations(melody: Melody, factor: Fraction) -> Melody:
    """Multiply every duration by ``factor`` (augmentation > 1, diminution < 1)."""
    num, den = factor.numerator, factor.denominator
    scaled = {t: scale_ticks(t, num, den) for t in set(melody.ticks)}  # (few distinct durations)
    return Melody.from_ticks(melody.pitches, tuple(map(scaled.__getitem__, melody.ticks)))


def transposition_range(melody: Melody, low: int = MIN_PITCH, high: int = MAX_PITCH) -> range:
    """Every semitone offset that keeps all sounding notes within [low, high]."""
    r = melody.pitch_range()
    if r is None:
        return range(0, 1)
    return range(low - r[0], high - r[1] + 1)
