from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from augment.cli import cli


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=True)


def test_bundled_seeds_validate_clean(seeds_path: Path) -> None:
    result = run("validate", str(seeds_path))
    assert result.exit_code == 0, result.output
    assert ": error" not in result.output


def test_one_broken_line_is_named(seeds_path: Path, tmp_path: Path) -> None:
    lines = seeds_path.read_text().splitlines()
    lines[4] = lines[4].replace("melody_pitch_duration_data:", "melody:")
    broken = tmp_path / "broken.jsonl"
    broken.write_text("\n".join(lines) + "\n")
    result = run("validate", str(broken))
    assert result.exit_code == 1
    assert f"{broken}:5: not_a_melody:" in result.output
    assert sum(str(broken) in line for line in result.output.splitlines()) == 1


def test_json_findings_have_file_line_code_message(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"messages": [{"role": "user", "content": "x"}]}\n\n')
    result = run("validate", "--json", str(bad))
    assert result.exit_code == 1
    records = [json.loads(line) for line in result.output.splitlines()]
    assert {(r["line"], r["code"]) for r in records} == {
        (1, "example_missing_assistant_message"), (2, "blank_line")}
    assert all(set(r) >= {"file", "line", "code", "message"} for r in records)


def test_missing_file_is_a_finding_not_a_traceback(tmp_path: Path) -> None:
    result = run("validate", str(tmp_path / "nope.jsonl"))
    assert result.exit_code == 1
    assert "no_such_file" in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_invalid_utf8_and_bom_and_crlf(tmp_path: Path, seeds_path: Path) -> None:
    good = seeds_path.read_text().splitlines()[0]
    f = tmp_path / "mixed.jsonl"
    f.write_bytes(b"\xef\xbb\xbf" + good.encode() + b"\r\n" + b"\xff\xfe garbage\r\n")
    result = run("validate", str(f))
    assert result.exit_code == 1
    assert f"{f}:2: invalid_utf8" in result.output
    assert f"{f}:1:" not in result.output


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.binary(max_size=200), min_size=1, max_size=8))
def test_garbage_never_produces_a_traceback(tmp_path: Path, chunks: list[bytes]) -> None:
    f = tmp_path / "garbage.jsonl"
    f.write_bytes(b"\n".join(chunks))
    for args in (["validate", str(f)], ["validate", "--json", str(f)]):
        result = run(*args)
        assert isinstance(result.exception, SystemExit), result.exception
        assert result.exit_code in (0, 1)
        assert "Traceback" not in result.output


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
                    lambda children: st.lists(children, max_size=4)
                    | st.dictionaries(st.sampled_from(["messages", "role", "content", "x"]), children,
                                      max_size=4), max_leaves=20))
def test_json_shaped_garbage_is_reported_per_line(tmp_path: Path, data: object) -> None:
    f = tmp_path / "shaped.jsonl"
    f.write_text(json.dumps({"messages": data}) + "\n" + json.dumps(data) + "\n")
    result = run("validate", str(f))
    assert isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == 1
    assert f"{f}:1:" in result.output and f"{f}:2:" in result.output
