"""End to end: augment expand on the bundled seeds with the default rules."""

from __future__ import annotations

import hashlib
import json
from functools import partial
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from augment.cli import cli
from augment.codec import FormatConfig, parse_line
from augment.melody import transpose
from augment.prompt import stated_key
from augment.validate import validate_file
from conftest import DEFAULT_RULES, SEEDS


def expand(out: Path, *extra: str, seeds: Path = SEEDS, rules: Path = DEFAULT_RULES):
    args = ["expand", str(seeds), "--rules", str(rules), "--out", str(out), *extra]
    return CliRunner().invoke(cli, args, catch_exceptions=False)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("expand") / "out"
    result = expand(out, "--seed", "7")
    assert result.exit_code == 0, result.output
    return out


def load(path: Path) -> list:
    return [json.loads(line) for line in path.read_text().splitlines()]


def examples(path: Path) -> list:
    out = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        example, findings = parse_line(line, FormatConfig(), str(path), number)
        assert example is not None, findings
        out.append(example)
    return out


def seeds_by_id() -> dict:
    return {e.seed_id: e for e in examples(SEEDS)}


def test_grows_the_seeds_at_least_tenfold(run_dir: Path) -> None:
    n_seeds = len(SEEDS.read_text().splitlines())
    n_out = sum(len((run_dir / f"{s}.jsonl").read_text().splitlines())
                for s in ("train", "validation", "test"))
    assert n_out >= 10 * n_seeds


def test_every_output_line_validates(run_dir: Path) -> None:
    for name in ("train", "validation", "test"):
        assert [f for f in validate_file(run_dir / f"{name}.jsonl") if f.severity == "error"] == []


def test_prompts_name_the_key_of_their_own_melody(run_dir: Path) -> None:
    """The key in a variant's prompt is its seed's key moved by the interval the melody moved."""
    seeds = seeds_by_id()
    lineage = [r for r in load(run_dir / "lineage.jsonl") if r["split"] == "train"]
    outputs = examples(run_dir / "train.jsonl")
    assert len(lineage) == len(outputs)
    checked = 0
    for ex, record in zip(outputs, lineage, strict=True):
        seed = seeds[record["seed_id"]]
        shift = ex.melody.notes[0] - seed.melody.notes[0]
        assert transpose(seed.melody, shift) == ex.melody
        seed_key = stated_key(seed.prompt)
        if seed_key is None:
            assert stated_key(ex.prompt) is None
            continue
        assert stated_key(ex.prompt) == seed_key.transposed(shift), (ex.prompt, seed.prompt, shift)
        checked += shift != 0
    assert checked >= 100


def test_lineage_matches_outputs_and_families_stay_on_one_side(run_dir: Path) -> None:
    lineage = load(run_dir / "lineage.jsonl")
    sides: dict[str, set[str]] = {}
    for record in lineage:
        sides.setdefault(record["seed_id"], set()).add(record["split"])
    assert all(len(s) == 1 for s in sides.values())
    counts = {name: len((run_dir / f"{name}.jsonl").read_text().splitlines())
              for name in ("train", "validation", "test")}
    assert {name: sum(r["split"] == name for r in lineage) for name in counts} == counts
    assert counts["test"] >= 1 and counts["validation"] >= 1
    for record in lineage:
        if record["rules"]:
            assert record["parent_id"] is not None
            assert all(step["rule"] == "transpose" and step["params"]["semitones"] != 0
                       for step in record["rules"])


def test_manifest_is_complete_and_hashes_match(run_dir: Path) -> None:
    manifest = json.loads((run_dir / "manifest.json").read_text())
    assert manifest["seed"] == 7
    assert manifest["config"]["rule"][0]["name"] == "transpose"
    assert {"numpy", "music21", "click", "python", "augment"} <= set(manifest["versions"])
    assert manifest["counts"]["input_lines"] == len(SEEDS.read_text().splitlines())
    for name, info in manifest["files"].items():
        assert hashlib.sha256((run_dir / name).read_bytes()).hexdigest() == info["sha256"]
    written = {p.name for p in run_dir.iterdir()}
    assert written == set(manifest["files"]) | {"manifest.json"}


