"""``augment dedup FILE`` and ``augment split FILE``: the dataset stages on any chat JSONL.

Every line is its own seed family here (there is no lineage), so families are grouped by
the tunes they share: exact, transposed/tempo-scaled and near duplicates.
"""

from __future__ import annotations

from array import array
from collections import Counter
from collections.abc import Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import asdict, dataclass, field
from itertools import islice
from json.encoder import encode_basestring
from pathlib import Path
from typing import Any

from .audit import assert_no_leaks
from .codec import FormatConfig, example_to_line, read_line
from .config import Config
from .dataset import assign_sides, tune_groups
from .dedup import MelodyRelations, PrintBlock, PrintTable, calibrate_for, dedup, fingerprints, near_params
from .diversity import diversity_report
from .errors import AugmentError
from .example import Example
from .limits import DEFAULT_LIMITS, Limits, raw_lines
from .output import begin_output, dumps, write_atomic, write_manifest
from .parallel import Mapper, in_windows, local_mapper, local_pool, per_call
from .pipeline import collecting_less, collection_paused, settled
from .progress import SILENT, Progress
from .split import SPLITS


@dataclass(frozen=True)
class Line:
    """One input line: its number, and the example it holds or the error findings that
    stopped it. (Not its text: a file's texts are read again where they are written.)"""

    number: int
    example: Example | None
    errors: tuple[str, ...] = ()


@dataclass(frozen=True)
class ReadFile:
    """A file's lines as ``read_parsed`` gives them, and the fingerprints of every example
    read, by id, made where it was parsed."""

    lines: list[Line]
    prints: PrintTable


def read_parsed(path: Path, fmt: FormatConfig, progress: Progress = SILENT,
                limits: Limits = DEFAULT_LIMITS, mapper: Mapper | None = None, *,
                slim: bool = False, hashes: array[int] | None = None) -> ReadFile:
    """Every line of ``path``: its number, and example or the error findings that stopped
    it (``codec.read_line``); and the examples' fingerprints (``PrintTable.of`` of them);
    AugmentError when the file does not exist. The lines are parsed ``READ_BATCH`` at a
    time through ``mapper``: a pool's processes parse and fingerprint while this one
    receives the results (receiving an example costs less than parsing it). The file is
    read as the jobs are given out (``parallel.in_windows``), so that its texts are not all
    held at once. ``slim``: each example as its ids and melody, without its message texts
    (cheaper still to receive, and ~1 KB a line less: ``augment dedup`` needs no more).
    ``hashes``, when given, gets each line's ``line_hash`` in turn."""
    if not path.is_file():
        raise AugmentError(f"{path}: no such file")
    total = None if progress is SILENT else count_lines(path)  # (a pass of its own: only for a bar)
    raw = raw_lines(path, limits.max_line_bytes)
    if hashes is not None:
        raw = _hashing(raw, hashes)
    batches = iter(lambda: list(islice(raw, READ_BATCH)), [])
    jobs = ((str(path), fmt, limits, batch, slim) for batch in batches)
    blocks: list[PrintBlock] = []
    row_of: dict[str, int] = {}

    def parsed() -> Iterator[Line]:
        at = number = 0
        window = per_call(mapper, READ_WINDOW)  # (more on a Ray cluster: as many as it runs at once)
        for read, block in in_windows(mapper or local_mapper(), parse_batch, jobs, window):
            blocks.append(block)
            for errors, example in read:
                number += 1  # (raw_lines gives every line, numbered from 1)
                if example is not None:
                    row_of.setdefault(example.id, at)
                    at += 1
                yield Line(number, example, errors)

    lines = list(progress.track(parsed(), "read", total))
    return ReadFile(lines, PrintTable(PrintBlock.join(blocks) if blocks else PrintBlock.of([]), row_of))


def line_hash(text: str | None, problem: int) -> int:
    """A line's hash as ``raw_lines`` gives it (its text, or its problem when it has none),
    to tell whether a file read again in this process holds the same lines."""
    return hash(text) if text is not None else hash(("no text", problem))


def _hashing(raw: Iterator[tuple[int, str | None, int]], hashes: array[int]
             ) -> Iterator[tuple[int, str | None, int]]:
    for number, text, problem in raw:
        hashes.append(line_hash(text, problem))
        yield number, text, problem


