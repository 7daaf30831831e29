"""The per-seed stage's shortcuts equal the plain definitions they replace, on real melodies.

The per-seed stage (rules, re-prompting, checks; ``pipeline.expand_seed``) runs for every
variant drawn, so some of its functions take a shorter road than their definition: a
memo of a step's JSON text, tables instead of per-note arithmetic, one-row key
correlations. Each test here writes the definition out plainly and compares it with the
shortcut on the corpus melodies of tests/data (Bach chorale sopranos, Essen folk songs)
and on the variants ``wide.toml`` draws from them, answers, floats and texts alike.
"""

from __future__ import annotations

import hashlib
import json
import pickle
import re
from collections import Counter
from dataclasses import replace
from fractions import Fraction
from functools import cache
from pathlib import Path
from typing import cast
from unittest.mock import patch

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from augment import checks, codec, facts, prompt_scan, reprompt
from augment import example as example_module
from augment import prompt as prompt_module
from augment.checks import (
    check_largest_leap,
    check_rhythm_grid,
    key_gap,
    longest_repeat_run,
    unrecovered_leaps,
)
from augment.codec import FormatConfig, example_to_line, format_duration, format_melody
from augment.config import ChecksConfig, load_config
from augment.example import Example, Message, Step, _digest, seed_id_for, variant_id_for
from augment.melody import (
    GRID_QUARTER,
    Melody,
    exact_ticks,
    invert,
    retrograde,
    scale_durations,
    transposition_range,
)
from augment.melody import transpose as transpose_melody
from augment.near import invariant_key, melody_tokens
from augment.pipeline import draw_variants
from augment.prompt import MODE_ONLY, parse_claims, stated_key
from augment.prompt_rewrite import RewriteError, rewrite_claims
from augment.prompt_template import render_template, template_facts, template_fields
from augment.prompt_words import (
    CHURCH_MODES,
    METER_NAMES,
    MODE_EQUIVALENT,
    TEMPO_MARKS,
    TEMPO_PREFIXES,
    TEMPO_SUFFIXES,
    TEMPO_WORDS,
)
from augment.reprompt import RepromptConfig, seed_facts
from augment.rules import ornament, rhythm
from augment.rules.diatonic import (
    bar_cuts,
    bar_quarters,
    bar_ticks,
    choice_list,
    from_step,
    in_key,
    key_params,
    meter_of,
    onset_ticks,
    shift_pitch,
    to_step,
)
from augment.rules.diatonic_shift import DiatonicShift
from augment.rules.fragment import Fragment
from augment.rules.invert import Invert, diatonic_mirror, invert_diatonic
from augment.rules.mode_change import ModeChange, change_mode
from augment.rules.ornament import KINDS, Ornament
from augment.rules.retrograde import RetrogradeInversion
from augment.rules.rhythm import OPERATIONS, Rhythm
from augment.rules.sequence import Sequence
from augment.rules.time_scale import TimeScale, parse_factors
from augment.rules.transpose import Transpose
from augment.theory import (
    _TONIC,
    _TRIAD,
    NO_CADENCE,
    CadenceWeights,
    Key,
    KeyEstimate,
    detect_key,
    key_correlation_row,
    key_correlations,
    key_of_index,
    rank_keys,
)
from dataset_util import corpus, line_by_json_dumps, seeds_from_corpus

ROOT = Path(__file__).resolve().parent.parent


@cache
def variants() -> tuple[Example, ...]:
    """The variants ``rules/wide.toml`` draws from 80 corpus seeds (12 per seed)."""
    config = load_config(ROOT / "rules" / "wide.toml")
    config = replace(config, expand=replace(config.expand, variants_per_seed=12))
    out: list[Example] = []
    for seed in seeds_from_corpus(80, step=6):
        out.extend(draw_variants(seed_facts(seed), config, 0, Counter()))
    return tuple(out)


def test_the_variants_cover_every_rule_and_the_corpus_has_rests() -> None:
    rules = {step.rule for v in variants() for step in v.steps}
    assert rules >= {"transpose", "invert", "rhythm", "ornament", "mode_change", "time_scale",
                     "fragment", "sequence", "diatonic_shift", "retrograde", "retrograde_inversion"}
    assert any(None in m.pitches for _, m in corpus())


def test_variant_ids_equal_the_json_of_the_steps() -> None:
    def plain(seed_id: str, steps: tuple[Step, ...]) -> str:
        canonical = json.dumps([s.as_dict() for s in steps], sort_keys=True, default=str)
        return "v" + _digest(seed_id, canonical)[:15]

    for v in variants():
        # fresh steps (no memo yet), the variant's own (memo filled by derive), and every prefix
        fresh = tuple(Step(s.rule, s.params) for s in v.steps)
        assert variant_id_for(v.seed_id, fresh) == plain(v.seed_id, fresh) == v.id
        for n in range(len(v.steps) + 1):
            assert variant_id_for(v.seed_id, v.steps[:n]) == plain(v.seed_id, v.steps[:n])
    odd = (Step("time_scale", (("factor", Fraction(3, 2)),)),
           Step.of("x", {"é": "ü", "f": 0.1, "n": None, "b": True}),
           Step("y", (("z", -3), ("a", 'q"\\\n\x00é♭'), ("m", 10**30), ("a", 1))),  # unsorted, key twice
           Step("y", ((1, 2),)), Step("y", (("k", False),)), Step("y", (("k", [1, "a"]),)), Step("y", ()))
    for step in odd:
        assert variant_id_for("s1", (step,)) == plain("s1", (step,))
    assert variant_id_for("s1", odd) == plain("s1", odd)


_SEED_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=40)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["system", "user", "assistant", "tool", 'q"\\é']),
                          st.one_of(st.none(), _SEED_TEXT),
                          st.sampled_from([(), (("weight", 0),), (("name", "é"), ("weight", 1))])),
                max_size=4))
def test_seed_ids_equal_the_json_of_the_messages(parts: list[tuple[str, str | None, tuple]]) -> None:
    """A seed's id (``seed_id_for``, written out for plain messages) is the digest of
    ``json.dumps([[role, content, extra], ...], sort_keys=True, ensure_ascii=False)``, for
    any texts (quotes, backslashes, control and non-ASCII characters), no content, extra
    fields."""
    messages = tuple(Message(role, content, extra) for role, content, extra in parts)
    canonical = json.dumps([[m.role, m.content, [list(x) for x in m.extra]] for m in messages],
                           sort_keys=True, ensure_ascii=False, default=str)
    assert seed_id_for(messages) == "s" + _digest(canonical)[:12]


