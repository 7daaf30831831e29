"""Ragged arrays: many sequences laid back to back in one flat array.

Sequence i of such a batch is ``flat[starts[i]:starts[i + 1]]`` (``starts`` has one more
entry than there are sequences). ``MelodyArrays`` (notes of many melodies) and
``editdist.Tokenized`` (tokens of many melodies) are two; these are their shared index
computations.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Callable, Hashable, Sequence
from itertools import repeat
from typing import TypeVar, cast

import numpy as np

H = TypeVar("H", bound=Hashable)
T = TypeVar("T")


def owners(starts: np.ndarray) -> np.ndarray:
    """The sequence number of every flat element."""
    return np.repeat(np.arange(len(starts) - 1), np.diff(starts))


def take(starts: np.ndarray, rows: Sequence[int] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(flat index, starts) of the sequences ``rows`` in that order: ``flat[index]`` laid out
    with the returned ``starts`` is the batch of just those sequences."""
    rows = np.asarray(rows, dtype=np.int64)
    lengths = np.diff(starts)[rows]
    new = np.zeros(len(rows) + 1, dtype=np.int64)
    np.cumsum(lengths, out=new[1:])
    return np.repeat(starts[rows] - new[:-1], lengths) + np.arange(new[-1]), new


def span(starts: np.ndarray, lo: int, hi: int) -> tuple[slice, np.ndarray]:
    """(flat slice, starts) of the consecutive sequences ``lo`` to ``hi`` (excluded)."""
    a, b = int(starts[lo]), int(starts[hi])
    return slice(a, b), starts[lo:hi + 1] - a


def joined(all_starts: Sequence[np.ndarray]) -> np.ndarray:
    """The starts of several batches' sequences laid one batch after another."""
    out = [np.zeros(1, dtype=np.int64)]
    at = 0
    for starts in all_starts:
        out.append(starts[1:] + at)
        at += int(starts[-1])
    return np.concatenate(out)


def drained(parts: list[np.ndarray]) -> np.ndarray:
    """``np.concatenate(parts)`` (along the first axis; at least one part) that empties
    ``parts`` while it copies: a part nothing else holds is freed as soon as it is copied,
    so a big join needs about the memory of its result, not twice that."""
    total = sum(len(p) for p in parts)
    out = np.empty((total, *parts[0].shape[1:]), dtype=np.result_type(*parts))
    at = 0
    parts.reverse()
    while parts:
        part = parts.pop()
        out[at:at + len(part)] = part
        at += len(part)
    return out


def distinct(values: np.ndarray, runs: bool = False) -> np.ndarray:
    """``np.unique(values)`` of a 1-D array: its distinct values, sorted. Integers are
    sorted and compared with their neighbours here: numpy 2's ``np.unique`` hashes integers
    instead, 7-20x slower on 10^4-10^6 of them (537,000 candidate-pair codes: 250 ms against
    4 ms). Other types go to ``np.unique``. ``runs``: the values come in long ascending
    runs (arrays made in order, put end to end), which numpy's stable sort (timsort) merges:
    the LSH bands' 7-10 million candidate codes of a 54,000-melody file in ~0.2 s against
    ~0.6 s (on shuffled values it is ~1.3x slower)."""
    values = np.asarray(values)
    if values.ndim != 1 or values.dtype.kind not in "iu":
        return np.unique(values)
    ranked = np.sort(values, kind="stable" if runs else None)
    if len(ranked) < 2:
        return ranked
    keep = np.empty(len(ranked), dtype=bool)
    keep[0] = True
    np.not_equal(ranked[1:], ranked[:-1], out=keep[1:])
    return ranked[keep]


def first_equal(values: np.ndarray) -> np.ndarray:
    """For each value of a 1-D integer array, the index of the first value equal to it
    (``first[inverse]`` of ``np.unique(values, return_index=True, return_inverse=True)``),
    by numpy's default sort and a minimum per run of equal values: 110 -> ~30 ms for a
    million 64-bit digests' leads (``np.unique`` sorts stably to find the first)."""
    values = np.asarray(values).reshape(-1)
    if not len(values):
        return np.zeros(0, dtype=np.intp)
    order = np.argsort(values)
    ranked = values[order]
    new = np.empty(len(values), dtype=bool)
    new[0] = True
    np.not_equal(ranked[1:], ranked[:-1], out=new[1:])
    first = np.minimum.reduceat(order, np.flatnonzero(new))  # each run's smallest index
    out = np.empty(len(values), dtype=np.intp)
    out[order] = first[np.cumsum(new) - 1]
    return out


def text_order(texts: Sequence[str], first: np.ndarray | None = None) -> np.ndarray:
    """The indices of ``texts`` in the order ``sorted(range(len(texts)), key=texts.__getitem__)``
    gives (stable), or, with ``first`` (one bool each), those marked first, then the others,
    each part in that order. ASCII texts are sorted as rows of big-endian 64-bit words
    (``_byte_words``, ``_row_order``: a million example ids 0.40-0.47 s against 0.71-0.79 s
    as a numpy bytes array sorted stably, 0.34-0.58 s of which the sort); others as Python
    sorts them."""
    words = _byte_words(texts)
    order = _row_order(words) if words is not None else \
        np.asarray(sorted(range(len(texts)), key=texts.__getitem__), dtype=np.intp)
    return order if first is None else first_then(order, first)


