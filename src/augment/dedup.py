"""Deduplication stages: exact, transposition/tempo-invariant, and near duplicates.

Exact: two examples are the same when their canonical melody (list form, quarter
notes) and every message text but the melody are equal.
Invariant: equal interval sequence and duration ratios (``near.invariant_key``): the same
tune in another key or at another tempo.
Near: a verified edit similarity at or above the calibrated threshold (``near.py``).

Examples are visited seeds first, then by id, so the result does not depend on input
order. An example is dropped only for a duplicate among the examples already *kept*, so a
dropped example is always within the threshold of its keeper: chains of near duplicates
never merge unrelated tunes. Which levels are removed is set separately within one seed
family and across families (``[dedup]``): variants of one seed are meant to be transposed
copies, so by default only exact duplicates go inside a family.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from itertools import chain, repeat
from operator import attrgetter, not_
from typing import Any, cast, overload

import numpy as np

from . import ragged
from .calibrate import Calibration, calibrate
from .codec import format_melody, melody_json
from .config import DEDUP_LEVELS, DedupConfig
from .editdist import Tokenized
from .example import Example
from .melody import GridArrays, Melody
from .near import (
    NearParams,
    NearSearch,
    Tokens,
    TokenSequence,
    band_buckets,
    batch_tokens,
    grid_tokens,
    invariant_digests,
    invariant_key,
    melody_tokens,
    near_pair_arrays,
    signatures_of,
)
from .parallel import Mapper
from .theory import MelodyArrays, PackedMelodies

MelodyOf = Callable[[Example], Melody]
# The melody of an example: its own. A big run's main process keeps its candidates' melodies
# in flat arrays and passes the stages a function that reads them there (``RowMelodies``).
MELODY: MelodyOf = attrgetter("melody")


@dataclass(frozen=True)
class RowMelodies:
    """The melody of an example: its own, or a slim example's (``pipeline.SlimExamples``) row of
    ``melodies`` (``row_of[id]``, which holds every example of the run). ``grid`` lays many
    out at once from the rows when the melodies are packed (exact, on the tick grid)."""

    melodies: MelodyArrays | PackedMelodies
    row_of: Mapping[str, int]

    def __call__(self, e: Example) -> Melody:
        return e.melody if len(e.melody) else self.melodies.melody(self.row_of[e.id])

    def grid(self, examples: Sequence[Example]) -> GridArrays | None:
        """The examples' melodies laid out (``GridArrays.of`` of them); None unless packed."""
        if not isinstance(self.melodies, PackedMelodies):
            return None
        rows = np.fromiter(map(self.row_of.__getitem__, map(_ID, examples)), np.int64, len(examples))
        sub = self.melodies.subset(rows)
        return GridArrays(sub.pitches.astype(np.int64), sub.ticks.astype(np.int64), sub.starts)


