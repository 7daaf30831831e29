"""Run configuration: a TOML rules file -> a validated, frozen Config.

Everything is checked at load time, before any work, and every error names the file,
the table (and the rule's position), the parameter, and a did-you-mean.
"""

from __future__ import annotations

import difflib
import math
import tomllib
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from .codec import FormatConfig
from .errors import AugmentError
from .limits import Limits
from .reprompt import RepromptConfig
from .rules import Rule, registry


@dataclass(frozen=True)
class ExpandConfig:
    variants_per_seed: int = 20
    # Draws per wanted variant before giving up on a seed with few distinct variants.
    attempts_per_variant: int = 4
    seed: int = 0


@dataclass(frozen=True)
class ChecksConfig:
    """Thresholds of the theory checks (the ``[checks]`` table)."""

    min_pitch: int = 36
    max_pitch: int = 96
    max_span_semitones: int = 31
    min_notes: int = 4
    max_notes: int = 256
    min_in_scale_rate: float = 0.7
    # Key agreement: the stated key's correlation may trail the best key's by this much.
    key_tolerance: float = 0.45
    allow_relative_key: bool = True
    max_leap_semitones: int = 16
    leap_semitones: int = 7
    max_unrecovered_leaps: int = 2
    max_repeated_notes: int = 8
    rhythm_grid_per_quarter: tuple[int, ...] = (8, 6)
    min_duration_quarter: float = 0.125
    max_duration_quarter: float = 16.0
    cadence_tonic_only: bool = False
    skip: tuple[str, ...] = ()


@dataclass(frozen=True)
class SplitConfig:
    test: float = 0.1
    validation: float = 0.1
    # False: held-out families keep only their seed, unaugmented (fractions are then
    # fractions of the seeds); True: fractions are fractions of all written rows.
    augment_holdout: bool = False
    stratify: str = "none"  # "none" | "mode" | "key": keep key/mode shares alike per split
    holdout_keys: tuple[str, ...] = ()  # e.g. ["F# major"]: these keys only in test
    holdout_rules: tuple[str, ...] = ()  # variants of these rules only in test/validation


DEDUP_LEVELS = ("exact", "invariant", "near")


@dataclass(frozen=True)
class DedupConfig:
    """The ``[dedup]`` table: which duplicate levels go, and near-duplicate calibration."""

    # Strongest level removed between members of one seed family / of different families.
    within_family: str = "exact"
    across_families: str = "near"
    calibrate: bool = True
    target_recall: float = 0.9
    min_similarity: float = 0.5  # calibration never picks a lower threshold
    similarity: float = 0.85  # used when calibrate = false
    shingle_size: int = 3  # used when calibrate = false
    min_notes: int = 8  # shorter melodies get exact and invariant dedup only


@dataclass(frozen=True)
class SelectConfig:
    """The ``[select]`` table: caps (shares of the target) and the greedy diversity pick."""

    max_family_share: float = 0.2
    max_rule_share: float = 0.5
    max_key_share: float = 0.2
    method: str = "maxmin"  # "maxmin" | "mmr"
    mmr_lambda: float = 0.7  # mmr: weight of novelty against typicality (1 = maxmin)


@dataclass(frozen=True)
class RuleSpec:
    rule: Rule
    p: float = 1.0
    # Whether the engine draws the rule's params from its choices (``Rule.draws_by_choices``),
    # worked out once here: every draw asks.
    by_choices: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_choices", type(self.rule).draws_by_choices())


@dataclass(frozen=True)
class Config:
    format: FormatConfig = FormatConfig()
    expand: ExpandConfig = ExpandConfig()
    rules: tuple[RuleSpec, ...] = ()
    checks: ChecksConfig = ChecksConfig()
    split: SplitConfig = SplitConfig()
    dedup: DedupConfig = DedupConfig()
    select: SelectConfig = SelectConfig()
    reprompt: RepromptConfig = RepromptConfig()
    limits: Limits = Limits()
    source: str = "<defaults>"

    def resolved(self) -> dict[str, Any]:
        """The config as plain data, every default filled in (for the manifest)."""
        return {
            "format": asdict(self.format),
            "expand": asdict(self.expand),
            "rule": [{"name": s.rule.name, "p": s.p, "params": asdict(s.rule)} for s in self.rules],
            "checks": asdict(self.checks),
            "split": asdict(self.split),
            "dedup": asdict(self.dedup),
            "select": asdict(self.select),
            "reprompt": asdict(self.reprompt),
            "limits": asdict(self.limits),
        }


