"""Drawing a seed's variants a block at a time (``drawing.ColumnWalk``, read through
``seeding.StreamColumns``) gives the variants of drawing them one by one (``make_variant``
with ``variant_rng``, the definition)."""

from __future__ import annotations

import dataclasses
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from augment.config import load_config
from augment.drawing import ColumnWalk, Family, draw_variants, make_variant, variant_rng
from augment.example import Example
from augment.reprompt import seed_facts
from augment.rules.base import Choices
from augment.rules.transpose import Transpose
from augment.seeding import VariantStreams
from conftest import DEFAULT_RULES
from dataset_util import seeds_from_corpus

WIDE = DEFAULT_RULES.parent / "wide.toml"
# Bounds that make Lemire's method redraw often (its threshold is (2**32 - n) % n of 2**32)
BIG = [2**31 + 1, 2**32 - 1, 3 * 2**30 + 7, 2**32 - 5]


@settings(max_examples=60, deadline=None)
@given(run_seed=st.integers(0, 2**40), start=st.integers(0, 3000), size=st.integers(1, 12),
       width=st.integers(1, 5),
       ops=st.lists(st.tuples(st.sampled_from(["random", "integers"]),
                              st.lists(st.booleans(), min_size=12, max_size=12),
                              st.lists(st.one_of(st.integers(2, 40), st.sampled_from(BIG)),
                                       min_size=12, max_size=12)),
                    min_size=1, max_size=30))
def test_stream_columns_read_each_rows_generator(run_seed, start, size, width, ops):
    """Every row reads what numpy's generator of its variant reads, call for call: rows
    taking part in a call or not, 32-bit draws' waiting halves, Lemire's redraws, rows
    reading past the outputs worked out (``width``)."""
    columns = VariantStreams(run_seed, "cols", outputs=width).columns(start, size)
    gens = [variant_rng(run_seed, "cols", start + k) for k in range(size)]
    for kind, takes, bounds in ops:
        rows = np.flatnonzero(np.asarray(takes[:size]))
        if kind == "random":
            got = columns.random(rows).tolist()
            want = [gens[r].random() for r in rows]
        else:
            n = np.asarray(bounds[:size], dtype=np.uint64)[rows]
            got = columns.integers(rows, n).tolist()
            want = [int(gens[r].integers(int(b))) for r, b in zip(rows, n, strict=True)]
        assert got == want


def test_lemire_redraws_happen_and_match():
    """The bounds above do make rows redraw (else the test above would not test it)."""
    columns = VariantStreams(5, "redraw", outputs=2).columns(0, 400)
    rows = np.arange(400)
    columns.integers(rows, np.full(400, 2**31 + 1, dtype=np.uint64))
    # Each row reads its first output; a row reads a second only when it redrew twice.
    assert columns._at.sum() > 400  # a redraw took the waiting half, and a new output after it
    want = []
    for k in range(400):
        gen = variant_rng(5, "redraw", k)
        gen.integers(2**31 + 1)
        want.append(int(gen.integers(2**32 - 1)))
    assert columns.integers(rows, np.full(400, 2**32 - 1, dtype=np.uint64)).tolist() == want


def signature(v: Example | None):  # type: ignore[no-untyped-def]
    return v and (v.id, v.melody, v.key, v.facts, v.steps, v.messages)


