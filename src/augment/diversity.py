"""Diversity metrics of a set of examples: plain functions with their definitions.

Every metric takes a sequence of examples and returns a float where larger means more
diverse (except ``largest_family_share``, where smaller is better). Entropies are in bits.
Each also takes the examples as ``Columns`` (what the metrics read of them: counts, the
distinct prompts, the id order and the melodies as flat arrays): the form ``report`` works on,
cheap to build once and to send to another process.
"""

from __future__ import annotations

import re
import sys
from collections import Counter
from collections.abc import Callable, Hashable, Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from . import compiled, ragged
from .example import Example
from .melody import MAX_PITCH, TICKS_PER_QUARTER
from .theory import MappedMelodies, MelodyArrays, MelodyRows, PackedMelodies

INTERVAL_BINS = 25  # -12..+12 semitones; larger leaps fold into the outer bins
DURATION_BINS = 9  # log2 of quarter notes, -4 (64th) .. +4 (breve)


@dataclass(frozen=True)
class Columns:
    """What the metrics read of a set of examples, in a small form to send to another
    process: counts and distinct values rather than one entry per example (a million
    examples' lists cost the run ~250 MB to send and the report's worker ~350 MB to hold).
    Counts are in first-seen order, as ``Counter`` of the entries would hold them."""

    key_counts: dict[str, int]  # examples by key name ("?" when unknown)
    mode_counts: dict[str, int]  # examples by mode ("?" when the key is unknown)
    prompts: tuple[str, ...]  # the distinct user prompts ("" for none), first-seen order
    family_counts: dict[str, int]  # examples by seed family (seed id)
    arrays: MelodyArrays | PackedMelodies | MelodyRows  # the melodies
    # The examples' places in id order (``ragged.text_order`` of their ids: ``vendi_score``
    # picks by it). A run knows it without sorting (``dedup``'s, ``build_splits``'), so no
    # ids are listed or sent: a million of them cost ~100 MB to send and ~75 MB to hold.
    id_order: np.ndarray

    @classmethod
    def of(cls, examples: Sequence[Example],
           arrays: MelodyArrays | PackedMelodies | MelodyRows | None = None) -> Columns:
        """``arrays``, when given, must be ``MelodyArrays.of`` the examples' melodies."""
        melodies = MelodyArrays.of([e.melody for e in examples]) if arrays is None else arrays
        return ColumnCodes.of(examples).columns(ragged.text_order([e.id for e in examples]), melodies)

    def __len__(self) -> int:
        return len(self.id_order)


@dataclass(frozen=True)
class ColumnCodes:
    """Each example's key name, mode, prompt and family as a number (numbered as first
    met), so that the ``Columns`` of any of them by position are counted with numpy
    instead of reading a million examples again (~1 s at a million)."""

    values: tuple[tuple[str, ...], ...]  # per column (key, mode, prompt, family): by number
    codes: tuple[np.ndarray, ...]  # per column: each example's number

    @classmethod
    def of(cls, examples: Sequence[Example]) -> ColumnCodes:
        coder = ColumnCoder()
        coder.add(examples)
        return coder.codes()

    def columns(self, id_order: np.ndarray, arrays: MelodyArrays | PackedMelodies | MelodyRows,
                at: np.ndarray | None = None) -> Columns:
        """``Columns.of`` the examples at positions ``at`` (default: all), in that order,
        whose places in id order are ``id_order`` and melodies ``arrays``: counts in
        first-met order."""
        if len(id_order) != (len(self.codes[0]) if at is None else len(at)):
            raise ValueError("the id order given is not one of the examples'")
        counted = []
        for values, codes in zip(self.values, self.codes, strict=True):
            chosen = codes if at is None else codes[at]
            # Each number's count and first place, by bincount and minimum.at over the few
            # numbers a column has (np.unique sorted the million codes: ~10-25x as long).
            counts = np.bincount(chosen, minlength=len(values))
            first = np.full(len(counts), len(chosen), dtype=np.int64)
            np.minimum.at(first, chosen, np.arange(len(chosen)))
            met = np.flatnonzero(counts)
            order = met[np.argsort(first[met])]  # (first places are distinct)
            counted.append({values[v]: n for v, n in zip(order.tolist(), counts[order].tolist(),
                                                        strict=True)})
        keys, modes, prompts, families = counted
        return Columns(keys, modes, tuple(prompts), families, arrays, id_order)


