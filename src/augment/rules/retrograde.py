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

from ..example import Example
from ..melody import Melody, retrograde
from ..theory import Key
from .base import Choices, Rule
from .invert import Invert, _options

_NO_PARAMS: tuple[dict[str, Any]] = ({},)  # retrograde's one choice: no params (``make`` copies it)


@dataclass(frozen=True)
class Retrograde(Rule):
    """Play the melody backwards (same notes and rhythms, last to first)."""

    name = "retrograde"
    changes = frozenset()

    def choices(self, example: Example) -> Choices | None:
        melody = example.melody
        return Choices.one_group(_NO_PARAMS, dict) if retrograde(melody) != melody else None

    def apply(self, melody: Melody, **params: Any) -> Melody:
        return retrograde(melody)


@dataclass(frozen=True)
class RetrogradeInversion(Invert):
    """Play the inverted melody backwards (the tone row's fourth form)."""

    name = "retrograde_inversion"

    def choices(self, example: Example) -> Choices | None:
        """``Invert.choices``; a drawn option whose retrograde inversion gives the melody back
        makes no params (whether each does is worked out at the first draw)."""
        melody, key = example.melody, example.key
        options = _options(self, melody, key)

        def make(drawn: int) -> dict[str, Any] | None:
            return dict(options[drawn]) if _changes(self, melody, key)[drawn] else None

        return Choices.one_group(range(len(options)), make)

    def apply(self, melody: Melody, **params: Any) -> Melody:
        return retrograde(super().apply(melody, **params))


@lru_cache(maxsize=64)
def _changes(rule: RetrogradeInversion, melody: Melody, key: Key | None) -> tuple[bool, ...]:
    """Whether the retrograde inversion of each of ``rule``'s options (``invert._options``)
    changes ``melody``, remembered as the options are."""
    return tuple(rule.apply(melody, **params) != melody for params in _options(rule, melody, key))
