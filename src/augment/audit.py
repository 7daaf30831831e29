"""Leakage audit: no held-out melody may have an exact, invariant or near duplicate in train.

Runs on the final splits just before writing, independently of how the splits were made
(melody only: the same tune under another prompt is still a leak).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence

import numpy as np

from .codec import format_melody
from .dedup import (
    MELODY,
    Buckets,
    MelodyOf,
    MelodyRelations,
    Prints,
    _tables_of,
    _Tokens,
    shares_digest,
)
from .errors import AugmentError
from .example import Example
from .near import NearParams, NearSearch, near_pairs
from .parallel import Mapper

HELD_OUT = ("validation", "test")


def find_leaks(by_split: Mapping[str, Sequence[Example]], params: NearParams, *,
               prints: Prints | None = None, buckets: Buckets | None = None,
               mapper: Mapper | None = None, melody_of: MelodyOf = MELODY,
               rows: Mapping[str, np.ndarray] | None = None,
               search: NearSearch | None = None) -> list[str]:
    """One line per held-out example that shares its tune with a training example.

    ``prints`` and ``buckets`` (made earlier), ``rows`` (each split's examples' rows of
    those tables, when the caller knows them), ``search`` (a near search made earlier over
    these melodies: ``MelodyRelations.of``) and ``mapper`` only save time; ``melody_of``
    gives each example's melody (``dedup.MELODY``: its own)."""
    train = list(by_split.get("train", ()))
    held = [(name, e) for name in HELD_OUT for e in by_split.get(name, ())]
    if not train or not held:
        return []
    train_rows = held_rows = None
    if rows is not None:
        train_rows = rows["train"]
        held_rows = np.concatenate([rows[name] for name in HELD_OUT])
    if buckets is not None and not _may_leak(train, [e for _, e in held], params, prints,
                                             buckets, mapper, melody_of, train_rows, held_rows):
        return []
    relations = MelodyRelations.of([*train, *(e for _, e in held)], params,
                                   ["train"] * len(train) + ["held out"] * len(held),
                                   prints=prints, buckets=buckets, mapper=mapper,
                                   melody_of=melody_of, search=search)
    # An exact copy is also in the same invariant class, so melodies are compared as text
    # only inside the classes that train and held out share.
    train_of_rep: dict[int, list[Example]] = defaultdict(list)
    for e in sorted(train, key=lambda e: e.id):
        train_of_rep[relations.rep_of[e.id]].append(e)
    problems = []
    for name, e in held:
        rep = relations.rep_of[e.id]
        if rep in train_of_rep:
            text = format_melody(melody_of(e))
            same = [t.id for t in train_of_rep[rep] if format_melody(melody_of(t)) == text]
            if same:
                problems.append(f"{name} {e.id}: exact duplicate of train {same[-1]}")
            else:
                problems.append(f"{name} {e.id}: transposed/tempo-scaled copy of train "
                                f"{train_of_rep[rep][0].id}")
        else:
            for other, sim in relations.near.get(rep, ()):
                if other in train_of_rep:
                    problems.append(f"{name} {e.id}: near duplicate (similarity {sim:.3f}) of train "
                                    f"{train_of_rep[other][0].id}")
                    break
    return problems


def _may_leak(train: Sequence[Example], held: Sequence[Example], params: NearParams,
              prints: Prints | None, buckets: Buckets, mapper: Mapper | None,
              melody_of: MelodyOf, train_rows: np.ndarray | None = None,
              held_rows: np.ndarray | None = None) -> bool:
    """False only when ``find_leaks`` would find nothing, decided without relating every
    training melody to every other (a big run holds a million in train, a few dozen held
    out): no invariant class holds both sides, and no held-out melody has a verified near
    pair with a training melody that shares one of its LSH band buckets. These are the pairs
    the full audit verifies (across its train / held-out classes; the members of a class
    have the same tokens, hence the same buckets and distances), so when this is True the
    full audit runs and names the leaks."""
    (train_prints, train_index), (held_prints, held_index) = (
        _tables_of(train, prints, buckets, params, train_rows),
        _tables_of(held, prints, buckets, params, held_rows))
    if shares_digest(held_prints.invariant, train_prints.invariant):
        return True
    if train_index is None or held_index is None:
        return True
    train_usable = np.flatnonzero(train_prints.length >= params.min_tokens)
    held_usable = np.flatnonzero(held_prints.length >= params.min_tokens)
    if not len(train_usable) or not len(held_usable):
        return False  # near_pairs leaves shorter melodies out
    train_rows, held_rows = train_index[train_usable], held_index[held_usable]
    # (each side's rows of buckets taken once, a row at a time, not a band's column at a
    # time: a million training rows' 21 bands, 0.5 s against 0.75 s)
    train_buckets, held_buckets = buckets.rows[train_rows], buckets.rows[held_rows]
    shares = np.zeros(len(train_rows), dtype=bool)
    for band in range(buckets.rows.shape[1]):
        shares |= isin_few(train_buckets[:, band], held_buckets[:, band])
    del train_buckets
    if not shares.any():
        return False
    near = train_usable[shares]
    examples = [*(held[i] for i in held_usable.tolist()), *(train[i] for i in near.tolist())]
    lengths = [*held_prints.length[held_usable].tolist(), *train_prints.length[near].tolist()]
    groups = [0] * len(held_usable) + [1] * len(near)
    pairs = near_pairs(_Tokens(examples, melody_of), params, groups, mapper=mapper,
                       buckets=buckets.rows, lengths=lengths,
                       bucket_rows=np.concatenate([held_rows, train_rows[shares]]))
    return bool(pairs)


FEW_BITS = 20  # the low bits of a value the bitmap of ``isin_few`` holds (1 MB)


def isin_few(values: np.ndarray, few: np.ndarray) -> np.ndarray:
    """``np.isin(values, few)`` for many integer values (a million training examples' LSH
    buckets) and few (the held-out ones'): a bitmap of the few's low bits rules out most
    values at once and only the rest are compared (~4x faster than ``np.isin`` there)."""
    if len(few) > 1 << (FEW_BITS - 6) or values.dtype.kind not in "iu" or few.dtype != values.dtype:
        return np.isin(values, few)
    low = np.array((1 << FEW_BITS) - 1, dtype=values.dtype)
    bitmap = np.zeros(1 << FEW_BITS, dtype=bool)
    bitmap[few & low] = True
    found = bitmap[values & low]
    maybe = np.flatnonzero(found)
    found[maybe] = np.isin(values[maybe], few)
    return found


def assert_no_leaks(by_split: Mapping[str, Sequence[Example]], params: NearParams, *,
                    prints: Prints | None = None, buckets: Buckets | None = None,
                    mapper: Mapper | None = None, melody_of: MelodyOf = MELODY,
                    rows: Mapping[str, np.ndarray] | None = None,
                    search: NearSearch | None = None) -> None:
    """Raise AugmentError naming the leaking examples; nothing is written then."""
    problems = find_leaks(by_split, params, prints=prints, buckets=buckets, mapper=mapper,
                          melody_of=melody_of, rows=rows, search=search)
    if problems:
        shown = "\n".join(problems[:10])
        more = f"\n... and {len(problems) - 10} more" if len(problems) > 10 else ""
        raise AugmentError(f"leakage audit failed: {len(problems)} held-out example(s) share a tune "
                           f"with training data; nothing was written:\n{shown}{more}")
