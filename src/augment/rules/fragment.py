"""Fragment: the melody's opening phrase, cut at a bar line.

The first ``bars`` whole bars, cut only where a note ends exactly on the bar line (no
note is shortened), as a composer quotes the head of a theme. Only cuts of at least
``min_bars`` bars that leave something out are drawn. Bars are measured with the
example's meter fact when known, else ``meter``; the melody is assumed to start on a
downbeat. The length changes; the key and meter are those of the seed.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from typing import Any

from ..example import Example
from ..melody import Melody
from .base import Choices, Rule
from .diatonic import (
    bar_cuts,
    bar_quarters,
    fraction_param,
    fraction_text,
    meter_of,
    onset_ticks,
    parse_meter,
    quarters_to_ticks,
)


def opening_bars(melody: Melody, bars: int, bar_quarters_: Any) -> Melody:
    """The notes that fill the first ``bars`` bars exactly; ValueError if none end there."""
    end = bars * fraction_param(bar_quarters_)
    times = onset_ticks(melody)
    end_t = quarters_to_ticks(end)
    if end_t not in times[1:]:
        raise ValueError(f"no note ends at bar line {bars} ({end} quarters)")
    n = times.index(end_t)
    return Melody.from_ticks(melody.pitches[:n], melody.ticks[:n])


@dataclass(frozen=True)
class Fragment(Rule):
    """Keep only an opening phrase of whole bars."""

    name = "fragment"
    changes = frozenset({"length"})

    min_bars: int = 2
    meter: str = "4/4"

    def __post_init__(self) -> None:
        parse_meter(self.meter)
        if self.min_bars < 1:
            raise ValueError("min_bars must be >= 1")

    def choices(self, example: Example) -> Choices | None:
        bar = bar_quarters(meter_of(example, self.meter))
        return Choices.one_group(_options(self, example.melody, bar),
                                 lambda bars: {"bars": bars, "bar_quarters": fraction_text(bar)})

    def options(self, melody: Melody, bar: Fraction) -> list[int]:
        """Every bar count at which the melody can be cut: at least ``min_bars``, leaving
        something out, keeping a note."""
        times, bar_t = onset_ticks(melody), quarters_to_ticks(bar)
        options = []
        for n in bar_cuts(melody, bar):
            bars = int(times[n] // bar_t)
            if bars >= self.min_bars and n < len(melody) and melody.pitches[:n].count(None) < n:
                options.append(bars)
        return options

    def apply(self, melody: Melody, **params: Any) -> Melody:
        return opening_bars(melody, int(params["bars"]), params["bar_quarters"])


@lru_cache(maxsize=64)
def _options(rule: Fragment, melody: Melody, bar: Fraction) -> tuple[int, ...]:
    """``rule.options``, remembered: the rule comes first, so most variants of a seed that
    cut it cut the seed's own melody."""
    return tuple(rule.options(melody, bar))
