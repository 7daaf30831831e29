"""Slim examples: the main process of a run keeps each variant without its melody and
melody text (``pipeline.SlimExamples``); the stages read the melody from the run's packed arrays and
the rejects file takes the spooled output line. Nothing written may change."""

from __future__ import annotations

import json
import pickle
from dataclasses import replace
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

import augment.near as near
import augment.pipeline as pipeline
from augment.codec import example_to_line
from augment.config import load_config
from augment.dedup import RowMelodies, _Tokens
from augment.editdist import token_ids
from augment.melody import GridArrays, Melody
from augment.near import melody_tokens
from augment.pipeline import NO_MELODY, annotate_keys, expand, expand_seed, lineage_head, read_seeds
from augment.reprompt import seed_facts
from augment.theory import MelodyArrays, PackedMelodies

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds" / "beethoven.jsonl"
WIDE = ROOT / "rules" / "wide.toml"


def slim(e, shared=None):  # type: ignore[no-untyped-def]
    """A slim example by its definition (``pipeline.SlimExamples`` makes a seed's at once):
    ``e`` without its melody (``NO_MELODY``) and melody text; with ``shared`` (one dict for a
    seed's variants), its equal hashable parts (messages, steps, key) one object."""
    from augment.example import Example, Message

    def one(x):  # type: ignore[no-untyped-def]
        if shared is None:
            return x
        try:
            return shared.setdefault(x, x)
        except TypeError:  # a message carrying a list or an object among its extra fields
            return x
    messages = list(e.messages)
    old = messages[e.melody_index]
    messages[e.melody_index] = Message(old.role, None, old.extra)
    return Example(e.id, tuple(map(one, messages)), NO_MELODY, e.melody_index, e.seed_id, e.source,
                   e.parent_id, tuple(map(one, e.steps)), None if e.key is None else one(e.key), e.facts)


def _files(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(out.iterdir())}


def _seeds(n: int):  # type: ignore[no-untyped-def]
    config = load_config(WIDE)
    seeds, _, _ = read_seeds([SEEDS], config.format, config.limits)
    return config, [seed_facts(s) for s in annotate_keys(seeds[:n])]


def test_slim_variants_are_the_variants_without_melody_and_melody_text(
        monkeypatch: pytest.MonkeyPatch) -> None:
    config, seeds = _seeds(8)
    slimmed = [expand_seed(seed, config, 11) for seed in seeds]
    monkeypatch.setattr(pipeline, "slimmed", list)
    whole = [expand_seed(seed, config, 11) for seed in seeds]
    for done, full in zip(slimmed, whole, strict=True):
        assert isinstance(done.arrays, PackedMelodies) and len(done.passed) > 5
        assert done.texts == full.texts  # the spooled lines were made of the whole examples
        row_of = {e.id: i for i, e in enumerate(done.passed)}
        for e, f in zip(done.passed, full.passed, strict=True):
            assert e.melody is NO_MELODY and e.messages[e.melody_index].content is None
            assert RowMelodies(done.arrays, row_of)(e) == f.melody
            assert replace(e, melody=f.melody, messages=f.messages) == f  # nothing else dropped
            assert e.prompt == f.prompt and e.messages[e.melody_index].role == "assistant"
        # the texts lie in id order, ``text_order`` naming the passed variant of each
        assert done.text_order is not None
        in_blob = [full.passed[k] for k in done.text_order.tolist()]
        assert sorted(done.text_order.tolist()) == list(range(len(full.passed)))
        assert [f.id for f in in_blob] == sorted(f.id for f in full.passed)
        at = 0
        for f, sizes in zip(in_blob, done.text_sizes, strict=True):
            assert done.texts[at:at + sizes[0]].decode("utf-8") == example_to_line(f)
            assert done.texts[at + sizes[0]:at + sizes[0] + sizes[1]].decode("utf-8") == lineage_head(f)
            at += sum(sizes)
        grid = RowMelodies(done.arrays, row_of).grid(done.passed[::-2])  # any rows, any order
        expected = GridArrays.of([f.melody for f in full.passed[::-2]])
        assert grid is not None and expected is not None
        for name in ("pitches", "ticks", "starts"):
            assert np.array_equal(getattr(grid, name), getattr(expected, name))


