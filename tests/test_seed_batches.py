"""The per-seed stage's batch steps equal their one-at-a-time definitions.

The per-seed stage lays a seed's variants out once (``melody.GridArrays``), writes their
melody texts together (``codec.format_melodies``) and fingerprints them together: the
invariant tokens of all their melodies in numpy (``near.batch_tokens``), the invariant
and exact digests with the shared parts of their JSON texts made once
(``near.invariant_digests``, ``dedup.exact_digests``); it writes each lineage record's
head by hand (``pipeline.lineage_head``). Each is compared here with the definition it
replaces, on real melodies (corpus seeds and the variants ``rules/wide.toml`` draws from
them), on random ones, and where the batch path must step aside.
"""

from __future__ import annotations

import json
from dataclasses import replace
from fractions import Fraction
from functools import cache
from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from augment.codec import FormatConfig, example_to_line, format_melodies, format_melody, melody_json
from augment.dedup import PrintBlock, exact_digests, exact_key, fingerprints
from augment.editdist import Tokenized, token_ids
from augment.example import Example, Message
from augment.melody import GridArrays, Melody, scale_durations
from augment.near import (
    NearParams,
    band_buckets,
    batch_tokens,
    invariant_digests,
    invariant_key,
    melody_tokens,
    signatures_of,
)
from dataset_util import corpus, line_by_json_dumps, reprompted_variants, tokens_by_definition

ROOT = Path(__file__).resolve().parent.parent


@cache
def variants() -> tuple[Example, ...]:
    """Corpus seeds and the variants wide.toml draws from them, re-prompted (pipeline order)."""
    return tuple(reprompted_variants(40, 9, 25))


def texts_of(tok: Tokenized) -> list[tuple[str, ...]]:
    return [tuple(str(tok.vocab[k]) for k in tok.row(i)) for i in range(len(tok))]


def assert_batch_tokens_are_the_tokens(melodies: list[Melody]) -> None:
    tok = batch_tokens(melodies)
    assert tok is not None
    expected = [melody_tokens(m) for m in melodies]
    assert texts_of(tok) == expected
    assert np.array_equal(tok.starts, token_ids(expected).starts)
    assert len(set(tok.vocab)) == len(tok.vocab) and tok.flat.dtype == np.int32


def test_batch_tokens_of_real_melodies_and_variants_are_their_tokens() -> None:
    melodies = [m for _, m in corpus()] + [v.melody for v in variants()]
    assert any(None in m.pitches for m in melodies)  # rests, and rests first, are met
    assert any(m.pitches[0] is None for m in melodies if m.pitches)
    assert_batch_tokens_are_the_tokens(melodies)
    for lo in range(0, len(melodies), 997):  # seed-sized batches too
        assert_batch_tokens_are_the_tokens(melodies[lo:lo + 997])
    assert [tokens_by_definition(m) for m in melodies[:300]] == \
        texts_of(batch_tokens(melodies[:300]))  # type: ignore[arg-type]


def test_the_signatures_and_buckets_of_batch_tokens_equal_those_of_the_token_tuples() -> None:
    melodies = [v.melody for v in variants()]
    params = NearParams()
    tok = batch_tokens(melodies)
    assert tok is not None
    tuples = [melody_tokens(m) for m in melodies]
    assert np.array_equal(signatures_of(tok, params), signatures_of(tuples, params))
    assert np.array_equal(band_buckets(signatures_of(tok, params), params),
                          band_buckets(signatures_of(tuples, params), params))


pairs = st.lists(st.tuples(st.one_of(st.none(), st.integers(0, 127)),
                           st.sampled_from([1, 2, 3, 6, 12, 16, 24, 36, 48, 72, 96, 144, 192, 5000])),
                 max_size=30)


@settings(max_examples=300, deadline=None)
@given(st.lists(pairs, min_size=1, max_size=10))
def test_batch_tokens_of_random_melodies(melodies_pairs: list[list[tuple[int | None, int]]]) -> None:
    melodies = [Melody.from_ticks(tuple(p for p, _ in ps), tuple(t for _, t in ps)) for ps in melodies_pairs]
    tok = batch_tokens(melodies)
    expected = [melody_tokens(m) for m in melodies]
    if tok is None:  # only when there is no token at all
        assert not any(expected)
        return
    assert texts_of(tok) == expected
    assert invariant_digests(melodies, tok) == [bytes.fromhex(invariant_key(m)) for m in melodies]


