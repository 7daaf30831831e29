from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from augment.cli import cli
from augment.config import load_config
from augment.errors import AugmentError
from augment.rules import registry


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args))


def test_rules_lists_every_rule_with_params() -> None:
    result = invoke("rules", "--json")
    assert result.exit_code == 0
    listed = {e["name"]: e for e in json.loads(result.output)}
    assert set(listed) == set(registry())
    transpose = listed["transpose"]
    assert transpose["params"]["min_semitones"] == -6
    assert transpose["doc"] and "key" in transpose["changes"]
    text = invoke("rules")
    assert "transpose:" in text.output and "min_semitones = -6" in text.output


@pytest.mark.parametrize(
    "toml, expected",
    [
        ("[[rule]]\nname = \"transpos\"\n",
         "[[rule]] #1: unknown rule 'transpos' (did you mean 'transpose'?)"),
        ("[[rule]]\nname = \"transpose\"\nparams = { max_semitone = 3 }\n",
         "[[rule]] #1 (transpose) params: unknown parameter 'max_semitone' (did you mean 'max_semitones'?)"),
        ("[[rule]]\nname = \"transpose\"\nparams = { max_semitones = \"3\" }\n",
         "parameter 'max_semitones' must be int"),
        ("[[rule]]\nname = \"transpose\"\np = 2\n", "p must be a number in [0, 1]"),
        ("[chekcs]\n", "unknown table [chekcs] (did you mean 'checks'?)"),
        ("[checks]\nmin_pich = 3\n", "[checks]: unknown parameter 'min_pich' (did you mean 'min_pitch'?)"),
        ("[format]\nduration_unit = \"half\"\n", "duration_unit must be"),
        ("[split]\ntest = 0.6\nvalidation = 0.6\n", "sum below 1"),
        ("not toml = = 1", "invalid TOML"),
    ],
)
def test_config_errors_name_file_place_and_parameter(tmp_path: Path, toml: str, expected: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(toml)
    with pytest.raises(AugmentError) as info:
        load_config(path)
    assert str(path) in str(info.value)
    assert expected in str(info.value)
    result = invoke("expand", "seeds/beethoven.jsonl", "--rules", str(path), "--out", str(tmp_path / "o"))
    assert result.exit_code == 2
    assert result.output.startswith("error: ") and "Traceback" not in result.output
    assert not (tmp_path / "o").exists()


def test_every_shipped_rules_file_loads(root: Path) -> None:
    files = sorted((root / "rules").glob("*.toml"))
    assert files and files[0].parent.name == "rules"
    for path in files:
        config = load_config(path)
        assert config.rules, path


def test_every_command_help_has_an_example() -> None:
    for name, command in cli.commands.items():
        result = invoke(name, "--help")
        assert result.exit_code == 0
        assert "Example" in result.output, name
        del command


def test_python_dash_m_works(root: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "augment", "--help"], capture_output=True, text=True,
                          cwd=root, check=False)
    assert done.returncode == 0
    assert "expand" in done.stdout
