"""The hostile-input corpus: malformed and adversarial chat JSONL files.

``SMALL`` files are committed beside this script (run it to rewrite them; a test checks
they match). ``LARGE`` files (a 10 MB line, a 100,000-note melody, 100,000-deep nesting)
are only ever generated, into a temporary directory, by ``write_large``.

``EXPECTED[name]`` maps each line number to the error code ``augment validate`` must
report for it (None: the line is a valid seed); line 0 is a finding about the file.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent
MELODY = "melody_pitch_duration_data: [[60, 0.5], [62, 0.5], [64, 0.5], [65, 0.5], [67, 1.0], [60, 1.0]]"


def chat(melody: str = MELODY, prompt: str = "A short tune in C major, please.", **extra: object) -> str:
    """One chat line whose assistant answer is ``melody`` (``extra`` joins the assistant turn)."""
    return json.dumps({"messages": [{"role": "user", "content": prompt},
                                    {"role": "assistant", "content": melody, **extra}]})


def melody_of(pairs: str) -> str:
    return f"melody_pitch_duration_data: [{pairs}]"


def _lines(*lines: str, ending: str = "\n") -> bytes:
    return "".join(line + ending for line in lines).encode("utf-8")


GOOD = chat()


def nested_tool_calls(depth: int) -> str:
    """GOOD with ``depth`` nested lists as the assistant turn's tool_calls."""
    return GOOD.replace('"role": "assistant"', f'"tool_calls": {"[" * depth}{"]" * depth}, '
                        '"role": "assistant"')
TOOL_CALL = {"id": "call_1", "type": "function", "function": {"name": "lookup", "arguments": "{}"}}

