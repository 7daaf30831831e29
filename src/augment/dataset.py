"""The dataset stages after the checks: dedup -> select -> split -> audit (-> write).

``plan_splits`` runs before augmentation (held-out seeds are not augmented by default, so
their side must be known first); ``build_splits`` takes the checked candidates to final
splits. Both are pure: they return values and counts and write nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache, lru_cache
from itertools import chain, compress
from operator import attrgetter
from pathlib import Path

import numpy as np

from . import ragged
from .audit import assert_no_leaks
from .calibrate import Calibration
from .config import Config
from .dedup import (
    MELODY,
    Buckets,
    MelodyOf,
    MelodyRelations,
    Prints,
    PrintTable,
    _rows,
    calibrate_for,
    dedup,
    family_groups,
    near_params,
)
from .diversity import ColumnCodes, reports
from .example import Example
from .heap import release_free_memory
from .near import NearParams
from .parallel import Mapper, local_mapper
from .progress import SILENT, Progress
from .select import select
from .split import SPLITS, Group, assign_groups, key_from_name, stratum_of
from .theory import Key, MelodyArrays, MelodyRows, PackedMelodies


@dataclass(frozen=True)
class SplitPlan:
    """Near-duplicate setting, and seed id -> split when sides are fixed before augmentation."""

    params: NearParams
    calibration: Calibration | None
    seed_split: dict[str, str]
    fixed: bool  # False: every seed is augmented and sides are chosen after selection


def tune_groups(examples: Sequence[Example], relations: MelodyRelations,
                tunes: np.ndarray | None = None,
                families: tuple[np.ndarray, Sequence[str]] | None = None) -> dict[str, str]:
    """Seed family -> group: families sharing a tune are one group (``family_groups``;
    ``tunes``: each example's class, ``families``: each one's family number and the
    families by number, when known)."""
    return family_groups(examples, relations, tunes, families)


def _held_out_key(e: Example, held_keys: frozenset[Key]) -> bool:
    """Whether ``e``'s key is one of ``held_keys`` (``_held_out_keys`` of the config)."""
    return bool(held_keys) and e.key is not None and e.key in held_keys


@lru_cache(maxsize=16)
def _held_out_keys(names: tuple[str, ...]) -> frozenset[Key]:
    return frozenset(k for k in map(key_from_name, names) if k is not None)


def _held_out_rule(e: Example, rules: set[str]) -> bool:
    return bool(rules) and any(s.rule in rules for s in e.steps)


def _split_numbers(examples: Sequence[Example], split_of: Mapping[str, str], families: np.ndarray | None,
                   names: Sequence[str]) -> np.ndarray:
    """Each example's split number (its place in ``SPLITS``): ``split_of`` its family. With
    ``families`` (each example's family as a number into ``names``), read from those."""
    number = {name: k for k, name in enumerate(SPLITS)}
    if families is None:
        return np.fromiter((number[split_of[e.seed_id]] for e in examples), dtype=np.int64,
                           count=len(examples))
    used = np.unique(families)
    of_family = np.full(len(names), -1, dtype=np.int64)
    of_family[used] = [number[split_of[names[f]]] for f in used.tolist()]
    return of_family[families]


def assign_sides(examples: Sequence[Example], group: dict[str, str], config: Config,
            run_seed: int) -> dict[str, str]:
    """family -> split by size-aware group assignment (rows = examples given)."""
    rows: Counter[str] = Counter(group[e.seed_id] for e in examples)
    seed_key = {e.seed_id: e.key for e in examples if e.is_seed}
    stratum = {group[f]: stratum_of(k, config.split.stratify) for f, k in sorted(seed_key.items())}
    held_keys = _held_out_keys(config.split.holdout_keys)
    forced = {group[e.seed_id]: "test" for e in examples if e.is_seed and _held_out_key(e, held_keys)}
    groups = [Group(g, rows[g], stratum.get(g, "")) for g in sorted(rows)]
    by_group = assign_groups(groups, config.split.test, config.split.validation, run_seed, forced)
    return {f: by_group[g] for f, g in group.items()}


def plan_splits(seeds: Sequence[Example], config: Config, run_seed: int) -> SplitPlan:
    """Calibrate near duplicates on the seeds and, unless held-out seeds are augmented, fix
    each seed's side now (fractions are then fractions of the seeds)."""
    calibration = calibrate_for([s.melody for s in seeds], config.dedup, run_seed) \
        if config.dedup.calibrate else None
    params = near_params(config.dedup, calibration)
    if config.split.augment_holdout:
        return SplitPlan(params, calibration, {s.seed_id: "train" for s in seeds}, False)
    group = tune_groups(seeds, MelodyRelations.of(seeds, params))
    return SplitPlan(params, calibration, assign_sides(seeds, group, config, run_seed), True)


