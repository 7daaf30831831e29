"""Token edit distance for many pairs at once: Myers' bit-vector algorithm across numpy lanes.

``edit_distance`` runs the algorithm for one pair with Python integers. Verifying the
near-duplicate candidates of a large run means hundreds of thousands of pairs, so here one
numpy lane holds one pair: the shorter sequence's column of the edit table is a uint64
bit mask, and every step of the longer sequence is a handful of vector operations over
all pairs of a batch. Pairs whose shorter side exceeds 64 tokens go to the one-pair
version there. The result equals ``edit_distance`` for every pair (tested against it).

A process that has numba loaded (a large run hashes with it, ``near``), or that verifies
many pairs (``COMPILED_PAIRS``), runs the same algorithm as one compiled loop over the
pairs instead (``_pairs_loop``): each pair's pattern masks in a table indexed by token
number, each bit vector in as many 64-bit words as its shorter side needs, so that long
pairs too run compiled: ~0.5 us a pair of up to 64 tokens against ~6 us in the numpy
lanes, and ~3.8 against ~216 us in the one-pair version for a pair of ~110 tokens (on
2026-11-29's machine). Same distances either way.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import chain

import numpy as np

from . import compiled, ragged

WORD = 64  # bits per lane: the longest shorter side handled in numpy
BATCH = 2048  # pairs per numpy pass (the match table is BATCH * 64 * longest bytes)
PAD_A, PAD_B = -1, -2  # padding ids that match nothing (and not each other)
# Pairs from which a process without numba loads it for the compiled loop: ~0.3-0.5 s to
# import numba and load the loop's machine code, which the numpy lanes (~6 us a pair) spend
# on ~60,000 pairs.
COMPILED_PAIRS = 60_000


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



@dataclass(frozen=True)
class Tokenized:
    """Token sequences as integers, back to back: sequence i is ``flat[starts[i]:starts[i+1]]``;
    ``vocab[k]`` is the token numbered k."""

    flat: np.ndarray  # int32
    starts: np.ndarray  # int64, one more than there are sequences
    vocab: tuple[object, ...]

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.starts)

    def __len__(self) -> int:
        return len(self.starts) - 1

    def subset(self, rows: np.ndarray) -> Tokenized:
        """The given sequences only (for a job that needs a few of many)."""
        index, starts = ragged.take(self.starts, rows)
        return Tokenized(self.flat[index], starts, self.vocab)

    def padded(self, rows: np.ndarray, width: int, pad: int) -> np.ndarray:
        """(len(rows), width) matrix of the sequences' first ``width`` tokens, then ``pad``."""
        column = np.arange(width)
        index = self.starts[rows][:, None] + column[None, :]
        beyond = column[None, :] >= self.lengths[rows][:, None]
        out = self.flat[np.where(beyond, 0, index)] if len(self.flat) else \
            np.zeros(index.shape, dtype=np.int32)
        out[beyond] = pad
        return out

    def row(self, i: int) -> list[int]:
        return self.flat[self.starts[i]:self.starts[i + 1]].tolist()


def token_ids(seqs: Sequence[Sequence[object]]) -> Tokenized:
    """Number the tokens (first seen, first numbered) and lay the sequences back to back."""
    starts = np.zeros(len(seqs) + 1, dtype=np.int64)
    np.cumsum(np.fromiter(map(len, seqs), dtype=np.int64, count=len(seqs)), out=starts[1:])
    tokens = list(chain.from_iterable(seqs))
    number = dict.fromkeys(tokens, 0)  # distinct tokens in first-seen order
    for k, token in enumerate(number):
        number[token] = k
    flat = np.fromiter(map(number.__getitem__, tokens), dtype=np.int32, count=len(tokens))
    return Tokenized(flat, starts, tuple(number))


def edit_distances(tok: Tokenized, left: np.ndarray | Sequence[int], right: np.ndarray | Sequence[int],
                   compiled: bool | None = None) -> np.ndarray:
    """Levenshtein distance between sequences ``left[k]`` and ``right[k]`` of ``tok``, per k.
    ``compiled``: by the compiled loop (True) or the numpy lanes (False); None: compiled when
    numba is loaded or the pairs are many (``COMPILED_PAIRS``)."""
    left, right = np.asarray(left, dtype=np.int64), np.asarray(right, dtype=np.int64)
    lengths = tok.lengths
    # The shorter side is the bit-vector side (the distance is symmetric).
    swap = lengths[left] > lengths[right]
    short, long_ = np.where(swap, right, left), np.where(swap, left, right)
    out = np.zeros(len(left), dtype=np.int64)
    wide = lengths[short] > WORD
    lanes = np.flatnonzero(~wide)
    if compiled is None:  # (a long pair costs the one-pair version ~20 lane pairs' time)
        compiled = "numba" in sys.modules or len(lanes) + 20 * (len(out) - len(lanes)) >= COMPILED_PAIRS
    if compiled:
        if len(out):
            _compiled_loop()(tok.flat, tok.starts, short, long_, len(tok.vocab), out)
        return out
    for k in np.flatnonzero(wide).tolist():
        out[k] = edit_distance(tok.row(int(short[k])), tok.row(int(long_[k])))
    for start in range(0, len(lanes), BATCH):
        chunk = lanes[start:start + BATCH]
        out[chunk] = _lanes(tok, short[chunk], long_[chunk])
    return out


def distances_job(job: tuple[Tokenized, np.ndarray, np.ndarray]) -> np.ndarray:
    """``edit_distances(*job)``: one picklable unit of work for a ``parallel.Mapper``."""
    return edit_distances(*job)