READ_BATCH = 2_048  # lines a parsing job takes
READ_WINDOW = 8  # parsing jobs given to the mapper at a time (two calls in flight)


def count_lines(path: Path) -> int:
    """The lines of ``path`` as ``raw_lines`` numbers them (one more than its newlines when
    the last line has none), counted a MB at a time."""
    count, last = 0, b"\n"
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 20):
            count += chunk.count(b"\n")
            last = chunk[-1:]
    return count + (last != b"\n")


def parse_batch(job: tuple[str, FormatConfig, Limits, list[tuple[int, str | None, int]], bool]
                ) -> tuple[list[tuple[tuple[str, ...], Example | None]], PrintBlock]:
    """(error findings, example or None: None when any finding is an error) of each raw line
    (``raw_lines``' triples) of a file, each example slim when asked (``read_parsed``), and
    the fingerprints of the examples, in order."""
    name, fmt, limits, raw, slim = job
    out: list[tuple[tuple[str, ...], Example | None]] = []
    examples = []
    with collection_paused():  # (what a job makes lives until it ends, and holds no cycle)
        for number, text, problem in raw:
            example, findings = read_line(name, number, text, problem, fmt, limits)
            bad = tuple(str(f) for f in findings if f.severity == "error")
            if bad or text is None or example is None:
                out.append((bad, None))
                continue
            examples.append(example)
            out.append(((), Example(example.id, (), example.melody, 0, example.seed_id, example.source)
                        if slim else example))
        return out, fingerprints(examples)[0] if examples else PrintBlock.of([])


def _fail_on_invalid(path: Path, lines: list[Line], hint: str = "") -> None:
    errors = [e for line in lines for e in line.errors]
    if errors:
        more = f"\n... and {len(errors) - 10} more" if len(errors) > 10 else ""
        raise AugmentError(f"{len(errors)} problem(s) in {path}; fix them or run 'augment validate'"
                           f"{hint}:\n" + "\n".join(errors[:10]) + more)


@dataclass
class FileResult:
    counts: Counter[str] = field(default_factory=Counter)
    manifest: dict[str, Any] = field(default_factory=dict)


def rejects_path_for(out: Path) -> Path:
    """The default ``--rejects`` file: ``<OUT stem>.rejected.jsonl`` beside ``out``."""
    return out.with_name(f"{out.stem}.rejected.jsonl")


