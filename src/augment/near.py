"""Melody identity beyond the text: invariant tokens, shingles, MinHash-LSH, similarity.

A melody is read as a sequence of *tokens*, one per event after the first: the interval
in semitones from the previous sounding note (``R`` for a rest) and the event's duration
as a ratio to the previous event's duration. Transposing a melody or playing it at another
tempo (scaling every duration) leaves the tokens unchanged, so two melodies with equal
tokens are the same tune (an *invariant duplicate*).

Near duplicates (one or two notes changed, an ornament inserted, a rhythm altered) are
found in two steps: MinHash-LSH over k-token shingles proposes candidate pairs cheaply;
each candidate is then verified with an exact similarity, the token edit similarity
``1 - levenshtein(a, b) / max(len(a), len(b))``.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from .melody import Melody

# Hashes live below this Mersenne prime so that a * x + b never overflows uint64.
PRIME = (1 << 31) - 1
Tokens = tuple[str, ...]


def melody_tokens(melody: Melody) -> Tokens:
    """(interval from the previous sounding note | R, duration ratio) per event after the first."""
    tokens: list[str] = []
    last_pitch: int | None = None
    for i, (pitch, duration) in enumerate(melody.pairs()):
        if i > 0:
            ratio = duration / melody.durations[i - 1]
            if pitch is None:
                step = "R"
            elif last_pitch is None:
                step = "S"
            else:
                step = f"{pitch - last_pitch:+d}"
            tokens.append(f"{step}:{ratio}")
        if pitch is not None:
            last_pitch = pitch
    return tuple(tokens)


def invariant_key(melody: Melody) -> str:
    """Equal for melodies that differ only by transposition and tempo (duration scale)."""
    first = "R" if melody.pitches and melody.pitches[0] is None else "N"
    text = json.dumps([first, list(melody_tokens(melody))])
    return hashlib.sha256(text.encode()).hexdigest()


@lru_cache(maxsize=65536)
def _token_hash(token: str) -> int:
    return int.from_bytes(hashlib.blake2b(token.encode(), digest_size=4).digest(), "little")


def shingles(tokens: Tokens, size: int) -> np.ndarray:
    """Distinct 32-bit hashes of every run of ``size`` consecutive tokens (sorted)."""
    if not tokens:
        return np.zeros(0, dtype=np.uint64)
    ids = np.array([_token_hash(t) for t in tokens], dtype=np.uint64)
    if len(ids) < size:
        size = len(ids)
    n = len(ids) - size + 1
    h = ids[:n].copy()
    for j in range(1, size):
        h = ((h * np.uint64(1_000_003)) ^ ids[j:j + n]) & np.uint64(0xFFFFFFFF)
    return np.unique(h)


@dataclass(frozen=True)
class MinHasher:
    """``num_perm`` universal hash functions (a*x + b mod PRIME) from a fixed seed."""

    num_perm: int = 128
    seed: int = 1

    def _ab(self) -> tuple[np.ndarray, np.ndarray]:
        rng = np.random.default_rng(self.seed)
        a = rng.integers(1, PRIME, size=self.num_perm, dtype=np.uint64)
        b = rng.integers(0, PRIME, size=self.num_perm, dtype=np.uint64)
        return a, b

    def signature(self, shingle_hashes: np.ndarray) -> np.ndarray:
        """The minimum of each hash function over the shingles (PRIME for an empty set)."""
        if len(shingle_hashes) == 0:
            return np.full(self.num_perm, PRIME, dtype=np.uint64)
        a, b = self._ab()
        x = shingle_hashes.astype(np.uint64) % np.uint64(PRIME)
        return ((np.outer(a, x) + b[:, None]) % np.uint64(PRIME)).min(axis=1)

    def signatures(self, shingle_sets: Sequence[np.ndarray]) -> np.ndarray:
        return np.vstack([self.signature(s) for s in shingle_sets]) if shingle_sets else \
            np.zeros((0, self.num_perm), dtype=np.uint64)


def estimated_jaccard(sig_a: np.ndarray, sig_b: np.ndarray) -> float:
    """Share of hash functions whose minimum agrees: an unbiased Jaccard estimate."""
    return float(np.mean(sig_a == sig_b))


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    union = len(np.union1d(a, b))
    return len(np.intersect1d(a, b)) / union if union else 1.0


def lsh_bands(threshold: float, num_perm: int) -> tuple[int, int]:
    """(bands, rows) whose collision curve 1-(1-s^r)^b best separates at ``threshold``.

    Minimises the area of false positives below the threshold plus false negatives above
    it (the criterion datasketch uses).
    """
    best = (num_perm, 1)
    best_err = float("inf")
    s = np.linspace(0, 1, 201)
    for rows in range(1, num_perm + 1):
        bands = num_perm // rows
        p = 1 - (1 - s ** rows) ** bands
        err = float(np.trapezoid(np.where(s < threshold, p, 1 - p), s))
        if err < best_err - 1e-12:
            best, best_err = (bands, rows), err
    return best


def edit_similarity(a: Tokens, b: Tokens) -> float:
    """1 - Levenshtein distance over tokens / the longer length (1.0 for two empty melodies)."""
    if not a and not b:
        return 1.0
    prev = list(range(len(b) + 1))
    for i, ta in enumerate(a, start=1):
        cur = [i] + [0] * len(b)
        for j, tb in enumerate(b, start=1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ta != tb))
        prev = cur
    return 1 - prev[-1] / max(len(a), len(b))


@dataclass(frozen=True)
class NearParams:
    """How near duplicates are found: shingle size, LSH banding and the verified threshold."""

    shingle_size: int = 3
    lsh_threshold: float = 0.3
    similarity: float = 0.8
    num_perm: int = 128
    min_tokens: int = 7

    def bands(self) -> tuple[int, int]:
        return lsh_bands(self.lsh_threshold, self.num_perm)


def candidate_pairs(signatures: np.ndarray, bands: int, rows: int) -> list[tuple[int, int]]:
    """Index pairs (i < j) that share at least one LSH band bucket, sorted."""
    pairs: set[tuple[int, int]] = set()
    for band in range(bands):
        buckets: dict[bytes, list[int]] = defaultdict(list)
        block = np.ascontiguousarray(signatures[:, band * rows:(band + 1) * rows])
        for i in range(len(block)):
            buckets[block[i].tobytes()].append(i)
        for members in buckets.values():
            for x in range(len(members)):
                for y in range(x + 1, len(members)):
                    pairs.add((members[x], members[y]))
    return sorted(pairs)


def near_pairs(token_seqs: Sequence[Tokens], params: NearParams) -> list[tuple[int, int, float]]:
    """Verified near-duplicate pairs (i < j, similarity >= params.similarity), sorted.

    Sequences shorter than ``params.min_tokens`` take no part: a short motif shares too
    much with unrelated tunes for its edits to be told from them.
    """
    usable = [i for i, t in enumerate(token_seqs) if len(t) >= params.min_tokens]
    if len(usable) < 2:
        return []
    hasher = MinHasher(params.num_perm)
    sigs = hasher.signatures([shingles(token_seqs[i], params.shingle_size) for i in usable])
    bands, rows = params.bands()
    out = []
    for x, y in candidate_pairs(sigs, bands, rows):
        i, j = usable[x], usable[y]
        sim = edit_similarity(token_seqs[i], token_seqs[j])
        if sim >= params.similarity:
            out.append((i, j, sim))
    return out