def _lanes(tok: Tokenized, short: np.ndarray, long_: np.ndarray) -> np.ndarray:
    """Distances of pairs whose shorter side has at most 64 tokens, one pair per lane."""
    lengths = tok.lengths
    # Longest first: at step k the pairs still running are a prefix of the lanes.
    order = np.argsort(-lengths[long_], kind="stable")
    short, long_ = short[order], long_[order]
    m, n = lengths[short], lengths[long_]
    steps, width = int(n.max(initial=0)), int(m.max(initial=0))
    a = tok.padded(short, width, PAD_A)
    b = tok.padded(long_, steps, PAD_B)
    # eq[k, p]: bit i set when a[p, i] == b[p, k] (the pattern mask of Myers' algorithm).
    match = a[:, None, :] == b[:, :, None]  # pairs x steps x width
    packed = np.packbits(match, axis=2, bitorder="little")  # pairs x steps x ceil(width/8)
    eq8 = np.zeros((steps, len(short), 8), dtype=np.uint8)
    eq8[:, :, :packed.shape[2]] = packed.transpose(1, 0, 2)
    eq = eq8.view("<u8")[:, :, 0]  # steps x pairs
    one = np.uint64(1)
    mask = np.where(m >= WORD, np.uint64(~np.uint64(0)),
                    (one << np.minimum(m, WORD - 1).astype(np.uint64)) - one)
    last = one << (np.maximum(m, 1) - 1).astype(np.uint64)
    pv: np.ndarray = mask.copy()
    mv: np.ndarray = np.zeros_like(mask)
    score = m.copy()
    running = (n[None, :] > np.arange(steps)[:, None]).sum(axis=1)  # lanes with n > k
    for k in range(steps):
        c = int(running[k])
        e, p, v, msk, lst = eq[k, :c], pv[:c], mv[:c], mask[:c], last[:c]
        xv = e | v
        xh = (e & p) + p
        xh ^= p
        xh |= e
        ph: np.ndarray = xh | p
        np.invert(ph, out=ph)
        ph |= v
        ph &= msk
        mh: np.ndarray = p & xh
        score[:c] += (ph & lst) != 0
        score[:c] -= (mh & lst) != 0
        ph <<= one
        ph |= one
        ph &= msk
        mh <<= one
        mh &= msk
        v[:] = ph & xv
        xv |= ph
        np.invert(xv, out=xv)
        xv |= mh
        xv &= msk
        p[:] = xv
    # An empty shorter side: the distance is the other length.
    out = np.empty(len(order), dtype=np.int64)
    out[order] = np.where(m == 0, n, score)
    return out


def _pairs_loop(flat: np.ndarray, starts: np.ndarray, short: np.ndarray, long_: np.ndarray,
                vocab: int, out: np.ndarray) -> None:
    """``out[k]`` = edit distance of sequences ``short[k]`` and ``long_[k]`` of
    ``Tokenized(flat, starts)``: Myers' algorithm as ``edit_distance`` runs it, each bit
    vector in ``ceil(m / 64)`` 64-bit words for a shorter side of ``m`` tokens (the blocked
    form: the addition's carry and the shifted-out bits pass from each word to the next,
    lowest first; the last word holds the bit of the last row and the mask), with the
    pattern masks of ``short[k]`` in a table indexed by token number (set for the pair,
    cleared after it). Compiled by numba."""
    words = 1
    for k in range(short.shape[0]):
        words = max(words, (starts[short[k] + 1] - starts[short[k]] + 63) // 64)
    peq = np.zeros((vocab, words), dtype=np.uint64)
    pvs = np.zeros(words, dtype=np.uint64)
    mvs = np.zeros(words, dtype=np.uint64)
    one, ones = np.uint64(1), np.uint64(0xFFFF_FFFF_FFFF_FFFF)
    for k in range(short.shape[0]):
        a0, a1 = starts[short[k]], starts[short[k] + 1]
        b0, b1 = starts[long_[k]], starts[long_[k] + 1]
        m = a1 - a0
        if m == 0:
            out[k] = b1 - b0
            continue
        n_words = (m + 63) // 64
        for i in range(m):
            peq[flat[a0 + i], i // 64] |= one << np.uint64(i % 64)
        top_bits = m - 64 * (n_words - 1)
        top_mask = ones if top_bits == 64 else (one << np.uint64(top_bits)) - one
        last = one << np.uint64(top_bits - 1)
        for w in range(n_words):
            pvs[w] = ones if w < n_words - 1 else top_mask
            mvs[w] = np.uint64(0)
        score = m
        for j in range(b0, b1):
            token = flat[j]
            carry = np.uint64(0)
            ph_in, mh_in = one, np.uint64(0)  # the bits shifted into the word from below
            for w in range(n_words):
                mask = ones if w < n_words - 1 else top_mask
                eq, pv, mv = peq[token, w], pvs[w], mvs[w]
                xv = eq | mv
                total = (eq & pv) + pv
                total_in = total + carry
                carry = np.uint64(1) if total < pv or total_in < total else np.uint64(0)
                xh = (total_in ^ pv) | eq
                ph = (mv | ~(xh | pv)) & mask
                mh = pv & xh
                if w == n_words - 1:
                    if ph & last:
                        score += 1
                    elif mh & last:
                        score -= 1
                ph_out, mh_out = ph >> np.uint64(63), mh >> np.uint64(63)
                ph = ((ph << one) | ph_in) & mask
                mh = ((mh << one) | mh_in) & mask
                ph_in, mh_in = ph_out, mh_out
                pvs[w] = (mh | ~(xv | ph)) & mask
                mvs[w] = ph & xv
        for i in range(m):
            peq[flat[a0 + i], i // 64] = np.uint64(0)
        out[k] = score


@lru_cache(maxsize=1)
def _compiled_loop() -> Callable[..., None]:
    """``_pairs_loop`` compiled for this machine (``compiled.njit``)."""
    return compiled.njit(_pairs_loop)
