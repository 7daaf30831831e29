"""Thin click commands: parse options, call one library function, print a summary.

Expected problems arrive as AugmentError (or OSError: a full disk, a file that may not be
written) and leave as a one-line message (exit 2 for problems that stop a command, 1 for
findings); never a traceback.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import asdict
from pathlib import Path
from typing import Any

import click

from .config import Config, load_config
from .errors import AugmentError
from .inspect import inspect_file
from .parallel import Mapper, auto_workers, ending_signals
from .pipeline import annotate_keys, read_seeds
from .pipeline import expand as run_expand
from .progress import SILENT, Progress, StderrProgress
from .rules import registry
from .thresholds import as_toml, calibrate_checks
from .validate import validate_files

DEFAULT_RULES = "rules/default.toml"


class _Group(click.Group):
    """Every command's expected problems (AugmentError, and a read or write the system
    refuses: OSError) end as one line and exit 2."""

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except AugmentError as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(2)
        except OSError as exc:  # the system refused a read or a write: a full disk, permissions
            where = f"{exc.filename}: " if exc.filename else ""
            click.echo(f"error: {where}{exc.strerror or exc}", err=True)
            ctx.exit(2)


def _progress(show: bool, quiet: bool) -> Progress:
    """Bars on stderr when asked (--progress) or when stderr is a terminal; never with --quiet."""
    if quiet or not (show or sys.stderr.isatty()):
        return SILENT
    return StderrProgress(sys.stderr)


def progress_options(command: Any) -> Any:
    """--progress and --quiet, shared by the commands with long stages."""
    command = click.option("--quiet", "-q", is_flag=True,
                           help="No progress bars and no warnings on stderr.")(command)
    return click.option("--progress", "show_progress", is_flag=True,
                        help="Progress of each stage on stderr even when it is not a terminal.")(
                            command)


class _Workers(click.ParamType):
    """--workers: "auto" (``parallel.auto_workers``) or a count of 0 or more."""

    name = "auto|N"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        if isinstance(value, int):
            return value
        if str(value).strip().lower() == "auto":
            return auto_workers()
        try:
            count = int(str(value))
        except ValueError:
            self.fail(f"{value!r} is not 'auto' or a number of processes", param, ctx)
        if count < 0:
            self.fail(f"{count} is below 0 (0 = one per CPU)", param, ctx)
        return count


WORKERS = _Workers()
_WORKER_COUNTS = ("auto = one per usable CPU, at most 4; 0 = one per usable CPU; 1 = no pool; "
                  "N = at most 4 per usable CPU")


def engine_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """``--engine`` and ``--ray-address``, for the commands whose parallel work can run on Ray."""
    command = click.option(
        "--ray-address", "ray_address", default=None, metavar="ADDR",
        help="Ray cluster for --engine ray, e.g. HOST:6379 (default: $RAY_ADDRESS, else a "
             "local Ray instance on this machine).")(command)
    return click.option(
        "--engine", type=click.Choice(["local", "ray"]), default="local", show_default=True,
        help="Where the parallel stages run: local (--workers processes here) or ray (a Ray "
             "cluster; needs pip install 'augment[ray]'). Same output either way.")(command)


FILE_WORKERS_HELP = ("Processes that parse the file's lines and run the near-duplicate calibration of "
                     f"a large file (its settings' counts at once, then the chosen one's search in jobs): "
                     f"{_WORKER_COUNTS}. The output is the same whatever the number. Local engine only.")


def _load(rules: str | None) -> Config:
    if rules is None:
        return Config()
    return load_config(rules)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="augment")
def cli() -> None:
    """Grow hand-made melody chat examples into a large, checked, leak-free training set."""


@cli.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--rules", "rules", type=click.Path(), default=None,
              help="Rules file whose [format] (duration unit, rest token) applies.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per finding.")
def validate(files: tuple[Path, ...], rules: str | None, as_json: bool) -> None:
    """Report every format problem as FILE:LINE: CODE: message.

    Exit 0 when there is no error (warnings allowed), 1 otherwise.

    Example: augment validate seeds/beethoven.jsonl
    """
    config = _load(rules)
    findings = validate_files(list(files), config.format, config.limits)
    for f in findings:
        click.echo(json.dumps(f.as_dict(), ensure_ascii=False) if as_json else str(f))
    errors = sum(f.severity == "error" for f in findings)
    if not as_json:
        click.echo(f"{len(files)} file(s): {errors} error(s), {len(findings) - errors} warning(s)",
                   err=True)
    sys.exit(1 if errors else 0)


@cli.command()
@click.argument("seeds", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--rules", "rules", default=DEFAULT_RULES, show_default=True,
              help="Rules file (TOML).")
@click.option("--out", "out", required=True, type=click.Path(path_type=Path),
              help="Output directory.")
@click.option("--seed", "seed", type=int, default=None,
              help="Run seed (default: [expand] seed in the rules file).")
@click.option("--on-error", type=click.Choice(["fail", "skip"]), default="fail", show_default=True,
              help="fail: stop before writing on any bad seed line; skip: set it aside in "
                   "rejected.jsonl.")
@click.option("--target", "target", type=click.IntRange(min=1), default=None,
              help="Keep N examples: caps per family/rule/key, then a diversity-maximising pick.")
@click.option("--report", "report", is_flag=True,
              help="Also write OUT/report.html (as 'augment report OUT' does).")
@click.option("--workers", "workers", type=WORKERS, default="auto", show_default=True,
              help=f"Processes for the per-seed stages (rules, re-prompting, checks): {_WORKER_COUNTS}. "
                   "The output is byte-identical whatever the number. Local engine only.")
@engine_options
@progress_options
def expand(seeds: tuple[Path, ...], rules: str, out: Path, seed: int | None, on_error: str,
           target: int | None, report: bool, workers: int, engine: str, ray_address: str | None,
           show_progress: bool, quiet: bool) -> None:
    """Expand seed examples into train/validation/test with lineage and a manifest.

    Example: augment expand seeds/beethoven.jsonl --rules rules/default.toml --out out/ --workers 2
    """
    config = _load(rules)
    with _engine(engine, ray_address, quiet) as mapper:
        result = run_expand(list(seeds), config, out, run_seed=seed,
                            on_error="skip" if on_error == "skip" else "fail", target=target,
                            progress=_progress(show_progress, quiet), workers=workers, mapper=mapper)
    for w in [] if quiet else result.warnings:
        click.echo(str(w), err=True)
    from .dataset import summary_lines

    for line in summary_lines(result.counts, result.manifest, rejected_path=out / "rejected.jsonl"):
        click.echo(line)
    click.echo(f"output: {out}")
    if report:
        from .report import write_report

        click.echo(f"report: {write_report(out)}")


@cli.command("inspect")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--rules", "rules", type=click.Path(), default=None,
              help="Rules file whose [format] and [checks] apply (default: built-in defaults).")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per input line.")
def inspect_cmd(file: Path, rules: str | None, as_json: bool) -> None:
    """Show, per line, the stated and detected key, and which checks fail and why.

    Exit 0 when every line passes, 1 otherwise.

    Example: augment inspect seeds/beethoven.jsonl --rules rules/default.toml --json
    """
    config = _load(rules)
    if not file.is_file():
        raise AugmentError(f"{file}: no such file")
    records = inspect_file(file, config)
    if not records:
        click.echo(f"{file}:0: FAIL empty_file: file holds no lines")
    for r in records:
        if as_json:
            click.echo(json.dumps(r, ensure_ascii=False))
            continue
        status = "ok  " if r["ok"] else "FAIL"
        if r["errors"]:
            detail = "; ".join(f"{e['code']}: {e['message']}" for e in r["errors"])
        else:
            confidence = "-" if r["key_confidence"] is None else f"{r['key_confidence']:.2f}"
            span = "-" if r["range"] is None else f"{r['range'][0]}-{r['range'][1]}"
            detail = (f"stated {r['stated_key'] or '-'}, detected {r['key'] or '-'} "
                      f"({confidence}), range {span}, {r['notes']} notes"
                      + "".join(f"\n        {x}" for x in r["reasons"]))
        click.echo(f"{file}:{r['line']}: {status} {detail}")
    sys.exit(0 if records and all(r["ok"] for r in records) else 1)


@cli.command("calibrate")
@click.argument("seeds", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--rules", "rules", type=click.Path(), default=None,
              help="Rules file whose [format] and current [checks] apply.")
@click.option("--json", "as_json", is_flag=True, help="The distributions as JSON.")
def calibrate_cmd(seeds: tuple[Path, ...], rules: str | None, as_json: bool) -> None:
    """Distribution of every check's measure over the seeds, and suggested thresholds
    (2nd/98th percentile) printed as a [checks] table.

    Example: augment calibrate seeds/beethoven.jsonl > my_checks.toml
    """
    config = _load(rules)
    examples, _rejected, findings = read_seeds(list(seeds), config.format)
    for f in findings:
        click.echo(str(f), err=True)
    if not examples:
        raise AugmentError(f"{', '.join(map(str, seeds))}: no valid example to calibrate on")
    distributions = calibrate_checks(annotate_keys(examples), config.checks)
    if as_json:
        click.echo(json.dumps([asdict(d) for d in distributions], indent=2))
    else:
        click.echo(f"# calibrated on {len(examples)} example(s) from {', '.join(map(str, seeds))}")
        click.echo(as_toml(distributions))


@cli.command("rules")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def list_rules(as_json: bool) -> None:
    """List every rule with its parameters, defaults and a one-line description.

    Example: augment rules --json
    """
    available = registry()
    entries: list[dict[str, Any]] = [{"name": name, "doc": cls.doc(), "changes": sorted(cls.changes),
                "params": cls.parameters()} for name, cls in sorted(available.items())]
    if as_json:
        click.echo(json.dumps(entries, indent=2))
        return
    for e in entries:
        click.echo(f"{e['name']}: {e['doc']}")
        for k, v in e["params"].items():
            click.echo(f"    {k} = {json.dumps(v)}")


@cli.command("replay")
@click.argument("out_dir", type=click.Path(path_type=Path))
@click.option("--seeds", "seeds", multiple=True, required=True, type=click.Path(path_type=Path),
              help="Seed file(s) the run was made from (repeat for several).")
@click.option("--rules", "rules", type=click.Path(), default=None,
              help="Rules file whose [format] the run used (default: the run's manifest).")
def replay_command(out_dir: Path, seeds: tuple[Path, ...], rules: str | None) -> None:
    """Re-apply every lineage record's rules and params to its seed and compare.

    Exit 0 when every variant in train/validation/test is reproduced exactly, 1 otherwise.

    Example: augment replay out/ --seeds seeds/beethoven.jsonl --rules rules/wide.toml
    """
    from .export import output_format
    from .pipeline import read_seeds
    from .replay import replay_dir

    fmt = _load(rules).format if rules is not None else output_format(out_dir)
    examples, _rejected, findings = read_seeds(list(seeds), fmt)
    for f in findings:  # (a seed line that cannot be read: its variants show as "not in the seed files")
        click.echo(str(f), err=True)
    report = replay_dir(out_dir, examples, fmt)
    for m in report.mismatches:
        click.echo(str(m))
    click.echo(f"replayed {report.checked} example(s): {len(report.mismatches)} mismatch(es)", err=True)
    sys.exit(1 if report.mismatches else 0)


@cli.command("export")
@click.argument("format_name", metavar="FORMAT", type=click.Choice(
    ["openai", "trl", "trl-prompt-completion", "openai-dpo", "trl-dpo", "midi"]))
@click.argument("file", type=click.Path(path_type=Path))
@click.option("-o", "--out", "out", required=True, type=click.Path(path_type=Path),
              help="Output JSONL file (a directory for midi).")
@click.option("--limit", type=click.IntRange(min=1), default=None,
              help="midi: write only the first N examples.")
@click.option("--rules", "rules", type=click.Path(), default=None,
              help="Rules file whose [format] FILE uses (default: the manifest beside FILE).")
def export_command(format_name: str, file: Path, out: Path, limit: int | None, rules: str | None) -> None:
    """Write FILE for a trainer, as preference pairs, or as one MIDI file per example.

    openai: chat lines, messages only. trl: {"messages"}. trl-prompt-completion:
    {"prompt", "completion"}. openai-dpo / trl-dpo: a passing answer against a
    check-failing sibling's answer to the same prompt (needs rejected.jsonl beside FILE).
    midi: OUT/<example id>.mid, tempo from the prompt's tempo words.

    Example: augment export trl-dpo out/train.jsonl -o out/train.trl-dpo.jsonl
    """
    from .export import export_file, export_midi

    fmt = _load(rules).format if rules else None
    if format_name == "midi":
        result = export_midi(file, out, limit, fmt)
    else:
        result = export_file(format_name, file, out, fmt)
    unpaired = f" ({result.unpaired} check failure(s) had no passing sibling)" if result.unpaired else ""
    click.echo(f"wrote {result.written} {format_name} record(s) to {out}{unpaired}")


@cli.command("report")
@click.argument("out_dir", type=click.Path(path_type=Path))
def report_command(out_dir: Path) -> None:
    """Write OUT_DIR/report.html: counts, distributions, piano rolls and audio, offline.

    Example: augment report out/
    """
    from .report import write_report

    path = write_report(out_dir)
    click.echo(f"wrote {path}")


@cli.command("dedup")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("-o", "--out", "out", required=True, type=click.Path(path_type=Path),
              help="Output JSONL: the input lines that are not duplicates, in input order.")
@click.option("--rules", "rules", type=click.Path(), default=None,
              help="Rules file whose [format] and [dedup] apply.")
@click.option("--seed", "seed", type=int, default=0, show_default=True, help="Calibration seed.")
@click.option("--rejects", "rejects", type=click.Path(path_type=Path), default=None,
              help="Where dropped lines go with their reasons [default: <OUT stem>.rejected.jsonl].")
@click.option("--on-error", type=click.Choice(["fail", "skip"]), default="fail", show_default=True,
              help="fail: stop before writing on any invalid line; skip: put it in the rejects file.")
@click.option("--workers", "workers", type=WORKERS, default="auto", show_default=True,
              help=FILE_WORKERS_HELP)
@engine_options
@progress_options
def dedup_command(file: Path, out: Path, rules: str | None, seed: int, rejects: Path | None,
                  on_error: str, workers: int, engine: str, ray_address: str | None,
                  show_progress: bool, quiet: bool) -> None:
    """Remove exact, transposed/tempo-scaled and near-duplicate melodies from any chat JSONL.

    Every dropped line goes to the rejects file with its reason.

    Example: augment dedup data.jsonl -o data.dedup.jsonl
    """
    from .dataset_files import dedup_file
    from .output import refuse_folder

    for path in (out, rejects):  # (asked before the work, which may take minutes)
        if path is not None:
            refuse_folder(path)
    config = _load(rules)
    with _engine(engine, ray_address, quiet) as mapper:
        result = dedup_file(file, config, out, seed, rejects=rejects, on_error=on_error,
                            progress=_progress(show_progress, quiet), workers=workers, mapper=mapper)
    c, cal = result.counts, result.manifest["dedup_calibration"]
    click.echo(f"{c['input_lines']} lines: {c['exact_duplicates']} exact, {c['invariant_duplicates']} "
               f"transposed/tempo, {c['near_duplicates']} near duplicates removed; {c['written']} "
               f"written to {out}")
    invalid = f" and {c['invalid']} invalid" if c["invalid"] else ""
    click.echo(f"{c['duplicates']} duplicate{invalid} line(s) with reasons in {result.manifest['rejects']}")
    if cal and not quiet:
        click.echo(f"near threshold {cal['params']['similarity']}: probe recall "
                   f"{cal['probe_recall']:.1%}, {cal['merged_melodies']} of {cal['melodies']} "
                   "distinct melodies merged", err=True)


@cli.command("split")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--out", "out", required=True, type=click.Path(path_type=Path),
              help="Output directory for train/validation/test.jsonl, lineage and manifest.")
@click.option("--rules", "rules", type=click.Path(), default=None,
              help="Rules file whose [format], [dedup] and [split] apply.")
@click.option("--seed", "seed", type=int, default=0, show_default=True, help="Run seed.")
@click.option("--workers", "workers", type=WORKERS, default="auto", show_default=True,
              help=FILE_WORKERS_HELP)
@engine_options
@progress_options
def split_command(file: Path, out: Path, rules: str | None, seed: int, workers: int, engine: str,
                  ray_address: str | None, show_progress: bool, quiet: bool) -> None:
    """Split an existing dataset so that no tune is on two sides (groups by shared tunes).

    Example: augment split data.jsonl --out splits/
    """
    from .dataset_files import split_file

    config = _load(rules)
    with _engine(engine, ray_address, quiet) as mapper:
        result = split_file(file, config, out, seed, progress=_progress(show_progress, quiet),
                            workers=workers, mapper=mapper)
    c = result.counts
    total = c["input_lines"] or 1
    same = f" ({c['identical_lines']} identical to another)" if c["identical_lines"] else ""
    click.echo(f"{c['input_lines']} lines{same} in {c['groups']} tune groups -> " + ", ".join(
        f"{s} {c[f'written_{s}']} ({c[f'written_{s}'] / total:.1%})"
        for s in ("train", "validation", "test")) + f"; leakage audit passed; wrote {out}")


@cli.command("verify")
@click.argument("out_dir", type=click.Path(path_type=Path))
def verify_command(out_dir: Path) -> None:
    """Re-check an output directory against its manifest: changed, missing or extra files.

    Exit 0 when everything matches, 1 otherwise.

    Example: augment verify out/
    """
    from .verify import verify_dir

    problems = verify_dir(out_dir)
    for p in problems:
        click.echo(f"{out_dir}: {p}")
    click.echo(f"{out_dir}: {'OK' if not problems else f'{len(problems)} problem(s)'}", err=True)
    sys.exit(1 if problems else 0)


@cli.command("import")
@click.argument("scores", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-o", "--out", "out", required=True, type=click.Path(path_type=Path),
              help="Output seed JSONL file (written atomically).")
@click.option("--part", "part", default=None,
              help="Read this part (name, id or 1-based number) instead of the top line of all parts.")
@click.option("--bars", "bars", type=click.IntRange(min=1), default=8, show_default=True,
              help="Bars per phrase (a pickup bar goes with the first phrase).")
@click.option("--system", "system", default=None, help="A system message to put before each prompt.")
@click.option("--rules", "rules", type=click.Path(), default=None,
              help="Rules file whose [format] and [checks] apply (default: built-in defaults).")
@click.option("--keep-failing", is_flag=True,
              help="Also write phrases that fail a check (prompts are still checked to be true).")
@click.option("--on-error", type=click.Choice(["fail", "skip"]), default="fail", show_default=True,
              help="A score music21 cannot read: fail: stop, nothing written; skip: report it, go on.")
def import_cmd(scores: tuple[Path, ...], out: Path, part: str | None, bars: int, system: str | None,
               rules: str | None, keep_failing: bool, on_error: str) -> None:
    """Cut scores (MIDI, MusicXML/.mxl, ABC, Humdrum .krn) into phrases of whole bars and
    write them as seed examples with true prompts (key, meter, bars, tempo word).

    Example: augment import tune.abc chorale.mxl -o seeds/imported.jsonl --bars 8
    """
    from .importer import ImportOptions, import_files

    options = ImportOptions(part=part, bars_per_phrase=bars, system=system, keep_failing=keep_failing,
                            on_error="skip" if on_error == "skip" else "fail")
    result = import_files(list(scores), out, _load(rules), options)
    for report in result.reports:
        click.echo(report.summary(), err=report.error is not None)
    click.echo(f"wrote {result.written} seed example(s) to {out}")


def _engine(engine: str, ray_address: str | None, quiet: bool) -> AbstractContextManager[Mapper | None]:
    """The mapper for a command's parallel stages: None (the command's local pool of
    --workers) or one on Ray."""
    if engine == "local":
        if ray_address is not None:
            raise AugmentError("--ray-address is only used with --engine ray")
        return nullcontext(None)
    from .ray_engine import ray_mapper

    workers_given = click.get_current_context().get_parameter_source("workers")
    if workers_given is click.core.ParameterSource.COMMANDLINE and not quiet:
        click.echo("note: --workers is ignored with --engine ray: Ray uses the cluster's CPUs",
                   err=True)
    return ray_mapper(ray_address)


def main() -> None:
    _end_like_ctrl_c()
    try:
        cli(prog_name="augment")
    except SystemExit as exc:
        # A library waiting in C code when ``_stop`` raised may put its own SystemExit in
        # place of ours: Ray's ``ray.get`` raises SystemExit(1) for an interrupted wait.
        if _stopped_by and exc.code != 128 + _stopped_by[0]:
            raise SystemExit(128 + _stopped_by[0]) from None
        raise


# ``parallel.ENDING_SIGNALS`` (SIGTERM, SIGHUP) under Python's default end the process on the
# spot, and a run's scratch folder stayed behind in $TMPDIR (~90 MB 8 s into a run of the
# bundled seeds at 4,000 variants each; ~1.6 GB at a million examples). Raised here as
# SystemExit, they unwind the command: the pool is stopped, the scratch folder and
# temporary files removed; the output directory is left as a kill leaves it (README,
# "Crashes"). The pool's processes end at once on these signals (``parallel``).
def _end_like_ctrl_c() -> None:
    """Install ``_stop`` for each of ``parallel.ending_signals()`` left at its default (one
    that the caller ignores, as ``nohup`` ignores SIGHUP, stays ignored)."""
    if threading.current_thread() is not threading.main_thread():
        return  # (only the main thread may set handlers: a caller running main() in a thread)
    for number in ending_signals():
        if signal.getsignal(number) is signal.SIG_DFL:
            signal.signal(number, _stop)


_stopped_by: list[int] = []  # the signal ``_stop`` was called for, once it was


def _stop(number: int, frame: object) -> None:
    signal.signal(number, signal.SIG_DFL)  # a second one ends the process at once
    _stopped_by.append(number)
    name = signal.Signals(number).name
    click.echo(f"augment: stopped by {name}; removing the run's temporary files", err=True)
    raise SystemExit(128 + number)
