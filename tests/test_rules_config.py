"""Rules files: the shipped ones load; mistakes fail at load time naming file, rule, param."""

from __future__ import annotations

from pathlib import Path

import pytest

from augment.config import load_config, parse_config
from augment.errors import AugmentError
from augment.rules import BUILTIN_RULES

RULES_DIR = Path(__file__).resolve().parents[1] / "rules"


def test_shipped_rules_files_load() -> None:
    wide = load_config(RULES_DIR / "wide.toml")
    assert {s.rule.name for s in wide.rules} == set(BUILTIN_RULES)
    conservative = load_config(RULES_DIR / "conservative.toml")
    assert [s.rule.name for s in conservative.rules] == ["transpose"]
    default = load_config(RULES_DIR / "default.toml")
    assert conservative.checks.max_leap_semitones < default.checks.max_leap_semitones
    assert conservative.checks.max_pitch - conservative.checks.min_pitch < \
        default.checks.max_pitch - default.checks.min_pitch


@pytest.mark.parametrize("name", sorted(RULES_DIR.glob("*.toml")), ids=lambda p: p.name)
def test_every_rules_file_is_documented_at_its_top(name: Path) -> None:
    first = name.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith(f"# {name.name}:")


def _error(data: dict[str, object]) -> str:
    with pytest.raises(AugmentError) as info:
        parse_config(data, "my.toml")
    return str(info.value)


def test_unknown_rule_names_position_and_suggests() -> None:
    msg = _error({"rule": [{"name": "transpose"}, {"name": "retrogade"}]})
    assert "my.toml" in msg and "#2" in msg and "'retrograde'" in msg


def test_unknown_param_names_rule_and_suggests() -> None:
    msg = _error({"rule": [{"name": "time_scale", "params": {"factor": "2"}}]})
    assert "#1" in msg and "time_scale" in msg and "'factor'" in msg and "'factors'" in msg


def test_wrong_type_names_the_param() -> None:
    msg = _error({"rule": [{"name": "diatonic_shift", "params": {"max_steps": "3"}}]})
    assert "diatonic_shift" in msg and "'max_steps'" in msg and "int" in msg


@pytest.mark.parametrize(("rule", "params", "words"), [
    ("time_scale", {"factors": "2, 0"}, "factor '0'"),
    ("time_scale", {"factors": "twice"}, "'twice'"),
    ("rhythm", {"operations": "split,swing"}, "operations"),
    ("rhythm", {"meter": "4:4"}, "meter"),
    ("invert", {"kinds": "upside-down"}, "kinds"),
    ("invert", {"axis": "middle"}, "axis"),
    ("sequence", {"step_choices": "0"}, "step_choices"),
    ("diatonic_shift", {"chromatic_notes": "bend"}, "chromatic_notes"),
    ("ornament", {"kinds": "trill"}, "kinds"),
    ("fragment", {"min_bars": 0}, "min_bars"),
])
def test_bad_param_values_fail_at_load(rule: str, params: dict[str, object], words: str) -> None:
    msg = _error({"rule": [{"name": rule, "params": params}]})
    assert "my.toml" in msg and rule in msg and words in msg
