"""Resource limits on input: the ``[limits]`` table.

Hostile or broken input must cost bounded time and memory and end as a finding that
names file, line and code, never as a traceback or a hang. The limits below are the
ones a user may need to raise; the numeric bounds on a single number (digits, exponent,
duration) are fixed, because no melody needs more.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

from .errors import MelodyFormatError


@dataclass(frozen=True, slots=True)
class Limits:
    """Caps applied while reading and expanding; every one is configurable."""

    # A JSONL line longer than this (without its line ending) is skipped unread.
    max_line_bytes: int = 1 << 20
    # Notes in one melody; the theory checks' own [checks] max_notes is usually far lower.
    max_notes: int = 10_000
    # Upper bound on [expand] variants_per_seed, so a typo cannot ask for 10**9 variants.
    max_variants_per_seed: int = 1_000

    def problems(self) -> list[str]:
        """What is wrong with these limits (empty when they are usable)."""
        out = []
        for name in ("max_line_bytes", "max_notes", "max_variants_per_seed"):
            if getattr(self, name) < 1:
                out.append(f"{name} must be >= 1, got {getattr(self, name)}")
        return out


DEFAULT_LIMITS = Limits()

# Fixed bounds on one number in a melody. A JSON number with more characters than this
# is not read at all (Fraction("1e99999999") alone takes minutes).
MAX_NUMBER_CHARS = 64
# Lists/objects inside one JSONL line. Python's parser gives up somewhere near 1000, at a
# depth that depends on the call stack; a fixed cap makes the verdict the same everywhere.
MAX_NESTING_DEPTH = 64
# Durations (in quarter notes, after unit conversion) must lie in this range: a whole
# day at 60 bpm is far beyond any melody, and anything under a 1/1024 note is noise.
MAX_DURATION_QUARTER = Fraction(86_400)
MIN_DURATION_QUARTER = Fraction(1, 256)



# --- numbers as JSON writes them ------------------------------------------------------

class DecimalText:
    """A JSON float kept as its exact decimal text (never a binary float)."""

    __slots__ = ("text",)

    def __init__(self, text: str):
        self.text = text


class BigIntText(DecimalText):
    """A JSON integer too long to be a melody number, kept as text (never converted:
    Python refuses ints over 4300 digits, and no pitch or duration needs more than a few)."""

    __slots__ = ()


def melody_int(text: str) -> int | BigIntText:
    """``parse_int`` hook for melody text: a long integer stays text, to be reported."""
    return BigIntText(text) if len(text) > MAX_NUMBER_CHARS else int(text)


def line_int(text: str) -> int:
    """``parse_int`` hook for a JSONL line: an integer of more digits is a finding."""
    if len(text) > MAX_NUMBER_CHARS:
        raise MelodyFormatError([("number_too_large", f"an integer of {len(text)} digits "
                                  f"(more than {MAX_NUMBER_CHARS})")])
    return int(text)


def line_float(text: str) -> float:
    """``parse_float`` hook for a JSONL line: 1e999 is a finding, not a silent Infinity
    that would be written out as invalid JSON."""
    value = float(text)
    if not math.isfinite(value):
        raise MelodyFormatError([("non_finite", f"number {shown(DecimalText(text))} is too large "
                                  "for a float (it would be written as Infinity)")])
    return value


def modest_exponent(text: str) -> bool:
    """False when a decimal's exponent is so large in size that Fraction() would be slow."""
    _mantissa, _, exponent = text.lower().partition("e")
    return not exponent or abs(int(exponent)) <= 2 * MAX_NUMBER_CHARS


def too_deep(value: Any, limit: int = MAX_NESTING_DEPTH) -> bool:
    """True when lists/objects in ``value`` nest deeper than ``limit`` (iterative walk)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else ()
        for child in children:
            if isinstance(child, dict | list):
                if depth + 1 > limit:
                    return True
                stack.append((child, depth + 1))
    return False


def shown(raw: Any) -> str:
    """A value as the input wrote it, cut to a readable length."""
    text = raw.text if isinstance(raw, DecimalText) else json.dumps(raw)
    return text if len(text) <= 40 else f"{text[:20]}... ({len(text)} characters)"


# --- lines of bounded size ------------------------------------------------------------

NOT_UTF8 = -1


def raw_lines(path: Path, max_line_bytes: int) -> Iterator[tuple[int, str | None, int]]:
    """(line number, text, 0) per line, BOM and CR/LF stripped; (number, None, NOT_UTF8)
    for a line that is not UTF-8; (number, None, size in bytes) for a line longer than
    ``max_line_bytes`` (line ending not counted), which is skipped in bounded memory."""
    with path.open("rb") as handle:
        number = 0
        while raw := handle.readline(max_line_bytes + 2):
            number += 1
            if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            body = raw.rstrip(b"\r\n")
            size = len(body)
            if not raw.endswith(b"\n") and len(raw) >= max_line_bytes + 2:
                while chunk := handle.readline(1 << 20):
                    size += len(chunk.rstrip(b"\r\n"))
                    if chunk.endswith(b"\n"):
                        break
            if size > max_line_bytes:
                yield number, None, size
                continue
            try:
                yield number, body.decode("utf-8"), 0
            except UnicodeDecodeError:
                yield number, None, NOT_UTF8


__all__ = ["DEFAULT_LIMITS", "MAX_DURATION_QUARTER", "MAX_NESTING_DEPTH", "MAX_NUMBER_CHARS",
           "MIN_DURATION_QUARTER",
           "NOT_UTF8", "BigIntText", "DecimalText", "Limits", "line_float", "line_int", "melody_int",
           "modest_exponent", "raw_lines", "shown", "too_deep"]
