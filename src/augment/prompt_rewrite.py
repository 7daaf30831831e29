"""Rewriting a prompt's claims so they tell the truth about a changed melody.

Only claims whose value changed are edited; every other character of the prompt stays.
A rewritten claim keeps the author's style ("E-flat" / "Eb" / "E♭", case, "8 bars" /
"eight bars") and the article before it is fixed ("an E-flat major theme" -> "a D major
theme"). The result is parsed again and must claim exactly the new values; a claim that
cannot be reworded truthfully ("waltz" for a melody now in 4/4) raises ``RewriteError``.
"""

from __future__ import annotations

import re
from functools import lru_cache

from .errors import AugmentError
from .prompt import KeyClaim, PromptClaims, Tonality, parse_claims
from .prompt_scan import Ambiguity, LengthClaim, MeterClaim, TempoClaim
from .prompt_words import (
    BEAT_CLASS_WORDS,
    CHURCH_MODES,
    MODE_EQUIVALENT,
    TEMPO_REPLACEMENTS,
    fix_article,
    match_case,
    number_words,
    spell_tonic,
)
from .theory import Key

TEMPO_CLASSES = ("slow", "moderate", "fast")
_METER = re.compile(r"(\d{1,2})/(\d{1,2})")
_KEY_STYLE = re.compile(
    r"(?P<letter>[A-Ga-g])(?P<acc>[ -](?i:flat|sharp)|b|[#♭♯])?(?P<sep>[ -]?)(?P<mode>[^\W\d_]+)?")
_SENTENCE_START = re.compile(r"(?:^|[.!?:;\"“(\[\n])\s*$")

Edit = tuple[int, int, str]


class RewriteError(AugmentError):
    """A claim in the prompt is false for the variant and cannot be reworded truthfully.

    ``reason`` is a one-line rejection reason, e.g. "reprompt: the prompt says 'waltz'
    (3/4) but the variant is in 4/4".
    """

    def __init__(self, reason: str):
        self.reason = f"reprompt: {reason}"
        super().__init__(self.reason)


def _same_mode(a: str, b: str) -> bool:
    return MODE_EQUIVALENT.get(a, a) == MODE_EQUIVALENT.get(b, b)


def _accidental_style(claims: PromptClaims) -> str:
    """'word' ("E-flat"), 'symbol' ("E♭") or 'ascii' ("Eb"), from the first spelled accidental."""
    for claim in claims.keys:
        m = _KEY_STYLE.fullmatch(claim.text)
        if m and m.group("acc"):
            acc = m.group("acc")
            return "word" if acc[0] in " -" else "symbol" if acc in "♭♯" else "ascii"
    return "ascii"


def _render_key(claim_text: str, target: Tonality, default_style: str, safe: bool, start: bool) -> str:
    """``target`` written the way ``claim_text`` was: letter case, accidental and mode word."""
    m = _KEY_STYLE.fullmatch(claim_text)
    if m is None:  # mode word alone ("minor key", "dorian")
        word = target.mode if target.mode in CHURCH_MODES else MODE_EQUIVALENT.get(target.mode, target.mode)
        return match_case(word, claim_text)
    tonic = spell_tonic(target.tonic, target.mode)
    letter, acc = tonic[0], tonic[1:]
    raw = m.group("acc") or ""
    style = ("word" if raw[:1] in (" ", "-") else "symbol" if raw in ("♭", "♯") else "ascii"
             ) if raw else default_style
    if acc and style == "word":
        word = "flat" if acc == "b" else "sharp"
        acc = (raw[0] if raw else "-") + (match_case(word, raw[1:]) if raw else word)
    elif acc and style == "symbol":
        acc = "♭" if acc == "b" else "♯"
    if m.group("letter").islower() and not (safe and letter == "A" and not acc):
        letter = letter.lower()
    if m.group("mode") is None:
        return letter + acc
    sep = m.group("sep")
    if safe and letter in "aA" and not acc and start:
        sep = "-"
    old_mode = m.group("mode")
    word = target.mode
    if old_mode.lower() in ("maj", "min") and word in ("major", "minor"):
        word = word[:3]
    return f"{letter}{acc}{sep}{match_case(word, old_mode)}"


