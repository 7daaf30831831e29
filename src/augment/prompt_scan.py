"""Finding meter, tempo and length claims in a prompt (key claims live in ``prompt.py``).

Each scanner returns claims with their spans, in prompt order; a phrase that may or may
not be a claim is returned as an ``Ambiguity`` instead of being guessed.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from .prompt_words import (
    BEAT_METERS,
    METER_NAMES,
    NUMBER_INITIALS,
    NUMBER_PATTERN,
    TEMPO_ADVERBS,
    TEMPO_MARKS,
    TEMPO_PREFIXES,
    TEMPO_SUFFIXES,
    TEMPO_WORDS,
    fold,
    initials,
    parse_number,
)


class _Span(Protocol):
    @property
    def start(self) -> int: ...
    @property
    def end(self) -> int: ...


@dataclass(frozen=True, slots=True)
class Ambiguity:
    """A phrase that might be a claim but could not be decided; ``reason`` says why.

    ``kind`` is what it may claim ('key', 'bars', 'notes'); ``reading`` is its value if
    it is a claim (a ``Key``, or a count such as 8 for "two 4-bar phrases").
    """

    start: int
    end: int
    text: str
    reason: str
    kind: str = "key"
    reading: object = None


@dataclass(frozen=True, slots=True)
class MeterClaim:
    """A meter claim. ``meters`` lists the time signatures it allows ("march": 2/4 or 4/4).

    ``form``: 'numeric' ("3/4"), 'words' ("three-four"), 'beats' ("in three"),
    'name' ("waltz", "common time", "triple meter").
    """

    start: int
    end: int
    text: str
    meters: tuple[str, ...]
    form: str

    @property
    def ambiguous(self) -> bool:
        return len(self.meters) > 1


@dataclass(frozen=True, slots=True)
class TempoClaim:
    """A tempo or character word; ``tempo`` is 'slow'/'moderate'/'fast' or None (character only).

    ``form``: 'italian' (Allegro ma non troppo), 'adjective' (lively), 'adverb' (slowly).
    """

    start: int
    end: int
    text: str
    tempo: str | None
    form: str


@dataclass(frozen=True, slots=True)
class LengthClaim:
    """A length: a count of ``unit`` ('bars'/'notes') or a size word ('short'/'long').

    ``relation`` is how the melody must compare with ``count``: '==', '<=', '<', '>=',
    '>' or '~' ("about 16 notes").
    """

    start: int
    end: int
    text: str
    unit: str | None
    count: int | None
    size: str | None = None
    relation: str = "=="

    @property
    def bars(self) -> int | None:
        return self.count if self.unit == "bars" else None

    @property
    def notes(self) -> int | None:
        return self.count if self.unit == "notes" else None


def overlaps(claims: Sequence[_Span], start: int, end: int) -> bool:
    return any(c.start < end and start < c.end for c in claims)


def _alt(words: Sequence[str]) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


_DENOMINATORS = {1, 2, 4, 8, 16, 32}
NUMERIC_METER = re.compile(r"(?<![\w/.])(?P<num>\d{1,2})/(?P<den>\d{1,2})(?![\w/]|\.\d|\s*-?\s*notes?\b)")
WORD_METER = re.compile(
    initials(["two", "three", "four", "five", "six", "seven", "nine", "twelve"])
    + r"\b(?P<num>(?i:two|three|four|five|six|seven|nine|twelve))[- ]"
    r"(?P<den>(?i:two|four|eight|sixteen))(?=\s+(?i:time|meter|metre)\b)")
BEAT_METER = re.compile(
    r"\b[Ii]n\s+(?P<num>(?i:two|three|four)|[234])"
    r"(?=\s*(?:$|[.,;:!?)]|(?:and|with|please|time)\b))")

_GROUPINGS = ("duple", "triple", "quadruple")
_NAME = re.compile(
    initials(METER_NAMES)
    + r"\b(?P<name>(?i:" + _alt([n.removesuffix(" meter") for n in METER_NAMES]) + r"))"
    r"(?P<tail>(?i:es|s)?(?:[ -](?i:meter|metre|time))?)\b")


# Each pattern below finds each of its words whole: no letter stands right before or after
# it (a \b or a look-around), and ``fold`` maps every letter that case-insensitive matching
# takes for one of the words' letters back to it. So the words a pattern finds are, folded,
# runs of letters of the folded prompt, and a pattern finds nothing in a prompt none of
# whose runs is the first run of one of its words (``NEEDS``): ``find`` then does not look.
_LETTER_RUNS = re.compile(r"[^\W\d_]+")


def letter_runs(prompt: str) -> frozenset[str]:
    """The runs of letters of ``fold(prompt)``: what ``find`` asks of a prompt."""
    return frozenset(_LETTER_RUNS.findall(fold(prompt)))


def _first_runs(words: Sequence[str], tails: tuple[str, ...] = ("",)) -> frozenset[str]:
    """The first run of letters of each word; a word of one run also with each of ``tails``."""
    runs: set[str] = set()
    for word in words:
        first, *more = _LETTER_RUNS.findall(word)
        runs.update(first + tail for tail in (tails if not more else ("",)))
    return frozenset(runs)


# A pattern's words: the name of a meter may take a plural ending ("waltzes"), a length's
# noun is one of its words ("bars?").
NEEDS: dict[re.Pattern[str], frozenset[str]] = {
    WORD_METER: _first_runs(["time", "meter", "metre"]),
    _NAME: _first_runs([n.removesuffix(" meter") for n in METER_NAMES], ("", "s", "es")),
}


def find(pattern: re.Pattern[str], prompt: str, runs: frozenset[str] | None) -> Iterator[re.Match[str]]:
    """``pattern.finditer(prompt)``, or nothing without looking when ``runs`` (the prompt's
    ``letter_runs``; None: not known) holds none of the pattern's ``NEEDS``."""
    if runs is not None and runs.isdisjoint(NEEDS[pattern]):
        return iter(())
    return pattern.finditer(prompt)


