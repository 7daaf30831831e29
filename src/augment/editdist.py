"""Token edit distance for many pairs at once: Myers' bit-vector algorithm across numpy lanes.

``near.edit_distance`` runs the algorithm for one pair with Python integers. Verifying the
near-duplicate candidates of a large run means hundreds of thousands of pairs, so here one
numpy lane holds one pair: the shorter sequence's column of the edit table is a uint64
bit mask, and every step of the longer sequence is a handful of vector operations over
all pairs of a batch. Pairs whose shorter side exceeds 64 tokens go to the one-pair
version. The result equals ``near.edit_distance`` for every pair (tested against it).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

WORD = 64  # bits per lane: the longest shorter side handled in numpy
BATCH = 2048  # pairs per numpy pass (the match table is BATCH * 64 * longest bytes)
PAD_A, PAD_B = -1, -2  # padding ids that match nothing (and not each other)


def token_ids(seqs: Sequence[Sequence[object]]) -> tuple[np.ndarray, np.ndarray]:
    """(ids, lengths): each sequence as a row of int32 token numbers, padded with PAD_A."""
    number: dict[object, int] = {}
    lengths = np.fromiter((len(s) for s in seqs), dtype=np.int64, count=len(seqs))
    ids = np.full((len(seqs), int(lengths.max(initial=0))), PAD_A, dtype=np.int32)
    for row, seq in enumerate(seqs):
        ids[row, :len(seq)] = [number.setdefault(t, len(number)) for t in seq]
    return ids, lengths


def edit_distances(ids: np.ndarray, lengths: np.ndarray, left: np.ndarray, right: np.ndarray
                   ) -> np.ndarray:
    """Levenshtein distance between rows ``left[k]`` and ``right[k]`` of ``ids``, per k."""
    left, right = np.asarray(left, dtype=np.int64), np.asarray(right, dtype=np.int64)
    # The shorter side is the bit-vector side (the distance is symmetric).
    swap = lengths[left] > lengths[right]
    short, long_ = np.where(swap, right, left), np.where(swap, left, right)
    out = np.zeros(len(left), dtype=np.int64)
    wide = lengths[short] > WORD
    for k in np.flatnonzero(wide).tolist():
        from .near import edit_distance  # one pair at a time, for the rare long pairs

        a, b = ids[short[k], :lengths[short[k]]], ids[long_[k], :lengths[long_[k]]]
        out[k] = edit_distance(a.tolist(), b.tolist())
    lanes = np.flatnonzero(~wide)
    for start in range(0, len(lanes), BATCH):
        chunk = lanes[start:start + BATCH]
        out[chunk] = _lanes(ids, lengths, short[chunk], long_[chunk])
    return out


def distances_job(job: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]) -> np.ndarray:
    """``edit_distances(*job)``: one picklable unit of work for a ``parallel.Mapper``."""
    return edit_distances(*job)


def _lanes(ids: np.ndarray, lengths: np.ndarray, short: np.ndarray, long_: np.ndarray
           ) -> np.ndarray:
    """Distances of pairs whose shorter side has at most 64 tokens, one pair per lane."""
    # Longest first: at step k the pairs still running are a prefix of the lanes.
    order = np.argsort(-lengths[long_], kind="stable")
    short, long_ = short[order], long_[order]
    m, n = lengths[short], lengths[long_]
    steps, width = int(n.max(initial=0)), int(m.max(initial=0))
    a = ids[short, :width]
    b = ids[long_, :steps].copy()
    b[np.arange(steps)[None, :] >= n[:, None]] = PAD_B
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
