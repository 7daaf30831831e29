"""Keys, modes, scales and key finding over batches of melodies.

Key finding correlates a duration-weighted pitch-class histogram with the 24 rotations
of a major and a minor key profile (Krumhansl-Schmuckler). It runs over a whole batch at
once with numpy; music21's ``analyze('key')`` is the reference in tests, not the hot path
(``find_keys`` gives music21's answer with the same profile).

``detect_keys`` is the engine's entry point. On top of the profile correlation it rewards
keys whose tonic triad holds the melody's last and first notes: tunes end (and often
begin) on tonic-chord tones, which the histogram alone cannot see. On Bach chorale
sopranos this lifts agreement with the full-score key from ~80% to ~90%
(benchmarks/README.md).
"""

from __future__ import annotations

import mmap
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import chain
from operator import attrgetter
from pathlib import Path
from typing import Any, Literal

import numpy as np

from . import ragged
from .errors import scratch_refused
from .melody import TICKS_PER_QUARTER, GridArrays, Melody, quarters_of
from .output import preads

Mode = Literal["major", "minor"]
# Church modes; "ionian" and "aeolian" are accepted as aliases of major and minor.
ModeName = Literal["major", "minor", "dorian", "phrygian", "lydian", "mixolydian", "locrian"]
MODE_ALIASES = {"ionian": "major", "aeolian": "minor"}
# Degree (0-based) of the parent major scale each mode starts on.
MODE_DEGREE = {"major": 0, "dorian": 1, "phrygian": 2, "lydian": 3, "mixolydian": 4,
               "minor": 5, "locrian": 6}
MODES: tuple[ModeName, ...] = ("major", "dorian", "phrygian", "lydian", "mixolydian", "minor",
                               "locrian")

# Conventional tonic spellings: flats for flat keys, sharps for sharp keys.
MAJOR_TONICS = ("C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
MINOR_TONICS = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "G#", "A", "Bb", "B")
MAJOR_SCALE = (0, 2, 4, 5, 7, 9, 11)
NATURAL_MINOR_SCALE = (0, 2, 3, 5, 7, 8, 10)
_LETTERS = "CDEFGAB"
_ENHARMONIC_PARENTS = {1: "C#", 6: "Gb", 11: "Cb"}  # other spellings of a mode's parent major


def mode_steps(mode: str) -> tuple[int, ...]:
    """Semitones above the tonic of the seven degrees of ``mode`` (a rotation of major)."""
    d = MODE_DEGREE[MODE_ALIASES.get(mode, mode)]
    return tuple((MAJOR_SCALE[(d + i) % 7] - MAJOR_SCALE[d]) % 12 for i in range(7))


@dataclass(frozen=True, slots=True, order=True)
class Key:
    """A key or mode: tonic pitch class 0-11 (C=0) and mode ("ionian"/"aeolian" -> major/minor)."""

    tonic: int
    mode: ModeName

    def __reduce__(self) -> tuple[object, ...]:
        return (Key, (self.tonic, self.mode))

    def __post_init__(self) -> None:
        if not 0 <= self.tonic < 12:
            raise ValueError(f"tonic pitch class {self.tonic} outside 0-11")
        mode = MODE_ALIASES.get(self.mode, self.mode)
        if mode not in MODE_DEGREE:
            raise ValueError(f"unknown mode {self.mode!r}; expected one of {', '.join(MODES)}")
        object.__setattr__(self, "mode", mode)

    @property
    def name(self) -> str:
        """ASCII spelling, e.g. 'Eb major', 'F# minor', 'D dorian' (modes spelled as in their
        parent major key's signature)."""
        if self.mode == "major":
            return f"{MAJOR_TONICS[self.tonic]} major"
        if self.mode == "minor":
            return f"{MINOR_TONICS[self.tonic]} minor"
        degree = MODE_DEGREE[self.mode]
        parent_pc = (self.tonic - MAJOR_SCALE[degree]) % 12
        spellings = []
        for parent in (MAJOR_TONICS[parent_pc], _ENHARMONIC_PARENTS.get(parent_pc, "")):
            if parent:
                letter = _LETTERS[(_LETTERS.index(parent[0]) + degree) % 7]
                shift = (self.tonic - MAJOR_SCALE[_LETTERS.index(letter)] + 6) % 12 - 6
                spellings.append(f"{letter}{'#' * shift if shift > 0 else 'b' * -shift}")
        return f"{min(spellings, key=len)} {self.mode}"  # 'F locrian', not 'E# locrian'

    @property
    def is_church_mode(self) -> bool:
        return self.mode not in ("major", "minor")

    def transposed(self, semitones: int) -> Key:
        return Key((self.tonic + semitones) % 12, self.mode)

    def scale_pitch_classes(self) -> frozenset[int]:
        return frozenset((self.tonic + s) % 12 for s in mode_steps(self.mode))

    def triad_pitch_classes(self) -> tuple[int, int, int]:
        """Tonic triad (root, third, fifth) built from the mode's own 1st, 3rd and 5th degrees."""
        steps = mode_steps(self.mode)
        return (self.tonic, (self.tonic + steps[2]) % 12, (self.tonic + steps[4]) % 12)

    @property
    def relative(self) -> Key:
        """Relative minor of a major key and vice versa; a church mode's parent major key."""
        if self.mode == "major":
            return Key((self.tonic + 9) % 12, "minor")
        if self.mode == "minor":
            return Key((self.tonic + 3) % 12, "major")
        return Key((self.tonic - MAJOR_SCALE[MODE_DEGREE[self.mode]]) % 12, "major")


