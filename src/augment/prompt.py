"""Claims a user prompt makes about its melody: key and mode, meter, tempo, length.

Each claim carries its span in the prompt and its text, so a rewrite can change just
that claim and keep the author's own words. Only what is recognised is claimed; unknown
words are left alone, never guessed. Where a phrase may or may not be a claim ("A minor
melody" at the start of a sentence: the key A minor, or "a minor melody"?), it is
recorded in ``PromptClaims.ambiguous`` rather than decided.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from .prompt_scan import (
    Ambiguity,
    LengthClaim,
    MeterClaim,
    TempoClaim,
    length_claims,
    letter_runs,
    meter_claims,
    overlaps,
    tempo_claims,
)
from .prompt_words import (
    ACCIDENTAL_SHIFT,
    CHURCH_MODES,
    CONNECTORS,
    INSTRUMENTS,
    LETTER_PC,
    MODE_EQUIVALENT,
    SECTION_NOUNS,
    fold,
    initials,
    spell_tonic,
)
from .theory import Key

__all__ = [
    "Ambiguity", "KeyClaim", "LengthClaim", "MeterClaim", "PromptClaims", "TempoClaim",
    "Tonality", "find_key_claims", "parse_claims", "rewrite_key", "stated_key",
]

_MODE_ALT = "|".join(["major", "minor", "maj", "min", *CHURCH_MODES])
_ACC = r"(?P<acc>[ -](?i:flat|sharp)(?![a-z])|b(?![a-ln-z])|[#♭♯])"
FULL_KEY = re.compile(
    r"(?<![\w#♯♭'-])(?P<letter>[A-Ga-g])" + _ACC + r"?(?P<sep>[ -]?)"
    r"(?P<mode>(?i:" + _MODE_ALT + r"))(?![\w])")
TONIC_AFTER = re.compile(
    r"\b(?:[Ii]n(?:\s+the\s+key\s+of)?|[Kk]ey(?:\s+of|\s*[:=]))\s+"
    r"(?P<tonic>(?P<letter>[A-G])" + _ACC + r"?)(?![\w#♭♯']|\.\w|-[A-Za-z])")
BARE_TONIC = re.compile(
    r"(?<![\w#♯♭'-])(?P<letter>[A-G])(?P<acc>b|[#♭♯]|-(?i:flat|sharp))(?![\w#♭♯]|-[A-Za-z])")
MODE_ONLY = re.compile(
    initials(["in", "major", "minor", *CHURCH_MODES])
    + r"(?:\b(?P<mode>(?i:" + "|".join(CHURCH_MODES) + r"))\b"
    r"|\b(?P<mm>(?i:major|minor))(?=[ -](?i:key|mode|scale|tonality)s?\b)"
    r"|\b[Ii]n\s+(?P<inmm>(?i:major|minor))(?![\w-]))")
_SENTENCE_START = re.compile(r"(?:^|[.!?:;\"“(\[\n])\s*$")
_NEXT_WORD = re.compile(r"(\s+|-)([A-Za-z]+)")
_KEY_NOUNS = ("key", "keys", "mode", "modes", "scale", "scales", "tonality")


@dataclass(frozen=True, slots=True)
class Tonality:
    """A tonic and a mode, wider than ``Key``: major, minor or a church mode."""

    tonic: int
    mode: str

    @classmethod
    def of(cls, key: Key | Tonality) -> Tonality:
        return key if isinstance(key, Tonality) else cls(key.tonic, key.mode)

    def transposed(self, semitones: int) -> Tonality:
        return Tonality((self.tonic + semitones) % 12, self.mode)

    @property
    def key(self) -> Key | None:
        mode = MODE_EQUIVALENT.get(self.mode, self.mode)
        return Key(self.tonic, mode) if mode in ("major", "minor") else None  # type: ignore[arg-type]

    @property
    def name(self) -> str:
        """ASCII spelling, e.g. 'Eb major', 'C# dorian'."""
        return f"{spell_tonic(self.tonic, self.mode)} {self.mode}"


@dataclass(frozen=True, slots=True)
class KeyClaim:
    """A key named in a prompt: where it is, what it says, and how it was written.

    ``tonic`` is None when only a mode is named ("a minor-key tune", "dorian");
    ``mode`` is None when only a tonic is ("in C", "in the key of G", "Eb"): unknown,
    not guessed. Modes are 'major', 'minor' or a church mode name.
    """

    start: int
    end: int
    text: str
    tonic: int | None
    mode: str | None

    @property
    def key(self) -> Key | None:
        """The major/minor key claimed, when both tonic and (an equivalent) mode are named."""
        if self.tonic is None or self.mode is None:
            return None
        return Tonality(self.tonic, self.mode).key

    @property
    def tonality(self) -> Tonality | None:
        if self.tonic is None or self.mode is None:
            return None
        return Tonality(self.tonic, self.mode)


@dataclass(frozen=True, slots=True)
class PromptClaims:
    """Everything a prompt claims, each kind in prompt order."""

    keys: tuple[KeyClaim, ...] = ()
    meters: tuple[MeterClaim, ...] = ()
    tempos: tuple[TempoClaim, ...] = ()
    lengths: tuple[LengthClaim, ...] = ()
    ambiguous: tuple[Ambiguity, ...] = ()
    # The values below (key, tonic, mode, meter options, bars, notes, tempo), made on first use:
    # ``parse_claims`` shares one PromptClaims among all the variants of a seed, and
    # re-prompting and the checks ask it for them again and again. Not part of the value.
    _single_values: dict[str, Any] = field(default_factory=dict, init=False, compare=False, repr=False)

    def _remembered(self, name: str, make: Callable[[], Any]) -> Any:
        known = self._single_values
        if name not in known:
            known[name] = make()
        return known[name]

    @property
    def key(self) -> Key | None:
        """The one major/minor key the prompt names (repeats allowed), else None."""
        return self._remembered("key", lambda: _single(c.key for c in self.keys if c.key is not None))

    @property
    def tonic(self) -> int | None:
        return self._remembered("tonic", lambda: _single(c.tonic for c in self.keys if c.tonic is not None))

    @property
    def mode(self) -> str | None:
        """The one mode claimed ('major', 'minor', 'dorian', ...), else None."""
        return self._remembered(
            "mode", lambda: _single(MODE_EQUIVALENT.get(c.mode, c.mode) for c in self.keys if c.mode))

    @property
    def meter_options(self) -> frozenset[str] | None:
        """Time signatures every meter claim allows; None when no meter is claimed."""
        return self._remembered("meter_options", self._meter_options)

    def _meter_options(self) -> frozenset[str] | None:
        if not self.meters:
            return None
        options = frozenset(self.meters[0].meters)
        for claim in self.meters[1:]:
            options &= frozenset(claim.meters)
        return options

    @property
    def bars(self) -> int | None:
        return self._remembered("bars", lambda: _single(
            c.count for c in self.lengths if c.unit == "bars" and c.relation == "=="))

    @property
    def notes(self) -> int | None:
        return self._remembered("notes", lambda: _single(
            c.count for c in self.lengths if c.unit == "notes" and c.relation == "=="))

    @property
    def tempo(self) -> str | None:
        return self._remembered("tempo", lambda: _single(c.tempo for c in self.tempos if c.tempo))

    def all(self) -> list[KeyClaim | MeterClaim | TempoClaim | LengthClaim]:
        """Every claim, in prompt order."""
        claims: list[KeyClaim | MeterClaim | TempoClaim | LengthClaim] = [
            *self.keys, *self.meters, *self.tempos, *self.lengths]
        return sorted(claims, key=lambda c: c.start)


def _single(values):
    found = set(values)
    return found.pop() if len(found) == 1 else None


def _tonic_pc(letter: str, acc: str | None) -> int:
    name = fold((acc or "").strip(" -"))
    return (LETTER_PC[letter.lower()] + ACCIDENTAL_SHIFT[name]) % 12


def _is_article(prompt: str, m: re.Match[str]) -> bool | None:
    """For 'a minor' / 'A major': True = article, False = key, None = can't tell."""
    letter = m.group("letter")
    if letter not in "aA" or m.group("acc") or m.group("sep") == "-":
        return False
    if fold(m.group("mode")[0]) in "aeiou":  # "a aeolian" would be "an aeolian"
        return False
    if letter == "A" and not _SENTENCE_START.search(prompt[:m.start()]):
        return False
    nxt = _NEXT_WORD.match(prompt, m.end())
    if nxt is None or (nxt.group(1) != "-" and nxt.group(2).lower() in CONNECTORS):
        return False
    if nxt.group(2).lower() in _KEY_NOUNS:
        return True
    return None


