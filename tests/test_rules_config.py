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
    ("time_scale", {"factors": "2, 1/0"}, "factor '1/0'"),
    ("transpose", {"min_semitones": -10**11, "max_semitones": 10**11}, "min_semitones"),
    ("transpose", {"min_semitones": 3, "max_semitones": 1}, "min_semitones <= max_semitones"),
    ("transpose", {"low_pitch": -50}, "low_pitch"),
    ("diatonic_shift", {"min_steps": -10**13, "max_steps": 10**13}, "-75..75"),
    ("sequence", {"max_repeats": 10**9}, "max_repeats"),
    ("sequence", {"max_motif_bars": 10**9}, "max_motif_bars"),
    ("ornament", {"min_duration_quarters": -1.0}, "min_duration_quarters must be > 0"),
    ("ornament", {"low_pitch": 80, "high_pitch": 60}, "low_pitch <= high_pitch"),
    ("invert", {"high_pitch": 500}, "low_pitch <= high_pitch <= 127"),
    ("sequence", {"low_pitch": -50}, "0 <= low_pitch"),
    ("diatonic_shift", {"low_pitch": 90, "high_pitch": 40}, "low_pitch <= high_pitch"),
    ("mode_change", {"high_pitch": 128}, "high_pitch <= 127"),
])
def test_bad_param_values_fail_at_load(rule: str, params: dict[str, object], words: str) -> None:
    msg = _error({"rule": [{"name": rule, "params": params}]})
    assert "my.toml" in msg and rule in msg and words in msg


@pytest.mark.parametrize(("data", "words"), [
    ({"checks": {"max_duration_quarter": float("inf")}}, "[checks] max_duration_quarter = inf"),
    ({"checks": {"key_tolerance": float("-inf")}}, "[checks] key_tolerance = -inf"),
    ({"checks": {"min_in_scale_rate": float("nan")}}, "[checks] min_in_scale_rate = nan"),
    ({"select": {"mmr_lambda": [float("nan")]}}, "[select] mmr_lambda[0] = nan"),
    ({"rule": [{"name": "transpose"}, {"name": "rhythm", "params": {"min_duration_quarters": float("nan")}}]},
     "[[rule]] #2 params.min_duration_quarters = nan"),
    ({"rule": [{"name": "ornament", "p": float("inf")}]}, "[[rule]] #1 p = inf"),
    ({"limits": {"max_line_bytes": 10**24}}, "[limits] max_line_bytes = " + str(10**24)),
    ({"expand": {"seed": -2**63 - 1}}, "must fit in 64 bits"),
])
def test_numbers_toml_takes_but_no_setting_can_use_fail_at_load(data: dict[str, object], words: str) -> None:
    """TOML writes inf and nan, and Python's reader takes integers of any size: each is an
    error naming its table and key (they crashed deep in a run, or at its manifest)."""
    msg = _error(data)
    assert msg.startswith("my.toml: ") and words in msg


@pytest.mark.parametrize(("data", "words"), [
    ({"split": {"holdout_keys": [1]}}, "[split] holdout_keys: 1 is not a string"),
    ({"split": {"holdout_rules": [["transpose"]]}}, "[split] holdout_rules: ['transpose'] is not a string"),
    ({"checks": {"skip": [7]}}, "[checks] skip names unknown check 7"),
    ({"rule": [{"name": 5}]}, "[[rule]] #1: 'name' must be a string"),
    ({"expand": {"attempts_per_variant": 10**12}}, "attempts_per_variant must be in 1-1000"),
    ({"dedup": {"calibrate": False, "shingle_size": 10**9}}, "shingle_size in 1-64"),
    ({"checks": {"min_in_scale_rate": 2.0}}, "[checks] min_in_scale_rate must be in [0, 1]"),
    ({"checks": {"max_leap_semitones": -1}}, "[checks] max_leap_semitones must be >= 0"),
    ({"checks": {"rhythm_grid_per_quarter": []}}, "[checks] rhythm_grid_per_quarter must hold positive"),
    ({"checks": {"min_duration_quarter": 2.0, "max_duration_quarter": 1.0}}, "min_duration_quarter <= max"),
    ({"checks": {"key_tolerance": -0.1}}, "[checks] key_tolerance must be >= 0"),
])
def test_values_of_the_wrong_kind_or_past_all_use_fail_at_load(data: dict[str, object], words: str) -> None:
    """A list item of the wrong type, and values so large that a run would only spin
    (a billion attempts a variant, a shingle of a billion notes), are errors at load."""
    msg = _error(data)
    assert msg.startswith("my.toml: ") and words in msg


def test_a_rules_file_may_start_with_a_bom(tmp_path: Path) -> None:
    """Some editors write a byte order mark; the seed files accept one, and so do rules files."""
    path = tmp_path / "r.toml"
    path.write_bytes(b"\xef\xbb\xbf" + (RULES_DIR / "default.toml").read_bytes())
    assert load_config(path).rules == load_config(RULES_DIR / "default.toml").rules