def exact_key(example: Example) -> str:
    texts = [[m.role, m.content] for i, m in enumerate(example.messages) if i != example.melody_index]
    canonical = json.dumps([texts, format_melody(example.melody)], ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def exact_digests(examples: Sequence[Example]) -> bytes:
    """The sha256 digests of ``exact_key`` of every example, back to back. The JSON text of
    the messages besides the melody is made once for all the examples that share them (a
    seed's variants share the system message and a few dozen prompts), then each example's
    melody text is added: the same text ``json.dumps`` writes (``ensure_ascii=False``, the
    default separators), for messages whose contents are all strings."""
    # (the hash of each prefix's text, copied for each example: only its melody is hashed)
    prefixes: dict[tuple[tuple[str, object], ...], Any] = {}
    out = []
    for e in examples:
        messages, at = e.messages, e.melody_index
        texts = tuple(map(_ROLE_CONTENT, messages[:at] + messages[at + 1:]))
        try:
            prefix = prefixes.get(texts, _UNSEEN)
            if prefix is _UNSEEN:
                text = _messages_json(texts)
                prefix = prefixes[texts] = None if text is None else hashlib.sha256(text.encode())
        except TypeError:  # a content that is no string (a list of parts): unhashable
            prefix = None
        if prefix is None:
            out.append(bytes.fromhex(exact_key(e)))
        else:
            h = prefix.copy()
            h.update(f"{melody_json(e.melody)}]".encode())
            out.append(h.digest())
    return b"".join(out)


def _messages_json(texts: tuple[tuple[str, object], ...]) -> str | None:
    """The start of ``exact_key``'s JSON text up to the melody text, when every role and
    content is a string (else None: the example takes ``exact_key`` itself)."""
    if not all(type(role) is str and type(content) is str for role, content in texts):
        return None
    return "[[" + ", ".join(f"[{_json_text(role)}, {_json_text(str(content))}]"
                            for role, content in texts) + "], "


_ROLE_CONTENT = attrgetter("role", "content")
_UNSEEN: Any = object()  # (None is a remembered answer)
_json_text = json.encoder.encode_basestring  # a str as json.dumps(ensure_ascii=False) writes it

DIGEST = 32  # bytes of a sha256 digest
_DIGEST_ITEM = np.dtype(f"V{DIGEST}")  # one digest as one numpy item


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """What dedup and the leakage audit need of one example, computed once (``fingerprints``)
    where the example is made, in parallel with the other per-seed work. The tokens
    themselves are not kept (memory): near-duplicate verification remakes them for the few
    melodies a candidate pair holds."""

    exact: bytes  # exact_key, as its sha256 digest
    invariant: bytes  # near.invariant_key of the melody, as its digest
    length: int  # number of near.melody_tokens of the melody


@dataclass(frozen=True)
class PrintBlock(Sequence[Fingerprint]):
    """Fingerprints of many examples as columns (digests back to back, lengths in an array):
    how they travel from the per-seed stage and wait for dedup (~70 bytes each, where a
    ``Fingerprint`` in a dict by id takes ~250)."""

    exact: bytes
    invariant: bytes
    length: np.ndarray  # int64

    @classmethod
    def of(cls, prints: Sequence[Fingerprint]) -> PrintBlock:
        return cls(b"".join(p.exact for p in prints), b"".join(p.invariant for p in prints),
                   np.array([p.length for p in prints], dtype=np.int64))

    @classmethod
    def join(cls, blocks: Sequence[PrintBlock]) -> PrintBlock:
        return cls(b"".join(b.exact for b in blocks), b"".join(b.invariant for b in blocks),
                   np.concatenate([b.length for b in blocks] or [np.zeros(0, dtype=np.int64)]))

    def __len__(self) -> int:
        return len(self.length)

    @overload
    def __getitem__(self, i: int) -> Fingerprint: ...

    @overload
    def __getitem__(self, i: slice) -> Sequence[Fingerprint]: ...

    def __getitem__(self, i: int | slice) -> Fingerprint | Sequence[Fingerprint]:
        if isinstance(i, slice):
            return [self[k] for k in range(len(self))[i]]
        if not -len(self) <= i < len(self):
            raise IndexError(i)
        i %= len(self)
        at = slice(i * DIGEST, (i + 1) * DIGEST)
        return Fingerprint(self.exact[at], self.invariant[at], int(self.length[i]))

    def take(self, rows: Sequence[int] | np.ndarray) -> PrintBlock:
        index = np.asarray(rows, dtype=np.intp)

        def digests(blob: bytes) -> bytes:  # (each digest one 32-byte item: ~2x a (n, 32) uint8 take)
            return np.frombuffer(blob, dtype=_DIGEST_ITEM)[index].tobytes()
        return PrintBlock(digests(self.exact), digests(self.invariant), self.length[index])


@dataclass(frozen=True)
class PrintTable(Mapping[str, Fingerprint]):
    """Fingerprints by example id, kept as one ``PrintBlock``: ``block[row_of[id]]``."""

    block: PrintBlock
    row_of: Mapping[str, int]

    def __getitem__(self, key: str) -> Fingerprint:
        return self.block[self.row_of[key]]

    def __iter__(self) -> Iterator[str]:
        return iter(self.row_of)

    def __len__(self) -> int:
        return len(self.row_of)

    @classmethod
    def of(cls, examples: Sequence[Example]) -> PrintTable:
        """The examples' fingerprints, made in batches (``PRINT_BATCH``), by id (an id met
        twice: its first row). For a caller that has none and reads them more than once
        (``augment dedup`` and ``split`` of a file: exact dedup, the near search, the audit)."""
        row_of: dict[str, int] = {}
        for i, e in enumerate(examples):
            row_of.setdefault(e.id, i)
        return cls(_prints_of(examples, None), row_of)


def fingerprint(example: Example) -> Fingerprint:
    return fingerprints([example])[0][0]


def fingerprints(examples: Sequence[Example], params: NearParams | None = None,
                 grid: GridArrays | None = None) -> tuple[PrintBlock, np.ndarray | None]:
    """Each example's fingerprint and, with ``params``, the LSH buckets of their tokens'
    MinHash signatures (``near.band_buckets`` of ``near.signatures_of``, row by row; one
    batch). ``grid``: the examples' melodies laid out already (``GridArrays.of``)."""
    if any(e.messages[e.melody_index].content is None for e in examples):
        raise ValueError("a slim example (pipeline.SlimExamples: no melody, no melody text) has its "
                         "fingerprint made where it was made, before slimming")
    exact = exact_digests(examples)
    melodies = [e.melody for e in examples]
    tok = batch_tokens(melodies, grid)  # all at once (None: one by one)
    if tok is not None:
        block = PrintBlock(exact, b"".join(invariant_digests(melodies, tok)), tok.lengths)
        return block, None if params is None else band_buckets(signatures_of(tok, params), params)
    tokens = [melody_tokens(m) for m in melodies]
    block = PrintBlock(exact, b"".join(bytes.fromhex(invariant_key(m, t))
                                       for m, t in zip(melodies, tokens, strict=True)),
                       np.array([len(t) for t in tokens], dtype=np.int64))
    return block, None if params is None else band_buckets(signatures_of(tokens, params), params)


@dataclass(frozen=True)
class Buckets:
    """LSH buckets made earlier: ``rows[row_of[id]]`` is ``near.band_buckets`` of the MinHash
    signature of example ``id``'s tokens under NearParams with (shingle_size, num_perm,
    bands, rows a band) = ``signed`` (``Buckets.signed_by``)."""

    signed: tuple[int, int, int, int]
    rows: np.ndarray
    row_of: Mapping[str, int]

    @staticmethod
    def signed_by(params: NearParams) -> tuple[int, int, int, int]:
        return (params.shingle_size, params.num_perm, *params.bands())

    def of(self, examples: Sequence[Example], params: NearParams) -> np.ndarray | None:
        """The examples' rows, or None when made under other params or some are not here."""
        index = self.index(examples, params)
        return None if index is None else self.rows[index]

    def index(self, examples: Sequence[Example], params: NearParams) -> np.ndarray | None:
        """The number of each example's row in ``rows`` (None as for ``of``): a big run's
        stages read the rows they need through it instead of copying them."""
        if self.signed != self.signed_by(params):
            return None
        return _rows(self.row_of, examples)


Prints = Mapping[str, Fingerprint]  # example id -> its fingerprint (ids are content hashes)


_ID = attrgetter("id")
_SEED_ID = attrgetter("seed_id")
_STEPS = attrgetter("steps")


def _rows(row_of: Mapping[str, int], examples: Sequence[Example]) -> np.ndarray | None:
    """``row_of[e.id]`` of each example, or None when one is missing (C-level loops: at a
    million candidates these lookups are a good part of dedup's time)."""
    rows = np.fromiter(map(row_of.get, map(_ID, examples), repeat(-1)), dtype=np.int64,
                       count=len(examples))
    return rows if not len(rows) or rows.min() >= 0 else None


def _tables_of(examples: Sequence[Example], prints: Prints | None, buckets: Buckets | None,
               params: NearParams, rows: np.ndarray | None = None
               ) -> tuple[PrintBlock, np.ndarray | None]:
    """``_prints_of`` the examples and ``buckets.index`` of them, each example's row looked up
    once for both when the two tables share their rows (the run's tables do). ``rows``, when
    the caller knows them: the examples' rows of those shared tables (``_rows``)."""
    if isinstance(prints, PrintTable) and buckets is not None and buckets.row_of is prints.row_of:
        if rows is None:
            rows = _rows(prints.row_of, examples)
        if rows is not None:
            signed = buckets.signed == Buckets.signed_by(params)
            return prints.block.take(rows), rows if signed else None
    return _prints_of(examples, prints), None if buckets is None else buckets.index(examples, params)


def _prints_of(examples: Sequence[Example], prints: Prints | None) -> PrintBlock:
    """The fingerprints of ``examples``, row by row: from ``prints`` when there, else made now."""
    if isinstance(prints, PrintTable):
        rows = _rows(prints.row_of, examples)
        if rows is not None:
            return prints.block.take(rows)
    get = (prints or {}).get
    known: list[Fingerprint | None] = [get(ex.id) for ex in examples]
    missing = [i for i, fp in enumerate(known) if fp is None]
    if len(missing) == len(examples) > 0:  # none given (a file's lines): made in batches
        return PrintBlock.join([fingerprints(examples[lo:lo + PRINT_BATCH])[0]
                                for lo in range(0, len(examples), PRINT_BATCH)])
    for lo in range(0, len(missing), PRINT_BATCH):
        part = missing[lo:lo + PRINT_BATCH]
        block = fingerprints([examples[i] for i in part])[0]
        for k, i in enumerate(part):
            known[i] = block[k]
    return PrintBlock.of(cast(list[Fingerprint], known))


# Examples fingerprinted at once where no fingerprints were given (``augment dedup`` and
# ``split`` of a file): one batch's flat arrays, not a batch a melody (~130 us each).
PRINT_BATCH = 4096


def _class_groups(class_of: Sequence[int] | np.ndarray, labels: Sequence[str], n_classes: int) -> list[int]:
    """Per class (``class_of`` each example), the number of its one label (labels numbered in
    sorted order), or a number of its own (past every label's) when its examples carry more
    than one."""
    codes, code = ragged.numbered(labels)  # labels numbered as first met
    at = np.asarray(class_of, dtype=np.int64)
    lo = np.full(n_classes, len(code), dtype=np.int64)
    hi = np.full(n_classes, -1, dtype=np.int64)
    np.minimum.at(lo, at, codes)
    np.maximum.at(hi, at, codes)
    number = {label: n for n, label in enumerate(sorted(code))}
    number_of_code = np.asarray([number[label] for label in code] + [-1], dtype=np.int64)
    own = len(number) + np.arange(n_classes)
    return np.where(lo == hi, number_of_code[lo], own).tolist()


def first_equal(digests: bytes) -> np.ndarray:
    """For each ``DIGEST``-byte digest laid back to back, the number of the first digest
    equal to it (its own number when it is the first). Grouped by the first 8 bytes in
    numpy and then compared whole, so a million digests need no bytes object and no dict
    (a dict of them when two differ only past their first 8 bytes, which chance makes
    all but impossible)."""
    rows = _digest_rows(digests)
    out = ragged.first_equal(rows.view(np.uint64)[:, 0])
    later = np.flatnonzero(out != np.arange(len(out)))  # (a first equals itself: only these to confirm)
    if np.array_equal(rows[later], rows[out[later]]):
        return out
    seen: dict[bytes, int] = {}
    return np.array([seen.setdefault(digests[i:i + DIGEST], i // DIGEST)
                     for i in range(0, len(digests), DIGEST)], dtype=np.int64)


def shares_digest(few: bytes, many: bytes) -> bool:
    """Whether a digest of ``few`` is also one of ``many`` (both laid back to back), found
    by the first 8 bytes in numpy, then confirmed whole for the few that match there."""
    def lead(digests: bytes) -> np.ndarray:
        return _digest_rows(digests).view(np.uint64)[:, 0]
    wanted = {few[i:i + DIGEST] for i in range(0, len(few), DIGEST)}
    return any(many[i * DIGEST:(i + 1) * DIGEST] in wanted
               for i in np.flatnonzero(np.isin(lead(many), lead(few))).tolist())


def _digest_rows(digests: bytes) -> np.ndarray:
    """Digests laid back to back as a (digests, ``DIGEST``) byte array (no copy)."""
    return np.frombuffer(digests, dtype=np.uint8).reshape(-1, DIGEST)


def dedup_exact(examples: Iterable[Example], prints: Prints | None = None
                ) -> tuple[list[Example], list[tuple[Example, str]]]:
    """(kept, [(dropped, reason)]); kept in (seed first, id) order."""
    kept, dropped, _, _ = _dedup_exact(examples, prints)
    return kept, dropped


def _dedup_exact(examples: Iterable[Example], prints: Prints | None, rows: np.ndarray | None = None
                 ) -> tuple[list[Example], list[tuple[Example, str]], np.ndarray | None, np.ndarray]:
    """``dedup_exact``, the kept examples' rows of ``prints`` when it is a ``PrintTable``
    (else None), and the examples' places in id order (``ragged.text_order`` of their ids).
    The rows are looked up in the order the examples come (a run's candidates: in memory
    order, 3x faster at a million than in id order) and then put in id order; ``rows``,
    when the caller knows them, are the examples' rows there."""
    examples = list(examples)
    is_seed = np.fromiter(map(not_, map(_STEPS, examples)), dtype=bool, count=len(examples))
    by_id = ragged.text_order(list(map(_ID, examples)))
    order = ragged.first_then(by_id, is_seed)  # seeds, then variants, by id
    table = prints if isinstance(prints, PrintTable) else None
    if rows is not None and len(rows) != len(examples):
        raise ValueError("one row is needed for each example")
    if table is None:
        rows = None
    elif rows is None:
        rows = _rows(table.row_of, examples)
    if table is not None and rows is not None:
        rows = rows[order]
        block = table.block.take(rows)
    else:
        block = _prints_of([examples[i] for i in order.tolist()], prints)
    first = first_equal(block.exact)  # by place in id order
    is_first = first == np.arange(len(first))
    # Each list is made straight from ``examples`` (no million-entry list in id order first).
    dropped = [(examples[at], f"exact_duplicate: same melody and prompt as {examples[by].id}")
               for at, by in zip(order[~is_first].tolist(), order[first[~is_first]].tolist(),
                                 strict=True)]
    kept = [examples[at] for at in order[is_first].tolist()]
    return kept, dropped, None if rows is None else rows[is_first], by_id


@dataclass(frozen=True)
class MelodyRelations:
    """Which examples share a tune: invariant class per example and verified near pairs."""

    rep_of: Mapping[str, int]  # example id -> index of its invariant class
    near: Mapping[int, tuple[tuple[int, float], ...]] = field(default_factory=dict)
    # The class of each example ``of`` was given, in that order (``rep_of`` by position).
    class_of: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64), compare=False,
                                 repr=False)

    @classmethod
    def of(cls, examples: Sequence[Example], params: NearParams,
           across: Callable[[Example], str] | Sequence[str] | None = None, *,
           prints: Prints | None = None,
           buckets: Buckets | None = None, mapper: Mapper | None = None,
           melody_of: MelodyOf = MELODY, rows: np.ndarray | None = None,
           search: NearSearch | None = None) -> MelodyRelations:
        """Classes and near pairs of ``examples``. With ``across`` (e.g. the seed family; a
        function of the example, or the label of each example in order),
        near pairs are only looked for between classes that could join different labels:
        two classes whose examples all carry one and the same label are not compared.
        ``prints`` and ``buckets`` hold fingerprints and LSH buckets (of MinHash signatures)
        already computed (the rest are computed here); ``mapper`` runs the LSH bands and the
        verification of candidate pairs (``near.near_pair_arrays``); ``melody_of`` gives each
        example's melody; ``rows``, when the caller knows them, the examples' rows of
        ``prints`` and ``buckets`` (``_tables_of``). ``search``, a search made earlier over
        these melodies or more (``Calibration.search``), gives the near pairs when it can
        (``NearSearch.among``: same params, every melody searched) instead of searching."""
        fps, rows = _tables_of(examples, prints, buckets, params, rows)
        # Classes of equal invariant keys, numbered as first met; each is represented by its
        # first example.
        first_of = first_equal(fps.invariant)
        first = np.flatnonzero(first_of == np.arange(len(first_of)))
        classes = np.searchsorted(first, first_of)
        groups = None
        if across is not None:
            labels = [across(ex) for ex in examples] if callable(across) else across
            groups = _class_groups(classes, labels, len(first))

        def digest_of(k: int) -> bytes:  # class k's invariant digest
            at = int(first[k]) * DIGEST
            return fps.invariant[at:at + DIGEST]
        known = None if search is None else search.among(fps.length[first], params, digest_of)
        if known is not None:
            i, j, sim = known
            if groups is not None:  # as near_pair_arrays leaves out pairs inside a group
                group = np.asarray(groups, dtype=np.int64)
                across_ = group[i] != group[j]
                i, j, sim = i[across_], j[across_], sim[across_]
        else:  # search: only the classes' first examples
            index = None if rows is None or buckets is None else rows[first]
            reps = [examples[i] for i in first.tolist()]
            i, j, sim = near_pair_arrays(_Tokens(reps, melody_of), params, groups, mapper=mapper,
                                         buckets=None if index is None or buckets is None else buckets.rows,
                                         bucket_rows=index, lengths=fps.length[first].tolist())
        return cls(ClassById(examples, classes), Neighbours.of(i, j, sim), classes)


