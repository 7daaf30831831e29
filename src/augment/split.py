"""Splits by seed family: every variant of one seed lands on the same side.

``assign_groups`` is size-aware: a *group* is one or more seed families that
share a tune (merged by ``dedup.family_groups``); groups are placed largest first (ties by
the stable hash) into the held-out split that lacks the most rows and still has room for
them, then the one remaining group that best closes each gap is added, so test and
validation get their fraction of rows as closely as the group sizes allow (plain hashing
misses by tens of percent on small seed sets), optionally per key or mode stratum
(cumulative targets, so the errors of strata do not add up).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from .prompt import parse_claims
from .prompt_words import MODE_EQUIVALENT
from .theory import Key

SPLITS = ("train", "validation", "test")


def key_from_name(name: str) -> Key | None:
    """'F# major', 'Bb minor', 'D dorian' -> Key; None when the whole text is not one key
    name. Read with the prompt parser, so every spelling a prompt may use works here too."""
    claims = parse_claims(name.strip()).keys
    if len(claims) != 1 or claims[0].text != name.strip():
        return None
    tonic, mode = claims[0].tonic, claims[0].mode
    if tonic is None or mode is None:
        return None
    return Key(tonic, MODE_EQUIVALENT.get(mode, mode))  # type: ignore[arg-type]


@dataclass(frozen=True)
class Group:
    """Rows of one group, and its stratum (key or mode name, or '' without stratification)."""

    id: str
    rows: int
    stratum: str = ""


def assign_groups(groups: Sequence[Group], test: float, validation: float, run_seed: int,
                  forced: Mapping[str, str] | None = None) -> dict[str, str]:
    """group id -> split, meeting the row fractions as closely as group sizes allow."""
    forced = dict(forced or {})
    out = {g.id: forced[g.id] for g in groups if g.id in forced}
    current = {name: 0 for name in SPLITS}
    for g in groups:
        if g.id in out:
            current[out[g.id]] += g.rows
    free = [g for g in groups if g.id not in out]
    strata = sorted({g.stratum for g in free})
    seen_rows = sum(g.rows for g in groups if g.id in out)
    fractions = {"test": test, "validation": validation}

    def tie(g: Group) -> str:
        return hashlib.sha256(f"{run_seed}:{g.id}".encode()).hexdigest()

    for stratum in strata:
        members = sorted((g for g in free if g.stratum == stratum), key=lambda g: (-g.rows, tie(g)))
        seen_rows += sum(g.rows for g in members)
        target = {name: f * seen_rows for name, f in fractions.items()}
        for g in members:  # largest first, into the neediest split it fits in
            choice = "train"
            for name in sorted(fractions, key=lambda n: current[n] - target[n]):
                if current[name] + g.rows <= target[name]:
                    choice = name
                    break
            out[g.id] = choice
            current[choice] += g.rows
        for name in fractions:  # then the one train group that best closes the remaining gap
            gap = target[name] - current[name]
            fits = [g for g in members if out[g.id] == "train" and abs(gap - g.rows) < gap]
            if fits:
                g = min(fits, key=lambda g: (abs(gap - g.rows), tie(g)))
                out[g.id] = name
                current[name] += g.rows
                current["train"] -= g.rows
    return out


def stratum_of(key: Key | None, stratify: str) -> str:
    if stratify == "none" or key is None:
        return ""
    return key.mode if stratify == "mode" else key.name
