"""Melody text <-> Melody, and JSONL line <-> Example.

Reading and writing are paired here so that ``parse(format(x)) == x`` holds. The text
form is ``melody_pitch_duration_data: [[60, 0.5], [62, 0.25], ...]``; tuples
``(60, 0.5)`` parse too, whitespace is free, writing always uses the list form.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal

from .errors import Finding, MelodyFormatError
from .example import Example, Message, seed_id_for
from .melody import GRID_QUARTER, MAX_PITCH, MIN_PITCH, Melody

PREFIX = "melody_pitch_duration_data:"
DurationUnit = Literal["quarter", "whole"]
RestToken = Literal[0, "null"]
# A decimal within this many quarter notes of the grid is taken to mean the grid
# value (how 1/3 survives being written as 0.3333333333333333).
SNAP_TOLERANCE_QUARTER = Fraction(1, 100_000)
MAX_REPORTED_PROBLEMS = 10


@dataclass(frozen=True, slots=True)
class FormatConfig:
    """How a dataset writes melodies: duration unit and the rest token."""

    duration_unit: DurationUnit = "quarter"
    rest: RestToken = 0

    @property
    def quarters_per_unit(self) -> Fraction:
        return Fraction(4) if self.duration_unit == "whole" else Fraction(1)


class _Float:
    """A JSON float kept as its exact decimal value (never a binary float)."""

    __slots__ = ("text",)

    def __init__(self, text: str):
        self.text = text


def _reject_constant(name: str) -> Any:
    raise MelodyFormatError([("non_finite", f"{name} is not a number a melody can hold")])


def _snap(value: Fraction) -> Fraction:
    ticks = value / GRID_QUARTER
    nearest = Fraction(round(ticks))
    if abs(ticks - nearest) * GRID_QUARTER <= SNAP_TOLERANCE_QUARTER:
        return nearest * GRID_QUARTER
    return value


def parse_melody(text: str, fmt: FormatConfig = FormatConfig()) -> Melody:
    """Parse assistant text into a Melody, raising MelodyFormatError with every problem."""
    stripped = text.strip()
    if not stripped.startswith(PREFIX):
        raise MelodyFormatError([("not_a_melody", f"assistant content does not start with '{PREFIX}'")])
    body = stripped[len(PREFIX):].strip().replace("(", "[").replace(")", "]")
    try:
        data = json.loads(body, parse_float=_Float, parse_constant=_reject_constant)
    except MelodyFormatError:
        raise
    except (ValueError, RecursionError) as exc:
        raise MelodyFormatError(
            [("not_a_melody", f"melody is not a list of [pitch, duration] pairs ({exc})")]
        ) from None
    if not isinstance(data, list):
        raise MelodyFormatError([("not_a_melody", "melody is not a list of [pitch, duration] pairs")])
    if not data:
        raise MelodyFormatError([("empty_melody", "melody has no notes")])
    problems: list[tuple[str, str]] = []
    pitches: list[int | None] = []
    durations: list[Fraction] = []
    for index, pair in enumerate(data, start=1):
        if len(problems) >= MAX_REPORTED_PROBLEMS:
            break
        if not isinstance(pair, list) or len(pair) != 2:
            problems.append(("not_a_melody", f"pair {index} is not a [pitch, duration] pair"))
            continue
        pitch = _parse_pitch(pair[0], index, fmt, problems)
        duration = _parse_duration(pair[1], index, fmt, problems)
        if duration is not None:
            pitches.append(pitch)
            durations.append(duration)
    if problems:
        raise MelodyFormatError(problems)
    return Melody(tuple(pitches), tuple(durations))


def _parse_pitch(
    raw: object, index: int, fmt: FormatConfig, problems: list[tuple[str, str]]
) -> int | None:
    if raw is None:
        if fmt.rest == "null":
            return None
        problems.append(("pitch_not_integer", f"pair {index}: pitch is null but rests are written as 0"))
        return None
    if isinstance(raw, bool) or not isinstance(raw, int):
        shown = raw.text if isinstance(raw, _Float) else json.dumps(raw)[:40]
        problems.append(("pitch_not_integer", f"pair {index}: pitch {shown} is not an integer"))
        return None
    if fmt.rest == 0 and raw == 0:
        return None
    if not MIN_PITCH <= raw <= MAX_PITCH:
        problems.append(
            ("pitch_out_of_range", f"pair {index}: pitch {raw} is outside {MIN_PITCH}-{MAX_PITCH}")
        )
        return None
    return raw


def _parse_duration(
    raw: object, index: int, fmt: FormatConfig, problems: list[tuple[str, str]]
) -> Fraction | None:
    if isinstance(raw, bool) or not isinstance(raw, int | _Float):
        shown = json.dumps(raw)[:40]
        problems.append(("duration_not_number", f"pair {index}: duration {shown} is not a number"))
        return None
    value = Fraction(raw.text) if isinstance(raw, _Float) else Fraction(raw)
    if value <= 0:
        shown = raw.text if isinstance(raw, _Float) else str(raw)
        problems.append(("duration_not_positive", f"pair {index}: duration {shown} is not > 0"))
        return None
    return _snap(value * fmt.quarters_per_unit)


def format_duration(quarters: Fraction, fmt: FormatConfig = FormatConfig()) -> str:
    """Shortest decimal that parses back to the same grid value (0.5, 1.0, 0.3333333333333333)."""
    value = float(quarters / fmt.quarters_per_unit)
    if not math.isfinite(value):
        raise ValueError("duration is not finite")
    return repr(value)


def format_melody(melody: Melody, fmt: FormatConfig = FormatConfig()) -> str:
    rest = "0" if fmt.rest == 0 else "null"
    pairs = ", ".join(
        f"[{rest if p is None else p}, {format_duration(d, fmt)}]"
        for p, d in zip(melody.pitches, melody.durations, strict=True)
    )
    return f"{PREFIX} [{pairs}]"


# --- JSONL lines ----------------------------------------------------------------------

KNOWN_ROLES = frozenset({"system", "developer", "user", "assistant", "tool", "function"})
KNOWN_MESSAGE_KEYS = frozenset(
    {"role", "content", "name", "weight", "function_call", "tool_calls", "tool_call_id", "refusal"}
)


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for key, value in pairs:
        if key in seen:
            raise ValueError(f"duplicate key {key!r}")
        seen[key] = value
    return seen


def parse_line(
    text: str, fmt: FormatConfig, file: str, line: int
) -> tuple[Example | None, list[Finding]]:
    """One JSONL line -> (Example or None, findings). Never raises for bad input."""

    def err(code: str, message: str) -> Finding:
        return Finding(file, line, code, message)

    if not text.strip():
        return None, [err("blank_line", "line is blank")]
    try:
        data = json.loads(text, object_pairs_hook=_no_duplicate_keys, parse_constant=_nan_in_json)
    except MelodyFormatError as exc:
        return None, [err(code, msg) for code, msg in exc.problems]
    except (ValueError, RecursionError) as exc:
        return None, [err("invalid_json", f"line is not valid JSON ({exc})")]
    if not isinstance(data, dict):
        return None, [err("data_type", f"line holds a JSON {type(data).__name__}, not an object")]
    messages = data.get("messages")
    if not isinstance(messages, list) or not messages:
        return None, [err("missing_messages_list", "no non-empty 'messages' list")]
    findings: list[Finding] = []
    parsed: list[Message] = []
    for position, raw in enumerate(messages, start=1):
        where = f"messages[{position - 1}]"
        if not isinstance(raw, dict):
            findings.append(err("data_type", f"{where} is not an object"))
            continue
        if "role" not in raw or "content" not in raw:
            missing = "role" if "role" not in raw else "content"
            findings.append(err("message_missing_key", f"{where} has no '{missing}'"))
        unknown = sorted(set(raw) - KNOWN_MESSAGE_KEYS)
        if unknown:
            findings.append(err("message_unrecognized_key", f"{where} has unknown key(s) {unknown}"))
        role = raw.get("role")
        if "role" in raw and (not isinstance(role, str) or role not in KNOWN_ROLES):
            findings.append(err("unrecognized_role", f"{where} has role {json.dumps(role)[:40]}"))
        content = raw.get("content")
        if "content" in raw and (not isinstance(content, str) or not content.strip()):
            if not (role == "assistant" and raw.get("tool_calls")):
                findings.append(err("missing_content", f"{where} ({role}) has no text content"))
        extra = tuple((k, v) for k, v in raw.items() if k not in ("role", "content"))
        parsed.append(Message(str(role), content if isinstance(content, str) else None, extra))
    assistants = [i for i, m in enumerate(parsed) if m.role == "assistant"]
    if not assistants:
        findings.append(err("example_missing_assistant_message", "no assistant message"))
    if findings:
        return None, findings
    melody_index = assistants[-1]
    content = parsed[melody_index].content or ""
    try:
        melody = parse_melody(content, fmt)
    except MelodyFormatError as exc:
        where = f"messages[{melody_index}].content"
        return None, [err(code, f"{where}: {msg}") for code, msg in exc.problems]
    if not melody.is_on_grid():
        findings.append(Finding(file, line, "off_grid_duration",
                                "a duration is not a multiple of 1/48 quarter note (64ths and triplets)",
                                "warning"))
    messages_t = tuple(parsed)
    example = Example.seed(messages_t, melody, melody_index, f"{file}:{line}")
    return example, findings


def _nan_in_json(name: str) -> Any:
    raise MelodyFormatError([("non_finite", f"{name} is not valid JSON")])


def example_to_line(example: Example) -> str:
    """Messages only, keys in the input's order; non-ASCII kept as written."""
    messages = []
    for m in example.messages:
        obj: dict[str, Any] = {"role": m.role, "content": m.content}
        obj.update(m.extra)
        messages.append(obj)
    return json.dumps({"messages": messages}, ensure_ascii=False)


def iter_lines(path: Path) -> Iterator[tuple[int, str | None]]:
    """Yield (line number, text or None when not UTF-8); strips BOM and CR/LF."""
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if number == 1 and raw.startswith(b"\xef\xbb\xbf"):
                raw = raw[3:]
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                yield number, None
                continue
            yield number, text.rstrip("\r\n")


def read_examples(
    path: Path, fmt: FormatConfig = FormatConfig()
) -> Iterator[tuple[int, str | None, Example | None, list[Finding]]]:
    """Stream a JSONL file: (line number, text or None when not UTF-8, Example or None,
    findings) per line. The one reader every command uses."""
    name = str(path)
    for number, text in iter_lines(path):
        if text is None:
            yield number, None, None, [Finding(name, number, "invalid_utf8", "line is not valid UTF-8")]
            continue
        example, findings = parse_line(text, fmt, name, number)
        yield number, text, example, findings


__all__ = [
    "PREFIX",
    "FormatConfig",
    "example_to_line",
    "format_melody",
    "iter_lines",
    "parse_line",
    "parse_melody",
    "read_examples",
    "seed_id_for",
]
