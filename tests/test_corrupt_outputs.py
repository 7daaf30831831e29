"""Commands that read an expand output directory (export, report, replay) report a corrupt
lineage, rejected or manifest file as one line naming file and line, never a traceback."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from augment.cli import cli
from conftest import DEFAULT_RULES, SEEDS


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("corrupt") / "out"
    result = CliRunner().invoke(cli, ["expand", str(SEEDS), "--rules", str(DEFAULT_RULES), "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out


def commands(out: Path, tmp: Path) -> list[list[str]]:
    return [["export", "trl-dpo", str(out / "train.jsonl"), "-o", str(tmp / "dpo.jsonl")],
            ["export", "openai", str(out / "train.jsonl"), "-o", str(tmp / "o.jsonl")],
            ["report", str(out)],
            ["replay", str(out), "--seeds", str(SEEDS)]]


@pytest.mark.parametrize("name, garbage, where", [
    ("lineage.jsonl", "{not json\n", "lineage.jsonl:1:"),
    ("lineage.jsonl", "[1, 2]\n", "lineage.jsonl:1:"),
    ("rejected.jsonl", '{"reasons": []}\n', "rejected.jsonl:1:"),
    ("manifest.json", "{oops", "manifest.json"),
])
def test_corrupt_files_give_one_line_errors(run_dir: Path, tmp_path: Path, name: str, garbage: str,
                                            where: str) -> None:
    out = tmp_path / "out"
    shutil.copytree(run_dir, out)
    (out / name).write_text(garbage)
    failures = 0
    for args in commands(out, tmp_path):
        result = CliRunner().invoke(cli, args)
        assert result.exception is None or isinstance(result.exception, SystemExit), (args, result.exception)
        if result.exit_code != 0:
            assert result.output.startswith("error: "), (args, result.output)
            assert where in result.output.splitlines()[0], (args, result.output)
            failures += 1
    assert failures >= 1