class Neighbours(Mapping[int, tuple[tuple[int, float], ...]]):
    """Class -> its near neighbours (other class, similarity), most similar first (then by
    class): ``MelodyRelations.near`` kept as arrays, a class's tuple made when it is read.
    A near-duplicate-rich file holds many (a 100,065-line one: 0.77-0.98 million pairs, each
    listed both ways), ~200 bytes each as tuples and 16 here."""

    def __init__(self, classes: np.ndarray, starts: np.ndarray, other: np.ndarray, sim: np.ndarray) -> None:
        # classes[n]'s neighbours: other[starts[n]:starts[n + 1]], with their similarities
        self.classes, self.starts, self.other, self.sim = classes, starts, other, sim
        self._at = {k: n for n, k in enumerate(classes.tolist())}

    @classmethod
    def of(cls, i: np.ndarray, j: np.ndarray, sim: np.ndarray) -> Neighbours:
        """From the near pairs (i, j, similarity), each listed both ways."""
        this, other, how = np.r_[i, j], np.r_[j, i], np.r_[sim, sim]
        order = _neighbour_order(this, other, how, sim)
        this = this[order]
        cuts = np.flatnonzero(np.r_[True, this[1:] != this[:-1], True]) if len(this) else np.zeros(1, int)
        return cls(this[cuts[:-1]], cuts, other[order], how[order])

    def __getitem__(self, key: int) -> tuple[tuple[int, float], ...]:
        other, sim = self.row(key)
        return tuple(zip(other.tolist(), sim.tolist(), strict=True))

    def row(self, key: int) -> tuple[np.ndarray, np.ndarray]:
        """Class ``key``'s neighbours and their similarities, as arrays (KeyError: none)."""
        n = self._at[key]
        a, b = int(self.starts[n]), int(self.starts[n + 1])
        return self.other[a:b], self.sim[a:b]

    def __iter__(self) -> Iterator[int]:
        return iter(self._at)

    def __len__(self) -> int:
        return len(self._at)

    def __contains__(self, key: object) -> bool:
        return key in self._at

    def pairs(self) -> tuple[np.ndarray, np.ndarray]:
        """(class, neighbour) of every entry, as arrays."""
        return np.repeat(self.classes, np.diff(self.starts)), self.other


