"""A third-party rule installed as a distribution is found through the ``augment.rules``
entry-point group and works end to end: listed, configured, expanded, replayed."""

from __future__ import annotations

import json
import sys
import textwrap
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

from augment.cli import cli
from augment.rules import BUILTIN_RULES, registry

SEEDS = Path(__file__).resolve().parents[1] / "seeds" / "beethoven.jsonl"

PLUGIN = '''
"""A tiny rule plugin: the melody an octave higher."""
from dataclasses import dataclass
from augment.melody import Melody, transpose
from augment.rules.base import Choices, Rule


@dataclass(frozen=True)
class OctaveUp(Rule):
    """Move the melody up by whole octaves."""

    name = "octave_up"
    changes = frozenset()

    octaves: int = 1
    high_pitch: int = 96

    def sample(self, example, rng):
        top = max(example.melody.notes)
        return {"semitones": 12 * self.octaves} if top + 12 * self.octaves <= self.high_pitch else None

    def apply(self, melody: Melody, **params) -> Melody:
        return transpose(melody, int(params["semitones"]))


@dataclass(frozen=True)
class OctaveJump(Rule):
    """Move the melody an octave up or down (drawn by its choices)."""

    name = "octave_jump"
    changes = frozenset()

    low_pitch: int = 36
    high_pitch: int = 96

    def choices(self, example):
        notes = example.melody.notes
        fits = [k for k in (-12, 12)
                if self.low_pitch <= min(notes) + k and max(notes) + k <= self.high_pitch]
        return Choices.one_group(fits, lambda k: {"semitones": k})

    def apply(self, melody: Melody, **params) -> Melody:
        return transpose(melody, int(params["semitones"]))
'''


@pytest.fixture
def plugin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Install the plugin as a distribution (package + dist-info) on sys.path."""
    site = tmp_path / "site"
    (site / "octave_plugin").mkdir(parents=True)
    (site / "octave_plugin" / "__init__.py").write_text(textwrap.dedent(PLUGIN), encoding="utf-8")
    info = site / "octave_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: octave-plugin\nVersion: 0.1\n",
                                   encoding="utf-8")
    (info / "entry_points.txt").write_text("[augment.rules]\noctave_up = octave_plugin:OctaveUp\n"
                                           "octave_jump = octave_plugin:OctaveJump\n",
                                           encoding="utf-8")
    monkeypatch.syspath_prepend(str(site))
    return tmp_path


def test_plugin_is_registered_but_not_a_builtin(plugin: Path) -> None:
    assert "octave_up" in registry() and "octave_up" not in BUILTIN_RULES
    result = CliRunner().invoke(cli, ["rules", "--json"])
    entry = next(e for e in json.loads(result.output) if e["name"] == "octave_up")
    assert entry["params"] == {"octaves": 1, "high_pitch": 96}
    assert entry["doc"] == "Move the melody up by whole octaves."


def test_plugin_rule_runs_end_to_end(plugin: Path) -> None:
    rules = plugin / "octave.toml"
    rules.write_text('[expand]\nvariants_per_seed = 2\n\n[[rule]]\nname = "octave_up"\n'
                     'params = { octaves = 1, high_pitch = 96 }\n\n[split]\ntest = 0.0\n'
                     'validation = 0.0\n', encoding="utf-8")
    out = plugin / "out"
    result = CliRunner().invoke(cli, ["expand", str(SEEDS), "--rules", str(rules), "--out", str(out)])
    assert result.exit_code == 0, result.output
    lineage = [json.loads(line) for line in (out / "lineage.jsonl").read_text().splitlines()]
    variants = [r for r in lineage if r["rules"]]
    assert variants and all(r["rules"] == [{"rule": "octave_up", "params": {"semitones": 12}}]
                            for r in variants)
    # The key is unchanged, so the prompt keeps its key claim word for word.
    train = (out / "train.jsonl").read_text(encoding="utf-8")
    assert "Generate a melody in C major." in train
    assert "[72, 0.5], [74, 0.25], [76, 0.25], [77, 0.5]" in train
    replayed = CliRunner().invoke(cli, ["replay", str(out), "--seeds", str(SEEDS), "--rules", str(rules)])
    assert replayed.exit_code == 0, replayed.output


def test_plugin_rule_with_choices_runs_end_to_end(plugin: Path) -> None:
    """A plugin that defines ``choices`` instead of ``sample`` is drawn by them: both
    octaves where both fit, each variant its seed an octave away, replayable."""
    from augment.codec import FormatConfig, parse_line

    def examples(path: Path) -> list:  # type: ignore[type-arg]
        lines = path.read_text(encoding="utf-8").splitlines()
        return [parse_line(line, FormatConfig(), str(path), n)[0] for n, line in enumerate(lines, 1)]

    rules = plugin / "jump.toml"
    rules.write_text('[expand]\nvariants_per_seed = 2\n\n[[rule]]\nname = "octave_jump"\n'
                     '[split]\ntest = 0.0\nvalidation = 0.0\n', encoding="utf-8")
    out = plugin / "out"
    result = CliRunner().invoke(cli, ["expand", str(SEEDS), "--rules", str(rules), "--out", str(out)])
    assert result.exit_code == 0, result.output
    steps = [r["rules"] for r in map(json.loads, (out / "lineage.jsonl").read_text().splitlines())]
    variants = [rules for rules in steps if rules]
    assert variants and all(len(r) == 1 and r[0]["rule"] == "octave_jump" for r in variants)
    assert {r[0]["params"]["semitones"] for r in variants} == {-12, 12}

    def moved(melody, k):  # type: ignore[no-untyped-def]
        return tuple(None if p is None else p - k for p in melody.pitches), melody.ticks

    seeds = {(e.melody.pitches, e.melody.ticks) for e in examples(SEEDS)}
    shifts: Counter[int] = Counter()
    for e in examples(out / "train.jsonl"):
        if (e.melody.pitches, e.melody.ticks) in seeds:
            continue  # a seed
        (k,) = [k for k in (-12, 12) if moved(e.melody, k) in seeds]
        shifts[k] += 1
    assert sum(shifts.values()) == len(variants)
    assert set(shifts) == {-12, 12}
    replayed = CliRunner().invoke(cli, ["replay", str(out), "--seeds", str(SEEDS), "--rules", str(rules)])
    assert replayed.exit_code == 0, replayed.output


def test_replay_without_the_plugin_reports_it(plugin: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    rules = plugin / "octave.toml"
    rules.write_text('[[rule]]\nname = "octave_up"\n[split]\ntest = 0.0\nvalidation = 0.0\n',
                     encoding="utf-8")
    out = plugin / "out"
    assert CliRunner().invoke(cli, ["expand", str(SEEDS), "--rules", str(rules),
                                    "--out", str(out)]).exit_code == 0
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p != str(plugin / "site")])
    result = CliRunner().invoke(cli, ["replay", str(out), "--seeds", str(SEEDS)])
    assert result.exit_code == 1
    assert "unknown rule 'octave_up'" in result.output