# name -> (bytes, {line: expected error code or None})
SMALL: dict[str, tuple[bytes, dict[int, str | None]]] = {
    "truncated.jsonl": (_lines(GOOD, GOOD[: len(GOOD) // 2]), {1: None, 2: "invalid_json"}),
    "wrong_types.jsonl": (_lines(
        '{"messages": "hello"}',
        "[1, 2, 3]",
        '{"messages": [{"role": 5, "content": "x"}, {"role": "assistant", "content": "' + MELODY + '"}]}',
        '{"messages": [{"role": "user", "content": ["x"]}, {"role": "assistant", "content": "'
        + MELODY + '"}]}',
        '{"messages": ["user", "assistant"]}',
        chat(melody_of('["60", 0.5], [62, 0.5]')),
        chat(melody_of('[60, "0.5"], [62, 0.5]')),
        chat(melody_of("[60, true], [62, 0.5]")),
        chat(melody_of("[60.5, 0.5], [62, 0.5]")),
        chat(melody_of("60, 62, 64")),
        chat("melody_pitch_duration_data: {\"a\": 1}"),
    ), {1: "missing_messages_list", 2: "data_type", 3: "unrecognized_role", 4: "missing_content",
        5: "data_type", 6: "pitch_not_integer", 7: "duration_not_number", 8: "duration_not_number",
        9: "pitch_not_integer", 10: "not_a_melody", 11: "not_a_melody"}),
    "nan_infinity.jsonl": (_lines(
        chat(melody_of("[60, NaN], [62, 0.5]")),
        chat(melody_of("[60, Infinity], [62, 0.5]")),
        chat(melody_of("[60, -Infinity]")),
        GOOD.replace('"role": "assistant"', '"weight": NaN, "role": "assistant"'),
        GOOD.replace('"role": "assistant"', '"weight": 1e999, "role": "assistant"'),
        chat(melody_of("[60, 1e999], [62, 0.5]")),
    ), {1: "non_finite", 2: "non_finite", 3: "non_finite", 4: "non_finite", 5: "non_finite",
        6: "duration_out_of_range"}),
    "huge_numbers.jsonl": (_lines(
        chat(melody_of(f"[{10**60}, 0.5]")),
        chat(melody_of("[" + "9" * 5000 + ", 0.5]")),
        chat(melody_of("[60, " + "1" * 5000 + "]")),
        chat(melody_of("[60, 1e99999999]")),
        chat(melody_of("[60, 1e-99999999]")),
        chat(melody_of("[60, 0." + "0" * 80 + "1]")),
        chat(melody_of("[60, 1e308], [62, 0.5]")),
        chat(melody_of("[60, 100000]")),
        GOOD.replace('"role": "assistant"', '"weight": ' + "1" * 400 + ', "role": "assistant"'),
        GOOD.replace('"role": "user"', '"role": "user", "name": ' + "7" * 5000),
    ), {1: "pitch_out_of_range", 2: "pitch_out_of_range", 3: "duration_out_of_range",
        4: "duration_out_of_range", 5: "duration_out_of_range", 6: "duration_out_of_range",
        7: "duration_out_of_range", 8: "duration_out_of_range", 9: "number_too_large",
        10: "number_too_large"}),
    "invalid_utf8.jsonl": (_lines(GOOD, chat(prompt="A tune for the LATIN1 cafe."), "\ufffe{}", GOOD)
                           .replace(b"LATIN1 caf", b"caf\xe9").replace("\ufffe".encode(), b"\xff\xfe"),
                           {1: None, 2: "invalid_utf8", 3: "invalid_utf8", 4: None}),
    "bom.jsonl": (b"\xef\xbb\xbf" + _lines(GOOD, chat(prompt="Another tune in G major.")),
                  {1: None, 2: None}),
    "crlf.jsonl": (_lines(GOOD, chat(prompt="Now one in F major."), ending="\r\n"), {1: None, 2: None}),
    "empty.jsonl": (b"", {0: "empty_file"}),
    "blank_lines.jsonl": (_lines("", GOOD, "   ", "\t"), {1: "blank_line", 2: None, 3: "blank_line",
                                                         4: "blank_line"}),
    "duplicate_keys.jsonl": (_lines(
        GOOD.replace('"role": "user"', '"role": "user", "role": "system"'),
        '{"messages": [], "messages": ' + GOOD[len('{"messages": '):],
    ), {1: "invalid_json", 2: "invalid_json"}),
    "extra_keys.jsonl": (_lines(
        GOOD.replace('"role": "user"', '"role": "user", "mood": "happy"'),
        '{"metadata": {"source": "x"}, ' + GOOD[1:],
    ), {1: "message_unrecognized_key", 2: None}),
    "assistant_turns.jsonl": (_lines(
        json.dumps({"messages": [{"role": "user", "content": "A tune?"}]}),
        json.dumps({"messages": [{"role": "user", "content": "A tune in C major?"},
                                 {"role": "assistant", "content": "Sure, here it is."},
                                 {"role": "assistant", "content": MELODY}]}),
        json.dumps({"messages": [{"role": "user", "content": "A tune in C major?"},
                                 {"role": "assistant", "content": MELODY},
                                 {"role": "assistant", "content": "Enjoy!"}]}),
        json.dumps({"messages": [{"role": "system", "content": "You write melodies."},
                                 {"role": "assistant", "content": MELODY}]}),
        json.dumps({"messages": [{"role": "user", "content": "A tune in C major?"},
                                 {"role": "assistant"}]}),
    ), {1: "example_missing_assistant_message", 2: None, 3: "not_a_melody", 4: None,
        5: "message_missing_key"}),
    "tool_calls.jsonl": (_lines(
        json.dumps({"messages": [
            {"role": "user", "content": "A tune in C major?"},
            {"role": "assistant", "content": None, "tool_calls": [TOOL_CALL]},
            {"role": "tool", "tool_call_id": "call_1", "content": "C major: C D E F G A B"},
            {"role": "assistant", "content": MELODY}]}),
        json.dumps({"messages": [{"role": "user", "content": "A tune in C major?"},
                                 {"role": "assistant", "content": None, "tool_calls": [TOOL_CALL]}]}),
    ), {1: None, 2: "not_a_melody"}),
    "weights.jsonl": (_lines(
        chat(weight=1),
        chat(prompt="A tune in G major.", weight=0),
        chat(weight=2),
        chat(weight="1"),
        chat(weight=0.5),
    ), {1: None, 2: None, 3: "invalid_weight", 4: "invalid_weight", 5: "invalid_weight"}),
    "empty_melody.jsonl": (_lines(
        chat("melody_pitch_duration_data: []"),
        chat("melody_pitch_duration_data:"),
        chat(""),
    ), {1: "empty_melody", 2: "not_a_melody", 3: "missing_content"}),
    # The line object, messages and a message are 3 levels: 61 more lists make 64.
    "nesting.jsonl": (_lines(nested_tool_calls(61), nested_tool_calls(62), nested_tool_calls(900)),
                      {1: None, 2: "nesting_too_deep", 3: "nesting_too_deep"}),
    # Half a UTF-16 surrogate pair as a \u escape: Python's JSON reader takes it, no UTF-8 holds it.
    "surrogates.jsonl": (_lines(
        chat(prompt="A tune in C major \ud800, please."),
        chat(prompt="A tune in C major \U0001f3b5, please."),  # a whole pair: one character
        GOOD.replace('"role": "user"', '"role": "user", "name": "\\udfff"'),
    ), {1: "invalid_json", 2: None, 3: "invalid_json"}),
    "injection.jsonl": (_lines(
        chat(prompt="__import__('os').system('touch PWNED')"),
        chat(prompt="../../../../etc/passwd $(touch PWNED) `touch PWNED`"),
        chat(prompt="{{7*7}} %(x)s {0.__class__}"),
    ), {1: None, 2: None, 3: None}),
}

LINE_BYTES = 10 * 1024 * 1024
LONG_MELODY_NOTES = 100_000
DEEP = 100_000


def _long_line() -> bytes:
    return _lines(GOOD, chat(prompt="x" * LINE_BYTES), GOOD)


def _long_melody() -> bytes:
    pairs = ", ".join(f"[{60 + i % 12}, 0.5]" for i in range(LONG_MELODY_NOTES))
    return _lines(chat(melody_of(pairs)))


def _deep() -> bytes:
    return _lines("[" * DEEP + "]" * DEEP, chat("melody_pitch_duration_data: " + "[" * DEEP + "]" * DEEP),
                  '{"messages": ' + '{"a": ' * DEEP + "1" + "}" * DEEP + "}", GOOD)


LARGE: dict[str, tuple[Callable[[], bytes], dict[int, str | None]]] = {
    "long_line.jsonl": (_long_line, {1: None, 2: "line_too_long", 3: None}),
    "long_melody.jsonl": (_long_melody, {1: "line_too_long"}),
    "deep_nesting.jsonl": (_deep, {1: "nesting_too_deep", 2: "not_a_melody", 3: "nesting_too_deep",
                                   4: None}),
}

EXPECTED: dict[str, dict[int, str | None]] = {
    **{name: expected for name, (_data, expected) in SMALL.items()},
    **{name: expected for name, (_make, expected) in LARGE.items()},
}


def write_small(directory: Path = HERE) -> list[Path]:
    paths = []
    for name, (data, _expected) in SMALL.items():
        (directory / name).write_bytes(data)
        paths.append(directory / name)
    return paths


def write_large(directory: Path) -> list[Path]:
    paths = []
    for name, (make, _expected) in LARGE.items():
        (directory / name).write_bytes(make())
        paths.append(directory / name)
    return paths


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE
    for path in write_small(target) + (write_large(target) if "--large" in sys.argv else []):
        print(path)