def test_batch_tokens_step_aside_off_the_grid_and_out_of_range() -> None:
    melodies = [m for _, m in corpus()[:50]]
    odd = scale_durations(melodies[0], Fraction(4, 5))
    assert not odd.is_on_grid()
    assert batch_tokens(melodies + [odd]) is None
    assert batch_tokens([Melody.from_ticks((60, 62), (12, 1 << 21))]) is None  # a tick count too big
    assert batch_tokens([Melody.from_ticks((60,), (12,))]) is None  # no token
    assert batch_tokens([]) is None


def test_invariant_digests_equal_the_invariant_keys() -> None:
    melodies = [m for _, m in corpus()] + [v.melody for v in variants()] + [Melody.from_ticks((), ())]
    tok = batch_tokens(melodies)
    assert tok is not None
    expected = [bytes.fromhex(invariant_key(m)) for m in melodies]
    assert invariant_digests(melodies, tok) == expected
    assert invariant_digests(melodies, token_ids([melody_tokens(m) for m in melodies])) == expected
    # each melody alone too, and melodies without tokens (empty, one note) or with a rest
    # first among the others
    odd = [Melody.from_ticks((), ()), Melody.from_ticks((None, 60, 62), (48, 48, 24)),
           Melody.from_ticks((64,), (48,)), melodies[3]]
    for batch in ([melodies[5]], odd, odd[::-1], melodies[:50] + odd):
        tok = batch_tokens(batch)
        assert tok is not None
        assert invariant_digests(batch, tok) == [bytes.fromhex(invariant_key(m)) for m in batch]
    # tokens given with texts that are not ASCII (none is a melody's)
    given = [("é:1", "+2:1"), (), ("+1:2", "ü", "R:1")]
    assert invariant_digests(odd[1:] + odd[:1], token_ids([list(t) for t in given] + [[]])) == \
        [bytes.fromhex(invariant_key(m, t)) for m, t in zip(odd[1:] + odd[:1], [*given, ()], strict=True)]


def test_exact_digests_equal_the_exact_keys() -> None:
    examples = list(variants())
    melody = examples[0].melody
    odd_texts = ['Say "hi"\\n\ttabs, é, 旋律, \x00\x1f, \u2028', "plain"]
    for text in odd_texts:
        messages = (Message("system", text), Message("user", text + " in C major"),
                    Message("assistant", "melody_pitch_duration_data: []"))
        examples.append(Example.seed(messages, melody, 2, "odd"))
    # a content that is not a string (a list of parts) takes exact_key itself
    parts = (Message("user", [{"type": "text", "text": "hi"}]),  # type: ignore[arg-type]
             Message("assistant", "melody_pitch_duration_data: []"))
    examples.append(Example.seed(parts, melody, 1, "parts"))
    assert exact_digests(examples) == b"".join(bytes.fromhex(exact_key(e)) for e in examples)


ticks_any = st.one_of(st.integers(1, 1 << 40), st.fractions(Fraction(1, 10**6), Fraction(10**6)))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.one_of(st.none(), st.integers(-(1 << 70), 1 << 70)), ticks_any), max_size=20),
       st.sampled_from([FormatConfig(), FormatConfig("whole", "null"), FormatConfig("quarter", "null")]))
def test_melody_json_is_the_json_of_the_melody_text(pairs_: list[tuple[int | None, object]],
                                                     fmt: FormatConfig) -> None:
    """``melody_json`` quotes the text without scanning it: right only because no text
    ``format_melody`` writes holds a character JSON escapes (any pitch, any duration)."""
    melody = Melody.from_ticks(tuple(p for p, _ in pairs_), tuple(t for _, t in pairs_))  # type: ignore[misc]
    text = format_melody(melody, fmt)
    assert melody_json(melody, fmt) == json.dumps(text, ensure_ascii=False) == json.dumps(text)