def dedup_file(path: Path, config: Config, out: Path, run_seed: int = 0, *,
               rejects: Path | None = None, on_error: str = "fail",
               progress: Progress = SILENT, workers: int = 1, mapper: Mapper | None = None
               ) -> FileResult:
    """Write the lines of ``path`` that are not duplicates to ``out``, in input order, and
    every other line to ``rejects`` with its reasons: kept + duplicates + invalid = input.

    ``on_error="fail"`` raises on any invalid line before writing; ``"skip"`` sets invalid
    lines aside in ``rejects``. Both files are written atomically. ``workers`` > 1 parses
    the lines in a process pool (``read_parsed``) and runs the calibration's near-duplicate
    work of a large file there (``calibrate``: its settings' counts at once, then the chosen
    one's search in jobs; the dedup reads that search's pairs); the files are the same.
    ``mapper`` (e.g. ``ray_engine.ray_mapper``'s) runs that work instead of a local pool, and
    ``workers`` is not read.
    """
    rejects = rejects_path_for(out) if rejects is None else rejects
    if len({path.resolve(), out.resolve(), rejects.resolve()}) < 3:
        raise AugmentError(f"input {path}, output {out} and rejects {rejects} must be three "
                           "different files")
    hashes = array("q")  # each line's line_hash, to read the same file again
    # The lines live to the end: the collector runs less often, and not through them again.
    with collecting_less(), _mapping(workers, mapper) as mapper:
        read = read_parsed(path, config.format, progress, config.limits, mapper, slim=True,
                           hashes=hashes)
        lines = read.lines
        settled()  # (``collecting_less`` unfreezes them at its end)
        if on_error == "fail":
            _fail_on_invalid(path, lines, " (or use --on-error skip to set them aside)")
        first_line: dict[str, int] = {}  # example id -> first line that holds it
        unique = []
        for line in lines:
            if line.example is not None and line.example.id not in first_line:
                first_line[line.example.id] = line.number
                unique.append(line.example)
        with progress.stage("dedup"):
            result = dedup(unique, config.dedup, run_seed, prints=read.prints, mapper=mapper)
    dropped = {e.id: reason for e, reason in result.dropped}
    # Each line not kept: (stage, reasons, its example's id or None). The texts are read from
    # the file again as the two files are written (held from the first reading, they were
    # ~1 KB a line more at the peak).
    aside: dict[int, tuple[str, list[str], str | None]] = {}
    for line in lines:
        ex = line.example
        if ex is None:
            aside[line.number] = ("read", list(line.errors), None)
        elif first_line[ex.id] != line.number:
            first = first_line[ex.id]
            aside[line.number] = ("dedup", [f"exact_duplicate: same messages as line {first}"], ex.id)
        elif ex.id in dropped:
            aside[line.number] = ("dedup", [dropped[ex.id]], ex.id)
    total, distinct = len(lines), len(unique)
    del lines, read, unique, first_line, dropped

    def texts(keep: bool) -> Iterator[tuple[int, str | None]]:
        """(number, text) of the lines kept (``keep``) or set aside, read again; every line
        must be the one read the first time."""
        seen = 0
        for number, text, problem in raw_lines(path, config.limits.max_line_bytes):
            if number > total or line_hash(text, problem) != hashes[number - 1]:
                raise AugmentError(f"{path} changed while augment dedup read it (line {number}); "
                                   "nothing was written: run it again")
            seen = number
            if (number not in aside) == keep:
                yield number, text
        if seen != total:
            raise AugmentError(f"{path} changed while augment dedup read it (it had {total} lines, "
                               f"now {seen}); nothing was written: run it again")

    def record(number: int, text: str | None) -> str:
        stage, reasons, ident = aside[number]
        record: dict[str, Any] = {"source": f"{path}:{number}", "stage": stage, "reasons": reasons,
                                  "text": text}
        if ident is not None:
            record["id"] = ident
        return _record_json(record)

    def kept_then_rejects() -> Iterator[str]:
        """The kept lines; then, before they are put in place, the rejects file is written
        (from a reading of its own): a change found by either reading leaves neither file."""
        for _, text in texts(keep=True):
            yield text or ""
        write_atomic(rejects, (record(number, text) for number, text in texts(keep=False)))

    with progress.stage("write"):
        write_atomic(out, kept_then_rejects())
    invalid = sum(stage == "read" for stage, _, _ in aside.values())
    counts = Counter({"input_lines": total, "written": total - len(aside), "invalid": invalid,
                      "duplicates": len(aside) - invalid, **result.counts})
    counts["exact_duplicates"] += total - invalid - distinct
    out_result = FileResult(counts)
    out_result.manifest = {"near_params": asdict(result.params), "rejects": str(rejects),
                           "dedup_calibration": None if result.calibration is None
                           else result.calibration.as_dict()}
    return out_result


def _record_json(record: dict[str, Any]) -> str:
    """``dumps`` of a rejects record, written out here when it holds an id, str reasons and
    a text, as a duplicate's does (2.9 us against 4.9 for a line of an expand run:
    ``benchmarks/bench_read.py``; a near-duplicate-rich file's rejects are most of its
    lines); any other record goes to ``dumps``."""
    text, reasons, ident = record["text"], record["reasons"], record.get("id")
    if len(record) != 5 or type(text) is not str or type(ident) is not str \
            or not all(type(r) is str for r in reasons):
        return dumps(record)
    return (f'{{"id": {_json_str(ident)}, "reasons": [{", ".join(map(_json_str, reasons))}], '
            f'"source": {_json_str(record["source"])}, "stage": {_json_str(record["stage"])}, '
            f'"text": {_json_str(text)}}}')


_json_str = encode_basestring  # a str as ``dumps`` writes it (non-ASCII kept)


