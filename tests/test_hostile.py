"""Hostile and malformed input: every command reports each problem as FILE:LINE: CODE and
never shows a traceback; expand accounts for every input line; limits are configurable;
nothing in data or in a rules file is executed or names a file."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from augment.cli import cli
from augment.codec import FormatConfig, parse_line
from augment.validate import validate_file
from hostile.make_hostile import EXPECTED, GOOD, HERE, LARGE, SMALL, write_large, write_small
from run_util import wide_rules

ROOT = Path(__file__).resolve().parent.parent
NAMES = sorted(EXPECTED)
# A small run: few variants, so that expand over every corpus file stays quick.
QUICK_RULES = """
[expand]
variants_per_seed = 2
[[rule]]
name = "transpose"
[split]
test = 0.0
validation = 0.0
[dedup]
calibrate = false
"""


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    directory = tmp_path_factory.mktemp("hostile")
    for name in SMALL:
        shutil.copyfile(HERE / name, directory / name)
    write_large(directory)
    (directory / "quick.toml").write_text(QUICK_RULES)
    return {name: directory / name for name in EXPECTED} | {"rules": directory / "quick.toml"}


def run(*args: object) -> Result:
    result = CliRunner().invoke(cli, [str(a) for a in args])
    # No traceback: the command either returned or exited on purpose.
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    assert "Traceback" not in result.output
    return result


def errors_of(name: str) -> dict[int, str]:
    return {line: code for line, code in EXPECTED[name].items() if code}


def physical_lines(path: Path) -> int:
    data = path.read_bytes()
    return data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)


def test_committed_corpus_matches_its_generator(tmp_path: Path) -> None:
    for path in write_small(tmp_path):
        assert path.read_bytes() == (HERE / path.name).read_bytes(), path.name
    assert not set(LARGE) & {p.name for p in HERE.iterdir()}, "large files are generated, not committed"


@pytest.mark.parametrize("name", NAMES)
def test_validate_names_file_line_and_code(corpus: dict[str, Path], name: str) -> None:
    path = corpus[name]
    result = run("validate", "--json", path)
    records = [json.loads(line) for line in result.output.splitlines() if line.startswith("{")]
    errors = [r for r in records if r["severity"] == "error"]
    assert {r["file"] for r in errors} <= {str(path)}
    first = {}
    for r in errors:
        first.setdefault(r["line"], r["code"])
    assert first == errors_of(name)
    assert result.exit_code == (1 if errors_of(name) else 0)


@pytest.mark.parametrize("name", NAMES)
def test_inspect_names_file_line_and_code(corpus: dict[str, Path], name: str) -> None:
    path = corpus[name]
    result = run("inspect", path)
    for line, code in errors_of(name).items():
        assert f"{path}:{line}: FAIL {code}:" in result.output
    assert result.exit_code in (0, 1)


@pytest.mark.parametrize("name", NAMES)
def test_expand_on_error_fail_writes_nothing(corpus: dict[str, Path], name: str,
                                             tmp_path: Path) -> None:
    out = tmp_path / "out"
    result = run("expand", corpus[name], "--rules", corpus["rules"], "--out", out)
    if not errors_of(name):
        assert result.exit_code == 0
        return
    assert result.exit_code == 2
    assert not out.exists()
    for line, code in errors_of(name).items():
        assert f"{corpus[name]}:{line}: {code}" in result.output


@pytest.mark.parametrize("name", NAMES)
def test_expand_on_error_skip_accounts_for_every_line(corpus: dict[str, Path], name: str,
                                                      tmp_path: Path) -> None:
    path, out = corpus[name], tmp_path / "out"
    result = run("expand", path, "--rules", corpus["rules"], "--out", out, "--on-error", "skip")
    if name == "empty.jsonl":
        assert result.exit_code == 2 and f"{path}:0: empty_file" in result.output
        assert not out.exists()
        return
    assert result.exit_code == 0
    counts = json.loads((out / "manifest.json").read_text())["counts"]
    lines = physical_lines(path)
    assert counts["input_lines"] == lines
    assert counts["seeds_accepted"] + counts["rejected_read"] == lines
    read = [json.loads(r) for r in (out / "rejected.jsonl").read_text().splitlines()]
    read = [r for r in read if r["stage"] == "read"]
    assert len(read) == counts["rejected_read"] == len(errors_of(name))
    assert {r["source"]: r["reasons"][0].split(":")[0] for r in read} == {
        f"{path}:{line}": code for line, code in errors_of(name).items()}
    assert run("verify", out).exit_code == 0


@pytest.mark.parametrize("name", NAMES)
def test_split_and_dedup_refuse_bad_files_by_line(corpus: dict[str, Path], name: str,
                                                  tmp_path: Path) -> None:
    path = corpus[name]
    split = run("split", path, "--out", tmp_path / "split", "--rules", corpus["rules"])
    dedup = run("dedup", path, "-o", tmp_path / "d.jsonl", "--rules", corpus["rules"])
    # An empty file is an empty dataset here: nothing to split or deduplicate.
    wanted = {line: code for line, code in errors_of(name).items() if line}
    for result in (split, dedup):
        assert result.exit_code == (2 if wanted else 0), result.output
        # The first ten problems are listed (a line may hold several).
        for line, code in list(wanted.items())[:3]:
            assert f"{path}:{line}: {code}" in result.output
    if wanted:
        assert not (tmp_path / "split").exists() and not (tmp_path / "d.jsonl").exists()
    skip = run("dedup", path, "-o", tmp_path / "s.jsonl", "--rules", corpus["rules"],
               "--on-error", "skip")
    assert skip.exit_code == 0
    kept = physical_lines(tmp_path / "s.jsonl")
    rejects = [json.loads(r) for r in (tmp_path / "s.rejected.jsonl").read_text().splitlines()]
    assert kept + len(rejects) == physical_lines(path)
    assert {r["source"] for r in rejects if r["stage"] == "read"} == {f"{path}:{n}" for n in wanted}


# --- limits ---------------------------------------------------------------------------

def test_limits_are_configurable(corpus: dict[str, Path], tmp_path: Path) -> None:
    melody = corpus["long_melody.jsonl"]
    rules = tmp_path / "big.toml"
    rules.write_text("[limits]\nmax_line_bytes = 4_000_000\n")
    result = run("validate", melody, "--rules", rules)
    assert f"{melody}:1: too_many_notes: messages[1].content: melody has 100000 notes, over " \
           "the limit of 10000 ([limits] max_notes)" in result.output
    rules.write_text("[limits]\nmax_line_bytes = 4_000_000\nmax_notes = 100_000\n")
    assert run("validate", melody, "--rules", rules).exit_code == 0
    small = tmp_path / "small.toml"
    small.write_text("[limits]\nmax_line_bytes = 100\n")
    result = run("validate", corpus["truncated.jsonl"], "--rules", small)
    assert f"{corpus['truncated.jsonl']}:1: line_too_long: line is {len(GOOD)} bytes, over the " \
           "limit of 100 ([limits] max_line_bytes)" in result.output


@pytest.mark.parametrize("table, message", [
    ("[limits]\nmax_notes = 0", "[limits] max_notes must be >= 1, got 0"),
    ("[limits]\nmax_line_byte = 5", "unknown parameter 'max_line_byte' (did you mean 'max_line_bytes'?)"),
    ("[limits]\nmax_notes = \"many\"", "parameter 'max_notes' must be int"),
    ("[expand]\nvariants_per_seed = 5000",
     "[expand] variants_per_seed = 5000 is over the limit of 1000 ([limits] max_variants_per_seed"),
])
def test_bad_limits_are_config_errors(tmp_path: Path, table: str, message: str) -> None:
    rules = tmp_path / "r.toml"
    rules.write_text(table + "\n")
    result = run("validate", ROOT / "seeds" / "beethoven.jsonl", "--rules", rules)
    assert result.exit_code == 2
    assert message in result.output


def test_raising_the_variant_limit_allows_more_variants(tmp_path: Path) -> None:
    from augment.config import load_config

    rules = tmp_path / "r.toml"
    rules.write_text("[expand]\nvariants_per_seed = 5000\n[limits]\nmax_variants_per_seed = 5000\n")
    assert load_config(rules).expand.variants_per_seed == 5000


# --- hypothesis garbage -----------------------------------------------------------------

JUNK = st.one_of(
    st.binary(max_size=300),
    st.text(max_size=300).map(str.encode),
    st.tuples(st.integers(0, len(GOOD)), st.integers(0, len(GOOD)), st.text(max_size=30)).map(
        lambda t: (GOOD[: t[0]] + t[2] + GOOD[t[1]:]).encode("utf-8", "surrogatepass")),
    st.sampled_from(["1e999", "NaN", "-0", "9" * 80, "[]", "{}", "null", '"x"', "1e-400", "0.0"]).map(
        lambda v: GOOD.replace("0.5]", f"{v}]", 1).replace("[60,", f"[{v},", 1).encode()),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(JUNK, min_size=1, max_size=5))
def test_garbage_lines_become_findings(tmp_path_factory: pytest.TempPathFactory,
                                       lines: list[bytes]) -> None:
    path = tmp_path_factory.mktemp("junk") / "junk.jsonl"
    path.write_bytes(b"\n".join(line.replace(b"\n", b" ") for line in lines) + b"\n")
    findings = validate_file(path)
    for f in findings:
        assert f.file == str(path) and 0 <= f.line <= len(lines) and f.code.isidentifier()
    for number, line in enumerate(lines, start=1):
        text = line.replace(b"\n", b" ").decode("utf-8", "replace")
        example, line_findings = parse_line(text, FormatConfig(), "f", number)
        assert example is not None or any(f.severity == "error" for f in line_findings)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(JUNK, min_size=1, max_size=4))
def test_garbage_through_expand_skip(corpus: dict[str, Path],
                                     tmp_path_factory: pytest.TempPathFactory,
                                     lines: list[bytes]) -> None:
    directory = tmp_path_factory.mktemp("junkrun")
    path = directory / "junk.jsonl"
    path.write_bytes(b"\n".join([GOOD.encode(), *(x.replace(b"\n", b" ") for x in lines)]) + b"\n")
    out = directory / "out"
    result = run("expand", path, "--rules", corpus["rules"], "--out", out, "--on-error", "skip")
    assert result.exit_code == 0
    counts = json.loads((out / "manifest.json").read_text())["counts"]
    assert counts["seeds_accepted"] + counts["rejected_read"] == counts["input_lines"] == len(lines) + 1


# --- safety -------------------------------------------------------------------------------

def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


PYTHONISH = """
# __import__('os').system('touch PWNED')
[format]
duration_unit = "quarter"
[expand]
variants_per_seed = 2
[[rule]]
name = "transpose"
p = 1.0
[[rule]]
name = "rhythm"
params = { meter = "__import__('os').system('touch PWNED') or '4/4'" }
"""


@pytest.mark.parametrize("text, message", [
    (PYTHONISH, "meter"),
    ('[[rule]]\nname = "os.system"\n', "unknown rule 'os.system'"),
    ('[expand]\nseed = "eval(\'1+1\')"\n', "parameter 'seed' must be int"),
    ('"exec(open(\'x\').read())" = 1\n', "unknown table"),
])
def test_rules_files_are_data_never_code(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                         text: str, message: str) -> None:
    monkeypatch.chdir(tmp_path)
    rules = tmp_path / "evil.toml"
    rules.write_text(text)
    seeds = tmp_path / "seeds.jsonl"
    seeds.write_text(GOOD + "\n")
    result = run("expand", seeds, "--rules", rules, "--out", tmp_path / "out")
    assert result.exit_code == 2 and message in result.output
    assert not (tmp_path / "PWNED").exists() and not (tmp_path / "out").exists()


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_full_disk_ends_in_one_line_naming_the_file_and_leaves_no_output(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workers: str) -> None:
    """A write the system refuses (here: no space left while writing the first split) is an
    error that stops the command: one line naming the file, exit 2, no traceback, and no
    manifest (the directory is marked unfinished) nor temporary file left behind; also when
    the pool's processes write the splits (2 workers: they are forked from this process, so
    they meet the same full disk)."""
    import augment.output as output

    def no_space(handle, digest, data):  # type: ignore[no-untyped-def]
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(output, "_write", no_space)
    seeds = tmp_path / "seeds.jsonl"
    seeds.write_text(GOOD + "\n")
    result = run("expand", seeds, "--rules", ROOT / "rules" / "default.toml", "--out", tmp_path / "out",
                 "--workers", workers)
    assert result.exit_code == 2
    assert result.output.startswith("error: ") and len(result.output.strip().splitlines()) == 1
    assert "No space left on device" in result.output and str(tmp_path / "out") in result.output
    assert not any(p.name == "manifest.json" or p.name.endswith(".tmp")
                   for p in (tmp_path / "out").rglob("*"))


def test_a_full_disk_while_the_pool_spools_its_lines_ends_in_one_line(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With 2 workers the pool's processes append their seeds' output lines to the run's
    spool file themselves: a disk that refuses them stops the command the same way (one
    line naming the spool file, exit 2, no manifest, no temporary file in the output)."""
    import augment.output as output

    def no_space(fd, data, path):  # type: ignore[no-untyped-def]
        raise OSError(28, "No space left on device", path)

    monkeypatch.setattr(output, "_append", no_space)
    seeds = tmp_path / "seeds.jsonl"
    seeds.write_text(GOOD + "\n")
    result = run("expand", seeds, "--rules", ROOT / "rules" / "default.toml", "--out", tmp_path / "out",
                 "--workers", "2")
    assert result.exit_code == 2
    assert result.output.startswith("error: ") and len(result.output.strip().splitlines()) == 1
    assert "No space left on device" in result.output and "spool-" in result.output
    assert not any(p.name == "manifest.json" or p.name.endswith(".tmp")
                   for p in (tmp_path / "out").rglob("*"))