@pytest.mark.parametrize("rules", [WIDE, DEFAULT_RULES], ids=["wide", "default"])
@pytest.mark.parametrize("run_seed", [0, 7])
def test_column_walk_gives_each_attempts_variant(rules: Path, run_seed: int) -> None:
    """A walk of blocks of attempts gives, row by row, ``make_variant`` of that attempt's own
    generator with no family: on real melodies, every wide.toml rule, blocks of several
    sizes sharing one walk's tables, few outputs worked out per row."""
    specs = load_config(rules).rules
    for seed in [seed_facts(s) for s in seeds_from_corpus(6, step=70)]:
        streams = VariantStreams(run_seed, seed.seed_id, outputs=2)
        walk = ColumnWalk(seed, specs, Family())
        got = []
        for start, size in [(0, 1), (1, 60), (61, 239)]:
            got += walk.draw(streams.columns(start, size))
        want = [make_variant(seed, specs, variant_rng(run_seed, seed.seed_id, i)) for i in range(300)]
        assert [signature(v) for v in got] == [signature(v) for v in want]
        assert sum(v is None for v in want) < len(want)  # rules applied
        assert len({v.id for v in want if v is not None}) > 20 or rules == DEFAULT_RULES
        # equal variants are one object, as with a Family
        by_id = {}
        for v in got:
            if v is not None:
                assert by_id.setdefault(v.id, v) is v


def some_children(parents: list[Example], specs) -> list[tuple[Example, object, dict]]:  # type: ignore[no-untyped-def]
    """(parent, rule, params) of the first few entries of each group of each rule's choices."""
    out = []
    for parent in parents:
        for spec in specs:
            choices = spec.rule.choices(parent)
            for g, group in enumerate(() if choices is None else choices.groups):
                for i in range(min(len(group), 2)):
                    params = choices.params((g, i))
                    if params is not None:
                        out.append((parent, spec.rule, params))
    return out


def test_family_children_made_together_are_those_made_one_by_one() -> None:
    """What a walk's block makes at once (``Family.children``: the rules applied, then the
    keys no rule derives found together) is what ``child`` makes one at a time, for the
    children and the children's children of real melodies under every wide.toml rule (the
    key derived by transposing, found for the others), a child asked twice in one call and
    one made before the call."""
    specs = load_config(WIDE).rules
    seeds = [seed_facts(s) for s in seeds_from_corpus(3, step=53)]
    wanted = some_children(seeds, specs)
    family = Family()
    earlier = family.child(*wanted[7])  # type: ignore[arg-type]
    got = family.children(wanted + wanted[:5])  # type: ignore[arg-type]
    want = [Family().child(*w) for w in wanted + wanted[:5]]  # type: ignore[arg-type]
    assert [signature(v) for v in got] == [signature(v) for v in want]
    assert got[7] is earlier and all(got[-5 + k] is got[k] for k in range(5))
    grandchildren = some_children(got[::20], specs)
    assert [signature(v) for v in family.children(grandchildren)] == \
        [signature(Family().child(*w)) for w in grandchildren]  # type: ignore[arg-type]
    rules = {rule.name for _, rule, _ in wanted + grandchildren}  # type: ignore[attr-defined]
    assert {"transpose", "ornament", "rhythm"} <= rules and len(grandchildren) > 100


def one_at_a_time(seed: Example, config, run_seed: int, counts: Counter[str]) -> list[Example]:  # type: ignore[no-untyped-def]
    """``draw_variants`` by its definition: one attempt at a time until enough."""
    wanted = config.expand.variants_per_seed
    seen: dict[str, Example] = {}
    for index in range(wanted * config.expand.attempts_per_variant):
        if len(seen) == wanted:
            break
        variant = make_variant(seed, config.rules, variant_rng(run_seed, seed.seed_id, index))
        counts["variants_drawn"] += 1
        if variant is None:
            counts["variants_no_rule_applied"] += 1
        elif variant.id in seen:
            counts["variants_repeated"] += 1
        else:
            seen[variant.id] = variant
    return list(seen.values())


def narrow(tmp_path: Path) -> Path:
    """Transposition by -2..2 and p 0.5: at most 4 distinct variants, and attempts without any."""
    path = tmp_path / "narrow.toml"
    path.write_text("[expand]\nvariants_per_seed = 10\nattempts_per_variant = 3\n\n[[rule]]\n"
                    'name = "transpose"\np = 0.5\nparams = { min_semitones = -2, max_semitones = 2 }\n')
    return path


