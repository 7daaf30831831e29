"""Check calibration: the distribution of every check's measure over a set of examples,
and the thresholds it suggests (by default the 2nd/98th percentile, on the side the check
bounds). A suggestion is where the given melodies sit; it is a starting point for
``[checks]``, printed as a TOML table by ``augment calibrate``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from typing import Literal

import numpy as np

from .checks import in_scale_rate, key_gap, longest_repeat_run, unrecovered_leaps
from .config import ChecksConfig
from .example import Example


@dataclass(frozen=True)
class Measure:
    """What a check measures, which ``[checks]`` parameter bounds it, and from which side."""

    param: str
    bound: Literal["min", "max"]
    measure: Callable[[Example, ChecksConfig], float | None]
    integer: bool = False


def _low(e: Example, c: ChecksConfig) -> float | None:
    r = e.melody.pitch_range()
    return None if r is None else r[0]


def _high(e: Example, c: ChecksConfig) -> float | None:
    r = e.melody.pitch_range()
    return None if r is None else r[1]


def _span(e: Example, c: ChecksConfig) -> float | None:
    r = e.melody.pitch_range()
    return None if r is None else r[1] - r[0]


def _leap(e: Example, c: ChecksConfig) -> float | None:
    intervals = e.melody.intervals()
    return max(abs(i) for i in intervals) if intervals else None


MEASURES: dict[str, Measure] = {
    "lowest_pitch": Measure("min_pitch", "min", _low, True),
    "highest_pitch": Measure("max_pitch", "max", _high, True),
    "span_semitones": Measure("max_span_semitones", "max", _span, True),
    "notes_min": Measure("min_notes", "min", lambda e, c: len(e.melody.notes), True),
    "notes_max": Measure("max_notes", "max", lambda e, c: len(e.melody.notes), True),
    "in_scale_rate": Measure("min_in_scale_rate", "min",
                             lambda e, c: None if e.key is None else in_scale_rate(e, e.key)),
    "key_gap": Measure("key_tolerance", "max",
                       lambda e, c: None if (g := key_gap(e)) is None else g[0]),
    "largest_leap_semitones": Measure("max_leap_semitones", "max", _leap, True),
    "unrecovered_leaps": Measure("max_unrecovered_leaps", "max",
                                 lambda e, c: unrecovered_leaps(e.melody.intervals(),
                                                                c.leap_semitones), True),
    "repeated_run": Measure("max_repeated_notes", "max",
                            lambda e, c: longest_repeat_run(e.melody.notes), True),
    "shortest_quarter": Measure("min_duration_quarter", "min",
                                lambda e, c: float(min(e.melody.durations))),
    "longest_quarter": Measure("max_duration_quarter", "max",
                               lambda e, c: float(max(e.melody.durations))),
}

_FLOAT_PARAMS = {f.name for f in fields(ChecksConfig) if isinstance(f.default, float)}


@dataclass(frozen=True)
class Distribution:
    name: str
    param: str
    count: int
    minimum: float
    p2: float
    median: float
    p98: float
    maximum: float
    current: float
    suggested: float


def calibrate_checks(examples: Sequence[Example], config: ChecksConfig = ChecksConfig(),
                     low_percentile: float = 2.0, high_percentile: float = 98.0
                     ) -> list[Distribution]:
    out = []
    for name, m in MEASURES.items():
        values = [v for e in examples if (v := m.measure(e, config)) is not None]
        if not values:
            continue
        arr = np.asarray(values, dtype=float)
        p2, median, p98 = np.percentile(arr, [low_percentile, 50, high_percentile])
        suggested = float(p2 if m.bound == "min" else p98)
        if m.integer:
            suggested = float(np.floor(suggested) if m.bound == "min" else np.ceil(suggested))
        else:
            suggested = round(suggested, 3)
        out.append(Distribution(name, m.param, len(values), float(arr.min()), float(p2),
                                float(median), float(p98), float(arr.max()),
                                float(getattr(config, m.param)), suggested))
    return out


def as_toml(distributions: Sequence[Distribution]) -> str:
    """A ``[checks]`` table with the suggested thresholds (one line per bounded parameter)."""
    lines = ["[checks]"]
    for d in distributions:
        value: float | int = d.suggested if d.param in _FLOAT_PARAMS else int(d.suggested)
        lines.append(f"{d.param} = {value}  # {d.name}: median {d.median:g}, "
                     f"range {d.minimum:g}-{d.maximum:g} over {d.count}")
    return "\n".join(lines)