def _neighbour_order(this: np.ndarray, other: np.ndarray, how: np.ndarray, sims: np.ndarray
                     ) -> np.ndarray:
    """``np.lexsort((other, -how, this))`` (by class, most similar first, then by neighbour),
    as one stable sort of an int64 key when it fits: the similarities, a few hundred
    distinct values, by rank. ~3x faster for the ~10 million entries of a near-duplicate-rich
    file. ``sims``: the values ``how`` takes (here half of its entries)."""
    if not len(this):
        return np.zeros(0, dtype=np.int64)
    levels = np.unique(sims)  # ascending
    rank = len(levels) - 1 - np.searchsorted(levels, how)  # 0: the most similar
    span = int(max(this.max(), other.max())) + 1
    if span * span * len(levels) >= 1 << 62 or min(this.min(), other.min()) < 0:
        return np.lexsort((other, -how, this))
    return np.argsort((this * len(levels) + rank) * span + other, kind="stable")


def _near_pairs_of(near: Mapping[int, tuple[tuple[int, float], ...]]) -> tuple[np.ndarray, np.ndarray]:
    """(class, neighbour) of every entry of a ``MelodyRelations.near``, as arrays."""
    if isinstance(near, Neighbours):
        return near.pairs()
    this = np.fromiter(chain.from_iterable(repeat(rep, len(others)) for rep, others in near.items()),
                       dtype=np.int64)
    other = np.fromiter((o for others in near.values() for o, _ in others), dtype=np.int64, count=len(this))
    return this, other