# Major and minor profiles, index 0 = tonic; the exact weights of music21 10
# (music21/analysis/discrete.py) so answers match music21 with the same profile.
PROFILES: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    "krumhansl": (
        (6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88),
        (6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17),
    ),
    "aarden": (
        (17.7661, 0.145624, 14.9265, 0.160186, 19.8049, 11.3587,
         0.291248, 22.062, 0.145624, 8.15494, 0.232998, 4.95122),
        (18.2648, 0.737619, 14.0499, 16.8599, 0.702494, 14.4362,
         0.702494, 18.6161, 4.56621, 1.93186, 7.37619, 1.75623),
    ),
    "temperley": (
        (0.748, 0.060, 0.488, 0.082, 0.670, 0.460, 0.096, 0.715, 0.104, 0.366, 0.057, 0.400),
        (0.712, 0.084, 0.474, 0.618, 0.049, 0.460, 0.105, 0.747, 0.404, 0.067, 0.133, 0.330),
    ),
    "bellman": (
        (16.80, 0.86, 12.95, 1.41, 13.49, 11.93, 1.25, 20.28, 1.80, 8.04, 0.62, 10.57),
        (18.16, 0.69, 12.99, 13.34, 1.07, 11.15, 1.38, 21.07, 7.49, 1.53, 0.92, 10.21),
    ),
    "simple": (
        (2, 0, 1, 0, 1, 1, 0, 2, 0, 1, 0, 1),
        (2, 0, 1, 1, 0, 1, 0, 2, 1, 0, 0.5, 0.5),
    ),
}
# The music21 ``analyze(method)`` name of each profile; "aarden" is music21's default.
MUSIC21_METHODS = {"krumhansl": "KrumhanslSchmuckler", "aarden": "AardenEssen",
                   "temperley": "TemperleyKostkaPayne", "bellman": "BellmanBudge",
                   "simple": "SimpleWeights"}
DEFAULT_PROFILE = "aarden"

# A church mode's profile: the major or minor profile with the weights of the degrees
# the mode alters exchanged (dorian: minor with b6 <-> 6, ...).
_MODE_SWAPS: dict[str, tuple[int, tuple[tuple[int, int], ...]]] = {
    "major": (0, ()), "minor": (1, ()), "dorian": (1, ((8, 9),)), "phrygian": (1, ((1, 2),)),
    "lydian": (0, ((5, 6),)), "mixolydian": (0, ((10, 11),)), "locrian": (1, ((1, 2), (6, 7))),
}


def mode_profile(mode: str, profile: str = DEFAULT_PROFILE) -> np.ndarray:
    """The 12 weights (index 0 = tonic) a melody in ``mode`` is expected to show."""
    base, swaps = _MODE_SWAPS[MODE_ALIASES.get(mode, mode)]
    weights = np.array(PROFILES[profile][base], dtype=float)
    for a, b in swaps:
        weights[[a, b]] = weights[[b, a]]
    return weights


def _centred_rows(rows: list[np.ndarray]) -> np.ndarray:
    m = np.vstack(rows)
    m = m - m.mean(axis=1, keepdims=True)
    return m / np.linalg.norm(m, axis=1, keepdims=True)


_MATRICES: dict[tuple[str, tuple[str, ...]], np.ndarray] = {}


def _matrix(profile: str, modes: tuple[str, ...]) -> np.ndarray:
    """(12 * len(modes), 12): the profile of each mode rotated to tonics C..B, centred."""
    if (profile, modes) not in _MATRICES:
        rows = [np.roll(mode_profile(m, profile), t) for m in modes for t in range(12)]
        _MATRICES[profile, modes] = _centred_rows(rows)
    return _MATRICES[profile, modes]


