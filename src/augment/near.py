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
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from math import gcd

import numpy as np

from .editdist import distances_job, edit_distances, token_ids
from .melody import Melody
from .parallel import Mapper

# Hashes live below this Mersenne prime so that a * x + b never overflows uint64.
PRIME = (1 << 31) - 1
Tokens = tuple[str, ...]


def melody_tokens(melody: Melody) -> Tokens:
    """(interval from the previous sounding note | R, duration ratio) per event after the first."""
    tokens: list[str] = []
    last_pitch: int | None = None
    durations = melody.durations
    for i, (pitch, duration) in enumerate(melody.pairs()):
        if i > 0:
            ratio = _ratio_text(duration, durations[i - 1])
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


def _ratio_text(a: Fraction, b: Fraction) -> str:
    """``str(a / b)`` for positive fractions, in integer arithmetic (no Fraction built)."""
    num, den = a.numerator * b.denominator, a.denominator * b.numerator
    g = gcd(num, den)
    return f"{num // g}" if den == g else f"{num // g}/{den // g}"


def invariant_key(melody: Melody, tokens: Tokens | None = None) -> str:
    """Equal for melodies that differ only by transposition and tempo (duration scale).

    ``tokens``, when the caller has them, must be ``melody_tokens(melody)``."""
    first = "R" if melody.pitches and melody.pitches[0] is None else "N"
    text = json.dumps([first, list(melody_tokens(melody) if tokens is None else tokens)])
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

    def signatures(self, shingle_sets: Sequence[np.ndarray], chunk_shingles: int = 1 << 12
                   ) -> np.ndarray:
        """One signature per set (rows), equal to ``signature`` of each, computed in batches
        of about ``chunk_shingles`` shingles (memory: 8 * num_perm bytes per shingle)."""
        out = np.full((len(shingle_sets), self.num_perm), PRIME, dtype=np.uint64)
        a, b = self._ab()
        start = 0
        while start < len(shingle_sets):
            stop, total = start, 0
            while stop < len(shingle_sets) and (total == 0 or total + len(shingle_sets[stop])
                                                <= chunk_shingles):
                total += len(shingle_sets[stop])
                stop += 1
            sets = [(i, s) for i, s in enumerate(shingle_sets[start:stop], start) if len(s)]
            if sets:
                x = np.concatenate([s for _, s in sets]).astype(np.uint64) % np.uint64(PRIME)
                hashed = np.multiply.outer(a, x)  # in place from here: no temporaries
                hashed += b[:, None]
                hashed %= np.uint64(PRIME)
                offsets = np.cumsum([0] + [len(s) for _, s in sets[:-1]])
                out[[i for i, _ in sets]] = np.minimum.reduceat(hashed, offsets, axis=1).T
            start = stop
        return out


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


def edit_distance(a: Sequence[object], b: Sequence[object]) -> int:
    """Levenshtein distance over tokens (insert, delete, substitute cost 1).

    Myers' bit-vector algorithm (Hyyro's formulation): one column of the edit table is two
    bit masks, so each token of ``b`` costs a handful of integer operations.
    """
    if not a or not b:
        return len(a) + len(b)
    peq: dict[object, int] = {}
    for i, token in enumerate(a):
        peq[token] = peq.get(token, 0) | (1 << i)
    mask = (1 << len(a)) - 1
    last = 1 << (len(a) - 1)
    pv, mv, score = mask, 0, len(a)
    for token in b:
        eq = peq.get(token, 0)
        xv = eq | mv
        xh = (((eq & pv) + pv) ^ pv) | eq
        ph = (mv | ~(xh | pv)) & mask
        mh = pv & xh
        if ph & last:
            score += 1
        elif mh & last:
            score -= 1
        ph = ((ph << 1) | 1) & mask
        mh = (mh << 1) & mask
        pv = (mh | ~(xv | ph)) & mask
        mv = ph & xv
    return score


def edit_similarity(a: Tokens, b: Tokens) -> float:
    """1 - Levenshtein distance over tokens / the longer length (1.0 for two empty melodies)."""
    if not a and not b:
        return 1.0
    return 1 - edit_distance(a, b) / max(len(a), len(b))


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


def _bucket_pairs(order: np.ndarray, starts: np.ndarray, size: int, group: np.ndarray,
                  n: int) -> np.ndarray:
    """Codes ``i * n + j`` of the cross-group pairs inside the buckets of one size."""
    members = order[starts[:, None] + np.arange(size)]  # one bucket per row, indices ascending
    x, y = np.triu_indices(size, 1)
    left, right = members[:, x], members[:, y]
    keep = group[left] != group[right]
    return left[keep] * n + right[keep]


