"""Chromatic transposition: every note moves by the same number of semitones.

Only offsets that keep every note inside ``[low_pitch, high_pitch]`` are drawn. With
``even_keys`` the target key is drawn uniformly over all twelve tonics first (then the
nearest octave placement that fits), so variants spread over every key instead of
clustering near the seed's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..example import Example
from ..melody import Melody, transpose, transposition_range
from ..theory import Key
from .base import Rule


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

    def candidates(self, melody: Melody) -> list[int]:
        fits = transposition_range(melody, self.low_pitch, self.high_pitch)
        return [k for k in range(self.min_semitones, self.max_semitones + 1)
                if k != 0 and k in fits]

    def sample(self, example: Example, rng: np.random.Generator) -> dict[str, Any] | None:
        options = self.candidates(example.melody)
        if not options:
            return None
        if self.even_keys:
            by_class: dict[int, int] = {}
            for k in sorted(options, key=abs):
                by_class.setdefault(k % 12, k)
            options = sorted(by_class.values())
        return {"semitones": int(options[int(rng.integers(len(options)))])}

    def apply(self, melody: Melody, **params: Any) -> Melody:
        return transpose(melody, int(params["semitones"]))

    def derive_key(self, key: Key | None, **params: Any) -> Key | None:
        return None if key is None else key.transposed(int(params["semitones"]))
