"""The hand-made seed set seeds/beethoven.jsonl: coverage, format, and truthful prompts.

Every claim a prompt makes is checked against its melody: the key (music21's analysis,
plus ear-logic: in scale, ends on the tonic triad), the meter (whole bars), bar and note
counts, "minuet"/"scherzo" (triple time), "rising arpeggio", "dotted rhythm",
"sixteenth", "short".
"""

from __future__ import annotations

import dataclasses
import importlib.util
import re
import sys
from collections import Counter
from fractions import Fraction
from pathlib import Path

import music21
import pytest
from click.testing import CliRunner

from augment.checks import run_checks
from augment.cli import cli
from augment.codec import FormatConfig, parse_line
from augment.config import ChecksConfig
from augment.example import Example
from augment.prompt import stated_key
from augment.theory import Key

SEEDS = Path(__file__).resolve().parents[1] / "seeds"
SEED_FILE = SEEDS / "beethoven.jsonl"
BEETHOVEN = "You are a music generator inspired by Beethoven's sonatas."
FORMAT_AI = "You are a music AI that generates melodies in the melody_pitch_duration_data format."
BRIEF = [
    (BEETHOVEN, "Generate a melody in C major.",
     "melody_pitch_duration_data: [[60, 0.5], [62, 0.25], [64, 0.25], [65, 0.5], [67, 0.5], "
     "[69, 0.25], [71, 0.25], [72, 1.0]]"),
    (BEETHOVEN, "Compose a short piece in A minor.",
     "melody_pitch_duration_data: [[57, 0.5], [59, 0.25], [60, 0.25], [62, 0.5], [64, 0.5], "
     "[65, 0.25], [67, 0.25], [69, 1.0]]"),
    (FORMAT_AI, "Generate a short melody for me.",
     "melody_pitch_duration_data: [[60, 0.5], [62, 0.25], [64, 0.25], [65, 0.5]]"),
]
# The brief's first example is an ascending C major scale; music21 weighs it as F major.
# It is kept verbatim, so it is judged by ear-logic only (in scale, ends on the tonic).
MUSIC21_EXEMPT_LINES = {1}
NUMBER_WORDS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
                "eight": 8, "nine": 9, "ten": 10, "twelve": 12, "sixteen": 16}
NUM = r"(\d+|" + "|".join(NUMBER_WORDS) + r")"
METER_RE = re.compile(r"(?<![\d/])(\d{1,2})/(\d{1,2})(?![\d/])")
BARS_RE = re.compile(NUM + r"[- ]bars?\b", re.IGNORECASE)
NOTES_RE = re.compile(NUM + r"[- ]notes?\b", re.IGNORECASE)
TEMPO_WORDS = ("adagio", "andante", "andantino", "allegretto", "allegro", "presto", "largo",
               "vivace", "slow", "fast", "lively", "quick")


def _number(text: str) -> int:
    return int(text) if text.isdigit() else NUMBER_WORDS[text.lower()]


@pytest.fixture(scope="module")
def lines() -> list[str]:
    return SEED_FILE.read_text(encoding="utf-8").splitlines()


@pytest.fixture(scope="module")
def examples(lines: list[str]) -> list[Example]:
    out = []
    for number, text in enumerate(lines, start=1):
        example, findings = parse_line(text, FormatConfig(), str(SEED_FILE), number)
        assert example is not None, findings
        out.append(example)
    return out


def _system(example: Example) -> str | None:
    return next((m.content for m in example.messages if m.role == "system"), None)


def _sounding(example: Example) -> list[int]:
    return [p for p in example.melody.pitches if p is not None]


def _music21_key(example: Example) -> Key:
    stream: music21.stream.Stream = music21.stream.Stream()
    for pitch, quarters in zip(example.melody.pitches, example.melody.durations, strict=True):
        stream.append(music21.note.Rest(quarterLength=quarters) if pitch is None
                      else music21.note.Note(pitch, quarterLength=quarters))
    found = stream.analyze("key")
    return Key(found.tonic.pitchClass, "major" if found.mode == "major" else "minor")


def _tonic_triad(key: Key) -> set[int]:
    third = 4 if key.mode == "major" else 3
    return {key.tonic, (key.tonic + third) % 12, (key.tonic + 7) % 12}