class ColumnCoder:
    """``ColumnCodes.of`` examples given a block at a time (a run's candidates, as its seeds'
    results come in): the same numbers. A block that tells its distinct rows
    (``representatives``, as ``pipeline.SlimExamples`` does: equal fields but id, parent and
    steps) is numbered by those, a few dozen a seed, instead of example by example (~0.75 s
    of the run's main process at a million, after its pool's work, in a py-spy profile)."""

    def __init__(self) -> None:
        self._numbers: tuple[dict[str, int], ...] = ({}, {}, {}, {})  # per column: value -> number
        # Per block: each column's numbers of its first examples of each distinct row, and
        # each example's row among those (None: one example a row). A block's codes are
        # made when asked: held so, a million candidates' take ~8 MB while the pool works.
        self._blocks: list[tuple[tuple[np.ndarray, ...], np.ndarray | None]] = []

    def add(self, examples: Sequence[Example]) -> None:
        representatives = getattr(examples, "representatives", None)
        firsts, row_of = (examples, None) if representatives is None else representatives()
        numbered = tuple(np.fromiter([number.setdefault(v, len(number)) for v in values], dtype=np.int64,
                                     count=len(values))
                         for values, number in zip(_column_values(firsts), self._numbers, strict=True))
        self._blocks.append((numbered, row_of))

    def codes(self) -> ColumnCodes:
        """The codes of every example added, given away: the coder lets its blocks go (a
        million examples' codes are 32 MB, which the caller frees when done with them)."""
        joined = tuple(np.concatenate([numbers[c] if row_of is None else numbers[c][row_of]
                                       for numbers, row_of in self._blocks])
                       if self._blocks else np.zeros(0, dtype=np.int64) for c in range(4))
        self._blocks.clear()
        return ColumnCodes(tuple(tuple(number) for number in self._numbers), joined)


def _column_values(examples: Sequence[Example]) -> tuple[list[str], ...]:
    """Each example's key name, mode, prompt ("" for none) and family (seed id)."""
    keys = [e.key for e in examples]
    # One name string a key object (a run's equal keys are mostly one object: pipeline.SlimExamples),
    # found by identity: hashing a key is a Python call, a million of them a second.
    name_of: dict[int, str] = {}
    names = ["?" if k is None else name_of.get(id(k)) or name_of.setdefault(id(k), k.name) for k in keys]
    return (names, [k.mode if k else "?" for k in keys], [_prompt(e) or "" for e in examples],
            [e.seed_id for e in examples])


def _prompt(e: Example) -> str | None:
    """``e.prompt``, looked up directly when the message before the answer is the user's
    (the usual chat: system, user, assistant)."""
    before = e.messages[e.melody_index - 1] if e.melody_index else None
    return before.content if before is not None and before.role == "user" else e.prompt


Examples = Sequence[Example] | Columns


def _columns(examples: Examples) -> Columns:
    return examples if isinstance(examples, Columns) else Columns.of(examples)


def _entropy(items: Iterable[Hashable]) -> float:
    return _count_entropy(Counter(items))


def _count_entropy(by_value: dict[Any, int]) -> float:
    """Entropy of the distribution given by counts (in their order, as ``_entropy`` sums)."""
    counts = np.array(list(by_value.values()), dtype=float)
    if counts.sum() == 0:
        return 0.0
    p = counts / counts.sum()
    return float(-(p * np.log2(p)).sum())


def key_entropy(examples: Examples) -> float:
    """Entropy of the key names (24+ keys; max log2(#keys)); unknown keys count as one."""
    if isinstance(examples, Columns):
        return _count_entropy(examples.key_counts)
    return _entropy(e.key.name if e.key else "?" for e in examples)


def mode_entropy(examples: Examples) -> float:
    """Entropy of the modes (major, minor, church modes)."""
    if isinstance(examples, Columns):
        return _count_entropy(examples.mode_counts)
    return _entropy(e.key.mode if e.key else "?" for e in examples)


def _ngrams(seq: Sequence[Hashable], n: int) -> list[tuple[Hashable, ...]]:
    return [tuple(seq[i:i + n]) for i in range(len(seq) - n + 1)]


