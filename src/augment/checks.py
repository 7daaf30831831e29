"""Theory checks: plain functions, each returns a reason (str) or None.

Every check takes the example and the ``[checks]`` thresholds. The key a check judges
against is the example's own key (the one its prompt states, or the seed's key moved by
the rules). ``CHECKS`` is the explicit registry, in the order the checks run; a name in
``[checks] skip`` turns one off.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from fractions import Fraction

from . import facts
from .config import ChecksConfig
from .example import Example
from .melody import TICKS_PER_QUARTER, Ticks, exact_ticks, quarters_of
from .prompt import parse_claims, stated_key
from .theory import Key, key_correlation_row, key_of_index

Check = Callable[[Example, ChecksConfig], str | None]


def check_pitch_range(example: Example, config: ChecksConfig) -> str | None:
    """Every sounding note lies within [min_pitch, max_pitch]; a melody of only rests fails."""
    r = example.melody.pitch_range()
    if r is None:
        return "pitch_range: melody has no sounding note"
    low, high = r
    if low < config.min_pitch or high > config.max_pitch:
        return (f"pitch_range: notes span {low}-{high}, outside "
                f"{config.min_pitch}-{config.max_pitch}")
    return None


def check_span(example: Example, config: ChecksConfig) -> str | None:
    """Highest minus lowest note is at most max_span_semitones."""
    r = example.melody.pitch_range()
    if r is not None and r[1] - r[0] > config.max_span_semitones:
        return f"span: {r[1] - r[0]} semitones > {config.max_span_semitones}"
    return None


def check_note_count(example: Example, config: ChecksConfig) -> str | None:
    """The number of sounding notes lies within [min_notes, max_notes]."""
    n = len(example.melody.notes)
    if not config.min_notes <= n <= config.max_notes:
        return f"note_count: {n} notes, outside {config.min_notes}-{config.max_notes}"
    return None


def in_scale_rate(example: Example, key: Key) -> float:
    """Duration-weighted share of sounding time on the key's scale, the raised 6th and 7th
    of minor included; 0.0 for a melody without notes."""
    if not example.melody.notes:
        return 0.0
    return facts.in_scale_rate(example.melody, key, minor_alterations=True)


def check_in_scale(example: Example, config: ChecksConfig) -> str | None:
    """At least min_in_scale_rate of the sounding time is on the scale of the example's key."""
    if example.key is None:
        return None
    rate = in_scale_rate(example, example.key)
    if rate < config.min_in_scale_rate:
        return (f"in_scale: {rate:.0%} of the melody is in {example.key.name} "
                f"(< {config.min_in_scale_rate:.0%})")
    return None


def key_gap(example: Example) -> tuple[float, Key, Key] | None:
    """(best key's correlation minus the stated key's, stated key, best key), or None when
    the prompt states no key. 0 means the stated key fits best."""
    claimed = stated_key(example.prompt)
    if claimed is None:
        return None
    corr = key_correlation_row(example.melody.pitch_class_histogram())[0]
    best_index = int(corr.argmax())
    return float(corr[best_index] - corr[key_index(claimed)]), claimed, key_of_index(best_index)


def key_index(key: Key) -> int:
    """The column of ``key`` among the 24 key correlations (``theory.key_of_index``): a mode
    with a major third (major, lydian, mixolydian) is read as its tonic's major key, one
    with a minor third (minor, dorian, phrygian, locrian) as its minor key."""
    return key.tonic + (0 if key.triad_pitch_classes()[1] == (key.tonic + 4) % 12 else 12)


def check_key_agreement(example: Example, config: ChecksConfig) -> str | None:
    """A key stated in the prompt is (nearly) the best-fitting key of the melody.

    Passes when the stated key's profile correlation is within key_tolerance of the best
    key's, or when the best key is the stated key's relative and allow_relative_key is set.
    """
    measured = key_gap(example)
    if measured is None:
        return None
    gap, claimed, best = measured
    if gap <= config.key_tolerance or (config.allow_relative_key and best == claimed.relative):
        return None
    return (f"key_agreement: prompt says {claimed.name}, melody fits {best.name} "
            f"(correlation gap {gap:.2f} > {config.key_tolerance})")


