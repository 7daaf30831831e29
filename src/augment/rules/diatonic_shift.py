"""Diatonic shift: every note moves by the same number of scale steps inside the key.

Unlike chromatic transposition the notes stay in the key's scale: C-E-G moved up one
step in C major becomes D-F-A, so a major third becomes a minor third where the scale
says so. The tonal centre moves with the melody, though (a C major tune a step higher
centres on D: Dorian), so the variant's key is re-derived from the melody, not assumed:
on the seeds the detector still finds the seed's key for only 8% of shifted variants.
A chromatic note (outside the key's scale; in minor the raised 6th and 7th count as
chromatic) keeps its alteration above the scale degree it is moved to, with
``chromatic_notes = "keep"``; ``"refuse"`` skips melodies that have any. Only step
counts that keep every note inside ``[low_pitch, high_pitch]`` are drawn.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from ..example import Example
from ..melody import Melody
from ..theory import Key
from .base import Choices, Rule, check_pitch_bounds
from .diatonic import all_in_key, key_from_params, key_params, shift_pitch

CHROMATIC_POLICIES = ("keep", "refuse")


@dataclass(frozen=True)
class DiatonicShift(Rule):
    """Move the melody up or down by scale steps, keeping its notes in the key's scale."""

    name = "diatonic_shift"
    changes = frozenset({"key", "mode"})

    min_steps: int = -4
    max_steps: int = 4
    low_pitch: int = 36
    high_pitch: int = 96
    chromatic_notes: str = "keep"

    def __post_init__(self) -> None:
        if self.chromatic_notes not in CHROMATIC_POLICIES:
            raise ValueError(f"chromatic_notes must be one of {CHROMATIC_POLICIES}, "
                             f"got {self.chromatic_notes!r}")
        if self.min_steps > self.max_steps:
            raise ValueError("min_steps must not exceed max_steps")
        check_pitch_bounds(self.low_pitch, self.high_pitch)
        if not (-75 <= self.min_steps and self.max_steps <= 75):  # 75 scale steps span all 128 pitches
            raise ValueError("min_steps and max_steps must be in -75..75")

    def choices(self, example: Example) -> Choices | None:
        key = example.key
        if key is None or not example.melody.notes:
            return None
        if self.chromatic_notes == "refuse" and not all_in_key(example.melody, key):
            return None
        in_key = key_params(key)
        return Choices.one_group(_options(self, key, example.melody.pitch_range() or (0, 0)),
                                 lambda steps: {"steps": int(steps), **in_key})

    def options(self, key: Key, pitch_range: tuple[int, int]) -> list[int]:
        """The step counts that keep a melody with this pitch range inside [low_pitch, high_pitch]."""
        # shift_pitch never reverses two notes' order, so the lowest and highest notes
        # moved are the moved range (tests/test_ticks.py checks it for every key).
        low, high = pitch_range
        options = []
        for steps in range(self.min_steps, self.max_steps + 1):
            if steps == 0:
                continue
            if self.low_pitch <= shift_pitch(low, steps, key) and \
                    shift_pitch(high, steps, key) <= self.high_pitch:
                options.append(steps)
        return options

    def apply(self, melody: Melody, **params: Any) -> Melody:
        key = key_from_params(params)
        steps = int(params["steps"])
        # Each distinct pitch moved once; a rest (None) is no key of the table, so get keeps it.
        moved: dict[int | None, int] = {p: shift_pitch(p, steps, key) for p in set(melody.notes)}
        return Melody.from_ticks(tuple(map(moved.get, melody.pitches)), melody.ticks)


@lru_cache(maxsize=256)
def _options(rule: DiatonicShift, key: Key, pitch_range: tuple[int, int]) -> tuple[int, ...]:
    """``rule.options``, remembered: the variants of a seed share a few keys and ranges."""
    return tuple(rule.options(key, pitch_range))