def test_a_seeds_slim_variants_share_their_equal_steps_messages_and_keys_across_processes() -> None:
    """Equal parts of one seed's slim variants are one object, still after the trip from a
    worker (pickle keeps one copy of an object met twice): the main process holds each once."""
    config, seeds = _seeds(3)
    for seed in seeds:
        done = pickle.loads(pickle.dumps(expand_seed(seed, config, 11)))
        steps = [s for e in done.passed for s in e.steps]
        messages = [m for e in done.passed for m in e.messages]
        keys = [e.key for e in done.passed if e.key is not None]
        for parts in (steps, messages, keys):
            distinct = {id(x) for x in parts}
            assert len(distinct) == len(set(parts)) < len(parts)  # one object per value


def test_slim_keeps_unhashable_parts_unshared() -> None:
    """A message may carry any JSON among its extra fields (a list, an object): it cannot be
    a key of the table of shared parts, and is kept as it is."""
    from augment.example import Message

    config, seeds = _seeds(1)
    variant = expand_seed(seeds[0], config, 11).passed[0]
    user = variant.messages[variant.user_index or 0]
    odd = replace(variant, messages=(*variant.messages[:-2],
                                     Message(user.role, user.content, (("tags", ["a", {"b": 1}]),)),
                                     variant.messages[-1]))
    first, second = pipeline.SlimExamples.of([odd, odd])
    assert first == second and first.messages[-2].extra == (("tags", ["a", {"b": 1}]),)
    assert first.steps[0] is second.steps[0]  # the hashable parts are still shared


def test_a_slim_example_is_never_fingerprinted_again() -> None:
    """Its melody and melody text are gone: fingerprinting it would give wrong keys, so it
    is refused (the run takes the fingerprints made before slimming)."""
    from augment.dedup import MelodyRelations, fingerprints
    from augment.near import NearParams

    config, seeds = _seeds(2)
    done = expand_seed(seeds[0], config, 5)
    with pytest.raises(ValueError, match="slim example"):
        fingerprints(done.passed[:3])
    with pytest.raises(ValueError, match="slim example"):
        MelodyRelations.of([seeds[1], *done.passed[:3]], NearParams())  # no fingerprints given


def test_row_melodies_equal_the_melodies_they_were_made_of() -> None:
    config, seeds = _seeds(20)
    melodies = [s.melody for s in seeds]
    melodies.append(Melody.from_pairs([[None, 1], [60, "1/2"], [None, "1/4"], [67, 3]]))
    arrays = MelodyArrays.of(melodies)
    packed = arrays.pack()
    assert packed is not None
    assert [packed.melody(i) for i in range(len(melodies))] == melodies
    assert [arrays.melody(i) for i in range(len(melodies))] == melodies
    assert [type(t) for t in packed.melody(0).ticks] == [type(t) for t in melodies[0].ticks]


def test_off_grid_variants_stay_whole() -> None:
    """A seed block whose melodies cannot be packed exactly (a fifth of a quarter, allowed
    by the rhythm grid here) keeps its variants' melodies."""
    config, seeds = _seeds(1)
    config = replace(config, checks=replace(config.checks, rhythm_grid_per_quarter=(8, 6, 5)))
    odd = Melody.from_pairs([(p, Fraction(1, 5) if i == 3 else d) for i, (p, d) in
                             enumerate(seeds[0].melody.pairs())])
    seed = seed_facts(replace(seeds[0], melody=odd))
    done = expand_seed(seed, config, 2)
    assert isinstance(done.arrays, MelodyArrays)
    assert done.passed and all(len(e.melody) for e in done.passed)
    assert all(e.messages[e.melody_index].content for e in done.passed)


