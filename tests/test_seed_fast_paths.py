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

from augment.config import load_config
from augment.example import Example, Step, _digest, variant_id_for
from augment.pipeline import draw_variants
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