class ClassById(Mapping[str, int]):
    """Example id -> invariant class, of the examples given in order with their classes;
    the dict is made when first read (a run's dedup reads the classes by position and
    needs no million-entry dict: ~0.5 s)."""

    def __init__(self, examples: Sequence[Example], class_of: np.ndarray) -> None:
        if len(class_of) != len(examples):
            raise ValueError("one invariant class is needed for each example")
        self._examples: Sequence[Example] | None = examples
        self._class_of = class_of
        self._made: dict[str, int] | None = None

    def _dict(self) -> dict[str, int]:
        if self._made is None:
            assert self._examples is not None
            self._made = dict(zip(map(_ID, self._examples), self._class_of.tolist(), strict=True))
            self._examples = None
        return self._made

    def __getitem__(self, key: str) -> int:
        return self._dict()[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._dict())

    def __len__(self) -> int:
        return len(self._dict())


class _Tokens(TokenSequence):
    """``melody_tokens`` of each example's melody, made when read."""

    def __init__(self, examples: Sequence[Example], melody_of: MelodyOf = MELODY) -> None:
        self._examples = examples
        self._melody_of = melody_of

    def __len__(self) -> int:
        return len(self._examples)

    def row(self, i: int) -> Tokens:
        return melody_tokens(self._melody_of(self._examples[i]))

    def tokenized(self, picked: Sequence[int]) -> Tokenized | None:
        """The tokens of the examples ``picked``, numbered (``near.grid_tokens``), made at once
        from their rows when ``melody_of`` can lay them out (``RowMelodies.grid``); else None."""
        examples = [self._examples[k] for k in picked]
        lay_out = getattr(self._melody_of, "grid", None)
        grid = None if lay_out is None else lay_out(examples)
        if grid is None:
            return batch_tokens([self._melody_of(e) for e in examples])
        return grid_tokens(grid)


