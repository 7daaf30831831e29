"""The batch checks (``checks_batch``) give exactly the Python checks' reasons.

``run_checks_batch`` lets one compiled loop vouch for the examples that pass and sends the
rest through ``checks.run_checks``. These tests compare it with ``run_checks`` on real
music (corpus seeds and the variants ``rules/wide.toml`` draws from them, re-prompted as
the pipeline does), on random melodies, keys, prompts and thresholds, and at the edges
the loop must leave to the Python checks; and they show the loop does vouch for nearly
every passing example (else the batch would be correct but no faster).
"""

from __future__ import annotations

import sys
from dataclasses import replace
from fractions import Fraction
from functools import cache
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from augment import checks, checks_batch
from augment.checks import key_gap, run_checks
from augment.checks_batch import KEY_MARGIN, run_checks_batch, surely_passing
from augment.config import ChecksConfig
from augment.example import Example, Message
from augment.melody import Melody, scale_durations
from augment.theory import Key
from dataset_util import reprompted_variants

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def every_batch_compiled(monkeypatch: pytest.MonkeyPatch) -> None:
    """Send even the small batches of these tests through the compiled loop."""
    monkeypatch.setattr(checks_batch, "MIN_BATCH", 0)

CONFIGS = [
    ChecksConfig(),
    ChecksConfig(min_pitch=55, max_pitch=84, max_span_semitones=19, max_leap_semitones=9,
                 key_tolerance=0.05, allow_relative_key=False, cadence_tonic_only=True,
                 min_in_scale_rate=0.9, max_repeated_notes=2, max_unrecovered_leaps=0, leap_semitones=4),
    ChecksConfig(rhythm_grid_per_quarter=(4,), min_duration_quarter=0.25, max_duration_quarter=2.0,
                 min_notes=12, max_notes=40),
    ChecksConfig(skip=("key_agreement", "cadence", "in_scale")),
    ChecksConfig(skip=tuple(checks.CHECKS)),
]


@cache
def prompted() -> tuple[Example, ...]:
    """Corpus seeds and the variants wide.toml draws from them, re-prompted (pipeline order)."""
    return tuple(reprompted_variants(60, 7, 30))


@pytest.mark.parametrize("config", CONFIGS)
def test_real_variants_get_the_python_checks_reasons(config: ChecksConfig) -> None:
    examples = list(prompted())
    expected = [run_checks(e, config) for e in examples]
    assert run_checks_batch(examples, config) == expected
    # both sides are met: examples that pass and examples that fail
    assert any(expected) and not all(expected) or config.skip == tuple(checks.CHECKS)


def test_the_loop_vouches_only_for_passing_examples_and_for_nearly_all_of_them() -> None:
    examples = list(prompted())
    for config in CONFIGS:
        sure = surely_passing(examples, config)
        # the loop leaves the prompt's claims to the Python check: judge it without them
        without_claims = replace(config, skip=(*config.skip, "claims"))
        passing = np.array([not run_checks(e, without_claims) for e in examples])
        assert not (sure & ~passing).any()
        assert sure.sum() >= 0.97 * passing.sum()
        assert passing.any()
    assert len(examples) > 1000


def test_melodies_off_the_tick_grid_and_without_notes_go_to_the_python_checks() -> None:
    examples = list(prompted())[:200]
    odd = [replace(e, melody=scale_durations(e.melody, Fraction(4, 5))) for e in examples[::10]]
    odd = [e for e in odd if not e.melody.is_on_grid()]
    silent = replace(examples[0], melody=Melody.from_pairs([(None, 1), (None, 2)]))
    batch = examples + odd + [silent]
    assert odd
    assert not surely_passing(odd + [silent], ChecksConfig()).any()
    assert run_checks_batch(batch, ChecksConfig()) == [run_checks(e, ChecksConfig()) for e in batch]


def test_a_key_gap_at_the_tolerance_is_left_to_the_exact_check() -> None:
    melody = Melody.from_pairs([(60, 1), (62, 1), (64, 1), (65, 1), (67, 1), (69, 1), (71, 1), (72, 2)])
    e = example(melody, "A melody in F major.", None)  # no key of its own: only the prompt's
    measured = key_gap(e)
    assert measured is not None and measured[0] > 0
    gap = measured[0]
    for tolerance in (gap, gap + KEY_MARGIN / 2, np.nextafter(gap, 0)):
        config = ChecksConfig(key_tolerance=float(tolerance), allow_relative_key=False)
        assert not surely_passing([e], config).any()
        assert run_checks_batch([e], config) == [run_checks(e, config)]
    assert run_checks_batch([e], ChecksConfig(key_tolerance=gap, allow_relative_key=False)) == [[]]
    assert surely_passing([e], ChecksConfig(key_tolerance=gap + 1e-6, allow_relative_key=False)).all()


