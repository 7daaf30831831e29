"""validate(): every problem in chat JSONL files, as findings with file, line and code."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path

from .codec import FormatConfig, read_examples
from .errors import Finding
from .limits import DEFAULT_LIMITS, Limits


def suspect_unit(durations_quarter: list[Fraction], fmt: FormatConfig) -> str | None:
    """A warning when the typical duration suggests the data use the other unit.

    In quarter notes a median below a sixteenth-and-a-bit (0.5 = eighth is common, but a
    median under 0.5 means most notes are 16ths) hints at whole-note units; in whole-note
    units a median of a whole note or more hints at quarter-note units.
    """
    if len(durations_quarter) < 8:
        return None
    median = statistics.median(durations_quarter)
    if fmt.duration_unit == "quarter" and median < Fraction(1, 2):
        return ("most notes are shorter than an eighth in quarter-note units; if 0.25 means a "
                "quarter note here, set duration_unit = \"whole\" in [format]")
    if fmt.duration_unit == "whole" and median >= 4:
        return ("most notes are whole notes or longer in whole-note units; if 1.0 means a "
                "quarter note here, set duration_unit = \"quarter\" in [format]")
    return None


def validate_file(path: Path, fmt: FormatConfig = FormatConfig(),
                  limits: Limits = DEFAULT_LIMITS) -> list[Finding]:
    name = str(path)
    if not path.is_file():
        return [Finding(name, 0, "no_such_file", "file does not exist or is not a file")]
    findings: list[Finding] = []
    durations: list[Fraction] = []
    lines = 0
    for number, _text, example, line_findings in read_examples(path, fmt, limits):
        lines = number
        findings.extend(line_findings)
        if example is not None:
            durations.extend(example.melody.durations)
    if lines == 0:
        findings.append(Finding(name, 0, "empty_file", "file holds no lines"))
    warning = suspect_unit(durations, fmt)
    if warning:
        findings.append(Finding(name, 0, "duration_unit_suspect", warning, "warning"))
    return findings


def validate_files(paths: Sequence[Path], fmt: FormatConfig = FormatConfig(),
                   limits: Limits = DEFAULT_LIMITS) -> list[Finding]:
    out: list[Finding] = []
    for path in paths:
        out.extend(validate_file(Path(path), fmt, limits))
    return out
