"""Rhythmic variation that keeps every bar's length and the melody's contour.

One change per application, at one place:

- ``split``: a note becomes ``parts`` repeated notes of equal length (a quarter C
  becomes two eighth Cs);
- ``merge``: two adjacent notes of the same pitch inside one bar become one;
- ``dot``: an even pair inside one bar becomes long-short (two eighths -> dotted eighth
  + sixteenth);
- ``syncopate``: an even pair inside one bar becomes short-long, so the second note
  arrives early and is held across the beat (two quarters -> eighth + dotted quarter).

No change moves a note across a bar line: merge, dot and syncopate act only inside one
bar, a split only adds notes (it may re-strike a note held over the bar line on the
downbeat). Every downbeat that had a note still has one, and the total length is
unchanged. The pitch sequence changes only by repeated
notes, so its contour is kept. Bars are measured with the example's meter fact when
known, else ``meter``; durations never fall below ``min_duration_quarters``.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from itertools import chain, repeat
from typing import Any, cast

import numpy as np

from ..example import Example
from ..melody import TICKS_PER_QUARTER, Melody, Ticks, exact_ticks, scale_ticks
from .base import Choices, Rule
from .batch import BATCH_FROM, deal, laid_out
from .diatonic import (
    at_least,
    bar_ticks,
    choice_list,
    least_ticks,
    meter_of,
    parse_meter,
    quarters_to_ticks,
    running_ticks,
)

OPERATIONS = ("split", "merge", "dot", "syncopate")


_NINE_DIGITS_TICKS = Fraction(TICKS_PER_QUARTER, 10**9)  # 10**-9 quarter


def _same_bar(start: Ticks, end: Ticks, bar: Ticks) -> bool:
    """True when [start, end] lies inside one bar (end may touch the next bar line)."""
    if type(end) is int and type(bar) is int:
        return (start // bar) == ((end - 1) // bar)  # whole ticks: end - 1 ~ end - 10**-9
    return (start // bar) == ((end - _NINE_DIGITS_TICKS) // bar)


def rhythm_options(melody: Melody, bar: Fraction, min_duration: Fraction,
                   operations: tuple[str, ...]) -> list[dict[str, Any]]:
    """Every valid single change: [{"op": ..., "index": i, ...}]."""
    return _options(melody, quarters_to_ticks(bar), at_least(min_duration * TICKS_PER_QUARTER),
                    operations)


# One option as (op, index, parts): a melody has about two per note and ``sample`` keeps one,
# so only that one becomes a params dict (``_params``).
Option = tuple[str, int, int]


def _params(option: Option) -> dict[str, Any]:
    op, index, parts = option
    return {"op": op, "index": index, "parts": parts} if op == "split" else {"op": op, "index": index}


def _options(melody: Melody, bar_t: Ticks, least: int, operations: tuple[str, ...]
             ) -> list[dict[str, Any]]:
    """``rhythm_options`` with the bar in ticks and the fewest whole ticks of a piece (a
    piece is only drawn on the grid, so comparing ints is exact)."""
    return [_params(o) for o in _option_tuples(melody, bar_t, least, operations)]


def _option_tuples(melody: Melody, bar_t: Ticks, least: int, operations: tuple[str, ...]
                   ) -> list[Option]:
    """``_options`` as (op, index, parts) tuples (parts 0 but for a split), in note order:
    at one note a split in 2, in 3, a merge, a dot, a syncopation."""
    order = {op: n for n, op in enumerate(OPERATIONS)}
    found = chain.from_iterable(_drawable(melody, bar_t, least, operations))
    return sorted(found, key=lambda o: (o[1], order[o[0]], o[2]))


# The options as ``sample`` draws them: the options of each op that has any (in note
# order; each option names its op), ops sorted.
Drawable = tuple[tuple[Option, ...], ...]


def _drawable(melody: Melody, bar_t: Ticks, least: int, operations: tuple[str, ...]) -> Drawable:
    """The options of ``melody`` grouped as ``sample`` draws them. They depend on the pitches
    only through which events are rests and which notes repeat the note before, so they
    are remembered by that shape (``_shape_options``): a seed's variants put the rule to
    many copies of one melody transposed, inverted or moved to another mode."""
    p = melody.pitches
    rests = tuple(map(operator.is_, p, repeat(None))) if None in p else None
    return _shape_options(melody.ticks, rests, tuple(map(operator.eq, p[1:], p)), bar_t, least,
                          operations)


@lru_cache(maxsize=32)
def _shape_options(ticks: tuple[Ticks, ...], rests: tuple[bool, ...] | None,
                   repeats: tuple[bool, ...], bar_t: Ticks, least: int, operations: tuple[str, ...]
                   ) -> Drawable:
    """``_drawable`` of a melody with these ``ticks``, ``rests`` (whether each event is a
    rest; None: no rest) and ``repeats`` (whether each next event is the same pitch)."""
    on_grid = set(map(type, ticks)) <= {int}  # Melody.is_on_grid
    times = running_ticks(ticks, on_grid)
    whole = type(bar_t) is int and on_grid  # _same_bar's int case, inlined below
    split, merge = "split" in operations, "merge" in operations
    d, n = ticks, len(ticks)
    splits: list[Option] = []
    merges: list[Option] = []
    evens: list[int] = []  # notes i that make an even pair with note i + 1 (dot, syncopate)
    for i in range(n):
        t = d[i]
        sounding = rests is None or not rests[i]
        if split and sounding:
            for parts in (2, 3):
                if t % parts == 0 and t // parts >= least:
                    splits.append(("split", i, parts))
        if i + 1 >= n:
            continue
        if whole:
            if times[i] // bar_t != (times[i + 2] - 1) // bar_t:
                continue
        elif not _same_bar(times[i], times[i + 2], bar_t):
            continue
        if merge and sounding and repeats[i]:
            merges.append(("merge", i, 0))
        if t == d[i + 1] and t % 2 == 0 and t // 2 >= least:
            evens.append(i)
    found = {"split": splits, "merge": merges}
    for op in ("dot", "syncopate"):
        if op in operations:
            found[op] = [(op, i, 0) for i in evens]
    return tuple(tuple(found[op]) for op in sorted(found) if found[op])


def _drawable_of(melodies: Sequence[Melody], bars: Sequence[Ticks], least: int,
                 operations: tuple[str, ...]) -> list[tuple[Sequence[Option], ...]]:
    """``_drawable`` of each melody with its bar's ticks, worked out for all their notes at
    once in numpy (a seed's draws meet their parents a few dozen at a time:
    ``Rule.choices_of``); a melody off the tick grid, or whose bar is no whole number of
    ticks, takes ``_drawable`` itself."""
    out: list[tuple[Sequence[Option], ...] | None] = [None] * len(melodies)
    pitch, ticks, ends = laid_out(melodies)
    rows = list(range(len(melodies)))
    if (ticks < 0).any() or not all(type(b) is int for b in bars):  # (-1: a tick off the grid)
        rows = [i for i, m in enumerate(melodies) if type(bars[i]) is int and m.is_on_grid()]
        for i in sorted(set(range(len(melodies))).difference(rows)):
            out[i] = _drawable(melodies[i], bars[i], least, operations)
        if not rows:
            return cast(list[tuple[Sequence[Option], ...]], out)
        pitch, ticks, ends = laid_out([melodies[i] for i in rows])
    sizes = np.diff(ends, prepend=0)
    first = ends - sizes
    bar = np.repeat(np.asarray([bars[i] for i in rows], dtype=np.int64), sizes)
    running = np.zeros(len(ticks) + 1, dtype=np.int64)  # onsets counted from the first melody's
    np.cumsum(ticks, out=running[1:])
    onset = running[:-1] - np.repeat(running[first], sizes)
    note = np.arange(len(ticks)) - np.repeat(first, sizes)  # index in its melody
    has_next = np.ones(len(ticks), dtype=bool)
    has_next[ends[sizes > 0] - 1] = False
    next_ticks, next_pitch = np.append(ticks[1:], 0), np.append(pitch[1:], -2)
    # the note and the next one inside one bar (``_same_bar``, whole ticks)
    one_bar = has_next & (onset // bar == (onset + ticks + next_ticks - 1) // bar)
    sounding = pitch >= 0
    groups: list[list[Sequence[Option]]] = [[(), (), (), ()] for _ in rows]  # OPS_SORTED
    if "split" in operations:
        parts = np.stack([sounding & (ticks % k == 0) & (ticks // k >= least) for k in (2, 3)], axis=1)
        at, col = np.nonzero(parts)  # in note order, 2 parts before 3
        deal(groups, OPS_SORTED.index("split"), "split", at, note[at], col + 2, ends)
    if "merge" in operations:
        at = np.flatnonzero(one_bar & sounding & (next_pitch == pitch))
        deal(groups, OPS_SORTED.index("merge"), "merge", at, note[at], np.zeros_like(at), ends)
    even = np.flatnonzero(one_bar & (ticks == next_ticks) & (ticks % 2 == 0) & (ticks // 2 >= least))
    for op in ("dot", "syncopate"):
        if op in operations:
            deal(groups, OPS_SORTED.index(op), op, even, note[even], np.zeros_like(even), ends)
    for i, found in zip(rows, groups, strict=True):
        out[i] = tuple(group for group in found if group)
    return cast(list[tuple[Sequence[Option], ...]], out)


OPS_SORTED = tuple(sorted(OPERATIONS))  # the groups' order (``_shape_options``: ops sorted)


def apply_rhythm(melody: Melody, op: str, index: int, parts: int = 2) -> Melody:
    """Apply one rhythm change at note ``index`` (see the module docstring)."""
    p, d = list(melody.pitches), list(melody.ticks)
    i = index
    if op == "split":
        p[i:i + 1] = [p[i]] * parts
        d[i:i + 1] = [scale_ticks(d[i], 1, parts)] * parts
    elif op == "merge":
        if p[i] != p[i + 1]:
            raise ValueError(f"notes {i} and {i + 1} differ in pitch; cannot merge")
        p[i:i + 2] = [p[i]]
        d[i:i + 2] = [exact_ticks(d[i] + d[i + 1])]
    elif op in ("dot", "syncopate"):
        if d[i] != d[i + 1]:
            raise ValueError(f"notes {i} and {i + 1} are not an even pair")
        long, short = scale_ticks(d[i], 3, 2), scale_ticks(d[i], 1, 2)
        d[i], d[i + 1] = (long, short) if op == "dot" else (short, long)
    else:
        raise ValueError(f"unknown rhythm op {op!r}")
    return Melody.from_ticks(tuple(p), tuple(d))


@dataclass(frozen=True)
class Rhythm(Rule):
    """Vary the rhythm (split, merge, dot, syncopate) keeping bars and contour."""

    name = "rhythm"
    changes = frozenset()

    operations: str = "split,merge,dot,syncopate"
    meter: str = "4/4"
    min_duration_quarters: float = 0.25

    def __post_init__(self) -> None:
        self.operation_list()
        parse_meter(self.meter)
        if self.min_duration_quarters <= 0:
            raise ValueError("min_duration_quarters must be > 0")

    def operation_list(self) -> tuple[str, ...]:
        return choice_list(self.operations, OPERATIONS, "operations")

    def choices(self, example: Example) -> Choices | None:
        drawable = _drawable(example.melody, bar_ticks(meter_of(example, self.meter)),
                             least_ticks(self.min_duration_quarters), self.operation_list())
        # Draw the operation first so rare ones (merge) are not swamped by common ones.
        return Choices(drawable, _params) if drawable else None

    def choices_of(self, examples: Sequence[Example]) -> list[Choices | None]:
        if len(examples) < BATCH_FROM:
            return [self.choices(e) for e in examples]
        bars = [bar_ticks(meter_of(e, self.meter)) for e in examples]
        drawable = _drawable_of([e.melody for e in examples], bars,
                                least_ticks(self.min_duration_quarters), self.operation_list())
        return [Choices(groups, _params) if groups else None for groups in drawable]

    def apply(self, melody: Melody, **params: Any) -> Melody:
        return apply_rhythm(melody, str(params["op"]), int(params["index"]),
                            int(params.get("parts", 2)))