def test_a_changed_check_registry_sends_everything_to_the_python_checks(
        monkeypatch: pytest.MonkeyPatch) -> None:
    examples = list(prompted())[:100]
    monkeypatch.setitem(checks.CHECKS, "cadence", lambda e, c: "cadence: always")
    result = run_checks_batch(examples, ChecksConfig())
    assert result == [run_checks(e, ChecksConfig()) for e in examples]
    assert all("cadence: always" in r for r in result)


def example(melody: Melody, prompt: str, key: Key | None) -> Example:
    messages = (Message("user", prompt), Message("assistant", "melody_pitch_duration_data: []"))
    return replace(Example.seed(messages, melody, 1, "test"), key=key)


MODES = ("major", "minor", "dorian", "phrygian", "lydian", "mixolydian", "locrian")
PROMPTS = ("Write a melody.", "A melody in {k}.", "A melody in {k} in 3/4, 4 bars long.",
           "Compose 8 bars in 6/8 in {k}.", "A tune of 12 notes in {k}.", "A melody in three, in {k}.")
DURATIONS = (Fraction(1, 8), Fraction(1, 6), Fraction(1, 4), Fraction(1, 3), Fraction(1, 2),
             Fraction(3, 4), Fraction(1), Fraction(3, 2), Fraction(2), Fraction(4), Fraction(1, 16),
             Fraction(5, 12), Fraction(24))
events = st.lists(st.tuples(st.one_of(st.none(), st.integers(30, 100)), st.sampled_from(DURATIONS)),
                  min_size=1, max_size=40)
keys = st.one_of(st.none(), st.builds(Key, st.integers(0, 11), st.sampled_from(MODES)))
configs = st.builds(
    ChecksConfig, min_pitch=st.integers(30, 60), max_pitch=st.integers(70, 100),
    max_span_semitones=st.integers(5, 40), min_notes=st.integers(0, 10), max_notes=st.integers(10, 50),
    min_in_scale_rate=st.sampled_from([0.0, 0.5, 0.7, 1.0]),
    key_tolerance=st.sampled_from([0.0, 0.1, 0.45, 2.0]), allow_relative_key=st.booleans(),
    max_leap_semitones=st.integers(2, 20), leap_semitones=st.integers(2, 12),
    max_unrecovered_leaps=st.integers(0, 3), max_repeated_notes=st.integers(1, 6),
    rhythm_grid_per_quarter=st.sampled_from([(8, 6), (4,), (16, 12, 5)]),
    min_duration_quarter=st.sampled_from([0.0625, 0.125, 0.5]),
    max_duration_quarter=st.sampled_from([2.0, 16.0]), cadence_tonic_only=st.booleans(),
    skip=st.lists(st.sampled_from(sorted(checks.CHECKS)), max_size=3).map(tuple))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(events, keys, st.sampled_from(PROMPTS), keys), min_size=1, max_size=8), configs)
def test_random_melodies_keys_prompts_and_thresholds(cases: list, config: ChecksConfig) -> None:
    examples = []
    for pairs, key, prompt, stated in cases:
        text = prompt.format(k=(stated or Key(0, "major")).name)
        examples.append(example(Melody.from_pairs(pairs), text, key))
    assert run_checks_batch(examples, config) == [run_checks(e, config) for e in examples]


def test_the_loop_doubts_every_failing_check_and_little_else() -> None:
    from augment.checks_batch import _KNOWN, ALL, doubts

    examples = list(prompted())
    for config in CONFIGS:
        doubt = doubts(examples, config).tolist()
        exact = 0
        for e, mask in zip(examples, doubt, strict=True):
            failing = {name for name, _ in checks.failing_checks(e, config)} - {"claims"}
            flagged = {name for bit, name in enumerate(_KNOWN) if mask >> bit & 1}
            assert mask == ALL or failing <= flagged
            assert mask == ALL or not flagged & set(config.skip)
            exact += flagged == failing
        assert exact >= 0.97 * len(examples)


def test_small_batches_are_checked_the_python_way_until_numba_is_loaded(
        monkeypatch: pytest.MonkeyPatch) -> None:
    def no_loop() -> None:
        raise AssertionError("the compiled loop was used")

    monkeypatch.setattr(checks_batch, "MIN_BATCH", 64)
    monkeypatch.setattr(checks_batch, "_compiled", no_loop)
    monkeypatch.delitem(sys.modules, "numba", raising=False)  # as in a process that has not loaded it
    examples = list(prompted())[:63]
    assert run_checks_batch(examples, ChecksConfig()) == [run_checks(e, ChecksConfig()) for e in examples]
    with pytest.raises(AssertionError, match="compiled loop"):
        run_checks_batch(list(prompted())[:64], ChecksConfig())
    monkeypatch.setitem(sys.modules, "numba", __import__("types").ModuleType("numba"))  # loaded already
    with pytest.raises(AssertionError, match="compiled loop"):
        run_checks_batch(examples[:5], ChecksConfig())
