"""Helpers for a rule's ``choices_of`` worked out in numpy over many melodies at once (the
ornament and rhythm rules): the melodies' notes laid out as int columns, and each
melody's options of one kind kept as slices of the result columns, made into tuples only
where a draw reads them."""

from __future__ import annotations

from array import array
from collections.abc import Sequence
from itertools import chain
from typing import Any, overload

import numpy as np

from ..melody import Melody

# Fewer parents than this take the rule's own ``choices`` one by one in ``choices_of``: the
# numpy pass costs ~0.3 ms whatever its size, more than a few parents' choices in Python
# (rhythm ~60 us a parent one by one against 301 / 132 / 74 / 39 us in batches of
# 1 / 4 / 8 / 16; ornament alike; scratch timing, thirty-fourth round in
# benchmarks/HISTORY.md). The choices are the same either way (tests/test_choices.py).
BATCH_FROM = 8

# An option as (kind, note index, a number: the ornament's pitch, the rhythm split's parts).
Option = tuple[str, int, int]


def ints(values: list[Any]) -> np.ndarray:
    """The values as int64, -1 for any that is no int (a rest's None, a duration off the
    grid): ``array('q')`` takes ints in one C pass and refuses anything else."""
    try:
        return np.frombuffer(array("q", values), np.int64)
    except TypeError:
        return np.fromiter((x if type(x) is int else -1 for x in values), np.int64, len(values))


def laid_out(melodies: Sequence[Melody]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every note's pitch (-1 for a rest) and ticks (-1 off the grid), back to back, and
    where each melody ends."""
    pitch = ints(list(chain.from_iterable([m.pitches for m in melodies])))
    ticks = ints(list(chain.from_iterable([m.ticks for m in melodies])))
    return pitch, ticks, np.cumsum([len(m.pitches) for m in melodies], dtype=np.int64)


class ArrayOptions(Sequence[Option]):
    """The options of one kind at one melody's notes, ``(kind, notes[i], values[i])``, made
    when read: the walk lays a parent's options out by their count, and draws few of them
    (a melody has a hundred or so, and a million-example run meets ~250,000 parents)."""

    __slots__ = ("kind", "notes", "values")

    def __init__(self, kind: str, notes: np.ndarray, values: np.ndarray) -> None:
        self.kind, self.notes, self.values = kind, notes, values

    def __len__(self) -> int:
        return len(self.notes)

    @overload
    def __getitem__(self, i: int) -> Option: ...

    @overload
    def __getitem__(self, i: slice) -> list[Option]: ...

    def __getitem__(self, i: int | slice) -> Option | list[Option]:
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(len(self)))]
        return (self.kind, int(self.notes[i]), int(self.values[i]))

    def __repr__(self) -> str:
        return f"ArrayOptions({list(self)!r})"


def deal(out: list[list[Sequence[Option]]], group: int, kind: str, at: np.ndarray, notes: np.ndarray,
         values: np.ndarray, ends: np.ndarray) -> None:
    """The options (``kind``, notes[k], values[k]) of the events ``at`` (ascending, across
    the melodies ending at ``ends``) to their melodies' ``group``."""
    if not len(at):
        return
    owner = np.searchsorted(ends, at, side="right")
    cuts = np.flatnonzero(np.diff(owner)) + 1
    firsts = np.r_[0, cuts].tolist()
    lasts = np.r_[cuts, len(at)].tolist()
    for k, lo, hi in zip(owner[firsts].tolist(), firsts, lasts, strict=True):
        out[k][group] = ArrayOptions(kind, notes[lo:hi], values[lo:hi])
