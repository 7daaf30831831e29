from __future__ import annotations

import json
from fractions import Fraction

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from augment.codec import FormatConfig, format_melody, parse_line, parse_melody
from augment.errors import MelodyFormatError
from augment.melody import GRID_QUARTER, Melody

BRIEF = ("melody_pitch_duration_data: [[60, 0.5], [62, 0.25], [64, 0.25], [65, 0.5], [67, 0.5], "
         "[69, 0.25], [71, 0.25], [72, 1.0]]")


def test_parses_the_brief_example_exactly() -> None:
    m = parse_melody(BRIEF)
    assert m.notes == (60, 62, 64, 65, 67, 69, 71, 72)
    assert m.durations[:3] == (Fraction(1, 2), Fraction(1, 4), Fraction(1, 4))
    assert m.total_quarters == Fraction(7, 2)
    assert format_melody(m) == BRIEF


def test_tuple_form_and_free_whitespace_parse_the_same() -> None:
    text = "melody_pitch_duration_data:[(60,0.5) ,\n (62 , 0.25)]  "
    assert parse_melody(text) == parse_melody("melody_pitch_duration_data: [[60, 0.5], [62, 0.25]]")


def test_writing_always_uses_list_form() -> None:
    m = parse_melody("melody_pitch_duration_data: [(60, 1), (62, 2)]")
    assert format_melody(m) == "melody_pitch_duration_data: [[60, 1.0], [62, 2.0]]"


def test_whole_note_unit_is_converted_at_the_edges() -> None:
    whole = FormatConfig(duration_unit="whole")
    m = parse_melody("melody_pitch_duration_data: [[60, 0.25], [62, 0.125], [64, 1]]", whole)
    assert m.durations == (Fraction(1), Fraction(1, 2), Fraction(4))  # quarter notes inside
    assert format_melody(m, whole) == "melody_pitch_duration_data: [[60, 0.25], [62, 0.125], [64, 1.0]]"


def test_rest_tokens() -> None:
    zero = parse_melody("melody_pitch_duration_data: [[60, 1], [0, 1]]")
    assert zero.pitches == (60, None)
    null = FormatConfig(rest="null")
    m = parse_melody("melody_pitch_duration_data: [[60, 1], [null, 1], [0, 1]]", null)
    assert m.pitches == (60, None, 0)  # with rest = "null", 0 is the pitch C-1
    assert format_melody(m, null) == "melody_pitch_duration_data: [[60, 1.0], [null, 1.0], [0, 1.0]]"


def test_triplets_survive_decimal_text() -> None:
    m = parse_melody("melody_pitch_duration_data: [[60, 0.3333333333333333], [62, 0.333333]]")
    assert m.durations == (Fraction(1, 3), Fraction(1, 3))
    assert m.is_on_grid()


def test_off_grid_is_kept_exactly_not_crashed() -> None:
    m = parse_melody("melody_pitch_duration_data: [[60, 0.1]]")
    assert m.durations == (Fraction(1, 10),)
    assert not m.is_on_grid()


@pytest.mark.parametrize(
    "text, code",
    [
        ("melody: [[60, 1]]", "not_a_melody"),
        ("melody_pitch_duration_data: []", "empty_melody"),
        ("melody_pitch_duration_data: [[128, 1]]", "pitch_out_of_range"),
        ("melody_pitch_duration_data: [[-1, 1]]", "pitch_out_of_range"),
        ("melody_pitch_duration_data: [[60.5, 1]]", "pitch_not_integer"),
        ("melody_pitch_duration_data: [[\"C4\", 1]]", "pitch_not_integer"),
        ("melody_pitch_duration_data: [[60, 0]]", "duration_not_positive"),
        ("melody_pitch_duration_data: [[60, -0.5]]", "duration_not_positive"),
        ("melody_pitch_duration_data: [[60, NaN]]", "non_finite"),
        ("melody_pitch_duration_data: [[60, Infinity]]", "non_finite"),
        ("melody_pitch_duration_data: [[60, \"1\"]]", "duration_not_number"),
        ("melody_pitch_duration_data: [[60, 1, 2]]", "not_a_melody"),
        ("melody_pitch_duration_data: [[60, 1]] thanks!", "not_a_melody"),
        ("melody_pitch_duration_data: " + "[" * 5000, "not_a_melody"),
    ],
)
def test_bad_melodies_name_their_problem(text: str, code: str) -> None:
    with pytest.raises(MelodyFormatError) as info:
        parse_melody(text)
    assert code in [c for c, _ in info.value.problems]