_INSTRUMENT_IN = re.compile(r"(?:" + "|".join(INSTRUMENTS) + r")s?\s+in\s+(?:the\s+key\s+of\s+)?$")


def _instrument_near(prompt: str, start: int, end: int) -> bool:
    before = prompt[max(0, start - 24):start].lower()
    after = prompt[end:end + 16].lower().lstrip()
    return after.startswith(INSTRUMENTS) or _INSTRUMENT_IN.search(before) is not None


def _key_claims(prompt: str) -> tuple[list[KeyClaim], list[Ambiguity]]:
    claims: list[KeyClaim] = []
    ambiguous: list[Ambiguity] = []
    for m in FULL_KEY.finditer(prompt):
        article = _is_article(prompt, m)
        if _instrument_near(prompt, m.start(), m.end()):
            continue
        mode = fold(m.group("mode"))
        claim = KeyClaim(m.start(), m.end(), m.group(0), _tonic_pc(m.group("letter"), m.group("acc")),
                         MODE_EQUIVALENT.get(mode, mode) if mode in ("maj", "min") else mode)
        if article is None:
            ambiguous.append(Ambiguity(m.start(), m.end(), m.group(0),
                                       f"'{m.group(0)}' may be a key or an article with a mode word",
                                       "key", claim.key))
        elif article is False:
            claims.append(claim)
    for pattern, group in ((TONIC_AFTER, "tonic"), (BARE_TONIC, 0)):
        for m in pattern.finditer(prompt):
            start, end = m.span(group)
            rest = prompt[end:end + 12].lower().lstrip()
            if (overlaps(claims, start, end) or rest.startswith(SECTION_NOUNS)
                    or _instrument_near(prompt, start, end)):
                continue
            claims.append(KeyClaim(start, end, m.group(group),
                                   _tonic_pc(m.group("letter"), m.group("acc")), None))
    for m in MODE_ONLY.finditer(prompt):
        name = m.lastgroup or "mode"
        start, end = m.span(name)
        if not overlaps(claims, start, end):
            claims.append(KeyClaim(start, end, m.group(name), None, fold(m.group(name))))
    claims.sort(key=lambda c: c.start)
    return claims, ambiguous


