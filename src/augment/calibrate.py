"""Calibrating near-duplicate detection on probes made from the data itself.

A *probe* is a real melody from the data paired with a copy that a person would call the
same tune: one note changed, two notes changed, an ornament inserted, or a rhythm altered.
Calibration picks the shingle size, the LSH banding and the verified similarity threshold
that find ``target_recall`` of the probes, and reports how many distinct input melodies the
chosen setting merges with another one (the false-merge rate when the input holds no
duplicates, e.g. hand-made seeds).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

from . import ragged
from .editdist import Tokenized, edit_distances, token_ids
from .melody import Melody, scale_ticks
from .near import (
    MinHasher,
    NearParams,
    NearSearch,
    TokenRows,
    Tokens,
    batch_tokens,
    invariant_digests,
    melody_tokens,
    merged_job,
    near_pair_arrays,
    search_job,
    shingle_runs,
)
from .parallel import Mapper

Probe = Callable[[Melody, np.random.Generator], Melody | None]


def _sounding(melody: Melody) -> list[int]:
    return [i for i, p in enumerate(melody.pitches) if p is not None]


def _shift(melody: Melody, indices: Sequence[int], rng: np.random.Generator) -> Melody:
    pitches = list(melody.pitches)
    for i in indices:
        p = pitches[i]
        assert p is not None
        steps = [s for s in (-4, -3, -2, -1, 1, 2, 3, 4) if 0 <= p + s <= 127]
        pitches[i] = p + int(rng.choice(steps))
    return Melody.from_ticks(tuple(pitches), melody.ticks)


def one_note(melody: Melody, rng: np.random.Generator) -> Melody | None:
    """One sounding note moved by 1-4 semitones."""
    notes = _sounding(melody)
    return _shift(melody, [int(rng.choice(notes))], rng) if notes else None


def two_notes(melody: Melody, rng: np.random.Generator) -> Melody | None:
    """Two different sounding notes moved by 1-4 semitones each."""
    notes = _sounding(melody)
    if len(notes) < 2:
        return None
    return _shift(melody, [int(i) for i in rng.choice(notes, size=2, replace=False)], rng)


def ornament(melody: Melody, rng: np.random.Generator) -> Melody | None:
    """A note split in two halves, the second a neighbour note a step above or below."""
    notes = _sounding(melody)
    if not notes:
        return None
    i = int(rng.choice(notes))
    p = melody.pitches[i]
    assert p is not None
    neighbour = p + int(rng.choice([-2, -1, 1, 2]))
    if not 0 <= neighbour <= 127:
        return None
    half = scale_ticks(melody.ticks[i], 1, 2)
    pitches = (*melody.pitches[:i], p, neighbour, *melody.pitches[i + 1:])
    return Melody.from_ticks(pitches, (*melody.ticks[:i], half, half, *melody.ticks[i + 1:]))


def rhythm(melody: Melody, rng: np.random.Generator) -> Melody | None:
    """Two neighbouring durations changed: equal ones dotted (3/2, 1/2), unequal ones swapped."""
    if len(melody) < 2:
        return None
    i = int(rng.integers(0, len(melody) - 1))
    d = list(melody.ticks)
    if d[i] == d[i + 1]:
        d[i], d[i + 1] = scale_ticks(d[i], 3, 2), scale_ticks(d[i], 1, 2)
    else:
        d[i], d[i + 1] = d[i + 1], d[i]
    return Melody.from_ticks(melody.pitches, tuple(d))


PROBES: dict[str, Probe] = {"one_note": one_note, "two_notes": two_notes,
                            "ornament": ornament, "rhythm": rhythm}


@dataclass(frozen=True)
class Calibration:
    """The chosen near-duplicate setting and what it was measured to do."""

    params: NearParams
    target_recall: float
    probe_recall: float
    recall_by_probe: tuple[tuple[str, float], ...]
    probe_pairs: int
    melodies: int
    merged_melodies: int
    # The chosen setting's search over the input melodies (how ``merged_melodies`` was
    # counted), for a caller that searches some of them again (``NearSearch.among``).
    search: NearSearch | None = field(default=None, compare=False, repr=False)

    @property
    def merge_rate(self) -> float:
        """Share of distinct input melodies merged with another one."""
        return self.merged_melodies / self.melodies if self.melodies else 0.0

    def as_dict(self) -> dict[str, object]:
        return {"params": asdict(self.params), "target_recall": self.target_recall,
                "probe_recall": round(self.probe_recall, 4),
                "recall_by_probe": {k: round(v, 4) for k, v in self.recall_by_probe},
                "probe_pairs": self.probe_pairs, "melodies": self.melodies,
                "merged_melodies": self.merged_melodies, "merge_rate": round(self.merge_rate, 4)}


@dataclass(frozen=True)
class ProbePairs:
    """The probes' token sequences, numbered: probe k's original is sequence k of ``tok``,
    its edited copy sequence ``n + k``. What calibration measures of every probe at once:
    the edit similarities (``edit_similarity`` of each pair) and, per shingle size, the
    Jaccard similarities of the pairs' shingle sets (``jaccard`` of ``shingles``), with
    the sets themselves; the same values as pair by pair (tests/test_dedup.py)."""

    tok: Tokenized
    n: int

    @staticmethod
    def of(probes: Sequence[tuple[str, Tokens, Tokens]]) -> ProbePairs:
        return ProbePairs(token_ids([a for _, a, _ in probes] + [b for _, _, b in probes]), len(probes))

    def similarities(self) -> np.ndarray:
        """``edit_similarity`` of each pair: 1 - edit distance / the longer length (1.0 for
        two empty sequences; the same float division as there)."""
        left, right = np.arange(self.n), np.arange(self.n, 2 * self.n)
        lengths = self.tok.lengths
        longer = np.maximum(lengths[left], lengths[right])
        distances = edit_distances(self.tok, left, right)
        return np.where(longer == 0, 1.0, 1 - distances / np.maximum(longer, 1))

    def jaccards(self, size: int) -> tuple[np.ndarray, tuple[tuple[np.ndarray, np.ndarray], ...]]:
        """``jaccard`` of each pair's ``shingles`` of ``size`` tokens, and the originals' and
        the copies' shingle sets (each as hashes back to back and offsets, every set sorted
        and distinct, as ``shingles`` gives it)."""
        x, offsets = shingle_runs(self.tok, size)
        sets = len(offsets) - 1
        owner = ragged.owners(offsets)
        order = np.lexsort((x, owner))
        x, owner = x[order], owner[order]
        first = np.ones(len(x), dtype=bool)
        first[1:] = (x[1:] != x[:-1]) | (owner[1:] != owner[:-1])
        x, owner = x[first], owner[first]
        counts = np.bincount(owner, minlength=sets)
        starts = np.zeros(sets + 1, dtype=np.int64)
        np.cumsum(counts, out=starts[1:])
        # A hash in both sets of a pair: the pair's two copies of it sort next to each other.
        pair = owner % self.n if self.n else owner
        order = np.lexsort((x, pair))
        x_by_pair, pair = x[order], pair[order]
        both = (x_by_pair[1:] == x_by_pair[:-1]) & (pair[1:] == pair[:-1])
        common = np.bincount(pair[1:][both], minlength=self.n)
        union = counts[:self.n] + counts[self.n:] - common
        jac = np.where(union == 0, 1.0, common / np.maximum(union, 1))
        split = int(starts[self.n])
        return jac, ((x[:split], starts[:self.n + 1]), (x[split:], starts[self.n:] - split))


def make_probes(melodies: Sequence[Melody], rng: np.random.Generator
                ) -> list[tuple[str, Tokens, Tokens]]:
    """(probe name, original tokens, edited tokens) for every melody and probe kind."""
    out = []
    for melody in melodies:
        original = melody_tokens(melody)
        for name, probe in PROBES.items():
            edited = probe(melody, rng)
            if edited is not None and melody_tokens(edited) != original:
                out.append((name, original, melody_tokens(edited)))
    return out


def calibrate(melodies: Sequence[Melody], rng: np.random.Generator, target_recall: float = 0.9,
              shingle_sizes: Sequence[int] = (2, 3, 4), min_similarity: float = 0.5,
              num_perm: int = 128, min_tokens: int = 7, max_probe_melodies: int = 200,
              mapper: Mapper | None = None) -> Calibration:
    """Pick shingle size, LSH banding and similarity threshold for ``target_recall``.

    Among settings that reach the target, the one merging the fewest distinct input
    melodies wins (then the higher recall, then the smaller shingle size). The winner keeps
    its search over the input melodies (``Calibration.search``). From ``COUNT_FIRST``
    distinct melodies the settings' merged melodies are counted without their pairs and
    only the winner is searched (``_by_counts_first``: the same result); ``mapper``
    (``parallel.Mapper``) only saves time there, running the counts at once and the
    winner's search in jobs.
    """
    keys, tok, last = _distinct(melodies, min_tokens)
    chosen = keys if len(keys) <= max_probe_melodies else sorted(
        rng.choice(keys, size=max_probe_melodies, replace=False).tolist())
    probes = make_probes([last[k] for k in chosen], rng)
    digests = tuple(map(bytes.fromhex, keys))
    if not probes:
        params = NearParams(shingle_sizes[0], 0.3, max(min_similarity, 0.8), num_perm, min_tokens)
        return Calibration(params, target_recall, 0.0, (), 0, len(keys), 0)
    pairs = ProbePairs.of(probes)
    sims = pairs.similarities()
    hasher = MinHasher(num_perm)
    settings = []  # (params, which probes it finds) per shingle size
    for size in shingle_sizes:
        jac, (left_sets, right_sets) = pairs.jaccards(size)
        lsh_threshold = float(np.clip(np.quantile(jac, 0.05), 0.1, 0.9))
        bands, rows = NearParams(size, lsh_threshold, 0.0, num_perm).bands()
        # Every probe's two signatures in one batch each (as ``signature`` makes them one
        # at a time); a pair collides when some band of theirs is equal in every row.
        left, right = (hasher.signatures_of_runs(*sets)[:, :bands * rows]
                       for sets in (left_sets, right_sets))
        collide = (left == right).reshape(len(probes), bands, rows).all(axis=2).any(axis=1)
        found_sims = np.sort(sims[collide])[::-1]
        need = int(np.ceil(target_recall * len(probes)))
        threshold = float(found_sims[need - 1]) if len(found_sims) >= need else min_similarity
        threshold = max(threshold, min_similarity)
        params = NearParams(size, round(lsh_threshold, 4), round(threshold, 4), num_perm, min_tokens)
        settings.append((params, collide & (sims >= threshold)))
    names = sorted(PROBES)

    def result(params: NearParams, found: np.ndarray, merged: int, search: NearSearch | None) -> Calibration:
        by_probe = tuple((n, float(found[[p[0] == n for p in probes]].mean())) for n in names
                         if any(p[0] == n for p in probes))
        return Calibration(params, target_recall, float(found.mean()), by_probe, len(probes),
                           len(keys), merged, search)

    def score(c: Calibration) -> tuple[float, float, float]:
        return (0.0 if c.probe_recall >= target_recall else 1.0 - c.probe_recall, c.merge_rate,
                -c.probe_recall)

    if len(tok) >= COUNT_FIRST:
        return _by_counts_first(tok, settings, digests, result, score, mapper)
    best: tuple[tuple[float, float, float], Calibration] | None = None
    for (params, found), (i, j, sim) in zip(settings, _searches(tok, [p for p, _ in settings]),
                                            strict=True):
        made = result(params, found, _merged(len(keys), i, j), NearSearch(params, digests, i, j, sim))
        del i, j, sim  # only the best setting's search is kept
        if best is None or score(made) < best[0]:
            best = (score(made), made)
        del made
    assert best is not None
    return best[1]


# Distinct melodies from which calibration counts each setting's merged melodies first
# (``near.merged_job``: no pairs kept) and searches only the setting it keeps.
COUNT_FIRST = 5_000


def _by_counts_first(tok: Tokenized, settings: list[tuple[NearParams, np.ndarray]],
                     digests: tuple[bytes, ...],
                     result: Callable[[NearParams, np.ndarray, int, NearSearch | None], Calibration],
                     score: Callable[[Calibration], tuple[float, float, float]],
                     mapper: Mapper | None) -> Calibration:
    """``calibrate``'s choice among ``settings`` (each with the probes it finds), the same
    as searching each in full and keeping the best: the settings whose probe recall ties
    for the best are told apart by their merged melodies, counted without their pairs
    (``near.merged_job``; at once through ``mapper``, this process taking the first), and
    only the chosen one is searched in full (through ``mapper``: its LSH bands and
    candidates in jobs). One search's pairs are held at a time, not three."""
    scored = [result(params, found, 0, None) for params, found in settings]
    shortfall = [score(c)[0] for c in scored]
    tied = [k for k, short in enumerate(shortfall) if short == min(shortfall)]
    if len(tied) > 1:
        counts = _merged_counts(tok, [settings[k][0] for k in tied], mapper)
        for k, count in zip(tied, counts, strict=True):
            scored[k] = result(*settings[k], count, None)
    chosen = min(tied, key=lambda k: score(scored[k]))  # the first of equal scores, as one by one
    params, found = settings[chosen]
    i, j, sim = near_pair_arrays(TokenRows(tok), params, lengths=tok.lengths.tolist(), mapper=mapper)
    merged = _merged(len(digests), i, j)
    if len(tied) > 1 and merged != scored[chosen].merged_melodies:
        raise AssertionError("the merged melodies counted without the pairs differ from the search's")
    return result(params, found, merged, NearSearch(params, digests, i, j, sim))