def test_output_lines_of_re_prompted_variants_equal_json_dumps() -> None:
    """A variant's melody message says the very text ``format_melody`` wrote, which
    ``example_to_line`` quotes as it is; any other text (an equal one that is another
    object, one with characters JSON escapes) or a melody message with extra keys goes the
    general way."""
    examples = list(variants())
    quoted = [e for e in examples if e.melody._text is not None
              and e.messages[e.melody_index].content is e.melody._text[1]]
    assert len(quoted) > 0.9 * len(examples)
    base = quoted[0]
    at = base.melody_index
    text = base.messages[at].content
    assert text is not None
    copied = base.with_content(at, "".join(list(text)))  # equal, not the same object
    assert copied.messages[at].content is not text
    escaped = base.with_content(at, text + '\n"')  # (as a file may say it: JSON escapes these)
    extra = replace(base, messages=tuple(replace(m, extra=(("weight", 1),)) if i == at else m
                                         for i, m in enumerate(base.messages)))
    known: dict[tuple[str, str], str | None] = {}
    for example in (*examples, copied, escaped, extra):
        assert example_to_line(example) == line_by_json_dumps(example) == example_to_line(example, known)


def test_fingerprints_equal_their_definition() -> None:
    examples = list(variants())
    odd = replace(examples[1], melody=scale_durations(examples[1].melody, Fraction(4, 5)))
    params = NearParams()
    for batch in (examples, examples[:1], examples[5:9] + [odd]):
        tokens = [melody_tokens(e.melody) for e in batch]
        expected = PrintBlock(b"".join(bytes.fromhex(exact_key(e)) for e in batch),
                              b"".join(bytes.fromhex(invariant_key(e.melody)) for e in batch),
                              np.array([len(t) for t in tokens], dtype=np.int64))
        block, buckets = fingerprints(batch, params)
        assert list(block) == list(expected)
        assert buckets is not None
        assert np.array_equal(buckets, band_buckets(signatures_of(tokens, params), params))


def test_grid_arrays_lay_the_melodies_out_and_take_rows() -> None:
    melodies = [m for _, m in corpus()[:200]] + [Melody.from_ticks((), ())]
    grid = GridArrays.of(melodies)
    assert grid is not None and len(grid) == len(melodies)
    for i in (0, 7, 199, 200):
        lo, hi = grid.starts[i], grid.starts[i + 1]
        assert grid.pitches[lo:hi].tolist() == [-1 if p is None else p for p in melodies[i].pitches]
        assert grid.ticks[lo:hi].tolist() == list(melodies[i].ticks)
    rows = [200, 3, 3, 150, 0]
    sub = grid.subset(rows)
    again = GridArrays.of([melodies[r] for r in rows])
    assert again is not None
    for a, b in ((sub.pitches, again.pitches), (sub.ticks, again.ticks), (sub.starts, again.starts)):
        assert np.array_equal(a, b)
    assert GridArrays.of(melodies + [scale_durations(melodies[0], Fraction(4, 5))]) is None


def test_melody_texts_made_together_equal_the_texts_made_one_by_one() -> None:
    def fresh(m: Melody) -> Melody:  # an equal melody that has written no text yet
        return Melody.from_ticks(m.pitches, m.ticks)

    melodies = [m for _, m in corpus()] + [v.melody for v in variants()] + [Melody.from_ticks((), ())]
    melodies.append(Melody.from_ticks((60, None, 127, 0), (1, 2, 3 * 192, 48 * 64 * 4)))
    for fmt in (FormatConfig(), FormatConfig("whole", "null"), FormatConfig("quarter", "null")):
        batch = [fresh(m) for m in melodies]
        format_melodies(batch, fmt)
        assert all(m._text is not None and m._text[0] == fmt for m in batch)
        assert [m._text[1] for m in batch] == [format_melody(fresh(m), fmt) for m in melodies]
        assert [format_melody(m, fmt) for m in batch] == [m._text[1] for m in batch]
    # off the grid: nothing is written ahead, format_melody writes each text as before
    odd = [fresh(m) for m in melodies[:20]] + [scale_durations(melodies[0], Fraction(4, 5))]
    format_melodies(odd, FormatConfig())
    assert all(m._text is None for m in odd)