grid = st.integers(min_value=1, max_value=48 * 16).map(lambda t: t * GRID_QUARTER)


@st.composite
def melody_and_format(draw: st.DrawFn) -> tuple[Melody, FormatConfig]:
    fmt = FormatConfig(duration_unit=draw(st.sampled_from(["quarter", "whole"])),
                       rest=draw(st.sampled_from([0, "null"])))
    low = 1 if fmt.rest == 0 else 0
    pairs = draw(st.lists(st.tuples(st.one_of(st.none(), st.integers(low, 127)), grid),
                          min_size=1, max_size=50))
    return Melody(tuple(p for p, _ in pairs), tuple(d for _, d in pairs)), fmt


@given(melody_and_format())
def test_round_trip_parse_format(case: tuple[Melody, FormatConfig]) -> None:
    melody, fmt = case
    text = format_melody(melody, fmt)
    assert parse_melody(text, fmt) == melody
    assert format_melody(parse_melody(text, fmt), fmt) == text


def _line(messages: object) -> str:
    return json.dumps({"messages": messages})


@pytest.mark.parametrize(
    "line, code",
    [
        ("", "blank_line"),
        ("{not json", "invalid_json"),
        ("[1, 2]", "data_type"),
        ('{"prompt": "x"}', "missing_messages_list"),
        (_line([{"role": "user"}]), "message_missing_key"),
        (_line([{"role": "user", "content": "hi", "mood": 1}]), "message_unrecognized_key"),
        (_line([{"role": "composer", "content": "hi"}]), "unrecognized_role"),
        (_line([{"role": "user", "content": ""}]), "missing_content"),
        (_line([{"role": "user", "content": "hi"}]), "example_missing_assistant_message"),
        (_line([{"role": "user", "content": "hi"}, {"role": "assistant", "content": "no"}]),
         "not_a_melody"),
        ('{"messages": [], "messages": []}', "invalid_json"),
        ('{"messages": [{"role": "user", "content": NaN}]}', "non_finite"),
    ],
)
def test_bad_lines_get_cookbook_and_own_codes(line: str, code: str) -> None:
    example, findings = parse_line(line, FormatConfig(), "f.jsonl", 7)
    assert example is None
    assert code in [f.code for f in findings]
    assert all(f.file == "f.jsonl" and f.line == 7 for f in findings)


def test_a_good_line_keeps_its_text_and_extra_keys() -> None:
    line = _line([{"role": "user", "content": "C major please"},
                  {"role": "assistant", "content": "melody_pitch_duration_data: [(60, 1)]",
                   "weight": 1}])
    example, findings = parse_line(line, FormatConfig(), "f.jsonl", 1)
    assert example is not None and not findings
    assert example.messages[1].content == "melody_pitch_duration_data: [(60, 1)]"
    assert dict(example.messages[1].extra) == {"weight": 1}
    assert example.prompt == "C major please"


# --- the plain-melody reading (codec._plain_melody) against the full one ------------------

_PAIR_TEXTS = ["60, 0.5", "62, 0.25", "0, 1.0", "null, 1.0", "127, 4.0", "128, 1.0", "-1, 1.0",
               "60, 0", "60, -0.5", "60, 1e999", "60, 0.3333333333333333", "60, 1", "60.0, 1.0",
               "true, 1.0", "60, true", '"C", 1.0', "60", "60, 1.0, 2", "[60, 1.0]", "60, NaN",
               "99999999999999999999, 1.0", "60, 1e-400", "60 , 0.5", " 60, 0.5", "60,0.5", ""]
