"""A rule's ``Choices``: what its draw takes from, as a value, and how the draw reads the
generator (``augment.rules.base``)."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from augment.config import RuleSpec
from augment.pipeline import seed_facts
from augment.rules import BUILTIN_RULES
from augment.rules.base import Choices, Rule
from augment.rules.transpose import Transpose
from dataset_util import seeds_from_corpus


def test_numpy_draws_nothing_for_a_choice_of_one() -> None:
    """``Choices.draw`` skips the call when there is one group or one entry; that is the
    same stream only because numpy's ``integers(1)`` reads nothing from the generator."""
    rng = np.random.default_rng(7)
    rng.random()
    for n in (1, 1, 5, 1, 3):  # buffered 32-bit halves included
        state = rng.bit_generator.state
        drawn = rng.integers(n)
        if n == 1:
            assert drawn == 0 and rng.bit_generator.state == state
        else:
            assert rng.bit_generator.state != state


def test_draw_takes_a_group_then_an_entry_as_two_integer_calls() -> None:
    """``draw`` reads the generator as ``rng.integers(len(groups))`` then
    ``rng.integers(len(group))``, so a rule drawn by choices keeps the stream it had
    when it wrote those calls itself (and the variants of earlier runs)."""
    groups = (("a",), ("b", "c"), ("d", "e", "f", "g", "h"))
    choices = Choices(groups, lambda entry: {"x": entry})
    for seed in range(200):
        rng, plain = np.random.default_rng(seed), np.random.default_rng(seed)
        g, i = choices.draw(rng)
        assert g == int(plain.integers(3))
        assert i == (int(plain.integers(len(groups[g]))) if len(groups[g]) > 1 else 0)
        assert rng.bit_generator.state == plain.bit_generator.state
        assert choices.params((g, i)) == {"x": groups[g][i]}


def test_draw_is_uniform_over_groups_then_over_entries() -> None:
    """The rhythm and ornament rules pick the kind of change first so that a rare kind is
    not swamped: each group equally often, whatever its size; inside it, each entry."""
    groups = (("merge",), tuple(f"split{i}" for i in range(9)))
    choices = Choices(groups, lambda entry: {"op": entry})
    rng = np.random.default_rng(0)
    counts = Counter(choices.draw(rng) for _ in range(20_000))
    merges = counts[(0, 0)]
    assert 9_500 < merges < 10_500  # 1/2, not 1/10
    splits = [counts[(1, i)] for i in range(9)]
    assert all(900 < n < 1_350 for n in splits)  # ~10,000 / 9 each


def test_no_choices_means_the_rule_does_not_apply() -> None:
    assert Choices.one_group((), dict) is None
    assert Choices.one_group(range(0), dict) is None
    one = Choices.one_group((3,), lambda k: {"k": k})
    assert one is not None and one.groups == ((3,),)
    rng = np.random.default_rng(1)
    state = rng.bit_generator.state
    assert one.params(one.draw(rng)) == {"k": 3} and rng.bit_generator.state == state


def test_every_builtin_rule_draws_by_choices_and_a_redefined_sample_wins() -> None:
    assert all(cls.draws_by_choices() for cls in BUILTIN_RULES.values())

    class Sampled(Transpose):
        def sample(self, example, rng):  # type: ignore[no-untyped-def]
            return {"semitones": 12}

    class SampleOnly(Rule):
        name = "sample_only"

        def sample(self, example, rng):  # type: ignore[no-untyped-def]
            return None

    assert not Sampled.draws_by_choices() and not SampleOnly.draws_by_choices()
    assert not RuleSpec(Sampled()).by_choices and RuleSpec(Transpose()).by_choices
    with pytest.raises(NotImplementedError):
        Rule().sample(seed_facts(seeds_from_corpus(1)[0]), np.random.default_rng(0))


@pytest.mark.parametrize("name", sorted(BUILTIN_RULES))
def test_every_choice_of_a_real_melody_applies(name: str) -> None:
    """Each entry of each built-in rule's choices, on real melodies (corpus seeds), makes
    params its ``apply`` takes, or None (the retrograde inversion that gives the melody
    back); ``sample`` returns one of those params."""
    rule = BUILTIN_RULES[name]()
    applied = 0
    for seed in [seed_facts(s) for s in seeds_from_corpus(24, step=20)]:
        choices = rule.choices(seed)
        if choices is None:
            assert rule.sample(seed, np.random.default_rng(0)) is None
            continue
        assert choices.groups and all(len(group) for group in choices.groups)
        made = []
        for g, group in enumerate(choices.groups):
            for i in range(len(group)):
                params = choices.params((g, i))
                made.append(params)
                if params is not None:
                    rule.apply(seed.melody, **params)
                    applied += 1
        for k in range(5):
            assert rule.sample(seed, np.random.default_rng(k)) in made
    assert applied > 0