def meter_claims(prompt: str, runs: frozenset[str] | None = None) -> list[MeterClaim]:
    """'3/4', 'six-eight time', 'in three', 'waltz', 'common time', 'triple meter'...
    (``runs``: the prompt's ``letter_runs`` when known.)"""
    claims: list[MeterClaim] = []
    for m in NUMERIC_METER.finditer(prompt):
        num, den = int(m.group("num")), int(m.group("den"))
        if num > 1 and den in _DENOMINATORS:
            claims.append(MeterClaim(m.start(), m.end(), m.group(0), (f"{num}/{den}",), "numeric"))
    for m in find(WORD_METER, prompt, runs):
        text = f"{parse_number(m.group('num'))}/{parse_number(m.group('den'))}"
        claims.append(MeterClaim(m.start(), m.end(), m.group(0), (text,), "words"))
    for m in BEAT_METER.finditer(prompt):
        beats = parse_number(m.group("num")) or 0
        claims.append(MeterClaim(m.start("num"), m.end(), m.group("num"), BEAT_METERS[beats], "beats"))
    for m in find(_NAME, prompt, runs):
        name = " ".join(fold(m.group("name")).split())
        meters = METER_NAMES.get(name) or METER_NAMES.get(f"{name} meter")
        bare_grouping = name.endswith(_GROUPINGS) and not m.group("tail").strip("esS")
        if meters is None or bare_grouping or overlaps(claims, m.start(), m.end()):
            continue
        if m.group("name") == "March" and not re.search(r"(?:^|[.!?:\n])\s*$", prompt[:m.start()]):
            continue  # the month
        claims.append(MeterClaim(m.start(), m.end(), m.group(0), meters, "name"))
    return sorted(claims, key=lambda c: c.start)


_MARK = re.compile(
    initials([*TEMPO_PREFIXES, *TEMPO_MARKS])
    + r"\b(?:(?P<pre>(?i:" + _alt(TEMPO_PREFIXES) + r"))\s+)?"
    r"(?P<mark>(?i:" + _alt(list(TEMPO_MARKS)) + r"))\b"
    r"(?:\s+(?P<suf>(?i:" + _alt(TEMPO_SUFFIXES) + r"))\b)?")
_PLAIN = re.compile(
    initials(TEMPO_WORDS) + r"(?<![\w-])(?P<word>(?i:" + _alt(list(TEMPO_WORDS)) + r"))(?![\w]|-\w)")


NEEDS[_MARK] = _first_runs(list(TEMPO_MARKS))
NEEDS[_PLAIN] = _first_runs(list(TEMPO_WORDS))


def tempo_claims(prompt: str, runs: frozenset[str] | None = None) -> list[TempoClaim]:
    """Italian tempo marks (with molto / ma non troppo ...) and plain tempo/character words
    (``runs``: the prompt's ``letter_runs`` when known)."""
    claims: list[TempoClaim] = []
    for m in find(_MARK, prompt, runs):
        suffix = fold(m.group("suf") or "")
        tempo = "moderate" if suffix == "moderato" else TEMPO_MARKS[fold(m.group("mark"))]
        claims.append(TempoClaim(m.start(), m.end(), m.group(0), tempo, "italian"))
    for m in find(_PLAIN, prompt, runs):
        if overlaps(claims, m.start(), m.end()):
            continue
        word = fold(m.group("word"))
        form = "adverb" if word in TEMPO_ADVERBS else "adjective"
        claims.append(TempoClaim(m.start(), m.end(), m.group(0), TEMPO_WORDS[word], form))
    return sorted(claims, key=lambda c: c.start)


