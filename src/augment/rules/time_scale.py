"""Time scaling: augmentation and diminution, every duration multiplied by one factor.

x2 turns eighths into quarters (augmentation), x1/2 quarters into eighths (diminution),
x3/2 turns a duple rhythm into a dotted, triple one (four quarters become four dotted
quarters: a 4/4 bar becomes a 12/8 bar). Pitches are untouched. A factor is drawn only
when every scaled duration stays on the 1/48-quarter grid and inside
``[min_duration_quarters, max_duration_quarters]``. The melody's length in bars, its
perceived tempo and (for x3/2) its meter change; the key does not.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from typing import Any

from ..example import Example
from ..melody import TICKS_PER_QUARTER, Melody, scale_durations
from .base import Choices, Rule
from .diatonic import Meter, fraction_param, fraction_text, least_ticks


def parse_factors(text: str) -> list[Fraction]:
    """'2, 1/2, 3/2' -> [2, 1/2, 3/2]; raises ValueError on a non-positive or bad factor."""
    out = []
    for part in text.split(","):
        try:
            factor = Fraction(part.strip())
        except (ValueError, ZeroDivisionError):  # ("1/0": ZeroDivisionError)
            raise ValueError(f"factor {part.strip()!r} is not a number like 2 or 3/2") from None
        if factor <= 0 or factor == 1:
            raise ValueError(f"factor {part.strip()!r} must be positive and not 1")
        out.append(factor)
    return out


@lru_cache(maxsize=64)
def _factors(text: str) -> tuple[Fraction, ...]:
    return tuple(parse_factors(text))


def scaled_meter(meter: Meter, factor: Fraction) -> Meter | None:
    """The meter that holds one scaled bar: x2 keeps 3/4 as 3/2, x3/2 makes 2/4 into 6/8.

    None when the scaled bar is no conventional time signature. A meter with a fixed
    beat count is kept and only the beat unit changes where possible (x2: 3/4 -> 3/2);
    x3/2 turns simple beats into compound ones (2/4 -> 6/8, 4/4 -> 12/8).
    """
    num, den = meter
    if factor.numerator == 3 and factor.denominator == 2:
        return (num * 3, den * 2) if den * 2 <= 32 else None
    new_den = Fraction(den) / factor
    if new_den.denominator == 1 and int(new_den) in (1, 2, 4, 8, 16, 32):
        return num, int(new_den)
    return None


@lru_cache(maxsize=256)
def _most_ticks(quarters: float) -> int:
    """The most whole ticks within ``quarters`` (read as its decimal text)."""
    return math.floor(Fraction(str(quarters)) * TICKS_PER_QUARTER)


def _factor(factor: Fraction) -> dict[str, Any]:
    return {"factor": fraction_text(factor)}


@dataclass(frozen=True)
class TimeScale(Rule):
    """Augment or diminish every duration by one factor (x2, x1/2, x3/2)."""

    name = "time_scale"
    changes = frozenset({"length", "tempo", "meter"})

    factors: str = "2, 1/2, 3/2"
    min_duration_quarters: float = 0.125
    max_duration_quarters: float = 8.0

    def __post_init__(self) -> None:
        parse_factors(self.factors)
        if not 0 < self.min_duration_quarters <= self.max_duration_quarters:
            raise ValueError("need 0 < min_duration_quarters <= max_duration_quarters")

    def allowed(self, melody: Melody) -> list[Fraction]:
        # A scaled duration is only kept on the grid (whole ticks), so int bounds are exact.
        low = least_ticks(self.min_duration_quarters)
        high = _most_ticks(self.max_duration_quarters)
        distinct = set(melody.ticks)  # a melody has few distinct durations
        out = []
        for f in _factors(self.factors):
            num, den = f.numerator, f.denominator
            if all((t * num) % den == 0 and low <= (t * num) // den <= high for t in distinct):
                out.append(f)
        return out

    def choices(self, example: Example) -> Choices | None:
        return Choices.one_group(self.allowed(example.melody), _factor)

    def apply(self, melody: Melody, **params: Any) -> Melody:
        return scale_durations(melody, fraction_param(params["factor"]))

    @staticmethod
    def derive_meter(meter: Meter, **params: Any) -> Meter | None:
        return scaled_meter(meter, fraction_param(params["factor"]))
