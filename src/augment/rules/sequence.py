"""Sequence: an opening motif repeated a scale step higher or lower, as a theme is spun out.

The motif is the melody's first ``motif_bars`` whole bars (cut where a note ends on the
bar line); it is followed by ``repeats`` copies, each moved by ``steps`` scale steps
inside the key more than the one before (a diatonic sequence: C-D-E | D-E-F | E-F-G).
Chromatic notes keep their alteration, as in ``diatonic_shift``. Every bar keeps its
length and every note stays in the key's scale, but the sequence ends away from where
the motif began, so the key is re-derived from the melody (on the seeds the detector
finds the seed's key for 58% of sequences). The length becomes (1 + repeats) *
motif_bars bars.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from typing import Any

from ..example import Example
from ..melody import Melody
from ..theory import Key
from .base import Choices, Rule, check_pitch_bounds
from .diatonic import (
    bar_quarters,
    fraction_text,
    key_from_params,
    key_params,
    meter_of,
    parse_meter,
    shift_pitch,
)
from .fragment import opening_bars


def make_sequence(motif: Melody, steps: int, repeats: int, key: Any) -> Melody:
    pitches: list[int | None] = list(motif.pitches)
    for r in range(1, repeats + 1):
        pitches += [None if p is None else shift_pitch(p, steps * r, key) for p in motif.pitches]
    return Melody.from_ticks(tuple(pitches), motif.ticks * (1 + max(repeats, 0)))


@dataclass(frozen=True)
class Sequence(Rule):
    """Repeat the opening motif a scale step higher or lower (a diatonic sequence)."""

    name = "sequence"
    changes = frozenset({"length", "key", "mode"})

    max_motif_bars: int = 2
    max_repeats: int = 2
    step_choices: str = "1,-1"
    meter: str = "4/4"
    low_pitch: int = 36
    high_pitch: int = 96

    def __post_init__(self) -> None:
        parse_meter(self.meter)
        if not 1 <= self.max_motif_bars <= 64 or not 1 <= self.max_repeats <= 64:
            raise ValueError("max_motif_bars and max_repeats must be in 1-64")
        check_pitch_bounds(self.low_pitch, self.high_pitch)
        self.step_list()

    def step_list(self) -> list[int]:
        try:
            steps = [int(s) for s in self.step_choices.split(",") if s.strip()]
        except ValueError:
            raise ValueError(f"step_choices must be comma-separated integers, "
                             f"got {self.step_choices!r}") from None
        if not steps or 0 in steps:
            raise ValueError("step_choices must name at least one non-zero step")
        return steps

    def options(self, melody: Melody, key: Key, bar: Fraction) -> list[dict[str, int]]:
        """Every (motif_bars, steps, repeats) whose sequence stays in [low_pitch, high_pitch]."""
        options = []
        for motif_bars in range(1, self.max_motif_bars + 1):
            try:
                motif = opening_bars(melody, motif_bars, bar)
            except ValueError:
                continue
            if len(motif.notes) < 2:
                continue
            lowest, highest = motif.pitch_range() or (0, 0)
            for steps in self.step_list():
                # The range of make_sequence(motif, steps, repeats): shift_pitch keeps the
                # order of notes, so each copy spans its moved lowest and highest note.
                low, high = lowest, highest
                for repeats in range(1, self.max_repeats + 1):
                    low = min(low, shift_pitch(lowest, steps * repeats, key))
                    high = max(high, shift_pitch(highest, steps * repeats, key))
                    if self.low_pitch <= low and high <= self.high_pitch:
                        options.append({"motif_bars": motif_bars, "steps": steps, "repeats": repeats})
        return options

    def choices(self, example: Example) -> Choices | None:
        key = example.key
        if key is None:
            return None
        bar = bar_quarters(meter_of(example, self.meter))
        return Choices.one_group(
            _options(self, example.melody, key, bar),
            lambda chosen: {**chosen, "bar_quarters": fraction_text(bar), **key_params(key)})

    def apply(self, melody: Melody, **params: Any) -> Melody:
        motif = opening_bars(melody, int(params["motif_bars"]), params["bar_quarters"])
        return make_sequence(motif, int(params["steps"]), int(params["repeats"]),
                             key_from_params(params))


@lru_cache(maxsize=64)
def _options(rule: Sequence, melody: Melody, key: Key, bar: Fraction) -> tuple[dict[str, int], ...]:
    """``rule.options``, remembered: the rule comes early, so most variants of a seed that
    spin it out spin out the seed's own melody. ``sample`` copies the option it draws."""
    return tuple(rule.options(melody, key, bar))