def check_largest_leap(example: Example, config: ChecksConfig) -> str | None:
    """No interval between consecutive notes exceeds max_leap_semitones."""
    intervals = example.melody.intervals()
    largest = max(map(abs, intervals)) if intervals else None
    if largest is not None and largest > config.max_leap_semitones:
        return f"largest_leap: {largest} semitones > {config.max_leap_semitones}"
    return None


def unrecovered_leaps(intervals: tuple[int, ...], leap_semitones: int) -> int:
    """How many leaps (|interval| > leap_semitones) are followed by more motion the same way.

    A leap is recovered when the next motion that is not a repeated note turns back; a
    leap at the very end is not counted.
    """
    count = 0
    waiting = 0  # the last leap, while no motion has followed it (0: none waits)
    for step in intervals:
        if step == 0:
            continue  # a repeated note: no motion
        if waiting and step * waiting > 0:
            count += 1
        waiting = step if abs(step) > leap_semitones else 0
    return count


def check_leap_recovery(example: Example, config: ChecksConfig) -> str | None:
    """At most max_unrecovered_leaps large leaps continue in their own direction."""
    count = unrecovered_leaps(example.melody.intervals(), config.leap_semitones)
    if count > config.max_unrecovered_leaps:
        return (f"leap_recovery: {count} leaps over {config.leap_semitones} semitones are not "
                f"answered by motion the other way (> {config.max_unrecovered_leaps})")
    return None


def longest_repeat_run(pitches: tuple[int, ...]) -> int:
    """Length of the longest run of the same pitch sounded again and again."""
    best = 1 if pitches else 0
    run = 0
    previous = None
    for p in pitches:
        if p == previous:
            run += 1
            if run > best:
                best = run
        else:
            run = 1
            previous = p
    return best


def check_repeated_notes(example: Example, config: ChecksConfig) -> str | None:
    """No pitch is struck more than max_repeated_notes times in a row."""
    run = longest_repeat_run(example.melody.notes)
    if run > config.max_repeated_notes:
        return f"repeated_notes: a pitch repeats {run} times in a row (> {config.max_repeated_notes})"
    return None


@functools.lru_cache(maxsize=64)
def _rhythm_grid(grid_per_quarter: tuple[int, ...], low: float, high: float
                 ) -> tuple[tuple[bool, ...], int, int, Fraction, Fraction]:
    """(on-grid flag of each whole tick count mod 48, lowest and highest whole ticks, low
    and high quarters) of the check.

    A duration of t ticks (t/48 quarter) is a multiple of 1/g quarter exactly when 48
    divides t * g, which depends on t mod 48 only; a whole tick count lies in [low, high]
    quarters exactly when it lies in [ceil(48 low), floor(48 high)].
    """
    on_grid = tuple(any((r * g) % TICKS_PER_QUARTER == 0 for g in grid_per_quarter)
                    for r in range(TICKS_PER_QUARTER))
    low_q, high_q = Fraction(low), Fraction(high)
    return (on_grid, math.ceil(low_q * TICKS_PER_QUARTER), math.floor(high_q * TICKS_PER_QUARTER),
            low_q, high_q)


