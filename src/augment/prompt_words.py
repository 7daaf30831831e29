"""The words prompts use for keys, meters, tempi and lengths, and how to spell them back.

Plain data plus tiny spelling helpers; the parser (``prompt.py``) and the rewriter
(``prompt_rewrite.py``) share them so that whatever one writes the other reads.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from .theory import MAJOR_TONICS, MINOR_TONICS

LETTER_PC = {"c": 0, "d": 2, "e": 4, "f": 5, "g": 7, "a": 9, "b": 11}
ACCIDENTAL_SHIFT = {"": 0, "b": -1, "♭": -1, "flat": -1, "#": 1, "♯": 1, "sharp": 1}

# Church mode -> semitones from its parent major key's tonic up to the mode's tonic.
CHURCH_MODES = {"ionian": 0, "dorian": 2, "phrygian": 4, "lydian": 5,
                "mixolydian": 7, "aeolian": 9, "locrian": 11}
# The mode a church mode is the same scale as, for the major/minor key finder.
MODE_EQUIVALENT = {"ionian": "major", "aeolian": "minor", "maj": "major", "min": "minor"}
MODE_WORDS = ("major", "minor", "maj", "min", *CHURCH_MODES)

# Words after which "a minor" / "A major" still reads as a key ("in a minor, please").
CONNECTORS = frozenset(
    "and or with in for that which please using at on to but featuring starting ending "
    "where so as of by about over".split())
# Instruments named by their transposition ("Bb clarinet", "horn in F"): not the melody's key.
INSTRUMENTS = ("clarinet", "trumpet", "horn", "saxophone", "sax", "cornet", "flugelhorn",
               "tuba", "euphonium", "instrument", "alto", "tenor", "baritone", "soprano")
# Nouns after a bare tonic that make "in B" a section label, not a key.
SECTION_NOUNS = ("section", "part", "strain", "phrase", "theme", "melody", "tune", "episode")

# Time signatures a meter word allows; more than one means the prompt is ambiguous.
METER_NAMES: dict[str, tuple[str, ...]] = {
    "waltz": ("3/4",), "minuet": ("3/4",), "menuet": ("3/4",), "mazurka": ("3/4",),
    "polonaise": ("3/4",), "sarabande": ("3/4", "3/2"), "slip jig": ("9/8",),
    "jig": ("6/8",), "gigue": ("6/8", "12/8"), "tarantella": ("6/8",),
    "siciliana": ("6/8", "12/8"), "siciliano": ("6/8", "12/8"), "march": ("2/4", "4/4"),
    "polka": ("2/4",), "reel": ("4/4", "2/2"), "hornpipe": ("4/4", "2/4"),
    "gavotte": ("4/4", "2/2"), "bourrée": ("2/2", "4/4"), "bourree": ("2/2", "4/4"),
    "common time": ("4/4",), "cut time": ("2/2",), "alla breve": ("2/2",),
    "duple meter": ("2/4", "2/2", "6/8"), "triple meter": ("3/4", "3/8", "3/2"),
    "quadruple meter": ("4/4", "12/8"), "compound duple meter": ("6/8",),
    "compound triple meter": ("9/8",), "compound quadruple meter": ("12/8",),
}
# Meters "in two/three/four" (beats in a bar) can mean.
BEAT_METERS = {2: ("2/4", "2/2", "6/8"), 3: ("3/4", "3/8", "3/2", "9/8"), 4: ("4/4", "12/8")}
BEAT_CLASS_WORDS = {2: "duple", 3: "triple", 4: "quadruple"}

TEMPO_MARKS = {
    "grave": "slow", "largo": "slow", "larghetto": "slow", "lento": "slow", "adagio": "slow",
    "adagietto": "slow", "andante": "moderate", "andantino": "moderate",
    "moderato": "moderate", "allegretto": "moderate", "allegro": "fast", "vivace": "fast",
    "vivacissimo": "fast", "presto": "fast", "prestissimo": "fast",
}
TEMPO_PREFIXES = ("molto", "poco", "più", "piu", "meno", "assai")
TEMPO_SUFFIXES = ("ma non troppo", "ma non tanto", "assai", "molto", "con moto", "con brio",
                  "con spirito", "cantabile", "sostenuto", "giocoso", "moderato", "vivace",
                  "mosso", "maestoso")
# Plain tempo and character words; None = character only, no tempo implied.
TEMPO_WORDS: dict[str, str | None] = {
    "slow": "slow", "slowly": "slow", "unhurried": "slow", "leisurely": "slow",
    "languid": "slow", "stately": "slow", "moderate": "moderate", "moderately": "moderate",
    "mid-tempo": "moderate", "fast": "fast", "quick": "fast", "quickly": "fast",
    "rapid": "fast", "rapidly": "fast", "brisk": "fast", "briskly": "fast", "lively": "fast",
    "swift": "fast", "swiftly": "fast", "sprightly": "fast", "up-tempo": "fast",
    "uptempo": "fast",
    **dict.fromkeys(
        "gentle stormy dramatic lyrical singing cheerful graceful tender sad happy bright dark "
        "restless pastoral majestic playful calm peaceful energetic joyful melancholy "
        "mournful triumphant dreamy mysterious heroic solemn agitated serene wistful".split()),
}
TEMPO_ADVERBS = frozenset({"slowly", "moderately", "quickly", "rapidly", "briskly", "swiftly"})
# The word a rewrite writes for a tempo class, by the register the author used.
TEMPO_REPLACEMENTS = {
    "italian": {"slow": "Adagio", "moderate": "Andante", "fast": "Allegro"},
    "adjective": {"slow": "slow", "moderate": "moderate", "fast": "fast"},
    "adverb": {"slow": "slowly", "moderate": "moderately", "fast": "quickly"},
}

_UNITS = ("zero one two three four five six seven eight nine ten eleven twelve thirteen "
          "fourteen fifteen sixteen seventeen eighteen nineteen").split()
_TENS = "twenty thirty forty fifty sixty seventy eighty ninety".split()
NUMBER_WORD_PATTERN = (
    r"(?:(?:" + "|".join(_TENS) + r")(?:-(?:" + "|".join(_UNITS[9:0:-1]) + r"))?|"
    + "|".join(sorted(_UNITS[1:], key=len, reverse=True)) + r")"
)
NUMBER_PATTERN = r"(?:\d{1,3}|(?i:" + NUMBER_WORD_PATTERN + r"))"


def initials(words: Iterable[str], also: str = "") -> str:
    """A lookahead to put before a pattern that starts with one of ``words`` (any case):
    it admits only a character one of them begins with (or one of the class ``also``), so
    the regex engine passes over every other position at once instead of trying each word
    there. It refuses no match: the pattern finds exactly what it finds without it."""
    letters = sorted({re.escape(word[0].lower()) for word in words})
    return f"(?=(?i:[{also}{''.join(letters)}]))"


NUMBER_INITIALS = initials([*_UNITS, *_TENS], also=r"\d")  # of a NUMBER_PATTERN


# Letters Python's case-insensitive patterns match for ASCII ones: the dotted and dotless
# i, the long s and the Kelvin sign ("ſlow" is found as "slow"). ``fold`` maps them back, so
# that a word a pattern found is found in the word lists too.
_ASCII_FOLDS = str.maketrans({"\u0130": "i", "\u0131": "i", "\u017f": "s", "\u212a": "k"})


def fold(text: str) -> str:
    """``text`` lower-cased as the scanners' case-insensitive patterns compare it."""
    return text.lower() if text.isascii() else text.translate(_ASCII_FOLDS).lower()