def near_params(config: DedupConfig, calibration: Calibration | None) -> NearParams:
    if calibration is not None:
        return calibration.params
    return NearParams(config.shingle_size, 0.3, config.similarity, min_tokens=config.min_notes - 1)


def calibrate_for(melodies: Sequence[Melody], config: DedupConfig, run_seed: int,
                  mapper: Mapper | None = None) -> Calibration:
    """Calibration on the given real melodies (seeds), with a generator from the run seed
    (``mapper`` only saves time: ``calibrate``)."""
    digest = hashlib.sha256(f"calibrate:{run_seed}".encode()).digest()
    rng = np.random.default_rng(int.from_bytes(digest[:16], "little"))
    return calibrate(melodies, rng, target_recall=config.target_recall,
                     min_similarity=config.min_similarity, min_tokens=config.min_notes - 1,
                     mapper=mapper)


@dataclass
class DedupResult:
    kept: list[Example]
    dropped: list[tuple[Example, str]]
    relations: MelodyRelations
    params: NearParams
    calibration: Calibration | None
    counts: dict[str, int]
    # The examples given, in id order (their places: ``ragged.text_order`` of their ids).
    id_order: np.ndarray
    # The kept examples' rows of the fingerprint table, when ``prints`` was a ``PrintTable``
    # (``row_of`` of it), else None: later stages read their tables by them.
    kept_rows: np.ndarray | None = None
    # The kept examples' invariant classes (``relations.rep_of`` of their ids).
    kept_classes: np.ndarray | None = None


def _allowed(level: str, policy: str) -> bool:
    return DEDUP_LEVELS.index(level) <= DEDUP_LEVELS.index(policy)