@pytest.mark.parametrize("target", [None, 700])
def test_a_run_with_slim_examples_writes_what_a_run_with_whole_ones_writes(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, target: int | None) -> None:
    """Same files with and without slimming: dedup, near-duplicate verification, selection
    (``--target``), the leakage audit and the rejects file all read the melodies and lines
    kept elsewhere."""
    config = load_config(WIDE)
    config = replace(config, expand=replace(config.expand, variants_per_seed=130))
    slim = expand([SEEDS], config, tmp_path / "slim", workers=1, target=target)
    monkeypatch.setattr(pipeline, "slimmed", list)  # whole examples
    whole = expand([SEEDS], config, tmp_path / "whole", workers=1, target=target)
    assert _files(tmp_path / "slim") == _files(tmp_path / "whole")
    assert slim.counts == whole.counts
    c = slim.counts
    assert c["near_duplicates"] > 0 and c["exact_duplicates"] > 0 and c["invariant_duplicates"] > 0
    assert c["written_test"] > 0 and c["written_validation"] > 0
    if target is not None:
        assert c["select_not_selected"] > 0
    rejected = (tmp_path / "slim" / "rejected.jsonl").read_text(encoding="utf-8")
    assert '"stage": "dedup"' in rejected and '"content": null' not in rejected