class _FullDisk:
    """A file object whose writes and flushes the system refuses: no space left."""

    def write(self, data: object) -> int:
        raise OSError(28, "No space left on device")

    flush = write  # type: ignore[assignment]

    def close(self) -> None:
        pass


def test_a_full_temporary_folder_is_named_with_what_to_do(tmp_path: Path) -> None:
    """A run's temporary files that meet a full disk (the melodies' files, an unnamed
    spool's file in $TMPDIR) are named in the error, with the way out: TMPDIR elsewhere."""
    import tempfile

    import numpy as np

    from augment.output import Spool
    from augment.theory import MelodyStore, PackedMelodies

    hint = ("No space left on device (the run's temporary files: set TMPDIR to a folder on a disk "
            "with more room)")
    store = MelodyStore(tmp_path / "melodies")
    assert store.files is not None
    path, dtype, file = store.files[0]
    file.close()
    store.files[0] = (path, dtype, _FullDisk())
    with pytest.raises(OSError) as refused:
        store.add(PackedMelodies(np.array([60, 62], np.int8), np.array([480, 480], np.int32),
                                 np.array([0, 2])))
    assert refused.value.filename == str(tmp_path / "melodies" / "pitches.npy")
    assert refused.value.strerror == hint and refused.value.errno == 28
    with Spool() as spool:
        spool._file.close()
        spool._file = _FullDisk()  # type: ignore[assignment]
        with pytest.raises(OSError) as refused:
            spool.add("a line")
    assert refused.value.filename == f"{tempfile.gettempdir()} (an unnamed temporary file)"
    assert refused.value.strerror == hint