def test_same_seed_gives_byte_identical_files(run_dir: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    assert expand(again, "--seed", "7").exit_code == 0
    for path in run_dir.iterdir():
        assert (again / path.name).read_bytes() == path.read_bytes(), path.name
    other = tmp_path / "other"
    assert expand(other, "--seed", "8").exit_code == 0
    assert (other / "train.jsonl").read_bytes() != (run_dir / "train.jsonl").read_bytes()


def test_input_order_does_not_change_the_output(run_dir: Path, tmp_path: Path) -> None:
    shuffled = tmp_path / "reversed.jsonl"
    shuffled.write_text("\n".join(reversed(SEEDS.read_text().splitlines())) + "\n")
    out = tmp_path / "rev"
    assert expand(out, "--seed", "7", seeds=shuffled).exit_code == 0
    for name in ("train.jsonl", "validation.jsonl", "test.jsonl"):
        assert (out / name).read_bytes() == (run_dir / name).read_bytes()


def test_unchanged_seed_text_is_written_back_verbatim(tmp_path: Path) -> None:
    seed = tmp_path / "seed.jsonl"
    content = "melody_pitch_duration_data: [(60, 0.5),(62,0.25), (64, 0.25), (65, 0.5), (67,1), (60, 2)]"
    seed.write_text(json.dumps({"messages": [{"role": "user", "content": "Anything in C major?"},
                                             {"role": "assistant", "content": content}]}) + "\n")
    rules = tmp_path / "none.toml"
    rules.write_text("[expand]\nvariants_per_seed = 0\n[split]\ntest = 0.0\nvalidation = 0.0\n")
    out = tmp_path / "out"
    assert expand(out, seeds=seed, rules=rules).exit_code == 0
    written = json.loads((out / "train.jsonl").read_text())
    assert written["messages"][1]["content"] == content


def test_bad_seed_line_fails_before_writing_or_is_set_aside(tmp_path: Path) -> None:
    lines = SEEDS.read_text().splitlines()
    bad = tmp_path / "bad.jsonl"
    bad.write_text("\n".join([*lines[:5], "{broken", *lines[5:]]) + "\n")
    out = tmp_path / "fail"
    result = CliRunner().invoke(cli, ["expand", str(bad), "--rules", str(DEFAULT_RULES), "--out", str(out)])
    assert result.exit_code == 2
    assert f"{bad}:6: invalid_json" in result.output
    assert not out.exists()
    out = tmp_path / "skip"
    result = expand(out, "--on-error", "skip", seeds=bad)
    assert result.exit_code == 0, result.output
    rejected = load(out / "rejected.jsonl")
    assert [r["source"] for r in rejected if r["stage"] == "read"] == [f"{bad}:6"]
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["counts"]["input_lines"] == len(lines) + 1


def test_out_dir_may_not_hold_the_seeds(tmp_path: Path) -> None:
    seeds = tmp_path / "seeds.jsonl"
    seeds.write_text(SEEDS.read_text())
    result = CliRunner().invoke(cli, ["expand", str(seeds), "--rules", str(DEFAULT_RULES),
                                      "--out", str(tmp_path)])
    assert result.exit_code == 2
    assert "contains the seed file" in result.output


def test_expand_report_writes_a_report_that_verify_accepts(tmp_path: Path) -> None:
    out = tmp_path / "rep"
    result = expand(out, "--seed", "2", "--report")
    assert result.exit_code == 0, result.output
    html = (out / "report.html").read_text()
    assert html.startswith("<!DOCTYPE html>") or "<html" in html[:200]
    assert "data:image/png;base64," in html and "data:audio/wav;base64," in html
    assert CliRunner().invoke(cli, ["verify", str(out)]).exit_code == 0


def test_lineage_lines_made_in_two_parts_equal_the_whole_record() -> None:
    """The per-seed stage writes each lineage record but its split (``lineage_head``); the
    writer closes it (``lineage_line``): the same text as ``dumps`` of the whole record."""
    from augment.example import Step
    from augment.output import dumps
    from augment.pipeline import lineage_head, lineage_line
    from dataset_util import seeds_from_corpus

    seeds = seeds_from_corpus(6)
    seeds[0] = seeds[0].__class__(*(getattr(seeds[0], f) for f in ("id", "messages", "melody",
                                  "melody_index", "seed_id")), source='Bäch "é"\\n', key=None)
    variants = [s.derive(transpose(s.melody, 2), Step.of("transpose", {"semitones": 2}),
                         None if s.key is None else s.key.transposed(2)) for s in seeds]
    for e in [*seeds, *variants]:
        for split in ("train", "validation", "test"):
            whole = {"id": e.id, "split": split, "seed_id": e.seed_id, "parent_id": e.parent_id,
                     "source": e.source, "key": None if e.key is None else e.key.name,
                     "rules": [s.as_dict() for s in e.steps]}
            assert lineage_line(lineage_head(e), split) == dumps(whole)
    assert json.loads(lineage_line(lineage_head(variants[1]), "test"))["rules"][0]["rule"] == "transpose"


def test_draws_that_repeat_a_step_reuse_its_example_and_give_the_same_variants() -> None:
    """``make_variant`` with the seed's ``Family`` (what earlier draws worked out) gives the
    variants it gives without it (ids, melodies, keys, facts) and leaves each generator in
    the same state, on real melodies and every rule, drawn by choices or, for a rule that
    redefines ``sample``, through it; and it applies the rules fewer times."""
    import dataclasses
    from collections import Counter

    from augment.config import load_config
    from augment.drawing import Family, make_variant, variant_rng
    from augment.pipeline import seed_facts
    from augment.rules.transpose import Transpose
    from augment.seeding import VariantStreams
    from dataset_util import seeds_from_corpus

    class SampledTranspose(Transpose):  # draws as Transpose does, but through ``sample``
        def sample(self, example, rng):  # type: ignore[no-untyped-def]
            return super().sample(example, rng)

    config = load_config(DEFAULT_RULES.parent / "wide.toml")
    applied = Counter()

    def counting(spec):  # the spec's rule, counting its applications
        rule = spec.rule

        class Counted(type(rule)):  # type: ignore[misc]
            def apply(self, melody, **params):  # type: ignore[no-untyped-def]
                applied[spec.rule.name] += 1
                return rule.apply(melody, **params)

        counted = object.__new__(Counted)
        counted.__dict__.update(getattr(rule, "__dict__", {}))
        return dataclasses.replace(spec, rule=counted)

    specs = [counting(s) for s in config.rules]
    sampled = SampledTranspose(**dataclasses.asdict(next(s.rule for s in specs
                                                         if s.rule.name == "transpose")))
    specs.append(counting(dataclasses.replace(next(s for s in specs if s.rule.name == "transpose"),
                                              rule=sampled, p=0.3)))
    assert [s.by_choices for s in specs] == [True] * (len(specs) - 1) + [False]

    def draw(seed, family):  # type: ignore[no-untyped-def]
        out = []
        for i in range(400):
            rng = variant_rng(3, seed.seed_id, i)
            v = make_variant(seed, specs, rng, family)
            out.append((v and (v.id, v.melody, v.key, v.facts, v.steps), rng.bit_generator.state))
        return out

    for seed in [seed_facts(s) for s in seeds_from_corpus(12, step=40)]:
        family = Family()
        applied.clear()
        plain = draw(seed, None)
        without = sum(applied.values())
        applied.clear()
        assert draw(seed, family) == plain
        # Every (parent, step) made once; the draws that repeat one apply no rule for it.
        assert len(family.made) <= sum(applied.values()) < without
        assert family.choices and family.drawn
        # The same variants from the draw streams (few outputs worked out: most draws step
        # past them), which hand over to numpy's generator for the rule asked by ``sample``
        streams = VariantStreams(3, seed.seed_id, outputs=4)
        streamed = [make_variant(seed, specs, streams.stream(i), Family()) for i in range(400)]
        assert [v and (v.id, v.melody, v.key, v.facts, v.steps) for v in streamed] == \
               [v for v, _ in plain]


def test_spool_gives_back_each_entrys_texts_exactly(monkeypatch: pytest.MonkeyPatch) -> None:
    """Output lines wait on disk (``output.Spool``) until written: every text comes back as
    added, non-ASCII, empty and escaped ones too, in any order, after later additions."""
    import os

    import augment.output as output
    from augment.output import Spool, pack_texts

    texts = [(json.dumps({"n": i, "t": "é♪" * (i % 5)}, ensure_ascii=False), "" if i % 7 else "x\n")
             for i in range(2000)]
    with Spool(width=2) as spool:
        assert [spool.add(*pair) for pair in texts] == list(range(len(texts)))
        assert spool.get(3) == texts[3]
        assert spool.add("after a read", "") == len(texts)
        texts.append(("after a read", ""))
        shuffled = sorted(range(len(texts)), key=lambda k: hash(str(k)))
        for k in shuffled:
            assert spool.get(k) == texts[k]
            assert spool.raw(k, 1) == texts[k][1].encode("utf-8")
            assert spool.raw(k, 0) == texts[k][0].encode("utf-8")
        for bad in (-1, len(texts)):
            with pytest.raises(IndexError):
                spool.raw(bad, 0)
        # many entries at once, as the per-seed stage sends them
        block = [(f"line {i} ♪", "{" * i) for i in range(50)]
        assert spool.add_block(*pack_texts(block, 2)) == len(texts)
        texts.extend(block)
        assert all(spool.get(len(texts) - 50 + i) == v for i, v in enumerate(block))
        # a block laid out in another order than its entries' (a seed's texts by id)
        placed = [(f"entry {i} ♪", "z" * (i % 3)) for i in range(6)]
        order = np.array([3, 0, 5, 1, 4, 2])
        first = spool.add_block(*pack_texts([placed[k] for k in order.tolist()], 2), order)
        assert first == len(texts) and [spool.get(first + i) for i in range(6)] == placed
        assert list(spool.raws(np.arange(first, first + 6), 1)) == [t[1].encode() for t in placed]
        texts.extend(placed)
        with pytest.raises(ValueError, match="order"):
            spool.add_block(*pack_texts(placed[:2], 2), np.array([1, 1]))
        with pytest.raises(ValueError):
            spool.add_block(b"abc", [[1, 1]])  # sizes that do not add up
        with pytest.raises(ValueError):
            spool.add_block(b"abc", [[3]])  # one text where an entry holds two
        with pytest.raises(ValueError):
            pack_texts([("a", "b"), ("c",), ("d", "e", "f")], 2)  # rows of 1 and 3 texts
        assert [x.tolist() for x in pack_texts([("ab", "♪")], 2)[1:]] == [[[2, 3]]]
        assert len(spool) == len(texts)
        # read in bulk, as the write stage does: each field of each entry, None for -1
        entries = [*shuffled, -1, *range(len(texts) - 50, len(texts))]
        assert spool.add("unflushed ♪", "y") == len(texts)  # added after the last read
        texts.append(("unflushed ♪", "y"))
        entries.append(len(texts) - 1)
        for field in (0, 1):
            got = list(spool.raws(np.array(entries), field))
            assert got == [texts[k][field].encode("utf-8") if k >= 0 else None for k in entries]
        monkeypatch.setattr(output, "READ_BATCH", 7)  # entries read a few at a time
        assert list(spool.raws(entries, 1)) == [texts[k][1].encode("utf-8") if k >= 0 else None
                                                for k in entries]
        monkeypatch.setattr(output, "READ_GAP", -1)  # no span joins two: each read alone, in file order
        assert list(spool.raws(entries, 0)) == [texts[k][0].encode("utf-8") if k >= 0 else None
                                                for k in entries]
        assert list(spool.raws([-1] * 9, 0)) == [None] * 9 and list(spool.raws([], 0)) == []
        for bad_entries, field in (([len(texts)], 0), ([-2], 0), ([0], 2)):
            with pytest.raises(IndexError):
                next(spool.raws(bad_entries, field))
        with Spool() as empty:
            assert list(empty.raws([-1, -1], 0)) == [None, None] and len(empty) == 0
        with Spool(width=3) as triple:
            triple.add("a", "bc", "def")
            assert [next(triple.raws([0], f)) for f in range(3)] == [b"a", b"bc", b"def"]
        with pytest.raises(ValueError):
            spool.add("one text")
        fd = spool._file.fileno()
    with pytest.raises(OSError):
        os.fstat(fd)  # closed with the block: nothing left behind


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3000), st.integers(0, 90)), max_size=60),
       st.integers(0, 200), st.sampled_from([1, 4, 7, 1 << 13]))