def _key_edits(prompt: str, claims: PromptClaims, target: Tonality, safe: bool) -> list[Edit]:
    style = _accidental_style(claims)
    spans: list[KeyClaim | Ambiguity] = [*claims.keys, *(a for a in claims.ambiguous if a.kind == "key")]
    edits = []
    for claim in spans:
        start, end, text = claim.start, claim.end, claim.text
        if isinstance(claim, KeyClaim):
            same_tonic = claim.tonic is None or claim.tonic == target.tonic
            same_mode = claim.mode is None or _same_mode(claim.mode, target.mode)
        else:  # an ambiguous "A minor": rewrite it like a full key
            same_tonic = same_mode = claim.reading == target.key
        if same_tonic and same_mode:
            continue
        at_start = _SENTENCE_START.search(prompt[:start]) is not None
        edits.append((start, end, _render_key(text, target, style, safe, at_start)))
    return edits


def _beats(meter: str) -> int | None:
    num, den = (int(x) for x in meter.split("/"))
    if num in (2, 3, 4):
        return num
    if den >= 8 and num in (6, 9, 12):
        return num // 3
    return None


def _meter_edit(claim: MeterClaim, meter: str) -> Edit | None:
    if meter in claim.meters:
        return None
    num, den = meter.split("/")
    if claim.form == "numeric":
        return claim.start, claim.end, meter
    if claim.form == "words":
        sep = "-" if "-" in claim.text else " "
        new = f"{number_words(int(num))}{sep}{number_words(int(den))}"
        return claim.start, claim.end, match_case(new, claim.text.split(sep)[0])
    beats = _beats(meter)
    lowered = claim.text.lower()
    if claim.form == "beats" and beats:
        new = str(beats) if claim.text.isdigit() else match_case(number_words(beats), claim.text)
        return claim.start, claim.end, new
    if lowered in ("common time", "cut time") and meter in ("4/4", "2/2"):
        return claim.start, claim.end, match_case("common time" if meter == "4/4" else "cut time", claim.text)
    grouping = re.match(r"(?i:(compound )?(duple|triple|quadruple))", claim.text)
    if grouping and beats:
        compound = den == "8" and int(num) % 3 == 0
        word = ("compound " if compound else "") + BEAT_CLASS_WORDS[beats]
        return claim.start, claim.start + grouping.end(), match_case(word, claim.text)
    raise RewriteError(f"the prompt says '{claim.text}' ({' or '.join(claim.meters)}) "
                       f"but the variant is in {meter}")


def _count_edit(claim: LengthClaim, value: int) -> Edit | None:
    count = claim.count or 0
    holds = {"==": value == count, "~": value == count, "<=": value <= count,
             "<": value < count, ">=": value >= count, ">": value > count}[claim.relation]
    if holds:
        return None
    write = value + 1 if claim.relation == "<" else value - 1 if claim.relation == ">" else value
    m = re.fullmatch(r"(?P<num>\S+?)(?P<sep>\s*-\s*|\s+|)(?P<noun>[^\W\d_]+)", claim.text)
    assert m is not None
    num = str(write) if m.group("num").isdigit() else match_case(number_words(write), m.group("num"))
    noun = m.group("noun")
    if "-" not in m.group("sep"):
        base = noun[:-1] if noun.lower().endswith("s") else noun
        noun = base + match_case("s", base[-1]) if write != 1 else base
    return claim.start, claim.end, f"{num}{m.group('sep')}{noun}"


def _tempo_edit(claim: TempoClaim, tempo: str) -> Edit | None:
    if claim.tempo is None or claim.tempo == tempo:
        return None
    return claim.start, claim.end, match_case(TEMPO_REPLACEMENTS[claim.form][tempo], claim.text.split()[0])


def _apply(prompt: str, edits: list[Edit]) -> str:
    """Splice ``edits`` into ``prompt``, fixing an 'a'/'an' right before each new text."""
    out, last = [], 0
    for start, end, new in sorted(edits):
        out.append(prompt[last:start])
        if prompt[start:end] != new:
            out = [fix_article("".join(out), new)]
        out.append(new)
        last = end
    out.append(prompt[last:])
    return "".join(out)