@pytest.mark.parametrize("workers", ["1", "2"])
def test_a_temporary_file_past_the_size_limit_ends_in_one_line_naming_it(
        tmp_path: Path, workers: str) -> None:
    """A real refused write of the run's temporary files (a file-size limit, ``ulimit -f``,
    here: the first temporary file past 2 MB): one line naming the file in $TMPDIR, exit 2,
    no traceback, and the scratch folder removed."""
    import resource
    import signal
    import subprocess
    import sys

    scratch = tmp_path / "tmp"
    scratch.mkdir()
    rules = wide_rules(tmp_path / "rules.toml", 400)

    def limited() -> None:  # in the child: files of at most 2 MB; past it, EFBIG (not SIGXFSZ)
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (2 << 20, 2 << 20))

    done = subprocess.run([sys.executable, "-m", "augment", "expand", str(ROOT / "seeds" / "beethoven.jsonl"),
                           "--rules", str(rules), "--out", str(tmp_path / "out"), "--workers", workers],
                          capture_output=True, text=True, timeout=600, preexec_fn=limited,
                          env={**os.environ, "TMPDIR": str(scratch)})
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    # (1 worker: its unnamed spool meets the limit first; 2: the pool's named spool)
    where = f"{scratch} (an unnamed temporary file)" if workers == "1" else f"{scratch}/augment-"
    assert lines[0].startswith(f"error: {where}") and ": File too large" in lines[0], lines
    assert list(scratch.iterdir()) == []
    assert not (tmp_path / "out" / "manifest.json").exists()


