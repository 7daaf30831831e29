"""Diversity metrics of a set of examples: plain functions with their definitions.

Every metric takes a sequence of examples and returns a float where larger means more
diverse (except ``largest_family_share``, where smaller is better). Entropies are in bits.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Sequence

import numpy as np

from . import ragged
from .example import Example
from .melody import MAX_PITCH
from .theory import MelodyArrays

INTERVAL_BINS = 25  # -12..+12 semitones; larger leaps fold into the outer bins
DURATION_BINS = 9  # log2 of quarter notes, -4 (64th) .. +4 (breve)


def _entropy(items: Iterable[Hashable]) -> float:
    counts = np.array(list(Counter(items).values()), dtype=float)
    if counts.sum() == 0:
        return 0.0
    p = counts / counts.sum()
    return float(-(p * np.log2(p)).sum())


def key_entropy(examples: Sequence[Example]) -> float:
    """Entropy of the key names (24+ keys; max log2(#keys)); unknown keys count as one."""
    return _entropy(e.key.name if e.key else "?" for e in examples)


def mode_entropy(examples: Sequence[Example]) -> float:
    """Entropy of the modes (major, minor, church modes)."""
    return _entropy(e.key.mode if e.key else "?" for e in examples)


def _ngrams(seq: Sequence[Hashable], n: int) -> list[tuple[Hashable, ...]]:
    return [tuple(seq[i:i + n]) for i in range(len(seq) - n + 1)]


def _arrays(examples: Sequence[Example] | MelodyArrays) -> MelodyArrays:
    """The melodies as flat arrays (the melody metrics accept either)."""
    return examples if isinstance(examples, MelodyArrays) else \
        MelodyArrays.of([e.melody for e in examples])


def pitch_class_entropy(examples: Sequence[Example] | MelodyArrays) -> float:
    """Entropy of the pooled duration-weighted pitch-class histogram (max log2 12 = 3.585)."""
    total = _arrays(examples).histograms().sum(axis=0)
    if total.sum() == 0:
        return 0.0
    p = total[total > 0] / total.sum()
    return float(-(p * np.log2(p)).sum())


def _distinct_ngrams(values: np.ndarray, owner: np.ndarray, n: int) -> int:
    """Distinct runs of ``n`` consecutive values that lie inside one melody.

    ``values`` are small non-negative integers, back to back for all melodies; ``owner``
    gives each value's melody (ascending, so a run inside one melody has equal ends)."""
    if len(values) < n:
        return 0
    last = len(values) - n + 1
    inside = owner[:last] == owner[n - 1:]
    base = int(values.max(initial=0)) + 1
    if base ** n >= 2 ** 62:  # too many to number: compare the runs themselves
        return len(np.unique(np.stack([values[j:last + j][inside] for j in range(n)], axis=1),
                             axis=0))
    code = values[:last].astype(np.int64)  # one integer per run, in base ``base``
    for j in range(1, n):
        code *= base
        code += values[j:last + j]
    code = code[inside]
    if base ** n <= 1 << 24:  # a small space: count the numbers that occur
        return int(np.count_nonzero(np.bincount(code, minlength=base ** n)))
    return len(np.unique(code))


def _intervals(arrays: MelodyArrays) -> tuple[np.ndarray, np.ndarray]:
    """Semitone steps between consecutive sounding notes of each melody (rests skipped),
    back to back, with the melody of each step."""
    owner = ragged.owners(arrays.starts)
    sounding = arrays.pitches >= 0
    notes, note_owner = arrays.pitches[sounding], owner[sounding]
    same = note_owner[1:] == note_owner[:-1]
    return (notes[1:] - notes[:-1])[same], note_owner[1:][same]


def distinct_interval_ngrams(examples: Sequence[Example] | MelodyArrays, n: int = 3,
                             steps: tuple[np.ndarray, np.ndarray] | None = None) -> float:
    """Number of distinct n-grams of semitone intervals over all melodies (``steps``:
    ``_intervals`` of the melodies, when already computed)."""
    step, owner = steps or _intervals(_arrays(examples))
    return float(_distinct_ngrams(step + MAX_PITCH, owner, n))


def contour_variety(examples: Sequence[Example] | MelodyArrays, n: int = 5,
                    steps: tuple[np.ndarray, np.ndarray] | None = None) -> float:
    """Number of distinct n-grams of melodic direction (up / down / same)."""
    step, owner = steps or _intervals(_arrays(examples))
    return float(_distinct_ngrams(np.sign(step) + 1, owner, n))


def rhythm_variety(examples: Sequence[Example] | MelodyArrays, n: int = 4) -> float:
    """Number of distinct n-grams of durations (quarter notes; rests marked)."""
    arrays = _arrays(examples)
    owner = ragged.owners(arrays.starts)
    # Rank among the few distinct durations (an inverse from np.unique would sort them all).
    duration = np.searchsorted(np.unique(arrays.quarters), arrays.quarters)
    return float(_distinct_ngrams(duration * 2 + (arrays.pitches < 0), owner, n))


def prompt_variety(examples: Sequence[Example], n: int = 2) -> float:
    """Number of distinct word n-grams over all prompts (lower-cased)."""
    grams = set()
    for prompt in {e.prompt or "" for e in examples}:  # many variants share a prompt
        words = re.findall(r"[\w#']+", prompt.lower())
        grams.update(_ngrams(words, n))
    return float(len(grams))


def largest_family_share(examples: Sequence[Example]) -> float:
    """Share of the examples held by the biggest seed family (smaller is more diverse)."""
    if not examples:
        return 0.0
    return max(Counter(e.seed_id for e in examples).values()) / len(examples)


def features(examples: Sequence[Example]) -> np.ndarray:
    """Musical feature rows: pitch-class, interval and duration histograms, each L2-unit.

    The cosine of two rows (a value in [0, 1]) is the musical similarity used by the
    Vendi score and by the selection. Intervals beyond an octave fold into the outer bins;
    durations go to the nearest power of two of a quarter, from a 64th to a breve.
    """
    arrays = _arrays(examples)
    n = len(arrays)
    rows = np.zeros((n, 12 + INTERVAL_BINS + DURATION_BINS))
    rows[:, :12] = arrays.histograms()
    steps, owner = _intervals(arrays)
    rows[:, 12:12 + INTERVAL_BINS] = np.bincount(
        owner * INTERVAL_BINS + np.clip(steps, -12, 12) + 12,
        minlength=n * INTERVAL_BINS).reshape(n, INTERVAL_BINS)
    event_owner = ragged.owners(arrays.starts)
    power = np.clip(np.round(np.log2(arrays.quarters)), -4, 4).astype(np.int64) + 4
    rows[:, 12 + INTERVAL_BINS:] = np.bincount(
        event_owner * DURATION_BINS + power, minlength=n * DURATION_BINS).reshape(n, DURATION_BINS)
    for lo, hi in ((0, 12), (12, 12 + INTERVAL_BINS), (12 + INTERVAL_BINS, rows.shape[1])):
        norm = np.linalg.norm(rows[:, lo:hi], axis=1, keepdims=True)
        rows[:, lo:hi] /= np.where(norm == 0, 1, norm)
    return rows / np.sqrt(3)


def vendi_score(examples: Sequence[Example], max_examples: int = 400) -> float:
    """exp(entropy of the eigenvalues of K/n), K the cosine similarity of ``features``.

    The effective number of distinct melodies (Friedman & Dieng 2023): 1 for copies of
    one melody, n for n mutually orthogonal ones. Above ``max_examples`` an evenly spaced
    subset (by id) is scored.
    """
    if not examples:
        return 0.0
    ordered = sorted(examples, key=lambda e: e.id)
    if len(ordered) > max_examples:
        ordered = [ordered[i] for i in np.linspace(0, len(ordered) - 1, max_examples).astype(int)]
    x = features(ordered)
    # K/n = X X^T / n shares its non-zero eigenvalues with X^T X / n, which is only as wide
    # as a feature row (46 x 46 instead of n x n).
    eig = np.linalg.eigvalsh(x.T @ x / len(ordered))
    eig = eig[eig > 1e-12]
    return float(np.exp(-(eig * np.log(eig)).sum()))


METRICS: dict[str, Callable[[Sequence[Example]], float]] = {
    "key_entropy": key_entropy,
    "mode_entropy": mode_entropy,
    "pitch_class_entropy": pitch_class_entropy,
    "distinct_interval_3grams": distinct_interval_ngrams,
    "contour_variety": contour_variety,
    "rhythm_variety": rhythm_variety,
    "prompt_variety": prompt_variety,
    "largest_family_share": largest_family_share,
    "vendi_score": vendi_score,
}


MELODY_METRICS = {pitch_class_entropy, distinct_interval_ngrams, contour_variety, rhythm_variety}


def diversity_report(examples: Sequence[Example], arrays: MelodyArrays | None = None
                     ) -> dict[str, float]:
    """Every metric in ``METRICS``, rounded to 4 places (the melodies made flat arrays once;
    ``arrays``, when given, must be ``MelodyArrays.of`` the examples' melodies)."""
    arrays = MelodyArrays.of([e.melody for e in examples]) if arrays is None else arrays
    steps = _intervals(arrays)  # shared by the interval and contour metrics
    out = {}
    for name, f in METRICS.items():
        if f in (distinct_interval_ngrams, contour_variety):
            value = f(arrays, steps=steps)
        else:
            value = f(arrays) if f in MELODY_METRICS else f(examples)
        out[name] = round(value, 4)
    return out