@dataclass
class Built:
    by_split: dict[str, list[Example]]
    split_of: dict[str, str]  # seed family -> split
    dropped: list[tuple[str, Example, str]]  # (stage, example, reason)
    params: NearParams
    calibration: Calibration | None
    # Each written example's row of the candidates (``rows``), the splits one after another
    # in ``SPLITS`` order.
    written_rows: np.ndarray
    # The written examples (the splits one after another) in id order: ``ragged.text_order``
    # of their ids, which the lineage file follows.
    by_id: np.ndarray
    counts: Counter[str] = field(default_factory=Counter)
    # The diversity reports before and after ({"before": ..., "after": ...}), waited for when
    # called: a pool computes them while the run goes on (the run writes its files first).
    diversity: Callable[[], dict[str, dict[str, float]]] = dict


def build_splits(candidates: Sequence[Example], plan: SplitPlan, config: Config, run_seed: int,
                 target: int | None = None, *, progress: Progress = SILENT,
                 mapper: Mapper | None = None, prints: Prints | None = None,
                 buckets: np.ndarray | None = None,
                 arrays: MelodyArrays | PackedMelodies | None = None,
                 melody_of: MelodyOf = MELODY, rows: Mapping[str, int] | None = None,
                 codes: ColumnCodes | None = None) -> Built:
    """Dedup, holdout filters, selection, final sides and the leakage audit.

    ``mapper`` (default: this process) runs the parallel parts (LSH bands, near-duplicate
    verification; the diversity reports, which a pool computes in one job once the written
    examples are known, while this process goes on with the audit and, in ``expand``,
    writing: ``Built.diversity`` waits for them).
    What was made earlier, in parallel, saves its work here: ``prints`` (fingerprints by id,
    ``dedup.fingerprints``), ``buckets`` (the candidates' LSH buckets under ``plan.params``,
    row by row: ``dedup.fingerprints``) and ``arrays`` (``MelodyArrays.of`` the candidates'
    melodies, or those packed). None changes the result. ``melody_of`` gives a candidate's
    melody (``dedup.MELODY``: its own); ``rows``, when the caller has it, each candidate id's
    first position in ``candidates``; ``codes``, ``ColumnCodes.of`` the candidates (made as
    they came: ``diversity.ColumnCoder``)."""
    counts: Counter[str] = Counter()
    run = mapper or local_mapper(1)
    if rows is None:
        first: dict[str, int] = {}
        for i, e in enumerate(candidates):
            first.setdefault(e.id, i)
        rows = first
    if codes is None:  # what the reports count, by candidate row
        codes = ColumnCodes.of(candidates)
    table = None if buckets is None else Buckets(Buckets.signed_by(plan.params), buckets, rows)
    # Candidate i's row is i when every id is there once (``rows``: each id's first position).
    in_order = np.arange(len(candidates)) if isinstance(prints, PrintTable) and prints.row_of is rows \
        and len(rows) == len(candidates) else None
    with progress.stage("dedup"):
        result = dedup(candidates, config.dedup, run_seed, calibration=plan.calibration,
                       prints=prints, buckets=table, mapper=mapper, melody_of=melody_of, rows=in_order)
    release_free_memory()  # what dedup built and let go of
    counts.update(result.counts)
    dropped = [("dedup", e, r) for e, r in result.dropped]
    kept = result.kept
    # The kept examples' rows of the candidates, carried along while the run's tables share
    # them (``rows`` is the fingerprints' row_of), so that they are not looked up again by id.
    kept_rows = result.kept_rows if isinstance(prints, PrintTable) and prints.row_of is rows else None
    kept_classes = result.kept_classes  # (their invariant classes, carried along likewise)
    candidates_by_id = result.id_order  # (the candidates' id order, which the report reads)
    holdout_rules = set(config.split.holdout_rules)
    # The kept examples' families as numbers (``codes``' family column), when their rows are
    # known: read from the codes instead of from a million examples.
    families = None if kept_rows is None else codes.codes[3][kept_rows]
    if plan.fixed:
        # A held-out family's variants are used only when made by a held-out rule (or when
        # held-out seeds are augmented); its seed always.
        held = set() if config.split.augment_holdout else \
            {f for f, s in plan.seed_split.items() if s != "train"}
        if families is None:
            wanted = ~np.fromiter(map(held.__contains__, map(attrgetter("seed_id"), kept)), dtype=bool,
                                  count=len(kept))
        else:
            wanted = ~np.fromiter(map(held.__contains__, codes.values[3]), dtype=bool,
                                  count=len(codes.values[3]))[families]
        for at in np.flatnonzero(~wanted).tolist():
            wanted[at] = kept[at].is_seed or _held_out_rule(kept[at], holdout_rules)
        counts["holdout_variants_unused"] = len(kept) - int(wanted.sum())
        kept = list(compress(kept, wanted.tolist()))
        kept_rows = None if kept_rows is None else kept_rows[wanted]
        kept_classes = None if kept_classes is None else kept_classes[wanted]
        families = None if families is None else families[wanted]
    if target is not None:
        with progress.stage("select"):
            kept, sel = select(kept, target, config.select,
                               must_keep=[e for e in kept if e.is_seed], melody_of=melody_of)
        counts.update({f"select_{k}": v for k, v in sel.items()})
        kept_rows = kept_classes = families = None
    group = tune_groups(kept, result.relations, kept_classes,
                        None if families is None else (families, codes.values[3]))
    params = result.params
    # Dedup's relations (a million examples' classes, and their id dict when it was read)
    # are not needed past here; the audit and the diversity report after it run at the
    # run's peak of memory.
    del result
    if plan.fixed:
        order = {"test": 0, "validation": 1, "train": 2}
        side: dict[str, str] = {}
        for f, g in sorted(group.items()):
            s = plan.seed_split.get(f, "train")
            if order[s] < order[side.get(g, "train")]:
                side[g] = s
        split_of = {f: side.get(g, "train") for f, g in group.items()}
        counts["families_moved_by_regrouping"] = sum(
            split_of[f] != plan.seed_split.get(f, "train") for f in split_of)
    else:
        split_of = assign_sides(kept, group, config, run_seed)
    held_keys = _held_out_keys(config.split.holdout_keys)
    # dedup keeps the seeds first, then the variants, each by id (``select`` reorders them):
    # the few seeds are placed among the variants by their ids
    seeds_first = next((k for k, e in enumerate(kept) if not e.is_seed), len(kept))
    by_id_order = ragged.text_order([e.id for e in kept]) if target is not None else \
        ragged.merged_order(kept, seeds_first, key=attrgetter("id"))
    # Each kept example's split number (``SPLITS``), its family's side: from the codes of the
    # families when the kept examples' rows are known (no pass over a million examples).
    split_no = _split_numbers(kept, split_of, None if kept_rows is None else codes.codes[3][kept_rows],
                              codes.values[3])
    # A train example made by a held-out rule, or in a held-out key, is dropped (by id).
    unwritten = np.zeros(len(kept), dtype=bool)
    if holdout_rules or held_keys:
        for at in by_id_order[split_no[by_id_order] == SPLITS.index("train")].tolist():
            e = kept[at]
            if _held_out_rule(e, holdout_rules):
                dropped.append(("split", e, "holdout_rule: made by a rule held out of training"))
            elif _held_out_key(e, held_keys):
                dropped.append(("split", e, f"holdout_key: {e.key.name if e.key else '?'} is held out "
                                            "of training"))
            else:
                continue
            unwritten[at] = True
    written_by_id = by_id_order[~unwritten[by_id_order]]
    split_by_id = split_no[written_by_id]  # each written example's split, in id order
    at_of_split = {name: written_by_id[split_by_id == k] for k, name in enumerate(SPLITS)}  # in kept
    by_split = {name: list(map(kept.__getitem__, at_of_split[name].tolist())) for name in SPLITS}
    counts["rejected_holdout"] = sum(1 for s, _, _ in dropped if s == "split")
    written = list(chain.from_iterable(by_split[name] for name in SPLITS))
    # written ones are candidates: their rows of the candidates' melodies, read as the report goes
    written_rows = _rows(rows, written) if kept_rows is None else \
        kept_rows[np.concatenate([at_of_split[name] for name in SPLITS])]
    if written_rows is None:
        raise ValueError("a written example is not among the candidates")
    # Both reports in one job (``reports``: the written melodies are rows of the candidates',
    # so one pass over those serves both), which a pool starts while this process goes on.
    bounds = np.cumsum([0, *(len(by_split[name]) for name in SPLITS)]).tolist()
    by_id = _id_order_of_splits(split_by_id, bounds)  # (the written ones' id order, which the report reads)
    before = MelodyArrays.of([melody_of(e) for e in candidates]) if arrays is None else arrays
    # (with their id orders, no id is listed or sent: the report reads only those)
    reported = run(reports, [(codes.columns(candidates_by_id, before),
                              codes.columns(by_id, MelodyRows(before, written_rows), written_rows))])
    del codes
    split_rows = None if kept_rows is None else \
        {name: written_rows[bounds[k]:bounds[k + 1]] for k, name in enumerate(SPLITS)}
    with progress.stage("leakage audit"):
        assert_no_leaks(by_split, params, prints=prints, buckets=table, mapper=mapper,
                        melody_of=melody_of, rows=split_rows)

    @cache
    def diversity() -> dict[str, dict[str, float]]:
        with progress.stage("diversity"):
            before_report, after_report = next(iter(reported))
            return {"before": before_report, "after": after_report}
    return Built(by_split, split_of, dropped, params, plan.calibration, written_rows, by_id, counts,
                 diversity)