def dedup(examples: Iterable[Example], config: DedupConfig, run_seed: int = 0,
          calibration_melodies: Sequence[Melody] | None = None,
          calibration: Calibration | None = None, *, prints: Prints | None = None,
          buckets: Buckets | None = None, mapper: Mapper | None = None,
          melody_of: MelodyOf = MELODY, rows: np.ndarray | None = None) -> DedupResult:
    """Remove exact, invariant and near duplicates according to the family policies.

    Calibration (when ``config.calibrate`` and none is given) runs on
    ``calibration_melodies``, by default the seeds among ``examples``. ``prints``,
    ``buckets`` and ``mapper`` only save time (see ``MelodyRelations.of``); the result is
    the same. ``melody_of`` gives each example's melody; ``rows``, when the caller knows
    them, each example's row of ``prints`` (a ``PrintTable``) and ``buckets``.
    """
    kept_exact, dropped, kept_rows, by_id = _dedup_exact(examples, prints, rows)
    counts = {"exact_duplicates": len(dropped), "invariant_duplicates": 0, "near_duplicates": 0}
    if config.calibrate and calibration is None:
        real = calibration_melodies if calibration_melodies is not None else \
            [melody_of(e) for e in kept_exact if e.is_seed]
        calibration = calibrate_for(real, config, run_seed, mapper)
    params = near_params(config, calibration)
    # Near pairs inside one family matter only when the family policy removes them.
    same_family_near = _allowed("near", config.within_family)
    relations = MelodyRelations.of(kept_exact, params,
                                   None if same_family_near else list(map(_SEED_ID, kept_exact)),
                                   prints=prints, buckets=buckets, mapper=mapper,
                                   melody_of=melody_of, rows=kept_rows,
                                   search=None if calibration is None else calibration.search)
    positions, more = _by_policies(kept_exact, relations.class_of, relations.near, config)
    dropped.extend(more)
    for _, reason in more:
        counts["invariant_duplicates" if reason.startswith("inv") else "near_duplicates"] += 1
    kept = [kept_exact[at] for at in positions.tolist()]
    return DedupResult(kept, dropped, relations, params, calibration, counts, by_id,
                       None if kept_rows is None else kept_rows[positions], relations.class_of[positions])


def _by_policies(examples: Sequence[Example], class_of: np.ndarray,
                 near: Mapping[int, tuple[tuple[int, float], ...]], config: DedupConfig
                 ) -> tuple[np.ndarray, list[tuple[Example, str]]]:
    """The positions of the examples kept and (example, reason) of those dropped, in order:
    each example is dropped when a kept example before it, of a family the policies cover,
    shares its invariant class (``class_of`` each example) or a class near it (``near``:
    class -> (class, similarity), listed both ways)."""
    if len(class_of) != len(examples):
        raise ValueError("one invariant class is needed for each example")
    keep = np.zeros(len(examples), dtype=bool)
    reasons: dict[int, str] = {}  # position -> why dropped
    near_classes = near.classes if isinstance(near, Neighbours) else \
        [rep for rep, others in near.items() if others]
    looped = np.isin(class_of, near_classes) if len(near_classes) else np.zeros(len(examples), dtype=bool)
    # A class with no near neighbour is decided on its own, at once (no other example asks
    # about it): most of a run's (~1.2 s at a million candidates, one by one).
    _by_class(examples, class_of, np.flatnonzero(~looped), config, keep, reasons)
    # The classes with near neighbours (few): one example after another, as defined.
    # invariant class -> family -> id of the first kept example of that family in the class
    keepers: dict[int, dict[str, str]] = defaultdict(dict)
    # A near class with no keeper yet gives no reason (``_duplicate_of`` of no keepers), so
    # only the neighbours holding one are asked, in the same order.
    kept_near = _KeptNeighbours(near, len(class_of) and int(class_of.max()) + 1)
    for at in np.flatnonzero(looped).tolist():
        ex, rep = examples[at], int(class_of[at])
        reason = _duplicate_of(ex.seed_id, keepers.get(rep, {}), "invariant", config)
        if reason is None:
            for other, sim in kept_near.of(rep):
                reason = _duplicate_of(ex.seed_id, keepers[other], "near", config, sim)
                if reason is not None:
                    break
        if reason is not None:
            reasons[at] = reason
            continue
        keepers[rep].setdefault(ex.seed_id, ex.id)
        kept_near.add(rep)
        keep[at] = True
    return np.flatnonzero(keep), [(examples[at], reasons[at]) for at in sorted(reasons)]


class _KeptNeighbours:
    """A class's near neighbours that hold a keeper (``add``), most similar first as
    ``near`` lists them; read from ``Neighbours``' arrays without making a class's tuple
    (a near-duplicate-rich file's classes have dozens of neighbours, few with keepers)."""

    def __init__(self, near: Mapping[int, tuple[tuple[int, float], ...]], classes: int) -> None:
        self.near = near
        # The classes holding a keeper: a set for a dict ``near``, a mask for ``Neighbours``.
        self.kept: set[int] = set()
        self.mask = None
        if isinstance(near, Neighbours):  # (a neighbour may be a class no example here holds)
            listed = int(max(near.classes.max(), near.other.max())) + 1 if len(near.other) else 0
            self.mask = np.zeros(max(classes, listed), dtype=bool)

    def add(self, rep: int) -> None:
        if self.mask is None:
            self.kept.add(rep)
        else:
            self.mask[rep] = True

    def of(self, rep: int) -> Iterable[tuple[int, float]]:
        near = self.near
        if not isinstance(near, Neighbours) or self.mask is None:
            return [(o, sim) for o, sim in near.get(rep, ()) if o in self.kept]
        if rep not in near:
            return ()
        others, sims = near.row(rep)
        hit = np.flatnonzero(self.mask[others])
        return zip(others[hit].tolist(), sims[hit].tolist(), strict=True)