_COUNT = re.compile(
    NUMBER_INITIALS + r"(?<![\w/.-])(?P<num>" + NUMBER_PATTERN + r")(?P<sep>\s*-\s*|\s+|(?<=\d))"
    r"(?P<noun>(?i:bars?|measures?|notes?))(?![\w])")
_NOT_TOTAL_BEFORE = re.compile(
    r"\b(?i:first|last|final|opening|closing|next|every|each|other|few|those|these)\s+$")
_NOT_TOTAL_AFTER = re.compile(
    r"\s*(?i:per\b|each\b|in each\b|of each\b|at a time\b|a bar\b|a measure\b|apart\b|of rest\b"
    r"|motif|motive|figure|cell|pattern|idea|pickup|upbeat|anacrusis|run\b|turn\b|group"
    r"|chord|arpeggio|intro|ending|coda|tag\b|bridge|rests?\b)")
_RELATIONS = {
    "no more than": "<=", "not more than": "<=", "at most": "<=", "up to": "<=",
    "maximum of": "<=", "under": "<", "fewer than": "<", "less than": "<",
    "at least": ">=", "no fewer than": ">=", "no less than": ">=", "minimum of": ">=",
    "more than": ">", "over": ">", "about": "~", "around": "~", "roughly": "~",
    "approximately": "~", "exactly": "==",
}
_RELATION_BEFORE = re.compile(r"\b(?P<rel>(?i:" + _alt(list(_RELATIONS)) + r"))\s+$")
_MULTIPLIER_BEFORE = re.compile(r"(?<![\w/.-])(?:" + NUMBER_PATTERN + r")\s+$")
_SIZES = {"short": "short", "brief": "short", "long": "long", "lengthy": "long", "extended": "long"}
_SIZE = re.compile(initials(_SIZES) + r"(?<![\w-])(?P<size>(?i:short|brief|long|lengthy|extended))(?![\w-])")
_SIZE_NOT = re.compile(r"\s+(?i:notes?|rests?|values?|durations?|staccato|tones?|time)\b")


NEEDS[_COUNT] = _first_runs(["bar", "bars", "measure", "measures", "note", "notes"])
NEEDS[_SIZE] = _first_runs(list(_SIZES))


def length_claims(prompt: str, runs: frozenset[str] | None = None
                  ) -> tuple[list[LengthClaim], list[Ambiguity]]:
    """'8 bars', 'eight-bar', 'a 4-measure phrase', '16 notes', 'at most 20 notes', 'short'
    (``runs``: the prompt's ``letter_runs`` when known)."""
    claims: list[LengthClaim] = []
    ambiguous: list[Ambiguity] = []
    for m in find(_COUNT, prompt, runs):
        before, after = prompt[:m.start()], prompt[m.end():]
        parsed = parse_number(m.group("num"))
        if parsed is None or _NOT_TOTAL_BEFORE.search(before) or _NOT_TOTAL_AFTER.match(after):
            continue
        count = parsed
        unit = "notes" if fold(m.group("noun")).startswith("note") else "bars"
        multiplier = _MULTIPLIER_BEFORE.search(before)
        if multiplier:
            times = parse_number(multiplier.group(0).strip()) or 1
            ambiguous.append(Ambiguity(m.start(), m.end(), m.group(0),
                                       f"'{m.group(0)}' follows another number: length of a part?",
                                       unit, times * count))
            continue
        rel = _RELATION_BEFORE.search(before)
        claims.append(LengthClaim(m.start(), m.end(), m.group(0), unit, count,
                                  relation=_RELATIONS[fold(rel.group("rel"))] if rel else "=="))
    for m in find(_SIZE, prompt, runs):
        before = prompt[:m.start()]
        if _SIZE_NOT.match(prompt, m.end()) or re.search(r"(?:\bas|bars?|measures?|notes?)\s+$", before):
            continue
        claims.append(LengthClaim(m.start(), m.end(), m.group(0), None, None,
                                  size=_SIZES[fold(m.group("size"))]))
    return sorted(claims, key=lambda c: c.start), ambiguous
