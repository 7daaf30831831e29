"""The README is for users: it must document every command, rule and check, and its Quick
start must be the two commands CI runs."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from augment.checks import CHECKS
from augment.cli import cli
from augment.rules import BUILTIN_RULES

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()


def headings(level: str) -> set[str]:
    return {h.strip() for h in re.findall(rf"^{level} (.+)$", README, flags=re.M)}


def test_every_command_has_a_section_with_an_example() -> None:
    for name in cli.commands:
        assert f"augment {name}" in headings("###"), name
        section = README.split(f"### augment {name}", 1)[1].split("\n## ", 1)[0]
        assert f"augment {name} " in section, f"no example for {name}"


def test_every_rule_and_check_is_documented() -> None:
    documented = headings("###")
    for name in BUILTIN_RULES:
        assert name in documented, f"rule {name} has no README section"
    for name in CHECKS:
        assert name in documented, f"check {name} has no README section"


def test_quick_start_is_two_commands_and_ci_runs_them() -> None:
    script = (
        "awk '/^## Quick start/{q=1} q&&/^```sh/{f=1;next} f&&/^```/{exit} f{print}' README.md"
    )
    extracted = subprocess.run(["bash", "-c", script], cwd=ROOT, capture_output=True, text=True,
                               check=True).stdout.splitlines()
    assert len(extracted) == 2
    assert "augment expand seeds/beethoven.jsonl" in extracted[0] and "--out out/" in extracted[0]
    assert "pip install '.[test,ray]'" in extracted[1] and extracted[1].endswith("python -m pytest")
    ci = (ROOT / ".ci" / "run").read_text()
    assert script.split(" README.md")[0].replace("awk ", "") in ci