def test_plain_lines_read_as_the_full_checks_read_them() -> None:
    """A line of plain messages (``codec._plain_messages``: no walk for its depth, no check of
    each message) gives the example and findings the full reading gives, for the corpus
    seeds' lines; a line with one message not plain, or another key, still goes the full way."""
    fmt = FormatConfig()
    texts = [example_to_line(e) for e in seeds_from_corpus(80, step=6)]
    texts += [texts[0].replace('"role": "user"', '"role": "user", "weight": 0'),
              texts[1][:-1] + ', "note": 1}', texts[2].replace('"content": "', '"content": "é\\"', 1)]
    for number, text in enumerate(texts, start=1):
        got = codec.parse_line(text, fmt, "f", number)
        with patch.object(codec, "_plain_messages", lambda data: None), \
                patch.object(codec, "_plain_message", lambda raw: None):
            full = codec.parse_line(text, fmt, "f", number)
        assert got[0] == full[0] and got[1] == full[1], text
        assert got[0] is not None
    assert codec._plain_messages(json.loads(texts[0])) is not None
    assert codec._plain_messages(json.loads(texts[-3])) is None  # (a weight: not plain)
    assert codec._plain_messages(json.loads(texts[-2])) is None  # (a key beside messages)


def test_the_step_memo_is_not_part_of_the_value() -> None:
    step = Step.of("transpose", {"semitones": 3})
    other = Step.of("transpose", {"semitones": 3})
    step.json_text()
    assert step == other and hash(step) == hash(other) and repr(step) == repr(other)
    assert pickle.loads(pickle.dumps(step)) == step
    assert Step.of("transpose", {"semitones": 3.0}).json_text() != step.json_text()
    # A step travels with its texts once made (a run's main process writes the records of
    # the variants it drops from them); one whose texts were never made, without.
    for made in (Step("t", (("k", 1), ("s", "é"))), Step("t", (("k", Fraction(1, 3)),)), Step("t", ())):
        made.dumps_text()
        made.json_text()
        back = pickle.loads(pickle.dumps(made))
        assert back == made and back._json == made.json_text() and back._plain is made._plain
        assert back.json_text() == json.dumps(made.as_dict(), sort_keys=True, default=str,
                                              ensure_ascii=True)
    fresh = pickle.loads(pickle.dumps(Step("t", (("k", 2),))))
    assert fresh._json is None and fresh._plain is None
    assert fresh.json_text() == '{"params": {"k": 2}, "rule": "t"}'


def test_shared_steps_equal_fresh_steps_and_write_their_own_params() -> None:
    def plain(step: Step) -> str:
        return json.dumps(step.as_dict(), sort_keys=True, default=str)

    shared = 0
    for v in variants():
        for s in v.steps:
            step = Step.of(s.rule, dict(s.params))
            assert step == Step(s.rule, s.params) and step.json_text() == plain(Step(s.rule, s.params))
            shared += step is Step.of(s.rule, dict(s.params))
    assert shared == sum(len(v.steps) for v in variants())
    # Values that are equal but written differently are never one step, in either order.
    for values in ((1, True, 1.0, "1", Fraction(1)), ("1", 1.0, True, 1), (0, False, -0.0, 0.0)):
        steps = [Step.of("x", {"a": value, "b": 2}) for value in values]
        assert [s.json_text() for s in steps] == [plain(Step("x", (("a", v), ("b", 2)))) for v in values]
        assert [type(dict(s.params)["a"]) for s in steps] == [type(v) for v in values]


