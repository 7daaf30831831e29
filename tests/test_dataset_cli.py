"""CLI of the dataset stages: expand --target, dedup, split, verify; determinism."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from augment.calibrate import PROBES
from augment.cli import cli
from augment.codec import FormatConfig, example_to_line, parse_line
from augment.melody import transpose
from dataset_util import corpus, example, lines_by_definition, record_calls

ROOT = Path(__file__).resolve().parent.parent
SEEDS = str(ROOT / "seeds" / "beethoven.jsonl")
RULES = str(ROOT / "rules" / "default.toml")


def _files(d: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(d.iterdir())}


def test_expand_is_byte_identical_and_verifies(tmp_path: Path) -> None:
    runner = CliRunner()
    for name in ("a", "b"):
        r = runner.invoke(cli, ["expand", SEEDS, "--rules", RULES, "--out", str(tmp_path / name),
                                "--seed", "3", "--target", "300"])
        assert r.exit_code == 0, r.output
    assert _files(tmp_path / "a") == _files(tmp_path / "b")
    assert "leakage audit: passed" in r.output and "selected: 300" in r.output
    manifest = json.loads((tmp_path / "a" / "manifest.json").read_text())
    assert sum(manifest["counts_per_split"].values()) == 300 and manifest["target"] == 300
    assert manifest["dedup_calibration"]["probe_recall"] >= 0.9
    assert set(manifest["diversity"]) == {"before", "after"}
    first = json.loads((tmp_path / "a" / "train.jsonl").read_text().splitlines()[0])
    assert list(first) == ["messages"]
    assert runner.invoke(cli, ["verify", str(tmp_path / "a")]).exit_code == 0
    (tmp_path / "a" / "lineage.jsonl").write_text("")
    r = runner.invoke(cli, ["verify", str(tmp_path / "a")])
    assert r.exit_code == 1 and "lineage.jsonl: changed" in r.output


def test_a_target_above_what_the_seeds_give_says_so(tmp_path: Path) -> None:
    """--target above every passed variant keeps them all, and the summary says the target
    was not reached (not "by diversity"); the manifest records the target asked."""
    r = CliRunner().invoke(cli, ["expand", SEEDS, "--rules", RULES, "--out", str(tmp_path / "o"),
                                 "--target", "5000", "--workers", "1"])
    assert r.exit_code == 0, r.output
    manifest = json.loads((tmp_path / "o" / "manifest.json").read_text())
    written = sum(manifest["counts_per_split"].values())
    assert manifest["target"] == 5000 and 500 < written < 5000
    selected = manifest["counts"]["select_selected"]
    assert f"selected: all {selected}, fewer than --target 5000 (the seeds and rules give no more: " \
           "raise variants_per_seed or add seeds)" in r.output
    assert "by diversity" not in r.output
    plain = CliRunner().invoke(cli, ["expand", SEEDS, "--rules", RULES, "--out", str(tmp_path / "p"),
                                     "--workers", "1"])
    assert plain.exit_code == 0 and "selected:" not in plain.output
    assert json.loads((tmp_path / "p" / "manifest.json").read_text())["target"] is None


def test_holdout_keys_never_reach_training(tmp_path: Path) -> None:
    rules = tmp_path / "r.toml"
    rules.write_text(Path(RULES).read_text().replace(
        "[split]", '[split]\nholdout_keys = ["F# major", "Eb minor"]'))
    r = CliRunner().invoke(cli, ["expand", SEEDS, "--rules", str(rules), "--out", str(tmp_path / "o")])
    assert r.exit_code == 0, r.output
    rows = [json.loads(line) for line in (tmp_path / "o" / "lineage.jsonl").read_text().splitlines()]
    assert not [x for x in rows if x["split"] == "train" and x["key"] in ("F# major", "Eb minor")]
    rejected = (tmp_path / "o" / "rejected.jsonl").read_text()
    assert "holdout_key: F# major is held out of training" in rejected


def _dataset(tmp_path: Path) -> tuple[Path, int]:
    """80 real tunes, 10 of them again transposed, 10 again with a one-note edit."""
    rng = np.random.default_rng(0)
    tunes = corpus()[::6][:80]
    lines = [example_to_line(example(m, f"Tune {src}.")) for src, m in tunes]
    lines += [example_to_line(example(transpose(m, 2), f"Again {src}.")) for src, m in tunes[:10]]
    for src, m in tunes[10:20]:
        edited = PROBES["one_note"](m, rng)
        assert edited is not None
        lines.append(example_to_line(example(edited, f"Edited {src}.")))
    path = tmp_path / "data.jsonl"
    path.write_text("\n".join(lines) + "\n")
    return path, len(lines)


def test_dedup_command_removes_transposed_and_near_copies(tmp_path: Path) -> None:
    path, n = _dataset(tmp_path)
    out = tmp_path / "dedup.jsonl"
    r = CliRunner().invoke(cli, ["dedup", str(path), "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert "10 transposed/tempo" in r.output
    kept = out.read_text().splitlines()
    assert n - 20 <= len(kept) <= n - 18  # the 10 transposed and (nearly all) 10 edited copies go
    assert kept == [line for line in path.read_text().splitlines() if line in set(kept)]


def test_split_command_keeps_copies_together_and_meets_fractions(tmp_path: Path) -> None:
    path, n = _dataset(tmp_path)
    r = CliRunner().invoke(cli, ["split", str(path), "--out", str(tmp_path / "s")])
    assert r.exit_code == 0, r.output
    rows = [json.loads(x) for x in (tmp_path / "s" / "lineage.jsonl").read_text().splitlines()]
    side_of_group: dict[str, set[str]] = {}
    for x in rows:
        side_of_group.setdefault(x["group"], set()).add(x["split"])
    assert all(len(s) == 1 for s in side_of_group.values())
    # The 10 transposed copies always join their tune; LSH may miss one or two of the 10
    # one-note copies (Jaccard ~0.82-0.86 at 14 bands of 9 rows: 0.14 expected misses, two
    # or more in ~0.5% of hash seeds), as in the dedup test above.
    assert len(side_of_group) <= n - 18
    for name in ("test", "validation"):
        share = sum(x["split"] == name for x in rows) / n
        assert abs(share - 0.1) <= 0.02
    assert CliRunner().invoke(cli, ["verify", str(tmp_path / "s")]).exit_code == 0


def test_split_writes_every_copy_of_identical_lines_on_one_side(tmp_path: Path) -> None:
    """Identical lines are one example (one id) for the tune groups, but every one is
    written, all on one side, with a lineage record each: a split drops no input line."""
    path, n = _dataset(tmp_path)
    lines = path.read_text().splitlines()
    again = [lines[3], lines[3], lines[40], lines[3]]  # three more of one line, one of another
    data = tmp_path / "with_copies.jsonl"
    data.write_text("\n".join(lines + again) + "\n")
    r = CliRunner().invoke(cli, ["split", str(data), "--out", str(tmp_path / "s")])
    assert r.exit_code == 0, r.output
    assert f"{n + 4} lines (4 identical to another)" in r.output
    out = tmp_path / "s"
    written = [x for name in ("train", "validation", "test")
               for x in (out / f"{name}.jsonl").read_text().splitlines()]
    assert sorted(written) == sorted(lines + again)
    rows = [json.loads(x) for x in (out / "lineage.jsonl").read_text().splitlines()]
    assert len(rows) == n + 4
    for line, copies in ((lines[3], 4), (lines[40], 2)):
        parsed, _ = parse_line(line, FormatConfig(), "data.jsonl", 1)
        assert parsed is not None
        sides = [x["split"] for x in rows if x["id"] == parsed.id]
        assert len(sides) == copies and len(set(sides)) == 1
        assert (out / f"{sides[0]}.jsonl").read_text().splitlines().count(line) == copies
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["counts"]["input_lines"] == n + 4 and manifest["counts"]["identical_lines"] == 4
    assert sum(manifest["counts"][f"written_{s}"] for s in ("train", "validation", "test")) == n + 4
    assert CliRunner().invoke(cli, ["verify", str(out)]).exit_code == 0


def test_dedup_and_split_write_the_same_files_with_a_pool(monkeypatch: pytest.MonkeyPatch,
                                                          tmp_path: Path) -> None:
    """--workers 2 runs the near-duplicate work of dedup and split through a pool:
    calibration counts what its settings merge at once (this process taking one) and sends
    the chosen setting's LSH bands and candidate pairs to the pool; the dedup's, tune groups'
    and audit's read that search's pairs, or, when they search again, send their bands and
    candidates to the pool too. On this small file the pool is forced by lowering the
    thresholds (calibration's melodies, LSH bands by job, candidate pairs in chunks of 7);
    the files are the same bytes as with --workers 1 each way."""
    import augment.calibrate as calibrate
    import augment.dedup as dedup
    import augment.near as near
    from augment import parallel

    path, _ = _dataset(tmp_path)
    monkeypatch.setattr(calibrate, "COUNT_FIRST", 2)
    monkeypatch.setattr(near, "VERIFY_CHUNK", 7)
    monkeypatch.setattr(near, "BAND_JOB_ROWS", 2)
    pooled: list[str] = []
    real = parallel._pool_map

    def counting(pool, workers, fn, items):  # type: ignore[no-untyped-def]
        pooled.append(getattr(fn, "__name__", ""))
        return real(pool, workers, fn, items)

    monkeypatch.setattr(parallel, "_pool_map", counting)
    runner = CliRunner()
    for w in ("1", "2", "2-searching-again"):
        if w == "2-searching-again":
            monkeypatch.setattr(dedup.NearSearch, "among", lambda *a: None)
        d = tmp_path / f"w{w}"
        d.mkdir()
        workers = w[0]
        r = runner.invoke(cli, ["dedup", str(path), "-o", str(d / "dedup.jsonl"), "--workers", workers,
                                "--rejects", str(d / "rejected.jsonl")])
        assert r.exit_code == 0, r.output
        by_dedup, pooled[:] = set(pooled), []
        r = runner.invoke(cli, ["split", str(path), "--out", str(d / "split"), "--workers", workers])
        assert r.exit_code == 0, r.output
        by_split, pooled[:] = set(pooled), []
        # One process: no pool; two: both commands' counts and searches went through it.
        wanted = {"1": set(), "2": {"merged_job", "band_pairs", "distances_job"},
                  "2-searching-again": {"merged_job", "band_pairs", "distances_job"}}[w]
        # (both also parse the file's lines through the pool: ``read_parsed``)
        parsing = {"parse_batch"} if workers == "2" else set()
        assert by_dedup == wanted | parsing and by_split == wanted | parsing
        for name in ("dedup.jsonl", "rejected.jsonl"):
            assert (tmp_path / "w1" / name).read_bytes() == (d / name).read_bytes()
        assert _files(tmp_path / "w1" / "split") == _files(d / "split")


def test_dedup_and_split_fingerprint_each_line_once(monkeypatch: pytest.MonkeyPatch,
                                                    tmp_path: Path) -> None:
    """A file's lines come with no fingerprints: dedup (exact, then near) and split (tune
    groups, then the audit) make them once, where the lines are parsed (``read_parsed``), and
    read them twice."""
    import augment.dataset_files as files_module
    import augment.dedup as dedup_module

    path, n = _dataset(tmp_path)
    made = record_calls(monkeypatch, dedup_module, "fingerprints", lambda batch, *_: len(batch))
    made_reading = record_calls(monkeypatch, files_module, "fingerprints", lambda batch, *_: len(batch))
    r = CliRunner().invoke(cli, ["dedup", str(path), "-o", str(tmp_path / "d.jsonl"), "--workers", "1"])
    assert r.exit_code == 0, r.output
    assert sum(made) + sum(made_reading) == n and sum(made_reading) == n
    made.clear()
    made_reading.clear()
    r = CliRunner().invoke(cli, ["split", str(path), "--out", str(tmp_path / "s"), "--workers", "1"])
    assert r.exit_code == 0, r.output
    assert sum(made) + sum(made_reading) == n and sum(made_reading) == n


def test_dedup_and_split_search_near_pairs_only_in_the_calibration(monkeypatch: pytest.MonkeyPatch,
                                                                   tmp_path: Path) -> None:
    """Calibration searches the whole file once for each shingle size; dedup, the tune
    groups and the audit then read the chosen setting's pairs from that search
    (``NearSearch.among``) instead of searching again. The files are the same either way."""
    import augment.calibrate as calibrate_module
    import augment.dedup as dedup_module

    path, _ = _dataset(tmp_path)
    searched = record_calls(monkeypatch, calibrate_module, "search_job")
    searched_again = record_calls(monkeypatch, dedup_module, "near_pair_arrays")
    for command, out in (("dedup", ["-o", str(tmp_path / "d.jsonl")]),
                         ("split", ["--out", str(tmp_path / "s")])):
        searched.clear()
        r = CliRunner().invoke(cli, [command, str(path), *out, "--workers", "1"])
        assert r.exit_code == 0, r.output
        assert len(searched) == 3 and searched_again == [], command
    # Searching again (no search to reuse) writes the same files.
    monkeypatch.setattr(dedup_module.NearSearch, "among", lambda *a: None)
    r = CliRunner().invoke(cli, ["dedup", str(path), "-o", str(tmp_path / "again.jsonl"), "--workers", "1"])
    assert r.exit_code == 0, r.output
    assert (tmp_path / "again.jsonl").read_bytes() == (tmp_path / "d.jsonl").read_bytes()
    assert (tmp_path / "again.rejected.jsonl").read_bytes() == (tmp_path / "d.rejected.jsonl").read_bytes()
    r = CliRunner().invoke(cli, ["split", str(path), "--out", str(tmp_path / "s2"), "--workers", "1"])
    assert r.exit_code == 0, r.output
    assert _files(tmp_path / "s2") == _files(tmp_path / "s")
    assert searched_again  # these runs did search again


def test_bad_input_is_one_clear_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"messages": []}\n')
    r = CliRunner().invoke(cli, ["dedup", str(bad), "-o", str(tmp_path / "x.jsonl")])
    assert r.exit_code == 2 and "error: 1 problem(s)" in r.output and "Traceback" not in r.output
    r = CliRunner().invoke(cli, ["verify", str(tmp_path)])
    assert r.exit_code == 2 and "no manifest" in r.output


def test_dedup_writes_every_dropped_line_with_its_reason(tmp_path: Path) -> None:
    path, n = _dataset(tmp_path)
    lines = path.read_text().splitlines()
    path.write_text("\n".join([*lines, lines[3], '{"messages": []}', ""]) + "\n")  # + copy, bad, blank
    out = tmp_path / "clean.jsonl"
    r = CliRunner().invoke(cli, ["dedup", str(path), "-o", str(out)])
    assert r.exit_code == 2 and "--on-error skip" in r.output
    assert not out.exists() and not (tmp_path / "clean.rejected.jsonl").exists()

    r = CliRunner().invoke(cli, ["dedup", str(path), "-o", str(out), "--on-error", "skip"])
    assert r.exit_code == 0, r.output
    kept = out.read_text().splitlines()
    rejected = [json.loads(x) for x in (tmp_path / "clean.rejected.jsonl").read_text().splitlines()]
    assert len(kept) + len(rejected) == n + 3  # every input line is kept or rejected, once
    numbers = [int(x["source"].rsplit(":", 1)[1]) for x in rejected]
    assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)
    assert {x["text"] for x in rejected} | set(kept) == set(path.read_text().splitlines())
    by_line = {int(x["source"].rsplit(":", 1)[1]): x for x in rejected}
    assert by_line[n + 1]["reasons"] == ["exact_duplicate: same messages as line 4"]
    assert by_line[n + 2]["stage"] == by_line[n + 3]["stage"] == "read"
    assert "blank_line" in by_line[n + 3]["reasons"][0]
    dedup_reasons = [x["reasons"][0].split(":")[0] for x in rejected if x["stage"] == "dedup"]
    assert dedup_reasons.count("invariant_duplicate") == 10 and len(dedup_reasons) >= 19
    assert f"with reasons in {tmp_path / 'clean.rejected.jsonl'}" in r.output
    assert "2 invalid" in r.output

    custom = tmp_path / "why" / "dropped.jsonl"
    r = CliRunner().invoke(cli, ["dedup", str(path), "-o", str(out), "--on-error", "skip",
                                 "--rejects", str(custom)])
    assert r.exit_code == 0 and custom.read_bytes() == (tmp_path / "clean.rejected.jsonl").read_bytes()
    r = CliRunner().invoke(cli, ["dedup", str(path), "-o", str(out), "--rejects", str(out)])
    assert r.exit_code == 2 and "three different files" in r.output


def test_dedup_reads_the_texts_again_and_refuses_a_file_changed_meanwhile(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """``augment dedup`` holds no line's text while it works: it writes the kept lines and
    the rejects from a second reading of the file (the same bytes as the lines read, a BOM
    and CRLF endings stripped as before). A file changed between the two readings is an
    error, and nothing is written."""
    import augment.dataset_files as files_module

    path, n = _dataset(tmp_path)
    lines = path.read_text().splitlines()
    crlf = tmp_path / "crlf.jsonl"
    crlf.write_bytes(b"\xef\xbb\xbf" + "\r\n".join([*lines, "{bad"]).encode())  # no final newline
    out = tmp_path / "kept.jsonl"
    r = CliRunner().invoke(cli, ["dedup", str(crlf), "-o", str(out), "--on-error", "skip"])
    assert r.exit_code == 0, r.output
    kept = out.read_text().splitlines()
    rejected = [json.loads(x) for x in (tmp_path / "kept.rejected.jsonl").read_text().splitlines()]
    assert len(kept) + len(rejected) == n + 1 and set(kept) <= set(lines)
    # (each text as read the first time: the first without its BOM, none with a CR)
    assert {x["text"] for x in rejected} == (set(lines) - set(kept)) | {"{bad"}

    real = files_module.dedup

    def growing(*args, **kwargs):  # type: ignore[no-untyped-def]
        with path.open("a") as handle:  # the file changes while dedup works
            handle.write(lines[0] + "\n")
        return real(*args, **kwargs)

    monkeypatch.setattr(files_module, "dedup", growing)
    out = tmp_path / "again.jsonl"
    r = CliRunner().invoke(cli, ["dedup", str(path), "-o", str(out)])
    assert r.exit_code == 2, r.output
    assert r.stderr == f"error: {path} changed while augment dedup read it (line {n + 1}); nothing was " \
                       "written: run it again\n"
    assert not out.exists() and not (tmp_path / "again.rejected.jsonl").exists()
    monkeypatch.setattr(files_module, "dedup", real)

    # A line edited in place (the same size and, here, the same modification time) while
    # the rejects are written, once the kept lines are: neither file is written.
    real_lines = files_module.raw_lines
    readings: list[int] = []

    def editing(at: Path, limit: int):  # type: ignore[no-untyped-def]
        readings.append(1)
        if len(readings) == 3:  # (read, kept lines, rejects)
            stat = at.stat()
            data = bytearray(at.read_bytes())
            data[data.index(b"Tune") + 1] = ord("a")  # "Tune" -> "Tane"
            at.write_bytes(bytes(data))
            os.utime(at, ns=(stat.st_atime_ns, stat.st_mtime_ns))
        return real_lines(at, limit)

    monkeypatch.setattr(files_module, "raw_lines", editing)
    path.write_text("\n".join(lines) + "\n")
    r = CliRunner().invoke(cli, ["dedup", str(path), "-o", str(out)])
    assert r.exit_code == 2 and len(readings) == 3, r.output
    assert r.stderr.startswith(f"error: {path} changed while augment dedup read it (line ")
    assert not out.exists() and not (tmp_path / "again.rejected.jsonl").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary file left
    monkeypatch.setattr(files_module, "raw_lines", real_lines)
    r = CliRunner().invoke(cli, ["dedup", str(path), "-o", str(out)])  # (unchanged: written)
    assert r.exit_code == 0 and out.exists() and (tmp_path / "again.rejected.jsonl").exists()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from([b"a", b"", b"\r", b"\xff", b"x" * 30, b"\xef\xbb\xbf{}"]), max_size=12),
       st.sampled_from([b"\n", b"\r\n"]), st.booleans())
def test_count_lines_counts_the_lines_raw_lines_gives(parts: list[bytes], ending: bytes, last: bool) -> None:
    """The progress bar's total (``count_lines``) is the number of lines ``raw_lines`` gives:
    with or without a final newline, CRLF, a BOM, lines too long or not UTF-8, an empty file."""
    import tempfile

    from augment.dataset_files import count_lines
    from augment.limits import raw_lines

    data = ending.join(parts) + (ending if last and parts else b"")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "f.jsonl"
        path.write_bytes(data)
        assert count_lines(path) == len(list(raw_lines(path, 20)))


def test_expand_summary_names_top_rejection_reasons_and_the_file(tmp_path: Path) -> None:
    wide = str(ROOT / "rules" / "wide.toml")
    r = CliRunner().invoke(cli, ["expand", SEEDS, "--rules", wide, "--out", str(tmp_path / "o"),
                                 "--target", "200"])
    assert r.exit_code == 0, r.output
    line = next(x for x in r.stdout.splitlines() if x.startswith("rejected: "))
    manifest = json.loads((tmp_path / "o" / "manifest.json").read_text())
    total = manifest["counts"]["rejected_total"]
    assert line.startswith(f"rejected: {total} in {tmp_path / 'o' / 'rejected.jsonl'}; top reasons")
    reasons = manifest["rejected_per_reason"]
    top = max(reasons, key=lambda k: reasons[k])
    assert f"{top} {reasons[top]}" in line
    assert len(r.stdout.splitlines()) <= 12


def test_a_file_read_in_batches_gives_its_lines_and_the_fingerprints_of_their_examples(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """``read_parsed`` (parsing a few lines a job, here 3, in this process or a pool's) gives
    every line's number and errors as reading them one by one does, its example (slim: the same
    ids, melody and source, no message texts), and the fingerprints ``PrintTable.of`` makes
    of the full examples."""
    from augment.codec import FormatConfig
    from augment.dataset_files import read_parsed
    from augment.dedup import PrintTable
    from augment.example import Example
    from augment.limits import Limits
    from augment.parallel import local_pool

    path, _ = _dataset(tmp_path)
    good = path.read_bytes().splitlines()
    mixed = tmp_path / "mixed.jsonl"
    mixed.write_bytes(b"\n".join([
        good[0], good[1], good[0], b"", b"{not json", b"\xff\xfe not utf-8", b'{"messages": []}',
        b'{"messages": [{"role": "user", "content": "x"}, {"role": "assistant", "content": '
        b'"melody_pitch_duration_data: [[60, 0.3333333333333333], [62, 0.1]]"}], "note": 1}',
        b"[" + b"1, " * 3000 + b"1]", *good[2:9]]) + b"\n")
    fmt, limits = FormatConfig(), Limits(max_line_bytes=4000)
    full = lines_by_definition(mixed, fmt, limits)
    full_prints = PrintTable.of([line.example for line in full if line.example is not None])
    assert {line.number for line in full if line.errors} == {4, 5, 6, 7, 9}  # each kind of problem
    assert any(line.example is not None and not line.example.melody.is_on_grid() for line in full)
    import augment.dataset_files as files_module
    monkeypatch.setattr(files_module, "READ_BATCH", 3)
    for workers, slim in ((1, True), (2, True), (1, False), (2, False)):
        with local_pool(workers) as mapper:
            read = read_parsed(mixed, fmt, limits=limits, mapper=mapper if workers > 1 else None, slim=slim)
        assert [(x.number, x.errors) for x in read.lines] == [(x.number, x.errors) for x in full]
        for got, whole in zip(read.lines, full, strict=True):
            assert (got.example is None) == (whole.example is None)
            if whole.example is not None and got.example is not None:
                w = whole.example
                assert got.example == (w if not slim else Example(w.id, (), w.melody, 0, w.seed_id, w.source))
        assert dict(read.prints) == dict(full_prints)


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.none(), st.text()), st.lists(st.text(), max_size=3), st.one_of(st.none(), st.text()),
       st.sampled_from(["dedup", "read"]), st.text())
def test_a_rejects_record_is_written_as_dumps_writes_it(text: str | None, reasons: list[str],
                                                         ident: str | None, stage: str, source: str) -> None:
    """``dataset_files._record_json`` (a duplicate's record written out by hand) is the
    text ``output.dumps`` writes, for any texts (quotes, control characters, non-ASCII)."""
    from augment.dataset_files import _record_json
    from augment.output import dumps

    record = {"source": source, "stage": stage, "reasons": reasons, "text": text}
    if ident is not None:
        record["id"] = ident
    assert _record_json(record) == dumps(record)


def test_an_output_file_that_is_a_folder_is_named(tmp_path: Path) -> None:
    """``-o`` naming a folder is an error naming it (it named a temporary file, after the work)."""
    from augment.errors import AugmentError
    from augment.output import write_atomic

    folder = tmp_path / "folder"
    folder.mkdir()
    with pytest.raises(AugmentError, match="is a folder; give the name of a file to write"):
        write_atomic(folder, ["x"])
    assert list(folder.iterdir()) == [] and sorted(p.name for p in tmp_path.iterdir()) == ["folder"]
    for args in (["-o", str(folder)], ["-o", str(tmp_path / "d.jsonl"), "--rejects", str(folder)]):
        r = CliRunner().invoke(cli, ["dedup", SEEDS, *args])
        assert r.exit_code == 2 and f"error: {folder}: is a folder" in r.output, r.output