_JOINS = ["], [", "],[", "] , [", "],\n ["]


def _full_reading(text: str, fmt: FormatConfig) -> object:
    """parse_melody with the plain reading switched off: its melody, or its problems."""
    from unittest.mock import patch

    from augment import codec
    with patch.object(codec, "_plain_melody", lambda body, fmt, limits: None):
        return _outcome(text, fmt)


def _outcome(text: str, fmt: FormatConfig) -> object:
    try:
        return parse_melody(text, fmt)
    except MelodyFormatError as exc:
        return exc.problems


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(_PAIR_TEXTS), max_size=12),
       st.lists(st.sampled_from(_JOINS), min_size=11, max_size=11),
       st.sampled_from([FormatConfig(), FormatConfig("whole"), FormatConfig(rest="null")]),
       st.sampled_from(["[[{}]]", "[({})]", " [[{}]] ", "[[{}]", "[{}]]", "[[{}]]]"]))
def test_the_plain_reading_equals_the_full_one(pairs: list[str], joins: list[str], fmt: FormatConfig,
                                               shape: str) -> None:
    body = "".join(j + p for j, p in zip(["", *joins][:len(pairs)], pairs, strict=True))
    text = "melody_pitch_duration_data: " + shape.format(body)
    assert _outcome(text, fmt) == _full_reading(text, fmt)  # the pair table cold, then warm
    assert _outcome(text, fmt) == _full_reading(text, fmt)


def test_written_melodies_take_the_plain_reading_and_read_back_the_same() -> None:
    from augment import codec
    from augment.limits import DEFAULT_LIMITS
    from dataset_util import corpus

    formats = [FormatConfig(), FormatConfig("whole"), FormatConfig(rest="null")]
    for _, melody in corpus():
        for fmt in formats:
            text = format_melody(melody, fmt)
            body = text[len(codec.PREFIX):].strip()
            assert codec._plain_melody(body, fmt, DEFAULT_LIMITS) == melody  # taken, and right
            assert parse_melody(text, fmt) == melody == _full_reading(text, fmt)


def test_the_plain_reading_leaves_a_melody_over_the_note_limit_to_the_full_one() -> None:
    from augment.limits import Limits

    text = "melody_pitch_duration_data: [" + ", ".join(["[60, 0.5]"] * 5) + "]"
    with pytest.raises(MelodyFormatError, match="5 notes, over the limit of 4"):
        parse_melody(text, limits=Limits(max_notes=4))
    assert len(parse_melody(text, limits=Limits(max_notes=5))) == 5


_VALUES = st.sampled_from(["user", "system", "assistant", "robot", "", "  ", "Write a melody.", None, 3, True,
                           ["user"], {"a": 1}, BRIEF, 0, 1])
_MESSAGE = st.one_of(st.fixed_dictionaries({"role": _VALUES, "content": _VALUES}),  # the plain shape
                    st.dictionaries(st.sampled_from(["role", "content", "weight", "name", "tool_calls",
                                                     "colour"]), _VALUES, max_size=4))


@settings(max_examples=400, deadline=None)
@given(st.lists(_MESSAGE, min_size=1, max_size=4), st.booleans())
@example([{"role": "user", "content": "Write a melody.", "weight": 1}], True)  # an extra key
@example([{"role": "user", "content": " "}], True)  # no text
@example([{"role": "robot", "content": "Write a melody."}], True)  # an unknown role
@example([{"role": "user", "content": ["Write", "a melody."]}], True)  # content not a str
def test_plain_messages_read_as_the_full_checks_read_them(messages: list[dict], answer: bool) -> None:
    """``codec._plain_message`` (a message of just a known role and some text) takes no
    message the full checks would flag, and reads the ones it takes as they do."""
    from unittest.mock import patch

    from augment import codec

    if answer:
        messages = [*messages, {"role": "assistant", "content": BRIEF}]
    line = json.dumps({"messages": messages})
    fast = parse_line(line, FormatConfig(), "f.jsonl", 3)
    with patch.object(codec, "_plain_message", lambda raw: None):
        full = parse_line(line, FormatConfig(), "f.jsonl", 3)
    assert fast == full
    taken = [m for m in messages if codec._plain_message(m) is not None]
    assert all(set(m) == {"role", "content"} for m in taken)


