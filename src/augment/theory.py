"""Keys, scales and key finding over batches of melodies.

Key finding correlates a duration-weighted pitch-class histogram with the 24 rotations
of a major and a minor key profile (Krumhansl-Schmuckler). It runs over a whole batch at
once with numpy; music21's ``analyze('key')`` is the reference in tests, not the hot path.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

Mode = Literal["major", "minor"]

# Conventional tonic spellings: flats for flat keys, sharps for sharp keys.
MAJOR_TONICS = ("C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
MINOR_TONICS = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "G#", "A", "Bb", "B")
MAJOR_SCALE = (0, 2, 4, 5, 7, 9, 11)
NATURAL_MINOR_SCALE = (0, 2, 3, 5, 7, 8, 10)


@dataclass(frozen=True, slots=True, order=True)
class Key:
    """A key: tonic pitch class 0-11 (C=0) and mode."""

    tonic: int
    mode: Mode

    def __post_init__(self) -> None:
        if not 0 <= self.tonic < 12:
            raise ValueError(f"tonic pitch class {self.tonic} outside 0-11")

    @property
    def name(self) -> str:
        """ASCII spelling, e.g. 'Eb major', 'F# minor'."""
        tonics = MAJOR_TONICS if self.mode == "major" else MINOR_TONICS
        return f"{tonics[self.tonic]} {self.mode}"

    def transposed(self, semitones: int) -> Key:
        return Key((self.tonic + semitones) % 12, self.mode)

    def scale_pitch_classes(self) -> frozenset[int]:
        steps = MAJOR_SCALE if self.mode == "major" else NATURAL_MINOR_SCALE
        return frozenset((self.tonic + s) % 12 for s in steps)

    @property
    def relative(self) -> Key:
        if self.mode == "major":
            return Key((self.tonic + 9) % 12, "minor")
        return Key((self.tonic + 3) % 12, "major")


# Major and minor profiles, index 0 = tonic.
PROFILES: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    "krumhansl": (
        (6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88),
        (6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17),
    ),
    # music21's default (AardenEssenWeights).
    "aarden": (
        (17.7661, 0.145624, 14.9265, 0.160186, 19.8049, 11.3587,
         0.291248, 22.062, 0.145624, 8.15494, 0.232998, 4.95122),
        (18.2648, 0.737619, 14.0499, 16.8599, 0.702494, 14.4362,
         0.702494, 18.6161, 4.56621, 1.93186, 7.37619, 1.75623),
    ),
}
DEFAULT_PROFILE = "aarden"


def _profile_matrix(profile: str) -> np.ndarray:
    """(24, 12): rows 0-11 major keys on C..B, rows 12-23 minor keys, each centred."""
    major, minor = (np.asarray(p, dtype=float) for p in PROFILES[profile])
    rows = [np.roll(major, t) for t in range(12)] + [np.roll(minor, t) for t in range(12)]
    m = np.vstack(rows)
    m = m - m.mean(axis=1, keepdims=True)
    return m / np.linalg.norm(m, axis=1, keepdims=True)


_MATRICES: dict[str, np.ndarray] = {}


def key_correlations(histograms: np.ndarray, profile: str = DEFAULT_PROFILE) -> np.ndarray:
    """Pearson correlation of each histogram (N, 12) with the 24 keys -> (N, 24)."""
    if profile not in _MATRICES:
        _MATRICES[profile] = _profile_matrix(profile)
    h = np.atleast_2d(np.asarray(histograms, dtype=float))
    h = h - h.mean(axis=1, keepdims=True)
    norms = np.linalg.norm(h, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return (h / norms) @ _MATRICES[profile].T


def key_of_index(index: int) -> Key:
    return Key(index % 12, "major" if index < 12 else "minor")


def find_keys(histograms: np.ndarray, profile: str = DEFAULT_PROFILE
              ) -> list[tuple[Key, float, float]]:
    """Best key, its correlation and the margin to the runner-up, per histogram."""
    corr = key_correlations(histograms, profile)
    order = np.argsort(-corr, axis=1, kind="stable")
    out = []
    for row, (best, second) in zip(corr, order[:, :2], strict=True):
        out.append((key_of_index(int(best)), float(row[best]), float(row[best] - row[second])))
    return out
