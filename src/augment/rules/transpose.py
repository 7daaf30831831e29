"""Chromatic transposition: every note moves by the same number of semitones.

Only offsets that keep every note inside ``[low_pitch, high_pitch]`` are drawn. With
``even_keys`` the target key is drawn uniformly over all twelve tonics first (then the
nearest octave placement that fits), so variants spread over every key instead of
clustering near the seed's.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from ..example import Example
from ..melody import Melody, transpose, transposition_range
from ..theory import Key
from .base import Choices, Rule, check_pitch_bounds


@dataclass(frozen=True)
class Transpose(Rule):
    """Move the whole melody up or down by a number of semitones."""

    name = "transpose"
    changes = frozenset({"key"})

    min_semitones: int = -6
    max_semitones: int = 6
    low_pitch: int = 36
    high_pitch: int = 96
    even_keys: bool = False

    def __post_init__(self) -> None:
        if not -127 <= self.min_semitones <= self.max_semitones <= 127:
            raise ValueError("need -127 <= min_semitones <= max_semitones <= 127")
        check_pitch_bounds(self.low_pitch, self.high_pitch)

    def candidates(self, melody: Melody) -> list[int]:
        fits = transposition_range(melody, self.low_pitch, self.high_pitch)
        return [k for k in range(self.min_semitones, self.max_semitones + 1)
                if k != 0 and k in fits]

    def options(self, melody: Melody) -> list[int]:
        """The offsets a draw chooses from: the candidates, or with ``even_keys`` the one
        nearest offset to each pitch class among them."""
        options = self.candidates(melody)
        if self.even_keys:
            by_class: dict[int, int] = {}
            for k in sorted(options, key=abs):
                by_class.setdefault(k % 12, k)
            options = sorted(by_class.values())
        return options

    def choices(self, example: Example) -> Choices | None:
        return Choices.one_group(_options(self, example.melody.pitch_range()), _semitones)

    def apply(self, melody: Melody, **params: Any) -> Melody:
        return transpose(melody, int(params["semitones"]))

    def derive_key(self, key: Key | None, **params: Any) -> Key | None:
        return None if key is None else key.transposed(int(params["semitones"]))


def _semitones(offset: int) -> dict[str, Any]:
    return {"semitones": int(offset)}


@lru_cache(maxsize=256)
def _options(rule: Transpose, pitch_range: tuple[int, int] | None) -> tuple[int, ...]:
    """``rule.options`` of any melody with this pitch range (sounding notes lowest and
    highest), remembered: they depend on nothing else (``transposition_range``), and the
    variants of a seed share a few ranges. Worked out on a stand-in of two notes."""
    return tuple(rule.options(Melody.from_ticks(pitch_range or (), (1, 1) if pitch_range else ())))