def _by_class(examples: Sequence[Example], class_of: np.ndarray, positions: np.ndarray,
              config: DedupConfig, keep: np.ndarray, reasons: dict[int, str]) -> None:
    """``_by_policies`` of the examples at ``positions`` (increasing), whose classes have no
    near neighbours, written into ``keep`` and ``reasons``. In such a class the first
    example is kept, and then:
    - when the policy drops invariant copies across families, the class's keepers never
      hold a second family: an example of another family is dropped for the first one,
      one of the first's family too when the policy drops them within a family, else kept;
    - otherwise, when it drops them within a family, the first of each family is kept and
      the others dropped for it; else every example is kept.
    Each reason is ``_duplicate_of``'s, given the keeper it names."""
    within = _allowed("invariant", config.within_family)
    across = _allowed("invariant", config.across_families)
    classes = class_of[positions]
    many = np.bincount(classes)[classes] > 1 if len(classes) else np.zeros(0, dtype=bool)
    keep[positions[~many]] = True  # alone in its class: kept
    if not (within or across):
        keep[positions[many]] = True
        return
    shared = positions[many]
    classes = classes[many]
    family, families = ragged.numbered([examples[at].seed_id for at in shared.tolist()])
    # the first example (positions increase) of each class, or of each (class, family)
    lead = classes if across else classes * max(len(families), 1) + family
    _, first, inverse = np.unique(lead, return_index=True, return_inverse=True)
    leader = first[inverse.reshape(-1)]  # each example's lead, as an index into ``shared``
    kept = leader == np.arange(len(shared))
    if across and not within:
        kept |= family == family[leader]
    keep[shared[kept]] = True
    for at, by in zip(shared[~kept].tolist(), shared[leader[~kept]].tolist(), strict=True):
        ex, keeper = examples[at], examples[by]
        reason = _duplicate_of(ex.seed_id, {keeper.seed_id: keeper.id}, "invariant", config)
        if reason is None:
            raise AssertionError("an invariant copy the policies keep was to be dropped")
        reasons[at] = reason


def _duplicate_of(family: str, keepers: dict[str, str], level: str, config: DedupConfig,
                  sim: float | None = None) -> str | None:
    """The drop reason when a kept example of a policy-covered family shares the tune."""
    own = family in keepers
    if len(keepers) == own and not (own and _allowed(level, config.within_family)):
        return None  # most examples: the first of their tune, or of their family's own tune
    what = ("invariant_duplicate: same intervals and rhythm ratios as" if level == "invariant"
            else f"near_duplicate: edit similarity {sim:.3f} to")
    if own and _allowed(level, config.within_family):
        return f"{what} {keepers[family]} (same seed family)"
    if _allowed(level, config.across_families):
        others = sorted(f for f in keepers if f != family)
        if others:
            return f"{what} {keepers[others[0]]} (seed family {others[0]})"
    return None


def family_groups(examples: Sequence[Example], relations: MelodyRelations,
                  tunes: np.ndarray | None = None,
                  families: tuple[np.ndarray, Sequence[str]] | None = None) -> dict[str, str]:
    """Seed family -> group: the first family (by name) of the families that share a tune
    with it, directly or through others. A tune joins the families of the examples that
    hold it, and those of the tunes near it that the examples hold (a neighbour no example
    holds joins nothing). ``tunes``, when the caller has them, is each example's class
    (``relations.rep_of`` of its id); ``families``, each example's family as a number and
    the families by number (a run's ``diversity.ColumnCodes``: no pass over the examples).
    The components of a graph of families and held tunes (``ragged.components``): an edge
    from each example's tune to its family, and one between two held tunes that are near."""
    if not len(examples):
        return {}
    tune = np.fromiter(map(relations.rep_of.__getitem__, map(_ID, examples)), dtype=np.int64,
                       count=len(examples)) if tunes is None else tunes
    if len(tune) != len(examples) or families is not None and len(families[0]) != len(examples):
        raise ValueError("one tune and one family are needed for each example")
    # The families numbered in name order: a group's first is its smallest.
    if families is None:
        family_of = list(map(_SEED_ID, examples))
        names = sorted(set(family_of))
        number = {name: i for i, name in enumerate(names)}
        family = np.fromiter(map(number.__getitem__, family_of), dtype=np.int64, count=len(examples))
    else:
        codes, by_code = families
        used = np.unique(codes).tolist()
        used.sort(key=by_code.__getitem__)
        names = [by_code[c] for c in used]
        renumber = np.full(len(by_code), -1, dtype=np.int64)
        renumber[used] = np.arange(len(used))
        family = renumber[codes]
    held, node = np.unique(tune, return_inverse=True)  # held tune k is node len(names) + k
    u, v = [family], [len(names) + node.reshape(-1)]
    if relations.near:
        this, other = _near_pairs_of(relations.near)
        a, b = np.searchsorted(held, this), np.searchsorted(held, other)
        both = (a < len(held)) & (b < len(held))
        both[both] &= (held[a[both]] == this[both]) & (held[b[both]] == other[both])
        u.append(len(names) + a[both])
        v.append(len(names) + b[both])
    root = ragged.components(len(names) + len(held), np.concatenate(u), np.concatenate(v))
    return {name: names[r] for name, r in zip(names, root[:len(names)].tolist(), strict=True)}
