"""Facts about one melody: plain metric functions and the ``MelodyFacts`` record.

Each metric is a pure function with its definition in the docstring (muspy style), so a
check, a prompt rewrite or a report can call exactly the one it needs; ``melody_facts``
gathers them all. Rests are never analysed as pitches. Durations are exact quarter notes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from itertools import compress
from typing import Literal

from .melody import TICKS_PER_QUARTER, Melody, Ticks, exact_ticks
from .theory import DEFAULT_PROFILE, Key, KeyEstimate, detect_keys, mode_fit, mode_steps

Meter = tuple[int, int]
Contour = Literal["level", "ascending", "descending", "arch", "bowl", "wave"]
SIXTEENTH = Fraction(1, 4)


def span_semitones(melody: Melody) -> int:
    """Highest minus lowest sounding pitch (0 for one note or none)."""
    r = melody.pitch_range()
    return 0 if r is None else r[1] - r[0]


def largest_leap_semitones(melody: Melody) -> int:
    """Largest absolute interval between consecutive sounding notes (rests skipped)."""
    return max((abs(i) for i in melody.intervals()), default=0)


def step_share(melody: Melody, max_step_semitones: int = 2) -> float:
    """Share of melodic intervals of at most ``max_step_semitones`` (repeats included):
    conjunct motion. 1.0 when there is no interval."""
    intervals = melody.intervals()
    if not intervals:
        return 1.0
    return sum(abs(i) <= max_step_semitones for i in intervals) / len(intervals)


def repeat_share(melody: Melody) -> float:
    """Share of melodic intervals that repeat the previous pitch (0 semitones)."""
    intervals = melody.intervals()
    return sum(i == 0 for i in intervals) / len(intervals) if intervals else 0.0


def in_scale_rate(melody: Melody, key: Key, minor_alterations: bool = False) -> float:
    """Duration-weighted share of sounding time on pitch classes of ``key``'s scale
    (any mode). With ``minor_alterations`` a minor key's raised 6th and 7th (melodic and
    harmonic minor) count as in the scale. 1.0 for a melody without notes."""
    scale = _scale(key, minor_alterations)
    sums = melody.pitch_class_ticks()
    if sums is not None:  # on the grid: the same int sums, taken per pitch class
        sounding = sum(sums)
        return sum([sums[pc] for pc in scale]) / sounding if sounding else 1.0
    pitches, ticks = melody.pitches, melody.ticks
    # The same sums, note by note in order, taken by sum() over the notes that count (a
    # rest is no key of the table, so get gives None and compress skips it).
    on_scale: dict[int | None, bool] = {p: p % 12 in scale for p in set(melody.notes)}
    on: Ticks = sum(compress(ticks, map(on_scale.get, pitches)))
    total: Ticks = sum(ticks) if None not in pitches else \
        sum(compress(ticks, [p is not None for p in pitches]))
    if not total:
        return 1.0
    # int / int is the correctly rounded ratio, as float(Fraction) is.
    return on / total if type(on) is int and type(total) is int else float(Fraction(on) / total)


@lru_cache(maxsize=256)
def _scale(key: Key, minor_alterations: bool) -> frozenset[int]:
    """The pitch classes ``in_scale_rate`` counts as on the scale of ``key``."""
    scale = set(key.scale_pitch_classes())
    if minor_alterations and key.mode == "minor":
        scale |= {(key.tonic + 9) % 12, (key.tonic + 11) % 12}
    return frozenset(scale)


def contour(melody: Melody) -> tuple[int, ...]:
    """Direction of each melodic interval: +1 up, -1 down, 0 repeat."""
    return tuple((i > 0) - (i < 0) for i in melody.intervals())


def contour_class(melody: Melody, threshold_semitones: int = 3) -> Contour:
    """Coarse shape from first, last, highest and lowest note (t = ``threshold_semitones``):
    'level' (span < t); 'ascending' (ends >= t above its start, within 2 of its top);
    'descending' (ends >= t below its start, within 2 of its bottom); 'arch' (the top
    lies >= t above both ends); 'bowl' (the bottom lies >= t below both ends); else 'wave'."""
    notes = melody.notes
    if not notes or max(notes) - min(notes) < threshold_semitones:
        return "level"
    first, last, hi, lo = notes[0], notes[-1], max(notes), min(notes)
    if last - first >= threshold_semitones and hi - last <= 2:
        return "ascending"
    if first - last >= threshold_semitones and last - lo <= 2:
        return "descending"
    if hi - max(first, last) >= threshold_semitones:
        return "arch"
    if min(first, last) - lo >= threshold_semitones:
        return "bowl"
    return "wave"


def scale_degree(pitch: int, key: Key) -> int | None:
    """Scale degree 1-7 of ``pitch`` in ``key`` (its mode's scale), None if chromatic."""
    steps = mode_steps(key.mode)
    offset = (pitch - key.tonic) % 12
    return steps.index(offset) + 1 if offset in steps else None


def bar_count(melody: Melody, meter: Meter) -> Fraction:
    """Length in bars of ``meter`` = (numerator, denominator): total quarters divided by
    4 * numerator / denominator quarters per bar (a Fraction; whole when bars are complete)."""
    numerator, denominator = meter
    return Fraction(melody.total_ticks) / (Fraction(4 * numerator, denominator) * TICKS_PER_QUARTER)


def grid_share(melody: Melody, grid_quarters: Fraction = SIXTEENTH, triplets: bool = True) -> float:
    """Share of events (notes and rests) whose duration is a whole multiple of
    ``grid_quarters`` or, with ``triplets``, of two thirds of it (the triplet grid:
    1/6 quarter for a 1/4 grid). 1.0 for an empty melody."""
    if not melody.ticks:
        return 1.0
    grids = (grid_quarters, grid_quarters * Fraction(2, 3)) if triplets else (grid_quarters,)
    steps = [exact_ticks(g * TICKS_PER_QUARTER) for g in grids]  # a multiple of g: of g's ticks
    return sum(any(t % step == 0 for step in steps) for t in melody.ticks) / len(melody)


@dataclass(frozen=True, slots=True)
class MelodyFacts:
    """Everything the checks and the prompt rewriter need to know about one melody.

    ``key`` is the given key or else the detected one; ``key_correlation`` is the
    melody's profile fit to that key (-1..1); ``key_margin`` the detection margin to the
    runner-up (None when the key was given). ``bars``/``complete_bars`` are None without a
    meter. ``last_degree`` is the scale degree (1-7, None if chromatic) of the last note.
    """

    key: Key | None
    key_correlation: float | None
    key_margin: float | None
    lowest: int | None
    highest: int | None
    span_semitones: int
    note_count: int
    total_quarters: Fraction
    meter: Meter | None
    bars: Fraction | None
    complete_bars: bool | None
    largest_leap_semitones: int
    step_share: float
    repeat_share: float
    in_scale_rate: float | None
    contour: tuple[int, ...]
    contour_class: Contour
    last_degree: int | None
    ends_on_tonic_triad: bool | None
    grid_share: float


def _facts(melody: Melody, key: Key | None, estimate: KeyEstimate | None, meter: Meter | None,
           grid_quarters: Fraction, profile: str) -> MelodyFacts:
    notes = melody.notes
    key = key if key is not None else (estimate.key if estimate else None)
    has_key = key is not None and bool(notes)
    bars = bar_count(melody, meter) if meter else None
    return MelodyFacts(
        key=key,
        key_correlation=mode_fit(melody, key, profile) if key is not None and notes else None,
        key_margin=estimate.margin if estimate is not None else None,
        lowest=min(notes) if notes else None,
        highest=max(notes) if notes else None,
        span_semitones=span_semitones(melody),
        note_count=len(notes),
        total_quarters=melody.total_quarters,
        meter=meter,
        bars=bars,
        complete_bars=None if bars is None else bars.denominator == 1,
        largest_leap_semitones=largest_leap_semitones(melody),
        step_share=step_share(melody),
        repeat_share=repeat_share(melody),
        in_scale_rate=in_scale_rate(melody, key) if key is not None else None,
        contour=contour(melody),
        contour_class=contour_class(melody),
        last_degree=scale_degree(notes[-1], key) if has_key and key else None,
        ends_on_tonic_triad=(notes[-1] % 12 in key.triad_pitch_classes()) if has_key and key else None,
        grid_share=grid_share(melody, grid_quarters),
    )


def melody_facts(melody: Melody, key: Key | None = None, meter: Meter | None = None,
                 grid_quarters: Fraction = SIXTEENTH, profile: str = DEFAULT_PROFILE) -> MelodyFacts:
    """The facts of one melody; the key is detected (``detect_keys``) unless given."""
    return melody_facts_batch([melody], None if key is None else [key], meter, grid_quarters, profile)[0]


def melody_facts_batch(melodies: Sequence[Melody], keys: Sequence[Key | None] | None = None,
                       meter: Meter | None = None, grid_quarters: Fraction = SIXTEENTH,
                       profile: str = DEFAULT_PROFILE) -> list[MelodyFacts]:
    """``melody_facts`` for a batch: keys not given are detected in one numpy pass."""
    given = list(keys) if keys is not None else [None] * len(melodies)
    todo = [i for i, k in enumerate(given) if k is None]
    estimates: list[KeyEstimate | None] = [None] * len(melodies)
    for i, est in zip(todo, detect_keys([melodies[i] for i in todo], profile), strict=True):
        estimates[i] = est
    return [_facts(m, k, e, meter, grid_quarters, profile)
            for m, k, e in zip(melodies, given, estimates, strict=True)]
