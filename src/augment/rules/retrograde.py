"""Retrograde and retrograde inversion: the melody played backwards.

``retrograde`` reverses the (pitch, duration) pairs: the same notes and rhythms, last
to first. The pitch content is unchanged, so the key is kept. ``retrograde_inversion``
is the inversion (chromatic or tonal, see ``invert``) played backwards; its key is
re-derived. Each applied twice gives back the melody.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from ..example import Example
from ..melody import Melody, retrograde
from ..theory import Key
from .base import Rule
from .invert import Invert, _options


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
        """``Invert.sample``'s draw, or None when its retrograde inversion gives the melody back."""
        options = _options(self, example.melody, example.key)
        if not options:
            return None
        drawn = int(rng.integers(len(options)))
        return dict(options[drawn]) if _changes(self, example.melody, example.key)[drawn] else None

    def apply(self, melody: Melody, **params: Any) -> Melody:
        return retrograde(super().apply(melody, **params))


@lru_cache(maxsize=64)
def _changes(rule: RetrogradeInversion, melody: Melody, key: Key | None) -> tuple[bool, ...]:
    """Whether the retrograde inversion of each of ``rule``'s options (``invert._options``)
    changes ``melody``, remembered as the options are."""
    return tuple(rule.apply(melody, **params) != melody for params in _options(rule, melody, key))
