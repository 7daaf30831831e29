"""Retrograde and retrograde inversion: the melody played backwards.

``retrograde`` reverses the (pitch, duration) pairs: the same notes and rhythms, last
to first. The pitch content is unchanged, so the key is kept. ``retrograde_inversion``
is the inversion (chromatic or tonal, see ``invert``) played backwards; its key is
re-derived. Each applied twice gives back the melody.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from ..example import Example
from ..melody import Melody, retrograde
from .base import Rule
from .invert import Invert


@dataclass(frozen=True)
class Retrograde(Rule):
    """Play the melody backwards (same notes and rhythms, last to first)."""

    name = "retrograde"
    changes = frozenset()

    def sample(self, example: Example, rng: np.random.Generator) -> dict[str, Any] | None:
        melody = example.melody
        return {} if retrograde(melody) != melody else None

    def apply(self, melody: Melody, **params: Any) -> Melody:
        return retrograde(melody)


@dataclass(frozen=True)
class RetrogradeInversion(Invert):
    """Play the inverted melody backwards (the tone row's fourth form)."""

    name = "retrograde_inversion"

    def sample(self, example: Example, rng: np.random.Generator) -> dict[str, Any] | None:
        params = super().sample(example, rng)
        if params is None or self.apply(example.melody, **params) == example.melody:
            return None
        return params

    def apply(self, melody: Melody, **params: Any) -> Melody:
        return retrograde(super().apply(melody, **params))
