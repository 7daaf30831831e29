"""Inversion: the melody turned upside down around an axis pitch.

``chromatic``: every interval is negated exactly (p -> 2*axis - p), so a rising major
third becomes a falling major third; the scale changes (a major scale mirrored around
its tonic is the Phrygian mode), so the result's key is re-derived from the melody.
``diatonic`` (tonal): each note is mirrored in scale steps inside the key, so a rising
third stays a third but falls, and every note of a scale melody stays in the key. A
chromatic note is mirrored onto the chromatic note between the two mirrored scale
degrees; where there is none (the degrees are a semitone apart) the melody is not
inverted diatonically. Both mirrors applied twice give back the melody.

The axis is the tonic in the octave nearest the melody's centre (``axis = "tonic"``),
or the first note (``"first_note"``, also used for chromatic inversion when the key is
unknown); nearby octaves of the axis are tried when the result would leave
``[low_pitch, high_pitch]``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from ..example import Example
from ..melody import Melody, invert
from ..theory import Key
from .base import Choices, Rule, check_pitch_bounds
from .diatonic import choice_list, from_step, key_from_params, key_params, to_step

KINDS = ("chromatic", "diatonic")
AXES = ("tonic", "first_note")


def diatonic_mirror(pitch: int, axis_step: int, key: Key) -> int | None:
    """Mirror ``pitch`` around scale step ``axis_step``; None when a chromatic note has no image."""
    step, alteration = to_step(pitch, key)
    if alteration == 0:
        return from_step(2 * axis_step - step, 0, key)
    lower = from_step(2 * axis_step - step - 1, 0, key)
    upper = from_step(2 * axis_step - step, 0, key)
    return lower + 1 if upper - lower == 2 else None


def invert_diatonic(melody: Melody, axis_pitch: int, key: Key) -> Melody | None:
    """Tonal inversion inside ``key`` around a scale note; None when a note has no image."""
    axis_step, axis_alteration = to_step(axis_pitch, key)
    if axis_alteration:
        raise ValueError(f"diatonic axis {axis_pitch} is not a note of {key.name}")
    # Each distinct pitch mirrored once; a rest (None) is no key of the table, so get keeps it.
    images: dict[int | None, int | None] = {p: diatonic_mirror(p, axis_step, key)
                                            for p in set(melody.notes)}
    if None in images.values():
        return None
    return Melody.from_ticks(tuple(map(images.get, melody.pitches)), melody.ticks)


@dataclass(frozen=True)
class Invert(Rule):
    """Turn the melody upside down around the tonic (chromatic or tonal mirror)."""

    name = "invert"
    changes = frozenset({"key", "mode"})

    kinds: str = "chromatic,diatonic"
    axis: str = "tonic"
    low_pitch: int = 36
    high_pitch: int = 96

    def __post_init__(self) -> None:
        self.kind_list()
        if self.axis not in AXES:
            raise ValueError(f"axis must be one of {AXES}, got {self.axis!r}")
        check_pitch_bounds(self.low_pitch, self.high_pitch)

    def kind_list(self) -> tuple[str, ...]:
        return choice_list(self.kinds, KINDS, "kinds")

    def _axes(self, melody: Melody, key: Key | None) -> list[int]:
        notes = melody.notes
        if self.axis == "first_note" or key is None:
            return [notes[0]]
        low, high = min(notes), max(notes)
        centre = (low + high) / 2
        tonics = [p for p in range(low - 12, high + 13) if p % 12 == key.tonic]
        return sorted(tonics, key=lambda p: (abs(p - centre), p))

    def _fits(self, melody: Melody) -> bool:
        r = melody.pitch_range()
        return r is not None and self.low_pitch <= r[0] and r[1] <= self.high_pitch

    def choices(self, example: Example) -> Choices | None:
        return Choices.one_group(_options(self, example.melody, example.key), dict)

    def options(self, melody: Melody, key: Key | None) -> list[dict[str, Any]]:
        """Every kind's params with its first axis whose inversion changes the melody and
        stays in [low_pitch, high_pitch]."""
        if len(melody.notes) < 2:
            return []
        options: list[dict[str, Any]] = []
        for kind in self.kind_list():
            if kind == "diatonic" and key is None:
                continue
            for axis in self._axes(melody, key):
                params: dict[str, Any] = {"kind": kind, "axis_pitch": int(axis)}
                if kind == "diatonic":
                    assert key is not None
                    params.update(key_params(key))
                try:
                    result = invert_diatonic(melody, axis, key) if kind == "diatonic" and key \
                        else invert(melody, axis)
                except ValueError:
                    continue
                if result is not None and self._fits(result) and result != melody:
                    options.append(params)
                    break
        return options

    def apply(self, melody: Melody, **params: Any) -> Melody:
        axis = int(params["axis_pitch"])
        if params["kind"] == "chromatic":
            return invert(melody, axis)
        key = key_from_params(params)
        result = invert_diatonic(melody, axis, key)
        if result is None:
            raise ValueError(f"a chromatic note has no diatonic mirror in {key.name}")
        return result


@lru_cache(maxsize=64)
def _options(rule: Invert, melody: Melody, key: Key | None) -> tuple[dict[str, Any], ...]:
    """``rule.options``, remembered: most variants of a seed that invert it invert the seed's
    own melody (the rule comes early). ``sample`` copies the params it draws."""
    return tuple(rule.options(melody, key))