def test_the_shared_steps_are_bounded_and_keep_sharing_once_full(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(example_module, "_STEPS", {})
    monkeypatch.setattr(example_module, "_MAX_STEPS", 3)
    steps = [Step.of("transpose", {"semitones": k}) for k in range(6)]
    assert len(example_module._STEPS) == 3  # the fourth step emptied the full table
    # The steps met since the table was last emptied are still shared (a later seed's draws
    # take their steps again and again); the older ones are made anew, equal.
    assert [Step.of("transpose", {"semitones": k}) is steps[k] for k in (3, 4, 5)] == [True] * 3
    again = Step.of("transpose", {"semitones": 0})
    assert again is not steps[0] and again == steps[0] and len(example_module._STEPS) == 1
    assert Step.of("transpose", {"semitones": 0}) is again
    assert [s.json_text() for s in steps] == [f'{{"params": {{"semitones": {k}}}, "rule": "transpose"}}'
                                              for k in range(6)]


def test_melody_text_equals_the_note_by_note_definition() -> None:
    def plain(melody: Melody, fmt: FormatConfig) -> str:
        rest = "0" if fmt.rest == 0 else "null"
        notes = [f"[{rest if p is None else p}, {format_duration(d, fmt)}]" for p, d in melody.pairs()]
        return f"melody_pitch_duration_data: [{', '.join(notes)}]"

    melodies = [m for _, m in corpus()] + [v.melody for v in variants()]
    melodies.append(Melody([60, None, 61], [Fraction(1, 5), Fraction(3, 10), 100]))  # off grid, long
    melodies = [Melody.from_ticks(m.pitches, m.ticks) for m in melodies]  # no text written yet
    formats = (FormatConfig(), FormatConfig("whole", "null"), FormatConfig("quarter", "null"))
    for fmt in formats:
        codec._PAIR_TEXT.clear()  # first the path that meets every pair, then the lookups
        for _ in range(2):  # the second time, the text remembered by each melody
            assert [format_melody(m, fmt) for m in melodies] == [plain(m, fmt) for m in melodies]
    for fmt in (*formats, FormatConfig("quarter", 0)):  # a text remembered in another format
        assert [format_melody(m, fmt) for m in melodies] == [plain(m, fmt) for m in melodies]
    copy = Melody.from_ticks(melodies[0].pitches, melodies[0].ticks)
    assert melodies[0] == copy and hash(melodies[0]) == hash(copy) and repr(melodies[0]) == repr(copy)


def test_template_reasons_and_stated_keys_equal_the_regex_definitions() -> None:
    def plain(prompt: str, example: Example, seed_mode: str | None) -> str | None:
        rules = frozenset(step.rule for step in example.steps)
        if reprompt.CITATION.search(prompt):
            return "it names a specific work"
        if rules & reprompt.CONTOUR_RULES and reprompt.CONTOUR_WORDS.search(prompt):
            return "it describes a contour the rules reversed"
        if rules & reprompt.DURATION_RULES and reprompt.NOTE_VALUE_WORDS.search(prompt):
            return "it describes note values the rules changed"
        new_mode = example.key.mode if example.key else None
        if seed_mode and new_mode != seed_mode and reprompt.MOOD_WORDS.search(prompt):
            return "it describes a mood that belonged to the other mode"
        return None

    prompts = ["Write a happy melody in C major with running eighths that rise.",
               "A sad tune like Für Elise, in A minor.", "Generate a melody in G major like bach/bwv1.6.",
               "Could you write a 3/4 tune in D dorian?", "Write a melody."]
    reasons = set()
    for v in variants():
        for prompt in prompts:
            for seed_mode in ("major", "minor", None):
                got = reprompt.needs_template(prompt, v, seed_mode)
                assert got == plain(prompt, v, seed_mode)
                reasons.add(got)
            assert stated_key(prompt) == parse_claims(prompt).key
    assert len(reasons) == 5  # every reason and None were met


def melodies_and_variants() -> list[Melody]:
    return [m for _, m in corpus()] + [v.melody for v in variants()]


def test_one_row_key_correlations_equal_the_batch_function() -> None:
    for melody in melodies_and_variants():
        hist = melody.pitch_class_histogram()
        for profile in ("aarden", "krumhansl"):
            batch = key_correlations(hist[None, :], profile)
            assert np.array_equal(key_correlation_row(hist, profile), batch)
    silent = np.zeros(12)
    assert np.array_equal(key_correlation_row(silent), key_correlations(silent[None, :]))


def test_one_melody_key_equals_the_definition_with_its_floats() -> None:
    def plain(melody: Melody, cadence: CadenceWeights) -> KeyEstimate | None:
        notes = melody.notes
        if not notes:
            return None
        corr = key_correlations(melody.pitch_class_histogram()[None, :])
        score = corr.copy()
        for pitch, w_tonic, w_triad in ((notes[0], cadence.first_tonic, cadence.first_triad),
                                        (notes[-1], cadence.last_tonic, cadence.last_triad)):
            pc = pitch % 12
            score[0] += w_tonic * _TONIC.T[pc] + w_triad * _TRIAD.T[pc]
        best, runner_up = rank_keys(score)[0, :2].tolist()
        return KeyEstimate(key_of_index(best), float(corr[0, best]),
                           float(score[0, best] - score[0, runner_up]), key_of_index(runner_up))

    for melody in melodies_and_variants():
        for cadence in (CadenceWeights(), NO_CADENCE, CadenceWeights(0.3, 0.1, 0.05, 0.01)):
            assert detect_key(melody, cadence=cadence) == plain(melody, cadence)


def test_key_gap_equals_the_definition() -> None:
    seen = set()
    for v in variants():
        for tonic, mode in ((0, "major"), (9, "minor"), (v.key.tonic if v.key else 2, "major")):
            example = v.with_content(0, f"Write a melody in {Key(tonic, mode).name}.")
            corr = key_correlations(example.melody.pitch_class_histogram()[None, :])[0]
            best = int(np.argmax(corr))
            claimed = tonic + (0 if mode == "major" else 12)
            expected = (float(corr[best] - corr[claimed]), Key(tonic, mode), key_of_index(best))
            assert key_gap(example) == expected
            seen.add(expected[0] == 0)
    assert seen == {True, False}


def with_off_grid() -> list[Melody]:
    """Corpus melodies and variants, plus some scaled off the tick grid (quintuplets)."""
    plain = melodies_and_variants()
    return plain + [scale_durations(m, Fraction(4, 5)) for m in plain[::25]]


def test_the_off_grid_melodies_are_off_the_grid() -> None:
    melodies = with_off_grid()
    assert any(not m.is_on_grid() for m in melodies) and any(m.is_on_grid() for m in melodies)
    for m in melodies:
        assert m.is_on_grid() == all(type(t) is int for t in m.ticks)


def test_onsets_equal_the_running_sum() -> None:
    for melody in with_off_grid():
        out: list[object] = [0]
        now: object = 0
        for t in melody.ticks:
            now = exact_ticks(now + t)  # type: ignore[operator]
            out.append(now)
        got = onset_ticks(melody)
        assert got == out and [type(x) for x in got] == [type(x) for x in out]


def ornament_options_by_definition(melody: Melody, key: Key, least: int, kinds: tuple[str, ...],
                                   low_pitch: int, high_pitch: int) -> list[dict[str, object]]:
    p, d = melody.pitches, melody.ticks
    out: list[dict[str, object]] = []
    for i, pitch in enumerate(p):
        if pitch is None:
            continue
        t = d[i]
        nxt = p[i + 1] if i + 1 < len(p) else None
        if "passing" in kinds and nxt is not None and abs(nxt - pitch) in (3, 4) \
                and t % 2 == 0 and t // 2 >= least:
            between = [x for x in range(min(pitch, nxt) + 1, max(pitch, nxt)) if in_key(x, key)]
            if len(between) == 1:
                out.append({"kind": "passing", "index": i, "pitch": between[0]})
        if "neighbour" in kinds and in_key(pitch, key) and t % 4 == 0 and t // 4 >= least:
            step, _ = to_step(pitch, key)
            for pitch_ in (from_step(step + 1, 0, key), from_step(step - 1, 0, key)):
                if low_pitch <= pitch_ <= high_pitch:
                    out.append({"kind": "neighbour", "index": i, "pitch": pitch_})
    return out


def test_ornament_options_equal_the_note_by_note_definition() -> None:
    found = 0
    for n, melody in enumerate(with_off_grid()):
        for key in (Key(n % 12, "major"), Key((n * 5) % 12, "minor")):
            for least, kinds in ((12, ("passing", "neighbour")), (6, ("neighbour",)), (24, ("passing",))):
                got = ornament._options(melody, key, least, kinds, 50, 80)
                assert got == ornament_options_by_definition(melody, key, least, kinds, 50, 80)
                found += len(got)
                # Remembered by value: an equal melody (another object) and an equal key get
                # the same options again, as a tuple nobody can change.
                again = ornament._option_tuples(Melody.from_ticks(melody.pitches, melody.ticks),
                                                Key(key.tonic, key.mode), least, kinds, 50, 80)
                assert isinstance(again, tuple) and [ornament._params(o) for o in again] == got
                # What a draw takes from: the same options by kind, kinds sorted by name.
                groups = ornament._drawable(melody, key, least, kinds, 50, 80)
                by_kind = [[ornament._params(o) for o in group] for group in groups]
                assert by_kind == [g for g in ([o for o in got if o["kind"] == kind]
                                               for kind in sorted(ornament.KINDS)) if g]
    assert found > 10_000 and ornament._option_tuples.cache_info().hits > 1_000


def rhythm_options_by_definition(melody: Melody, bar_t: int, least: int, operations: tuple[str, ...]
                                 ) -> list[dict[str, object]]:
    times = onset_ticks(melody)
    p, d, n = melody.pitches, melody.ticks, len(melody)
    out: list[dict[str, object]] = []
    for i in range(n):
        t = d[i]
        if "split" in operations and p[i] is not None:
            for parts in (2, 3):
                if t % parts == 0 and t // parts >= least:
                    out.append({"op": "split", "index": i, "parts": parts})
        if i + 1 >= n or not rhythm._same_bar(times[i], times[i + 2], bar_t):
            continue
        if "merge" in operations and p[i] is not None and p[i] == p[i + 1]:
            out.append({"op": "merge", "index": i})
        if t == d[i + 1] and t % 2 == 0 and t // 2 >= least:
            if "dot" in operations:
                out.append({"op": "dot", "index": i})
            if "syncopate" in operations:
                out.append({"op": "syncopate", "index": i})
    return out


def test_rhythm_options_equal_the_note_by_note_definition() -> None:
    ops = {"split", "merge", "dot", "syncopate"}
    found: set[object] = set()
    for melody in with_off_grid():
        for bar_t, least in ((192, 12), (144, 12), (120, 6), (96, 24)):
            for operations in (("split", "merge", "dot", "syncopate"), ("merge", "dot")):
                got = rhythm._options(melody, bar_t, least, operations)
                assert got == rhythm_options_by_definition(melody, bar_t, least, operations)
                found.update(o["op"] for o in got)
    assert found == ops


def test_rhythm_options_remembered_by_shape_equal_each_melodys_own() -> None:
    """Copies of a melody with other pitches but the same rests and repeated notes share the
    remembered options; any other change of rests or repeats gets its own."""
    rhythm._shape_options.cache_clear()
    rule = Rhythm()
    for n, (_, melody) in enumerate(corpus()[::15]):
        p = melody.pitches
        family = [melody, transpose_melody(melody, 5), invert(melody, 62),
                  change_mode(melody, Key(n % 12, "major")),
                  Melody.from_ticks(tuple(None if x is None else 60 for x in p), melody.ticks),  # all repeats
                  Melody.from_ticks(tuple(None if i % 5 == 2 else x for i, x in enumerate(p)), melody.ticks)]
        for m in family:
            for bar_t, least in ((192, 12), (144, 6)):
                assert rhythm._options(m, bar_t, least, OPERATIONS) == \
                    rhythm_options_by_definition(m, bar_t, least, OPERATIONS)
            example = replace(seeds_from_corpus(1)[0], melody=m, facts=())
            for seed in (n, n + 1):
                options = rhythm_options_by_definition(m, 192, 12, OPERATIONS)
                rng = np.random.default_rng(seed)
                if options:
                    ops = sorted({str(o["op"]) for o in options})
                    op = ops[int(rng.integers(len(ops)))]
                    chosen = [o for o in options if o["op"] == op]
                    expected = chosen[int(rng.integers(len(chosen)))]
                assert rule.sample(example, np.random.default_rng(seed)) == (expected if options else None)
    info = rhythm._shape_options.cache_info()
    assert info.hits > 100 and info.misses > 100


def test_tonal_inversion_and_diatonic_shift_equal_the_note_by_note_definitions() -> None:
    inverted = refused = 0
    for n, melody in enumerate(melodies_and_variants()):
        notes = melody.notes
        if not notes:
            continue
        for key in (Key(n % 12, "major"), Key((n * 7) % 12, "minor")):
            axis = notes[0] - (notes[0] - key.tonic) % 12  # a tonic near the first note
            images = [None if p is None else diatonic_mirror(p, to_step(axis, key)[0], key)
                      for p in melody.pitches]
            expected = None if any(p is not None and q is None for p, q in zip(melody.pitches, images,
                                                                                strict=True)) \
                else Melody.from_ticks(tuple(images), melody.ticks)
            got = invert_diatonic(melody, axis, key)
            assert got == expected
            inverted += got is not None
            refused += got is None
            for steps in (-3, 1, 4):
                shifted = DiatonicShift().apply(melody, steps=steps, **key_params(key))
                assert shifted.pitches == tuple(None if p is None else shift_pitch(p, steps, key)
                                                for p in melody.pitches)
                assert shifted.ticks == melody.ticks
    assert inverted > 100 and refused > 100


def test_intervals_and_the_leap_and_repeat_checks_equal_their_definitions() -> None:
    def unrecovered(intervals: tuple[int, ...], leap: int) -> int:
        count = 0
        for i, step in enumerate(intervals):
            if abs(step) <= leap:
                continue
            following = next((x for x in intervals[i + 1:] if x != 0), None)
            if following is not None and following * step > 0:
                count += 1
        return count

    def repeat_run(pitches: tuple[int | None, ...]) -> int:
        best = run = 0
        previous = None
        for p in pitches:
            run = run + 1 if p == previous else 1
            previous = p
            best = max(best, run)
        return best

    counts, runs, failed = set(), set(), set()
    seed = seeds_from_corpus(1)[0]
    for melody in melodies_and_variants() + [Melody([], []), Melody([None], [1]), Melody([60], [1])]:
        notes = melody.notes
        intervals = melody.intervals()
        assert intervals == tuple([b - a for a, b in zip(notes, notes[1:], strict=False)])
        for leap in (-1, 0, 2, 5, 7, 12):  # (-1, 0: every motion is a leap)
            assert unrecovered_leaps(intervals, leap) == unrecovered(intervals, leap)
            counts.add(unrecovered(intervals, leap))
        assert longest_repeat_run(notes) == repeat_run(notes)
        assert longest_repeat_run(melody.pitches) == repeat_run(melody.pitches)  # rests too
        runs.add(repeat_run(notes))
        for most in (-1, 0, 5, 9, 16):
            example = Example(seed.id, seed.messages, melody, 1, seed.seed_id, "test")
            reason = check_largest_leap(example, ChecksConfig(max_leap_semitones=most))
            largest = max(abs(i) for i in intervals) if intervals else None
            expected = (f"largest_leap: {largest} semitones > {most}"
                        if largest is not None and largest > most else None)
            assert reason == expected
            failed.add(reason is None)
    assert {0, 1, 2, 3} <= counts and {0, 1, 2, 3, 4} <= runs and failed == {True, False}


def test_rhythm_grid_check_equals_its_definition_with_the_first_failing_note() -> None:
    def plain(melody: Melody, grid: tuple[int, ...], low: Fraction, high: Fraction) -> str | None:
        for index, d in enumerate(melody.durations, start=1):
            if not any((d * g).denominator == 1 for g in grid):
                return f"rhythm_grid: note {index} lasts {d} quarter, off the rhythm grid"
            if not low <= d <= high:
                return f"rhythm_grid: note {index} lasts {d} quarter, outside {low}-{high}"
        return None

    reasons = set()
    seed = seeds_from_corpus(1)[0]
    for melody in with_off_grid():
        example = Example(seed.id, seed.messages, melody, 1, seed.seed_id, "test")
        for grid, low, high in (((4, 3), 0.25, 4.0), ((8, 6), 0.125, 16.0), ((2,), 0.5, 2.0)):
            config = ChecksConfig(rhythm_grid_per_quarter=grid, min_duration_quarter=low,
                                  max_duration_quarter=high)
            reason = check_rhythm_grid(example, config)
            assert reason == plain(melody, grid, Fraction(low), Fraction(high))
            reasons.add(None if reason is None else reason.split("quarter, ")[1][:3])
    assert reasons == {None, "off", "out"}


def test_notes_range_and_intervals_made_once_equal_their_definitions_and_are_not_part_of_the_value() -> None:
    for melody in with_off_grid() + [Melody([], []), Melody([None, None], [1, 2])]:
        copy = Melody.from_ticks(melody.pitches, melody.ticks)
        notes = tuple(p for p in melody.pitches if p is not None)
        for _ in range(2):  # made, then remembered
            assert melody.notes == notes
            assert melody.pitch_range() == ((min(notes), max(notes)) if notes else None)
            assert melody.intervals() == tuple(b - a for a, b in zip(notes, notes[1:], strict=False))
        assert melody == copy and hash(melody) == hash(copy) and repr(melody) == repr(copy)
        assert pickle.loads(pickle.dumps(melody)) == melody
        assert pickle.loads(pickle.dumps(melody)).notes == notes


def test_pitch_class_sums_and_histograms_made_once_equal_the_note_by_note_sums() -> None:
    def plain(melody: Melody) -> tuple[tuple[int, ...] | None, list[float]]:
        sums: list[object] = [0] * 12
        hist = [0.0] * 12
        for p, t in zip(melody.pitches, melody.ticks, strict=True):
            if p is not None:
                sums[p % 12] += t  # type: ignore[operator]
                hist[p % 12] += float(Fraction(t) / 48)  # the correctly rounded quarters
        on_grid = all(type(t) is int for t in melody.ticks)
        return (tuple(sums) if on_grid else None), hist  # type: ignore[arg-type]

    triplets = [Melody.from_ticks(m.pitches, tuple(16 if t == 12 else t for t in m.ticks))
                for _, m in corpus()[::10]]  # eighth triplets (16 ticks): not a multiple of 3
    paths: Counter[bool] = Counter()
    for melody in with_off_grid() + triplets + [Melody([], []), Melody([None], [1]), Melody([61], [1])]:
        sums, hist = plain(melody)
        paths[sums is not None and all(t % 3 == 0 for t in melody.ticks)] += 1
        copy = Melody.from_ticks(melody.pitches, melody.ticks)
        for _ in range(2):  # made, then remembered
            assert melody.pitch_class_ticks() == sums
            got = melody.pitch_class_histogram()
            assert got.dtype == np.float64 and got.tolist() == hist
        assert melody == copy and hash(melody) == hash(copy) and repr(melody) == repr(copy)
        assert pickle.loads(pickle.dumps(melody)).pitch_class_ticks() == sums
    assert paths[True] > 1000 and paths[False] > 100  # the histogram from the sums, and note by note


def test_rhythm_and_ornament_draws_equal_drawing_from_the_option_dicts() -> None:
    def draw(options: list[dict[str, object]], field: str, rng: np.random.Generator) -> object:
        if not options:
            return None
        kinds = sorted({str(o[field]) for o in options})
        kind = kinds[int(rng.integers(len(kinds)))]
        chosen = [o for o in options if o[field] == kind]
        return chosen[int(rng.integers(len(chosen)))]

    rhythm_rule, ornament_rule = Rhythm(), Ornament()
    drawn = set()
    for n, v in enumerate(variants()):
        for seed in (n, n + 1000):
            got = rhythm_rule.sample(v, np.random.default_rng(seed))
            expected = draw(rhythm_options_by_definition(
                v.melody, bar_ticks(meter_of(v, "4/4")), 12, OPERATIONS), "op", np.random.default_rng(seed))
            assert got == expected and (got is None or list(got) == list(expected))
            drawn.add(None if got is None else got["op"])
            if v.key is None:
                continue
            got = ornament_rule.sample(v, np.random.default_rng(seed))
            expected = draw(ornament_options_by_definition(
                v.melody, v.key, 12, KINDS, 36, 96), "kind", np.random.default_rng(seed))
            assert got == expected and (got is None or list(got) == list(expected))
            drawn.add(None if got is None else got["kind"])
    assert drawn >= {"split", "merge", "dot", "syncopate", "passing", "neighbour"}


def test_in_scale_rate_equals_the_note_by_note_sums() -> None:
    def plain(melody: Melody, key: Key, minor_alterations: bool) -> float:
        scale = set(key.scale_pitch_classes())
        if minor_alterations and key.mode == "minor":
            scale |= {(key.tonic + 9) % 12, (key.tonic + 11) % 12}
        total: object = 0
        on: object = 0
        for p, t in zip(melody.pitches, melody.ticks, strict=True):
            if p is not None:
                total += t  # type: ignore[operator]
                if p % 12 in scale:
                    on += t  # type: ignore[operator]
        if not total:
            return 1.0
        if type(on) is int and type(total) is int:
            return on / total
        return float(Fraction(on) / total)  # type: ignore[arg-type]

    rates = set()
    melodies = with_off_grid() + [Melody([], []), Melody([None], [1])]
    for n, melody in enumerate(melodies):
        for key in (Key(n % 12, "major"), Key((n * 5) % 12, "minor"), Key(n % 12, "dorian")):
            for alterations in (False, True):
                rate = facts.in_scale_rate(melody, key, alterations)
                assert rate == plain(melody, key, alterations) and type(rate) is float
                rates.add(rate)
    assert len(rates) > 1000 and 1.0 in rates


def test_time_scale_factors_and_rule_lists_equal_their_definitions() -> None:
    rules = [TimeScale(), TimeScale(factors="2, 1/2, 3/2, 2/3, 3", min_duration_quarters=0.25,
                                    max_duration_quarters=4.0)]
    kept = set()
    for melody in with_off_grid():
        for rule in rules:
            low, high = Fraction(str(rule.min_duration_quarters)), Fraction(str(rule.max_duration_quarters))
            expected = [f for f in parse_factors(rule.factors)
                        if all(((d * f) / GRID_QUARTER).denominator == 1 and low <= d * f <= high
                               for d in melody.durations)]
            assert rule.allowed(melody) == expected
            kept.update(expected)
    assert len(kept) == 5
    for _ in range(2):  # parsed, then remembered
        assert choice_list(" dot ,split", OPERATIONS, "operations") == ("dot", "split")
        with pytest.raises(ValueError, match="operations must be"):
            choice_list("dot,jump", OPERATIONS, "operations")


def test_output_lines_equal_json_dumps() -> None:
    plain = line_by_json_dumps
    odd = Example.seed((Message("system", "Ünïcode ♭ \\u00e9 \"q\"\n", (("weight", 0),)),
                        Message("user", "Write a melody in E♭ major."),
                        Message("assistant", "melody_pitch_duration_data: [[60, 1.0]]", (("weight", 1),))),
                       Melody([60], [1]), 2, "test")
    extras: list[tuple[tuple[str, object], ...]] = [
        (("weight", 1.5), ("name", "a\tb"), ("tool_calls", [{"id": "x", "n": None}]), ("f", float("nan"))),
        (("weight", 0), ("weight", 1)), (("content", "other"),), (("role", "x"), ("weight", True))]
    messages = [Message("user", None), *(Message("assistant", "é", e) for e in extras)]
    odder = [Example.seed((m, odd.messages[2]), odd.melody, 1, "test") for m in messages]
    with_extra = [Example.seed((odd.messages[2], Message("tool", "t", ((1, 2),))), odd.melody, 0, "test")]
    known: dict[tuple[str, str], str | None] = {}  # one table across them all, as for a seed's
    for example in (*variants(), odd, *odder, *with_extra):
        assert example_to_line(example) == plain(example) == example_to_line(example, known)
    assert len(known) > 3  # (the variants' shared messages met it)


def test_inversion_draws_remembered_per_melody_equal_the_draws_worked_out_each_time() -> None:
    def plain(rule: Invert, example: Example, rng: np.random.Generator) -> dict[str, object] | None:
        melody, key = example.melody, example.key
        if len(melody.notes) < 2:
            return None
        options: list[dict[str, object]] = []
        for kind in rule.kind_list():
            if kind == "diatonic" and key is None:
                continue
            for axis in rule._axes(melody, key):
                params: dict[str, object] = {"kind": kind, "axis_pitch": int(axis)}
                if kind == "diatonic":
                    params.update(key_params(key))
                try:
                    result = invert_diatonic(melody, axis, key) if kind == "diatonic" and key \
                        else invert(melody, axis)
                except ValueError:
                    continue
                if result is not None and rule._fits(result) and result != melody:
                    options.append(params)
                    break
        return options[int(rng.integers(len(options)))] if options else None

    rules = [Invert(), Invert(kinds="diatonic", axis="first_note", low_pitch=50, high_pitch=80)]
    examples = list(variants()[:300]) + seeds_from_corpus(20)
    drawn = set()
    for _ in range(2):  # worked out, then remembered
        for n, example in enumerate(examples):
            for rule in rules:
                got = rule.sample(example, np.random.default_rng(n))
                assert got == plain(rule, example, np.random.default_rng(n))
                if got is not None:
                    drawn.add(str(got["kind"]))
                    got["axis_pitch"] = -1  # the caller's copy: the next draw is unchanged
            expected = plain(rules[0], example, np.random.default_rng(n))
            if expected is not None and Invert.apply(rules[0], example.melody, **expected) \
                    == retrograde(example.melody):
                expected = None  # the retrograde inversion would give the melody back
            got = RetrogradeInversion().sample(example, np.random.default_rng(n))
            assert got == expected
    assert drawn == {"chromatic", "diatonic"}


def test_claimed_bar_lengths_remembered_equal_the_parse() -> None:
    for meter in ("4/4", "3/4", "6/8", "2/2", "5/16", "7/32", "12/8"):
        num, den = meter.split("/")
        expected = exact_ticks(Fraction(4 * int(num), int(den)) * 48)
        for _ in range(2):  # parsed, then remembered
            assert checks._bar_ticks(meter) == expected and type(checks._bar_ticks(meter)) is type(expected)


def test_melody_tokens_and_invariant_keys_equal_their_definitions() -> None:
    from dataset_util import tokens_by_definition

    def key_by_definition(melody: Melody) -> str:
        first = "R" if melody.pitches and melody.pitches[0] is None else "N"
        text = json.dumps([first, list(tokens_by_definition(melody))])
        return hashlib.sha256(text.encode()).hexdigest()

    odd = [Melody([], []), Melody([60], [1]), Melody([None], [1]), Melody([0, 127, 0], ["1/3", "1/3", 6]),
           Melody([None, None, 0, 127, 0], [1, 2, 3, 4, 5]),
           Melody([None, 60, None, 62], ["1/5", "3/10", 1, "2/3"])]
    melodies = with_off_grid() + odd
    assert any(None in m.pitches for m in melodies) and any(None not in m.pitches for m in melodies)
    for melody in melodies:
        tokens = melody_tokens(melody)
        assert tokens == tokens_by_definition(melody)
        assert invariant_key(melody) == invariant_key(melody, tokens) == key_by_definition(melody)


def prompts_for_the_scanners() -> list[str]:
    """Seed prompts, their rewrites to other keys, and every word the scanners look for in
    three cases and with the letters case-insensitive matching also takes (long s, Kelvin
    sign), in and out of context."""
    seeds = [json.loads(line) for line in (ROOT / "seeds" / "beethoven.jsonl").read_text().splitlines()]
    prompts = [m["content"] for s in seeds for m in s["messages"] if m["role"] == "user"]
    prompts += [v.prompt or "" for v in variants()[::7]]
    words = [*METER_NAMES, *TEMPO_MARKS, *TEMPO_PREFIXES, *TEMPO_SUFFIXES, *TEMPO_WORDS, *CHURCH_MODES,
             "major", "minor", "in major", "In minor", "short", "brief", "lengthy", "long", "extended",
             "twenty-four", "seven", "twelve", "eight bars", "16 notes", "two-four time", "six eight time"]
    for word in words:
        for form in (word, word.title(), word.upper(), word.replace("s", "ſ"), word.replace("k", "\u212a")):
            prompts += [form, f"Write a {form} melody in {form} time, {form} bars, 3 {form}.",
                        f"({form}-{form}) x{form} {form}s {form}-bar in {form} and"]
    return prompts


def test_scanner_patterns_find_what_they_find_without_their_initials_filter() -> None:
    filtered = [MODE_ONLY, prompt_scan.WORD_METER, prompt_scan._NAME, prompt_scan._MARK,
                prompt_scan._PLAIN, prompt_scan._COUNT, prompt_scan._SIZE]
    found = []
    for pattern in filtered:
        head = pattern.pattern.index("]))") + 3
        assert pattern.pattern.startswith("(?=(?i:[")
        plain = re.compile(pattern.pattern[head:])
        count = 0
        for prompt in prompts_for_the_scanners():
            got = [(m.span(), m.groupdict(), m.lastgroup) for m in pattern.finditer(prompt)]
            assert got == [(m.span(), m.groupdict(), m.lastgroup) for m in plain.finditer(prompt)]
            count += len(got)
        found.append(count)
    assert min(found) > 40 and sum(found) > 4000  # each pattern found many times
    assert prompt_scan._PLAIN.search("a ſlow tune") and prompt_scan._NAME.search("a polka tune")


def test_scanners_skip_a_pattern_only_where_it_finds_nothing() -> None:
    prompts = prompts_for_the_scanners()
    for word in ("waltzes", "marches", "8bars", "3-measure", "mid-tempo", "up-tempo", "più allegro",
                 "bourrée", "vivacissimo", "Lento", "time", "metre"):
        for form in (word, word.upper(), word.replace("i", "\u0130"), word.replace("i", "\u0131")):
            prompts += [form, f"a {form}-ish tune in three-four {form}", f"x{form} {form}_ {form}2 é{form}"]
    skipped, found = Counter(), Counter()
    for prompt in prompts:
        runs = prompt_scan.letter_runs(prompt)
        for pattern, needs in prompt_scan.NEEDS.items():
            if runs.isdisjoint(needs):
                assert pattern.search(prompt) is None
                skipped[pattern.pattern] += 1
            else:
                found[pattern.pattern] += pattern.search(prompt) is not None
            got = [(m.span(), m.groupdict()) for m in prompt_scan.find(pattern, prompt, runs)]
            assert got == [(m.span(), m.groupdict()) for m in pattern.finditer(prompt)]
        assert prompt_scan.meter_claims(prompt, runs) == prompt_scan.meter_claims(prompt)
        assert prompt_scan.tempo_claims(prompt, runs) == prompt_scan.tempo_claims(prompt)
        assert prompt_scan.length_claims(prompt, runs) == prompt_scan.length_claims(prompt)
    assert len(skipped) == len(found) == len(prompt_scan.NEEDS) == 6  # every pattern both skipped and run
    assert min(skipped.values()) > 500 and min(found.values()) > 30


def test_scale_step_moves_from_the_table_equal_the_step_arithmetic() -> None:
    for tonic in range(12):
        for mode in ("major", "minor", "dorian"):
            key = Key(tonic, mode)  # type: ignore[arg-type]
            for steps in range(-15, 16):
                for pitch in range(128):
                    step, alteration = to_step(pitch, key)
                    assert shift_pitch(pitch, steps, key) == from_step(step + steps, alteration, key)


def test_fragment_and_sequence_draws_remembered_per_melody_equal_the_draws_worked_out_each_time() -> None:
    Draw = dict[str, object] | None

    def plain_fragment(rule: Fragment, example: Example, rng: np.random.Generator) -> Draw:
        melody = example.melody
        bar = bar_quarters(meter_of(example, rule.meter))
        times, bar_t = onset_ticks(melody), bar_ticks(meter_of(example, rule.meter))
        options = []
        for n in bar_cuts(melody, bar):
            bars = int(times[n] // bar_t)
            if bars >= rule.min_bars and n < len(melody) and melody.pitches[:n].count(None) < n:
                options.append(bars)
        if not options:
            return None
        return {"bars": options[int(rng.integers(len(options)))], "bar_quarters": str(bar)}

    def plain_sequence(rule: Sequence, example: Example, rng: np.random.Generator) -> Draw:
        if example.key is None:
            return None
        bar = bar_quarters(meter_of(example, rule.meter))
        options = rule.options(example.melody, example.key, bar)
        if not options:
            return None
        chosen = options[int(rng.integers(len(options)))]
        return {**chosen, "bar_quarters": str(bar), **key_params(example.key)}

    fragments = [Fragment(), Fragment(min_bars=1, meter="3/4")]
    sequences = [Sequence(), Sequence(max_motif_bars=1, max_repeats=3, step_choices="2,-1", meter="3/4")]
    examples = list(variants()[:300]) + seeds_from_corpus(20)
    drawn = {"fragment": 0, "sequence": 0}
    for _ in range(2):  # worked out, then remembered
        for n, example in enumerate(examples):
            for fragment in fragments:
                got = fragment.sample(example, np.random.default_rng(n))
                assert got == plain_fragment(fragment, example, np.random.default_rng(n))
                drawn["fragment"] += got is not None
            for sequence in sequences:
                got = sequence.sample(example, np.random.default_rng(n))
                assert got == plain_sequence(sequence, example, np.random.default_rng(n))
                if got is not None:
                    drawn["sequence"] += 1
                    got["steps"] = 99  # the caller's copy: the next draw is unchanged
    assert min(drawn.values()) > 200


def test_transpose_shift_and_mode_change_draws_remembered_equal_the_draws_worked_out_each_time() -> None:
    Draw = dict[str, object] | None

    def plain_transpose(rule: Transpose, example: Example, rng: np.random.Generator) -> Draw:
        fits = transposition_range(example.melody, rule.low_pitch, rule.high_pitch)
        options = [k for k in range(rule.min_semitones, rule.max_semitones + 1) if k != 0 and k in fits]
        if not options:
            return None
        if rule.even_keys:
            by_class: dict[int, int] = {}
            for k in sorted(options, key=abs):
                by_class.setdefault(k % 12, k)
            options = sorted(by_class.values())
        return {"semitones": int(options[int(rng.integers(len(options)))])}

    def plain_shift(rule: DiatonicShift, example: Example, rng: np.random.Generator) -> Draw:
        key, notes = example.key, example.melody.notes
        if key is None or not notes:
            return None
        if rule.chromatic_notes == "refuse" and not all(in_key(p, key) for p in notes):
            return None
        options = [s for s in range(rule.min_steps, rule.max_steps + 1) if s != 0
                   and all(rule.low_pitch <= shift_pitch(p, s, key) <= rule.high_pitch for p in notes)]
        if not options:
            return None
        return {"steps": options[int(rng.integers(len(options)))], **key_params(key)}

    def plain_mode_change(rule: ModeChange, example: Example) -> Draw:
        if example.key is None:
            return None
        result = change_mode(example.melody, example.key)
        r = result.pitch_range()
        if result == example.melody or r is None or r[0] < rule.low_pitch or r[1] > rule.high_pitch:
            return None
        return key_params(example.key)

    transposes = [Transpose(), Transpose(-7, 7, 36, 96, True), Transpose(-12, 12, 55, 84, True),
                  Transpose(-2, 2, 60, 76)]
    shifts = [DiatonicShift(), DiatonicShift(-3, 3, 48, 84, "refuse")]
    mode_changes = [ModeChange(), ModeChange(55, 80)]
    seed = seeds_from_corpus(1)[0]
    silent = Example(seed.id, seed.messages, Melody([None], [1]), seed.melody_index, seed.seed_id,
                     seed.source, key=Key(0, "major"))
    examples = list(variants()[:300]) + seeds_from_corpus(20) + [silent]
    drawn: Counter[str] = Counter()
    for _ in range(2):  # worked out, then remembered
        for n, example in enumerate(examples):
            for transpose in transposes:
                got = transpose.sample(example, np.random.default_rng(n))
                assert got == plain_transpose(transpose, example, np.random.default_rng(n))
                drawn["transpose", got is None] += 1
            for shift in shifts:
                got = shift.sample(example, np.random.default_rng(n))
                assert got == plain_shift(shift, example, np.random.default_rng(n))
                drawn["shift", got is None] += 1
            for mode_change in mode_changes:
                got = mode_change.sample(example, np.random.default_rng(n))
                assert got == plain_mode_change(mode_change, example)
                drawn["mode", got is None] += 1
    assert len(drawn) == 6 and min(drawn.values()) > 20  # drawn and refused, every rule


def test_claim_values_remembered_equal_their_definitions_and_are_not_part_of_the_value() -> None:
    def one(values: list[object]) -> object:
        return values[0] if len(set(values)) == 1 else None

    prompts = [p for p in prompts_for_the_scanners() if p.isascii()]
    prompts += ["In C major, then in D minor.", "Eb major or E-flat major, 8 bars",
                "a waltz of 16 notes, no more than 20 notes, slow then fast"]
    seen = set()
    for prompt in prompts:
        claims = parse_claims(prompt)
        fresh = prompt_module.parse_claims.__wrapped__(prompt)
        assert fresh == claims and hash(fresh) == hash(claims) and repr(fresh) == repr(claims)
        for _ in range(2):  # made, then remembered
            values = {
                "key": one([c.key for c in claims.keys if c.key is not None]),
                "tonic": one([c.tonic for c in claims.keys if c.tonic is not None]),
                "mode": one([MODE_EQUIVALENT.get(c.mode, c.mode) for c in claims.keys if c.mode]),
                "bars": one([c.count for c in claims.lengths if c.unit == "bars" and c.relation == "=="]),
                "notes": one([c.count for c in claims.lengths if c.unit == "notes" and c.relation == "=="]),
                "tempo": one([c.tempo for c in claims.tempos if c.tempo]),
                "meter_options": frozenset.intersection(*(frozenset(c.meters) for c in claims.meters))
                if claims.meters else None,
            }
            assert values == {name: getattr(claims, name) for name in values}
            seen.update((name, value is None) for name, value in values.items())
        assert fresh == claims and hash(fresh) == hash(claims) and repr(fresh) == repr(claims)
    assert len(seen) == 14  # every value both found and not


def test_words_spelled_with_letters_case_insensitive_matching_folds_are_read_as_their_ascii_words() -> None:
    """Python's case-insensitive patterns match the dotted and dotless i, the long s and the
    Kelvin sign for i, s and k: a word the scanners find so is read as its ASCII spelling
    (it had raised KeyError), and re-prompting such a prompt raises nothing but RewriteError."""
    cases = {"a ſlow tune": ("tempo", "slow"), "Allegro vivaciſſimo": ("tempo", "fast"),
             "Quıckly now": ("tempo", "fast"), "a \u212aind of Lento": ("tempo", "slow"),
             "in D dorıan": ("mode", "dorian"), "in F ſharp minor": ("key", Key(6, "minor")),
             "ſix-eight time": ("meter_options", frozenset({"6/8"})), "ſix bars": ("bars", 6),
             "an İonian tune": ("mode", "major")}
    for prompt, (name, value) in cases.items():
        assert getattr(parse_claims(prompt), name) == value, prompt
    sizes = parse_claims("a ſhort tune of at leaſt 8 bars").lengths
    assert [(c.size, c.relation) for c in sizes] == [("short", "=="), (None, ">=")]
    for prompt in prompts_for_the_scanners():
        if prompt.isascii():
            continue
        claims = parse_claims(prompt)
        for key, meter, bars in ((Key(2, "major"), "3/4", 4), (Key(9, "minor"), "6/8", None)):
            try:
                rewrite_claims(prompt, key=key, meter=meter if claims.meters else None, bars=bars,
                               notes=12, tempo="fast")
            except RewriteError:
                pass


def test_reprompt_from_remembered_values_equals_the_definition() -> None:
    """``reprompt`` works out a variant's prompt from plain values (``_prompt_for``,
    remembered per process); the result (text or reason) must equal the definition written
    over the variant itself, for prompts with every kind of claim, church modes kept by
    transposition, templates that fit or not, and each mode, cold and remembered."""
    from augment.prompt import Tonality

    def plain(v: Example, seed: Example, config: RepromptConfig) -> str:
        prompt = cast(str, seed.prompt)
        meter_fact = dict(v.facts).get("meter")
        meter = f"{meter_fact[0]}/{meter_fact[1]}" if isinstance(meter_fact, tuple) else None
        seed_mode = seed.key.mode if seed.key else None
        why = "template mode" if config.mode == "template" else reprompt.needs_template(prompt, v, seed_mode)
        if why is not None:
            facts = template_facts(key=v.key, meter=meter, bars=reprompt.whole_bars(v, meter),
                                   notes=len(v.melody.notes))
            usable = [t for t in config.pool if template_fields(t) <= set(facts)]
            if not usable:
                return f"reprompt: the prompt cannot stay true ({why}) and no template fits"
            return render_template(reprompt._pick(usable, v, "user"), facts)
        claims = parse_claims(prompt)
        key: object = None
        if claims.keys:
            if claims.mode in (None, "major", "minor"):
                key = v.key
            elif all(st.rule == "transpose" for st in v.steps) and claims.tonic is not None:
                key = Tonality(claims.tonic, claims.mode).transposed(
                    sum(int(dict(st.params)["semitones"]) for st in v.steps))
            else:
                return "reprompt: the prompt names a mode the variant's rules do not keep"
        bars = None
        if claims.bars is not None or any(c.unit == "bars" for c in claims.lengths):
            bars = reprompt.whole_bars(v, meter or "4/4")
            if bars is None:
                return "reprompt: the prompt counts bars but the variant does not fill whole bars"
        try:
            return rewrite_claims(prompt, key=key, meter=meter if claims.meters else None,  # type: ignore[arg-type]
                                  bars=bars, notes=len(v.melody.notes) if claims.notes is not None else None)
        except RewriteError as exc:
            return exc.reason

    prompts = ["Generate a melody in C major.", "Write a happy 8-bar melody in A minor, 3/4.",
               "Could you write a 3/4 tune in D dorian?", "A melody of 24 notes in G mixolydian.",
               "A sad tune like Für Elise, in A minor.", "Write a melody with running eighths that rise.",
               "Write a 4-bar melody in E major.", "Write a melody."]
    configs = [RepromptConfig(), RepromptConfig(mode="template"),
               RepromptConfig(user_templates=("A {bars}-bar tune.", "In {meter}: {key}.")),
               RepromptConfig(mode="template", user_templates=["{notes} notes in {tonic} {mode}."])]  # type: ignore[arg-type]
    fmt = FormatConfig()
    found: Counter[str] = Counter()
    for cached in (reprompt._plan, reprompt._edited, reprompt._templated):
        cached.cache_clear()
    for v in variants()[::3]:
        for prompt in prompts:
            seed = replace(v, id=v.seed_id, steps=(), parent_id=None, messages=tuple(
                Message(m.role, prompt if i == v.user_index else m.content, m.extra)
                for i, m in enumerate(v.messages)))
            for config in configs:
                for _ in range(2):  # worked out, then remembered
                    got = reprompt.reprompt(v, seed, fmt, config)
                    want = plain(v, seed, config)
                    if isinstance(got, str):
                        assert got == want
                        found["reason"] += 1
                    else:
                        assert got.prompt == want
                        assert got.messages[got.melody_index].content == format_melody(v.melody, fmt)
                        found["church" if "dorian" in prompt or "mixolydian" in prompt else "text"] += 1
    remembered = (reprompt._plan, reprompt._edited, reprompt._templated)
    assert all(cached.cache_info().hits > 0 for cached in remembered)
    assert set(found) == {"reason", "church", "text"}
