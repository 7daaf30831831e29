"""Exports: trainer formats keep every role and content; preference pairs pit a checked
answer against a theory-failing sibling's answer to the same prompt; MIDI per example;
every split and export loads with Hugging Face ``datasets``."""

from __future__ import annotations

import json
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from augment.checks import run_checks
from augment.codec import parse_melody
from augment.config import load_config
from augment.example import Example, Message
from augment.export import FORMATS, export_file, export_midi, read_records
from augment.midi import DEFAULT_BPM, read_midi, tempo_bpm
from augment.pipeline import expand
from augment.prompt import stated_key

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds" / "beethoven.jsonl"
# Transpositions up to an octave either way against a narrow register check: many
# variants fail pitch_range, and many share a prompt with a passing sibling (a prompt
# without a key, or the same key an octave away).
STRICT_RULES = """
[expand]
variants_per_seed = 12
[[rule]]
name = "transpose"
params = { min_semitones = -12, max_semitones = 12, low_pitch = 0, high_pitch = 127 }
[checks]
min_pitch = 52
max_pitch = 80
[split]
test = 0.15
validation = 0.15
augment_holdout = true
"""


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Any]:
    base = tmp_path_factory.mktemp("export")
    (base / "strict.toml").write_text(STRICT_RULES)
    config = load_config(base / "strict.toml")
    expand([SEEDS], config, base / "out", run_seed=3)
    return base / "out", config