def _arrays(examples: Examples | MelodyArrays) -> MelodyArrays:
    """The melodies as flat arrays (the melody metrics accept examples, columns or arrays)."""
    if isinstance(examples, MelodyArrays):
        return examples
    if isinstance(examples, Columns):
        return examples.arrays.unpack()
    return MelodyArrays.of([e.melody for e in examples])


def pitch_class_entropy(examples: Examples | MelodyArrays) -> float:
    """Entropy of the pooled duration-weighted pitch-class histogram (max log2 12 = 3.585)."""
    return _weighted_entropy(_arrays(examples).histograms().sum(axis=0))


def _weighted_entropy(total: np.ndarray) -> float:
    """Entropy in bits of the distribution in proportion to ``total`` (0 for all zeros)."""
    if total.sum() == 0:
        return 0.0
    p = total[total > 0] / total.sum()
    return float(-(p * np.log2(p)).sum())


def _distinct_ngrams(values: np.ndarray, owner: np.ndarray, n: int) -> int:
    """Distinct runs of ``n`` consecutive values that lie inside one melody.

    ``values`` are small non-negative integers, back to back for all melodies; ``owner``
    gives each value's melody (ascending, so a run inside one melody has equal ends)."""
    runs = _DistinctRuns(n, int(values.max(initial=0)) + 1)
    runs.add(values, owner)
    return runs.count()