def test_no_eval_exec_or_shell_in_the_package() -> None:
    for path in (ROOT / "src" / "augment").rglob("*.py"):
        source = path.read_text()
        for word in ("eval(", "exec(", "os.system", "subprocess", "pickle", "shell=True", "__import__"):
            assert word not in source, f"{path.name} uses {word}"


def test_nothing_is_written_outside_out(corpus: dict[str, Path], tmp_path: Path,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    work = tmp_path / "work"
    (work / "in").mkdir(parents=True)
    seeds = work / "in" / "seeds.jsonl"
    seeds.write_bytes(corpus["injection.jsonl"].read_bytes()
                      + (ROOT / "seeds" / "beethoven.jsonl").read_bytes()[:4000].rsplit(b"\n", 1)[0]
                      + b"\n")
    shutil.copyfile(corpus["rules"], work / "in" / "quick.toml")
    monkeypatch.chdir(work)
    before = tree(work)
    out = work / "out"
    assert run("expand", seeds, "--rules", work / "in" / "quick.toml", "--out", out, "--report"
               ).exit_code == 0
    assert run("split", out / "train.jsonl", "--out", work / "split").exit_code == 0
    assert run("export", "midi", out / "train.jsonl", "-o", work / "midi", "--limit", "3").exit_code == 0
    after = tree(work)
    new = {name for name in after if name not in before}
    assert {name.split(os.sep)[0] for name in new} == {"out", "split", "midi"}
    assert {name: after[name] for name in before} == before
    assert not list(tmp_path.glob("PWNED")) and not (work / "PWNED").exists()
    midi = sorted(p.name for p in (work / "midi").iterdir())
    assert len(midi) == 3 and all(n[0] in "sv" and n[1:-4].isalnum() for n in midi)


def test_midi_names_never_come_from_data(tmp_path: Path, corpus: dict[str, Path]) -> None:
    out = tmp_path / "out"
    seeds = tmp_path / "seeds.jsonl"
    seeds.write_text(GOOD + "\n")
    assert run("expand", seeds, "--rules", corpus["rules"], "--out", out).exit_code == 0
    lineage = [json.loads(line) for line in (out / "lineage.jsonl").read_text().splitlines()]
    assert all(r["id"][0] in "sv" and int(r["id"][1:], 16) >= 0 for r in lineage)
    lineage[0]["id"] = "../../escaped"
    (out / "lineage.jsonl").write_text("".join(json.dumps(r) + "\n" for r in lineage))
    result = run("export", "midi", out / "train.jsonl", "-o", tmp_path / "midi")
    assert result.exit_code == 2 and "is not an augment id" in result.output
    assert not list(tmp_path.rglob("*.mid")) and not (tmp_path.parent / "escaped.mid").exists()


def test_split_out_may_not_hold_its_input(tmp_path: Path) -> None:
    data = tmp_path / "train.jsonl"
    data.write_text(GOOD + "\n")
    result = run("split", data, "--out", tmp_path)
    assert result.exit_code == 2 and "contains the input file" in result.output
    assert data.read_text() == GOOD + "\n"