def test_reads_joined_across_small_gaps_give_each_text_as_read_alone(
        spans: list[tuple[int, int]], gap: int, window: int) -> None:
    """``preads`` with ``gap`` reads texts lying close together in one ``pread`` and cuts
    them apart: each text must be exactly what its own ``pread`` gives, in the order asked,
    overlapping, repeated, empty and adjacent ones too, whatever the window."""
    import os
    import tempfile
    from unittest import mock

    import augment.output as output

    data = bytes(range(256)) * 13  # 3,328 bytes
    with tempfile.TemporaryFile() as file:
        file.write(data)
        file.flush()
        offsets = np.array([o for o, _ in spans], dtype=np.int64)
        sizes = np.array([min(n, len(data) - o) for o, n in spans], dtype=np.int64)
        alone = [os.pread(file.fileno(), n, o) for o, n in zip(offsets.tolist(), sizes.tolist(), strict=True)]
        with mock.patch.object(output, "READ_WINDOW", window):
            assert list(output.preads(file.fileno(), offsets, sizes, gap)) == alone
    assert all(len(t) == n for t, n in zip(alone, sizes.tolist(), strict=True))


def test_close_texts_are_read_together_and_far_ones_alone(monkeypatch: pytest.MonkeyPatch) -> None:
    """A window of texts from a few spans takes one read a span; texts far apart keep one
    read each (joining them would not save reads)."""
    import os
    import tempfile

    import augment.output as output

    calls: list[int] = []
    real = os.pread

    def counted(fd: int, n: int, at: int) -> bytes:
        calls.append(n)
        return real(fd, n, at)

    with tempfile.TemporaryFile() as file:
        file.write(os.urandom(1 << 20))
        file.flush()
        monkeypatch.setattr(output.os, "pread", counted)
        # 3 spans of 100 texts of 50 bytes, back to back, asked for in a shuffled order
        near = np.concatenate([base + 50 * np.arange(100) for base in (0, 300_000, 700_000)])
        near = near[np.random.default_rng(1).permutation(len(near))]
        got = list(output.preads(file.fileno(), near, np.full(len(near), 50), output.READ_GAP))
        assert len(calls) == 3 and got == [real(file.fileno(), 50, o) for o in near.tolist()]
        calls.clear()
        far = np.arange(0, 1 << 20, 10_000, dtype=np.int64)
        list(output.preads(file.fileno(), far, np.full(len(far), 50), output.READ_GAP))
        assert len(calls) == len(far)