def _problem(before: PromptClaims, claims: PromptClaims, key: Tonality | None, meter: str | None,
             bars: int | None, notes: int | None, tempo: str | None) -> str | None:
    """Why ``claims`` do not say exactly the given values, or None when they do.

    A prompt that stated one key (``before.key``) must still state one, the new one: as
    one tonic and one mode, and, for a major or minor key, in one claim naming both (a
    rewritten "C major" at the start of a sentence reads "A major", which may be an article
    and a mode word).
    """
    stated = (claims.tonic, claims.mode)
    if key and before.key is not None and (stated != (key.tonic, MODE_EQUIVALENT.get(key.mode, key.mode))
                                           or key.key is not None and claims.key != key.key):
        return f"the rewritten prompt no longer states {key.name} unambiguously"
    for c in claims.keys if key else ():
        assert key is not None
        if (c.tonic is not None and c.tonic != key.tonic) or (c.mode and not _same_mode(c.mode, key.mode)):
            return f"could not make '{c.text}' say {key.name}"
    for a in claims.ambiguous:
        if a.kind == "key" and key and a.reading != key.key:
            return f"'{a.text}' may be a key that is not {key.name}"
        value = bars if a.kind == "bars" else notes if a.kind == "notes" else None
        if value is not None and a.reading != value:
            return f"{a.reason} (the variant has {value} {a.kind})"
    for m in claims.meters if meter else ():
        if meter not in m.meters:
            return f"'{m.text}' does not say {meter}"
    for length in claims.lengths:
        value = bars if length.unit == "bars" else notes if length.unit == "notes" else None
        if value is not None and _count_edit(length, value) is not None:
            return f"'{length.text}' does not say {value} {length.unit}"
    for t in claims.tempos if tempo else ():
        if t.tempo and t.tempo != tempo:
            return f"'{t.text}' is not {tempo}"
    return None


def rewrite_claims(prompt: str, *, key: Key | Tonality | None = None, meter: str | None = None,
                   bars: int | None = None, notes: int | None = None, tempo: str | None = None) -> str:
    """``prompt`` with every claim about the given facts made true, all other words kept.

    Pass the variant's facts (None = leave that kind of claim alone): ``key`` a ``Key``
    or a ``Tonality`` (church modes), ``meter`` like "3/4", ``bars``/``notes`` counts,
    ``tempo`` 'slow'/'moderate'/'fast'. Claims already true are not touched. Raises
    ``RewriteError`` (an ``AugmentError``; its ``reason`` is a rejection reason) when a
    claim cannot be made true; ``AugmentError`` for a malformed meter or tempo value.
    """
    if meter is not None and not _METER.fullmatch(meter):
        raise AugmentError(f"meter {meter!r} is not a time signature like '3/4'")
    if tempo is not None and tempo not in TEMPO_CLASSES:
        raise AugmentError(f"tempo {tempo!r} is not one of {', '.join(TEMPO_CLASSES)}")
    target = Tonality.of(key) if key is not None else None
    out, problem = _rewrite(prompt, target, meter, bars, notes, tempo)
    if out is None:
        raise RewriteError(problem)
    return out


@lru_cache(maxsize=4096)
def _rewrite(prompt: str, target: Tonality | None, meter: str | None, bars: int | None,
             notes: int | None, tempo: str | None) -> tuple[str | None, str]:
    """(rewritten prompt, "") or (None, why not): pure, so cached; the variants of one seed
    share its prompt and ask for few distinct keys, meters and lengths."""
    claims = parse_claims(prompt)
    problem = None
    for safe in (False, True):
        edits: list[Edit] = _key_edits(prompt, claims, target, safe) if target else []
        if meter is not None:
            edits += [e for c in claims.meters if (e := _meter_edit(c, meter))]
        for length in claims.lengths:
            value = bars if length.unit == "bars" else notes if length.unit == "notes" else None
            if value is not None and (e := _count_edit(length, value)):
                edits.append(e)
        if tempo is not None:
            edits += [e for c in claims.tempos if (e := _tempo_edit(c, tempo))]
        out = _apply(prompt, edits)
        problem = _problem(claims, parse_claims(out), target, meter, bars, notes, tempo)
        if problem is None:
            return out, ""
    return None, problem or "rewrite failed"
