"""Mode change: the same melody in the parallel key (C major <-> C minor).

Major to minor lowers the 3rd and 6th degrees; the 7th is lowered too, except where it
is a leading tone that resolves up to the tonic (the next note is the tonic a semitone
higher): there it stays raised, as the harmonic minor's leading tone. Minor to major
raises the (natural) 3rd, 6th and 7th; a raised 6th or 7th that the seed already has
(melodic or harmonic minor) is already the major scale's note and stays. The tonic,
2nd, 4th and 5th and every other chromatic note are untouched. The key becomes the
parallel key: the tonic stays, the mode flips.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from ..example import Example
from ..melody import Melody
from ..theory import Key
from .base import Choices, Rule, check_pitch_bounds
from .diatonic import key_from_params, key_params

# Semitones above the tonic: natural-minor degree -> major degree (b3, b6, b7).
MINOR_TO_MAJOR = {3: 4, 8: 9, 10: 11}
MAJOR_TO_MINOR = {4: 3, 9: 8, 11: 10}


def change_mode(melody: Melody, key: Key) -> Melody:
    """The melody moved from ``key`` into its parallel key (see module docstring)."""
    pitches = melody.pitches
    sounding = [i for i, p in enumerate(pitches) if p is not None]
    out = list(pitches)
    mapping = MAJOR_TO_MINOR if key.mode == "major" else MINOR_TO_MAJOR
    for n, i in enumerate(sounding):
        p = pitches[i]
        assert p is not None
        degree = (p - key.tonic) % 12
        if degree not in mapping:
            continue
        if key.mode == "major" and degree == 11:
            nxt = pitches[sounding[n + 1]] if n + 1 < len(sounding) else None
            if nxt == p + 1:
                continue  # leading tone resolving to the tonic: harmonic minor keeps it
        out[i] = p + mapping[degree] - degree
    return Melody.from_ticks(tuple(out), melody.ticks)


def parallel(key: Key) -> Key:
    return Key(key.tonic, "minor" if key.mode == "major" else "major")


@dataclass(frozen=True)
class ModeChange(Rule):
    """Move the melody to the parallel major or minor (3rd, 6th, 7th degrees)."""

    name = "mode_change"
    changes = frozenset({"mode"})

    low_pitch: int = 36
    high_pitch: int = 96

    def __post_init__(self) -> None:
        check_pitch_bounds(self.low_pitch, self.high_pitch)

    def choices(self, example: Example) -> Choices | None:
        key = example.key
        if key is None or not _changes(self, example.melody, key):
            return None
        return Choices.one_group((key,), key_params)

    def apply(self, melody: Melody, **params: Any) -> Melody:
        return change_mode(melody, key_from_params(params))

    def derive_key(self, key: Key | None, **params: Any) -> Key | None:
        return parallel(key_from_params(params))


@lru_cache(maxsize=64)
def _changes(rule: ModeChange, melody: Melody, key: Key) -> bool:
    """Whether the melody in the parallel key differs from it and stays in [low_pitch,
    high_pitch], remembered: the rule comes early, so about half of a seed's variants that
    change mode change the seed's own melody."""
    result = change_mode(melody, key)
    r = result.pitch_range()
    return not (result == melody or r is None or r[0] < rule.low_pitch or r[1] > rule.high_pitch)