def split_file(path: Path, config: Config, out_dir: Path, run_seed: int = 0, *,
               progress: Progress = SILENT, workers: int = 1, mapper: Mapper | None = None
               ) -> FileResult:
    """Split an existing dataset into train/validation/test by shared tunes; audit; write.
    ``workers`` > 1 parses the lines in a process pool (``read_parsed``) and runs the
    calibration's near-duplicate work of a large file there (as in ``dedup_file``; the tune
    groups and the audit read the chosen search's pairs); the files are the same. ``mapper``
    runs that work instead of a local pool (as in ``dedup_file``)."""
    with collecting_less(), _mapping(workers, mapper) as mapper:  # (the collector: as in ``dedup_file``)
        return _split_file(path, config, out_dir, run_seed, progress, mapper)


def _mapping(workers: int, mapper: Mapper | None) -> AbstractContextManager[Mapper]:
    """``mapper`` when given (the caller's, e.g. on Ray), else a pool of ``workers``."""
    return local_pool(workers) if mapper is None else nullcontext(mapper)


def _split_file(path: Path, config: Config, out_dir: Path, run_seed: int, progress: Progress,
                mapper: Mapper) -> FileResult:
    if out_dir.resolve() in path.resolve().parents:
        raise AugmentError(f"--out {out_dir} contains the input file {path}; "
                           "choose an output directory that holds no input")
    read = read_parsed(path, config.format, progress, config.limits, mapper)
    _fail_on_invalid(path, read.lines)
    rows = [line.example for line in read.lines if line.example is not None]
    # The split files are written from the parsed examples, so the lines' texts go now
    # (~0.6 KB a line of the ~3.3 KB a line that the read lines hold).
    input_lines, prints = len(rows), read.prints
    del read
    # Identical lines (one id) are one example for the tune groups and the audit, and go to
    # one side together, every copy written: a split drops no line.
    copies = Counter(e.id for e in rows)
    examples = sorted({e.id: e for e in rows}.values(), key=lambda e: e.id)
    del rows
    settled()  # the examples live to the end
    with progress.stage("near-duplicate calibration"):
        calibration = calibrate_for([e.melody for e in examples], config.dedup, run_seed, mapper) \
            if config.dedup.calibrate else None
    params = near_params(config.dedup, calibration)
    # (``prints``: made once, where the lines were parsed; the tune groups and the audit read them)
    # The calibration's search of the chosen setting covered every melody here: the tune
    # groups and the audit read their near pairs from it (``NearSearch.among``).
    search = None if calibration is None else calibration.search
    with progress.stage("tune groups"):
        group = tune_groups(examples, MelodyRelations.of(examples, params, prints=prints, mapper=mapper,
                                                         search=search))
    side = assign_sides(examples, group, config, run_seed)
    by_split: dict[str, list[Example]] = {name: [] for name in SPLITS}
    for e in examples:
        by_split[side[e.seed_id]].append(e)
    with progress.stage("leakage audit"):
        assert_no_leaks(by_split, params, prints=prints, mapper=mapper, search=search)
    if len(examples) < input_lines:  # the copies of identical lines, beside their first
        by_split = {name: [e for e in split for _ in range(copies[e.id])] for name, split in by_split.items()}
    written = [e for e in examples for _ in range(copies[e.id])]
    result = FileResult(Counter({"input_lines": input_lines, "groups": len(set(group.values())),
                                 "identical_lines": input_lines - len(examples)}))
    files = {}
    begin_output(out_dir)
    for name in SPLITS:
        result.counts[f"written_{name}"] = len(by_split[name])
        files[f"{name}.jsonl"] = write_atomic(out_dir / f"{name}.jsonl",
                                              (example_to_line(e) for e in by_split[name]))
    files["lineage.jsonl"] = write_atomic(out_dir / "lineage.jsonl", (dumps(
        {"id": e.id, "split": side[e.seed_id], "group": group[e.seed_id], "source": e.source})
        for e in written))
    result.manifest = {
        "augment_manifest": 1, "command": "split", "input": str(path), "seed": run_seed,
        "config": config.resolved(), "counts": dict(sorted(result.counts.items())),
        "dedup_calibration": None if calibration is None else calibration.as_dict(),
        "near_params": asdict(params),
        "diversity": {name: diversity_report(by_split[name]) for name in SPLITS},
        "files": {name: {"sha256": d} for name, d in sorted(files.items())},
    }
    write_manifest(out_dir, result.manifest)
    return result