def _append_block(path: str, rows: list) -> tuple:  # type: ignore[type-arg]
    """A pool process's share of a named spool: its rows appended there (``append_texts``)."""
    from augment.output import append_texts, pack_texts

    blob, sizes = pack_texts(rows, 2)
    return append_texts(path, blob), sizes, len(blob)


def test_a_named_spool_keeps_what_other_processes_append_to_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The pool's processes append their seeds' lines to the run's named spool themselves
    (``append_texts``) and the run records where each block landed (``add_placed``): every
    text comes back as made, blocks from two processes and from this one interleaved in
    the file in whatever order they landed. A write the disk refuses names the spool file."""
    import augment.output as output
    from augment.output import Spool, pack_texts
    from augment.parallel import local_pool

    blocks = [[(f"seed {b} line {i} ♪", f'{{"head": "{b}.{i}"') for i in range(b % 7 * 40)]
              for b in range(40)]
    with Spool(width=2, folder=tmp_path) as spool, local_pool(2) as run:
        assert spool.path is not None
        texts = []
        for b, (offset, sizes, size) in enumerate(run(partial(_append_block, spool.path), blocks)):
            if b % 10 == 3:  # this process adds blocks of its own between them
                mine = [(f"own {b} ♪", "")] * 3
                assert spool.add_block(*pack_texts(mine, 2)) == len(texts)
                texts.extend(mine)
            assert spool.add_placed(offset, sizes, size) == len(texts)
            texts.extend(blocks[b])
        order = sorted(range(len(texts)), key=lambda k: hash(str(k)))
        for field in (0, 1):
            assert list(spool.raws(order, field)) == [texts[k][field].encode("utf-8") for k in order]
        with pytest.raises(ValueError):
            spool.add_placed(0, np.array([[1, 1]]), 3)  # sizes that do not add up
        with Spool() as unnamed, pytest.raises(ValueError):
            unnamed.add_placed(0, np.array([[1, 1]]), 2)  # no file others can append to

        def no_space(fd, data):  # type: ignore[no-untyped-def]
            raise OSError(28, "No space left on device")

        monkeypatch.setattr(output.os, "write", no_space)
        with pytest.raises(OSError, match="No space left") as refused:
            spool.add_block(*pack_texts([("a", "b")], 2))
        assert refused.value.filename == spool.path
        monkeypatch.setattr(output.os, "write", lambda fd, data: len(data) - 1)  # a short write
        with pytest.raises(OSError, match="kept") as short:
            output.append_texts(spool.path, b"xyz")
        assert short.value.filename == spool.path


def test_a_spooled_file_is_written_by_another_process_as_this_one_would(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A pool's process writes a file of lines from a spool's named file (``write_spooled``):
    the lines at the given places, those made here put in, each closed by its suffix; the
    same bytes and sha256 as ``write_atomic`` of the lines, in batches too. The named file
    goes with the spool."""
    import hashlib

    import augment.output as output
    from augment.output import Spool, SpooledFile, pack_texts, write_spooled
    from augment.parallel import local_pool

    rows = [(f"line {i} ♪", f'{{"head": {i}') for i in range(300)]
    with Spool(width=2, folder=tmp_path) as spool:
        assert spool.path is not None and Path(spool.path).parent == tmp_path
        spool.add_block(*pack_texts(rows, 2))
        entries = np.array([5, -1, 299, 0, 5, -1, *range(100, 130)])
        made = {1: b"made one", 5: b"made two \xe2\x99\xaa"}
        want = [made[k] if e < 0 else rows[e][0].encode("utf-8") for k, e in enumerate(entries)]
        offsets, sizes = spool.places(entries, 0)
        assert sizes[1] == 0 and (offsets[entries >= 0] > -1).all()
        ends = np.arange(len(entries)) % 3
        suffixes = (b"}", b', "x": 1}', b"")
        heads = [made[k] if e < 0 else rows[e][1].encode("utf-8") for k, e in enumerate(entries)]
        closed = [h + suffixes[c] for h, c in zip(heads, ends.tolist(), strict=True)]
        jobs = [SpooledFile(str(tmp_path / "a.jsonl"), spool.path, offsets, sizes, made),
                SpooledFile(str(tmp_path / "b.jsonl"), spool.path, *spool.places(entries, 1), made,
                            ends, suffixes)]
        with local_pool(2) as run:
            digests = list(run(write_spooled, jobs))
        for name, lines, digest in zip(("a", "b"), (want, closed), digests, strict=True):
            data = (tmp_path / f"{name}.jsonl").read_bytes()
            assert data == b"".join(line + b"\n" for line in lines)
            assert digest == hashlib.sha256(data).hexdigest()
        # windows of a few lines (made lines on their edges), read as spans or one by one
        for window, gap in ((4, 4096), (3, 0), (1, 4096), (7, 1 << 20)):
            monkeypatch.setattr(output, "READ_WINDOW", window)
            monkeypatch.setattr(output, "READ_GAP", gap)
            assert [write_spooled(job) for job in jobs] == digests
        # a file of one spool's texts, with lines made here: from this process or another
        own = {1: made[1], 5: made[5]}
        job = spool.file_of(tmp_path / "c.jsonl", entries, own)
        assert spool.write_file(job) == digests[0] and (tmp_path / "c.jsonl").read_bytes() == \
            (tmp_path / "a.jsonl").read_bytes()
        with local_pool(2) as run:
            assert list(run(write_spooled, [job])) == [digests[0]]
        for wrong in ({1: made[1]}, {**own, 2: b"both"}):  # a line neither spooled nor made, or both
            with pytest.raises(ValueError, match="neither in the spool nor made"):
                spool.file_of(tmp_path / "d.jsonl", entries, wrong)
        monkeypatch.setattr(output, "READ_BATCH", 4)  # (what Spool.raws reads at once)
        spooled = [w for w, e in zip(want, entries.tolist(), strict=True) if e >= 0]
        assert list(spool.raws(entries[entries >= 0], 0)) == spooled
        with pytest.raises(IndexError):
            spool.places(np.array([300]), 0)
        path = spool.path
    assert not Path(path).exists()
    with Spool(width=2) as unnamed:  # (a run without a pool: an unnamed file, written from here)
        unnamed.add_block(*pack_texts(rows, 2))
        job = unnamed.file_of(tmp_path / "e.jsonl", entries, {1: made[1], 5: made[5]})
        assert unnamed.write_file(job) == digests[0]
        assert (tmp_path / "e.jsonl").read_bytes() == (tmp_path / "a.jsonl").read_bytes()


