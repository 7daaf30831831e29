"""Every check's pass and fail side, on small melodies whose answer is known by hand."""

from __future__ import annotations

import json
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import pytest
from click.testing import CliRunner

from augment.checks import CHECKS, cadence_pitch_classes, key_index, run_checks
from augment.cli import cli
from augment.config import ChecksConfig
from augment.example import Example, Message
from augment.melody import Melody
from augment.theory import Key

C_MAJOR = Key(0, "major")
C_TUNE = [(60, 1), (64, 1), (67, 1), (64, 1), (65, 1), (62, 1), (71, 0.5), (62, 0.5), (60, 2)]
SCALE_UP = [(60, 1), (62, 1), (64, 1), (65, 1), (67, 1), (69, 1), (71, 1), (72, 2)]


def ex(pairs: list, prompt: str = "A melody in C major.", key: Key | None = C_MAJOR) -> Example:
    messages = (Message("user", prompt), Message("assistant", "melody_pitch_duration_data: []"))
    return replace(Example.seed(messages, Melody.from_pairs(pairs), 1, "t"), key=key)


def check(name: str, example: Example, **config: object) -> str | None:
    return CHECKS[name](example, ChecksConfig(**config))  # type: ignore[arg-type]


def test_a_plain_c_major_scale_passes_everything() -> None:
    assert run_checks(ex(SCALE_UP), ChecksConfig()) == []


@pytest.mark.parametrize(
    "name, good, bad, config",
    [
        ("pitch_range", SCALE_UP, [(30, 1), (60, 1)], {}),
        ("span", SCALE_UP, [(48, 1), (84, 1)], {}),
        ("note_count", SCALE_UP, [(60, 1), (64, 1)], {}),
        ("in_scale", SCALE_UP, [(60, 1), (61, 1), (63, 1), (66, 1), (68, 1), (70, 1), (72, 1)], {}),
        ("largest_leap", SCALE_UP, [(60, 1), (79, 1), (77, 1), (76, 1)], {}),
        ("leap_recovery", [(60, 1), (69, 1), (67, 1), (76, 1), (74, 1), (72, 1)],
         [(48, 1), (57, 1), (67, 1), (76, 1), (72, 1)], {"max_unrecovered_leaps": 1}),
        ("repeated_notes", SCALE_UP, [(60, 0.5)] * 10 + [(67, 1)], {}),
        ("rhythm_grid", [(60, Fraction(1, 3)), (62, Fraction(1, 3)), (64, Fraction(1, 3)), (65, 0.125)],
         [(60, 0.2), (62, 1)], {}),
        ("rhythm_grid", SCALE_UP, [(60, 0.0625), (62, 1)], {}),
        ("cadence", SCALE_UP, SCALE_UP[:-1] + [(71, 2)], {}),
    ],
)
def test_each_check_passes_and_fails(name: str, good: list, bad: list, config: dict) -> None:
    assert check(name, ex(good), **config) is None
    reason = check(name, ex(bad), **config)
    assert reason is not None and reason.startswith(f"{name}:")


def test_cadence_accepts_the_third_and_fifth_unless_tonic_only() -> None:
    ends_on_e = SCALE_UP[:-1] + [(64, 2)]
    assert check("cadence", ex(ends_on_e)) is None
    assert check("cadence", ex(ends_on_e), cadence_tonic_only=True) is not None


def test_key_agreement_follows_the_prompt() -> None:
    assert check("key_agreement", ex(SCALE_UP, "Write it in C major")) is None
    lie = check("key_agreement", ex(SCALE_UP, "Write it in F# major", Key(6, "major")))
    assert lie is not None and "prompt says F# major" in lie and "melody fits" in lie
    assert check("key_agreement", ex(SCALE_UP, "anything", None)) is None
    a_minor = [(69, 1), (71, 1), (72, 1), (74, 1), (76, 1), (72, 1), (71, 1), (69, 2)]
    relative = ex(a_minor, "Write it in C major")
    assert check("key_agreement", relative, key_tolerance=0.0, allow_relative_key=True) is None
    assert check("key_agreement", relative, key_tolerance=0.0, allow_relative_key=False) is not None


def test_skip_turns_a_check_off() -> None:
    bad = ex(SCALE_UP[:-1] + [(71, 2)])
    assert run_checks(bad, ChecksConfig()) and not run_checks(bad, ChecksConfig(skip=("cadence",)))


