"""The dataset stages after the checks: dedup -> select -> split -> audit (-> write).

``plan_splits`` runs before augmentation (held-out seeds are not augmented by default, so
their side must be known first); ``build_splits`` takes the checked candidates to final
splits. Both are pure: they return values and counts and write nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field

from .audit import assert_no_leaks
from .calibrate import Calibration
from .config import Config
from .dedup import MelodyRelations, calibrate_for, dedup, family_links, near_params
from .diversity import diversity_report
from .example import Example
from .near import NearParams
from .select import select
from .split import SPLITS, Group, assign_groups, group_of, key_from_name, stratum_of


@dataclass(frozen=True)
class SplitPlan:
    """Near-duplicate setting, and seed id -> split when sides are fixed before augmentation."""

    params: NearParams
    calibration: Calibration | None
    seed_split: dict[str, str]
    fixed: bool  # False: every seed is augmented and sides are chosen after selection


def _groups(examples: Sequence[Example], relations: MelodyRelations) -> dict[str, str]:
    return group_of(sorted({e.seed_id for e in examples}), family_links(examples, relations))


def _held_out_key(e: Example, config: Config) -> bool:
    keys = {key_from_name(k) for k in config.split.holdout_keys}
    return e.key is not None and e.key in keys


def _assign(examples: Sequence[Example], group: dict[str, str], config: Config,
            run_seed: int) -> dict[str, str]:
    """family -> split by size-aware group assignment (rows = examples given)."""
    rows: Counter[str] = Counter(group[e.seed_id] for e in examples)
    seed_key = {e.seed_id: e.key for e in examples if e.is_seed}
    stratum = {group[f]: stratum_of(k, config.split.stratify) for f, k in sorted(seed_key.items())}
    forced = {group[e.seed_id]: "test" for e in examples if e.is_seed and _held_out_key(e, config)}
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
    group = _groups(seeds, MelodyRelations.of(seeds, params))
    return SplitPlan(params, calibration, _assign(seeds, group, config, run_seed), True)


@dataclass
class Built:
    by_split: dict[str, list[Example]]
    split_of: dict[str, str]  # seed family -> split
    dropped: list[tuple[str, Example, str]]  # (stage, example, reason)
    params: NearParams
    calibration: Calibration | None
    counts: Counter[str] = field(default_factory=Counter)
    diversity: dict[str, dict[str, float]] = field(default_factory=dict)


def build_splits(candidates: Sequence[Example], plan: SplitPlan, config: Config, run_seed: int,
                 target: int | None = None) -> Built:
    """Dedup, holdout filters, selection, final sides and the leakage audit."""
    counts: Counter[str] = Counter()
    result = dedup(candidates, config.dedup, run_seed, calibration=plan.calibration)
    counts.update(result.counts)
    dropped = [("dedup", e, r) for e, r in result.dropped]
    kept = result.kept
    holdout_rules = set(config.split.holdout_rules)
    if plan.fixed:
        wanted = [e for e in kept if plan.seed_split.get(e.seed_id, "train") == "train"
                  or e.is_seed or config.split.augment_holdout
                  or holdout_rules & {s.rule for s in e.steps}]
        counts["holdout_variants_unused"] = len(kept) - len(wanted)
        kept = wanted
    if target is not None:
        kept, sel = select(kept, target, config.select, must_keep=[e for e in kept if e.is_seed])
        counts.update({f"select_{k}": v for k, v in sel.items()})
    group = _groups(kept, result.relations)
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
        split_of = _assign(kept, group, config, run_seed)
    by_split: dict[str, list[Example]] = {name: [] for name in SPLITS}
    for e in sorted(kept, key=lambda e: e.id):
        side_ = split_of[e.seed_id]
        if side_ == "train" and holdout_rules & {s.rule for s in e.steps}:
            dropped.append(("split", e, "holdout_rule: made by a rule held out of training"))
        elif side_ == "train" and _held_out_key(e, config):
            dropped.append(("split", e, f"holdout_key: {e.key.name if e.key else '?'} is held out "
                                        "of training"))
        else:
            by_split[side_].append(e)
    counts["rejected_holdout"] = sum(1 for s, _, _ in dropped if s == "split")
    assert_no_leaks(by_split, result.params)
    written = [e for name in SPLITS for e in by_split[name]]
    diversity = {"before": diversity_report(list(candidates)), "after": diversity_report(written)}
    return Built(by_split, split_of, dropped, result.params, plan.calibration, counts, diversity)
