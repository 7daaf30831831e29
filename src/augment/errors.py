"""Findings about input and the library's own error type.

A ``Finding`` names file, line, a stable code and a human message. ``AugmentError`` is
what the library raises for expected problems (bad input, bad config); the CLI turns it
into a one-line message without a traceback.
"""

from __future__ import annotations

import errno
from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class Finding:
    file: str
    line: int
    code: str
    message: str
    severity: Severity = "error"

    def __str__(self) -> str:
        tag = "" if self.severity == "error" else "warning: "
        return f"{self.file}:{self.line}: {tag}{self.code}: {self.message}"

    def as_dict(self) -> dict[str, object]:
        return {
            "file": self.file,
            "line": self.line,
            "code": self.code,
            "message": self.message,
            "severity": self.severity,
        }


class AugmentError(Exception):
    """An expected problem with input or configuration; its message is for users."""


class MelodyFormatError(ValueError):
    """The assistant text is not a valid melody; carries (code, message) problems."""

    def __init__(self, problems: list[tuple[str, str]]):
        self.problems = problems
        super().__init__("; ".join(f"{c}: {m}" for c, m in problems))


def scratch_refused(exc: OSError, where: str) -> OSError:
    """``exc``, a write to a run's temporary files (in $TMPDIR) that the system refused, as
    one naming ``where``; on a full disk, with what to do about it."""
    text = exc.strerror or str(exc)
    if exc.errno == errno.ENOSPC:
        text += " (the run's temporary files: set TMPDIR to a folder on a disk with more room)"
    return OSError(exc.errno, text, where)