def check_rhythm_grid(example: Example, config: ChecksConfig) -> str | None:
    """Every duration is a multiple of 1/d quarter for some d in rhythm_grid_per_quarter,
    and lies within [min_duration_quarter, max_duration_quarter]."""
    grid = tuple(config.rhythm_grid_per_quarter)
    on_grid, lowest, highest, low, high = _rhythm_grid(grid, config.min_duration_quarter,
                                                       config.max_duration_quarter)
    ticks = example.melody.ticks
    if all(type(t) is int and on_grid[t % TICKS_PER_QUARTER] and lowest <= t <= highest
           for t in set(ticks)):  # each distinct duration once
        return None
    for index, t in enumerate(ticks, start=1):  # the first failing note, exactly
        d = quarters_of(t)
        if not any((d * g).denominator == 1 for g in grid):
            return f"rhythm_grid: note {index} lasts {d} quarter, off the rhythm grid"
        if not low <= d <= high:
            return f"rhythm_grid: note {index} lasts {d} quarter, outside {low}-{high}"
    return None


def check_cadence(example: Example, config: ChecksConfig) -> str | None:
    """The last sounding note is a tone of the tonic triad of the example's key."""
    if example.key is None or not example.melody.notes:
        return None
    key = example.key
    last = example.melody.notes[-1]
    if last % 12 not in cadence_pitch_classes(key, config.cadence_tonic_only):
        return f"cadence: ends on pitch class {last % 12}, not on the tonic triad of {key.name}"
    return None


def cadence_pitch_classes(key: Key, tonic_only: bool = False) -> frozenset[int]:
    """The pitch classes a melody in ``key`` may end on: its tonic triad, built from the
    mode's own 1st, 3rd and 5th degrees (C mixolydian: C E G; B locrian: B D F), or the
    tonic alone."""
    return frozenset({key.tonic} if tonic_only else key.triad_pitch_classes())


def check_claims(example: Example, config: ChecksConfig) -> str | None:
    """Every meter and length the prompt claims is true of the melody.

    A stated meter: the melody fills whole bars of it (of at least one, where the words
    allow several, e.g. "in three"). "N bars": exactly N bars of the stated meter (4/4 when
    none is stated). "N notes": exactly N sounding notes.
    """
    claims = parse_claims(example.prompt or "")
    total = example.melody.total_ticks
    options = sorted(claims.meter_options or ())
    fits = [m for m in options if total % _bar_ticks(m) == 0]
    if options and not fits:
        return (f"claims: the prompt says {' or '.join(options)} but {quarters_of(total)} quarters "
                "are not whole bars")
    if claims.bars is not None:
        meter = fits[0] if len(fits) == 1 else "4/4" if not options else None
        if meter is not None and total != claims.bars * _bar_ticks(meter):
            return (f"claims: the prompt says {claims.bars} bars but the melody has "
                    f"{Fraction(total) / _bar_ticks(meter)} bars of {meter}")
    if claims.notes is not None and claims.notes != len(example.melody.notes):
        return f"claims: the prompt says {claims.notes} notes but the melody has {len(example.melody.notes)}"
    return None


@functools.lru_cache(maxsize=256)
def _bar_ticks(meter: str) -> Ticks:
    num, den = meter.split("/")
    return exact_ticks(Fraction(4 * int(num), int(den)) * TICKS_PER_QUARTER)


CHECKS: dict[str, Check] = {
    "pitch_range": check_pitch_range,
    "span": check_span,
    "note_count": check_note_count,
    "in_scale": check_in_scale,
    "key_agreement": check_key_agreement,
    "largest_leap": check_largest_leap,
    "leap_recovery": check_leap_recovery,
    "repeated_notes": check_repeated_notes,
    "rhythm_grid": check_rhythm_grid,
    "cadence": check_cadence,
    "claims": check_claims,
}


def failing_checks(example: Example, config: ChecksConfig) -> list[tuple[str, str]]:
    """(check name, reason) for every failing check that is not skipped."""
    failed = []
    for name, check in CHECKS.items():
        if name in config.skip:
            continue
        reason = check(example, config)
        if reason is not None:
            failed.append((name, reason))
    return failed


def run_checks(example: Example, config: ChecksConfig) -> list[str]:
    """Reasons from every failing check that is not skipped (empty when the example passes)."""
    return [reason for _, reason in failing_checks(example, config)]