def test_inspect_reports_keys_and_failed_checks(tmp_path: Path) -> None:
    lines = []
    for prompt, pairs in [("A melody in C major.", C_TUNE), ("A melody in F# major.", C_TUNE)]:
        text = "melody_pitch_duration_data: " + json.dumps(pairs)
        lines.append(json.dumps({"messages": [{"role": "user", "content": prompt},
                                              {"role": "assistant", "content": text}]}))
    lines.append("{oops")
    f = tmp_path / "x.jsonl"
    f.write_text("\n".join(lines) + "\n")
    result = CliRunner().invoke(cli, ["inspect", str(f), "--json"])
    assert result.exit_code == 1
    good, lie, broken = (json.loads(x) for x in result.output.splitlines())
    assert good["ok"] and good["stated_key"] == "C major" and good["key"] == "C major"
    assert good["range"] == [60, 71] and good["notes"] == 9 and good["key_confidence"] > 0.5
    assert not lie["ok"] and lie["stated_key"] == "F# major" and lie["key"] == "C major"
    assert {"key_agreement", "in_scale", "cadence"} <= set(lie["failed_checks"])
    assert broken["errors"][0]["code"] == "invalid_json" and not broken["ok"]
    table = CliRunner().invoke(cli, ["inspect", str(f)])
    assert f"{f}:2: FAIL" in table.output and "key_agreement" in table.output


def test_calibrate_prints_a_loadable_checks_table(tmp_path: Path, seeds_path: Path) -> None:
    result = CliRunner().invoke(cli, ["calibrate", str(seeds_path)])
    assert result.exit_code == 0, result.output
    toml = tmp_path / "cal.toml"
    toml.write_text(result.output)
    from augment.config import load_config
    checks = load_config(toml).checks
    assert checks.max_pitch <= 96 and checks.min_pitch >= 36
    data = json.loads(CliRunner().invoke(cli, ["calibrate", "--json", str(seeds_path)]).output)
    span = next(d for d in data if d["name"] == "span_semitones")
    assert span["minimum"] <= span["median"] <= span["maximum"] and span["param"] == "max_span_semitones"


def test_calibrate_refuses_a_file_without_one_valid_example(tmp_path: Path) -> None:
    """Nothing to calibrate on is an error (it printed an empty [checks] table, exit 0)."""
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    result = CliRunner().invoke(cli, ["calibrate", str(empty)])
    assert result.exit_code == 2 and f"error: {empty}: no valid example to calibrate on" in result.output


def test_cadence_reads_a_church_modes_own_triad() -> None:
    # C mixolydian (C D E F G A Bb): its tonic triad is C E G, with the major third.
    mixolydian = [(60, 1), (62, 1), (64, 1), (65, 1), (67, 1), (69, 1), (70, 1), (67, 1)]
    c_mixolydian = Key(0, "mixolydian")
    assert check("cadence", ex(mixolydian + [(64, 2)], key=c_mixolydian)) is None
    assert check("cadence", ex(mixolydian + [(63, 2)], key=c_mixolydian)) is not None
    # B locrian (B C D E F G A): B D F, with the diminished fifth.
    locrian = [(71, 1), (72, 1), (74, 1), (76, 1), (77, 1), (79, 1), (81, 1)]
    b_locrian = Key(11, "locrian")
    assert check("cadence", ex(locrian + [(77, 2)], key=b_locrian)) is None
    assert check("cadence", ex(locrian + [(78, 2)], key=b_locrian)) is not None
    # major and minor as before: C E G, A C E
    assert cadence_pitch_classes(Key(0, "major")) == {0, 4, 7}
    assert cadence_pitch_classes(Key(9, "minor")) == {9, 0, 4}
    assert cadence_pitch_classes(Key(9, "minor"), tonic_only=True) == {9}


def test_key_index_reads_a_mode_by_its_third() -> None:
    # Stated keys are major or minor (prompt.Tonality.key); a church-mode Key, which the checks
    # also accept, is read as the major or minor key with its third.
    assert [key_index(Key(7, m)) for m in ("major", "lydian", "mixolydian")] == [7, 7, 7]
    assert [key_index(Key(2, m)) for m in ("minor", "dorian", "phrygian", "locrian")] == [14] * 4