def parse_number(text: str) -> int | None:
    """'8' -> 8, 'Eight' -> 8, 'twenty-four' -> 24; anything else -> None."""
    if text.isdigit():
        return int(text)
    word = fold(text)
    if word in _UNITS:
        return _UNITS.index(word)
    tens, _, unit = word.partition("-")
    if tens in _TENS and (not unit or unit in _UNITS[1:10]):
        return 20 + 10 * _TENS.index(tens) + (_UNITS.index(unit) if unit else 0)
    return None


def number_words(n: int) -> str:
    """0-99 in words ('twenty-four'); larger numbers as digits."""
    if 0 <= n < 20:
        return _UNITS[n]
    if 20 <= n < 100:
        tens, unit = divmod(n, 10)
        return _TENS[tens - 2] + (f"-{_UNITS[unit]}" if unit else "")
    return str(n)


def match_case(word: str, like: str) -> str:
    """``word`` in the case pattern of ``like``: 'MAJOR', 'Major' or 'major'."""
    if like.isupper() and len(like) > 1:
        return word.upper()
    if like[:1].isupper():
        return word[:1].upper() + word[1:]
    return word.lower() if like.islower() else word


def article_for(word: str) -> str:
    """'a' or 'an' before ``word`` by its sound: 'an E-flat', 'an 8-bar', 'a one-bar'."""
    m = re.match(r"\d+", word)
    if m:
        digits = m.group(0)
        return "an" if digits.startswith("8") or digits in ("11", "18") else "a"
    if re.match(r"[A-Ga-g](?:$|[^a-z]|b\b|b-|maj|min)", word) or len(word) == 1:
        return "an" if word[0].lower() in "aefhlmnorsx" else "a"
    low = word.lower()
    if low.startswith(("one", "uni", "use", "usu", "eu")):
        return "a"
    return "an" if low[:1] in "aeiou" else "a"


FLAT_TONICS = ("C", "Db", "D", "Eb", "E", "F", "Gb", "G", "Ab", "A", "Bb", "B")
SHARP_TONICS = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")


_ARTICLE_BEFORE = re.compile(r"(?<![\w'’-])(?P<art>a|an|A|An|AN)(?P<gap>\s+)$")


def fix_article(head: str, word: str) -> str:
    """``head`` with a trailing 'a'/'an' made right for the ``word`` that follows it."""
    m = _ARTICLE_BEFORE.search(head)
    if m is None:
        return head
    return head[:m.start()] + match_case(article_for(word), m.group("art")) + m.group("gap")


def spell_tonic(tonic: int, mode: str | None) -> str:
    """Conventional spelling of a tonic pitch class in a mode: 'Eb' major, 'C#' minor, 'Eb' dorian.

    Major and minor follow ``theory``'s key names; a church mode takes the accidentals
    of its parent major key (E-flat dorian is in D-flat major's scale, so flats).
    """
    if mode in ("minor", "aeolian", "min"):
        return MINOR_TONICS[tonic]
    if mode in CHURCH_MODES:
        parent = MAJOR_TONICS[(tonic - CHURCH_MODES[mode]) % 12]
        return (FLAT_TONICS if "b" in parent or parent == "F" else SHARP_TONICS)[tonic]
    return MAJOR_TONICS[tonic]
