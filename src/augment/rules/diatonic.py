"""Shared helpers for rules: scale steps inside a key, meters and bar lines.

A pitch is located in a key as (scale step, alteration): the step counts diatonic
degrees from the tonic's lowest octave (step 7*octave + degree), the alteration is how
many semitones the pitch lies above that degree (0 for a scale note, +1 for a chromatic
note, which is always named after the scale degree just below it). Minor keys use the
natural minor scale, so a raised 6th or 7th is degree 6 or 7 with alteration +1.

Rules store the key they worked in as plain params (``key_tonic``, ``key_mode``) so
that ``apply`` is pure and a lineage record replays without the seed's analysis.
"""

from __future__ import annotations

import math
from fractions import Fraction
from functools import lru_cache
from itertools import accumulate
from typing import Any

from ..example import Example
from ..melody import TICKS_PER_QUARTER, Melody, Ticks, exact_ticks, quarters_of
from ..theory import MAJOR_SCALE, NATURAL_MINOR_SCALE, Key, ModeName

Meter = tuple[int, int]


def scale_offsets(key: Key) -> tuple[int, ...]:
    """Semitones of the seven degrees above the tonic (natural minor for minor keys)."""
    return MAJOR_SCALE if key.mode == "major" else NATURAL_MINOR_SCALE


def _degree_table(offsets: tuple[int, ...]) -> tuple[tuple[int, int], ...]:
    """(degree, alteration) of each of the 12 pitch classes above the tonic."""
    table = []
    for pc in range(12):
        degree = max(d for d, off in enumerate(offsets) if off <= pc)
        table.append((degree, pc - offsets[degree]))
    return tuple(table)


_MAJOR_DEGREES = _degree_table(MAJOR_SCALE)
_MINOR_DEGREES = _degree_table(NATURAL_MINOR_SCALE)


def to_step(pitch: int, key: Key) -> tuple[int, int]:
    """(scale step, alteration in semitones) of a MIDI pitch in ``key``."""
    octave, pc = divmod(pitch - key.tonic, 12)
    degree, alteration = (_MAJOR_DEGREES if key.mode == "major" else _MINOR_DEGREES)[pc]
    return 7 * octave + degree, alteration


def from_step(step: int, alteration: int, key: Key) -> int:
    """The MIDI pitch of a scale step plus an alteration (inverse of ``to_step``)."""
    octave, degree = divmod(step, 7)
    offsets = MAJOR_SCALE if key.mode == "major" else NATURAL_MINOR_SCALE
    return key.tonic + 12 * octave + offsets[degree] + alteration


def in_key(pitch: int, key: Key) -> bool:
    return (pitch - key.tonic) % 12 in scale_offsets(key)


def all_in_key(melody: Melody, key: Key) -> bool:
    return all(in_key(p, key) for p in melody.notes)


def shift_pitch(pitch: int, steps: int, key: Key) -> int:
    """Move a pitch by scale steps; a chromatic note keeps its alteration.

    ``from_step(step + steps, alteration)`` of the pitch's ``to_step``: the move depends only
    on the pitch class above the tonic (the octave and the tonic add to both ends), so it
    is read from a table of the 12 moves of (mode, steps)."""
    return pitch + _shift_moves(key.mode, steps)[(pitch - key.tonic) % 12]


@lru_cache(maxsize=1024)
def _shift_moves(mode: ModeName, steps: int) -> tuple[int, ...]:
    """``shift_pitch(pc, steps, key) - pc`` for each pitch class pc above a tonic C in ``mode``."""
    key = Key(0, mode)
    moves = []
    for pc in range(12):
        step, alteration = to_step(pc, key)
        moves.append(from_step(step + steps, alteration, key) - pc)
    return tuple(moves)


def key_params(key: Key) -> dict[str, Any]:
    return {"key_tonic": key.tonic, "key_mode": key.mode}


def key_from_params(params: dict[str, Any]) -> Key:
    mode = str(params["key_mode"])
    if mode not in ("major", "minor"):
        raise ValueError(f"key_mode must be 'major' or 'minor', got {mode!r}")
    return Key(int(params["key_tonic"]), "major" if mode == "major" else "minor")


# --- meter and bars ---------------------------------------------------------------------