def first_then(order: np.ndarray, first: np.ndarray | Sequence[bool]) -> np.ndarray:
    """``order`` (indices) with those marked ``first`` (one bool an index) moved before the
    others, each part kept in its order (what a lexsort with ``first`` as the leading key
    gives after a stable sort, without sorting again)."""
    first = np.asarray(first, dtype=bool)
    marked = first[order]
    return np.concatenate([order[marked], order[~marked]])


def numbered(values: Sequence[H]) -> tuple[np.ndarray, tuple[H, ...]]:
    """(each value's number, the distinct values by number), values numbered as first met."""
    number: dict[H, int] = {}
    codes = np.fromiter([number.setdefault(v, len(number)) for v in values], dtype=np.int64,
                        count=len(values))
    return codes, tuple(number)


def merged_order(items: Sequence[T], cut: int, key: Callable[[T], str] | None = None) -> np.ndarray:
    """``text_order`` of the texts (``items``, or ``key`` of each: a run's kept examples by
    id, no list of a million ids made) when ``[:cut]`` and ``[cut:]`` are each in that
    order already (the seeds, then the variants, each by id): the few of the first part
    placed among the second by bisection, no sort of the many."""
    n = len(items)
    if not 0 <= cut <= n:
        raise ValueError(f"cut {cut} outside 0..{n}")
    # first-part text k goes after the second part's texts below it (and before equal ones:
    # a stable sort keeps the first part first)
    if key is None:
        texts = cast(Sequence[str], items)
        below = (bisect_left(texts, texts[k], cut) for k in range(cut))
    else:
        below = (bisect_left(items, key(items[k]), cut, key=key) for k in range(cut))
    placed = np.arange(cut, dtype=np.intp) + np.fromiter(below, dtype=np.intp, count=cut) - cut
    order = np.empty(n, dtype=np.intp)
    first = np.zeros(n, dtype=bool)
    first[placed] = True
    order[placed] = np.arange(cut)
    order[~first] = np.arange(cut, n)
    return order


def _byte_words(texts: Sequence[str]) -> np.ndarray | None:
    """``texts`` as rows of NUL-padded bytes read as big-endian 64-bit words, (n, words a
    row), which sort (word by word) as the texts do; None when one is not ASCII or holds a
    NUL (which the padding could not be told from). Padded and encoded as one str: two
    passes over the texts (their lengths, their padded copies), as the list-to-bytes-array
    way took (its ASCII check, its array)."""
    n = len(texts)
    lengths = np.fromiter(map(len, texts), np.int64, n)
    width = max(8, -(-int(lengths.max(initial=0)) // 8) * 8)
    padded = "".join(map(str.ljust, texts, repeat(width, n), repeat("\x00", n)))
    if not padded.isascii() or padded.count("\x00") != n * width - int(lengths.sum()):
        return None
    return np.frombuffer(padded.encode("ascii"), dtype=">u8").astype(np.uint64).reshape(n, width // 8)


def _row_order(words: np.ndarray) -> np.ndarray:
    """The rows of ``words`` (n, k) in order, the first word leading, stable: one sort by
    the first word, then the rows whose first word another row shares (few, for digests)
    ordered by all their words in place."""
    order = np.argsort(words[:, 0], kind="stable")
    if words.shape[1] == 1 or len(order) < 2:
        return order
    lead = words[order, 0]
    tied = np.zeros(len(order), dtype=bool)
    np.equal(lead[1:], lead[:-1], out=tied[1:])
    tied[:-1] |= tied[1:]  # (each run of equal leads, its first row too)
    at = np.flatnonzero(tied)
    if len(at):  # (each run keeps its places: they are sorted by their lead already)
        rows = order[at]
        order[at] = rows[np.lexsort(words[rows].T[::-1])]
    return order


DENSE = 1 << 22  # values below this are factorized with a table, larger ones by sorting


def factorize(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(the distinct values, sorted; each value's index among them) of non-negative ints
    (one or more)."""
    if values.max() < DENSE:  # a table as long as the largest value: no sort
        present = np.zeros(int(values.max()) + 1, dtype=bool)
        present[values] = True
        return np.flatnonzero(present), (np.cumsum(present) - 1)[values]
    distinct, index = np.unique(values, return_inverse=True)
    return distinct, index.reshape(-1)


def components(n: int, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """For each of ``n`` nodes, the smallest node of its connected component, given the edges
    (``u[k]``, ``v[k]``). Every node points at a root (a node that points at itself) of its
    component; each round hooks the larger of two roots an edge joins under the smaller,
    then points every node at its root again, until no edge joins two roots. The smallest
    node of a component never hooks, so it is the root that remains."""
    parent = np.arange(n, dtype=np.int64)
    u, v = np.asarray(u, dtype=np.int64), np.asarray(v, dtype=np.int64)
    while True:
        pu, pv = parent[u], parent[v]
        apart = pu != pv
        if not apart.any():
            return parent
        u, v, pu, pv = u[apart], v[apart], pu[apart], pv[apart]  # joined edges stay joined
        np.minimum.at(parent, np.maximum(pu, pv), np.minimum(pu, pv))
        while True:
            up = parent[parent]
            if np.array_equal(up, parent):
                break
            parent = up