# Bounds past which a run would only spin (a draw's attempts, a shingle longer than any tune).
MAX_ATTEMPTS_PER_VARIANT = 1_000
MAX_SHINGLE_SIZE = 64

TABLES = ("format", "expand", "rule", "checks", "split", "dedup", "select", "reprompt", "limits")


def _suggest(word: str, options: list[str] | tuple[str, ...]) -> str:
    close = difflib.get_close_matches(word, list(options), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _type_ok(value: Any, default: Any) -> bool:
    if isinstance(default, tuple):
        item = default[0] if default else None
        return isinstance(value, list) and (item is None or all(_type_ok(v, item) for v in value))
    if isinstance(default, bool) or isinstance(value, bool):
        return isinstance(value, bool) and isinstance(default, bool)
    if isinstance(default, float):
        return isinstance(value, int | float)
    return isinstance(value, type(default))


def _build(cls: type, table: dict[str, Any], where: str) -> Any:
    """Make dataclass ``cls`` from ``table``, naming ``where`` in every error."""
    names = [f.name for f in fields(cls)]
    defaults = {f.name: f.default for f in fields(cls)}
    for key, value in table.items():
        if key not in defaults:
            raise AugmentError(f"{where}: unknown parameter {key!r}{_suggest(key, names)}; "
                               f"known: {', '.join(names)}")
        if not _type_ok(value, defaults[key]):
            raise AugmentError(f"{where}: parameter {key!r} must be {type(defaults[key]).__name__}, "
                               f"got {value!r}")
    values = {k: (float(v) if isinstance(defaults[k], float) else
                  tuple(v) if isinstance(defaults[k], tuple) else v) for k, v in table.items()}
    try:
        return cls(**values)
    except (ValueError, TypeError, ArithmeticError) as exc:  # (Fraction("1/0"): ZeroDivisionError)
        raise AugmentError(f"{where}: {exc}") from None


def _format(table: dict[str, Any], where: str) -> FormatConfig:
    unit = table.get("duration_unit", "quarter")
    rest = table.get("rest", 0)
    for key in table:
        if key not in ("duration_unit", "rest"):
            raise AugmentError(f"{where}: unknown parameter {key!r}"
                               f"{_suggest(key, ('duration_unit', 'rest'))}")
    if unit not in ("quarter", "whole"):
        raise AugmentError(f"{where}: duration_unit must be \"quarter\" or \"whole\", got {unit!r}")
    if rest not in (0, "null") or isinstance(rest, bool):
        raise AugmentError(f"{where}: rest must be 0 or \"null\", got {rest!r}")
    return FormatConfig(duration_unit=unit, rest=rest)


def _rules(entries: Any, file: str) -> tuple[RuleSpec, ...]:
    if not isinstance(entries, list):
        raise AugmentError(f"{file}: 'rule' must be an array of tables ([[rule]])")
    available = registry()
    specs = []
    for position, entry in enumerate(entries, start=1):
        where = f"{file}: [[rule]] #{position}"
        if not isinstance(entry, dict):
            raise AugmentError(f"{where}: must be a table")
        unknown = set(entry) - {"name", "p", "params"}
        if unknown:
            key = sorted(unknown)[0]
            raise AugmentError(f"{where}: unknown key {key!r}{_suggest(key, ('name', 'p', 'params'))}")
        name = entry.get("name")
        if "name" in entry and not isinstance(name, str):
            raise AugmentError(f"{where}: 'name' must be a string (a rule's name), got {name!r}")
        if not isinstance(name, str):
            raise AugmentError(f"{where}: missing 'name'")
        if name not in available:
            raise AugmentError(f"{where}: unknown rule {name!r}{_suggest(name, sorted(available))}; "
                               f"see 'augment rules'")
        p = entry.get("p", 1.0)
        if isinstance(p, bool) or not isinstance(p, int | float) or not 0 <= p <= 1:
            raise AugmentError(f"{where} ({name}): p must be a number in [0, 1], got {p!r}")
        params = entry.get("params", {})
        if not isinstance(params, dict):
            raise AugmentError(f"{where} ({name}): params must be a table")
        rule = _build(available[name], params, f"{where} ({name}) params")
        specs.append(RuleSpec(rule, float(p)))
    return tuple(specs)


def _unusable_number(value: Any, path: str) -> str | None:
    """Where in ``value`` (a TOML document, or part of one at ``path``) a number is no
    usable value: a float that is inf or nan (TOML writes both), or an int past 64 bits
    (TOML's integers are 64-bit; Python's reader takes any). None when there is none."""
    if isinstance(value, float) and not math.isfinite(value):
        return f"{path} = {value}: a number must be finite"
    if isinstance(value, int) and not isinstance(value, bool) and not -2**63 <= value < 2**63:
        return f"{path} = {value}: an integer must fit in 64 bits"
    if isinstance(value, dict):
        for key, item in value.items():
            found = _unusable_number(item, f"{path}.{key}" if path else str(key))
            if found:
                return found
    if isinstance(value, list):
        for at, item in enumerate(value):
            found = _unusable_number(item, f"{path}[{at}]")
            if found:
                return found
    return None


def parse_config(data: dict[str, Any], file: str) -> Config:
    for table in data:
        if table not in TABLES:
            raise AugmentError(f"{file}: unknown table [{table}]{_suggest(table, TABLES)}; "
                               f"known: {', '.join(TABLES)}")
    for table in ("format", "expand", "checks", "split", "dedup", "select", "reprompt", "limits"):
        if table in data and not isinstance(data[table], dict):
            raise AugmentError(f"{file}: [{table}] must be a table")
    for table, value in data.items():  # named as the other errors name them
        parts = [(f"[[rule]] #{n}", entry) for n, entry in enumerate(value, start=1)] \
            if table == "rule" and isinstance(value, list) else [(f"[{table}]", value)]
        for where, part in parts:
            unusable = _unusable_number(part, "")
            if unusable:
                raise AugmentError(f"{file}: {where} {unusable}")
    config = Config(
        format=_format(data.get("format", {}), f"{file}: [format]"),
        expand=_build(ExpandConfig, data.get("expand", {}), f"{file}: [expand]"),
        rules=_rules(data.get("rule", []), file),
        checks=_build(ChecksConfig, data.get("checks", {}), f"{file}: [checks]"),
        split=_build(SplitConfig, data.get("split", {}), f"{file}: [split]"),
        dedup=_build(DedupConfig, data.get("dedup", {}), f"{file}: [dedup]"),
        select=_build(SelectConfig, data.get("select", {}), f"{file}: [select]"),
        reprompt=_build(RepromptConfig, data.get("reprompt", {}), f"{file}: [reprompt]"),
        limits=_build(Limits, data.get("limits", {}), f"{file}: [limits]"),
        source=file,
    )
    config.reprompt.validate(f"{file}: [reprompt]")
    _validate(config, file)
    _validate_dataset(config, file)
    return config


def _choice(value: str, options: tuple[str, ...], where: str) -> None:
    if value not in options:
        raise AugmentError(f"{where} must be one of {', '.join(options)}, got {value!r}"
                           f"{_suggest(value, options)}")


def _validate_dataset(config: Config, file: str) -> None:
    """[dedup], [select] and the dataset parameters of [split]."""
    d, s, sp = config.dedup, config.select, config.split
    _choice(d.within_family, DEDUP_LEVELS, f"{file}: [dedup] within_family")
    _choice(d.across_families, DEDUP_LEVELS, f"{file}: [dedup] across_families")
    for name in ("target_recall", "min_similarity", "similarity"):
        if not 0 < getattr(d, name) <= 1:
            raise AugmentError(f"{file}: [dedup] {name} must be in (0, 1]")
    if not 1 <= d.shingle_size <= MAX_SHINGLE_SIZE or d.min_notes < 2:
        raise AugmentError(f"{file}: [dedup] need shingle_size in 1-{MAX_SHINGLE_SIZE} and min_notes >= 2")
    _choice(s.method, ("maxmin", "mmr"), f"{file}: [select] method")
    for name in ("max_family_share", "max_rule_share", "max_key_share", "mmr_lambda"):
        if not 0 < getattr(s, name) <= 1:
            raise AugmentError(f"{file}: [select] {name} must be in (0, 1]")
    _choice(sp.stratify, ("none", "mode", "key"), f"{file}: [split] stratify")
    from .split import key_from_name  # split imports config: import here

    for field_name in ("holdout_keys", "holdout_rules"):
        for name in getattr(sp, field_name):
            if not isinstance(name, str):
                raise AugmentError(f"{file}: [split] {field_name}: {name!r} is not a string")
    for name in sp.holdout_keys:
        if key_from_name(name) is None:
            raise AugmentError(f"{file}: [split] holdout_keys: {name!r} is not a key name "
                               "like \"F# major\" or \"D dorian\"")
    known = {spec.rule.name for spec in config.rules} | set(registry())
    for name in sp.holdout_rules:
        if name not in known:
            raise AugmentError(f"{file}: [split] holdout_rules: unknown rule {name!r}"
                               f"{_suggest(name, sorted(known))}")


def _validate(config: Config, file: str) -> None:
    if config.expand.variants_per_seed < 0:
        raise AugmentError(f"{file}: [expand] variants_per_seed must be >= 0")
    for problem in config.limits.problems():
        raise AugmentError(f"{file}: [limits] {problem}")
    if config.expand.variants_per_seed > config.limits.max_variants_per_seed:
        raise AugmentError(f"{file}: [expand] variants_per_seed = {config.expand.variants_per_seed} "
                           f"is over the limit of {config.limits.max_variants_per_seed} "
                           "([limits] max_variants_per_seed; raise it if you mean it)")
    if not 1 <= config.expand.attempts_per_variant <= MAX_ATTEMPTS_PER_VARIANT:
        raise AugmentError(f"{file}: [expand] attempts_per_variant must be in 1-{MAX_ATTEMPTS_PER_VARIANT}")
    s = config.split
    if not (0 <= s.test < 1 and 0 <= s.validation < 1 and s.test + s.validation < 1):
        raise AugmentError(f"{file}: [split] test and validation must be in [0, 1) and sum below 1")
    c = config.checks
    if not 0 <= c.min_pitch <= c.max_pitch <= 127:
        raise AugmentError(f"{file}: [checks] need 0 <= min_pitch <= max_pitch <= 127")
    from .checks import CHECKS  # checks import config: import here, at validation time

    for name in c.skip:
        if not isinstance(name, str) or name not in CHECKS:
            raise AugmentError(f"{file}: [checks] skip names unknown check {name!r}"
                               f"{_suggest(str(name), sorted(CHECKS))}; known: {', '.join(CHECKS)}")
    if not c.rhythm_grid_per_quarter or any(d <= 0 for d in c.rhythm_grid_per_quarter):
        raise AugmentError(f"{file}: [checks] rhythm_grid_per_quarter must hold positive integers")
    if not 0 <= c.min_in_scale_rate <= 1:
        raise AugmentError(f"{file}: [checks] min_in_scale_rate must be in [0, 1]")
    for name in ("max_span_semitones", "min_notes", "max_notes", "max_leap_semitones", "leap_semitones",
                 "max_unrecovered_leaps", "max_repeated_notes"):
        if getattr(c, name) < 0:
            raise AugmentError(f"{file}: [checks] {name} must be >= 0")
    if not 0 < c.min_duration_quarter <= c.max_duration_quarter:
        raise AugmentError(f"{file}: [checks] need 0 < min_duration_quarter <= max_duration_quarter")
    if c.key_tolerance < 0:
        raise AugmentError(f"{file}: [checks] key_tolerance must be >= 0")


def load_config(path: str | Path) -> Config:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")  # (a BOM, as some editors write, is no statement)
    except OSError as exc:
        raise AugmentError(f"{path}: cannot read rules file ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise AugmentError(f"{path}: rules file is not UTF-8") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise AugmentError(f"{path}: invalid TOML: {exc}") from None
    return parse_config(data, str(path))


__all__ = ["ChecksConfig", "Config", "DedupConfig", "ExpandConfig", "RuleSpec", "SelectConfig",
           "SplitConfig",
           "load_config", "parse_config"]
