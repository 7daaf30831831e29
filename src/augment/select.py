"""Diversity-preserving selection of ``target`` examples (``--target N``).

First caps: no seed family, rule or key may hold more than its share of the target
(``[select]``). Then a greedy pick over the musical features of ``diversity.features``:
*maxmin* takes, each time, the example farthest (1 - cosine) from everything chosen so
far; *mmr* (maximal marginal relevance) weighs that novelty against how typical the
example is (``typicality``: close to its nearest neighbours in the pool, so outliers wait
while every cluster stays eligible). Both terms are scaled to [0, 1] at every step, so
``mmr_lambda`` keeps its meaning for the whole pick (1 is max-min). Must-keep examples
(the hand-made seeds) are chosen first. When the caps leave nothing to choose, they are
lifted for the rest of the pick.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence

import numpy as np

from .config import SelectConfig
from .dedup import MELODY, MelodyOf
from .diversity import features
from .errors import AugmentError
from .example import Example
from .theory import MelodyArrays

NEIGHBOURS = 10  # mmr typicality: mean similarity to this many nearest pool neighbours
CHUNK_ROWS = 512  # rows of the similarity matrix held at once


def typicality(x: np.ndarray, neighbours: int = NEIGHBOURS) -> np.ndarray:
    """Per row of unit features: mean cosine to its ``neighbours`` most similar other rows,
    min-max scaled to [0, 1] over the pool (0 = the loneliest outlier)."""
    n = len(x)
    k = min(neighbours, n - 1)
    if k < 1:
        return np.zeros(n)
    density = np.empty(n)
    for lo in range(0, n, CHUNK_ROWS):
        sims = x[lo:lo + CHUNK_ROWS] @ x.T
        rows = np.arange(len(sims))
        sims[rows, lo + rows] = -np.inf  # not its own neighbour
        density[lo:lo + len(sims)] = -np.partition(-sims, k - 1, axis=1)[:, :k].mean(axis=1)
    span = float(density.max() - density.min())
    return (density - density.min()) / span if span > 0 else np.zeros(n)


def _labels(e: Example) -> list[tuple[str, str]]:
    labels = [("family", e.seed_id), ("key", e.key.name if e.key else "?")]
    labels.extend(("rule", r) for r in sorted({s.rule for s in e.steps}))
    return labels


def select(examples: Sequence[Example], target: int, config: SelectConfig,
           must_keep: Sequence[Example] = (), melody_of: MelodyOf = MELODY
           ) -> tuple[list[Example], dict[str, int]]:
    """(chosen examples sorted by id, counts); deterministic for the same input set.
    ``melody_of`` gives each example's melody (``example.MELODY``: its own)."""
    pool = sorted({e.id: e for e in examples}.values(), key=lambda e: e.id)
    keep_ids = {e.id for e in must_keep}
    if target >= len(pool):
        return pool, {"selected": len(pool), "not_selected": 0, "caps_lifted": 0}
    if target < len(keep_ids):
        raise AugmentError(f"--target {target} is below the {len(keep_ids)} examples that must be "
                           "kept (the seeds); ask for more")
    caps = {"family": max(1, math.ceil(config.max_family_share * target)),
            "rule": max(1, math.ceil(config.max_rule_share * target)),
            "key": max(1, math.ceil(config.max_key_share * target))}
    x = features(MelodyArrays.of([melody_of(e) for e in pool]))
    centrality = (x @ x.mean(axis=0)) / max(float(np.linalg.norm(x.mean(axis=0))), 1e-12)
    typical = typicality(x) if config.method == "mmr" else None
    labels = [_labels(e) for e in pool]
    used: Counter[tuple[str, str]] = Counter()
    chosen = np.zeros(len(pool), dtype=bool)
    nearest = np.full(len(pool), 2.0)  # distance to the closest chosen example

    members: dict[tuple[str, str], list[int]] = {}
    for i, labs in enumerate(labels):
        for lab in labs:
            members.setdefault(lab, []).append(i)
    capped = np.zeros(len(pool), dtype=bool)  # holds a label that reached its cap

    def take(i: int) -> None:
        chosen[i] = True
        for lab in labels[i]:
            used[lab] += 1
            if used[lab] == caps[lab[0]]:
                capped[members[lab]] = True
        np.minimum(nearest, 1 - x @ x[i], out=nearest)

    for i, e in enumerate(pool):
        if e.id in keep_ids:
            take(i)
    if not chosen.any():
        take(int(np.argmax(centrality if typical is None else typical)))
    lifted = 0
    while chosen.sum() < target:
        allowed = ~chosen & ~capped
        if not allowed.any():
            allowed = ~chosen
            lifted += 1
        if typical is None:
            score = np.where(allowed, nearest, -np.inf)
        else:
            top = max(float(nearest[allowed].max()), 1e-12)
            mmr = config.mmr_lambda * nearest / top + (1 - config.mmr_lambda) * typical
            score = np.where(allowed, mmr, -np.inf)
        take(int(np.argmax(score)))  # argmax takes the first (smallest id) of ties
    picked = [e for e, c in zip(pool, chosen, strict=True) if c]
    return picked, {"selected": len(picked), "not_selected": len(pool) - len(picked),
                    "caps_lifted": lifted}