def _id_order_of_splits(split_by_id: np.ndarray, bounds: list[int]) -> np.ndarray:
    """The written examples (split after split, from ``bounds``) in id order, given each
    one's split in id order (each split's list is in id order: its k-th example is the
    k-th of that split met by id). No sort of the ids again."""
    order = np.empty(len(split_by_id), dtype=np.intp)
    for k in range(len(bounds) - 1):
        at = np.flatnonzero(split_by_id == k)
        order[at] = bounds[k] + np.arange(len(at))
    return order


TOP_REASONS = 4  # rejection reasons named in the summary


def summary_lines(counts: Counter[str] | dict[str, int], manifest: dict, *,
                  rejected_path: Path | None = None) -> list[str]:
    """A one-screen summary of an expand run (counts, dedup calibration, splits, rejection
    reasons, diversity)."""
    c = Counter(counts)
    lines = [
        f"seeds: {c['input_lines']} lines read, {c['rejected_read']} rejected at read, "
        f"{c['rejected_seed_checks']} failed checks",
        f"variants: {c['variants_drawn']} drawn, {c['variants_passing_checks']} passed checks, "
        f"{c['rejected_reprompt'] + c['rejected_checks']} rejected",
        f"dedup: {c['exact_duplicates']} exact, {c['invariant_duplicates']} transposed/tempo, "
        f"{c['near_duplicates']} near duplicates removed",
    ]
    cal = manifest.get("dedup_calibration")
    if cal and not cal["probe_pairs"]:
        lines.append(f"near threshold: similarity {cal['params']['similarity']} (no seed long enough "
                     "to calibrate on)")
    elif cal:
        p = cal["params"]
        lines.append(f"near threshold: similarity {p['similarity']} (shingles of {p['shingle_size']}) "
                     f"finds {cal['probe_recall']:.0%} of {cal['probe_pairs']} probes; merges "
                     f"{cal['merged_melodies']} of {cal['melodies']} distinct seeds")
    target = manifest.get("target")
    if isinstance(target, int) and c["select_selected"] < target:
        lines.append(f"selected: all {c['select_selected']}, fewer than --target {target} (the seeds "
                     "and rules give no more: raise variants_per_seed or add seeds)")
    elif c["select_selected"]:
        lines.append(f"selected: {c['select_selected']} by diversity, {c['select_not_selected']} left "
                     f"out" + (f", caps lifted {c['select_caps_lifted']} time(s)"
                               if c["select_caps_lifted"] else ""))
    total = sum(c[f"written_{s}"] for s in SPLITS) or 1
    lines.append("written: " + ", ".join(f"{s} {c[f'written_{s}']} ({c[f'written_{s}'] / total:.1%})"
                                         for s in SPLITS))
    reasons = +Counter({**manifest.get("rejected_per_reason", {}), "reprompt": c["rejected_reprompt"],
                        "invalid_line": c["rejected_read"]})
    top = ", ".join(f"{r} {n}" for r, n in reasons.most_common(TOP_REASONS))
    more = f" and {len(reasons) - TOP_REASONS} more" if len(reasons) > TOP_REASONS else ""
    lines.append(f"rejected: {c['rejected_total']}" + (f" in {rejected_path}" if rejected_path else "")
                 + (f"; top reasons (times given): {top}{more}" if reasons else ""))
    div = manifest.get("diversity", {})
    if div:
        b, a = div["before"], div["after"]
        lines.append("diversity before -> after: " + ", ".join(
            f"{k} {b[k]:g}->{a[k]:g}" for k in ("key_entropy", "vendi_score", "largest_family_share")))
    lines.append("leakage audit: passed; manifest.json written last")
    return lines
