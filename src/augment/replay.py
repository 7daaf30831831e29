"""Replay: rebuild every variant from its seed and the rule steps in its lineage record.

A lineage record holds the seed id and each applied rule with the params it drew.
Because ``apply`` is pure and uses only those params, re-applying them to the seed
gives back the variant's melody exactly; ``replay_dir`` checks a whole output directory
this way and reports every record that does not reproduce.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .codec import FormatConfig, iter_lines, parse_line
from .errors import AugmentError
from .example import Example, Step, variant_id_for
from .melody import Melody
from .output import load_jsonl
from .rules import Rule, registry
from .split import SPLITS


def _as_step(step: Step | Mapping[str, Any]) -> Step:
    if isinstance(step, Step):
        return step
    return Step.of(str(step["rule"]), dict(step.get("params", {})))


def replay(seed: Example, steps: Iterable[Step | Mapping[str, Any]],
           rules: Mapping[str, type[Rule]] | None = None) -> Melody:
    """The melody made by applying ``steps`` (Steps or {"rule", "params"} dicts) to ``seed``."""
    available = registry() if rules is None else rules
    melody = seed.melody
    for raw in steps:
        step = _as_step(raw)
        if step.rule not in available:
            raise AugmentError(f"replay: unknown rule {step.rule!r} (is its plugin installed?)")
        melody = available[step.rule]().apply(melody, **dict(step.params))
    return melody


@dataclass(frozen=True)
class Mismatch:
    split: str
    line: int
    id: str
    reason: str

    def __str__(self) -> str:
        return f"{self.split}.jsonl:{self.line}: {self.id}: {self.reason}"


@dataclass
class ReplayReport:
    checked: int = 0
    mismatches: list[Mismatch] = field(default_factory=list)


def _read_lineage(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        raise AugmentError(f"{path}: no lineage file (is this an 'augment expand' output directory?)")
    return load_jsonl(path, ("id", "split", "seed_id", "rules"))


def replay_dir(out_dir: Path, seeds: Sequence[Example], fmt: FormatConfig = FormatConfig()
               ) -> ReplayReport:
    """Replay every lineage record of ``out_dir`` against its line in train/validation/test.

    Records and lines pair up in order within each split (expand writes both sorted by id).
    """
    by_seed = {s.seed_id: s for s in seeds}
    records = _read_lineage(out_dir / "lineage.jsonl")
    rules = registry()
    report = ReplayReport()
    for split in SPLITS:
        path = out_dir / f"{split}.jsonl"
        wanted = [r for r in records if r.get("split") == split]
        lines = list(iter_lines(path)) if path.is_file() else []
        if len(lines) != len(wanted):
            report.mismatches.append(Mismatch(split, 0, "-", f"{len(lines)} line(s) but "
                                              f"{len(wanted)} lineage record(s)"))
        for record, (number, text) in zip(wanted, lines, strict=False):
            report.checked += 1
            reason = _check(record, text, by_seed, rules, fmt, str(path), number)
            if reason:
                report.mismatches.append(Mismatch(split, number, str(record.get("id")), reason))
    return report


def _check(record: dict[str, Any], text: str | None, by_seed: Mapping[str, Example],
           rules: Mapping[str, type[Rule]], fmt: FormatConfig, file: str, number: int) -> str | None:
    seed = by_seed.get(str(record.get("seed_id")))
    if seed is None:
        return f"seed {record.get('seed_id')} is not in the given seed files"
    steps = tuple(_as_step(s) for s in record.get("rules", []))
    expected_id = variant_id_for(seed.seed_id, steps) if steps else seed.seed_id
    if record.get("id") != expected_id:
        return f"id {record.get('id')} does not match its seed and steps ({expected_id})"
    example, _findings = parse_line(text or "", fmt, file, number)
    if example is None:
        return "output line does not parse"
    try:
        melody = replay(seed, steps, rules)
    except (AugmentError, ValueError, KeyError, TypeError) as exc:
        return f"replay failed: {exc}"
    if melody != example.melody:
        return "replayed melody differs from the written one"
    return None


__all__ = ["Mismatch", "ReplayReport", "replay", "replay_dir"]