def _intervals(arrays: MelodyArrays, owner: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Semitone steps between consecutive sounding notes of each melody (rests skipped),
    back to back, with the melody of each step (``owner``: each event's, when known)."""
    owner = ragged.owners(arrays.starts) if owner is None else owner
    sounding = arrays.pitches >= 0
    notes, note_owner = arrays.pitches[sounding], owner[sounding]
    same = note_owner[1:] == note_owner[:-1]
    return (notes[1:] - notes[:-1])[same], note_owner[1:][same]


def distinct_interval_ngrams(examples: Examples | MelodyArrays, n: int = 3,
                             steps: tuple[np.ndarray, np.ndarray] | None = None) -> float:
    """Number of distinct n-grams of semitone intervals over all melodies (``steps``:
    ``_intervals`` of the melodies, when already computed)."""
    step, owner = steps or _intervals(_arrays(examples))
    return float(_distinct_ngrams(step + MAX_PITCH, owner, n))


def contour_variety(examples: Examples | MelodyArrays, n: int = 5,
                    steps: tuple[np.ndarray, np.ndarray] | None = None) -> float:
    """Number of distinct n-grams of melodic direction (up / down / same)."""
    step, owner = steps or _intervals(_arrays(examples))
    return float(_distinct_ngrams(np.sign(step) + 1, owner, n))


def rhythm_variety(examples: Examples | MelodyArrays, n: int = 4) -> float:
    """Number of distinct n-grams of durations (quarter notes; rests marked)."""
    arrays = _arrays(examples)
    owner = ragged.owners(arrays.starts)
    # Rank among the few distinct durations (an inverse from np.unique would sort them all).
    duration = np.searchsorted(np.unique(arrays.quarters), arrays.quarters)
    return float(_distinct_ngrams(duration * 2 + (arrays.pitches < 0), owner, n))


def prompt_variety(examples: Examples, n: int = 2) -> float:
    """Number of distinct word n-grams over all prompts (lower-cased)."""
    grams = set()
    for prompt in set(_columns(examples).prompts):  # many variants share a prompt
        words = re.findall(r"[\w#']+", prompt.lower())
        grams.update(_ngrams(words, n))
    return float(len(grams))


def largest_family_share(examples: Examples) -> float:
    """Share of the examples held by the biggest seed family (smaller is more diverse)."""
    if not examples:
        return 0.0
    if isinstance(examples, Columns):
        return max(examples.family_counts.values()) / len(examples)
    return max(Counter(e.seed_id for e in examples).values()) / len(examples)


def features(examples: Examples | MelodyArrays) -> np.ndarray:
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


def vendi_score(examples: Examples, max_examples: int = 400) -> float:
    """exp(entropy of the eigenvalues of K/n), K the cosine similarity of ``features``.

    The effective number of distinct melodies (Friedman & Dieng 2023): 1 for copies of
    one melody, n for n mutually orthogonal ones. Above ``max_examples`` an evenly spaced
    subset (by id) is scored.
    """
    if not examples:
        return 0.0
    columns = _columns(examples)
    ordered = columns.id_order
    if len(ordered) > max_examples:
        ordered = ordered[np.linspace(0, len(ordered) - 1, max_examples).astype(int)]
    x = features(columns.arrays.subset(ordered).unpack())
    # K/n = X X^T / n shares its non-zero eigenvalues with X^T X / n, which is only as wide
    # as a feature row (46 x 46 instead of n x n).
    eig = np.linalg.eigvalsh(x.T @ x / len(ordered))
    eig = eig[eig > 1e-12]
    return float(np.exp(-(eig * np.log(eig)).sum()))


METRICS: dict[str, Callable[[Examples], float]] = {
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


def diversity_report(examples: Examples, arrays: MelodyArrays | None = None) -> dict[str, float]:
    """Every metric in ``METRICS``, rounded to 4 places (``arrays``, when given, must be
    ``MelodyArrays.of`` the examples' melodies)."""
    return report(examples if isinstance(examples, Columns) else Columns.of(examples, arrays))


MARK_CHUNK = 1 << 20  # notes whose durations are marked at once (``_durations``)
MARKED_TICKS = 1 << 24  # durations (ticks) below this are marked in a table, others sorted
REPORT_ROWS = 10_000  # melodies ``report`` unpacks at once (bounds its memory: 300k corpus melodies
# peak +387 MB at 50,000 a batch, +128 MB at 10,000, and 1.3x faster)


class _DistinctRuns:
    """Distinct runs of ``n`` consecutive values inside one melody, over batches of melodies
    given one after another (a run lies inside one melody, so inside one batch); values are
    non-negative integers below ``base`` (``add``: values back to back, with each one's
    melody, ascending).

    Runs are counted in a bitmap when their numbers (in base ``base``) are few; else, for
    runs of an even length whose halves are few, each half is numbered as first met and a
    run marked in a bitmap by its two halves' numbers (the 4-grams of durations: a sort of
    each batch's runs took 40% of a report's time); else the runs' numbers (or the runs
    themselves, when too many to number) are kept, each batch's distinct ones.

    ``sets``: the runs of that many sets of the melodies are counted at once, each set
    marked apart (``add``'s ``within``) from the same numbers (halves numbered over all the
    melodies given: one to one, so each set's count is its own)."""

    def __init__(self, n: int, base: int, sets: int = 1) -> None:
        self.n, self.base = n, base
        self.small = base ** n <= 1 << 24  # count the numbers that occur in a bitmap
        self.wide = base ** n >= 1 << 62  # too many to number: keep the runs themselves
        # (a table of half numbers of at most 8 MB: runs whose halves have more possible
        # numbers are sorted as before)
        halves = not self.small and not self.wide and n % 2 == 0 and base ** (n // 2) <= 1 << 20
        self.half_number = np.full(base ** (n // 2) if halves else 0, -1, dtype=np.int64)
        self.halves = 0  # halves numbered so far
        self.paired = halves  # marking pairs of half numbers (until there are too many)
        size = base ** n if self.small else PAIR_NUMBERS ** 2 if halves else 0
        self.seen = [np.zeros(size, dtype=bool) for _ in range(sets)]  # a bitmap a set
        self.found: list[list[np.ndarray]] = [[] for _ in range(sets)]

    def add(self, values: np.ndarray, owner: np.ndarray,
            within: Sequence[np.ndarray | None] | None = None) -> None:
        """``within``: for each set, which melodies it holds (one bool a melody, by the
        numbers ``owner`` gives), None for all; by default every set holds all."""
        n = self.n
        if len(values) < n:
            return
        last = len(values) - n + 1
        inside = owner[:last] == owner[n - 1:]
        sets = [inside if k is None else inside & k[owner[:last]]
                for k in (within if within is not None else [None] * len(self.seen))]
        if len(sets) != len(self.seen):
            raise ValueError(f"{len(sets)} sets given to runs counted for {len(self.seen)}")
        if self.wide:
            runs = np.stack([values[j:last + j] for j in range(n)], axis=1)
            for found, chosen in zip(self.found, sets, strict=True):
                found.append(np.unique(runs[chosen], axis=0))
            return
        if len(self.half_number):
            self._add_halves(values, sets)
            return
        code = self._numbers(values, n)
        for seen, found, chosen in zip(self.seen, self.found, sets, strict=True):
            if self.small:
                seen[code[chosen]] = True
            else:
                found.append(ragged.distinct(code[chosen]))

    def _numbers(self, values: np.ndarray, k: int) -> np.ndarray:
        """The number (base ``base``) of the run of ``k`` values from each place that has one."""
        last = len(values) - k + 1
        code = values[:last].astype(np.int64)
        for j in range(1, k):
            code *= self.base
            code += values[j:last + j]
        return code

    def _add_halves(self, values: np.ndarray, sets: list[np.ndarray]) -> None:
        k = self.n // 2
        half = self._numbers(values, k)
        new = ragged.distinct(half[self.half_number[half] < 0])
        self.half_number[new] = np.arange(self.halves, self.halves + len(new))
        self.halves += len(new)
        numbered = self.half_number[half]
        runs = len(sets[0])
        first, second = numbered[:runs], numbered[k:k + runs]
        if self.paired and self.halves > PAIR_NUMBERS:  # too many for the bitmap: keep numbers
            for seen, found in zip(self.seen, self.found, strict=True):
                found.append(self._pairs_seen(seen))
            self.paired, self.seen = False, [np.zeros(0, dtype=bool) for _ in self.seen]
        for seen, found, chosen in zip(self.seen, self.found, sets, strict=True):
            if self.paired:
                seen[first[chosen] * PAIR_NUMBERS + second[chosen]] = True
            else:
                found.append(ragged.distinct(first[chosen] * len(self.half_number) + second[chosen]))

    def _pairs_seen(self, seen: np.ndarray) -> np.ndarray:
        """The runs marked in a bitmap of half numbers, as kept past it."""
        first, second = np.divmod(np.flatnonzero(seen), PAIR_NUMBERS)
        return first * len(self.half_number) + second

    def count(self, at: int = 0) -> int:
        """The distinct runs of set ``at``."""
        if self.small or self.paired:
            return int(np.count_nonzero(self.seen[at]))
        if not self.found[at]:
            return 0
        found = np.concatenate(self.found[at])
        return len(np.unique(found, axis=0) if self.wide else ragged.distinct(found))


PAIR_NUMBERS = 1 << 12  # halves of runs numbered for the bitmap of their pairs (16 MB)


def _durations(arrays: MelodyArrays | PackedMelodies | MelodyRows,
               batches: list[tuple[int, int]]) -> np.ndarray:
    """The distinct durations (quarters) of the melodies, or of the packed batch that holds
    them (``MelodyRows``): ranks among more durations number the rhythm runs just as well,
    one to one, so the count of distinct runs is the same."""
    whole = arrays.batch if isinstance(arrays, MelodyRows) else arrays
    if isinstance(whole, PackedMelodies):  # integer ticks: marked in a table, not sorted
        # A chunk at a time: indexing (as np.bincount) makes 64-bit integers of what it is
        # given, 420 MB for the 52 million notes of a million melodies at once; and mapped
        # ticks are given back chunk by chunk (``_release``).
        ticks, seen = whole.ticks, np.zeros(MARKED_TICKS, dtype=bool)
        for at in range(0, len(ticks), MARK_CHUNK):
            chunk = ticks[at:at + MARK_CHUNK]
            if chunk.min() < 0 or chunk.max() >= MARKED_TICKS:
                return ragged.distinct(ticks) / TICKS_PER_QUARTER
            seen[chunk] = True
            _release(whole)
        return np.flatnonzero(seen) / TICKS_PER_QUARTER
    return np.unique(np.concatenate([np.unique(arrays.rows(lo, hi).quarters) for lo, hi in batches]
                                    or [np.zeros(0)]))


def _release(arrays: MelodyArrays | PackedMelodies) -> None:
    """Melodies in mapped files (``MappedMelodies``) give the pages read so far back: a pass
    over a million melodies' ticks would otherwise keep ~200 MB resident in the report's
    worker (their reads by row give them back themselves)."""
    if isinstance(arrays, MappedMelodies):
        arrays.release()


def _melody_metrics(arrays: MelodyArrays | PackedMelodies | MelodyRows, rows: int) -> dict[str, float]:
    """pitch_class_entropy, distinct_interval_3grams, contour_variety and rhythm_variety of
    the melodies, ``rows`` melodies unpacked at a time (the same values as the functions)."""
    return _melody_metrics_of(arrays, rows, [None])[0]


def _melody_metrics_of(arrays: MelodyArrays | PackedMelodies | MelodyRows, rows: int,
                       sets: list[np.ndarray | None]) -> list[dict[str, float]]:
    """``_melody_metrics`` of each set of the melodies (one bool a melody, None: all of
    them), from one pass over the melodies: each batch unpacked, and its intervals, contours
    and rhythms numbered, once for all the sets.

    No metric here depends on the order of the melodies, so rows of a batch are read in
    the batch's order: the written examples (in id order, scattered over the run's mapped
    melody files) would otherwise map nearly the whole files in each batch (~300 MB at a
    million). The same order whatever the number of workers.

    Packed melodies (whole ticks) weigh their pitch classes in ticks, summed exactly, so a
    set's entropy is the same whatever the batches and the other sets; unpacked ones in
    quarters, melody by melody, as ``pitch_class_entropy`` does."""
    if isinstance(arrays, MelodyRows):
        order = np.argsort(arrays.index, kind="stable")
        arrays = MelodyRows(arrays.batch, arrays.index[order])
        sets = [None if chosen is None else chosen[order] for chosen in sets]
    whole = arrays.batch if isinstance(arrays, MelodyRows) else arrays
    exact = isinstance(whole, PackedMelodies)
    batches = [(lo, min(lo + rows, len(arrays))) for lo in range(0, len(arrays), rows)]
    # rhythm_variety ranks the durations among all distinct ones: find them first (those of
    # all the melodies: ranks among more durations count each set's runs just as well).
    durations = _durations(arrays, batches)
    rank_of_ticks = _tick_ranks(durations) if exact else None
    if isinstance(arrays, PackedMelodies) and rank_of_ticks is not None and _compiled_pays(arrays):
        counted = _compiled_metrics(arrays, sets, rank_of_ticks, 2 * len(durations))
        if counted is not None:
            return counted
    totals = [np.zeros(12) for _ in sets]
    intervals = _DistinctRuns(3, 2 * MAX_PITCH + 1, len(sets))
    contours = _DistinctRuns(5, 3, len(sets))
    rhythms = _DistinctRuns(4, 2 * len(durations), len(sets))
    for lo, hi in batches:
        batch = arrays.rows(lo, hi)
        within = [None if chosen is None else chosen[lo:hi] for chosen in sets]
        owner = ragged.owners(batch.starts)
        ticks = np.rint(batch.quarters * TICKS_PER_QUARTER) if exact else None
        if ticks is not None:  # pitch classes by ticks: whole numbers, summed exactly
            sounding = batch.pitches >= 0
            pitch_class, weight, note_owner = batch.pitches[sounding] % 12, ticks[sounding], owner[sounding]
            for total, chosen in zip(totals, within, strict=True):
                picked = slice(None) if chosen is None else chosen[note_owner]
                total += np.bincount(pitch_class[picked], weights=weight[picked], minlength=12)
        else:
            histograms = batch.histograms()
            for total, chosen in zip(totals, within, strict=True):
                total += (histograms if chosen is None else histograms[chosen]).sum(axis=0)
        step, step_owner = _intervals(batch, owner)
        intervals.add(step + MAX_PITCH, step_owner, within)
        contours.add(np.sign(step) + 1, step_owner, within)
        duration = np.searchsorted(durations, batch.quarters) if rank_of_ticks is None or ticks is None \
            else rank_of_ticks[ticks.astype(np.int64)]
        rhythms.add(duration * 2 + (batch.pitches < 0), owner, within)
    return [{"pitch_class_entropy": _weighted_entropy(total),
             "distinct_interval_3grams": float(intervals.count(k)),
             "contour_variety": float(contours.count(k)),
             "rhythm_variety": float(rhythms.count(k))} for k, total in enumerate(totals)]


def _compiled_pays(arrays: PackedMelodies) -> bool:
    """Whether the compiled pass (``_compiled_metrics``) is worth its start here: numba is
    loaded already (a big run's processes), or the melodies are many enough to pay ~0.5 s
    for its import. Both ways give the same values."""
    return "numba" in sys.modules or len(arrays.pitches) >= COMPILED_FROM


COMPILED_FROM = 5_000_000  # events from which the compiled pass loads numba itself
COMPILED_CHUNK = 100_000  # melodies the compiled pass reads before mapped pages are given back
MAX_RHYTHM_BITS = 1 << 28  # rhythm 4-grams the compiled pass marks in a bitmap (32 MB a set)


def _compiled_metrics(whole: PackedMelodies, sets: list[np.ndarray | None], rank_of_ticks: np.ndarray,
                      base: int) -> list[dict[str, float]] | None:
    """``_melody_metrics_of`` of packed melodies in one compiled pass over their events, read
    where they lie (``_runs_loop``: no batch unpacked, no array of runs made); None when the
    rhythm 4-grams (``base`` ** 4 of them) are too many for its bitmaps, or too many sets."""
    if base ** 4 > MAX_RHYTHM_BITS or len(sets) > 8:
        return None
    member = np.zeros(len(whole), dtype=np.uint8)  # bit k: in set k
    for k, chosen in enumerate(sets):
        member |= np.uint8(1 << k) if chosen is None else chosen.astype(np.uint8) << np.uint8(k)
    width = 2 * MAX_PITCH + 1
    totals = np.zeros((len(sets), 12), dtype=np.int64)
    found = np.zeros((len(sets), 3), dtype=np.int64)  # distinct runs of each kind
    seen = [np.zeros((len(sets), (size + 7) // 8), dtype=np.uint8)
            for size in (width ** 3, 3 ** 5, base ** 4)]
    loop = _compiled_loop()
    for lo in range(0, len(whole), COMPILED_CHUNK):
        loop(whole.pitches, whole.ticks, whole.starts, lo, min(lo + COMPILED_CHUNK, len(whole)), member,
             rank_of_ticks, base, totals, found, *seen)
        _release(whole)
    return [{"pitch_class_entropy": _weighted_entropy(totals[k].astype(float)),
             "distinct_interval_3grams": float(found[k, 0]), "contour_variety": float(found[k, 1]),
             "rhythm_variety": float(found[k, 2])} for k in range(len(sets))]


def _runs_loop(pitches: np.ndarray, ticks: np.ndarray, starts: np.ndarray, lo: int, hi: int,
               member: np.ndarray, rank: np.ndarray, base: int, totals: np.ndarray, found: np.ndarray,
               intervals: np.ndarray, contours: np.ndarray, rhythms: np.ndarray) -> None:
    """Melodies ``lo`` to ``hi`` added to each set they are in (``member``'s bits): their
    pitch classes' ticks to ``totals``, and each run's bit set in the set's bitmaps of
    interval 3-grams (semitone steps between sounding notes + 127, base 255), contour
    5-grams (their signs + 1, base 3) and rhythm 4-grams (each event's duration rank x 2,
    + 1 for a rest, base ``base``), numbered as ``_melody_metrics_of`` numbers them (the
    last values of each kind kept in locals, oldest first); ``found[k]`` counts the bits
    set in set k's three bitmaps. Compiled by numba."""
    sets = totals.shape[0]
    width = 2 * 127 + 1
    for m in range(lo, hi):
        inside = int(member[m])
        prev = -1
        steps = 0
        events = 0
        s1 = s2 = 0  # the two steps before this one (+ 127)
        c1 = c2 = c3 = c4 = 0  # the four signs before this one (+ 1)
        r1 = r2 = r3 = 0  # the three rhythm values before this one
        for i in range(starts[m], starts[m + 1]):
            pitch = int(pitches[i])
            tick = int(ticks[i])
            r = rank[tick] * 2 + (1 if pitch < 0 else 0)
            events += 1
            if events >= 4:
                run = ((r1 * base + r2) * base + r3) * base + r
                byte, bit = run >> 3, np.uint8(1 << (run & 7))
                for k in range(sets):
                    if inside >> k & 1 and not rhythms[k, byte] & bit:
                        rhythms[k, byte] |= bit
                        found[k, 2] += 1
            r1, r2, r3 = r2, r3, r
            if pitch < 0:
                continue
            for k in range(sets):
                if inside >> k & 1:
                    totals[k, pitch % 12] += tick
            if prev >= 0:
                step = pitch - prev
                s = step + 127
                c = 2 if step > 0 else 0 if step < 0 else 1
                steps += 1
                interval = (s1 * width + s2) * width + s
                contour = (((c1 * 3 + c2) * 3 + c3) * 3 + c4) * 3 + c
                byte, bit = interval >> 3, np.uint8(1 << (interval & 7))
                for k in range(sets):
                    if inside >> k & 1 and steps >= 3 and not intervals[k, byte] & bit:
                        intervals[k, byte] |= bit
                        found[k, 0] += 1
                byte, bit = contour >> 3, np.uint8(1 << (contour & 7))
                for k in range(sets):
                    if inside >> k & 1 and steps >= 5 and not contours[k, byte] & bit:
                        contours[k, byte] |= bit
                        found[k, 1] += 1
                s1, s2 = s2, s
                c1, c2, c3, c4 = c2, c3, c4, c
            prev = pitch


@lru_cache(maxsize=1)
def _compiled_loop() -> Callable[..., None]:
    """``_runs_loop`` compiled for this machine (``compiled.njit``)."""
    return compiled.njit(_runs_loop)


def _tick_ranks(durations: np.ndarray) -> np.ndarray | None:
    """Each tick count's rank among ``durations`` (quarters of whole ticks, ascending), by
    index: what ``np.searchsorted(durations, quarters)`` gives, read from a table (~3x
    faster); None when the longest is too long for a small table."""
    ticks = np.rint(durations * TICKS_PER_QUARTER).astype(np.int64)
    if not len(ticks) or ticks[-1] >= RANKED_TICKS:
        return None
    table = np.zeros(int(ticks[-1]) + 1, dtype=np.int64)
    table[ticks] = np.arange(len(ticks))
    return table


RANKED_TICKS = 1 << 20  # tick counts a table of ranks covers (8 MB at most)


def report(columns: Columns, rows: int = REPORT_ROWS) -> dict[str, float]:
    """``diversity_report`` of examples given as columns (a pure function of picklable
    values: a mapper can run it in another process). The melody metrics unpack ``rows``
    melodies at a time."""
    return _report(columns, _melody_metrics(columns.arrays, rows))


def reports(pair: tuple[Columns, Columns], rows: int = REPORT_ROWS
            ) -> tuple[dict[str, float], dict[str, float]]:
    """``(report(before), report(after))`` of a pair of columns, the same values. When the
    melodies of ``after`` are rows of those of ``before`` (``MelodyRows`` of that very
    batch, packed, no row twice: a run's written examples among its candidates), their
    melody metrics come from the one pass over ``before``'s melodies (``_melody_metrics_of``):
    a run's second pass over nearly the same million melodies is not made."""
    before, after = pair
    held = _held_rows(before.arrays, after.arrays)
    if held is None:
        return report(before, rows), report(after, rows)
    melodic_before, melodic_after = _melody_metrics_of(before.arrays, rows, [None, held])
    return _report(before, melodic_before), _report(after, melodic_after)


def _held_rows(batch: MelodyArrays | PackedMelodies | MelodyRows,
               rows: MelodyArrays | PackedMelodies | MelodyRows) -> np.ndarray | None:
    """Which melodies of ``batch`` ``rows`` holds (one bool each), when ``rows`` are rows of
    that packed batch, none twice; else None."""
    if not isinstance(rows, MelodyRows) or rows.batch is not batch or not isinstance(batch, PackedMelodies):
        return None
    held = np.zeros(len(batch), dtype=bool)
    held[rows.index] = True
    return held if np.count_nonzero(held) == len(rows.index) else None


def _report(columns: Columns, melodic: dict[str, float]) -> dict[str, float]:
    """The report of ``columns`` given its melody metrics."""
    return {name: round(melodic[name] if name in melodic else f(columns), 4)
            for name, f in METRICS.items()}
