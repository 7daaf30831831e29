"""Leakage audit: no held-out melody may have an exact, invariant or near duplicate in train.

Runs on the final splits just before writing, independently of how the splits were made
(melody only: the same tune under another prompt is still a leak).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from .codec import format_melody
from .dedup import MelodyRelations
from .errors import AugmentError
from .example import Example
from .near import NearParams

HELD_OUT = ("validation", "test")


def find_leaks(by_split: Mapping[str, Sequence[Example]], params: NearParams) -> list[str]:
    """One line per held-out example that shares its tune with a training example."""
    train = list(by_split.get("train", ()))
    held = [(name, e) for name in HELD_OUT for e in by_split.get(name, ())]
    if not train or not held:
        return []
    exact = {format_melody(e.melody): e.id for e in sorted(train, key=lambda e: e.id)}
    train_ids = {e.id for e in train}
    relations = MelodyRelations.of([*train, *(e for _, e in held)], params,
                                   lambda e: "train" if e.id in train_ids else "held out")
    train_rep: dict[int, str] = {}
    for e in sorted(train, key=lambda e: e.id):
        train_rep.setdefault(relations.rep_of[e.id], e.id)
    problems = []
    for name, e in held:
        rep = relations.rep_of[e.id]
        if format_melody(e.melody) in exact:
            problems.append(f"{name} {e.id}: exact duplicate of train {exact[format_melody(e.melody)]}")
        elif rep in train_rep:
            problems.append(f"{name} {e.id}: transposed/tempo-scaled copy of train {train_rep[rep]}")
        else:
            for other, sim in relations.near.get(rep, ()):
                if other in train_rep:
                    problems.append(f"{name} {e.id}: near duplicate (similarity {sim:.3f}) of train "
                                    f"{train_rep[other]}")
                    break
    return problems


def assert_no_leaks(by_split: Mapping[str, Sequence[Example]], params: NearParams) -> None:
    """Raise AugmentError naming the leaking examples; nothing is written then."""
    problems = find_leaks(by_split, params)
    if problems:
        shown = "\n".join(problems[:10])
        more = f"\n... and {len(problems) - 10} more" if len(problems) > 10 else ""
        raise AugmentError(f"leakage audit failed: {len(problems)} held-out example(s) share a tune "
                           f"with training data; nothing was written:\n{shown}{more}")