def _correlate(histograms: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    h = np.atleast_2d(np.asarray(histograms, dtype=float))
    h = h - h.mean(axis=1, keepdims=True)
    norms = np.linalg.norm(h, axis=1, keepdims=True)
    norms[norms == 0] = 1.0
    return (h / norms) @ matrix.T


def key_correlations(histograms: np.ndarray, profile: str = DEFAULT_PROFILE) -> np.ndarray:
    """Pearson correlation of each histogram (N, 12) with the 24 keys -> (N, 24).

    Columns 0-11 are the major keys on C..B, 12-23 the minor keys (``key_of_index``).
    """
    return _correlate(histograms, _matrix(profile, ("major", "minor")))


def key_correlation_row(histogram: np.ndarray, profile: str = DEFAULT_PROFILE) -> np.ndarray:
    """``key_correlations`` of one histogram (12,) -> (1, 24), the same floats.

    The same ufuncs on the one row: numpy's ``mean`` is ``add.reduce`` divided by the
    count and its 2-norm ``sqrt(add.reduce(x * x))``; their general wrappers cost more
    than the arithmetic for one melody (the checks and rules ask for one at a time).
    """
    h = histogram.reshape(1, 12)
    h = h - np.add.reduce(h, axis=1, keepdims=True) / 12
    norms = np.sqrt(np.add.reduce(h * h, axis=1, keepdims=True))
    if norms[0, 0] == 0:
        norms[0, 0] = 1.0
    return (h / norms) @ _matrix(profile, ("major", "minor")).T


def key_of_index(index: int) -> Key:
    return Key(index % 12, "major" if index < 12 else "minor")


def find_keys(histograms: np.ndarray, profile: str = DEFAULT_PROFILE
              ) -> list[tuple[Key, float, float]]:
    """Best key by profile correlation alone (music21's answer), its correlation and margin."""
    corr = key_correlations(histograms, profile)
    order = rank_keys(corr)
    out = []
    for row, (best, second) in zip(corr, order[:, :2], strict=True):
        out.append((key_of_index(int(best)), float(row[best]), float(row[best] - row[second])))
    return out


def mode_correlations(histograms: np.ndarray, profile: str = DEFAULT_PROFILE) -> np.ndarray:
    """Correlation of each histogram (N, 12) with every mode on every tonic -> (N, 7, 12),
    modes in ``MODES`` order."""
    corr = _correlate(histograms, _matrix(profile, MODES))
    return corr.reshape(len(corr), len(MODES), 12)


def mode_fit(histogram: np.ndarray | Melody, key: Key, profile: str = DEFAULT_PROFILE) -> float:
    """How well one melody (or its histogram) fits ``key``, any mode: profile correlation -1..1."""
    hist = histogram if isinstance(histogram, np.ndarray) else histogram.pitch_class_histogram()
    row = _centred_rows([np.roll(mode_profile(key.mode, profile), key.tonic)])
    return float(_correlate(hist, row)[0, 0])


def rank_modes(histogram: np.ndarray | Melody, tonic: int, profile: str = DEFAULT_PROFILE
               ) -> list[tuple[Key, float]]:
    """The seven modes on ``tonic``, best fitting first, with their correlations."""
    hist = histogram if isinstance(histogram, np.ndarray) else histogram.pitch_class_histogram()
    corr = mode_correlations(hist, profile)[0, :, tonic]
    return sorted(((Key(tonic, m), float(c)) for m, c in zip(MODES, corr, strict=True)),
                  key=lambda kc: -kc[1])


_NUM, _DEN = attrgetter("_numerator"), attrgetter("_denominator")


@dataclass(frozen=True, slots=True)
class MelodyArrays:
    """A batch of melodies as flat numpy arrays: the cheap form for batch statistics.

    ``pitches`` (MIDI, -1 for a rest) and ``quarters`` (float durations) hold every event
    of every melody back to back; melody i owns ``starts[i]:starts[i + 1]``.
    """

    pitches: np.ndarray
    quarters: np.ndarray
    starts: np.ndarray

    @classmethod
    def of(cls, melodies: Sequence[Melody]) -> MelodyArrays:
        ticks = list(chain.from_iterable(m.ticks for m in melodies))
        if set(map(type, ticks)) <= {int}:  # (map and set in C: ~10x the generator)
            # ticks / 48 in float64 is the correctly rounded quarter value, as num / den is.
            quarters = np.fromiter(ticks, np.int64, len(ticks)) / TICKS_PER_QUARTER
        else:  # a duration off the grid: exact numerator / denominator of every duration
            durs = [quarters_of(t) for t in ticks]
            num = np.fromiter(map(_NUM, durs), np.int64, len(durs))
            den = np.fromiter(map(_DEN, durs), np.int64, len(durs))
            quarters = num / den
        pitches = np.array(list(chain.from_iterable(m.pitches for m in melodies)), dtype=float)
        starts = np.zeros(len(melodies) + 1, dtype=np.int64)
        np.cumsum(np.fromiter(map(len, melodies), np.int64, len(melodies)), out=starts[1:])
        return cls(np.nan_to_num(pitches, nan=-1).astype(np.int64), quarters, starts)

    def __len__(self) -> int:
        return len(self.starts) - 1

    @classmethod
    def concat(cls, parts: Sequence[MelodyArrays | PackedMelodies]) -> MelodyArrays:
        """The melodies of ``parts``, one after another (equal to ``of`` of them all); packed
        parts are unpacked straight into the result."""
        sizes = [int(p.starts[-1]) for p in parts]
        pitches = np.empty(sum(sizes), dtype=np.int64)
        quarters = np.empty(sum(sizes), dtype=float)
        at = 0
        for part, size in zip(parts, sizes, strict=True):
            pitches[at:at + size] = part.pitches
            quarters[at:at + size] = part.quarters if isinstance(part, MelodyArrays) else \
                part.ticks / TICKS_PER_QUARTER
            at += size
        return cls(pitches, quarters, ragged.joined([p.starts for p in parts]))

    def pack(self) -> PackedMelodies | None:
        """These arrays in 5 bytes an event instead of 16, when exact: every duration on the
        tick grid and every pitch in a byte (rest: -1). None otherwise."""
        ticks = np.rint(self.quarters * TICKS_PER_QUARTER)
        if np.array_equal(ticks / TICKS_PER_QUARTER, self.quarters):
            return _packed(self.pitches, ticks, self.starts)
        return None

    def __reduce__(self) -> tuple[object, ...]:
        # Sent to another process (the diversity report) packed when it can be.
        packed = self.pack()
        if packed is not None:
            return (PackedMelodies.unpack, (packed,))
        return (MelodyArrays, (self.pitches, self.quarters, self.starts))

    def subset(self, rows: Sequence[int] | np.ndarray) -> MelodyArrays:
        """The given melodies, in the given order (equal to ``of`` of those melodies)."""
        index, starts = ragged.take(self.starts, rows)
        return MelodyArrays(self.pitches[index], self.quarters[index], starts)

    def melody(self, i: int) -> Melody:
        """Melody ``i`` again, for a melody whose durations are on the tick grid (exact then;
        a duration off the grid comes back rounded to it)."""
        at, _ = ragged.span(self.starts, i, i + 1)
        ticks = np.rint(self.quarters[at] * TICKS_PER_QUARTER).astype(np.int64)
        return _melody(self.pitches[at], ticks)

    def rows(self, lo: int, hi: int) -> MelodyArrays:
        """Melodies ``lo`` to ``hi`` (excluded), sharing this batch's memory."""
        at, starts = ragged.span(self.starts, lo, hi)
        return MelodyArrays(self.pitches[at], self.quarters[at], starts)

    def unpack(self) -> MelodyArrays:
        return self

    def histograms(self) -> np.ndarray:
        """(N, 12) duration-weighted pitch-class histograms, rests ignored."""
        row = ragged.owners(self.starts)
        sounding = self.pitches >= 0
        bins = row[sounding] * 12 + self.pitches[sounding] % 12
        weights = self.quarters[sounding]
        return np.bincount(bins, weights=weights, minlength=12 * len(self)).reshape(-1, 12)

    def first_last_pitches(self) -> tuple[np.ndarray, np.ndarray]:
        """First and last sounding MIDI pitch of each melody (-1 when it has none)."""
        sounding = np.flatnonzero(self.pitches >= 0)
        lo = np.searchsorted(sounding, self.starts[:-1])
        hi = np.searchsorted(sounding, self.starts[1:]) - 1
        has = hi >= lo
        padded = np.append(self.pitches[sounding], -1)
        first = np.where(has, padded[np.minimum(lo, len(sounding))], -1)
        last = np.where(has, padded[np.maximum(hi, 0)], -1)
        return first, last


@dataclass(frozen=True, slots=True)
class MelodyRows:
    """Melodies ``index`` of ``batch``, in that order, not copied out of it (each read is
    ``batch.subset``): how a run hands the written melodies to the diversity report
    without holding a second copy of nearly all of them."""

    batch: MelodyArrays | PackedMelodies
    index: np.ndarray

    def __len__(self) -> int:
        return len(self.index)

    def subset(self, rows: Sequence[int] | np.ndarray) -> MelodyArrays | PackedMelodies:
        return self.batch.subset(self.index[np.asarray(rows, dtype=np.intp)])

    def rows(self, lo: int, hi: int) -> MelodyArrays:
        return self.batch.subset(self.index[lo:hi]).unpack()

    def unpack(self) -> MelodyArrays:
        return self.batch.subset(self.index).unpack()


def _melody(pitches: np.ndarray, ticks: np.ndarray) -> Melody:
    return Melody.from_ticks(tuple(None if p < 0 else p for p in pitches.tolist()), tuple(ticks.tolist()))


@dataclass(frozen=True, slots=True)
class PackedMelodies:
    """``MelodyArrays`` in 5 bytes an event (``MelodyArrays.pack``): byte pitches and integer
    ticks. How a batch of melodies travels between processes and waits to be joined."""

    pitches: np.ndarray  # int8, -1 for a rest
    ticks: np.ndarray  # int32
    starts: np.ndarray

    def __len__(self) -> int:
        return len(self.starts) - 1

    def unpack(self) -> MelodyArrays:
        return MelodyArrays(self.pitches.astype(np.int64), self.ticks / TICKS_PER_QUARTER, self.starts)

    @staticmethod
    def of_grid(grid: GridArrays) -> PackedMelodies | None:
        """``MelodyArrays.of(melodies).pack()`` of the melodies laid out in ``grid``, made
        from its int arrays directly: None under the same conditions (a pitch beyond a
        byte, ticks beyond 2**31)."""
        return _packed(grid.pitches, grid.ticks, grid.starts)

    def melody(self, i: int) -> Melody:
        """Melody ``i`` again (exact: packed melodies are on the tick grid)."""
        at, _ = ragged.span(self.starts, i, i + 1)
        return _melody(self.pitches[at], self.ticks[at])

    def subset(self, rows: Sequence[int] | np.ndarray) -> PackedMelodies:
        """The given melodies, in the given order, still packed."""
        index, starts = ragged.take(self.starts, rows)
        return PackedMelodies(self.pitches[index], self.ticks[index], starts)

    def rows(self, lo: int, hi: int) -> MelodyArrays:
        """Melodies ``lo`` to ``hi`` (excluded), unpacked."""
        at, starts = ragged.span(self.starts, lo, hi)
        return PackedMelodies(self.pitches[at], self.ticks[at], starts).unpack()

    def store(self, folder: Path) -> MappedMelodies:
        """These melodies written to ``folder`` (made if needed; one ``.npy`` file an array)
        and mapped back from there (``MappedMelodies``)."""
        folder.mkdir(parents=True, exist_ok=True)
        for name in ("pitches", "ticks", "starts"):
            np.save(folder / f"{name}.npy", getattr(self, name))
        return MappedMelodies.load(str(folder))

    @staticmethod
    def join(parts: Sequence[MelodyArrays | PackedMelodies]) -> PackedMelodies | MelodyArrays:
        """The melodies of ``parts``, one after another: packed when every part is (a big
        run's melodies wait packed, 5 bytes an event), else ``MelodyArrays.concat``."""
        return PackedMelodies.drain(list(parts))

    @staticmethod
    def drain(parts: list[MelodyArrays | PackedMelodies]) -> PackedMelodies | MelodyArrays:
        """``join(parts)``, emptying ``parts`` while it copies them (``ragged.drained``): a
        big run's melodies are held once while they are joined, not twice."""
        columns = _packed_columns(parts)
        if columns is None:
            joined = MelodyArrays.concat(parts)
            parts.clear()
            return joined
        starts, pitches, ticks = columns
        return PackedMelodies(ragged.drained(pitches or [np.zeros(0, np.int8)]),
                              ragged.drained(ticks or [np.zeros(0, np.int32)]), starts)


def _packed_columns(parts: list[MelodyArrays | PackedMelodies]
                    ) -> tuple[np.ndarray, list[np.ndarray], list[np.ndarray]] | None:
    """(the joined starts, each part's pitches, each part's ticks) when every part is
    packed, emptying ``parts`` (each part's arrays are then held only by the two lists);
    None, ``parts`` untouched, when one is not."""
    packed = [p for p in parts if isinstance(p, PackedMelodies)]
    if len(packed) != len(parts):
        return None
    parts.clear()
    return ragged.joined([p.starts for p in packed]), [p.pitches for p in packed], [p.ticks for p in packed]


class MelodyStore:
    """A run's melodies, taken part after part (a seed's passed variants at a time), ending
    as ``PackedMelodies.drain(parts).store(folder)`` would (the same files, byte for byte),
    without holding the packed parts until the last one comes: while every part so far is
    packed, each part's pitches and ticks are appended to their files as it comes, and
    ``finish`` writes the files' headers and the joined starts (a million melodies: ~250 MB
    less in the run's main process when its pool ends, where its memory peaked). With no
    folder, or from the first part that is not packed, the parts are held and joined in
    memory (``drain``), the parts written so far read back first."""

    def __init__(self, folder: Path | None) -> None:
        self.folder = folder
        self.held: list[MelodyArrays | PackedMelodies] = []  # the parts kept in memory
        self.starts: list[np.ndarray] = []  # the written parts' starts
        self.files: list[tuple[Path, str, Any]] | None = None  # (path, dtype, open file) a column
        self.header = 0  # bytes of each column file's header
        if folder is not None:
            folder.mkdir(parents=True, exist_ok=True)
            self.files = [(folder / f"{name}.npy", dtype, open(folder / f"{name}.npy", "wb"))
                          for name, dtype in (("pitches", "i1"), ("ticks", "<i4"))]
            for _, dtype, file in self.files:
                self.header = _write_header(file, dtype, 0)

    def add(self, part: MelodyArrays | PackedMelodies) -> None:
        if self.files is not None and isinstance(part, PackedMelodies):
            for (path, dtype, file), column in zip(self.files, (part.pitches, part.ticks), strict=True):
                try:
                    file.write(np.ascontiguousarray(column, dtype=dtype).data)
                except OSError as exc:  # (the folder is in $TMPDIR: a full disk there)
                    raise scratch_refused(exc, str(path)) from exc
            self.starts.append(part.starts)
            return
        if self.files is not None:  # the first part not packed: the run's melodies stay in memory
            written = self._read_back()
            self.held = [written] if self.starts else []
            self.starts = []
        self.held.append(part)

    def finish(self) -> MappedMelodies | PackedMelodies | MelodyArrays:
        """The melodies of every part added, in order: mapped from the folder's files when
        every part was packed, else joined in memory."""
        if self.files is None:
            return PackedMelodies.drain(self.held)
        assert self.folder is not None
        try:
            return self._finish_files(self.folder, self.files)
        except OSError as exc:  # (a full disk in $TMPDIR: the buffered writes land here)
            raise scratch_refused(exc, str(exc.filename or self.folder)) from exc

    def _finish_files(self, folder: Path, files: list[tuple[Path, str, Any]]) -> MappedMelodies:
        events = 0
        for _, dtype, file in files:
            events = (file.tell() - self.header) // np.dtype(dtype).itemsize
            file.seek(0)
            if _write_header(file, dtype, events) != self.header:
                raise AssertionError("a .npy header changed its length")  # (not below 10**40 events)
            file.close()
        starts = ragged.joined(self.starts) if self.starts else np.zeros(1, dtype=np.int64)
        if int(starts[-1]) != events:
            raise AssertionError("the melodies' starts do not end where their events do")
        self.starts = []
        np.save(folder / "starts.npy", starts)
        return MappedMelodies.load(str(folder))

    def _read_back(self) -> PackedMelodies:
        """The parts written so far, read back from their files (which are then removed)."""
        assert self.files is not None
        columns = []
        for path, dtype, file in self.files:
            file.close()
            columns.append(np.fromfile(path, dtype=dtype, offset=self.header))
            path.unlink()
        self.files = None
        return PackedMelodies(columns[0], columns[1], ragged.joined(self.starts))


def _write_header(file: Any, dtype: str, length: int) -> int:
    """Write the ``.npy`` (version 1.0) header of a 1-D array of ``length`` items of
    ``dtype`` at the file's position, as ``np.save`` does; its size in bytes (the same for
    every length below ~10**40: numpy pads a header to a multiple of 64 bytes)."""
    start = file.tell()
    np.lib.format.write_array_header_1_0(
        file, {"descr": np.lib.format.dtype_to_descr(np.dtype(dtype)), "fortran_order": False,
               "shape": (length,)})
    return int(file.tell() - start)


def _packed(pitches: np.ndarray, ticks: np.ndarray, starts: np.ndarray) -> PackedMelodies | None:
    """The events in 5 bytes each (byte pitches, int32 ticks: whole tick counts), or None
    when one does not fit (a pitch beyond -1-127, ticks from 2**31). No event packs too: a
    seed none of whose variants passed must not leave a run's melodies unpacked (16 bytes
    an event, in memory)."""
    if not len(pitches):
        return PackedMelodies(np.zeros(0, np.int8), np.zeros(0, np.int32), starts)
    if pitches.min() < -1 or pitches.max() > 127 or ticks.max() >= 2**31:
        return None
    return PackedMelodies(pitches.astype(np.int8), ticks.astype(np.int32), starts)


RELEASE_EVERY = 32  # single melodies read from mapped files between two releases
READ_RUNS = 4096  # runs of adjacent melodies a subset of mapped ones reads from the files (above: maps)


def runs_of(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(first event, end) of each run of spans ``lo[i]``-``hi[i]`` that follow one another
    without a gap, in the order given (empty spans join their neighbours)."""
    if not len(lo):
        return lo[:0], hi[:0]
    cut = np.flatnonzero(lo[1:] != hi[:-1]) + 1
    return lo[np.r_[0, cut]], hi[np.r_[cut - 1, len(lo) - 1]]


def _read_spans(path: Path, array: np.ndarray, count: int, first: np.ndarray, last: np.ndarray
                ) -> np.ndarray:
    """The ``count`` elements ``first[k]`` to ``last[k]`` (excluded) of ``array``, span after
    span, read from its ``.npy`` file at ``path`` with ``os.pread`` (``output.preads``:
    copied, not mapped). The array is the file's last bytes, after its header (``np.save``)."""
    size = array.dtype.itemsize
    with open(path, "rb") as file:
        data = os.fstat(file.fileno()).st_size - array.nbytes
        read = bytearray().join(preads(file.fileno(), data + first * size, (last - first) * size))
    if len(read) != count * size:
        raise OSError(f"{path}: ends before its array does")
    return np.frombuffer(read, dtype=array.dtype)


@dataclass(frozen=True, slots=True)
class MappedMelodies(PackedMelodies):
    """Packed melodies whose arrays are files mapped into memory (``PackedMelodies.store``,
    ``MelodyStore``).
    Pickled as the name of their folder, so another process of this machine (the pool
    computing a run's diversity report) maps the same files instead of receiving a copy.
    Their pages sit in the page cache; a process counts as its own only what it has read
    and not yet given back (``release``, which its reads call)."""

    folder: str
    # melody() calls so far (one counter, shared by copies): every RELEASE_EVERY-th gives
    # the pages back
    reads: list[int] = field(default_factory=lambda: [0], compare=False, repr=False)

    def __reduce__(self) -> tuple[object, ...]:
        return (MappedMelodies.load, (self.folder,))

    # Reads copy out of the mapping and then unmap what they touched (``release``): a read
    # maps the pages around what it touches as well (fault-around; whole readahead folios
    # when the page cache is cold), so 100 scattered melodies made 20-134 MB resident, and
    # a million melodies' dedup 174 MB in the main process.
    def melody(self, i: int) -> Melody:
        melody = PackedMelodies.melody(self, i)
        self.reads[0] += 1
        if self.reads[0] % RELEASE_EVERY == 0:
            self.release()
        return melody

    def subset(self, rows: Sequence[int] | np.ndarray) -> PackedMelodies:
        """The given melodies, read from the files when they lie in at most ``READ_RUNS``
        runs of adjacent rows, else through the mapping (then released). Through the
        mapping, each scattered melody maps a whole page-cache folio around it: the 400
        melodies of a million that ``vendi_score`` scores made the whole files (~260 MB)
        resident in the report's process at once."""
        rows = np.asarray(rows, dtype=np.int64)
        lo, hi = self.starts[rows], self.starts[rows + 1]
        self.release()
        first, last = runs_of(lo, hi)
        if len(first) > READ_RUNS or not hasattr(os, "preadv"):
            out = PackedMelodies.subset(self, rows)
            self.release()
            return out
        starts = np.zeros(len(rows) + 1, dtype=np.int64)
        np.cumsum(hi - lo, out=starts[1:])
        read = [_read_spans(Path(self.folder) / f"{name}.npy", array, int(starts[-1]), first, last)
                for name, array in (("pitches", self.pitches), ("ticks", self.ticks))]
        return PackedMelodies(read[0], read[1], starts)

    def rows(self, lo: int, hi: int) -> MelodyArrays:
        out = PackedMelodies.rows(self, lo, hi)
        self.release()
        return out

    @staticmethod
    def load(folder: str) -> MappedMelodies:
        def mapped(name: str) -> np.ndarray:
            # A plain array over the mapping: a slice of np.memmap runs Python code
            # (__array_finalize__, ~6 us of the ~11 us a melody() read took).
            return np.load(Path(folder) / f"{name}.npy", mmap_mode="r").view(np.ndarray)
        return MappedMelodies(mapped("pitches"), mapped("ticks"), mapped("starts"), folder)

    def release(self) -> None:
        """Unmap the pages read so far from this process (the files stay in the page cache;
        a later read maps them again). A pass over every melody would otherwise leave the
        whole files counted in the process's resident memory: ~250 MB at a million
        melodies. Where the system cannot (not Linux), nothing is done."""
        for array in (self.pitches, self.ticks, self.starts):
            base = array.base  # the np.memmap the plain array views, then its mmap
            while base is not None and not isinstance(base, mmap.mmap):
                base = getattr(base, "base", None)
            if base is not None and hasattr(mmap, "MADV_DONTNEED"):
                base.madvise(mmap.MADV_DONTNEED)


def histograms(melodies: Sequence[Melody]) -> np.ndarray:
    """(N, 12) duration-weighted pitch-class histograms of a batch of melodies."""
    return MelodyArrays.of(melodies).histograms()


@dataclass(frozen=True, slots=True)
class CadenceWeights:
    """Score bonuses added to a key's profile correlation when its tonic triad holds the
    melody's last / first note (``*_tonic`` when that note is the tonic itself)."""

    last_tonic: float = 0.2
    last_triad: float = 0.05
    first_tonic: float = 0.025
    first_triad: float = 0.05


NO_CADENCE = CadenceWeights(0.0, 0.0, 0.0, 0.0)


@dataclass(frozen=True, slots=True)
class KeyEstimate:
    """A detected key: profile ``correlation`` of that key (-1..1), ``margin`` of its score
    over the ``runner_up`` key's (0 = a tie; scores include the cadence bonuses)."""

    key: Key
    correlation: float
    margin: float
    runner_up: Key


def _triad_masks() -> tuple[np.ndarray, np.ndarray]:
    """(24, 12) one-hot of each key's tonic and (24, 12) of its whole tonic triad."""
    tonic, triad = np.zeros((24, 12)), np.zeros((24, 12))
    for i in range(24):
        k = key_of_index(i)
        tonic[i, k.tonic] = 1.0
        triad[i, list(k.triad_pitch_classes())] = 1.0
    return tonic, triad


_TONIC, _TRIAD = _triad_masks()


def key_scores(arrays: MelodyArrays, profile: str = DEFAULT_PROFILE,
               cadence: CadenceWeights = CadenceWeights()) -> tuple[np.ndarray, np.ndarray]:
    """(N, 24) profile correlations and (N, 24) scores (correlation + cadence bonuses)."""
    corr = key_correlations(arrays.histograms(), profile)
    score = corr.copy()
    for pitches, w_tonic, w_triad in zip(arrays.first_last_pitches(),
                                         (cadence.first_tonic, cadence.last_tonic),
                                         (cadence.first_triad, cadence.last_triad), strict=True):
        has = np.flatnonzero(pitches >= 0)
        pcs = pitches[has] % 12
        score[has] += w_tonic * _TONIC.T[pcs] + w_triad * _TRIAD.T[pcs]
    return corr, score


_KEYS = tuple(key_of_index(i) for i in range(24))
# music21 breaks exact ties towards the higher tonic pitch class, then minor over major.
_TIE_RANK = np.array([2 * (i % 12) + (i >= 12) for i in range(24)])


def rank_keys(score: np.ndarray) -> np.ndarray:
    """(N, 24) key indices (``key_of_index``) by falling score, ties broken like music21."""
    return np.lexsort((np.broadcast_to(-_TIE_RANK, score.shape), -np.round(score, 12)), axis=1)


def detect_keys(melodies: Sequence[Melody], profile: str = DEFAULT_PROFILE,
                cadence: CadenceWeights = CadenceWeights()) -> list[KeyEstimate | None]:
    """The key of each melody (None for a melody without notes): the engine's entry point.

    Profile correlation of the duration-weighted pitch-class histogram plus the cadence
    bonuses; ``cadence=NO_CADENCE`` gives music21's ``analyze(...)`` answer.
    """
    arrays = MelodyArrays.of(melodies)
    corr, score = key_scores(arrays, profile, cadence)
    top = rank_keys(score)[:, :2]
    rows = np.arange(len(top))
    best_corr = corr[rows, top[:, 0]].tolist()
    margin = (score[rows, top[:, 0]] - score[rows, top[:, 1]]).tolist()
    silent = arrays.first_last_pitches()[0] < 0
    return [None if silent[i] else KeyEstimate(_KEYS[b], best_corr[i], margin[i], _KEYS[r])
            for i, (b, r) in enumerate(top.tolist())]


@lru_cache(maxsize=16)
def _cadence_bonuses(cadence: CadenceWeights) -> tuple[np.ndarray, np.ndarray]:
    """(12, 24) bonus of each key for a first note of each pitch class, and for a last
    note: the rows ``key_scores`` adds, made once per weights (same products and sums)."""
    first = cadence.first_tonic * _TONIC.T + cadence.first_triad * _TRIAD.T
    last = cadence.last_tonic * _TONIC.T + cadence.last_triad * _TRIAD.T
    return first, last


# Below this many melodies ``detect_key_each`` asks ``detect_key`` of each: the batch's
# fixed numpy cost (~0.25 ms) is more than the melodies' own below ~6 (44 us a melody one by
# one against 249 / 52 / 32 us in batches of 1 / 4 / 8; scratch timing, thirty-fourth round
# in benchmarks/HISTORY.md). The floats are the same either way (tests/test_theory.py).
EACH_FROM = 6


def detect_key_each(melodies: Sequence[Melody], profile: str = DEFAULT_PROFILE,
                    cadence: CadenceWeights = CadenceWeights()) -> list[KeyEstimate | None]:
    """``[detect_key(m) for m in melodies]``, the same floats, worked out together (a rule
    that draws thousands of children finds their keys at once): the histograms, centring,
    norms, cadence bonuses and ranking of all rows in numpy, each row by the same ufuncs as
    ``detect_key``'s; the one product of a row with the profiles row by row, as
    ``key_correlation_row`` takes it (a product of many rows at once rounds differently in
    the last bit, which could turn a tie the other way). A melody with a pitch below 0
    takes ``detect_keys``'s reading, as ``detect_key`` gives it one."""
    if len(melodies) < EACH_FROM:
        return [detect_key(m, profile, cadence) for m in melodies]
    arrays = MelodyArrays.of(melodies)
    h = arrays.histograms()
    h = h - np.add.reduce(h, axis=1, keepdims=True) / 12
    norms = np.sqrt(np.add.reduce(h * h, axis=1, keepdims=True))
    norms[norms == 0] = 1.0
    h = h / norms
    profiles = _matrix(profile, ("major", "minor")).T
    corr = np.empty((len(melodies), 24))
    for k in range(len(melodies)):
        np.matmul(h[k:k + 1], profiles, out=corr[k:k + 1])
    first, last = _cadence_bonuses(cadence)
    first_pitch, last_pitch = arrays.first_last_pitches()
    score = corr + first[first_pitch % 12]
    score += last[last_pitch % 12]
    top = rank_keys(score)[:, :2]
    rows = np.arange(len(melodies))
    best_corr = corr[rows, top[:, 0]].tolist()
    margin = (score[rows, top[:, 0]] - score[rows, top[:, 1]]).tolist()
    silent = (first_pitch < 0).tolist()  # no note (a pitch below 0 is read as a rest, as there)
    return [None if silent[i] else KeyEstimate(_KEYS[b], best_corr[i], margin[i], _KEYS[r])
            for i, (b, r) in enumerate(top.tolist())]


def detect_key(melody: Melody, profile: str = DEFAULT_PROFILE,
               cadence: CadenceWeights = CadenceWeights()) -> KeyEstimate | None:
    """``detect_keys`` for one melody: the same arithmetic on one row, without building
    the batch arrays (rules call it for every variant whose key they cannot derive)."""
    notes = melody.notes
    if not notes or min(notes) < 0:  # the batch arrays take a negative pitch for a rest
        return detect_keys([melody], profile, cadence)[0]
    corr = key_correlation_row(melody.pitch_class_histogram(), profile)
    first, last = _cadence_bonuses(cadence)
    score = corr + first[notes[0] % 12]
    score += last[notes[-1] % 12]
    best, runner_up = rank_keys(score)[0, :2].tolist()
    return KeyEstimate(_KEYS[best], float(corr[0, best]),
                       float(score[0, best] - score[0, runner_up]), _KEYS[runner_up])
