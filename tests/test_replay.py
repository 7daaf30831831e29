"""Replay: every variant of an ``augment expand`` run with rules/wide.toml is rebuilt exactly
from its seed and the rules + params in lineage.jsonl."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

from augment.cli import cli
from augment.codec import FormatConfig
from augment.config import load_config
from augment.example import Step
from augment.pipeline import read_seeds
from augment.replay import replay, replay_dir
from augment.rules import BUILTIN_RULES

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds" / "beethoven.jsonl"
WIDE = ROOT / "rules" / "wide.toml"


@pytest.fixture(scope="module")
def wide_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wide") / "out"
    result = CliRunner().invoke(cli, ["expand", str(SEEDS), "--rules", str(WIDE), "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


def test_every_variant_of_a_wide_run_replays_exactly(wide_run: Path) -> None:
    seeds, _, _ = read_seeds([SEEDS], FormatConfig())
    report = replay_dir(wide_run, seeds)
    lineage = [json.loads(line) for line in (wide_run / "lineage.jsonl").read_text().splitlines()]
    assert report.checked == len(lineage) > 300
    assert report.mismatches == []
    # The run exercised every rule, so every rule's params replay.
    used = Counter(step["rule"] for record in lineage for step in record["rules"])
    assert set(used) == set(BUILTIN_RULES)


def test_replay_command_reports_a_tampered_variant(wide_run: Path, tmp_path: Path) -> None:
    ok = CliRunner().invoke(cli, ["replay", str(wide_run), "--seeds", str(SEEDS), "--rules", str(WIDE)])
    assert ok.exit_code == 0, ok.output
    tampered = tmp_path / "out"
    tampered.mkdir()
    for f in wide_run.iterdir():
        (tampered / f.name).write_bytes(f.read_bytes())
    lines = (tampered / "train.jsonl").read_text(encoding="utf-8").splitlines()
    lineage = [json.loads(line) for line in (tampered / "lineage.jsonl").read_text().splitlines()]
    train = [r for r in lineage if r["split"] == "train"]
    index = next(i for i, r in enumerate(train) if r["rules"])
    data = json.loads(lines[index])
    prefix = "melody_pitch_duration_data: ["
    data["messages"][-1]["content"] = data["messages"][-1]["content"].replace(prefix, prefix + "[61, 1.0], ")
    lines[index] = json.dumps(data)
    (tampered / "train.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    bad = CliRunner().invoke(cli, ["replay", str(tampered), "--seeds", str(SEEDS)])
    assert bad.exit_code == 1
    assert f"train.jsonl:{index + 1}: {train[index]['id']}: replayed melody differs" in bad.output


def test_replay_names_the_seed_lines_it_cannot_read(wide_run: Path, tmp_path: Path) -> None:
    """A seed line that cannot be read leaves its variants "not in the given seed files":
    replay says which line and why, as the other commands do."""
    lines = SEEDS.read_text(encoding="utf-8").splitlines()
    broken = tmp_path / "seeds.jsonl"
    broken.write_text("\n".join([lines[0][: len(lines[0]) // 2], *lines[1:]]) + "\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["replay", str(wide_run), "--seeds", str(broken), "--rules", str(WIDE)])
    assert result.exit_code == 1
    assert f"{broken}:1: invalid_json" in result.output
    assert "is not in the given seed files" in result.output


def test_replay_chains_steps_in_order() -> None:
    seeds, _, _ = read_seeds([SEEDS], FormatConfig())
    c_major = seeds[0]
    steps = [Step.of("transpose", {"semitones": 2}), {"rule": "retrograde", "params": {}},
             {"rule": "time_scale", "params": {"factor": "2"}}]
    out = replay(c_major, steps)
    assert out.pitches == (74, 73, 71, 69, 67, 66, 64, 62)
    assert out.durations[0] == 2


def test_replay_rejects_a_directory_without_lineage(tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["replay", str(tmp_path), "--seeds", str(SEEDS)])
    assert result.exit_code == 2 and "no lineage file" in result.output


def test_wide_config_draws_from_every_rule() -> None:
    assert {s.rule.name for s in load_config(WIDE).rules} == set(BUILTIN_RULES)


def test_replay_reads_the_format_the_run_used_from_its_manifest(tmp_path: Path) -> None:
    """A run in whole-note durations replays without ``--rules`` (before, replay read the
    seeds in quarter notes unless told, and found false mismatches)."""
    from augment.codec import example_to_line, format_melody

    whole = FormatConfig(duration_unit="whole")
    seeds, _, _ = read_seeds([SEEDS], FormatConfig())
    lines = [example_to_line(s.with_contents({s.melody_index: format_melody(s.melody, whole)}))
             for s in seeds[:12]]
    seed_file = tmp_path / "whole.jsonl"
    seed_file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    rules = tmp_path / "whole.toml"
    text = WIDE.read_text(encoding="utf-8")  # (its rules read bar lines: quarters misread go wrong)
    rules.write_text(text.replace('duration_unit = "quarter"', 'duration_unit = "whole"'), encoding="utf-8")
    assert load_config(rules).format == whole
    out = tmp_path / "out"
    run = CliRunner().invoke(cli, ["expand", str(seed_file), "--rules", str(rules), "--out", str(out)])
    assert run.exit_code == 0, run.output
    result = CliRunner().invoke(cli, ["replay", str(out), "--seeds", str(seed_file)])
    assert result.exit_code == 0 and "0 mismatch(es)" in result.output, result.output
    assert "replayed 0 " not in result.output
