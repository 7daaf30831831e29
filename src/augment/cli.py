"""Thin click commands: parse options, call one library function, print a summary.

Expected problems arrive as AugmentError and leave as a one-line message (exit 2 for
usage/config problems, 1 for findings); never a traceback.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from .codec import FormatConfig
from .config import Config, load_config
from .errors import AugmentError
from .pipeline import expand as run_expand
from .rules import registry
from .validate import validate_files

DEFAULT_RULES = "rules/default.toml"


def _fail(exc: AugmentError) -> None:
    click.echo(f"error: {exc}", err=True)
    sys.exit(2)


def _load(rules: str | None) -> Config:
    if rules is None:
        return Config()
    try:
        return load_config(rules)
    except AugmentError as exc:
        _fail(exc)
        raise  # unreachable


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
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
    fmt: FormatConfig = _load(rules).format
    findings = validate_files(list(files), fmt)
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
def expand(seeds: tuple[Path, ...], rules: str, out: Path, seed: int | None, on_error: str) -> None:
    """Expand seed examples into train/validation/test with lineage and a manifest.

    Example: augment expand seeds/beethoven.jsonl --rules rules/default.toml --out out/
    """
    config = _load(rules)
    try:
        result = run_expand(list(seeds), config, out, run_seed=seed,
                            on_error="skip" if on_error == "skip" else "fail")
    except AugmentError as exc:
        _fail(exc)
        return
    for w in result.warnings:
        click.echo(str(w), err=True)
    c = result.counts
    click.echo(f"seeds read: {c['input_lines']} lines, {c['rejected_read']} rejected at read, "
               f"{c['rejected_seed_checks']} failed checks")
    click.echo(f"variants: {c['variants_drawn']} drawn, {c['variants_passing_checks']} passed checks, "
               f"{c['rejected_reprompt'] + c['rejected_checks']} rejected, "
               f"{c['exact_duplicates']} exact duplicates removed")
    click.echo(f"written to {out}: train {c['written_train']}, validation {c['written_validation']}, "
               f"test {c['written_test']}; rejected {c['rejected_total']}")


@cli.command("rules")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def list_rules(as_json: bool) -> None:
    """List every rule with its parameters, defaults and a one-line description.

    Example: augment rules --json
    """
    try:
        available = registry()
    except AugmentError as exc:
        _fail(exc)
        return
    entries: list[dict[str, Any]] = [{"name": name, "doc": cls.doc(), "changes": sorted(cls.changes),
                "params": cls.parameters()} for name, cls in sorted(available.items())]
    if as_json:
        click.echo(json.dumps(entries, indent=2))
        return
    for e in entries:
        click.echo(f"{e['name']}: {e['doc']}")
        for k, v in e["params"].items():
            click.echo(f"    {k} = {json.dumps(v)}")


def main() -> None:
    cli(prog_name="augment")