@pytest.mark.parametrize("batch_from", [1, None], ids=["numpy-from-1", "numpy-from-default"])
def test_choices_of_many_examples_are_each_ones_choices(batch_from: int | None,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """``choices_of`` (asked by the walk of a seed's draws for many parents at once; the
    ornament and rhythm rules work it out in numpy) gives each example's ``choices``: real
    melodies and their variants, with every rule's parameters varied, a melody without a
    key, rests (between a third, at the end), durations off the tick grid, pitches at the
    range's ends. With the numpy pass for every batch (``batch_from`` 1) and for those of
    ``BATCH_FROM`` parents or more (fewer take ``choices`` one by one)."""
    import dataclasses

    from augment.rules import ornament, rhythm
    from augment.rules.batch import BATCH_FROM

    assert ornament.BATCH_FROM == rhythm.BATCH_FROM == BATCH_FROM > 1
    if batch_from is not None:
        monkeypatch.setattr(ornament, "BATCH_FROM", batch_from)
        monkeypatch.setattr(rhythm, "BATCH_FROM", batch_from)
    from fractions import Fraction

    from augment.config import load_config
    from augment.drawing import draw_variants
    from augment.melody import Melody
    from augment.theory import Key
    from conftest import DEFAULT_RULES
    from dataset_util import example

    config = load_config(DEFAULT_RULES.parent / "wide.toml")
    config = dataclasses.replace(config, expand=dataclasses.replace(config.expand, variants_per_seed=120))
    examples = []
    for seed in [seed_facts(s) for s in seeds_from_corpus(8, step=60)]:
        examples += [seed, *draw_variants(seed, config, 0, Counter())]
    odd = Melody.from_ticks((60, None, 64, 62, 65, 67, 60, None),
                            (48, 12, 24, Fraction(16, 5) * 5 + Fraction(1, 5), 96, 24, 48, 24))
    edge = Melody.from_pairs([(127, 1), (124, 1), (0, 1), (3, 2), (7, 1)])
    examples += [dataclasses.replace(example(odd), key=Key(0, "major")),
                 dataclasses.replace(example(edge), key=Key(0, "minor")),
                 dataclasses.replace(example(odd), key=None)]
    # meters besides the rules' own: 3/4 and 6/8 bars, and one of no whole number of ticks
    examples += [dataclasses.replace(e, facts=(("meter", meter),))
                 for e, meter in zip(examples[5::40], [(3, 4), (6, 8), (5, 7)] * 9, strict=False)]
    # 5/7 bars are 960/7 ticks: a pair of sixteenths ending at tick 960 lies inside the 7th
    steady = Melody.from_ticks((60,) * 96, (12,) * 96)
    examples.append(dataclasses.replace(example(steady), key=Key(0, "major"), facts=(("meter", (5, 7)),)))
    examples.append(dataclasses.replace(example(Melody.from_ticks((), ())), key=Key(0, "major")))  # last
    kinds = 0
    for name, cls in sorted(BUILTIN_RULES.items()):
        rules = [cls()]
        if name == "ornament":
            rules += [cls(kinds="passing"), cls(kinds="neighbour", low_pitch=0, high_pitch=127),
                      cls(min_duration_quarters=0.5, low_pitch=60, high_pitch=72)]
        if name == "rhythm":
            rules += [cls(operations="merge,dot"), cls(meter="3/4", min_duration_quarters=0.125),
                      cls(operations="split,syncopate", min_duration_quarters=0.5)]
        for rule in rules:
            got = rule.choices_of(examples)
            want = [rule.choices(e) for e in examples]
            assert [c and tuple(map(tuple, c.groups)) for c in got] == \
                [c and tuple(map(tuple, c.groups)) for c in want], rule
            batches = [examples[lo:lo + 23] for lo in range(0, len(examples), 23)] + [examples[-1:] * 2]
            by_batch = [c for batch in batches for c in rule.choices_of(batch)]
            assert [c and tuple(map(tuple, c.groups)) for c in by_batch] == \
                [c and tuple(map(tuple, c.groups)) for c in want + want[-1:] * 2], rule
            # (batches all on the grid; the last of melodies without notes only)
            for g in (g for c in got if c is not None for g in c.groups):  # read by place too
                assert len(g) == len(tuple(g)) and g[-1] == tuple(g)[-1] and list(g[:2]) == list(g)[:2]
            assert all((c is None) == (w is None) for c, w in zip(got, want, strict=True))
            kinds += len({g[0][0] for c in got if c is not None for g in c.groups
                          if name in ("ornament", "rhythm")})
    # each ornament and rhythm rule drew options of each of its kinds
    assert kinds == (2 + 1 + 1 + 2) + (4 + 2 + 4 + 2)
