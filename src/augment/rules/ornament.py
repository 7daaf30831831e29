"""Ornaments: passing and neighbour tones that take time from the note they decorate.

- ``passing``: between two notes a third apart (3 or 4 semitones), the scale note
  between them fills the gap; the first note gives up the second half of its length
  (C(1) E -> C(1/2) D(1/2) E).
- ``neighbour``: a note steps to its upper or lower scale neighbour and back inside its
  own length (C(1) -> C(1/2) D(1/4) C(1/4)).

Every ornament note is a note of the key, so the key is kept; onsets of the other notes
do not move, so bar lengths and the total length are unchanged. The ornament's pitch is
recorded in the params, so ``apply`` needs no key. Pieces shorter than
``min_duration_quarters`` or off the 1/48-quarter grid are not drawn.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from typing import Any

import numpy as np

from ..example import Example
from ..melody import TICKS_PER_QUARTER, Melody, scale_ticks
from ..theory import Key
from .base import Choices, Rule, check_pitch_bounds
from .batch import BATCH_FROM, deal, laid_out
from .diatonic import at_least, choice_list, from_step, in_key, least_ticks, to_step

KINDS = ("passing", "neighbour")


def ornament_options(melody: Melody, key: Key, min_duration: Fraction, kinds: tuple[str, ...],
                     low_pitch: int, high_pitch: int) -> list[dict[str, Any]]:
    """Every valid single ornament: [{"kind", "index", "pitch"}]."""
    return _options(melody, key, at_least(min_duration * TICKS_PER_QUARTER), kinds, low_pitch,
                    high_pitch)


# One option as (kind, index, pitch); only the one ``sample`` keeps becomes a params dict.
Option = tuple[str, int, int]


def _params(option: Option) -> dict[str, Any]:
    kind, index, pitch = option
    return {"kind": kind, "index": index, "pitch": pitch}


def _options(melody: Melody, key: Key, least: int, kinds: tuple[str, ...], low_pitch: int,
             high_pitch: int) -> list[dict[str, Any]]:
    """``ornament_options`` with the fewest whole ticks of a piece (a piece is only drawn on
    the grid, so comparing ints is exact)."""
    return [_params(o) for o in _option_tuples(melody, key, least, kinds, low_pitch, high_pitch)]


@lru_cache(maxsize=1024)
def _option_tuples(melody: Melody, key: Key, least: int, kinds: tuple[str, ...], low_pitch: int,
                   high_pitch: int) -> tuple[Option, ...]:
    """``_options`` as (kind, index, pitch) tuples, in note order (at one note: passing,
    then the upper and the lower neighbour). Remembered by value: a seed's draws decorate
    the same parents again and again (at ~3,000 draws a seed, 43% of the calls meet a
    melody and key met before)."""
    p, d = melody.pitches, melody.ticks
    passing, neighbour = "passing" in kinds, "neighbour" in kinds
    fills, neighbours = _key_moves(key)
    tonic, halves, quarters = key.tonic, 2 * least, 4 * least  # t // 2 >= least: t >= 2 * least
    following = (*p[1:], None)
    out: list[Option] = []
    for i, pitch in enumerate(p):
        if pitch is None:
            continue
        t = d[i]
        pc = (pitch - tonic) % 12
        if passing and t % 2 == 0 and t >= halves:
            nxt = following[i]
            fill = None if nxt is None else fills.get((pc, nxt - pitch))
            if fill is not None:
                out.append(("passing", i, pitch + fill))
        if neighbour and t % 4 == 0 and t >= quarters:
            moves = neighbours[pc]
            if moves is not None:
                for move in moves:
                    if low_pitch <= pitch + move <= high_pitch:
                        out.append(("neighbour", i, pitch + move))
    return tuple(out)


def _drawable(melody: Melody, key: Key, least: int, kinds: tuple[str, ...], low_pitch: int,
              high_pitch: int) -> tuple[tuple[Option, ...], ...]:
    """``_option_tuples`` grouped as ``sample`` draws them: the options of each kind that
    has any, in note order, kinds sorted by name (neighbour, passing). Made in one pass,
    not remembered: the rule comes last, so it mostly meets a parent no draw met before
    (96% of the calls at ~3,000 draws a seed)."""
    p, d = melody.pitches, melody.ticks
    fills, neighbours = _key_moves(key)
    tonic = key.tonic
    halves = 2 * least if "passing" in kinds else None  # t // 2 >= least: t >= 2 * least
    quarters = 4 * least if "neighbour" in kinds else None
    passing: list[Option] = []
    neighbour: list[Option] = []
    following = (*p[1:], None)
    for i, pitch in enumerate(p):
        if pitch is None:
            continue
        t = d[i]
        pc = (pitch - tonic) % 12
        if halves is not None and t % 2 == 0 and t >= halves:
            nxt = following[i]
            fill = None if nxt is None else fills.get((pc, nxt - pitch))
            if fill is not None:
                passing.append(("passing", i, pitch + fill))
        if quarters is not None and t % 4 == 0 and t >= quarters:
            moves = neighbours[pc]
            if moves is not None:
                for move in moves:
                    if low_pitch <= pitch + move <= high_pitch:
                        neighbour.append(("neighbour", i, pitch + move))
    return tuple(tuple(group) for group in (neighbour, passing) if group)


def _drawable_of(melodies: Sequence[tuple[Melody, Key]], least: int, kinds: tuple[str, ...],
                 low_pitch: int, high_pitch: int) -> list[tuple[Sequence[Option], ...]]:
    """``_drawable`` of each (melody, key), worked out for all their notes at once in numpy
    (a seed's draws meet their parents a few dozen at a time: ``Rule.choices_of``)."""
    if not melodies:
        return []
    pitch, ticks, ends = laid_out([m for m, _ in melodies])  # (ticks off the grid: never drawn)
    sizes = np.diff(ends, prepend=0)
    keys: dict[Key, int] = {}
    key_at = np.repeat([keys.setdefault(k, len(keys)) for _, k in melodies], sizes)
    fills, neighbours = _move_tables(list(keys))
    tonic = np.asarray([k.tonic for k in keys], dtype=np.int64)[key_at]
    played = pitch >= 0
    pc = (pitch - tonic) % 12
    note = np.arange(len(pitch)) - np.repeat(ends - sizes, sizes)  # index in its melody
    out: list[list[Sequence[Option]]] = [[(), ()] for _ in melodies]  # neighbour, passing
    if "passing" in kinds:
        following = np.append(pitch[1:], -1)
        following[ends - 1] = -1  # a melody's last note has none
        gap = following - pitch
        ok = played & (following >= 0) & (ticks % 2 == 0) & (ticks >= 2 * least) & (np.abs(gap) >= 3) \
            & (np.abs(gap) <= 4)
        at = np.flatnonzero(ok)
        move = fills[key_at[at], pc[at], gap[at] + 4]
        at, move = at[move != 0], move[move != 0]  # 0: no single scale note between
        deal(out, 1, "passing", at, note[at], pitch[at] + move, ends)
    if "neighbour" in kinds:
        ok = played & (ticks % 4 == 0) & (ticks >= 4 * least)
        at = np.flatnonzero(ok)
        moves = neighbours[key_at[at], pc[at]]  # (upper, lower); 0 0: off the scale
        to = pitch[at, None] + moves
        fine = (moves != 0) & (to >= low_pitch) & (to <= high_pitch)
        rows, cols = np.nonzero(fine)  # in note order, the upper neighbour first
        at = at[rows]
        deal(out, 0, "neighbour", at, note[at], to[rows, cols], ends)
    return [tuple(group for group in groups if group) for groups in out]


def _move_tables(keys: Sequence[Key]) -> tuple[np.ndarray, np.ndarray]:
    """``_key_moves`` of each key as arrays: fills (key, pitch class, gap + 4) -> move (0:
    none) and neighbours (key, pitch class) -> (upper, lower) moves (0 0: off the scale)."""
    tables = [_key_tables(key) for key in keys]
    return np.stack([f for f, _ in tables]), np.stack([n for _, n in tables])


@lru_cache(maxsize=64)
def _key_tables(key: Key) -> tuple[np.ndarray, np.ndarray]:
    """One key's rows of ``_move_tables``."""
    fill, neighbour = _key_moves(key)
    fills = np.zeros((12, 9), dtype=np.int64)
    neighbours = np.zeros((12, 2), dtype=np.int64)
    for (pc, gap), move in fill.items():
        fills[pc, gap + 4] = move
    for pc, moves in enumerate(neighbour):
        if moves is not None:
            neighbours[pc] = moves
    return fills, neighbours


@lru_cache(maxsize=64)
def _key_moves(key: Key) -> tuple[dict[tuple[int, int], int], tuple[tuple[int, int] | None, ...]]:
    """What ``_option_tuples`` reads of ``key``, by pitch class above the tonic (the octave
    and the tonic add to both ends, as in ``shift_pitch``):

    - passing: (pitch class, interval to the next note of 3 or 4 semitones either way) ->
      the move to the one scale note strictly between them, when there is exactly one;
    - neighbour: per pitch class, the moves to its upper and lower scale neighbours
      (``from_step`` of its step +- 1), or None off the scale.
    """
    fills: dict[tuple[int, int], int] = {}
    for pc in range(12):
        for gap in (-4, -3, 3, 4):
            lo, hi = min(pc, pc + gap), max(pc, pc + gap)
            between = [x - pc for x in range(lo + 1, hi) if in_key(key.tonic + x, key)]
            if len(between) == 1:
                fills[pc, gap] = between[0]
    neighbours: list[tuple[int, int] | None] = []
    for pc in range(12):
        pitch = key.tonic + pc
        if not in_key(pitch, key):
            neighbours.append(None)
            continue
        step, _ = to_step(pitch, key)
        neighbours.append((from_step(step + 1, 0, key) - pitch, from_step(step - 1, 0, key) - pitch))
    return fills, tuple(neighbours)


def apply_ornament(melody: Melody, kind: str, index: int, pitch: int) -> Melody:
    p, d = list(melody.pitches), list(melody.ticks)
    i, own = index, p[index]
    if own is None:
        raise ValueError(f"note {index} is a rest; rests are not ornamented")
    if kind == "passing":
        half = scale_ticks(d[i], 1, 2)
        p[i:i + 1] = [own, pitch]
        d[i:i + 1] = [half, half]
    elif kind == "neighbour":
        half, quarter = scale_ticks(d[i], 1, 2), scale_ticks(d[i], 1, 4)
        p[i:i + 1] = [own, pitch, own]
        d[i:i + 1] = [half, quarter, quarter]
    else:
        raise ValueError(f"unknown ornament kind {kind!r}")
    return Melody.from_ticks(tuple(p), tuple(d))


@dataclass(frozen=True)
class Ornament(Rule):
    """Add a passing or neighbour tone, taking time from the decorated note."""

    name = "ornament"
    changes = frozenset()

    kinds: str = "passing,neighbour"
    min_duration_quarters: float = 0.25
    low_pitch: int = 36
    high_pitch: int = 96

    def __post_init__(self) -> None:
        self.kind_list()
        if self.min_duration_quarters <= 0:
            raise ValueError("min_duration_quarters must be > 0")
        check_pitch_bounds(self.low_pitch, self.high_pitch)

    def kind_list(self) -> tuple[str, ...]:
        return choice_list(self.kinds, KINDS, "kinds")

    def choices(self, example: Example) -> Choices | None:
        if example.key is None:
            return None
        drawable = _drawable(example.melody, example.key, least_ticks(self.min_duration_quarters),
                             self.kind_list(), self.low_pitch, self.high_pitch)
        # The kind first (sorted by name), then one of its options.
        return Choices(drawable, _params) if drawable else None

    def choices_of(self, examples: Sequence[Example]) -> list[Choices | None]:
        if len(examples) < BATCH_FROM:
            return [self.choices(e) for e in examples]
        drawable = iter(_drawable_of([(e.melody, e.key) for e in examples if e.key is not None],
                                     least_ticks(self.min_duration_quarters), self.kind_list(),
                                     self.low_pitch, self.high_pitch))
        out: list[Choices | None] = []
        for e in examples:
            groups = () if e.key is None else next(drawable)
            out.append(Choices(groups, _params) if groups else None)
        return out

    def apply(self, melody: Melody, **params: Any) -> Melody:
        return apply_ornament(melody, str(params["kind"]), int(params["index"]), int(params["pitch"]))
