"""Melody text <-> Melody, and JSONL line <-> Example.

Reading and writing are paired here so that ``parse(format(x)) == x`` holds. The text
form is ``melody_pitch_duration_data: [[60, 0.5], [62, 0.25], ...]``; tuples
``(60, 0.5)`` parse too, whitespace is free, writing always uses the list form.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache
from json.encoder import encode_basestring
from pathlib import Path
from typing import Any, Literal, cast

import numpy as np

from . import ragged
from .errors import Finding, MelodyFormatError
from .example import Example, Message, seed_id_for
from .limits import (
    DEFAULT_LIMITS,
    MAX_DURATION_QUARTER,
    MAX_NESTING_DEPTH,
    MAX_NUMBER_CHARS,
    MIN_DURATION_QUARTER,
    NOT_UTF8,
    BigIntText,
    DecimalText,
    Limits,
    line_float,
    line_int,
    melody_int,
    modest_exponent,
    raw_lines,
    shown,
    too_deep,
)
from .melody import (
    MAX_PITCH,
    MIN_PITCH,
    TICKS_PER_QUARTER,
    GridArrays,
    Melody,
    Ticks,
    exact_ticks,
    quarters_of,
)

PREFIX = "melody_pitch_duration_data:"
DurationUnit = Literal["quarter", "whole"]
RestToken = Literal[0, "null"]
# A decimal within this many quarter notes of the grid is taken to mean the grid
# value (how 1/3 survives being written as 0.3333333333333333).
SNAP_TOLERANCE_QUARTER = Fraction(1, 100_000)
SNAP_TOLERANCE_TICKS = SNAP_TOLERANCE_QUARTER * TICKS_PER_QUARTER
MAX_REPORTED_PROBLEMS = 10


@dataclass(frozen=True, slots=True)
class FormatConfig:
    """How a dataset writes melodies: duration unit and the rest token."""

    duration_unit: DurationUnit = "quarter"
    rest: RestToken = 0

    @property
    def quarters_per_unit(self) -> Fraction:
        return Fraction(4) if self.duration_unit == "whole" else Fraction(1)


def _reject_constant(name: str) -> Any:
    raise MelodyFormatError([("non_finite", f"{name} is not a number a melody can hold")])


def _snap(quarters: Fraction) -> Ticks:
    """Ticks of a duration: the grid value when within the snap tolerance, else exact."""
    ticks = quarters * TICKS_PER_QUARTER
    nearest = round(ticks)
    if abs(ticks - nearest) <= SNAP_TOLERANCE_TICKS:
        return nearest
    return exact_ticks(ticks)


def parse_melody(text: str, fmt: FormatConfig = FormatConfig(),
                 limits: Limits = DEFAULT_LIMITS) -> Melody:
    """Parse assistant text into a Melody, raising MelodyFormatError with every problem."""
    stripped = text.strip()
    if not stripped.startswith(PREFIX):
        raise MelodyFormatError([("not_a_melody", f"assistant content does not start with '{PREFIX}'")])
    body = stripped[len(PREFIX):].strip().replace("(", "[").replace(")", "]")
    plain = _plain_melody(body, fmt, limits)
    if plain is not None:
        return plain
    try:
        data = json.loads(body, parse_float=DecimalText, parse_int=melody_int,
                          parse_constant=_reject_constant)
    except MelodyFormatError:
        raise
    except RecursionError:
        raise MelodyFormatError([("not_a_melody", "melody nests lists too deeply to read")]) from None
    except ValueError as exc:
        raise MelodyFormatError(
            [("not_a_melody", f"melody is not a list of [pitch, duration] pairs ({exc})")]
        ) from None
    if not isinstance(data, list):
        raise MelodyFormatError([("not_a_melody", "melody is not a list of [pitch, duration] pairs")])
    if not data:
        raise MelodyFormatError([("empty_melody", "melody has no notes")])
    if len(data) > limits.max_notes:
        raise MelodyFormatError([("too_many_notes", f"melody has {len(data)} notes, over the limit "
                                  f"of {limits.max_notes} ([limits] max_notes)")])
    problems: list[tuple[str, str]] = []
    pitches: list[int | None] = []
    ticks: list[Ticks] = []
    for index, pair in enumerate(data, start=1):
        if len(problems) >= MAX_REPORTED_PROBLEMS:
            break
        if not isinstance(pair, list) or len(pair) != 2:
            problems.append(("not_a_melody", f"pair {index} is not a [pitch, duration] pair"))
            continue
        raw_pitch = pair[0]
        pitch = raw_pitch if type(raw_pitch) is int and MIN_PITCH < raw_pitch <= MAX_PITCH \
            else _parse_pitch(raw_pitch, index, fmt, problems)
        duration = _parse_duration(pair[1], index, fmt, problems)
        if duration is not None:
            pitches.append(pitch)
            ticks.append(duration)
    if problems:
        raise MelodyFormatError(problems)
    return Melody.from_ticks(tuple(pitches), tuple(ticks))


def _plain_melody(body: str, fmt: FormatConfig, limits: Limits) -> Melody | None:
    """``parse_melody`` of a melody body written as this module writes it (``[[p, d], [p, d],
    ...]``, one space after each comma) whose every pair is valid; None for any other body,
    which the full reading then takes (and words its problems).

    Each pair's text is read once (``_plain_pair``): a file repeats a few hundred pair texts
    over its thousands of lines (7.6 us a melody against 22.8 us the full way:
    ``benchmarks/bench_read.py``). A pair read
    alone as ``[text]`` is a JSON array of two scalars, which holds no bracket, so the
    body splits at exactly its pairs' boundaries and reads as the list of those pairs.
    """
    if not (body.startswith("[[") and body.endswith("]]")):
        return None
    parts = body[2:-2].split("], [")
    if len(parts) > limits.max_notes:
        return None
    table = _PLAIN_PAIRS.setdefault((fmt.duration_unit, fmt.rest), {})
    pitches: list[int | None] = []
    ticks: list[Ticks] = []
    for part in parts:
        pair = table.get(part, _UNREAD)
        if pair is _UNREAD:
            pair = _plain_pair(part, fmt)
            if len(table) < _MAX_PLAIN_PAIRS:
                table[part] = pair
        if pair is None:
            return None
        pitches.append(pair[0])
        ticks.append(pair[1])
    return Melody.from_ticks(tuple(pitches), tuple(ticks))


def _plain_pair(part: str, fmt: FormatConfig) -> tuple[int | None, Ticks] | None:
    """(pitch or None for a rest, ticks) of the pair ``[part]`` as the full reading takes it,
    or None when that is not a valid [pitch, duration] pair."""
    try:
        pair = json.loads(f"[{part}]", parse_float=DecimalText, parse_int=melody_int,
                          parse_constant=_reject_constant)
    except (MelodyFormatError, ValueError, RecursionError):
        return None
    if not isinstance(pair, list) or len(pair) != 2:
        return None
    problems: list[tuple[str, str]] = []
    pitch = _parse_pitch(pair[0], 1, fmt, problems)
    duration = _parse_duration(pair[1], 1, fmt, problems)
    return None if problems or duration is None else (pitch, duration)


_UNREAD: Any = object()
_MAX_PLAIN_PAIRS = 50_000  # pair texts remembered per format (a few MB at most)
_PLAIN_PAIRS: dict[tuple[DurationUnit, RestToken], dict[str, tuple[int | None, Ticks] | None]] = {}


def _parse_pitch(
    raw: object, index: int, fmt: FormatConfig, problems: list[tuple[str, str]]
) -> int | None:
    if raw is None:
        if fmt.rest == "null":
            return None
        problems.append(("pitch_not_integer", f"pair {index}: pitch is null but rests are written as 0"))
        return None
    if isinstance(raw, BigIntText):
        problems.append(("pitch_out_of_range",
                         f"pair {index}: pitch {shown(raw)} is outside {MIN_PITCH}-{MAX_PITCH}"))
        return None
    if isinstance(raw, bool) or not isinstance(raw, int):
        problems.append(("pitch_not_integer", f"pair {index}: pitch {shown(raw)} is not an integer"))
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
) -> Ticks | None:
    """The duration in ticks, or None with the problem added."""
    if type(raw) is DecimalText or type(raw) is int:
        ticks = _duration_ticks(raw.text if isinstance(raw, DecimalText) else raw, fmt.duration_unit)
        if ticks is not None:
            return ticks
    if isinstance(raw, bool) or not isinstance(raw, int | DecimalText | BigIntText):
        problems.append(("duration_not_number", f"pair {index}: duration {shown(raw)} is not a number"))
        return None
    if isinstance(raw, BigIntText) or (isinstance(raw, DecimalText) and len(raw.text) > MAX_NUMBER_CHARS):
        problems.append(("duration_out_of_range", f"pair {index}: duration {shown(raw)} has more "
                         f"than {MAX_NUMBER_CHARS} characters"))
        return None
    # The exponent is checked before Fraction(): Fraction("1e99999999") takes minutes.
    huge = isinstance(raw, DecimalText) and not modest_exponent(raw.text)
    value = Fraction(10**9) if huge else Fraction(raw.text if isinstance(raw, DecimalText) else raw)
    if value <= 0:
        problems.append(("duration_not_positive", f"pair {index}: duration {shown(raw)} is not > 0"))
        return None
    quarters = value * fmt.quarters_per_unit
    if huge or not MIN_DURATION_QUARTER <= quarters <= MAX_DURATION_QUARTER:
        problems.append(("duration_out_of_range", f"pair {index}: duration {shown(raw)} is outside "
                         f"{MIN_DURATION_QUARTER}-{MAX_DURATION_QUARTER} quarter notes"))
        return None
    return _snap(quarters)


@lru_cache(maxsize=4096)
def _duration_ticks(number: str | int, unit: DurationUnit) -> Ticks | None:
    """Ticks of a valid duration written as ``number`` (JSON text or int) in ``unit``; None
    when it is not one, and ``_parse_duration`` words the problem. Cached: a file repeats
    a few duration texts."""
    if isinstance(number, str) and (len(number) > MAX_NUMBER_CHARS or not modest_exponent(number)):
        return None
    value = Fraction(number)
    quarters = value * FormatConfig(unit).quarters_per_unit
    if value <= 0 or not MIN_DURATION_QUARTER <= quarters <= MAX_DURATION_QUARTER:
        return None
    return _snap(quarters)


def format_duration(quarters: Fraction, fmt: FormatConfig = FormatConfig()) -> str:
    """Shortest decimal that parses back to the same grid value (0.5, 1.0, 0.3333333333333333)."""
    value = float(quarters / fmt.quarters_per_unit)
    if not math.isfinite(value):
        raise ValueError("duration is not finite")
    return repr(value)


# Text of the common tick counts per unit, filled as they are met: the float of
# ticks / (48 * quarters per unit) is the correctly rounded value of the same exact
# ratio as ``format_duration``'s, so the text is the same.
_CACHED_TEXT_TICKS = 64 * TICKS_PER_QUARTER
_TICK_TEXT: dict[DurationUnit, dict[Ticks, str]] = {"quarter": {}, "whole": {}}


def format_ticks(ticks: Ticks, fmt: FormatConfig = FormatConfig()) -> str:
    """``format_duration`` of a duration in ticks (a table lookup for common values)."""
    table = _TICK_TEXT[fmt.duration_unit]
    text = table.get(ticks)
    if text is None:
        text = format_duration(quarters_of(ticks), fmt)
        if type(ticks) is int and 0 <= ticks < _CACHED_TEXT_TICKS:
            table[ticks] = text
    return text


# Text of the (pitch, ticks) pairs met so far, per unit and rest token: a melody is then
# written by one lookup per note. Bounded: pairs beyond the limit are formatted each time.
_MAX_PAIR_TEXTS = 50_000
_PAIR_TEXT: dict[tuple[DurationUnit, RestToken], dict[tuple[int | None, Ticks], str]] = {}


def _pair_text(pair: tuple[int | None, Ticks], fmt: FormatConfig) -> str:
    """``[pitch, duration]`` as the melody text writes one note (a rest as the rest token)."""
    p, t = pair
    return f"[{('0' if fmt.rest == 0 else 'null') if p is None else p}, {format_ticks(t, fmt)}]"


def format_melody(melody: Melody, fmt: FormatConfig = FormatConfig()) -> str:
    written = melody._text  # the text last written of this melody, and its format
    if written is not None and written[0] == fmt:
        return written[1]
    text = _melody_text(melody, fmt)
    object.__setattr__(melody, "_text", (fmt, text))
    return text


def melody_json(melody: Melody, fmt: FormatConfig = FormatConfig()) -> str:
    """``format_melody``'s text as a JSON string (``json.dumps`` of it, either way of
    ``ensure_ascii``): the text in quotes. The text holds only ``PREFIX``, brackets, commas,
    spaces, ints, float reprs and "null", none of which JSON escapes, so it is not scanned
    (~1.5-3 us for a corpus melody's text, twice a variant: its exact digest, its line)."""
    return f'"{format_melody(melody, fmt)}"'


def format_melodies(melodies: Sequence[Melody], fmt: FormatConfig = FormatConfig(),
                    grid: GridArrays | None = None) -> None:
    """Write the text of every melody at once and remember it on the melody, as
    ``format_melody`` does (which then only reads it): the same texts, made from the
    distinct (pitch, ticks) pairs of all the melodies (a seed's variants share a few
    hundred) instead of note by note. ``grid``: the melodies laid out already; melodies
    off the tick grid are left to ``format_melody``."""
    if grid is None:
        grid = GridArrays.of(melodies)
    if grid is None or not len(grid.ticks) or grid.ticks.min() < 0 or grid.ticks.max() >= 1 << 40 \
            or grid.pitches.min() < -1 or grid.pitches.max() > 254:  # (beyond the codes' range)
        return
    # Each event's pair as one int, (ticks, pitch + 1), then numbered.
    distinct, number = ragged.factorize(grid.ticks * 256 + (grid.pitches + 1))
    table = _PAIR_TEXT.setdefault((fmt.duration_unit, fmt.rest), {})
    pairs = [(None if c % 256 == 0 else c % 256 - 1, c // 256) for c in distinct.tolist()]
    texts = np.array([table.get(pair) or _pair_text(pair, fmt) for pair in pairs], dtype=object)
    flat = texts[number].tolist()
    bounds = grid.starts.tolist()
    for melody, lo, hi in zip(melodies, bounds, bounds[1:], strict=False):
        object.__setattr__(melody, "_text", (fmt, f"{PREFIX} [{', '.join(flat[lo:hi])}]"))


def _melody_text(melody: Melody, fmt: FormatConfig) -> str:
    table = _PAIR_TEXT.setdefault((fmt.duration_unit, fmt.rest), {})
    known = list(map(table.get, zip(melody.pitches, melody.ticks, strict=True)))
    if None not in known:  # every pair met before
        return f"{PREFIX} [{', '.join(cast(list[str], known))}]"
    parts = []
    for pair in zip(melody.pitches, melody.ticks, strict=True):
        text = table.get(pair)
        if text is None:
            text = _pair_text(pair, fmt)
            if len(table) < _MAX_PAIR_TEXTS:
                table[pair] = text
        parts.append(text)
    return f"{PREFIX} [{', '.join(parts)}]"


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
    text: str, fmt: FormatConfig, file: str, line: int, limits: Limits = DEFAULT_LIMITS
) -> tuple[Example | None, list[Finding]]:
    """One JSONL line -> (Example or None, findings). Never raises for bad input."""

    def err(code: str, message: str) -> Finding:
        return Finding(file, line, code, message)

    if not text.strip():
        return None, [err("blank_line", "line is blank")]
    try:
        data = json.loads(text, object_pairs_hook=_no_duplicate_keys, parse_constant=_nan_in_json,
                          parse_int=line_int, parse_float=line_float)
    except MelodyFormatError as exc:
        return None, [err(code, msg) for code, msg in exc.problems]
    except RecursionError:
        return None, [err("nesting_too_deep", "line nests lists or objects too deeply to read")]
    except ValueError as exc:
        return None, [err("invalid_json", f"line is not valid JSON ({exc})")]
    # A line of plain messages only (most lines) nests 3 deep: no walk of it is needed.
    plain = _plain_messages(data)
    if plain is None and too_deep(data):
        return None, [err("nesting_too_deep", f"line nests lists or objects more than "
                          f"{MAX_NESTING_DEPTH} deep")]
    if "\\u" in text and (lone := _lone_surrogate(text, data)) is not None:
        return None, [err("invalid_json", f"line has the escape {lone} of half a UTF-16 surrogate "
                          "pair, which is no character (no UTF-8 file can hold it)")]
    if not isinstance(data, dict):
        return None, [err("data_type", f"line holds a JSON {type(data).__name__}, not an object")]
    messages = data.get("messages")
    if not isinstance(messages, list) or not messages:
        return None, [err("missing_messages_list", "no non-empty 'messages' list")]
    findings: list[Finding] = []
    dropped = sorted(set(data) - {"messages"})
    if dropped:
        findings.append(Finding(file, line, "line_unrecognized_key", f"key(s) {dropped[:5]} beside "
                                "'messages' are not kept in the output", "warning"))
    parsed: list[Message] = [] if plain is None else plain  # (the messages of a plain line read)
    for position, raw in enumerate(messages if plain is None else (), start=1):
        message = _plain_message(raw)
        if message is not None:
            parsed.append(message)
            continue
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
        weight = raw.get("weight", 0)
        if isinstance(weight, bool) or weight not in (0, 1):
            findings.append(err("invalid_weight", f"{where} has weight {shown(weight)}; "
                                "a weight is 0 or 1"))
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
    if any(f.severity == "error" for f in findings):
        return None, findings
    melody_index = assistants[-1]
    content = parsed[melody_index].content or ""
    try:
        melody = parse_melody(content, fmt, limits)
    except MelodyFormatError as exc:
        where = f"messages[{melody_index}].content"
        return None, findings + [err(code, f"{where}: {msg}") for code, msg in exc.problems]
    if not melody.is_on_grid():
        findings.append(Finding(file, line, "off_grid_duration",
                                "a duration is not a multiple of 1/48 quarter note (64ths and triplets)",
                                "warning"))
    messages_t = tuple(parsed)
    example = Example.seed(messages_t, melody, melody_index, f"{file}:{line}")
    return example, findings


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


def _lone_surrogate(text: str, data: object) -> str | None:
    """The first ``\\uD800``-``\\uDFFF`` escape of ``text`` when the JSON it holds
    (``data``) has a string with half a surrogate pair (which Python's reader takes, and
    no UTF-8 text can hold: the line's id could not even be made); else None. A pair of
    escapes that makes one character is fine."""
    found = _SURROGATE_ESCAPE.search(text)
    if found is None:
        return None
    try:
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return found.group()
    return None


def _plain_messages(data: object) -> list[Message] | None:
    """``_plain_message`` of each message of a line ``{"messages": [...]}`` whose messages
    are all plain; None for any other line."""
    if type(data) is not dict or len(data) != 1:
        return None
    messages = data.get("messages")
    if type(messages) is not list or not messages:
        return None
    plain = []
    for raw in messages:
        message = _plain_message(raw)
        if message is None:
            return None
        plain.append(message)
    return plain


def _plain_message(raw: object) -> Message | None:
    """The message of ``{"role": ..., "content": ...}`` with a known role and some text, as
    ``parse_line``'s checks would take it without a finding (most messages); None for any
    other, which those checks then read.

    Its role is the one shared str of that name, and a system message is one shared
    ``Message`` for each text (``_SYSTEM_MESSAGES``): a file of a million lines repeats a
    few system prompts, and ``augment split`` holds every line's example (~0.3 KB a line
    less; a pool's process sends each shared object once a batch)."""
    if type(raw) is not dict or len(raw) != 2:
        return None
    role, content = raw.get("role"), raw.get("content")
    if type(role) is not str or type(content) is not str:
        return None
    role = _ROLES.get(role)
    if role is None or not content.strip():
        return None
    if role != "system":
        return Message(role, content, ())
    message = _SYSTEM_MESSAGES.get(content)
    if message is None:
        if len(_SYSTEM_MESSAGES) >= _MAX_SYSTEM_MESSAGES:  # full: start afresh (bounded memory)
            _SYSTEM_MESSAGES.clear()
        message = _SYSTEM_MESSAGES[content] = Message(role, content, ())
    return message


_ROLES = {role: role for role in KNOWN_ROLES}  # each known role's one shared str
_MAX_SYSTEM_MESSAGES = 1_024
_SYSTEM_MESSAGES: dict[str, Message] = {}  # the plain system messages met, by text


def _nan_in_json(name: str) -> Any:
    raise MelodyFormatError([("non_finite", f"{name} is not valid JSON")])


_UNKNOWN: Any = object()

# What json.dumps(obj, ensure_ascii=False) builds per call, made once (every line is written so).
_LINE_JSON = json.JSONEncoder(ensure_ascii=False)
_json_str = encode_basestring  # how _LINE_JSON writes a str (non-ASCII kept)


def example_to_line(example: Example, known: dict[tuple[str, str], str | None] | None = None) -> str:
    """Messages only, keys in the input's order; non-ASCII kept as written.

    ``known``: the JSON of the messages besides the melody's met before, by (role,
    content), filled here (a seed's variants share their system message and a few dozen
    prompts)."""
    if known is None:
        texts = [_message_json(m) for m in example.messages]
    else:
        texts = []
        written = example.melody._text  # (the melody's text and its format, once written)
        for i, m in enumerate(example.messages):
            if i == example.melody_index and written is not None and m.content is written[1] \
                    and not m.extra and type(m.role) is str:  # the very text format_melody wrote
                texts.append(f'{{"role": {_json_str(m.role)}, "content": "{m.content}"}}')
                continue
            if i == example.melody_index or m.extra or type(m.content) is not str:
                texts.append(_message_json(m))
                continue
            key = (m.role, m.content)
            text = known.get(key, _UNKNOWN)
            if text is _UNKNOWN:
                text = known[key] = _message_json(m)
            texts.append(text)
    if None not in texts:
        return f'{{"messages": [{", ".join(cast(list[str], texts))}]}}'
    messages = []
    for m in example.messages:
        obj: dict[str, Any] = {"role": m.role, "content": m.content}
        obj.update(m.extra)
        messages.append(obj)
    return _LINE_JSON.encode({"messages": messages})


def _message_json(m: Message) -> str | None:
    """``_LINE_JSON`` of the message's object, written out here for a str role, a str or no
    content and extra keys that are distinct strs other than role and content (messages as
    read from a file); None for any other message, which the encoder writes whole."""
    if type(m.role) is not str or (m.content is not None and type(m.content) is not str):
        return None
    content = "null" if m.content is None else _json_str(m.content)
    head = f'{{"role": {_json_str(m.role)}, "content": {content}'
    if not m.extra:
        return head + "}"
    keys = [key for key, _ in m.extra]
    if any(type(key) is not str for key in keys) or len(set(keys)) < len(keys) \
            or "role" in keys or "content" in keys:
        return None
    return head + "".join(f", {_json_str(key)}: {_LINE_JSON.encode(value)}" for key, value in m.extra) + "}"


def iter_lines(path: Path, max_line_bytes: int = DEFAULT_LIMITS.max_line_bytes
               ) -> Iterator[tuple[int, str | None]]:
    """Yield (line number, text or None when not UTF-8 or too long); strips BOM and CR/LF."""
    for number, text, _problem in raw_lines(path, max_line_bytes):
        yield number, text


def read_examples(
    path: Path, fmt: FormatConfig = FormatConfig(), limits: Limits = DEFAULT_LIMITS
) -> Iterator[tuple[int, str | None, Example | None, list[Finding]]]:
    """Stream a JSONL file: (line number, text or None when unreadable, Example or None,
    findings) per line. The one reader every command uses."""
    name = str(path)
    for number, text, problem in raw_lines(path, limits.max_line_bytes):
        example, findings = read_line(name, number, text, problem, fmt, limits)
        yield number, text, example, findings


def read_line(name: str, number: int, text: str | None, problem: int, fmt: FormatConfig,
              limits: Limits = DEFAULT_LIMITS) -> tuple[Example | None, list[Finding]]:
    """One line of file ``name`` as ``raw_lines`` gives it (its text, or None and the
    problem): the example it holds, or None, and the findings."""
    if text is None:
        return None, [Finding(name, number, "invalid_utf8", "line is not valid UTF-8")
                      if problem == NOT_UTF8 else
                      Finding(name, number, "line_too_long", f"line is {problem:,} bytes, over the "
                              f"limit of {limits.max_line_bytes:,} ([limits] max_line_bytes)")]
    return parse_line(text, fmt, name, number, limits)


__all__ = [
    "PREFIX",
    "FormatConfig",
    "example_to_line",
    "format_melody",
    "melody_json",
    "format_ticks",
    "iter_lines",
    "parse_line",
    "read_line",
    "parse_melody",
    "read_examples",
    "seed_id_for",
]