def _merged(melodies: int, i: np.ndarray, j: np.ndarray) -> int:
    """How many of ``melodies`` some pair (i, j) holds."""
    held = np.zeros(melodies, dtype=bool)
    held[i] = held[j] = True
    return int(held.sum())


def _merged_counts(tok: Tokenized, settings: list[NearParams], mapper: Mapper | None) -> list[int]:
    """``near.merged_job`` of each setting: one after another here, or with ``mapper`` all at
    once, this process taking the first while the mapper (a pool) takes the others."""
    jobs = [(tok, params) for params in settings]
    if mapper is None:
        return [merged_job(job) for job in jobs]
    others = mapper(merged_job, jobs[1:])
    return [merged_job(jobs[0]), *others]


def _distinct(melodies: Sequence[Melody], min_tokens: int) -> tuple[list[str], Tokenized, dict[str, Melody]]:
    """The distinct input melodies of ``min_tokens`` tokens or more, by invariant key: their
    keys (sorted), their tokens in that order, and the last melody given of every key (a
    probe edits it). Made ``DISTINCT_CHUNK`` melodies at a time, all of a chunk at once
    when they lie on the tick grid (``batch_tokens``), else melody by melody; only the
    distinct melodies' tokens are kept (a file of near a million lines would otherwise hold
    every line's tokens, and the batch's work arrays, at once)."""
    last: dict[str, Melody] = {}
    first: dict[str, int] = {}  # key -> its row among the kept
    kept: list[Tokenized] = []
    for lo in range(0, len(melodies), DISTINCT_CHUNK):
        chunk = melodies[lo:lo + DISTINCT_CHUNK]
        tok = batch_tokens(chunk)
        if tok is None:
            tok = token_ids([melody_tokens(m) for m in chunk])
        keys = [d.hex() for d in invariant_digests(chunk, tok)]
        last.update(zip(keys, chunk, strict=True))
        new = []
        for at in np.flatnonzero(tok.lengths >= min_tokens).tolist():
            if keys[at] not in first:
                first[keys[at]] = len(first)
                new.append(at)
        kept.append(tok.subset(np.asarray(new, dtype=np.int64)))
    keys = sorted(first)
    return keys, _joined(kept).subset(np.asarray([first[k] for k in keys], dtype=np.int64)), last


DISTINCT_CHUNK = 50_000  # melodies calibration tokenizes at a time


def _joined(parts: list[Tokenized]) -> Tokenized:
    """The sequences of several ``Tokenized`` one after another, numbered anew (each part
    numbers its tokens its own way; only equal numbers for equal tokens matter)."""
    number: dict[object, int] = {}
    flats = []
    for part in parts:
        renumber = np.asarray([number.setdefault(t, len(number)) for t in part.vocab], dtype=np.int32)
        flats.append(renumber[part.flat] if len(part.flat) else np.zeros(0, dtype=np.int32))
    flat = np.concatenate(flats) if flats else np.zeros(0, dtype=np.int32)
    return Tokenized(flat, ragged.joined([p.starts for p in parts]), tuple(number))


def _searches(tok: Tokenized, settings: list[NearParams]
              ) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """``near_pair_arrays`` of all of ``tok``'s sequences under each setting (``search_job``),
    in order, each made when read (a few thousand melodies: ``COUNT_FIRST``)."""
    return map(search_job, [(tok, params) for params in settings])
