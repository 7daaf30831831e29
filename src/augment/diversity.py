"""Diversity metrics of a set of examples: plain functions with their definitions.

Every metric takes a sequence of examples and returns a float where larger means more
diverse (except ``largest_family_share``, where smaller is better). Entropies are in bits.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Sequence

import numpy as np

from .example import Example

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


def pitch_class_entropy(examples: Sequence[Example]) -> float:
    """Entropy of the pooled duration-weighted pitch-class histogram (max log2 12 = 3.585)."""
    total = sum((e.melody.pitch_class_histogram() for e in examples), np.zeros(12))
    if total.sum() == 0:
        return 0.0
    p = total[total > 0] / total.sum()
    return float(-(p * np.log2(p)).sum())


def _ngrams(seq: Sequence[Hashable], n: int) -> list[tuple[Hashable, ...]]:
    return [tuple(seq[i:i + n]) for i in range(len(seq) - n + 1)]


def distinct_interval_ngrams(examples: Sequence[Example], n: int = 3) -> float:
    """Number of distinct n-grams of semitone intervals over all melodies."""
    return float(len({g for e in examples for g in _ngrams(e.melody.intervals(), n)}))


def contour_variety(examples: Sequence[Example], n: int = 5) -> float:
    """Number of distinct n-grams of melodic direction (up / down / same)."""
    def contour(e: Example) -> list[int]:
        return [int(np.sign(i)) for i in e.melody.intervals()]
    return float(len({g for e in examples for g in _ngrams(contour(e), n)}))


def rhythm_variety(examples: Sequence[Example], n: int = 4) -> float:
    """Number of distinct n-grams of durations (quarter notes; rests marked)."""
    def rhythm(e: Example) -> list[tuple[bool, int, int]]:
        # (numerator, denominator) counts the same distinct durations as the Fraction,
        # and hashes far faster.
        return [(p is None, d.numerator, d.denominator) for p, d in e.melody.pairs()]
    return float(len({g for e in examples for g in _ngrams(rhythm(e), n)}))


def prompt_variety(examples: Sequence[Example], n: int = 2) -> float:
    """Number of distinct word n-grams over all prompts (lower-cased)."""
    grams = set()
    for e in examples:
        words = re.findall(r"[\w#']+", (e.prompt or "").lower())
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
    Vendi score and by the selection.
    """
    rows = np.zeros((len(examples), 12 + INTERVAL_BINS + DURATION_BINS))
    for r, e in enumerate(examples):
        rows[r, :12] = e.melody.pitch_class_histogram()
        for step in e.melody.intervals():
            rows[r, 12 + min(max(step, -12), 12) + 12] += 1
        for d in e.melody.durations:
            b = int(np.clip(round(np.log2(float(d))), -4, 4)) + 4
            rows[r, 12 + INTERVAL_BINS + b] += 1
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
    eig = np.linalg.eigvalsh(x @ x.T / len(ordered))
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


def diversity_report(examples: Sequence[Example]) -> dict[str, float]:
    """Every metric in ``METRICS``, rounded to 4 places."""
    return {name: round(f(examples), 4) for name, f in METRICS.items()}