def parse_meter(text: str) -> Meter:
    """'3/4' -> (3, 4); raises ValueError for anything that is not a time signature."""
    num, sep, den = text.strip().partition("/")
    if not sep or not num.isdigit() or not den.isdigit():
        raise ValueError(f"meter must look like '4/4', got {text!r}")
    n, d = int(num), int(den)
    if n < 1 or d not in (1, 2, 4, 8, 16, 32):
        raise ValueError(f"meter {text!r} is not a time signature")
    return n, d


def meter_of(example: Example, fallback: str) -> Meter:
    """The example's meter fact when known (a (num, den) tuple), else ``fallback``."""
    fact = dict(example.facts).get("meter")
    if isinstance(fact, tuple | list) and len(fact) == 2:
        return int(fact[0]), int(fact[1])
    if isinstance(fact, str):
        return parse_meter(fact)
    return parse_meter(fallback)


def bar_quarters(meter: Meter) -> Fraction:
    """Length of one bar in quarter notes (6/8 -> 3)."""
    return Fraction(4 * meter[0], meter[1])


@lru_cache(maxsize=256)
def bar_ticks(meter: Meter) -> Ticks:
    """Length of one bar in ticks (an int for every time signature ``parse_meter`` allows)."""
    return exact_ticks(bar_quarters(meter) * TICKS_PER_QUARTER)


def quarters_to_ticks(quarters: Fraction) -> Ticks:
    return exact_ticks(quarters * TICKS_PER_QUARTER)


def onset_ticks(melody: Melody) -> list[Ticks]:
    """Start of every note (ticks from the beginning), plus the end as a last entry."""
    return running_ticks(melody.ticks, melody.is_on_grid())


def running_ticks(ticks: tuple[Ticks, ...], on_grid: bool) -> list[Ticks]:
    """``onset_ticks`` of a melody of these ``ticks`` (``on_grid``: every one an int)."""
    if on_grid:  # int sums: the running total in C
        return list(accumulate(ticks, initial=0))
    out: list[Ticks] = [0]
    now: Ticks = 0
    for t in ticks:
        now = now + t
        if type(now) is not int:
            now = exact_ticks(now)
        out.append(now)
    return out


def onsets(melody: Melody) -> list[Fraction]:
    """Start of every note (quarters from the beginning), plus the end as a last entry."""
    return [quarters_of(t) for t in onset_ticks(melody)]


def at_least(minimum: Fraction) -> int:
    """The fewest whole ticks that are >= ``minimum`` ticks: a duration on the grid is at
    least ``minimum`` exactly when its (int) ticks are at least this."""
    return math.ceil(minimum)


@lru_cache(maxsize=256)
def least_ticks(quarters: float) -> int:
    """``at_least`` of a rule's minimum duration in quarters (read as its decimal text)."""
    return at_least(Fraction(str(quarters)) * TICKS_PER_QUARTER)


def bar_cuts(melody: Melody, bar: Fraction) -> list[int]:
    """Note counts n (0 < n <= len) whose first n notes fill whole bars exactly."""
    times, bar_t = onset_ticks(melody), quarters_to_ticks(bar)
    return [n for n in range(1, len(times)) if times[n] % bar_t == 0]


@lru_cache(maxsize=256)
def choice_list(text: str, allowed: tuple[str, ...], param: str) -> tuple[str, ...]:
    """Parse a comma-separated, non-empty subset of ``allowed`` (a rule's list parameter;
    cached, as rules read theirs at every draw)."""
    items = tuple(item.strip() for item in text.split(",") if item.strip())
    if not items or any(item not in allowed for item in items):
        raise ValueError(f"{param} must be a comma-separated subset of {allowed}, got {text!r}")
    return items


def fraction_param(value: Any) -> Fraction:
    """A duration param written as a string ("3/2") or a number."""
    if type(value) is str:
        return _fraction_of_text(value)
    return value if isinstance(value, Fraction) else Fraction(str(value))


@lru_cache(maxsize=1024)
def _fraction_of_text(text: str) -> Fraction:
    """(A rule's few factors and durations, parsed once: each child a rule makes asks.)"""
    return Fraction(text)


def fraction_text(value: Fraction) -> str:
    """'3/2', '2', '1/2': how durations and factors are stored in params."""
    return str(value)