@pytest.fixture(scope="module")
def exported(run: tuple[Path, Any], tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out, _ = run
    target = tmp_path_factory.mktemp("exported")
    return {name: export_file(name, out / "train.jsonl", target / f"{name}.jsonl").out
            for name in FORMATS}


def test_openai_export_of_a_split_is_the_split_itself(run, exported) -> None:
    out, _ = run
    assert exported["openai"].read_bytes() == (out / "train.jsonl").read_bytes()


def test_trl_formats_keep_every_role_and_content(run, exported) -> None:
    out, _ = run
    originals = lines(out / "train.jsonl")
    trl = lines(exported["trl"])
    pc = lines(exported["trl-prompt-completion"])
    assert len(trl) == len(pc) == len(originals) > 0
    for orig, a, b in zip(originals, trl, pc, strict=True):
        plain = [{"role": m["role"], "content": m["content"]} for m in orig["messages"]]
        assert a == {"messages": plain}
        assert b["prompt"] + b["completion"] == plain
        assert [m["role"] for m in b["completion"]] == ["assistant"]


def message_example(messages: list[dict[str, str]], fmt) -> Example:
    """An example as the pipeline sees it: the key its prompt states."""
    msgs = tuple(Message(m["role"], m["content"]) for m in messages)
    melody = parse_melody(messages[-1]["content"], fmt)
    example = Example.seed(msgs, melody, len(msgs) - 1, "pair")
    return replace(example, key=stated_key(example.prompt))


def test_preference_pairs_prefer_the_checked_answer_to_the_same_prompt(run, exported) -> None:
    out, config = run
    pairs = lines(exported["trl-dpo"])
    openai_pairs = lines(exported["openai-dpo"])
    assert len(pairs) == len(openai_pairs) >= 10
    train_text = (out / "train.jsonl").read_text(encoding="utf-8")
    failures = {r["line"]: r["reasons"] for r in lines(out / "rejected.jsonl") if r["stage"] == "checks"}
    for pair, twin in zip(pairs, openai_pairs, strict=True):
        assert twin == {"input": {"messages": pair["prompt"]},
                        "preferred_output": pair["chosen"],
                        "non_preferred_output": pair["rejected"]}
        chosen = message_example(pair["prompt"] + pair["chosen"], config.format)
        rejected = message_example(pair["prompt"] + pair["rejected"], config.format)
        assert run_checks(chosen, config.checks) == []
        assert chosen.melody.notes != rejected.melody.notes
        # The non-preferred answer is a check failure of the run, for this very prompt.
        line = json.dumps({"messages": pair["prompt"] + pair["rejected"]}, ensure_ascii=False)
        assert failures[line]
        if any(r.startswith("pitch_range") for r in failures[line]):
            assert any(r.startswith("pitch_range") for r in run_checks(rejected, config.checks))
        # The preferred answer, with its very prompt, is a line of the training split.
        line = json.dumps({"messages": pair["prompt"] + pair["chosen"]}, ensure_ascii=False)
        assert line in train_text


def test_preference_pairs_use_only_families_of_the_exported_split(run, exported) -> None:
    out, _ = run
    train_families = {r["seed_id"] for r in lines(out / "lineage.jsonl") if r["split"] == "train"}
    rejected = lines(out / "rejected.jsonl")
    held_out = [r for r in rejected if r["seed_id"] not in train_families and r["stage"] == "checks"]
    assert held_out, "the fixture should reject variants of held-out families too"
    held_out_answers = {json.loads(r["line"])["messages"][-1]["content"] for r in held_out}
    for pair in lines(exported["trl-dpo"]):
        assert pair["rejected"][0]["content"] not in held_out_answers


def test_exports_are_deterministic(run, exported, tmp_path: Path) -> None:
    out, _ = run
    for name in FORMATS:
        again = export_file(name, out / "train.jsonl", tmp_path / f"{name}.jsonl").out
        assert again.read_bytes() == exported[name].read_bytes(), name


def test_midi_files_are_named_by_lineage_id_and_hold_the_melody(run, tmp_path: Path) -> None:
    out, config = run
    result = export_midi(out / "train.jsonl", tmp_path / "midi", limit=7)
    records = read_records(out / "train.jsonl")
    assert [p.name for p in result.files] == [f"{r.id}.mid" for r in records[:7]]
    assert {r["id"] for r in lines(out / "lineage.jsonl")} >= {r.id for r in records[:7]}
    tempos = []
    for rec, path in zip(records, result.files, strict=False):
        melody, bpm = read_midi(path)
        assert melody == rec.example.melody
        tempos.append(bpm)
        assert bpm == pytest.approx(tempo_bpm(rec.example.prompt) or DEFAULT_BPM, abs=0.01)
    assert any(t != pytest.approx(DEFAULT_BPM) for t in tempos), "no prompt's tempo word was used"


def test_cli_export_and_errors(run, tmp_path: Path) -> None:
    from augment.cli import cli

    out, _ = run
    runner = CliRunner()
    ok = runner.invoke(cli, ["export", "trl-dpo", str(out / "train.jsonl"), "-o", str(tmp_path / "p.jsonl")])
    assert ok.exit_code == 0, ok.output
    assert re.search(r"wrote \d+ trl-dpo record\(s\)", ok.output)
    midi = runner.invoke(cli, ["export", "midi", str(out / "test.jsonl"), "-o", str(tmp_path / "m")])
    assert midi.exit_code == 0 and len(list((tmp_path / "m").glob("*.mid"))) == len(lines(out / "test.jsonl"))
    # DPO needs the rejected.jsonl of a run: a seed file alone is a clean one-line error.
    bad = runner.invoke(cli, ["export", "openai-dpo", str(SEEDS), "-o", str(tmp_path / "x.jsonl")])
    assert bad.exit_code == 2 and "rejected.jsonl" in bad.output and "Traceback" not in bad.output


def test_every_split_and_export_loads_with_hugging_face_datasets(run, exported, tmp_path: Path) -> None:
    import datasets

    datasets.disable_progress_bars()
    out, config = run
    files = {f"split:{s}": out / f"{s}.jsonl" for s in ("train", "validation", "test")}
    files.update({f"export:{k}": v for k, v in exported.items()})
    for name, path in files.items():
        raw = lines(path)
        ds = datasets.load_dataset("json", data_files=str(path), split="train",
                                   cache_dir=str(tmp_path / "hf"))
        assert len(ds) == len(raw) > 0, name
        for row, original in zip(ds, raw, strict=True):
            for column, value in original.items():
                assert _roles_contents(row[column]) == _roles_contents(value), (name, column)
            for message in _messages(row):
                if message["role"] == "assistant":
                    melody = parse_melody(message["content"], config.format)
                    assert all(isinstance(p, int) for p in melody.notes)
                    assert not re.search(r"\[\d+\.\d*,", message["content"]), "pitch became a float"


def _roles_contents(value: Any) -> Any:
    if isinstance(value, dict) and "messages" in value:
        return _roles_contents(value["messages"])
    return [(m["role"], m["content"]) for m in value]


def _messages(row: dict[str, Any]) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for value in row.values():
        found.extend(value["messages"] if isinstance(value, dict) else value)
    return found


def test_the_output_of_augment_split_exports_and_reports(tmp_path: Path) -> None:
    """``augment split`` writes a lineage of tune groups, not of seeds and rules: its split
    files are read as any file's lines (ids and families from their contents), each in its
    split; before, export and report refused them for a lineage without seed ids."""
    from augment.cli import cli

    out = tmp_path / "split"
    assert CliRunner().invoke(cli, ["split", str(SEEDS), "--out", str(out)]).exit_code == 0
    lines = {s: (out / f"{s}.jsonl").read_text(encoding="utf-8").splitlines() for s in ("train", "test")}
    for name in ("train", "test"):
        records = read_records(out / f"{name}.jsonl")
        assert len(records) == len(lines[name]) > 0 and {r.split for r in records} == {name}
        assert all(r.rules == () and r.id == r.example.id for r in records)
    result = CliRunner().invoke(cli, ["export", "openai", str(out / "train.jsonl"),
                                      "-o", str(tmp_path / "o.jsonl")])
    assert result.exit_code == 0, result.output
    assert len((tmp_path / "o.jsonl").read_text().splitlines()) == len(lines["train"])
    result = CliRunner().invoke(cli, ["export", "midi", str(out / "test.jsonl"), "-o", str(tmp_path / "m")])
    assert result.exit_code == 0 and len(list((tmp_path / "m").iterdir())) == len(lines["test"])
    result = CliRunner().invoke(cli, ["report", str(out)])
    assert result.exit_code == 0, result.output
    html = (out / "report.html").read_text(encoding="utf-8")
    n = len(lines["train"])  # the split's rows, each line its own family
    assert f'<tr data-split="train"><td>train</td><td>{n}</td><td>{n}</td>' in html
