"""Leakage audit: held-out melodies with an exact, transposed or near copy in train fail."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from augment import dataset
from augment.audit import assert_no_leaks, find_leaks
from augment.calibrate import ornament
from augment.cli import cli
from augment.codec import FormatConfig, format_melody, parse_melody, seed_id_for
from augment.errors import AugmentError
from augment.melody import scale_durations, transpose
from augment.near import NearParams
from augment.pipeline import read_seeds
from dataset_util import example, seeds_from_corpus

ROOT = Path(__file__).resolve().parent.parent
BEETHOVEN = ROOT / "seeds" / "beethoven.jsonl"
RULES = ROOT / "rules" / "default.toml"
PARAMS = NearParams(shingle_size=2, lsh_threshold=0.3, similarity=0.85)


def test_clean_splits_pass() -> None:
    seeds = seeds_from_corpus(12, start=200, step=5)
    assert find_leaks({"train": seeds[:8], "validation": seeds[8:10], "test": seeds[10:]}, PARAMS) == []


@pytest.mark.parametrize("kind", ["exact", "transposed", "tempo", "ornament"])
def test_each_kind_of_leak_is_caught(kind: str) -> None:
    seeds = seeds_from_corpus(6, start=300, step=3)
    m = seeds[0].melody
    leaked = {"exact": m, "transposed": transpose(m, -3), "tempo": scale_durations(m, 2),
              "ornament": ornament(m, np.random.default_rng(2))}[kind]
    assert leaked is not None
    test = [example(leaked, "A different prompt.")]
    problems = find_leaks({"train": seeds, "test": test}, PARAMS)
    assert len(problems) == 1 and seeds[0].id in problems[0]
    with pytest.raises(AugmentError, match="leakage audit failed: 1 held-out"):
        assert_no_leaks({"train": seeds, "test": test}, PARAMS)


def _leaky_run(tmp_path: Path) -> tuple[list[str], Path]:
    """Seed lines where line 1's melody comes again a tone higher under its own prompt;
    invariant duplicates across families are kept and the copy's key is held out (test)."""
    first = json.loads(BEETHOVEN.read_text().splitlines()[0])
    melody = parse_melody(first["messages"][2]["content"])
    first["messages"][1]["content"] = "Generate a melody in D major."
    first["messages"][2]["content"] = format_melody(transpose(melody, 2))
    seeds = tmp_path / "seeds.jsonl"
    seeds.write_text(BEETHOVEN.read_text() + json.dumps(first) + "\n")
    rules = tmp_path / "rules.toml"
    text = RULES.read_text().replace("[split]", '[split]\nholdout_keys = ["D major"]')
    rules.write_text(text + '\n[dedup]\nacross_families = "exact"\n')
    return ["expand", str(seeds), "--rules", str(rules), "--out", str(tmp_path / "out"), "--seed", "1"], \
        tmp_path / "out"


def test_tune_grouping_keeps_a_transposed_seed_copy_on_the_held_out_side(tmp_path: Path) -> None:
    args, out = _leaky_run(tmp_path)
    r = CliRunner().invoke(cli, args)
    assert r.exit_code == 0, r.output
    rows = [json.loads(x) for x in (out / "lineage.jsonl").read_text().splitlines()]
    first_id = seed_id_for(read_seeds([BEETHOVEN], FormatConfig())[0][0].messages)
    original = [x for x in rows if x["id"] == first_id]
    copy = [x for x in rows if x["key"] == "D major" and x["seed_id"] == x["id"]
            and x["source"].endswith(":85")]
    assert original and copy and original[0]["split"] == copy[0]["split"] == "test"