def test_lines_share_their_roles_and_system_messages_within_a_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    """Parsed lines hold one str for each role and one ``Message`` for each system text
    (``augment split`` holds every line's example), read as they are written; the table of
    system messages stays within its bound and the lines read the same when it overflows."""
    from augment import codec

    monkeypatch.setattr(codec, "_MAX_SYSTEM_MESSAGES", 3)
    monkeypatch.setattr(codec, "_SYSTEM_MESSAGES", {})
    texts = [f"You are composer number {k}." for k in range(5)]

    def line(system: str, user: str) -> str:
        # (the role names built anew, as a JSON reader makes them: not the shared strs)
        return json.dumps({"messages": [{"role": "".join(["sys", "tem"]), "content": system},
                                        {"role": "".join(["us", "er"]), "content": user},
                                        {"role": "assistant", "content": BRIEF}]})

    read = []
    for k in range(40):
        text = line(texts[k % 5], f"Write melody {k}.")
        example, findings = parse_line(text, FormatConfig(), "f.jsonl", k + 1)
        assert example is not None and not findings
        assert [(m.role, m.content) for m in example.messages] == \
            [("system", texts[k % 5]), ("user", f"Write melody {k}."), ("assistant", BRIEF)]
        read.append(example)
        assert len(codec._SYSTEM_MESSAGES) <= 3
    for role in ("system", "user", "assistant"):
        assert len({id(m.role) for e in read for m in e.messages if m.role == role}) == 1
    # the same text read twice in a row, the table not full in between: the same message
    a, _ = parse_line(line(texts[0], "x"), FormatConfig(), "f.jsonl", 1)
    b, _ = parse_line(line(texts[0], "y"), FormatConfig(), "f.jsonl", 2)
    assert a is not None and b is not None and a.messages[0] is b.messages[0]
    assert a.messages[1] is not b.messages[1]  # other roles' messages are the line's own


@pytest.mark.parametrize("escape, bad", [
    ("\\ud800", True), ("\\uDFFF", True), ("\\ud83c", True),
    ("\\ud83c\\udfb5", False), ("\\\\ud800", False), ("\\u00e9", False)])
def test_half_a_surrogate_pair_is_a_finding_not_a_crash(escape: str, bad: bool) -> None:
    """Python's JSON reader takes ``\\ud800`` as a str that no UTF-8 text can hold (the
    line's id, its output, every later step would fail): it is an ``invalid_json`` finding
    naming the escape. A whole pair (one character), an escaped backslash and other escapes
    read as before; the escape in a key or another message counts too."""
    line = ('{"messages": [{"role": "user", "content": "Write a melody in C major ' + escape + '."}, '
            '{"role": "assistant", "content": "' + BRIEF + '"}]}')
    example, findings = parse_line(line, FormatConfig(), "f.jsonl", 7)
    if bad:
        assert example is None
        assert [(f.code, f.line) for f in findings] == [("invalid_json", 7)]
        assert escape in findings[0].message and "surrogate" in findings[0].message
    else:
        assert example is not None and not findings
        assert example.prompt == json.loads(line)["messages"][0]["content"]
    keyed = '{"messages": [{"role": "user", "content": "x", "name": "a' + escape + '"}, ' \
            '{"role": "assistant", "content": "' + BRIEF + '"}]}'
    example, findings = parse_line(keyed, FormatConfig(), "f.jsonl", 8)
    assert (example is None) == bad and any(f.code == "invalid_json" for f in findings) == bad