def test_lineage_heads_written_by_hand_equal_dumps_of_the_record() -> None:
    from augment.example import Step
    from augment.output import dumps
    from augment.pipeline import lineage_head

    def by_dumps(e: Example) -> str:
        return dumps({"id": e.id, "seed_id": e.seed_id, "parent_id": e.parent_id, "source": e.source,
                      "key": None if e.key is None else e.key.name,
                      "rules": [s.as_dict() for s in e.steps]})[:-1]

    examples = list(variants())
    assert {s.rule for e in examples for s in e.steps} >= {"transpose", "ornament", "rhythm", "time_scale"}
    base = examples[1]
    odd_steps = [Step.of("transpose", {"semitones": 2.0}), Step.of("x", {"name": "ré"}),
                 Step.of("x", {"flag": True}), Step("x", (("n", None),)), Step.of("x", {})]
    odd = [replace(base, steps=base.steps + (step,)) for step in odd_steps]
    odd.append(replace(base, source='Bäch "é"\\n\t', key=None, parent_id=None))
    for e in examples + odd:
        assert lineage_head(e) == by_dumps(e)


def test_rejection_records_written_by_hand_equal_dumps_of_the_record() -> None:
    """A rejected example's record (``Rejected.compact``) is written out by hand when its
    fields are str and its steps simple; the text is ``dumps`` of the record either way."""
    from augment.codec import example_to_line
    from augment.example import Step
    from augment.output import dumps
    from augment.pipeline import Rejected, _steps_json

    examples = list(variants())[:400]
    base = examples[1]
    odd_steps = [Step.of("transpose", {"semitones": 2.0}), Step.of("x", {"name": "ré"}),
                 Step("x", (("n", None),))]
    odd = [replace(base, steps=base.steps + (step,)) for step in odd_steps]
    odd.append(replace(base, source='Bäch "é"\n\t', key=None, parent_id=None))
    reasons = [["range: pitch 99 above 96"], ["a", 'b "quoted" é ♪\n'], []]
    for k, e in enumerate(examples + odd):
        for line in (None, example_to_line(e), 'given ♪ "line"'):
            r = Rejected("checks" if k % 2 else "reprompt", reasons[k % 3], example=e)
            assert r.compact(line).line == dumps(r.record(line))
    # most go the hand-written way; the odd steps (a float, non-ASCII text, None) do not
    assert sum(_steps_json(e.steps) is not None for e in examples) > 350
    assert [_steps_json(e.steps) is None for e in odd] == [True, True, True, False]
    # a step's own answer (remembered on it): dumps' text of its dict, or None
    assert [step.dumps_text() for step in odd_steps] == [None, None, None]
    for step in {step for e in examples for step in e.steps}:
        assert step.dumps_text() == json.dumps(step.as_dict(), sort_keys=True, ensure_ascii=False)
    plain = Rejected("read", ["invalid_json: x"], source="seeds.jsonl:3", text="{oops é")
    assert plain.compact().line == dumps(plain.record())


def test_packed_melodies_from_the_grid_equal_the_packed_arrays() -> None:
    from augment.theory import MelodyArrays, PackedMelodies

    melodies = [m for _, m in corpus()[:100]] + [v.melody for v in variants()[:500]]
    for batch in (melodies, melodies[:1], [Melody.from_ticks((None,), (12,))]):
        grid = GridArrays.of(batch)
        assert grid is not None
        got, want = PackedMelodies.of_grid(grid), MelodyArrays.of(batch).pack()
        assert got is not None and want is not None
        for name in ("pitches", "ticks", "starts"):
            a, b = getattr(got, name), getattr(want, name)
            assert a.dtype == b.dtype and np.array_equal(a, b)
    for empty in ([], [Melody.from_ticks((), ())]):  # no event: packs (to no event), both ways
        grid = GridArrays.of(empty)
        assert grid is not None
        got, want = PackedMelodies.of_grid(grid), MelodyArrays.of(empty).pack()
        assert got is not None and want is not None and len(got) == len(want) == len(empty)
        assert got.pitches.dtype == np.int8 and got.ticks.dtype == np.int32 and not len(got.ticks)
        assert np.array_equal(got.starts, want.starts)
    too_long = [Melody.from_ticks((60,), (2**31,))]  # ticks beyond an int32
    grid = GridArrays.of(too_long)
    assert grid is not None
    assert PackedMelodies.of_grid(grid) is None and MelodyArrays.of(too_long).pack() is None