def test_leak_the_grouping_would_prevent_fails_the_whole_expand(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With tune grouping switched off, the copy goes to test and its original stays in
    train: the audit stops the run with a one-line error and nothing is written."""
    args, out = _leaky_run(tmp_path)
    monkeypatch.setattr(dataset, "tune_groups",
                        lambda examples, relations, tunes=None, families=None:
                        {e.seed_id: e.seed_id for e in examples})
    r = CliRunner().invoke(cli, args)
    assert r.exit_code == 2 and "Traceback" not in r.output
    first = r.stderr.splitlines()[0]
    assert first.startswith("error: leakage audit failed: 1 held-out example(s) share a tune "
                            "with training data; nothing was written")
    assert "transposed/tempo-scaled copy of train" in r.stderr
    assert not out.exists()


def _signed(examples: list, params: NearParams):  # type: ignore[no-untyped-def]
    from augment.dedup import Buckets, PrintTable, fingerprints

    block, made = fingerprints(examples, params)
    row_of = {e.id: i for i, e in enumerate(examples)}
    return PrintTable(block, row_of), Buckets(Buckets.signed_by(params), made, row_of)


@pytest.mark.parametrize("kind", ["clean", "exact", "transposed", "near", "near_twice"])
def test_audit_with_buckets_finds_what_the_full_audit_finds(
        kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """With LSH buckets made earlier the audit first looks only at the training melodies that
    share a band bucket with a held-out one; when that finds nothing it stops (no full
    relation of train), else the full audit names the leaks: the same lines either way."""
    from augment import audit

    seeds = list(seeds_from_corpus(80, start=100, step=2))
    train, held = seeds[:70], seeds[70:]
    m = train[5].melody
    copy = {"clean": None, "exact": m, "transposed": transpose(m, 5),
            "near": ornament(m, np.random.default_rng(4)),
            "near_twice": ornament(train[9].melody, np.random.default_rng(1))}[kind]
    if copy is not None:
        held = [*held, example(copy, "Another prompt.")]
    if kind == "near_twice":  # its class has two training members
        train = [*train, example(transpose(train[9].melody, 2), "A third prompt.")]
    by_split = {"train": train, "test": held[:4], "validation": held[4:]}
    prints, buckets = _signed([*train, *held], PARAMS)
    full = find_leaks(by_split, PARAMS)
    calls = []
    real = audit.MelodyRelations.of

    def counted(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(len(args[0]))
        return real(*args, **kwargs)

    monkeypatch.setattr(audit.MelodyRelations, "of", counted)
    fast = find_leaks(by_split, PARAMS, prints=prints, buckets=buckets)
    assert fast == full
    # With each split's rows of the tables given (as a run passes them): the same lines.
    split_rows = {name: np.array([prints.row_of[e.id] for e in examples])
                  for name, examples in by_split.items()}
    assert find_leaks(by_split, PARAMS, prints=prints, buckets=buckets, rows=split_rows) == full
    if kind == "clean":
        assert full == [] and calls == []  # decided without relating the whole train side
    else:
        assert len(full) == 1 and calls == [len(train) + len(held)] * 2
        assert kind.split("_")[0] in full[0]  # exact / transposed / near duplicate


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(-(1 << 63), (1 << 63) - 1), max_size=300),
       st.lists(st.integers(-(1 << 63), (1 << 63) - 1), max_size=40),
       st.integers(0, 1 << 30), st.sampled_from([np.int64, np.uint64]))
def test_isin_few_equals_isin_with_values_sharing_low_bits(values: list[int], few: list[int], shift: int,
                                                          dtype: type) -> None:
    """The bitmap of the few values' low bits only rules values out: values that share the
    low bits of one of the few (high bits differing) and the few themselves must be told
    apart exactly as ``np.isin`` does."""
    from augment.audit import FEW_BITS, isin_few

    mask = (1 << 64) - 1
    few_a = np.array([v & mask for v in few], dtype=np.uint64).astype(dtype)
    # each of the few, again, and with its high bits changed: same low bits, another value
    twins = [(v + ((shift + 1) << FEW_BITS)) & mask for v in few]
    many = np.array([v & mask for v in [*values, *few, *twins]], dtype=np.uint64).astype(dtype)
    np.random.default_rng(len(values)).shuffle(many)
    assert isin_few(many, few_a).tolist() == np.isin(many, few_a).tolist()
