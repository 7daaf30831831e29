"""The per-seed stage's shortcuts equal the plain definitions they replace, on real melodies.

The per-seed stage (rules, re-prompting, checks; ``pipeline.expand_seed``) runs for every
variant drawn, so some of its functions take a shorter road than their definition: a
memo of a step's JSON text, tables instead of per-note arithmetic, one-row key
correlations. Each test here writes the definition out plainly and compares it with the
shortcut on the corpus melodies of tests/data (Bach chorale sopranos, Essen folk songs)
and on the variants ``wide.toml`` draws from them, answers, floats and texts alike.
"""

from __future__ import annotations

import json
import pickle
from collections import Counter
from dataclasses import replace
from fractions import Fraction
from functools import cache
from pathlib import Path

from augment import codec, reprompt
from augment.codec import FormatConfig, format_duration, format_melody
from augment.config import load_config
from augment.example import Example, Step, _digest, variant_id_for
from augment.melody import Melody
from augment.pipeline import draw_variants
from augment.prompt import parse_claims, stated_key
from augment.reprompt import seed_facts
from dataset_util import corpus, seeds_from_corpus

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
           Step.of("x", {"é": "ü", "f": 0.1, "n": None, "b": True}))
    assert variant_id_for("s1", odd) == plain("s1", odd)


def test_the_step_memo_is_not_part_of_the_value() -> None:
    step = Step.of("transpose", {"semitones": 3})
    other = Step.of("transpose", {"semitones": 3})
    step.json_text()
    assert step == other and hash(step) == hash(other) and repr(step) == repr(other)
    assert pickle.loads(pickle.dumps(step)) == step
    assert Step.of("transpose", {"semitones": 3.0}).json_text() != step.json_text()


def test_melody_text_equals_the_note_by_note_definition() -> None:
    def plain(melody: Melody, fmt: FormatConfig) -> str:
        rest = "0" if fmt.rest == 0 else "null"
        notes = [f"[{rest if p is None else p}, {format_duration(d, fmt)}]" for p, d in melody.pairs()]
        return f"melody_pitch_duration_data: [{', '.join(notes)}]"

    melodies = [m for _, m in corpus()] + [v.melody for v in variants()]
    melodies.append(Melody([60, None, 61], [Fraction(1, 5), Fraction(3, 10), 100]))  # off grid, long
    for fmt in (FormatConfig(), FormatConfig("whole", "null")):
        codec._PAIR_TEXT.clear()  # first the path that meets every pair, then the lookups
        for _ in range(2):
            assert [format_melody(m, fmt) for m in melodies] == [plain(m, fmt) for m in melodies]


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
