"""The theory checks of a whole batch of examples at once: ``run_checks_batch``.

A seed's thousands of variants are judged by one compiled loop (numba) over their melodies
as flat arrays, instead of ~30 us of Python each. The loop only answers, per check, "surely
passes"; every check it cannot vouch for runs as the Python check itself, which gives the
exact reason. So the result is ``[run_checks(e, config) for e in examples]`` exactly, by
construction:

- the integer checks (range, span, note count, in-scale share, leaps, leap recovery,
  repeated notes, rhythm grid, cadence) are the same integer arithmetic as the Python
  checks, and the in-scale share the same correctly rounded int / int division;
- key agreement is float arithmetic in another order than numpy's, so the loop vouches
  for it only with a margin (``KEY_MARGIN``, ~10^6 times any rounding difference) and
  an unambiguous best key; anything closer goes to the exact check;
- the prompt's claims (meter, bars, notes) are checked by the Python check itself;
- a melody off the tick grid, or a check registry changed at run time, is checked the
  Python way.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable, Sequence
from functools import lru_cache

import numpy as np

from . import checks, compiled
from .config import ChecksConfig
from .example import Example
from .facts import _scale
from .melody import TICKS_PER_QUARTER, GridArrays, Melody
from .prompt import parse_claims, stated_key
from .theory import DEFAULT_PROFILE, Key, _matrix

# Batches smaller than this are checked the Python way while numba is not yet imported:
# its import and loading the loop (~0.3 s, once a process) would outweigh what the loop
# saves on a few dozen examples. A run that will hash many variants for near-duplicate
# dedup imports numba before its pool starts (``near.load_compiled``), and from then on every
# batch takes the loop; a small run checks and hashes without it.
MIN_BATCH = 64

# How far inside the key-agreement threshold (and ahead of the runner-up key) the loop's
# float arithmetic must land to vouch for a pass; the exact check decides the rest.
KEY_MARGIN = 1e-9

# The built-in checks, as the loop knows them: another function under one of these names
# (or another name) in ``checks.CHECKS`` sends every example through the Python checks.
_KNOWN = ("pitch_range", "span", "note_count", "in_scale", "key_agreement", "largest_leap",
          "leap_recovery", "repeated_notes", "rhythm_grid", "cadence", "claims")
_BUILT_IN = {name: checks.CHECKS[name] for name in _KNOWN}
_IN_ORDER = tuple(_BUILT_IN.values())  # checks.CHECKS's order, which _KNOWN follows
CLAIMS = _KNOWN.index("claims")
ALL = (1 << len(_KNOWN)) - 1  # the loop did not judge the example: every check in Python


def run_checks_batch(examples: Sequence[Example], config: ChecksConfig,
                     grid: GridArrays | None = None) -> list[list[str]]:
    """``[checks.run_checks(e, config) for e in examples]``, the same lists, most of them
    decided by one compiled pass. ``grid``: the examples' melodies laid out already.

    For each example the loop marks the checks it cannot vouch for (``doubts``); only
    those, and ``claims`` when the prompt claims something, are run in Python, in the
    order of ``checks.CHECKS``: a check the loop vouches for gives no reason there."""
    if dict(checks.CHECKS) != _BUILT_IN or len(examples) < MIN_BATCH and "numba" not in sys.modules:
        return [checks.run_checks(e, config) for e in examples]
    doubt = doubts(examples, config, grid)
    claims = "claims" not in config.skip
    out: list[list[str]] = []
    for e, mask in zip(examples, doubt.tolist(), strict=True):
        if mask == ALL:
            out.append(checks.run_checks(e, config))
            continue
        if claims and _claims_something(e.prompt):
            mask |= 1 << CLAIMS
        reasons = []
        if mask:
            for bit, check in enumerate(_IN_ORDER):
                if mask >> bit & 1:
                    reason = check(e, config)
                    if reason is not None:
                        reasons.append(reason)
        out.append(reasons)
    return out


def surely_passing(examples: Sequence[Example], config: ChecksConfig,
                   grid: GridArrays | None = None) -> np.ndarray:
    """Per example: True when the compiled loop shows it passes every check but ``claims``
    (skipped checks count as passed); False when it fails one or the loop cannot tell."""
    return doubts(examples, config, grid) == 0


def doubts(examples: Sequence[Example], config: ChecksConfig, grid: GridArrays | None = None
           ) -> np.ndarray:
    """Per example, a bit mask over ``_KNOWN``: bit k set when the compiled loop cannot show
    that check k passes (it fails, or the loop cannot tell); ``ALL`` when the loop does not
    judge the example at all (a melody off the tick grid or without a sounding note). The
    ``claims`` bit is never set here, and skipped checks never. ``grid``: the examples'
    melodies laid out already (``GridArrays.of``)."""
    n = len(examples)
    on_grid = np.ones(n, dtype=bool)
    if grid is None:
        grid = GridArrays.of([e.melody for e in examples])
    if grid is None:  # a duration off the grid: those melodies go the Python way
        melodies = [e.melody for e in examples]
        on_grid = np.fromiter((m.is_on_grid() for m in melodies), bool, n)
        grid = GridArrays.of([m if ok else _SILENT for m, ok in zip(melodies, on_grid.tolist(), strict=True)])
        assert grid is not None
    pitches, ticks, starts = grid.pitches, grid.ticks, grid.starts
    keys = np.array([_key_masks(e.key, config.cadence_tonic_only) for e in examples],
                    dtype=np.int64).reshape(n, 2)
    claimed = np.array([_claimed(e.prompt) for e in examples], dtype=np.int64).reshape(n, 2)
    on_grid_mod, lowest, highest = _grid(tuple(config.rhythm_grid_per_quarter),
                                         config.min_duration_quarter, config.max_duration_quarter)
    skip = set(config.skip)
    enabled = np.array([name not in skip for name in _KNOWN], dtype=np.bool_)
    doubt = np.zeros(n, dtype=np.int64)
    _compiled()(pitches, ticks, starts, keys, claimed,
                _matrix(DEFAULT_PROFILE, ("major", "minor")), on_grid_mod, enabled,
                np.array([config.min_pitch, config.max_pitch, config.max_span_semitones,
                          config.min_notes, config.max_notes, config.max_leap_semitones,
                          config.leap_semitones, config.max_unrecovered_leaps,
                          config.max_repeated_notes, lowest, highest,
                          int(config.allow_relative_key)], dtype=np.int64),
                np.array([config.min_in_scale_rate, config.key_tolerance, KEY_MARGIN]), doubt)
    doubt[~on_grid] = ALL
    return doubt


_SILENT = Melody.from_ticks((), ())  # stands in for a melody off the grid (not judged here)


@lru_cache(maxsize=256)
def _key_masks(key: Key | None, tonic_only: bool) -> tuple[int, int]:
    """(in-scale pitch classes, cadence pitch classes) of ``key`` as 12-bit masks; (-1, -1)
    without a key (both checks then pass)."""
    if key is None:
        return -1, -1
    scale = _scale(key, True)  # as checks.check_in_scale reads a key (facts.in_scale_rate)
    triad = checks.cadence_pitch_classes(key, tonic_only)
    return sum(1 << pc for pc in scale), sum(1 << pc for pc in triad)


@lru_cache(maxsize=4096)
def _claimed(prompt: str | None) -> tuple[int, int]:
    """(index in the 24 key correlations of the key the prompt states, index of that key's
    relative), as ``checks.key_gap`` reads them; (-1, -1) when the prompt states no key."""
    key = stated_key(prompt)
    if key is None:
        return -1, -1
    relative = key.relative  # a major or minor key (a church mode's: its parent major)
    return checks.key_index(key), checks.key_index(relative)


@lru_cache(maxsize=4096)
def _claims_something(prompt: str | None) -> bool:
    """Whether the prompt claims a meter, a bar count or a note count (else ``check_claims``
    has nothing to check)."""
    c = parse_claims(prompt or "")
    return bool(c.meter_options) or c.bars is not None or c.notes is not None


@lru_cache(maxsize=64)
def _grid(grid_per_quarter: tuple[int, ...], low: float, high: float) -> tuple[np.ndarray, int, int]:
    """``checks._rhythm_grid`` as arrays: on-grid flag per tick count mod 48, and the lowest
    and highest whole tick counts allowed."""
    on_grid, lowest, highest, _, _ = checks._rhythm_grid(grid_per_quarter, low, high)
    return np.array(on_grid, dtype=np.bool_), lowest, highest


def _loop(pitches: np.ndarray, ticks: np.ndarray, starts: np.ndarray, keys: np.ndarray,
          claimed: np.ndarray, matrix: np.ndarray, on_grid: np.ndarray, enabled: np.ndarray,
          ints: np.ndarray, floats: np.ndarray, doubt: np.ndarray) -> None:
    """``doubt[i]``: the bits (``_KNOWN`` order) of the enabled checks but claims that
    example i may fail (see ``doubts``). ``ints`` and ``floats`` hold the thresholds in the
    order ``doubts`` writes them. Compiled by numba."""
    min_pitch, max_pitch, max_span, min_notes, max_notes = ints[0], ints[1], ints[2], ints[3], ints[4]
    max_leap, leap, max_unrecovered, max_repeats = ints[5], ints[6], ints[7], ints[8]
    lowest, highest, allow_relative = ints[9], ints[10], ints[11]
    min_rate, tolerance, margin = floats[0], floats[1], floats[2]
    notes = np.empty(pitches.shape[0] + 1, dtype=np.int64)
    pc_ticks = np.zeros(12, dtype=np.int64)
    hist = np.zeros(12, dtype=np.float64)
    every = (1 << enabled.shape[0]) - 1
    for i in range(starts.shape[0] - 1):
        bits = 0
        count = 0
        pc_ticks[:] = 0
        for j in range(starts[i], starts[i + 1]):
            t = ticks[j]
            if not (on_grid[t % 48] and lowest <= t <= highest):
                bits |= 1 << 8  # rhythm_grid
            p = pitches[j]
            if p >= 0:
                notes[count] = p
                count += 1
                pc_ticks[p % 12] += t
        if count == 0:  # no sounding note: rare, and left to the Python checks
            doubt[i] = every
            continue
        low = high = notes[0]
        longest = 1
        run = 1
        largest = 0
        for j in range(count):
            v = notes[j]
            low = min(low, v)
            high = max(high, v)
            if j > 0:
                step = abs(v - notes[j - 1])
                largest = max(largest, step)
                if v == notes[j - 1]:
                    run += 1
                    longest = max(longest, run)
                else:
                    run = 1
        if low < min_pitch or high > max_pitch:
            bits |= 1 << 0  # pitch_range
        if high - low > max_span:
            bits |= 1 << 1  # span
        if not (min_notes <= count <= max_notes):
            bits |= 1 << 2  # note_count
        if count > 1 and largest > max_leap:
            bits |= 1 << 5  # largest_leap
        if longest > max_repeats:
            bits |= 1 << 7  # repeated_notes
        unrecovered = 0
        following = 0  # the next interval that is not a repeat, after the one at j
        for j in range(count - 1, 0, -1):
            step = notes[j] - notes[j - 1]
            if abs(step) > leap and following * step > 0:
                unrecovered += 1
            if step != 0:
                following = step
        if unrecovered > max_unrecovered:
            bits |= 1 << 6  # leap_recovery
        scale, triad = keys[i, 0], keys[i, 1]
        if scale >= 0:
            sounding = 0
            on = 0
            for pc in range(12):
                sounding += pc_ticks[pc]
                if (scale >> pc) & 1:
                    on += pc_ticks[pc]
            rate = on / sounding if sounding else 1.0
            if rate < min_rate:
                bits |= 1 << 3  # in_scale
        if triad >= 0 and not (triad >> (notes[count - 1] % 12)) & 1:
            bits |= 1 << 9  # cadence
        stated, relative = claimed[i, 0], claimed[i, 1]
        if stated >= 0:
            mean = 0.0
            for pc in range(12):
                hist[pc] = pc_ticks[pc] / 48.0
                mean += hist[pc]
            mean /= 12.0
            norm = 0.0
            for pc in range(12):
                hist[pc] -= mean
                norm += hist[pc] * hist[pc]
            norm = math.sqrt(norm)
            if norm == 0.0:
                norm = 1.0
            best = 0
            best_value = -math.inf
            second = -math.inf
            claimed_value = 0.0
            for k in range(24):
                value = 0.0
                for pc in range(12):
                    value += hist[pc] / norm * matrix[k, pc]
                if k == stated:
                    claimed_value = value
                if value > best_value:
                    second = best_value
                    best_value = value
                    best = k
                elif value > second:
                    second = value
            fits = best_value - claimed_value <= tolerance - margin
            rescued = allow_relative and best == relative and best_value - second > margin
            if not (fits or rescued):
                bits |= 1 << 4  # key_agreement
        for k in range(enabled.shape[0]):
            if not enabled[k]:
                bits &= ~(1 << k)
        doubt[i] = bits


@lru_cache(maxsize=1)
def _compiled() -> Callable[..., None]:
    """``_loop`` compiled for this machine (``compiled.njit``)."""
    return compiled.njit(_loop)


assert TICKS_PER_QUARTER == 48  # the loop's ``t % 48`` and ``/ 48.0``
