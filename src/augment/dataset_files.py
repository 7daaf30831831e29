"""``augment dedup FILE`` and ``augment split FILE``: the dataset stages on any chat JSONL.

Every line is its own seed family here (there is no lineage), so families are grouped by
the tunes they share: exact, transposed/tempo-scaled and near duplicates.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from .audit import assert_no_leaks
from .codec import FormatConfig, example_to_line, read_examples
from .config import Config
from .dataset import assign_sides, tune_groups
from .dedup import MelodyRelations, calibrate_for, dedup, near_params
from .diversity import diversity_report
from .errors import AugmentError
from .example import Example
from .output import dumps, write_atomic, write_manifest
from .split import SPLITS


def read_file(path: Path, fmt: FormatConfig) -> list[tuple[Example, str]]:
    """(example, original line text) for every line; AugmentError naming bad lines."""
    if not path.is_file():
        raise AugmentError(f"{path}: no such file")
    rows: list[tuple[Example, str]] = []
    errors: list[str] = []
    for _number, text, example, findings in read_examples(path, fmt):
        bad = [f for f in findings if f.severity == "error"]
        if example is None or text is None or bad:
            errors.extend(str(f) for f in bad)
        else:
            rows.append((example, text))
    if errors:
        more = f"\n... and {len(errors) - 10} more" if len(errors) > 10 else ""
        raise AugmentError(f"{len(errors)} problem(s) in {path}; fix them or run 'augment validate':\n"
                           + "\n".join(errors[:10]) + more)
    return rows


@dataclass
class FileResult:
    counts: Counter[str] = field(default_factory=Counter)
    manifest: dict[str, Any] = field(default_factory=dict)


def dedup_file(path: Path, config: Config, out: Path, run_seed: int = 0) -> FileResult:
    """Write the lines of ``path`` that are not duplicates to ``out``, in input order."""
    rows = read_file(path, config.format)
    result = dedup([e for e, _ in rows], config.dedup, run_seed)
    kept_ids = {e.id for e in result.kept}
    seen: set[str] = set()
    lines = []
    for example, text in rows:
        if example.id in kept_ids and example.id not in seen:
            seen.add(example.id)
            lines.append(text)
    write_atomic(out, lines)
    out_result = FileResult(Counter({"input_lines": len(rows), "written": len(lines),
                                     **result.counts}))
    out_result.manifest = {"near_params": asdict(result.params), "dedup_calibration":
                           None if result.calibration is None else result.calibration.as_dict()}
    return out_result


def split_file(path: Path, config: Config, out_dir: Path, run_seed: int = 0) -> FileResult:
    """Split an existing dataset into train/validation/test by shared tunes; audit; write."""

    rows = read_file(path, config.format)
    examples = sorted({e.id: e for e, _ in rows}.values(), key=lambda e: e.id)
    calibration = calibrate_for([e.melody for e in examples], config.dedup, run_seed) \
        if config.dedup.calibrate else None
    params = near_params(config.dedup, calibration)
    group = tune_groups(examples, MelodyRelations.of(examples, params))
    side = assign_sides(examples, group, config, run_seed)
    by_split: dict[str, list[Example]] = {name: [] for name in SPLITS}
    for e in examples:
        by_split[side[e.seed_id]].append(e)
    assert_no_leaks(by_split, params)
    result = FileResult(Counter({"input_lines": len(rows), "groups": len(set(group.values()))}))
    files = {}
    for name in SPLITS:
        result.counts[f"written_{name}"] = len(by_split[name])
        files[f"{name}.jsonl"] = write_atomic(out_dir / f"{name}.jsonl",
                                              (example_to_line(e) for e in by_split[name]))
    files["lineage.jsonl"] = write_atomic(out_dir / "lineage.jsonl", (dumps(
        {"id": e.id, "split": side[e.seed_id], "group": group[e.seed_id], "source": e.source})
        for e in examples))
    result.manifest = {
        "augment_manifest": 1, "command": "split", "input": str(path), "seed": run_seed,
        "config": config.resolved(), "counts": dict(sorted(result.counts.items())),
        "dedup_calibration": None if calibration is None else calibration.as_dict(),
        "near_params": asdict(params),
        "diversity": {name: diversity_report(by_split[name]) for name in SPLITS},
        "files": {name: {"sha256": d} for name, d in sorted(files.items())},
    }
    write_manifest(out_dir, result.manifest)
    return result