def _large_bucket_pairs(members: np.ndarray, group: np.ndarray, n: int) -> np.ndarray:
    """Codes of the cross-group pairs of one big bucket, never building same-group pairs."""
    by_group = members[np.argsort(group[members], kind="stable")]
    g = group[by_group]
    cuts = np.flatnonzero(np.r_[True, g[1:] != g[:-1], True])
    out = []
    for a, b in zip(cuts[:-1], cuts[1:], strict=True):
        run, rest = by_group[a:b], by_group[b:]
        if len(rest):
            left, right = np.repeat(run, len(rest)), np.tile(rest, len(run))
            out.append(np.minimum(left, right) * n + np.maximum(left, right))
    return np.concatenate(out) if out else np.zeros(0, dtype=np.int64)


def candidate_pairs(signatures: np.ndarray, bands: int, rows: int,
                    groups: Sequence[int] | np.ndarray | None = None) -> list[tuple[int, int]]:
    """Index pairs (i < j) that share at least one LSH band bucket, sorted.

    With ``groups`` (one integer per row), pairs of rows in the same group are left out.
    """
    n = len(signatures)
    if n < 2:
        return []
    group = np.arange(n) if groups is None else np.asarray(groups, dtype=np.int64)
    index = np.arange(n)
    found = []
    for band in range(bands):
        block = np.ascontiguousarray(signatures[:, band * rows:(band + 1) * rows])
        bucket = np.unique(block, axis=0, return_inverse=True)[1].ravel()
        order = np.lexsort((index, bucket))
        ranked = bucket[order]
        starts = np.flatnonzero(np.r_[True, ranked[1:] != ranked[:-1]])
        sizes = np.diff(np.r_[starts, n])
        for size in np.unique(sizes[sizes > 1]).tolist():
            at = starts[sizes == size]
            if size <= 32:
                found.append(_bucket_pairs(order, at, size, group, n))
            else:
                found.extend(_large_bucket_pairs(order[s:s + size], group, n) for s in at.tolist())
    codes = np.unique(np.concatenate(found)) if found else np.zeros(0, dtype=np.int64)
    return list(zip((codes // n).tolist(), (codes % n).tolist(), strict=True))


def near_pairs(token_seqs: Sequence[Tokens], params: NearParams,
               groups: Sequence[int] | None = None, *, mapper: Mapper | None = None
               ) -> list[tuple[int, int, float]]:
    """Verified near-duplicate pairs (i < j, similarity >= params.similarity), sorted.

    Sequences shorter than ``params.min_tokens`` take no part: a short motif shares too
    much with unrelated tunes for its edits to be told from them. With ``groups`` (one
    integer per sequence), pairs inside one group are not looked for: a caller that only
    needs pairs across seed families (or across splits) passes the family (split) number.
    ``mapper`` (``parallel.Mapper``) verifies the candidates in chunks when there are many.
    """
    usable = [i for i, t in enumerate(token_seqs) if len(t) >= params.min_tokens]
    if len(usable) < 2:
        return []
    hasher = MinHasher(params.num_perm)
    sigs = hasher.signatures([shingles(token_seqs[i], params.shingle_size) for i in usable])
    bands, rows = params.bands()
    group = None if groups is None else [groups[i] for i in usable]
    pairs = np.array(candidate_pairs(sigs, bands, rows, group), dtype=np.int64).reshape(-1, 2)
    ids, lengths = token_ids([token_seqs[i] for i in usable])
    x, y = pairs[:, 0], pairs[:, 1]
    longer = np.maximum(lengths[x], lengths[y])
    # The distance is at least the length difference: skip pairs that cannot reach it.
    reachable = 1 - np.abs(lengths[x] - lengths[y]) / longer >= params.similarity
    x, y, longer = x[reachable], y[reachable], longer[reachable]
    distance = _distances(ids, lengths, x, y, mapper)
    out = []
    for a, b, d, n in zip(x.tolist(), y.tolist(), distance.tolist(), longer.tolist(), strict=True):
        sim = 1 - d / n  # as edit_similarity computes it
        if sim >= params.similarity:
            out.append((usable[a], usable[b], sim))
    return out


VERIFY_CHUNK = 50_000  # candidate pairs per mapped job


def _distances(ids: np.ndarray, lengths: np.ndarray, x: np.ndarray, y: np.ndarray,
               mapper: Mapper | None) -> np.ndarray:
    """``edit_distances`` of the pairs, in chunks through ``mapper`` when there are many;
    each job carries only the token rows its pairs use."""
    if mapper is None or len(x) <= VERIFY_CHUNK:
        return edit_distances(ids, lengths, x, y)
    jobs = []
    for start in range(0, len(x), VERIFY_CHUNK):
        cx, cy = x[start:start + VERIFY_CHUNK], y[start:start + VERIFY_CHUNK]
        rows = np.unique(np.r_[cx, cy])
        jobs.append((ids[rows], lengths[rows], np.searchsorted(rows, cx), np.searchsorted(rows, cy)))
    return np.concatenate(list(mapper(distances_job, jobs)))
