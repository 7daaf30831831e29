"""Determinism: byte-identical output across reruns, input line orders (with wide.toml,
every rule), locales and PYTHONHASHSEED values; stable number formatting."""

from __future__ import annotations

import json
import os
import random
import re
import subprocess
import sys
from collections import Counter
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import pytest

from augment.codec import FormatConfig, format_duration, parse_melody
from augment.config import load_config
from augment.melody import GRID_QUARTER
from augment.pipeline import expand

ROOT = Path(__file__).resolve().parent.parent
SEED_LINES = (ROOT / "seeds" / "beethoven.jsonl").read_text(encoding="utf-8").splitlines(True)
# Non-ASCII prompt text, so a locale whose encoding is ASCII would show up.
NON_ASCII = json.dumps({"messages": [
    {"role": "user", "content": "Für Elise, ma non troppo — ein kurzes Stück in A-Moll ♪"},
    {"role": "assistant", "content": "melody_pitch_duration_data: [[76, 0.25], [75, 0.25], [76, 0.25], "
     "[75, 0.25], [76, 0.25], [71, 0.25], [74, 0.25], [72, 0.25], [69, 0.5], [60, 0.25], [64, 0.25], "
     "[69, 0.25], [71, 0.5], [64, 0.25], [68, 0.25], [71, 0.25], [72, 0.5], [69, 1.0]]"}]},
    ensure_ascii=False) + "\n"


def tree(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(out.iterdir())}


def records(data: bytes, drop: tuple[str, ...] = ("source",)) -> list[dict]:
    return [{k: v for k, v in json.loads(line).items() if k not in drop} for line in data.splitlines()]


@pytest.fixture(scope="module")
def wide_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, bytes]]:
    base = tmp_path_factory.mktemp("wide")
    lines = SEED_LINES[:10]
    shuffled = list(lines)
    random.Random(11).shuffle(shuffled)
    wide = load_config(ROOT / "rules" / "wide.toml")
    # Every rule of wide.toml, fewer variants per seed: the same code paths, quicker.
    config = replace(wide, expand=replace(wide.expand, variants_per_seed=12))
    runs = {}
    for name, content in (("forward", lines), ("again", lines), ("shuffled", shuffled[::-1])):
        seeds = base / name / "seeds.jsonl"
        seeds.parent.mkdir()
        seeds.write_text("".join(content), encoding="utf-8")
        # Same seed file path for forward/again: the manifest names it.
        path = base / "forward" / "seeds.jsonl" if name == "again" else seeds
        expand([path], config, base / name / "out", run_seed=5)
        runs[name] = tree(base / name / "out")
    return runs


def test_wide_rerun_is_byte_identical(wide_runs: dict[str, dict[str, bytes]]) -> None:
    assert wide_runs["forward"] == wide_runs["again"]
    counts = json.loads(wide_runs["forward"]["manifest.json"])["counts_per_rule"]
    assert len(counts) >= 8  # wide.toml really exercised most rules
    # The manifest's count (the candidates' steps less those not written) is the count of
    # the steps in the lineage file, which holds every written example.
    steps = Counter(step["rule"] for record in records(wide_runs["forward"]["lineage.jsonl"])
                    for step in record["rules"])
    assert counts == dict(sorted(steps.items()))


def test_wide_output_does_not_depend_on_input_order(wide_runs: dict[str, dict[str, bytes]]) -> None:
    forward, shuffled = wide_runs["forward"], wide_runs["shuffled"]
    for name in ("train.jsonl", "validation.jsonl", "test.jsonl"):
        assert forward[name] == shuffled[name], name
    # Lineage and rejects name each seed's file:line ("source"); all else is identical.
    assert records(forward["lineage.jsonl"]) == records(shuffled["lineage.jsonl"])
    assert records(forward["rejected.jsonl"]) == records(shuffled["rejected.jsonl"])
    a, b = json.loads(forward["manifest.json"]), json.loads(shuffled["manifest.json"])
    assert {k for k in a if a[k] != b[k]} == {"files", "seed_files"}
    assert {k for k in a["files"] if a["files"][k] != b["files"][k]} == {"lineage.jsonl", "rejected.jsonl"}


def run_cli(seeds: Path, out: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith(("LC_", "LANG", "PYTHON"))}
    full.update(env)
    return subprocess.run([sys.executable, "-m", "augment", "expand", str(seeds), "--rules",
                           str(ROOT / "rules" / "default.toml"), "--out", str(out), "--seed", "2"],
                          env=full, capture_output=True, timeout=120)


def test_same_bytes_under_any_locale_and_hash_seed(tmp_path: Path) -> None:
    seeds = tmp_path / "seeds.jsonl"
    seeds.write_text("".join(SEED_LINES[:8]) + NON_ASCII, encoding="utf-8")
    environments = {
        # An ASCII locale with Python's UTF-8 mode off: every file must name its encoding.
        "ascii": {"LC_ALL": "C", "PYTHONUTF8": "0", "PYTHONHASHSEED": "0", "PYTHONIOENCODING": "ascii"},
        "utf8": {"LC_ALL": "C.UTF-8", "PYTHONHASHSEED": "4242"},
        "posix": {"LANG": "POSIX", "PYTHONHASHSEED": "random"},
    }
    outputs = {}
    for name, env in environments.items():
        result = run_cli(seeds, tmp_path / name, env)
        assert result.returncode == 0, (name, result.stderr.decode(errors="replace"))
        outputs[name] = tree(tmp_path / name)
    assert outputs["ascii"] == outputs["utf8"] == outputs["posix"]
    train = outputs["utf8"]["train.jsonl"].decode("utf-8")
    assert "Für Elise" in train and "\\u00fc" not in train  # non-ASCII kept as written


def test_durations_format_the_same_everywhere() -> None:
    fmt_whole = FormatConfig(duration_unit="whole")
    for ticks in range(1, 48 * 16 + 1):
        quarters = ticks * GRID_QUARTER
        for fmt in (FormatConfig(), fmt_whole):
            text = format_duration(quarters, fmt)
            assert re.fullmatch(r"\d+\.\d+", text), text  # never 1e-05, never "1,5"
            back = parse_melody(f"melody_pitch_duration_data: [[60, {text}]]", fmt)
            assert back.durations == (quarters,)
    assert format_duration(Fraction(1, 3)) == "0.3333333333333333"
    assert format_duration(Fraction(3, 2)) == "1.5"
    assert format_duration(Fraction(4)) == "4.0"


def test_written_numbers_are_plain_decimals(wide_runs: dict[str, dict[str, bytes]]) -> None:
    train = wide_runs["forward"]["train.jsonl"].decode("utf-8")
    durations = re.findall(r"\[\d+, ([^\]]+)\]", train)
    assert durations and all(re.fullmatch(r"\d+\.\d+", d) for d in durations)
    manifest = wide_runs["forward"]["manifest.json"].decode("utf-8")
    assert not re.search(r"\b(NaN|Infinity)\b", manifest)