def _in_scale_share(example: Example, key: Key) -> Fraction:
    """Duration share on the key's scale; minor admits the raised 6th and 7th."""
    scale = set(key.scale_pitch_classes())
    if key.mode == "minor":
        scale |= {(key.tonic + 9) % 12, (key.tonic + 11) % 12}
    pairs = [(p, d) for p, d in zip(example.melody.pitches, example.melody.durations,
                                    strict=True) if p is not None]
    total = sum((d for _, d in pairs), Fraction(0))
    return sum((d for p, d in pairs if p % 12 in scale), Fraction(0)) / total


def test_file_is_what_the_listing_writes(lines: list[str]) -> None:
    spec = importlib.util.spec_from_file_location("make_beethoven", SEEDS / "make_beethoven.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while building
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[spec.name]
    assert module.build_lines() == lines


def test_first_three_lines_are_the_brief_examples_verbatim(examples: list[Example]) -> None:
    for example, (system, user, assistant) in zip(examples[:3], BRIEF, strict=True):
        assert [(m.role, m.content) for m in example.messages] == [
            ("system", system), ("user", user), ("assistant", assistant)]


def test_count_and_validate_exit_zero(examples: list[Example]) -> None:
    assert len(examples) >= 80
    result = CliRunner().invoke(cli, ["validate", str(SEED_FILE)])
    assert result.exit_code == 0, result.output
    assert "0 error(s), 0 warning(s)" in result.output


def test_lengths_and_range(examples: list[Example]) -> None:
    for number, example in enumerate(examples, start=1):
        notes = _sounding(example)
        assert min(notes) >= 36 and max(notes) <= 96, number
        if number != 3:  # the brief's third example is four notes long, kept verbatim
            assert 8 <= len(notes) <= 64, (number, len(notes))
    sizes = [len(_sounding(e)) for e in examples]
    assert min(s for s in sizes if s >= 8) <= 10 and max(sizes) >= 56


def test_all_24_keys_and_four_meters_covered(examples: list[Example]) -> None:
    keys = Counter(stated_key(e.prompt) for e in examples)
    assert {Key(t, m) for t in range(12) for m in ("major", "minor")} <= set(keys)
    meters = {m.group(0) for e in examples for m in METER_RE.finditer(e.prompt or "")}
    assert {"2/4", "3/4", "4/4", "6/8"} <= meters


def test_prompts_are_varied(examples: list[Example]) -> None:
    users = [e.prompt for e in examples]
    assert len(set(users)) >= 40
    systems = Counter(_system(e) for e in examples)
    assert systems[BEETHOVEN] >= 20 and systems[FORMAT_AI] >= 3
    assert systems[None] >= 3 and len(systems) >= 5
    tempos = {w for u in users for w in TEMPO_WORDS if re.search(rf"\b{w}\b", u or "", re.I)}
    assert len(tempos) >= 6, tempos


def key_problems(example: Example, *, music21_too: bool = True) -> list[str]:
    """What is untrue about the key the prompt states (empty when it states none).

    Rule: music21 finds the stated key, or it finds the relative key and the melody ends
    on the stated tonic itself (stricter than any tone of the triad). By ear as well: the
    stated key holds >= 90% of the sounding time in its scale and the last note is a tone
    of its tonic triad.
    """
    key = stated_key(example.prompt)
    if key is None:
        return []
    problems = []
    last = _sounding(example)[-1] % 12
    if last not in _tonic_triad(key):
        problems.append(f"ends outside the {key.name} tonic triad")
    if _in_scale_share(example, key) < Fraction(9, 10):
        problems.append(f"under 90% of the melody is in {key.name}")
    if music21_too:
        found = _music21_key(example)
        if found != key and not (found == key.relative and last == key.tonic):
            problems.append(f"music21 hears {found.name}, not {key.name}")
    return problems


def count_problems(example: Example) -> list[str]:
    """What is untrue about the meter, bar count, note count or triple time it states."""
    prompt = example.prompt or ""
    total = example.melody.total_quarters
    meters = METER_RE.findall(prompt)
    if len(meters) > 1:
        return ["states more than one meter"]
    problems = []
    bar = Fraction(int(meters[0][0]) * 4, int(meters[0][1])) if meters else None
    if bar is not None and total % bar:
        problems.append(f"{total} quarters are not whole bars of {meters[0][0]}/{meters[0][1]}")
    for m in BARS_RE.finditer(prompt):  # bars counted without a meter are common time
        if total != _number(m.group(1)) * (bar or 4):
            problems.append(f"not {m.group(0)}")
    for m in NOTES_RE.finditer(prompt):
        if len(example.melody.pitches) != _number(m.group(1)):
            problems.append(f"not {m.group(0)}")
    if re.search(r"minuet|menuetto|scherzo", prompt, re.I) and (
            total % 3 or (bar is not None and bar % 3)):
        problems.append("a minuet or scherzo not in triple time")
    return problems


def figure_problems(example: Example) -> list[str]:
    """What is untrue about the figures the prompt describes."""
    prompt = (example.prompt or "").lower()
    notes, durations = _sounding(example), example.melody.durations
    steps = [b - a for a, b in zip(notes, notes[1:], strict=False)]
    problems = []
    if re.search(r"rising arpeggio|upward arpeggio|rising broken chord|rocket", prompt) and not all(
            3 <= s <= 5 for s in steps[:3]):
        problems.append("does not open with a rising arpeggio")
    if "dotted" in prompt and not any(d in (Fraction(3, 4), Fraction(3, 2)) and e < d
                                      for d, e in zip(durations, durations[1:], strict=False)):
        problems.append("no dotted figure")
    if "sixteenth" in prompt and durations.count(Fraction(1, 4)) < 8:
        problems.append("hardly any sixteenths")
    if re.search(r"\b(short|tiny)\b", prompt) and len(notes) > 16:
        problems.append("not short")
    return problems


def test_every_claim_of_every_prompt_is_true(examples: list[Example]) -> None:
    relative = 0
    for number, example in enumerate(examples, start=1):
        music21_too = number not in MUSIC21_EXEMPT_LINES
        problems = (key_problems(example, music21_too=music21_too) + count_problems(example)
                    + figure_problems(example))
        assert problems == [], (number, example.prompt, problems)
        key = stated_key(example.prompt)
        relative += key is not None and music21_too and _music21_key(example) != key
    assert relative <= 6  # seeds where music21 hears the relative key (rule above)
    first = examples[0]
    assert _sounding(first)[-1] % 12 == 0 and _in_scale_share(first, Key(0, "major")) == 1


def test_the_claim_checks_catch_lies(examples: list[Example]) -> None:
    minuet = examples[8]  # "Write an 8-bar minuet in C major, 3/4."
    assert minuet.prompt == "Write an 8-bar minuet in C major, 3/4."
    user = minuet.user_index
    assert user is not None
    lie = minuet.with_content(user, "Write a 7-bar minuet in D major, 5/4, with a rising "
                              "arpeggio, dotted rhythms and sixteenth notes.")
    assert len(key_problems(lie)) == 3
    assert count_problems(lie) == ["24 quarters are not whole bars of 5/4", "not 7-bar",
                                   "a minuet or scherzo not in triple time"]
    assert figure_problems(lie) == ["hardly any sixteenths"]  # C-E-G-C and A.-G are there
    scale = examples[0]  # the brief's stepwise C major scale
    assert scale.user_index is not None
    assert figure_problems(scale.with_content(
        scale.user_index, "A rising arpeggio with dotted rhythms and sixteenths")) == [
        "does not open with a rising arpeggio", "no dotted figure", "hardly any sixteenths"]
    assert count_problems(minuet.with_content(user, "A 6-bar minuet in 4/4")) == [
        "a minuet or scherzo not in triple time"]  # 24 quarters are six bars of 4/4
    # Its last note C is in the A minor triad, but music21 hears the relative C major
    # and the melody does not end on A: the relative-key rule does not excuse it.
    assert key_problems(minuet.with_content(user, "Minuet in A minor")) == [
        "music21 hears C major, not A minor"]
    assert key_problems(minuet.with_content(user, "Minuet in F# major")) == [
        "ends outside the F# major tonic triad", "under 90% of the melody is in F# major",
        "music21 hears C major, not F# major"]


def test_every_seed_passes_the_default_checks(examples: list[Example]) -> None:
    for number, example in enumerate(examples, start=1):
        keyed = dataclasses.replace(example, key=stated_key(example.prompt))
        assert run_checks(keyed, ChecksConfig()) == [], number