@pytest.mark.parametrize("columns_from", [1, 128, 10**9], ids=["columns", "mixed", "one-by-one"])
@pytest.mark.parametrize("wanted", [1, 9, 37, 700])
def test_draw_variants_stops_where_one_at_a_time_stops(wanted: int, columns_from: int, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """The blocks' variants and counts are those of the attempts up to the one that found the
    last variant wanted, none past it; and up to the last attempt when too few exist. So
    whether every block is walked by columns, only the large ones (the default: a seed's
    first attempts by columns, its last ones one by one), or none."""
    from augment import drawing

    monkeypatch.setattr(drawing, "COLUMNS_FROM", columns_from)
    walked = []
    draw = drawing.ColumnWalk.draw
    monkeypatch.setattr(drawing.ColumnWalk, "draw", lambda self, c: walked.append(len(c)) or draw(self, c))
    singly = []
    one = drawing.make_variant
    monkeypatch.setattr(drawing, "make_variant", lambda *a: singly.append(1) or one(*a))
    wide = load_config(WIDE)
    configs = [dataclasses.replace(wide, expand=dataclasses.replace(wide.expand, variants_per_seed=wanted)),
               load_config(narrow(tmp_path))]
    attempts = 0
    for config in configs:
        for seed in [seed_facts(s) for s in seeds_from_corpus(3, start=5, step=90)]:
            got_counts, want_counts = Counter(), Counter()
            got = draw_variants(seed, config, 3, got_counts)
            attempts += got_counts["variants_drawn"]
            want = one_at_a_time(seed, config, 3, want_counts)
            assert [signature(v) for v in got] == [signature(v) for v in want]
            assert got_counts == want_counts
    assert bool(walked) == (columns_from == 1 or wanted == 700 and columns_from == 128)
    assert bool(singly) == (columns_from > 1)  # (the mixed 700: its last attempts)
    if columns_from == 10**9:
        assert len(singly) == attempts  # one by one, not one attempt past the last needed
    assert want_counts["variants_no_rule_applied"] > 0  # the narrow config runs out
    assert want_counts["variants_drawn"] == 30 and len(want) <= 4


def test_plugin_rule_drawing_by_sample_takes_the_one_by_one_path() -> None:
    """A rule that draws through its own ``sample`` is asked through it, attempt by attempt."""
    class Sampled(Transpose):
        def sample(self, example, rng):  # type: ignore[no-untyped-def]
            return super().sample(example, rng)

    config = load_config(WIDE)
    spec = dataclasses.replace(config.rules[0], rule=Sampled(), p=0.5)
    config = dataclasses.replace(config, rules=(*config.rules, spec),
                                 expand=dataclasses.replace(config.expand, variants_per_seed=50))
    seed = seed_facts(seeds_from_corpus(1, start=11)[0])
    got_counts, want_counts = Counter(), Counter()
    got = draw_variants(seed, config, 1, got_counts)
    assert [signature(v) for v in got] == [signature(v) for v in one_at_a_time(seed, config, 1, want_counts)]
    assert got_counts == want_counts
    assert any(s.rule == "transpose" and i == len(v.steps) - 1 for v in got for i, s in enumerate(v.steps))


def test_choices_with_an_empty_group_are_refused_by_name() -> None:
    class Hollow(Transpose):
        name = "hollow"

        def choices(self, example):  # type: ignore[no-untyped-def]
            return Choices(((1, 2), ()), lambda k: {"semitones": k})

    config = load_config(DEFAULT_RULES)
    specs = [dataclasses.replace(config.rules[0], rule=Hollow())]
    seed = seed_facts(seeds_from_corpus(1)[0])
    with pytest.raises(ValueError, match="'hollow'"):
        ColumnWalk(seed, specs, Family()).draw(VariantStreams(0, seed.seed_id).columns(0, 8))