def test_a_run_leaves_the_garbage_collector_as_it_found_it(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """During a run the collector runs less often and, from the dataset stages on, skips the
    candidates (frozen); afterwards thresholds and the frozen set are as before, also when
    the run fails."""
    import gc

    import augment.pipeline as pipeline
    from augment.config import load_config
    from augment.errors import AugmentError

    before = gc.get_threshold()
    seen = []
    real = pipeline.build_splits

    def spying(*args, **kwargs):  # type: ignore[no-untyped-def]
        seen.append((gc.get_threshold()[0], gc.get_freeze_count()))
        return real(*args, **kwargs)

    monkeypatch.setattr(pipeline, "build_splits", spying)
    config = load_config(DEFAULT_RULES)
    pipeline.expand([SEEDS], config, tmp_path / "a")
    assert seen[0][0] == 100_000 and seen[0][1] > 1000  # the candidates (and more) frozen
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0

    def failing(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise AugmentError("stop")

    monkeypatch.setattr(pipeline, "build_splits", failing)
    with pytest.raises(AugmentError):
        pipeline.expand([SEEDS], config, tmp_path / "b")
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0


def test_rejections_set_aside_keep_their_line_on_disk_and_their_reasons_in_memory() -> None:
    """A big run moves each rejection's line to a spool (``Rejected.set_aside``) and keeps the
    stage, reasons and sort key for the counts and the order of rejected.jsonl."""
    from augment.output import Spool
    from augment.pipeline import Rejected
    from dataset_util import example, seeds_from_corpus

    made = [Rejected("checks", [f"range: reason {i} ♪"], example=example(s.melody)).compact()
            for i, s in enumerate(seeds_from_corpus(30))]
    made.append(Rejected("read", ["invalid_json: x"], source="seeds.jsonl:3", text="{oops"))
    with Spool() as spool:
        aside = [r.set_aside(spool) for r in made]
        assert len(spool) == len(made)
        for r, a in zip(made, aside, strict=True):
            assert a.line is None and a.spooled is not None and a.example is None
            assert (a.stage, a.reasons, a.key()) == (r.stage, r.reasons, r.key())
            assert spool.raw(a.spooled, 0).decode("utf-8") == r.as_line()
        assert json.loads(made[-1].as_line())["text"] == "{oops" and aside[-1].key() == ""
        together = Rejected.set_all_aside(made, spool)  # one block: same records, next entries
        assert len(spool) == 2 * len(made)
        for a, b in zip(aside, together, strict=True):
            assert (b.stage, b.reasons, b.key(), b.line) == (a.stage, a.reasons, a.key(), None)
            assert a.spooled is not None and b.spooled == a.spooled + len(made)
            assert spool.raw(b.spooled, 0) == spool.raw(a.spooled, 0)
        assert Rejected.set_all_aside([], spool) == [] and len(spool) == 2 * len(made)


def test_write_atomic_writes_every_chunk_in_order_and_leaves_nothing_when_it_fails(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Lines are joined a chunk at a time and a thread writes and hashes each chunk while the
    next is made: the file and its sha256 are those of the lines in order; an error from the
    lines or from a write leaves neither the file nor a temporary one."""
    import hashlib

    import augment.output as output

    monkeypatch.setattr(output, "WRITE_CHUNK", 1000)  # many chunks, many waiting for the thread
    lines = [f"line {i} ♪ " + "x" * (i % 97) for i in range(20_000)]
    whole = "".join(line + "\n" for line in lines).encode("utf-8")
    target = tmp_path / "out.jsonl"
    mixed = (line.encode("utf-8") if i % 2 else line for i, line in enumerate(lines))
    assert output.write_atomic(target, mixed) == hashlib.sha256(whole).hexdigest()
    assert target.read_bytes() == whole

    def failing_lines():  # type: ignore[no-untyped-def]
        yield from lines[:5_000]
        raise RuntimeError("bad line")

    with pytest.raises(RuntimeError, match="bad line"):
        output.write_atomic(tmp_path / "a.jsonl", failing_lines())
    real, calls = output._write, []

    def failing_write(handle, digest, data):  # type: ignore[no-untyped-def]
        calls.append(len(data))
        if len(calls) == 30:
            raise OSError(28, "No space left on device")
        real(handle, digest, data)

    monkeypatch.setattr(output, "_write", failing_write)
    with pytest.raises(OSError, match="No space") as failed:
        output.write_atomic(tmp_path / "b.jsonl", lines)
    assert failed.value.filename == str(tmp_path / "b.jsonl")  # named for the user
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.jsonl"]


def test_written_examples_in_id_order_are_known_without_sorting_again(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """``build_splits`` hands the lineage file its id order (``Built.by_id``) from the one
    sort of the kept ids: the order ``ragged.text_order`` gives the written ids, with all
    three splits written and examples held out of training (a held-out key) left out."""
    import augment.pipeline as pipeline
    from augment import ragged
    from augment.config import load_config

    rules = tmp_path / "rules.toml"
    rules.write_text(DEFAULT_RULES.read_text().replace("[split]", '[split]\nholdout_keys = ["D major"]'))
    built = []
    real = pipeline.build_splits

    def spying(*args, **kwargs):  # type: ignore[no-untyped-def]
        built.append(real(*args, **kwargs))
        return built[-1]

    monkeypatch.setattr(pipeline, "build_splits", spying)
    result = pipeline.expand([SEEDS], load_config(rules), tmp_path / "out")
    (b,) = built
    written = [e for name in ("train", "validation", "test") for e in b.by_split[name]]
    assert all(b.by_split[name] for name in ("train", "validation", "test"))
    assert any(stage == "split" for stage, _, _ in b.dropped)
    assert b.by_id.tolist() == ragged.text_order([e.id for e in written]).tolist()
    lineage = (tmp_path / "out" / "lineage.jsonl").read_text().splitlines()
    lineage_ids = [json.loads(line)["id"] for line in lineage]
    assert lineage_ids == sorted(e.id for e in written) and result.counts["written_train"] > 0


def test_splits_read_from_the_family_codes_are_those_read_from_each_example(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A run's ``build_splits`` reads each kept example's side from the candidates' family
    codes (its rows known); without them it reads each example's family: the
    same splits, drops and id order, each example on its family's side, a held-out key's
    train examples dropped."""
    import augment.pipeline as pipeline
    from augment.config import load_config

    rules = tmp_path / "rules.toml"
    rules.write_text(DEFAULT_RULES.read_text().replace("[split]", '[split]\nholdout_keys = ["D major"]'))
    calls = []
    real = pipeline.build_splits

    def spying(*args, **kwargs):  # type: ignore[no-untyped-def]
        assert kwargs["codes"] is not None and kwargs["rows"] is not None
        run = real(*args, **kwargs)
        # (without the rows, the fingerprints' rows are not trusted: the families are read)
        plain = real(*args, **{k: v for k, v in kwargs.items() if k not in ("rows", "codes")})
        calls.append((run, plain))
        return run

    monkeypatch.setattr(pipeline, "build_splits", spying)
    pipeline.expand([SEEDS], load_config(rules), tmp_path / "out")
    ((run, plain),) = calls
    for b in (run, plain):
        assert all(b.by_split[name] for name in ("train", "validation", "test"))
        assert all(b.split_of[e.seed_id] == name for name in b.by_split for e in b.by_split[name])
        assert not any(e.key is not None and e.key.name == "D major" for e in b.by_split["train"])
    assert {n: [e.id for e in run.by_split[n]] for n in run.by_split} == \
        {n: [e.id for e in plain.by_split[n]] for n in plain.by_split}
    assert [(s, e.id, r) for s, e, r in run.dropped] == [(s, e.id, r) for s, e, r in plain.dropped]
    assert any(s == "split" for s, _, _ in run.dropped)
    assert run.by_id.tolist() == plain.by_id.tolist()


def test_held_out_rules_keep_their_variants_out_of_train_and_only_theirs_in_held_out(
        tmp_path: Path) -> None:
    """``[split] holdout_rules``: held-out seeds are augmented too, and of their variants
    only those a held-out rule made are used (in validation/test); no training example
    was made by a held-out rule; the other variants of held-out seeds are counted unused."""
    from augment.config import load_config
    from augment.pipeline import expand

    wide = Path(__file__).resolve().parent.parent / "rules" / "wide.toml"
    rules = tmp_path / "rules.toml"
    rules.write_text(wide.read_text().replace("[split]", '[split]\nholdout_rules = ["invert"]'))
    config = load_config(rules)
    result = expand([SEEDS], config, tmp_path / "out")
    lineage = [json.loads(line) for line in (tmp_path / "out" / "lineage.jsonl").read_text().splitlines()]
    by_split: dict[str, list[dict]] = {}
    for record in lineage:
        by_split.setdefault(record["split"], []).append(record)
    made_by = [{step["rule"] for step in r["rules"]} for r in by_split["train"]]
    assert made_by and not any("invert" in rules_ for rules_ in made_by)
    held = by_split.get("validation", []) + by_split.get("test", [])
    variants = [r for r in held if r["rules"]]
    assert variants and all(any(s["rule"] == "invert" for s in r["rules"]) for r in variants)
    assert any(not r["rules"] for r in held)  # the held-out seeds themselves
    assert result.counts["holdout_variants_unused"] > 0
    rejected = (tmp_path / "out" / "rejected.jsonl").read_text()
    assert "holdout_rule: made by a rule held out of training" in rejected


@pytest.mark.parametrize("workers", [1, 2])
def test_manifest_diversity_is_the_report_of_the_candidates_and_of_the_written(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workers: int) -> None:
    """The manifest's diversity before and after are ``diversity_report`` of the run's
    candidates and of its written examples, with their melodies (the run hands the report
    the orders and rows it knows, so that it sorts and reads less; the values are those)."""
    import dataclasses

    import augment.pipeline as pipeline
    from augment import diversity
    from augment.config import load_config

    seen = []
    real = pipeline.build_splits

    def spying(candidates, *args, **kwargs):  # type: ignore[no-untyped-def]
        built = real(candidates, *args, **kwargs)
        seen.append((list(candidates), kwargs["melody_of"], built))
        return built

    monkeypatch.setattr(pipeline, "build_splits", spying)
    result = pipeline.expand([SEEDS], load_config(DEFAULT_RULES), tmp_path / "out", workers=workers)
    ((candidates, melody_of, built),) = seen
    written = [e for name in ("train", "validation", "test") for e in built.by_split[name]]
    assert len(candidates) > 400 and len(written) > 400  # (vendi_score then picks by id order)

    def report(examples):  # type: ignore[no-untyped-def]
        return diversity.diversity_report([dataclasses.replace(e, melody=melody_of(e)) for e in examples])
    assert result.manifest["diversity"] == {"before": report(candidates), "after": report(written)}
