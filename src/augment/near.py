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

The MinHash functions are multiply-add-shift hashes of the 32-bit shingle hashes: the top
32 bits of ``(a * x + b) mod 2**64`` with random 64-bit ``a`` and ``b``, a strongly
universal (pairwise independent) family, like the ``(a * x + b) mod p`` of textbook
MinHash but with no division. The minimum of the top bits is the top bits of the minimum,
so a compiled loop (numba) takes the minimum of every function's top bits over a set's
shingles, with no temporaries: for hashes below 2**32 (all that ``shingles`` and
``shingle_runs`` make) from the 32-bit halves of ``a`` and ``b`` in 32-bit lanes
(``_min_hash_loop32``), else in 64 bits (``_min_hash_loop``). A process that hashes
little (a run of a few dozen seeds) takes the same minima in numpy instead
(``NUMPY_SHINGLES``): loading numba and the loop costs ~0.5 s, more than such a run's
whole near-duplicate work.
"""

from __future__ import annotations

import hashlib
import operator
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from math import gcd
from typing import overload

import numpy as np

from . import compiled, ragged
from .editdist import Tokenized, distances_job, edit_distance, edit_distances, token_ids
from .melody import GridArrays, Melody, Ticks
from .parallel import Mapper, in_windows, per_call

# The signature value of an empty set (every function's minimum over no shingle).
EMPTY = np.uint32(0xFFFF_FFFF)
Tokens = tuple[str, ...]


def melody_tokens(melody: Melody) -> Tokens:
    """(interval from the previous sounding note | R, duration ratio) per event after the first."""
    pitches, ticks = melody.pitches, melody.ticks
    ratios = map(_ratio_text, ticks[1:], ticks)  # a ratio of ticks is the ratio of quarters
    if None not in pitches:  # no rest: each step is the interval from the previous note
        steps = map(_STEP_TEXT.__getitem__, map(operator.sub, pitches[1:], pitches))
        return tuple(map(operator.add, steps, ratios))
    tokens: list[str] = []
    last_pitch: int | None = None
    for previous, pitch, ratio in zip(pitches, pitches[1:], ratios, strict=False):
        if previous is not None:
            last_pitch = previous
        if pitch is None:
            step = "R:"
        elif last_pitch is None:
            step = "S:"
        else:
            step = _STEP_TEXT[pitch - last_pitch]
        tokens.append(step + ratio)
    return tuple(tokens)


def batch_tokens(melodies: Sequence[Melody], grid: GridArrays | None = None) -> Tokenized | None:
    """The tokens of every melody (``melody_tokens``), numbered, made with numpy over all
    the melodies at once (a seed's variants). The same sequences of token texts as
    ``token_ids([melody_tokens(m) for m in melodies])`` gives, but numbered in the order
    of their codes rather than first seen (one number a text). None
    when a duration is off the tick grid, a pitch or tick count is out of the codes'
    range, or there is no token: the caller then tokenizes melody by melody. ``grid``: the
    melodies laid out already (``GridArrays.of``).

    A token's code is (step kind, duration pair): the step kind is the interval from the
    previous sounding note (+128), a rest, or a note with no sounding note before it in its
    melody; the pair is (this duration, the previous one) as indices of the distinct tick
    counts, whose reduced ratio is the token's second part.
    """
    if grid is None:
        grid = GridArrays.of(melodies)
    return None if grid is None else grid_tokens(grid)


def grid_tokens(grid: GridArrays) -> Tokenized | None:
    """``batch_tokens`` of the melodies laid out in ``grid`` (None under the same conditions)."""
    if not len(grid.ticks):
        return None
    p, t, starts = grid.pitches, grid.ticks, grid.starts
    if t.min() < 1 or t.max() > _MAX_TICKS or p.min() < -1 or p.max() > 127:
        return None
    lengths = np.diff(starts)
    first = np.zeros(len(t), dtype=bool)
    first[starts[:-1][lengths > 0]] = True
    at = np.flatnonzero(~first)  # every event after the first of its melody: one token each
    if not len(at):
        return None
    values, tick_index = ragged.factorize(t)  # the distinct tick counts, and each event's
    k = len(values)
    # The last sounding event at or before each event (-1: none yet), over all melodies.
    last = np.maximum.accumulate(np.where(p >= 0, np.arange(len(p)), -1))
    before = last[at - 1]
    owner_start = starts[ragged.owners(starts)][at]
    kind = np.where(p[at] < 0, _REST, np.where(before >= owner_start,
                                                p[at] - p[np.maximum(before, 0)] + 128, _START))
    codes = kind * (k * k) + tick_index[at] * k + tick_index[at - 1]
    distinct, number = ragged.factorize(codes)
    g = np.gcd(values[:, None], values[None, :])
    nums, dens = (values[:, None] // g).reshape(-1), (values[None, :] // g).reshape(-1)
    pair = distinct % (k * k)
    texts = list(map(_token_text, (distinct // (k * k)).tolist(), nums[pair].tolist(), dens[pair].tolist()))
    # Codes whose ratios reduce alike (12/24 and 24/48 ticks: "1/2") are one token.
    vocab = dict.fromkeys(texts, 0)
    for n, text in enumerate(vocab):
        vocab[text] = n
    renumber = np.fromiter(map(vocab.__getitem__, texts), np.int32, len(texts))
    token_starts = np.zeros(len(grid) + 1, dtype=np.int64)
    np.cumsum(np.maximum(lengths - 1, 0), out=token_starts[1:])
    return Tokenized(renumber[number], token_starts, tuple(vocab))


_MAX_TICKS = 1 << 20  # (a whole note is 192 ticks)
_REST, _START = 256, 257  # step kinds besides an interval + 128 (0-255)


def _token_text(kind: int, num: int, den: int) -> str:
    step = "R:" if kind == _REST else "S:" if kind == _START else _STEP_TEXT[kind - 128]
    return step + (f"{num}" if den == 1 else f"{num}/{den}")


def invariant_digests(melodies: Sequence[Melody], tok: Tokenized) -> list[bytes]:
    """The sha256 digest of ``invariant_key`` of each melody, ``tok`` being their tokens
    (``batch_tokens`` or ``token_ids`` of them)."""
    texts = np.array(tok.vocab, dtype=object)[tok.flat].tolist() if len(tok.flat) else []
    bounds = tok.starts.tolist()
    out = []
    sha = hashlib.sha256
    for m, lo, hi in zip(melodies, bounds, bounds[1:], strict=False):
        first = "R" if m.pitches and m.pitches[0] is None else "N"
        listed = '["' + '", "'.join(texts[lo:hi]) + '"]' if hi > lo else "[]"
        out.append(sha(f'["{first}", {listed}]'.encode()).digest())
    return out


class _StepTexts(dict[int, str]):
    """The interval part of a token with its colon ("+2:", "-12:", "+0:"), made once each."""

    def __missing__(self, interval: int) -> str:
        text = self[interval] = f"{interval:+d}:"
        return text


_STEP_TEXT = _StepTexts()


@lru_cache(maxsize=1 << 14)
def _ratio_text(a: Ticks, b: Ticks) -> str:
    """``str(a / b)`` for positive durations (ints or Fractions), in integer arithmetic."""
    num, den = a.numerator * b.denominator, a.denominator * b.numerator
    g = gcd(num, den)
    return f"{num // g}" if den == g else f"{num // g}/{den // g}"


def invariant_key(melody: Melody, tokens: Tokens | None = None) -> str:
    """Equal for melodies that differ only by transposition and tempo (duration scale).

    ``tokens``, when the caller has them, must be ``melody_tokens(melody)``."""
    first = "R" if melody.pitches and melody.pitches[0] is None else "N"
    tokens = melody_tokens(melody) if tokens is None else tokens
    # The text of json.dumps([first, list(tokens)]): a token holds only signs, digits, "/",
    # ":", "R" and "S", which JSON writes as they are.
    listed = '["' + '", "'.join(tokens) + '"]' if tokens else "[]"
    text = f'["{first}", {listed}]'
    return hashlib.sha256(text.encode()).hexdigest()


@lru_cache(maxsize=65536)
def _token_hash(token: str) -> int:
    return int.from_bytes(hashlib.blake2b(token.encode(), digest_size=4).digest(), "little")


def shingles(tokens: Tokens, size: int) -> np.ndarray:
    """Distinct 32-bit hashes of every run of ``size`` consecutive tokens (sorted, uint32)."""
    if not tokens:
        return np.zeros(0, dtype=np.uint32)
    ids = np.array([_token_hash(t) for t in tokens], dtype=np.uint64)
    if len(ids) < size:
        size = len(ids)
    n = len(ids) - size + 1
    h = ids[:n].copy()
    for j in range(1, size):
        h = ((h * np.uint64(1_000_003)) ^ ids[j:j + n]) & np.uint64(0xFFFFFFFF)
    return np.unique(h).astype(np.uint32)


def shingle_runs(tok: Tokenized, size: int) -> tuple[np.ndarray, np.ndarray]:
    """The hashes of ``shingles`` of every sequence of ``tok``, repeats kept and in numpy
    over all sequences at once: each sequence's runs of ``size`` tokens in order (its one
    short shingle when it has fewer tokens), back to back as uint64, and the offsets
    (``n + 1``) where each sequence's start. A MinHash signature is a minimum, the same over
    these as over the distinct shingles, so signing them spares the sort that makes the
    sets distinct."""
    n = len(tok)
    t = np.r_[_hashes(tok), np.zeros(size, dtype=np.uint64)]
    total = len(tok.flat)
    h = t[:total].copy()
    for j in range(1, size):
        h = ((h * np.uint64(1_000_003)) ^ t[j:j + total]) & np.uint64(0xFFFFFFFF)
    lengths = tok.lengths
    whole = np.arange(total) + size <= np.repeat(tok.starts[1:], lengths)
    x = h[whole]
    counts = np.maximum(lengths - size + 1, 0)
    short = np.flatnonzero((lengths > 0) & (lengths < size))
    if len(short):  # one shingle each, of all its tokens (as ``shingles`` makes it)
        at = np.cumsum(counts)[short] - counts[short]
        one = [shingles(tuple(str(tok.vocab[k]) for k in tok.row(i)), size)[0] for i in short.tolist()]
        x = np.insert(x, at, np.array(one, dtype=np.uint64))
        counts[short] = 1
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    return x, offsets


def _hashes(tok: Tokenized) -> np.ndarray:
    """``_token_hash`` of each token of the sequences, in order (uint64)."""
    vocab = np.fromiter(map(_token_hash, tok.vocab), dtype=np.uint64, count=len(tok.vocab))
    return vocab[tok.flat]


def _min_hash_loop(x: np.ndarray, offsets: np.ndarray, a: np.ndarray, b: np.ndarray,
                   out: np.ndarray) -> None:
    """``out[s, p]`` = top 32 bits of min over set ``s``'s shingles ``x[offsets[s]:offsets[s+1]]``
    of ``a[p] * x + b[p]`` (uint64, wrapping); all bits set for an empty set. Compiled by numba."""
    m = np.empty(a.shape[0], dtype=np.uint64)
    for s in range(offsets.shape[0] - 1):
        m[:] = np.uint64(0xFFFF_FFFF_FFFF_FFFF)
        for i in range(offsets[s], offsets[s + 1]):
            v = x[i]
            for p in range(a.shape[0]):
                m[p] = min(m[p], a[p] * v + b[p])
        for p in range(a.shape[0]):
            out[s, p] = np.uint32(m[p] >> np.uint64(32))


def _min_hash_loop32(x: np.ndarray, offsets: np.ndarray, a: np.ndarray, b: np.ndarray,
                     out: np.ndarray) -> None:
    """``_min_hash_loop`` for shingle hashes below 2**32 (``x``, uint64). With ``a = a_high *
    2**32 + a_low`` and ``b`` likewise, the top 32 bits of ``(a * x + b) mod 2**64`` are
    ``((a_low * x + b_low) >> 32) + a_high * x + b_high`` modulo 2**32 (``a_low * x + b_low``
    is below 2**64: no wrap), so every product is 32 x 32 bits and the minima are kept as
    uint32. The same signatures; ~2.3x the 64-bit loop's speed on a CPU without 64-bit
    vector multiplies and unsigned minima (AVX2: benchmarks/HISTORY.md, twenty-seventh
    round). Compiled by numba."""
    low32 = np.uint64(0xFFFF_FFFF)
    a_low, a_high = (a & low32).astype(np.uint32), (a >> np.uint64(32)).astype(np.uint32)
    b_low, b_high = (b & low32).astype(np.uint32), (b >> np.uint64(32)).astype(np.uint32)
    m = np.empty(a.shape[0], dtype=np.uint32)
    for s in range(offsets.shape[0] - 1):
        m[:] = np.uint32(0xFFFF_FFFF)
        for i in range(offsets[s], offsets[s + 1]):
            v = np.uint64(np.uint32(x[i]))  # (so that the compiler knows its high half is 0)
            for p in range(a.shape[0]):
                top = ((np.uint64(a_low[p]) * v + np.uint64(b_low[p])) >> np.uint64(32)) \
                    + np.uint64(a_high[p]) * v + np.uint64(b_high[p])
                m[p] = min(m[p], np.uint32(top & low32))
        for p in range(a.shape[0]):
            out[s, p] = m[p]


def _min_hash_numpy(x: np.ndarray, offsets: np.ndarray, a: np.ndarray, b: np.ndarray,
                    out: np.ndarray) -> None:
    """``_min_hash_loop`` in numpy: every (shingle, function) hash at once (8 bytes each:
    callers give it a few thousand shingles at a time), then the minimum of each set's rows
    (``minimum.reduceat`` over the sets that have shingles)."""
    sizes = np.diff(offsets)
    least = np.full((len(sizes), a.shape[0]), np.uint64(0xFFFF_FFFF_FFFF_FFFF))
    full = np.flatnonzero(sizes > 0)
    if len(full):
        hashed = np.multiply.outer(x, a)  # wraps modulo 2**64, as the loop does
        hashed += b
        least[full] = np.minimum.reduceat(hashed, offsets[full], axis=0)
    out[:] = least >> np.uint64(32)


# Shingles a process hashes in numpy before it loads the compiled loop: ~0.7 us a shingle
# (128 functions) in numpy against ~0.03 us compiled, and ~0.5 s to import numba and load
# the loop once a process, so up to ~0.15 s of numpy work where a small run saves the 0.5 s.
# A run that expects more loads the loop first (``load_compiled``), as does a process that
# has numba already; the signatures are the same either way.
NUMPY_SHINGLES = 200_000
NUMPY_CHUNK = 4_096  # shingles a numpy batch takes at a time (4 MB of hashes at 128 functions)
_hashed_in_numpy = 0  # this process's count so far


def _use_numpy(shingles: int) -> bool:
    """Whether a call hashing ``shingles`` takes the numpy way (counted when it does)."""
    global _hashed_in_numpy
    if "numba" in sys.modules or _hashed_in_numpy + shingles > NUMPY_SHINGLES:
        return False
    _hashed_in_numpy += shingles
    return True


def load_compiled(expected_shingles: int | None = None) -> None:
    """Load the compiled loop now (numba's import and its machine code from the disk
    cache), unless ``expected_shingles`` (what the caller expects to hash) is few enough for
    numpy (``NUMPY_SHINGLES``): a run that will hash much calls it before its pool's
    processes start (fork), so that they inherit it instead of each loading it."""
    if expected_shingles is not None and expected_shingles <= NUMPY_SHINGLES:
        return
    a, b = _coefficients(1, 1)
    _compiled_loop()(np.zeros(1, dtype=np.uint64), np.array([0, 1], dtype=np.int64), a, b,
                     np.empty((1, 1), dtype=np.uint32))


@lru_cache(maxsize=1)
def _compiled_loop() -> Callable[..., None]:
    """The minima loop compiled for this machine (``compiled.njit``: a process that never
    hashes does not import numba): ``_min_hash_loop32`` for a batch whose hashes are all
    below 2**32, else ``_min_hash_loop`` (each compiled, or loaded, on its first call)."""
    narrow, wide = compiled.njit(_min_hash_loop32), compiled.njit(_min_hash_loop)

    def loop(x: np.ndarray, offsets: np.ndarray, a: np.ndarray, b: np.ndarray, out: np.ndarray) -> None:
        fits = not len(x) or int(x.max()) <= 0xFFFF_FFFF
        (narrow if fits else wide)(x, offsets, a, b, out)

    return loop


@lru_cache(maxsize=16)
def _coefficients(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 1 << 64, size=num_perm, dtype=np.uint64)
    b = rng.integers(0, 1 << 64, size=num_perm, dtype=np.uint64)
    a.flags.writeable = b.flags.writeable = False
    return a, b


@dataclass(frozen=True)
class MinHasher:
    """``num_perm`` multiply-add-shift hash functions (see the module docstring) from a seed."""

    num_perm: int = 128
    seed: int = 1

    def signature(self, shingle_hashes: np.ndarray) -> np.ndarray:
        """The minimum of each hash function over the shingles (uint32; ``EMPTY`` for none)."""
        return self.signatures([shingle_hashes])[0]

    def signatures(self, shingle_sets: Sequence[np.ndarray], chunk_shingles: int = 1 << 16,
                   compiled: bool | None = None) -> np.ndarray:
        """One signature per set (rows, uint32), computed in batches of about
        ``chunk_shingles`` shingles (memory: the sets' hashes joined as uint64, 8 bytes a
        shingle, beyond the output).
        ``compiled``: by the compiled loop (True) or in numpy (False); None: numpy while
        this process has hashed little and not loaded numba (``NUMPY_SHINGLES``)."""
        offsets = np.zeros(len(shingle_sets) + 1, dtype=np.int64)
        np.cumsum([len(s) for s in shingle_sets], out=offsets[1:])
        x = np.concatenate(shingle_sets, dtype=np.uint64) if len(shingle_sets) else \
            np.zeros(0, dtype=np.uint64)
        return self.signatures_of_runs(x, offsets, chunk_shingles, compiled)

    def signatures_of_runs(self, x: np.ndarray, offsets: np.ndarray, chunk_shingles: int = 1 << 16,
                           compiled: bool | None = None) -> np.ndarray:
        """``signatures`` of the sets ``x[offsets[s]:offsets[s + 1]]`` (hashes back to back,
        uint64; a set may hold a hash more than once: the minimum is the same)."""
        n = len(offsets) - 1
        out = np.empty((n, self.num_perm), dtype=np.uint32)
        a, b = _coefficients(self.num_perm, self.seed)
        if compiled is None:
            compiled = not _use_numpy(int(offsets[-1]))
        loop = _compiled_loop() if compiled else _min_hash_numpy
        if not compiled:
            chunk_shingles = min(chunk_shingles, NUMPY_CHUNK)
        ends = offsets[1:]
        start = 0
        while start < n:
            # At least one set per batch, then every following set that still fits.
            first = int(offsets[start])
            stop = max(start + 1, int(np.searchsorted(ends, first + chunk_shingles, side="right")))
            loop(x[first:offsets[stop]], offsets[start:stop + 1] - first, a, b, out[start:stop])
            start = stop
        return out


def estimated_jaccard(sig_a: np.ndarray, sig_b: np.ndarray) -> float:
    """Share of hash functions whose minimum agrees: an unbiased Jaccard estimate."""
    return float(np.mean(sig_a == sig_b))


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    union = len(np.union1d(a, b))
    return len(np.intersect1d(a, b)) / union if union else 1.0


@lru_cache(maxsize=64)
def lsh_bands(threshold: float, num_perm: int) -> tuple[int, int]:
    """(bands, rows) whose collision curve 1-(1-s^r)^b best separates at ``threshold``.

    Minimises the area of false positives below the threshold plus false negatives above
    it (the criterion datasketch uses). Every ``rows`` from 1 to ``num_perm`` is scored in
    one array, a row each (each row's area the same float as scored alone; the test holds
    the loop), then the first best within 1e-12 is taken as the loop took it.
    """
    s = np.linspace(0, 1, 201)
    rows = np.arange(1, num_perm + 1)
    p = 1 - (1 - s ** rows[:, None]) ** (num_perm // rows)[:, None]
    errors = np.trapezoid(np.where(s < threshold, p, 1 - p), s, axis=1).tolist()
    best = (num_perm, 1)
    best_err = float("inf")
    for r, err in enumerate(errors, 1):
        if err < best_err - 1e-12:
            best, best_err = (num_perm // r, r), err
    return best


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
    members = np.sort(order[starts[:, None] + np.arange(size)], axis=1)  # a bucket a row, ascending
    x, y = np.triu_indices(size, 1)
    left, right = members[:, x], members[:, y]
    keep = group[left] != group[right]
    return left[keep] * n + right[keep]


def _large_bucket_pairs(members: np.ndarray, group: np.ndarray, n: int) -> np.ndarray:
    """Codes of the cross-group pairs of one big bucket. When at most half of its pairs
    are inside a group (a file's lines are each their own group), all pairs are made at
    once and those filtered out; else (a seed family's thousands of variants in one bucket)
    group by group, never building same-group pairs."""
    by_group = members[np.argsort(group[members], kind="stable")]
    g = group[by_group]
    cuts = np.flatnonzero(np.r_[True, g[1:] != g[:-1], True])
    runs = np.diff(cuts)
    if int((runs * (runs - 1)).sum()) <= len(members) * (len(members) - 1) // 2:
        ranked = np.sort(members)
        x, y = np.triu_indices(len(ranked), 1)
        left, right = ranked[x], ranked[y]
        keep = group[left] != group[right]
        return left[keep] * n + right[keep]
    out = []
    for a, b in zip(cuts[:-1], cuts[1:], strict=True):
        run, rest = by_group[a:b], by_group[b:]
        if len(rest):
            left, right = np.repeat(run, len(rest)), np.tile(rest, len(run))
            out.append(np.minimum(left, right) * n + np.maximum(left, right))
    return np.concatenate(out) if out else np.zeros(0, dtype=np.int64)


def band_hash(block: np.ndarray) -> np.ndarray:
    """One 64-bit hash per row of a band (rows equal -> hashes equal). Two different rows
    share a hash with probability ~2^-64: at worst a pair is proposed that the edit
    similarity then checks, as it checks every candidate."""
    return _band_keys(block[:, None, :])[:, 0]


def _band_keys(blocks: np.ndarray) -> np.ndarray:
    """``band_hash`` of every band at once: ``blocks`` is (signatures, bands, rows a band)."""
    h = np.zeros(blocks.shape[:2], dtype=np.uint64)
    for row in range(blocks.shape[2]):
        h ^= blocks[:, :, row].astype(np.uint64)
        h *= np.uint64(0x9E3779B97F4A7C15)
        h ^= h >> np.uint64(29)
    return h


def band_buckets(signatures: np.ndarray, params: NearParams) -> np.ndarray:
    """Each signature's LSH bucket in every band of ``params.bands()``: ``band_hash`` of the
    band's columns, shape (signatures, bands), uint64. All that the LSH reads of a signature:
    a big run makes these where it makes the signatures and keeps them instead (42 bands:
    336 bytes a melody, where a 128-value signature takes 512)."""
    return _buckets(signatures, *params.bands())


def _buckets(signatures: np.ndarray, bands: int, rows: int) -> np.ndarray:
    return _band_keys(signatures[:, :bands * rows].reshape(len(signatures), bands, rows))


def candidate_pairs(signatures: np.ndarray, bands: int, rows: int,
                    groups: Sequence[int] | np.ndarray | None = None, *,
                    mapper: Mapper | None = None) -> list[tuple[int, int]]:
    """Index pairs (i < j) whose signatures share at least one LSH band bucket, sorted:
    ``bucket_pairs`` of their buckets."""
    return bucket_pairs(_buckets(signatures, bands, rows), groups, mapper=mapper)


def bucket_pairs(buckets: np.ndarray, groups: Sequence[int] | np.ndarray | None = None, *,
                 mapper: Mapper | None = None, index: np.ndarray | None = None
                 ) -> list[tuple[int, int]]:
    """Index pairs (i < j) of rows that share a bucket in at least one band, sorted (row i
    is ``buckets[i]``, or ``buckets[index[i]]`` with ``index``: read band by band, never
    copied whole).

    With ``groups`` (one integer per row), pairs of rows in the same group are left out.
    With ``mapper`` and many rows, each band is grouped into buckets as its own job (a
    grouped stage by band; the union of the bands' pairs is the same).
    """
    n = len(buckets) if index is None else len(index)
    codes = pair_codes(buckets, groups, mapper=mapper, index=index)
    return list(zip((codes // n).tolist(), (codes % n).tolist(), strict=True))


def pair_codes(buckets: np.ndarray, groups: Sequence[int] | np.ndarray | None = None, *,
               mapper: Mapper | None = None, index: np.ndarray | None = None) -> np.ndarray:
    """``bucket_pairs`` as codes ``i * n + j`` (n rows), ascending: the same pairs in an
    array (half a million pairs as tuples cost ~0.13 s to make and to turn back)."""
    n = len(buckets) if index is None else len(index)
    if n < 2:
        return np.zeros(0, dtype=np.int64)
    group = np.arange(n) if groups is None else np.asarray(groups, dtype=np.int64)

    def bucket_column(band: int) -> np.ndarray:
        column = buckets[:, band]
        return np.ascontiguousarray(column if index is None else column[index])

    # One band's buckets at a time in this process; a few bands' at a time through the mapper.
    jobs = ((bucket_column(band), group) for band in range(buckets.shape[1]))
    merged = _Merged()
    if mapper is None or n < BAND_JOB_ROWS:
        for job in jobs:
            merged.add(band_pairs(job))
    else:
        # (the pool's processes start the next bands while this one reads the last ones'
        # pairs and lays out the next columns)
        for codes in in_windows(mapper, band_pairs, jobs, BANDS_PER_CALL):
            merged.add(codes)
    return merged.result()


class _Merged:
    """The distinct codes of the bands' pairs, merged as they come: the pairs a band adds
    wait until they are as many as the distinct ones so far, then join them. A near pair
    shares a bucket in many bands: a near-duplicate-rich file's bands give 3-4 times its
    distinct pairs (counted at 100,000 lines); at 890,000 lines, 74.5 million distinct
    ones, and the search, holding all bands' codes at once, peaked ~3.8 GB above what the
    process held before it."""

    def __init__(self) -> None:
        self.distinct = np.zeros(0, dtype=np.int64)
        self.waiting: list[np.ndarray] = []
        self.count = 0

    def add(self, codes: np.ndarray) -> None:
        self.waiting.append(codes)
        self.count += len(codes)
        if self.count > max(len(self.distinct), MERGE_CODES):
            self._merge()

    def _merge(self) -> None:
        self.distinct = ragged.distinct(np.concatenate([self.distinct, *self.waiting]), runs=True)
        self.waiting, self.count = [], 0

    def result(self) -> np.ndarray:
        if self.waiting:
            self._merge()
        return self.distinct


MERGE_CODES = 1 << 22  # codes the bands' pairs may wait with before they are merged (32 MB)


BAND_JOB_ROWS = 50_000  # rows from which the bands are grouped through the mapper
BANDS_PER_CALL = 4  # band jobs given to the mapper at once


def band_pairs(job: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Codes ``i * n + j`` of the cross-group pairs sharing a bucket of one band
    (``job``: every row's bucket in the band, and each row's group)."""
    bucket, group = job
    n = len(bucket)
    # By bucket (within a bucket in no set order: each bucket's members are sorted where its
    # pairs are made). numpy's default sort of 64-bit keys is ~5x its stable one.
    order = np.argsort(bucket)
    ranked = bucket[order]
    starts = np.flatnonzero(np.r_[True, ranked[1:] != ranked[:-1]])
    sizes = np.diff(np.r_[starts, n])
    found = [np.zeros(0, dtype=np.int64)]
    for size in ragged.distinct(sizes[sizes > 1]).tolist():
        at = starts[sizes == size]
        if size <= 32:
            found.append(_bucket_pairs(order, at, size, group, n))
        else:
            found.extend(_large_bucket_pairs(order[s:s + size], group, n) for s in at.tolist())
    return np.concatenate(found)


def signatures_of(token_seqs: Sequence[Tokens] | Tokenized, params: NearParams) -> np.ndarray:
    """The MinHash signature (one uint32 row each) of every sequence's shingles (the
    sequences as tuples of tokens, or numbered: ``token_ids``, ``batch_tokens``)."""
    if not len(token_seqs):
        return np.zeros((0, params.num_perm), dtype=np.uint32)
    tok = token_seqs if isinstance(token_seqs, Tokenized) else token_ids(token_seqs)
    return MinHasher(params.num_perm).signatures_of_runs(*shingle_runs(tok, params.shingle_size))


def near_pairs(token_seqs: Sequence[Tokens], params: NearParams,
               groups: Sequence[int] | None = None, *, mapper: Mapper | None = None,
               buckets: np.ndarray | None = None, bucket_rows: np.ndarray | None = None,
               lengths: Sequence[int] | None = None) -> list[tuple[int, int, float]]:
    """Verified near-duplicate pairs (i < j, similarity >= params.similarity), sorted:
    ``near_pair_arrays`` as tuples."""
    i, j, sim = near_pair_arrays(token_seqs, params, groups, mapper=mapper, buckets=buckets,
                                 bucket_rows=bucket_rows, lengths=lengths)
    return list(zip(i.tolist(), j.tolist(), sim.tolist(), strict=True))


def near_pair_arrays(token_seqs: Sequence[Tokens], params: NearParams,
                     groups: Sequence[int] | None = None, *, mapper: Mapper | None = None,
                     buckets: np.ndarray | None = None, bucket_rows: np.ndarray | None = None,
                     lengths: Sequence[int] | None = None
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Verified near-duplicate pairs (i < j, similarity >= params.similarity), sorted by
    (i, j), as three arrays: i, j (int64) and the similarity (float64).

    Sequences shorter than ``params.min_tokens`` take no part: a short motif shares too
    much with unrelated tunes for its edits to be told from them. With ``groups`` (one
    integer per sequence), pairs inside one group are not looked for: a caller that only
    needs pairs across seed families (or across splits) passes the family (split) number.
    ``mapper`` (``parallel.Mapper``) runs the LSH bands as one job each and verifies the
    candidates in chunks, when there are many (``BAND_JOB_ROWS``, ``VERIFY_CHUNK``).

    ``buckets`` (``band_buckets`` of the sequences' signatures under ``params``, row by
    row; with ``bucket_rows``, sequence k's row is ``buckets[bucket_rows[k]]``) and
    ``lengths`` (of the sequences), when the caller made them earlier, save their work here;
    ``token_seqs`` is then only read for the sequences a candidate pair holds (it may be a
    sequence that makes them on demand).
    """
    lengths = [len(t) for t in token_seqs] if lengths is None else lengths
    usable = [i for i, n in enumerate(lengths) if n >= params.min_tokens]
    if len(usable) < 2:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0)
    index = None
    if buckets is None:
        buckets = band_buckets(signatures_of(_tokenized(token_seqs, usable), params), params)
    else:  # the usable rows, read band by band
        index = np.asarray(usable, dtype=np.int64)
        if bucket_rows is not None:
            index = np.asarray(bucket_rows, dtype=np.int64)[index]
    group = None if groups is None else [groups[i] for i in usable]
    codes = pair_codes(buckets, group, mapper=mapper, index=index)
    length = np.array([lengths[i] for i in usable], dtype=np.int64)
    n = len(usable)

    def candidates(block: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        return _reachable(block // n, block % n, length, params.similarity)

    # The candidates are verified a block of codes at a time (a near-duplicate-rich file of
    # 890,000 lines has ~75 million): the sequences some candidate holds are marked first,
    # and only those are read, once.
    blocks = [codes[lo:lo + VERIFY_BLOCK] for lo in range(0, len(codes), VERIFY_BLOCK)]
    held_mask = np.zeros(n, dtype=bool)
    for block in blocks:
        x, y, _ = candidates(block)
        held_mask[x] = held_mask[y] = True
    held = np.flatnonzero(held_mask)
    tok = _tokenized(token_seqs, [usable[k] for k in held.tolist()])
    del held_mask
    row_of = np.zeros(n, dtype=np.int64)
    row_of[held] = np.arange(len(held))
    at = np.asarray(usable, dtype=np.int64)
    out: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    for block in blocks:
        x, y, longer = candidates(block)
        sim, found = _verified(_distances(tok, row_of[x], row_of[y], mapper), longer, params.similarity)
        out.append((at[x[found]], at[y[found]], sim[found]))
    if not out:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0)
    i, j, sim = (np.concatenate([part[k] for part in out]) for k in range(3))
    return i, j, sim


VERIFY_BLOCK = 1 << 22  # candidate codes verified at a time (a few arrays of 32 MB each)


def _reachable(x: np.ndarray, y: np.ndarray, length: np.ndarray, similarity: float
               ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(x, y, longer length) of the candidate pairs (x[k], y[k]) of sequences of ``length``
    tokens, without those whose length difference alone keeps them under ``similarity``
    (the distance is at least that)."""
    longer = np.maximum(length[x], length[y])
    reachable = 1 - np.abs(length[x] - length[y]) / longer >= similarity
    return x[reachable], y[reachable], longer[reachable]


def _verified(distance: np.ndarray, longer: np.ndarray, similarity: float) -> tuple[np.ndarray, np.ndarray]:
    """(edit similarity, whether it reaches ``similarity``) of pairs at ``distance`` whose
    longer sequence has ``longer`` tokens, as ``edit_similarity`` computes it (float64)."""
    sim = 1 - distance / longer
    return sim, sim >= similarity


class TokenSequence(Sequence[Tokens]):
    """Token sequences made when read (``row``), for ``near_pair_arrays``, which reads only
    those a candidate pair holds, numbered all at once through ``tokenized`` when it can
    (None: made one by one)."""

    def __len__(self) -> int:
        raise NotImplementedError

    def row(self, i: int) -> Tokens:
        raise NotImplementedError

    def tokenized(self, picked: Sequence[int]) -> Tokenized | None:
        return None

    @overload
    def __getitem__(self, i: int) -> Tokens: ...

    @overload
    def __getitem__(self, i: slice) -> Sequence[Tokens]: ...

    def __getitem__(self, i: int | slice) -> Tokens | Sequence[Tokens]:
        if isinstance(i, slice):
            return [self.row(k) for k in range(len(self))[i]]
        return self.row(i)


class TokenRows(TokenSequence):
    """The sequences of a ``Tokenized`` as token tuples (a search job carries its melodies
    this way)."""

    def __init__(self, tok: Tokenized) -> None:
        self.tok = tok

    def __len__(self) -> int:
        return len(self.tok)

    def row(self, i: int) -> Tokens:
        return tuple(str(self.tok.vocab[k]) for k in self.tok.row(i))

    def tokenized(self, picked: Sequence[int]) -> Tokenized:
        return self.tok.subset(np.asarray(picked, dtype=np.int64))


def search_job(job: tuple[Tokenized, NearParams]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``near_pair_arrays`` of every sequence of a ``Tokenized``: one whole search, as one
    picklable unit of work for a ``parallel.Mapper``."""
    tok, params = job
    return near_pair_arrays(TokenRows(tok), params, lengths=tok.lengths.tolist())


def merged_job(job: tuple[Tokenized, NearParams]) -> int:
    """How many of a ``Tokenized``'s sequences some pair of ``search_job(job)`` holds,
    without making the pairs: the calibration's count for a setting it may not keep.

    The LSH bands are read one at a time and their candidate pairs (``band_pairs``) verified
    as ``near_pair_arrays`` verifies them (the length bound, then the edit similarity),
    except a pair whose two sequences are both in a verified pair already: it cannot change
    the count. A near-duplicate-rich file has most of its sequences in a pair after the
    first bands, so most of the later bands' candidates (each near pair shares several) are
    not verified, and no band's codes are kept or merged."""
    tok, params = job
    lengths = tok.lengths.tolist()
    usable = [i for i, n in enumerate(lengths) if n >= params.min_tokens]
    n = len(usable)
    if n < 2:
        return 0
    sub = _tokenized(TokenRows(tok), usable)
    buckets = band_buckets(signatures_of(sub, params), params)
    length = np.array([lengths[i] for i in usable], dtype=np.int64)
    group = np.arange(n)
    merged = np.zeros(n, dtype=bool)
    for band in range(buckets.shape[1]):
        codes = band_pairs((np.ascontiguousarray(buckets[:, band]), group))
        for lo in range(0, len(codes), VERIFY_BLOCK):
            block = codes[lo:lo + VERIFY_BLOCK]
            x, y = block // n, block % n
            open_ = ~(merged[x] & merged[y])
            x, y, longer = _reachable(x[open_], y[open_], length, params.similarity)
            _, found = _verified(edit_distances(sub, x, y), longer, params.similarity)
            merged[x[found]] = merged[y[found]] = True
    return int(merged.sum())


@dataclass(frozen=True, eq=False)
class NearSearch:
    """A search's verified near pairs (``near_pair_arrays``, no groups) under ``params``,
    among distinct melodies named by their invariant digests (``bytes.fromhex`` of
    ``invariant_key``), in the search's order.

    Whether two melodies are a verified pair depends on those two alone (a shared LSH band
    bucket, then their edit similarity), so a later search under the same ``params`` over
    some of these melodies would find exactly the pairs among them: ``among`` gives those
    instead of searching again (``augment dedup`` of a file calibrates on all its melodies,
    then dedups them with the chosen setting)."""

    params: NearParams
    digests: tuple[bytes, ...]
    i: np.ndarray
    j: np.ndarray
    sim: np.ndarray

    def among(self, lengths: Sequence[int] | np.ndarray, params: NearParams,
              digest_of: Callable[[int], bytes]) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """The pairs among the given distinct melodies (``near_pair_arrays`` of them: i < j
        by their positions here, sorted), or None when ``params`` differ or a given melody of
        ``params.min_tokens`` tokens or more was not searched. The given melodies are their
        token counts (``lengths``) and ``digest_of(k)``, melody k's digest: asked only for
        those long enough, and only when they are not more than were searched (a run's
        million candidates against its seeds' search: None at once)."""
        if params != self.params:
            return None
        usable = np.flatnonzero(np.asarray(lengths, dtype=np.int64) >= params.min_tokens)
        if len(usable) > len(self.digests):
            return None
        number = {d: k for k, d in enumerate(self.digests)}
        position = np.full(len(self.digests), -1, dtype=np.int64)  # searched -> given
        for at in usable.tolist():
            k = number.get(digest_of(at))
            if k is None:
                return None
            position[k] = at
        x, y = position[self.i], position[self.j]
        both = (x >= 0) & (y >= 0)
        x, y, sim = x[both], y[both], self.sim[both]
        first, second = np.minimum(x, y), np.maximum(x, y)
        order = np.argsort(first * len(lengths) + second)  # by (first, second); pairs are distinct
        return first[order], second[order], sim[order]


def _tokenized(token_seqs: Sequence[Tokens], picked: list[int]) -> Tokenized:
    """The sequences ``picked`` of ``token_seqs``, numbered: all at once when ``token_seqs``
    can make them so (a ``tokenized`` method, returning None when it cannot), else one by one.
    Only equality of numbers matters to the edit distances, not the numbering."""
    batch: Callable[[list[int]], Tokenized | None] | None = getattr(token_seqs, "tokenized", None)
    tok = None if batch is None else batch(picked)
    return token_ids([token_seqs[k] for k in picked]) if tok is None else tok


VERIFY_CHUNK = 50_000  # candidate pairs per mapped job, at most
# The jobs are as many as VERIFY_CHUNK asks, rounded up to a multiple of this, and equal:
# a pool of 1, 2 or 4 processes then ends them together (a million's 72,125 pairs as jobs of
# 50,000 and 22,125 kept one of two processes busy alone for ~0.5 s while the run waited).
VERIFY_JOBS = 4


def _distances(tok: Tokenized, x: np.ndarray, y: np.ndarray, mapper: Mapper | None) -> np.ndarray:
    """``edit_distances`` of the pairs, in equal chunks through ``mapper`` when there are
    many; each job carries only the sequences its pairs use."""
    if mapper is None or len(x) <= VERIFY_CHUNK:
        return edit_distances(tok, x, y)
    count = -(-len(x) // VERIFY_CHUNK)
    count += -count % VERIFY_JOBS
    bounds = [k * len(x) // count for k in range(count + 1)]

    def jobs() -> Iterator[tuple[Tokenized, np.ndarray, np.ndarray]]:
        for start, end in zip(bounds, bounds[1:], strict=False):
            cx, cy = x[start:end], y[start:end]
            rows = ragged.distinct(np.r_[cx, cy])
            yield tok.subset(rows), np.searchsorted(rows, cx), np.searchsorted(rows, cy)
    # Made as the mapper asks for them, a window at a time: all at once, a near-duplicate-
    # rich file's jobs held ~10 MB each of sequences, 777 MB for its 76 jobs at 278,688 lines.
    # (a mapper that runs many jobs at once, a Ray cluster's, gets as many a call)
    window = per_call(mapper, 2 * VERIFY_JOBS)
    return np.concatenate(list(in_windows(mapper, distances_job, jobs(), window)))
