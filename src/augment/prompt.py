"""Claims a user prompt makes about its melody, and rewriting them truthfully.

Only what is recognised is touched; unknown words are left alone, never guessed. A
rewrite keeps the author's own words and style ("E-flat major" stays spelled with a
word, "Eb" with a letter) and changes just the claim.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .theory import MAJOR_TONICS, MINOR_TONICS, Key, Mode

_LETTER_PC = {"c": 0, "d": 2, "e": 4, "f": 5, "g": 7, "a": 9, "b": 11}
_ACCIDENTAL_SHIFT = {"": 0, "b": -1, "♭": -1, "flat": -1, "#": 1, "♯": 1, "sharp": 1}

KEY_PATTERN = re.compile(
    r"(?<![\w#♯♭-])"
    r"(?P<letter>[A-Ga-g])"
    r"(?P<acc>(?:[ -](?:flat|sharp)\b)|[b#♭♯](?![a-z]))?"
    r"[ -]?(?P<mode>major|minor|Major|Minor|MAJOR|MINOR)\b"
)


@dataclass(frozen=True, slots=True)
class KeyClaim:
    """A key named in a prompt: where it is, what it says, and how it was written."""

    start: int
    end: int
    key: Key
    text: str


def _accidental_name(acc: str) -> str:
    return acc.strip(" -").lower() if acc else ""


def find_key_claims(prompt: str) -> list[KeyClaim]:
    claims = []
    for m in KEY_PATTERN.finditer(prompt):
        acc = _accidental_name(m.group("acc") or "")
        pc = (_LETTER_PC[m.group("letter").lower()] + _ACCIDENTAL_SHIFT[acc]) % 12
        mode: Mode = "major" if m.group("mode").lower() == "major" else "minor"
        claims.append(KeyClaim(m.start(), m.end(), Key(pc, mode), m.group(0)))
    return claims


def stated_key(prompt: str | None) -> Key | None:
    """The key the prompt claims, when it names exactly one (repeats of it allowed)."""
    if not prompt:
        return None
    keys = {c.key for c in find_key_claims(prompt)}
    return keys.pop() if len(keys) == 1 else None


def _render_key(key: Key, like: str) -> str:
    """Spell ``key`` in the style of the claim text ``like`` ("E-flat major", "c minor")."""
    m = KEY_PATTERN.fullmatch(like)
    assert m is not None
    tonic = (MAJOR_TONICS if key.mode == "major" else MINOR_TONICS)[key.tonic]
    letter, acc = tonic[0], tonic[1:]
    raw_acc = m.group("acc") or ""
    if acc:
        if raw_acc.startswith((" ", "-")):
            acc = raw_acc[0] + ("flat" if acc == "b" else "sharp")
        elif raw_acc in ("♭", "♯"):
            acc = "♭" if acc == "b" else "♯"
    if m.group("letter").islower():
        letter = letter.lower()
    between = like[m.end("acc") if m.group("acc") else m.end("letter"):m.start("mode")]
    word = m.group("mode")
    mode: str = key.mode
    if word.isupper():
        mode = mode.upper()
    elif word[0].isupper():
        mode = mode.capitalize()
    return f"{letter}{acc}{between}{mode}"


def rewrite_key(prompt: str, key: Key) -> str:
    """Replace every key claim in ``prompt`` by ``key``, keeping all other words."""
    out, last = [], 0
    for claim in find_key_claims(prompt):
        out.append(prompt[last:claim.start])
        out.append(_render_key(key, claim.text))
        last = claim.end
    out.append(prompt[last:])
    return "".join(out)