def test_near_verification_reads_its_tokens_at_once_and_finds_what_one_by_one_finds(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Near-duplicate verification numbers the tokens of the melodies a candidate pair holds
    from their rows all at once (``RowMelodies.grid``, ``near.grid_tokens``): the same token
    texts as ``melody_tokens``, and the same files as tokenizing them one by one."""
    config, seeds = _seeds(4)
    done = [expand_seed(seed, config, 3) for seed in seeds]
    examples = [e for d in done for e in d.passed]
    rows = RowMelodies(PackedMelodies.join([d.arrays for d in done]),  # type: ignore[arg-type]
                       {e.id: i for i, e in enumerate(examples)})
    picked = list(range(len(examples)))[::-3]
    tok = _Tokens(examples, rows).tokenized(picked)
    assert tok is not None and len(tok) == len(picked)
    texts = [tuple(tok.vocab[t] for t in tok.flat[lo:hi].tolist())
             for lo, hi in zip(tok.starts[:-1].tolist(), tok.starts[1:].tolist(), strict=True)]
    assert texts == [melody_tokens(rows(examples[k])) for k in picked]

    config = load_config(WIDE)
    config = replace(config, expand=replace(config.expand, variants_per_seed=130))
    at_once = expand([SEEDS], config, tmp_path / "at_once", workers=1)
    calls: list[int] = []

    def one_by_one(seqs, picked):  # type: ignore[no-untyped-def]
        calls.append(len(picked))
        return token_ids([seqs[k] for k in picked])

    monkeypatch.setattr(near, "_tokenized", one_by_one)
    single = expand([SEEDS], config, tmp_path / "single", workers=1)
    assert single.counts == at_once.counts
    assert calls and at_once.counts["near_duplicates"] > 0
    assert _files(tmp_path / "at_once") == _files(tmp_path / "single")


def test_slim_examples_as_columns_are_the_slim_examples(monkeypatch: pytest.MonkeyPatch) -> None:
    """``SlimExamples`` (how a worker sends a seed's passed variants) gives ``slim`` of each,
    in its process and after the trip: the same values, equal parts one object, an
    unhashable part kept as it is."""
    from augment.example import Message

    config, seeds = _seeds(4)
    monkeypatch.setattr(pipeline, "slimmed", list)
    whole = [v for seed in seeds for v in expand_seed(seed, config, 11).passed]
    user = whole[3].messages[whole[3].user_index or 0]
    odd = [replace(whole[3], messages=(*whole[3].messages[:-2],  # a list among a message's fields
                                       Message(user.role, user.content, (("tags", ["a", {"b": 1}]),)),
                                       whole[3].messages[-1])) for _ in range(2)]
    whole += [*odd, replace(whole[0], facts=(("meter", (3, 4)),), key=None)]
    shared: dict[object, object] = {}
    want = [slim(e, shared) for e in whole]
    columns = pipeline.SlimExamples.of(whole)
    for got in (columns, pickle.loads(pickle.dumps(columns))):
        assert len(got) == len(want) and list(got) == want and got[2:5] == want[2:5] and got[-1] == want[-1]
        assert all(e.melody is NO_MELODY for e in got)
        for parts in ([s for e in got for s in e.steps], [m for e in got[:-3] for m in e.messages],
                      [e.key for e in got if e.key is not None], [e.messages for e in got[:-3]]):
            assert len({id(x) for x in parts}) == len(set(parts)) < len(parts)  # one object a value
        assert got[-3].messages[-2].extra == (("tags", ["a", {"b": 1}]),)
        assert got[-3].messages[-2] is not got[-2].messages[-2]  # (equal, but unhashable: not shared)
        assert got[-3].messages[-1] is got[-2].messages[-1]  # (the other parts still are)


def test_column_codes_made_block_by_block_are_those_of_all_the_candidates() -> None:
    """A run numbers its candidates' key names, modes, prompts and families as each seed's
    slim block comes in (``ColumnCoder``, a block by its ``representatives``): the same
    values and numbers as ``ColumnCodes.of`` all of them, also for blocks holding unknown
    keys, no prompt, a note between prompt and answer, an unhashable message, and empty."""
    from augment.diversity import ColumnCoder, ColumnCodes
    from augment.example import Message

    config, seeds = _seeds(6)
    blocks: list[list[object]] = [list(seeds)]
    for seed in seeds:
        blocks.append(list(expand_seed(seed, config, 5).passed))
    odd = blocks[2][:40]
    first = odd[0]
    odd[3] = replace(first, id="v_nokey", key=None)
    odd[7] = replace(first, id="v_noprompt", messages=(Message("assistant", None),), melody_index=0)
    odd[9] = replace(first, id="v_note", melody_index=2, messages=(
        Message("user", "Play it in F# minor."), Message("system", "a note"), first.messages[2]))
    listed_part = Message("user", "x", (("parts", [1]),))  # (unhashable)
    odd[11] = replace(first, id="v_list", messages=(first.messages[0], listed_part, first.messages[2]))
    blocks.insert(1, odd)
    blocks.append([])
    slim_blocks: list[object] = [blocks[0]] + [pipeline.SlimExamples.of(b) for b in blocks[1:]]
    coder = ColumnCoder()
    for block in slim_blocks:
        coder.add(block)  # type: ignore[arg-type]
    every = [e for block in slim_blocks for e in block]  # type: ignore[attr-defined]
    made, expected = coder.codes(), ColumnCodes.of(every)
    assert made.values == expected.values
    assert all(np.array_equal(a, b) for a, b in zip(made.codes, expected.codes, strict=True))
    assert "?" in made.values[0] and "" in made.values[2] and "Play it in F# minor." in made.values[2]
    assert len(made.codes[0]) == len(every) > 200
    assert all(len(b.representatives()[0]) < len(b) for b in slim_blocks[2:-1])  # type: ignore[attr-defined]
    # each slim example's representative has its fields, and they are first met in order
    for block in slim_blocks[1:]:
        firsts, row = block.representatives()  # type: ignore[attr-defined]
        listed = list(block)  # type: ignore[call-overload]
        assert [listed.index(f) for f in firsts] == sorted(listed.index(f) for f in firsts)
        for e, k in zip(listed, row.tolist(), strict=True):
            f = firsts[k]
            assert (e.messages, e.melody_index, e.seed_id, e.source, e.key, e.facts) == \
                (f.messages, f.melody_index, f.seed_id, f.source, f.key, f.facts)
        assert len(firsts) == len({(e.messages, e.key, e.facts) for e in listed if e.id != "v_list"}) \
            + any(e.id == "v_list" for e in listed)


def test_a_worker_sets_its_rejections_aside_in_the_runs_named_spool(tmp_path: Path) -> None:
    """With ``rejects_path`` (a run's named spool of rejections), a seed's rejections come
    back without their lines: those were appended to that spool, one block sorted by id,
    each rejection numbering its own line there from 0; stage, reasons and id as without it,
    and each line the one the rejection would have written. Appended blocks from several
    seeds keep their places, and the run's spool reads each line back."""
    from augment.output import Spool
    from augment.pipeline import Rejected

    config, seeds = _seeds(12)
    kept = [expand_seed(seed, config, 11) for seed in seeds]
    assert sum(len(done.rejected) for done in kept) > 20 and all(done.rejects_at < 0 for done in kept)
    with Spool(folder=tmp_path) as rejects:
        assert rejects.path is not None
        for seed, plain in zip(seeds, kept, strict=True):
            done = expand_seed(seed, config, 11,
                               rejects_path=rejects.path)
            want = sorted(plain.rejected, key=Rejected.key)
            assert [(r.stage, r.reasons, r.key(), r.line) for r in done.rejected] == \
                [(r.stage, r.reasons, r.key(), None) for r in want]
            if not want:
                assert done.rejects_at < 0
                continue
            assert [r.spooled for r in done.rejected] == list(range(len(want)))
            assert done.rejects_sizes is not None and done.rejects_at >= 0
            first = rejects.add_placed(done.rejects_at, done.rejects_sizes, done.rejects_size)
            assert [rejects.raw(first + k, 0).decode("utf-8") for k in range(len(want))] == \
                [r.as_line() for r in want]
            assert done.passed.ids == plain.passed.ids and done.texts == plain.texts


def test_equal_steps_of_different_seeds_are_one_object_in_the_process_that_receives_them(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Each seed's results travel in a pickle of their own, so pickle's memo shares a step
    only within one seed; the receiving process (a run's main process) shares equal steps of
    every seed it receives (``example._STEPS``), made with their texts. Steps whose params
    ``Step.of`` does not share (a float or bool among them) stay apart."""
    import augment.example as example_module
    from augment.example import Step

    config, seeds = _seeds(4)
    sent = [pickle.dumps(expand_seed(seed, config, 11)) for seed in seeds]
    monkeypatch.setattr(example_module, "_STEPS", {})  # as in a process that drew none of them
    received = [pickle.loads(blob) for blob in sent]
    steps = [s for done in received for e in done.passed for s in e.steps]
    by_value: dict[Step, set[int]] = {}
    for s in steps:
        by_value.setdefault(s, set()).add(id(s))
    per_seed = [{s for e in done.passed for s in e.steps} for done in received]
    shared_across = [v for v in by_value if sum(v in seen for seen in per_seed) > 1]
    assert len(shared_across) > 10  # the seeds do draw many of the same steps
    assert all(len(ids) == 1 for ids in by_value.values())  # one object per value
    for s in by_value:
        assert s._json is not None and s.json_text() == json.dumps(s.as_dict(), sort_keys=True, default=str)
    # Values that are equal but written differently are not one step.
    made = [Step("x", (("a", v),)) for v in (1, True, 1.0)]
    for s in made:
        s.json_text()
    back = [pickle.loads(pickle.dumps(s)) for s in made]
    assert [s.json_text() for s in back] == ['{"params": {"a": 1}, "rule": "x"}',
                                             '{"params": {"a": true}, "rule": "x"}',
                                             '{"params": {"a": 1.0}, "rule": "x"}']
    assert back[1] is not pickle.loads(pickle.dumps(made[1]))  # (True: not shared)
    assert back[0] is pickle.loads(pickle.dumps(made[0]))  # (an int: shared)
