"""Leakage audit: no held-out melody may have an exact, invariant or near duplicate in train.

Runs on the final splits just before writing, independently of how the splits were made
(melody only: the same tune under another prompt is still a leak).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence

from .codec import format_melody
from .dedup import MELODY, MelodyOf, MelodyRelations, Prints, Signatures
from .errors import AugmentError
from .example import Example
from .near import NearParams
from .parallel import Mapper

HELD_OUT = ("validation", "test")


def find_leaks(by_split: Mapping[str, Sequence[Example]], params: NearParams, *,
               prints: Prints | None = None, signatures: Signatures | None = None,
               mapper: Mapper | None = None, melody_of: MelodyOf = MELODY) -> list[str]:
    """One line per held-out example that shares its tune with a training example.

    ``prints`` and ``signatures`` (made earlier) and ``mapper`` only save time; ``melody_of``
    gives each example's melody (``dedup.MELODY``: its own)."""
    train = list(by_split.get("train", ()))
    held = [(name, e) for name in HELD_OUT for e in by_split.get(name, ())]
    if not train or not held:
        return []
    relations = MelodyRelations.of([*train, *(e for _, e in held)], params,
                                   ["train"] * len(train) + ["held out"] * len(held),
                                   prints=prints, signatures=signatures, mapper=mapper,
                                   melody_of=melody_of)
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


def assert_no_leaks(by_split: Mapping[str, Sequence[Example]], params: NearParams, *,
                    prints: Prints | None = None, signatures: Signatures | None = None,
                    mapper: Mapper | None = None, melody_of: MelodyOf = MELODY) -> None:
    """Raise AugmentError naming the leaking examples; nothing is written then."""
    problems = find_leaks(by_split, params, prints=prints, signatures=signatures, mapper=mapper,
                          melody_of=melody_of)
    if problems:
        shown = "\n".join(problems[:10])
        more = f"\n... and {len(problems) - 10} more" if len(problems) > 10 else ""
        raise AugmentError(f"leakage audit failed: {len(problems)} held-out example(s) share a tune "
                           f"with training data; nothing was written:\n{shown}{more}")