@lru_cache(maxsize=4096)
def parse_claims(prompt: str) -> PromptClaims:
    """Every key, meter, tempo and length claim in ``prompt``, with spans."""
    keys, ambiguous = _key_claims(prompt)
    runs = letter_runs(prompt)
    lengths, more = length_claims(prompt, runs)
    return PromptClaims(
        keys=tuple(keys),
        meters=tuple(meter_claims(prompt, runs)),
        tempos=tuple(tempo_claims(prompt, runs)),
        lengths=tuple(lengths),
        ambiguous=tuple(sorted(ambiguous + more, key=lambda a: a.start)),
    )


def find_key_claims(prompt: str) -> list[KeyClaim]:
    """Every key claim (full keys, tonic only, mode only) in prompt order."""
    return list(parse_claims(prompt).keys)


@lru_cache(maxsize=4096)
def stated_key(prompt: str | None) -> Key | None:
    """The key the prompt claims, when it names exactly one (repeats of it allowed)."""
    return parse_claims(prompt).key if prompt else None


def rewrite_key(prompt: str, key: Key) -> str:
    """Make every key claim in ``prompt`` say ``key``, keeping all other words.

    A thin wrapper over ``prompt_rewrite.rewrite_claims``; raises ``RewriteError`` when
    the prompt cannot say ``key`` truthfully.
    """
    from .prompt_rewrite import rewrite_claims

    return rewrite_claims(prompt, key=key)
