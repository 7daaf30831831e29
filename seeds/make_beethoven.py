"""Write seeds/beethoven.jsonl from the melodies listed below, deterministically.

Run ``python seeds/make_beethoven.py`` after editing; ``--check`` only verifies that the
file on disk is what this listing produces.

Notation (one token per note, ``|`` is a bar line):
    ``Eb5:8``   pitch name with octave (C4 = MIDI 60; ``#``/``b``/``##``/``bb``) and a
                duration as a Humdrum **kern reciprocal: 1 whole, 2 half, 4 quarter,
                8 eighth, 16 sixteenth, 32, 12 triplet eighth, 24 triplet sixteenth;
                each dot adds half of the previous value (``4.`` = 1.5 quarters).
    ``r:8``     a rest (written as pitch 0 in the JSONL, the dataset default).
Every seed names the meter it was written in; each bar must fill it, and a pickup is
allowed only when the last bar completes it. Durations in the JSONL are in quarter notes
(music21 quarterLength), the dataset default ``duration_unit = "quarter"``.
"""

from __future__ import annotations

import json
import re
import sys
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

BEETHOVEN = "You are a music generator inspired by Beethoven's sonatas."
FORMAT_AI = "You are a music AI that generates melodies in the melody_pitch_duration_data format."
ASSISTANT = ("You are a composer's assistant. Reply with one melody as "
             "melody_pitch_duration_data: [[MIDI pitch, duration in quarter notes], ...].")
CLASSICAL = ("You write piano melodies in the classical style of Beethoven. "
             "Answer only with melody_pitch_duration_data.")
PREFIX = "melody_pitch_duration_data:"
OUT = Path(__file__).with_name("beethoven.jsonl")


@dataclass(frozen=True)
class Seed:
    """One demonstration: the user's request and the melody that answers it truthfully.

    ``key`` and ``meter`` are what the melody was written in (checked here and listed in
    the README); ``source`` names work, movement and bars when the melody is a quotation.
    """

    user: str
    key: str
    meter: str | None
    notes: str
    system: str | None = BEETHOVEN
    source: str | None = None


_PITCH = re.compile(r"^([A-G])(##|bb|#|b)?(-?\d)$")
_LETTER = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
_ACC = {"": 0, "#": 1, "##": 2, "b": -1, "bb": -2}


def parse_pitch(name: str) -> int | None:
    """MIDI number of a pitch name (``B#4`` = 72, ``Cb5`` = 71); None for the rest ``r``."""
    if name == "r":
        return None
    m = _PITCH.match(name)
    if not m:
        raise ValueError(f"bad pitch {name!r}")
    return 12 * (int(m.group(3)) + 1) + _LETTER[m.group(1)] + _ACC[m.group(2) or ""]


def parse_duration(recip: str) -> Fraction:
    """Quarter notes of a kern reciprocal with dots: ``4.`` -> 3/2, ``12`` -> 1/3."""
    m = re.fullmatch(r"(\d+)(\.*)", recip)
    if not m:
        raise ValueError(f"bad duration {recip!r}")
    value = part = Fraction(4, int(m.group(1)))
    for _ in m.group(2):
        part /= 2
        value += part
    return value


def meter_quarters(meter: str) -> Fraction:
    beats, unit = meter.split("/")
    return Fraction(int(beats) * 4, int(unit))


def parse_notes(seed: Seed) -> list[tuple[int | None, Fraction]]:
    """The (pitch, quarters) pairs of a seed, after checking its bars against its meter."""
    bars: list[list[tuple[int | None, Fraction]]] = []
    for text in seed.notes.split("|"):
        if not text.strip():
            continue
        bar = []
        for token in text.split():
            name, _, recip = token.partition(":")
            bar.append((parse_pitch(name), parse_duration(recip)))
        bars.append(bar)
    if seed.meter is not None:
        full = meter_quarters(seed.meter)
        lengths = [sum((d for _, d in bar), Fraction(0)) for bar in bars]
        pickup = lengths[0] if lengths[0] < full else Fraction(0)
        middle = lengths[1:-1] if pickup else lengths[:-1]
        last = full - pickup
        if any(x != full for x in middle) or lengths[-1] != last or len(bars) < 2:
            raise ValueError(f"{seed.user!r}: bars {lengths} do not fill {seed.meter}")
    return [pair for bar in bars for pair in bar]


def format_pairs(pairs: list[tuple[int | None, Fraction]]) -> str:
    body = ", ".join(f"[{0 if p is None else p}, {float(d)!r}]" for p, d in pairs)
    return f"{PREFIX} [{body}]"


def to_line(seed: Seed) -> str:
    messages = [] if seed.system is None else [{"role": "system", "content": seed.system}]
    messages.append({"role": "user", "content": seed.user})
    messages.append({"role": "assistant", "content": format_pairs(parse_notes(seed))})
    return json.dumps({"messages": messages}, ensure_ascii=False)


def build_lines() -> list[str]:
    return [to_line(seed) for seed in SEEDS]


def main(argv: list[str]) -> int:
    text = "".join(line + "\n" for line in build_lines())
    if "--check" in argv:
        same = OUT.read_text(encoding="utf-8") == text
        print("up to date" if same else f"{OUT} differs from the listing; run without --check")
        return 0 if same else 1
    OUT.write_text(text, encoding="utf-8")
    print(f"wrote {text.count(chr(10))} seeds to {OUT}")
    return 0


# --- the listing ------------------------------------------------------------------
# Lines 1-3 are the three examples of the project brief, verbatim. Quotations name the
# work in the prompt and give work, movement and bars in ``source``; they were checked
# note for note against the Humdrum encodings of the sonatas by Craig Stuart Sapp
# (github.com/craigsapp/beethoven-piano-sonatas, after the Durand edition, ed. Dukas).
# Grace notes are left out; where a chord carries the melody, its top note is taken.

SEEDS: tuple[Seed, ...] = (
    # 1-3: the project brief's examples, exactly as given there.
    Seed("Generate a melody in C major.", "C major", None,
         "C4:8 D4:16 E4:16 F4:8 G4:8 A4:16 B4:16 C5:4"),
    Seed("Compose a short piece in A minor.", "A minor", None,
         "A3:8 B3:16 C4:16 D4:8 E4:8 F4:16 G4:16 A4:4"),
    Seed("Generate a short melody for me.", "C major", None,
         "C4:8 D4:16 E4:16 F4:8", system=FORMAT_AI),

    # --- quotations (checked against the score; see README) ---
    Seed("Play the rising 'Mannheim rocket' that opens Beethoven's Sonata in F minor, "
         "Op. 2 No. 1.", "F minor", "2/2",
         "C4:4 | F4:4 Ab4:4 C5:4 F5:4 | Ab5:4. G5:24 F5:24 E5:24 F5:4",
         source="Sonata No. 1 in F minor, Op. 2 No. 1, I. Allegro, bars 0-2 (upbeat to the "
                "downbeat of bar 2)"),
    Seed("Give me the opening theme of Beethoven's Sonata in C minor, Op. 10 No. 1 "
         "(Allegro molto e con brio, 3/4), first eight bars.", "C minor", "3/4",
         "C5:4. r:16 G4:16 Eb5:8. C5:16 | G5:8. Eb5:16 C6:8. G5:16 Eb6:4 | Eb6:4 r:4 C5:4 | "
         "C5:2 B4:4 | B4:4. r:16 B4:16 F5:8. D5:16 | B5:8. F5:16 D6:8. B5:16 F6:4 | "
         "F6:4 r:4 D5:4 | D5:2 C5:4",
         source="Sonata No. 5 in C minor, Op. 10 No. 1, I. Allegro molto e con brio, bars 1-8 "
                "(top note of the chords)"),
    Seed("Play the Adagio cantabile melody from Beethoven's Pathétique Sonata, Op. 13, "
         "the way it returns an octave higher (A-flat major).", "Ab major", "2/4",
         "C5:4 Bb4:4 | Eb5:4. Db5:8 | C5:8 Eb5:8 Ab5:8 Bb5:8 | Eb5:4. E5:8 | "
         "F5:4 Bb4:8. C5:32 Db5:32 | Eb5:4 A4:4 | Db5:4 C5:16 Bb4:16 Ab4:16 G4:16 | "
         "Bb4:4 Ab4:8 r:8",
         source="Sonata No. 8 in C minor 'Pathétique', Op. 13, II. Adagio cantabile, bars 9-16 "
                "(the upper-octave statement; the rest closes bar 16 where the next upbeat "
                "begins)"),
    Seed("What is the Rondo theme of the Pathétique Sonata (Op. 13, C minor)? Write out its "
         "first phrase.", "C minor", "2/2",
         "G4:8 C5:8 D5:8 | Eb5:4. F5:8 D5:4. Eb5:8 | C5:2 C5:8 B4:8 C5:8 D5:8 | "
         "Eb5:8 D5:8 Eb5:8 F5:8 G5:4 G5:4 | G5:2. F5:8 G5:8 | Ab5:2 D5:4 Eb5:8 F5:8 | "
         "G5:2 C5:4 C5:8 D5:8 | Eb5:4 Eb5:8 F5:8 D5:4 D5:8 Eb5:8 | C5:4 r:4.",
         source="Sonata No. 8 in C minor 'Pathétique', Op. 13, III. Rondo: Allegro, bars 0-8 "
                "(grace notes omitted)"),
    Seed("Write out the Tempo di Menuetto theme of Beethoven's Sonata in G major, Op. 49 "
         "No. 2, in 3/4.", "G major", "3/4",
         "G4:8. F#4:16 | F#4:2 F#4:8. G4:16 | G4:2 G4:8. B4:16 | D5:4. E5:8 D5:8 C5:8 | "
         "B4:4 G4:8 r:8 G4:8. F#4:16 | F#4:2 F#4:8. G4:16 | G4:2 G4:8. B4:16 | "
         "D5:4. C#5:8 C5:8 A4:8 | G4:4 r:4",
         source="Sonata No. 20 in G major, Op. 49 No. 2, II. Tempo di Menuetto, bars 0-8"),

    # --- C major ---
    Seed("Write an 8-bar minuet in C major, 3/4.", "C major", "3/4",
         "C5:4 E5:4 G5:4 | C6:2 B5:8 A5:8 | G5:4 F5:4 E5:4 | D5:2. | "
         "E5:4 G5:4 C6:4 | A5:4. G5:8 F5:4 | E5:4 D5:4 G4:4 | C5:2."),
    Seed("Rondo refrain in C major, Allegretto, 2/4 — something a pianist could whistle.",
         "C major", "2/4",
         "G4:8 | C5:8 E5:8 D5:8 C5:8 | G5:4 E5:8 C5:8 | D5:8 F5:8 E5:8 D5:8 | "
         "C5:8 B4:8 A4:8 G4:8 | F5:8 A5:8 G5:8 F5:8 | E5:8 G5:8 C6:8 E5:8 | "
         "D5:8 C5:8 B4:8 D5:8 | C5:4."),
    Seed("a lively hunting tune in C major in 6/8 please", "C major", "6/8",
         "C5:4 C5:8 E5:4 C5:8 | G5:4. G5:4 E5:8 | F5:4 D5:8 E5:4 C5:8 | D5:4. G4:4. | "
         "C5:4 C5:8 E5:4 G5:8 | C6:4. A5:4 F5:8 | E5:4 G5:8 D5:4 B4:8 | C5:2.",
         system=CLASSICAL),
    Seed("Write a 16-bar Adagio cantabile in C major, 4/4.", "C major", "4/4",
         "G4:4 C5:4 E5:4. D5:8 | D5:4 C5:8 B4:8 C5:2 | A5:4. G5:8 F5:4 E5:4 | E5:2 D5:2 | "
         "G4:4 D5:4 F5:4. E5:8 | E5:4 D5:8 C#5:8 D5:2 | B5:4. A5:8 G5:4 F5:4 | "
         "F5:4 E5:4 D5:2 | G4:4 C5:4 E5:4. D5:8 | D5:4 C5:8 B4:8 C5:2 | "
         "C6:4. B5:8 A5:4 G5:4 | F#5:4 G5:4 A5:2 | F5:4. E5:8 D5:4 C5:4 | "
         "A5:2 F5:4 D5:4 | C5:4 E5:4 D5:4 B4:4 | C5:1"),
    Seed("Give me 8 notes in C major, simple.", "C major", "4/4",
         "E5:4 G5:4 C6:4 G5:4 | F5:8 D5:8 B4:4 C5:2", system=FORMAT_AI),
    Seed("quick little C major tune for piano, 2/4", "C major", "2/4",
         "C5:8 E5:8 G5:8 E5:8 | F5:8 D5:8 B4:4 | C5:8 G5:8 A5:8 F5:8 | E5:8 D5:8 C5:4",
         system=None),

    # --- A minor ---
    Seed("i need a sad melody in a minor, something slow", "A minor", "3/4",
         "E5:2 C5:4 | B4:4. A4:8 G#4:4 | A4:4 C5:4 E5:4 | F5:2 E5:4 | "
         "D5:4. C5:8 B4:4 | C5:8 B4:8 A4:4 F5:4 | E5:4 D5:8 C5:8 B4:4 | A4:2."),
    Seed("Presto agitato in A minor, 2/4, starting with a rising arpeggio.", "A minor", "2/4",
         "A4:8 C5:8 E5:8 A5:8 | G#5:4 A5:4 | E5:16 F5:16 E5:16 D5:16 C5:8 B4:8 | A4:4 E4:4 | "
         "A4:8 C5:8 E5:8 A5:8 | C6:4 B5:8 A5:8 | G#5:8 A5:8 B5:8 G#5:8 | A5:4 A4:4"),
    Seed("Compose a 12-bar Allegro theme in A minor, 4/4, with running eighth notes.",
         "A minor", "4/4",
         "A4:8 B4:8 C5:8 D5:8 E5:4 A5:4 | G#5:8 A5:8 B5:8 G#5:8 E5:2 | "
         "F5:8 E5:8 D5:8 C5:8 B4:4 D5:8 B4:8 | C5:4 A4:4 E4:2 | "
         "A4:8 C5:8 E5:8 A5:8 C6:4 B5:8 A5:8 | G#5:4 B5:4 E5:2 | "
         "F5:8 D5:8 B4:8 G#4:8 A4:8 C5:8 E5:8 D5:8 | E5:2 E4:2 | "
         "A4:8 C5:8 E5:8 A5:8 F5:4 D6:8 F5:8 | E5:8 G#5:8 B5:8 E6:8 D6:4 C6:8 B5:8 | "
         "C6:8 A5:8 F5:8 D5:8 B4:4 C5:8 B4:8 | A4:1"),

    # --- G major ---
    Seed("Write a cheerful melody in G major.", "G major", "4/4",
         "G4:4 B4:8 D5:8 G5:4 F#5:8 E5:8 | D5:4 C5:8 B4:8 A4:2 | "
         "B4:4 D5:8 G5:8 B5:4 A5:8 G5:8 | F#5:4 E5:8 F#5:8 D5:2 | "
         "E5:4 C6:4 B5:8 A5:8 G5:8 F#5:8 | G5:4 D5:4 B4:4 G4:4 | "
         "C5:8 E5:8 D5:8 C5:8 B4:4 A4:4 | G4:1"),
    Seed("Give me a scherzo theme in G major, Allegro, 3/4.", "G major", "3/4",
         "D5:4 G5:4 B5:4 | A5:4 F#5:4 D5:4 | E5:8 F#5:8 G5:4 E5:4 | D5:2. | "
         "D5:4 G5:4 B5:4 | C6:4 A5:4 F#5:4 | G5:4 D5:4 F#5:4 | G5:2."),
    Seed("Compose a 16-bar rondo in G major, Allegro, 2/4.", "G major", "2/4",
         "B4:8 D5:8 G5:8 B5:8 | A5:8 F#5:8 D5:4 | C5:8 E5:8 A5:8 C6:8 | B5:8 G5:8 D5:4 | "
         "E5:8 G5:8 C6:8 G5:8 | D5:8 G5:8 B5:8 G5:8 | C5:8 A5:8 F#5:8 A4:8 | G4:4 D5:4 | "
         "D5:8 E5:16 F#5:16 G5:8 D5:8 | E5:8 F#5:16 G5:16 A5:8 E5:8 | "
         "F#5:8 G5:16 A5:16 B5:8 A5:8 | A5:4 D5:4 | B4:8 D5:8 G5:8 B5:8 | "
         "C6:8 A5:8 F#5:8 D5:8 | B4:8 G5:8 D5:8 F#5:8 | G5:4 G4:4"),
    Seed("G major pastorale, 6/8, Allegretto.", "G major", "6/8",
         "D5:4 B4:8 G4:4 B4:8 | D5:4 G5:8 G5:4. | F#5:8 E5:8 D5:8 C5:4 A4:8 | B4:4. D5:4. | "
         "E5:8 F#5:8 G5:8 A5:4 B5:8 | C6:4 A5:8 F#5:4 D5:8 | E5:8 C5:8 A4:8 F#4:4 A4:8 | G4:2.",
         system=ASSISTANT),
    Seed("a simple 4-bar melody in G major", "G major", "4/4",
         "D5:4 B4:8 G4:8 B4:4 D5:4 | G5:2 F#5:4 E5:4 | D5:4 C5:8 B4:8 A4:4 F#4:4 | G4:1",
         system=None),

    # --- E minor ---
    Seed("Generate a restless melody in E minor, 6/8, Presto.", "E minor", "6/8",
         "E5:8 F#5:8 G5:8 B5:4 G5:8 | F#5:8 E5:8 D#5:8 E5:4 B4:8 | "
         "C5:8 D5:8 E5:8 A5:4 G5:8 | F#5:4. B4:4. | E5:8 F#5:8 G5:8 B5:4 G5:8 | "
         "C6:8 B5:8 A5:8 G5:4 E5:8 | A5:8 F#5:8 D#5:8 B4:4 D#5:8 | E5:4. E4:4."),
    Seed("Slow, singing Adagio in E minor, four bars of 4/4.", "E minor", "4/4",
         "B4:2 E5:4. D#5:8 | E5:4 G5:4 F#5:4. E5:8 | C5:4 A4:4 B4:4 D#5:4 | E5:1"),
    Seed("Menuetto in E minor, 3/4, eight bars.", "E minor", "3/4",
         "E5:4 B4:4 G4:4 | E4:4. F#4:8 G4:4 | A4:4 C5:4 E5:4 | B4:2. | "
         "G5:4 E5:4 B4:4 | C5:4. B4:8 A4:4 | F#5:4 D#5:4 B4:4 | E5:2."),

    # --- D major ---
    Seed("Give me a cheerful rondo refrain in D major.", "D major", "2/4",
         "A4:8 | D5:8 F#5:8 A5:8 F#5:8 | G5:8 E5:8 C#5:8 A4:8 | B4:8 D5:8 G5:8 B5:8 | "
         "A5:4. A4:8 | D5:8 F#5:8 A5:8 D6:8 | C#6:8 B5:8 A5:8 G5:8 | "
         "F#5:8 A5:8 E5:8 C#5:8 | D5:4."),
    Seed("Write a stately minuet in D major with dotted rhythms, 8 bars of 3/4.",
         "D major", "3/4",
         "D5:4. E5:8 F#5:4 | A5:2 F#5:4 | G5:4. F#5:8 E5:4 | A4:2. | "
         "B4:4. C#5:8 D5:4 | G5:2 B5:4 | A5:4. G5:8 E5:4 | D5:2."),
    Seed("I'd like a fast, brilliant theme in D major — Presto, 4/4, with sixteenth-note runs.",
         "D major", "4/4",
         "D5:8 F#5:8 A5:8 D6:8 C#6:16 B5:16 A5:16 G5:16 F#5:16 E5:16 D5:16 C#5:16 | "
         "D5:4 A4:4 F#4:2 | "
         "G4:8 B4:8 D5:8 G5:8 F#5:16 E5:16 D5:16 C#5:16 B4:16 A4:16 G4:16 F#4:16 | "
         "E4:4 A4:4 C#5:2 | D5:8 F#5:8 A5:8 D6:8 B5:8 G5:8 E5:8 C#5:8 | "
         "D5:4 F#5:4 E5:4 C#5:4 | B4:8 G5:8 F#5:8 E5:8 D5:4 C#5:4 | D5:1"),

    # --- B minor ---
    Seed("Compose a melancholy melody in B minor, Andante, 3/4.", "B minor", "3/4",
         "F#5:2 D5:4 | B4:4. C#5:8 D5:4 | E5:2 G5:4 | F#5:2. | "
         "D5:2 B4:4 | G5:4. F#5:8 E5:4 | D5:4 C#5:4 A#4:4 | B4:2."),
    Seed("B minor, 6/8, Allegro agitato. Make it urgent.", "B minor", "6/8",
         "B4:8 D5:8 F#5:8 B5:4 A#5:8 | B5:8 F#5:8 D5:8 B4:4. | C#5:8 E5:8 G5:8 F#5:4 E5:8 | "
         "D5:4 C#5:8 F#5:4. | G5:8 F#5:8 E5:8 D5:4 B4:8 | E5:8 D5:8 C#5:8 B4:4 G5:8 | "
         "F#5:8 E5:8 D5:8 C#5:4 A#4:8 | B4:4. B3:4."),
    Seed("A short, sad phrase in B minor.", "B minor", "4/4",
         "B4:4 D5:4 F#5:2 | G5:4 E5:4 C#5:2 | D5:4. C#5:8 B4:4 A#4:4 | B4:1", system=FORMAT_AI),

    # --- A major ---
    Seed("Create a lyrical melody in A major.", "A major", "4/4",
         "E5:4. C#5:8 A4:4 C#5:4 | E5:4 A5:4 G#5:4 F#5:8 E5:8 | D5:4. F#5:8 B4:4 D5:4 | "
         "C#5:2 B4:2 | E5:4. C#5:8 A4:4 C#5:4 | F#5:4 A5:4 D6:4 B5:8 G#5:8 | "
         "C#5:4 B4:8 A4:8 E5:4 G#4:4 | A4:1"),
    Seed("Lively A major tune, Allegro vivace, 2/4.", "A major", "2/4",
         "A4:8 C#5:16 E5:16 A5:8 E5:8 | F#5:8 D5:8 B4:8 G#4:8 | A4:8 C#5:8 E5:8 C#5:8 | "
         "B4:4 E4:4 | A4:8 C#5:16 E5:16 A5:8 C#6:8 | B5:8 G#5:8 E5:8 D5:8 | "
         "C#5:8 E5:8 B4:8 G#4:8 | A4:4 A5:4"),
    Seed("Jolly jig in A major, 6/8, Allegro.", "A major", "6/8",
         "E5:8 A5:8 C#6:8 B5:4 A5:8 | G#5:8 A5:8 B5:8 E5:4. | F#5:8 D6:8 B5:8 G#5:4 E5:8 | "
         "A5:8 C#5:8 E5:8 A4:4. | D5:8 F#5:8 A5:8 C#5:4 E5:8 | B4:8 D5:8 G#5:8 A5:4. | "
         "F#5:8 D5:8 B4:8 E5:4 G#4:8 | A4:2.", system=CLASSICAL),
    Seed("Andante in A major, 3/4, with a dotted rhythm in the first bar.", "A major", "3/4",
         "C#5:4. D5:8 E5:4 | A5:2 E5:4 | F#5:4. E5:8 D5:4 | C#5:2 B4:4 | "
         "A4:4 C#5:8 E5:8 A5:4 | G#5:4 B5:4 D5:4 | C#5:4 B4:4 G#4:4 | A4:2."),

    # --- F# minor ---
    Seed("sad theme in F# minor, slow, 4/4, with sighing appoggiaturas", "F# minor", "4/4",
         "C#5:4 F#5:4 A5:4. G#5:8 | G#5:2 F#5:4 C#5:4 | D5:4. E5:8 F#5:4 B4:4 | A4:2 G#4:2 | "
         "A4:4 C#5:4 F#5:4 A5:4 | D6:2 C#6:4 B5:4 | A5:4 G#5:4 F#5:4 E#5:4 | F#5:1"),
    Seed("Scherzo in F# minor, Presto, 3/4.", "F# minor", "3/4",
         "C#5:4 F#5:4 A5:4 | G#5:4 F#5:4 E#5:4 | F#5:4 C#5:4 A4:4 | F#4:2. | "
         "C#5:4 F#5:4 A5:4 | B5:4 A5:4 G#5:4 | A5:4 G#5:4 E#5:4 | F#5:2."),
    Seed("Could you write a siciliano-style melody in F# minor? 6/8, not too fast.",
         "F# minor", "6/8",
         "C#5:4 F#5:8 A5:4 G#5:8 | F#5:8 E#5:8 F#5:8 C#5:4. | D5:4 B5:8 A5:4 G#5:8 | "
         "A5:8 G#5:8 F#5:8 E#5:4. | F#5:4 A5:8 C#6:4 A5:8 | B5:8 A5:8 G#5:8 F#5:4 D5:8 | "
         "C#5:8 B4:8 A4:8 G#4:4 E#4:8 | F#4:2."),

    # --- E major ---
    Seed("Please compose a gentle melody in E major.", "E major", "4/4",
         "B4:4 E5:4 G#5:4. F#5:8 | E5:4 D#5:8 E5:8 F#5:2 | G#5:4 A5:4 B5:4. G#5:8 | "
         "F#5:2 B4:2 | C#5:4 E5:4 A5:4. G#5:8 | G#5:4 F#5:4 E5:4 C#5:4 | "
         "B4:4 G#5:4 F#5:4 D#5:4 | E5:1"),
    Seed("Minuet in E major, 3/4, eight bars, graceful.", "E major", "3/4",
         "E5:4 G#5:4 B5:4 | B5:4. A5:8 G#5:4 | F#5:4 A5:4 C#6:4 | B5:2. | "
         "G#5:4 E5:4 C#5:4 | A4:4 C#5:4 A5:4 | G#5:4 F#5:4 D#5:4 | E5:2."),
    Seed("E major, 2/4, Allegro — bright and sparkling, start with a quick upward arpeggio.",
         "E major", "2/4",
         "B4:16 E5:16 G#5:16 B5:16 E6:8 B5:8 | C#6:8 A5:8 F#5:8 D#5:8 | "
         "E5:8 G#5:8 B5:8 G#5:8 | F#5:4 B4:4 | C#5:8 E5:8 A5:8 C#6:8 | "
         "B5:8 G#5:8 E5:8 G#5:8 | F#5:8 A5:8 D#5:8 F#5:8 | E5:4 E4:4"),

    # --- C# minor ---
    Seed("Brooding Adagio sostenuto in C# minor, 4/4.", "C# minor", "4/4",
         "C#5:2 E5:4. D#5:8 | D#5:2 C#5:2 | B#4:4 C#5:4 D#5:4 F#5:4 | E5:2 D#5:2 | "
         "E5:4 G#5:4 C#6:4. B5:8 | A5:4 F#5:4 D#5:4 B#4:4 | C#5:4 E5:8 D#5:8 B#4:4 G#4:4 | "
         "C#5:1"),
    Seed("c# minor, presto agitato, 2/4, lots of sixteenths", "C# minor", "2/4",
         "C#5:16 D#5:16 E5:16 G#5:16 C#6:8 G#5:8 | A5:8 F#5:8 D#5:8 B#4:8 | "
         "C#5:16 E5:16 G#5:16 C#6:16 E6:8 C#6:8 | B#5:4 G#5:4 | A5:8 C#6:8 F#5:8 A5:8 | "
         "D#5:8 F#5:8 B#4:8 D#5:8 | C#5:8 G#4:8 E5:8 D#5:8 | C#5:4 C#4:4", system=None),
    Seed("Write an 8-bar minuet in C# minor, 3/4.", "C# minor", "3/4",
         "C#5:4 E5:4 G#5:4 | A5:4. G#5:8 F#5:4 | E5:4 D#5:4 C#5:4 | G#4:2. | "
         "C#5:4 G#5:4 C#6:4 | B5:4. A5:8 G#5:4 | F#5:4 D#5:4 B#4:4 | C#5:2."),

    # --- B major ---
    Seed("Write a serene, hymn-like melody in B major, 4/4.", "B major", "4/4",
         "F#4:2 B4:2 | D#5:4 C#5:4 B4:2 | E5:4 D#5:4 C#5:4 B4:4 | A#4:2 F#4:2 | "
         "B4:2 D#5:2 | G#5:4 F#5:4 E5:2 | D#5:4 C#5:4 B4:4 A#4:4 | B4:1"),
    Seed("B major in 6/8, Andantino, flowing.", "B major", "6/8",
         "B4:8 C#5:8 D#5:8 F#5:4 D#5:8 | E5:4 C#5:8 A#4:4. | B4:8 D#5:8 F#5:8 B5:4 A#5:8 | "
         "G#5:4 F#5:8 C#5:4. | D#5:8 E5:8 F#5:8 G#5:4 E5:8 | F#5:4 D#5:8 B4:4 G#5:8 | "
         "F#5:8 E5:8 D#5:8 C#5:4 A#4:8 | B4:2.", system=ASSISTANT),
    Seed("Bouncy Allegro in B major, 2/4.", "B major", "2/4",
         "F#5:8 D#5:16 B4:16 F#5:8 D#5:16 B4:16 | C#5:8 E5:8 D#5:4 | "
         "G#5:8 E5:16 C#5:16 G#5:8 E5:16 C#5:16 | A#4:8 C#5:8 F#5:4 | "
         "B5:8 F#5:16 D#5:16 B4:8 D#5:8 | E5:8 G#5:8 C#5:8 E5:8 | D#5:8 F#5:8 A#4:8 C#5:8 | "
         "B4:4 B3:4"),

    # --- G# minor ---
    Seed("Write something dark and slow in G# minor, 3/4.", "G# minor", "3/4",
         "G#4:2 B4:4 | D#5:2 C#5:4 | B4:4. A#4:8 G#4:4 | F##4:2. | "
         "G#4:4 B4:4 D#5:4 | G#5:4. F#5:8 E5:4 | D#5:4 A#4:4 F##4:4 | G#4:2."),
    Seed("Allegro in G# minor, 4/4 — dramatic, with a rising broken chord at the start.",
         "G# minor", "4/4",
         "G#4:8 B4:8 D#5:8 G#5:8 F##5:4 G#5:4 | D#5:8 E5:8 D#5:8 C#5:8 B4:4 A#4:4 | "
         "B4:8 D#5:8 F#5:8 B5:8 A#5:4 B5:4 | F#5:8 G#5:8 F#5:8 E5:8 D#5:2 | "
         "E5:4 G#5:4 C#6:4 E5:4 | D#5:4 F##5:4 G#5:4 B4:4 | A#4:4 C#5:8 B4:8 A#4:4 F##4:4 | "
         "G#4:1"),
    Seed("tiny G# minor motif, four bars of 2/4", "G# minor", "2/4",
         "G#4:8 B4:8 D#5:8 G#5:8 | F##5:4 G#5:4 | E5:8 C#5:8 A#4:8 F##4:8 | G#4:2"),

    # --- F# major ---
    Seed("Compose a tender melody in F# major, Andante cantabile, 3/4.", "F# major", "3/4",
         "A#4:4. B4:8 C#5:4 | F#5:2 E#5:4 | D#5:4 C#5:4 B4:4 | A#4:2 G#4:4 | "
         "A#4:4 C#5:4 F#5:4 | A#5:4. G#5:8 F#5:4 | D#5:4 G#5:8 F#5:8 E#5:4 | F#5:2."),
    Seed("F# major, 6/8, lively and dancing.", "F# major", "6/8",
         "C#5:8 F#5:8 A#5:8 C#6:4 A#5:8 | B5:8 G#5:8 E#5:8 F#5:4. | "
         "D#5:8 F#5:8 B5:8 A#5:4 F#5:8 | G#5:4. C#5:4. | A#4:8 C#5:8 F#5:8 A#5:4 C#6:8 | "
         "D#6:4 B5:8 G#5:4 B5:8 | A#5:8 G#5:8 F#5:8 E#5:4 G#5:8 | F#5:2."),
    Seed("F# major in 2/4, Allegretto, like the refrain of a rondo", "F# major", "2/4",
         "F#5:8 C#5:8 A#4:8 C#5:8 | F#5:8 A#5:8 G#5:4 | E#5:8 G#5:8 C#6:8 B5:8 | "
         "A#5:8 G#5:8 F#5:4 | D#5:8 F#5:8 B5:8 D#6:8 | C#6:8 A#5:8 F#5:8 D#5:8 | "
         "C#5:8 F#5:8 E#5:8 G#5:8 | F#5:2", system=FORMAT_AI),

    # --- E-flat minor ---
    Seed("A brooding melody in E-flat minor, Adagio, 4/4.", "Eb minor", "4/4",
         "Eb5:2 Gb5:4. F5:8 | F5:2 Eb5:2 | Cb5:4 Bb4:4 Ab4:4 Gb4:4 | F4:2 Bb4:2 | "
         "Eb5:4 Gb5:4 Bb5:4. Ab5:8 | Gb5:4 F5:4 Eb5:4 D5:4 | Cb5:4 Bb4:4 Gb5:4 D5:4 | Eb5:1"),
    Seed("Eb minor, 2/4, Presto — quick and nervous.", "Eb minor", "2/4",
         "Eb5:8 Gb5:8 Bb5:8 Gb5:8 | Eb5:8 D5:8 Eb5:4 | Cb6:8 Bb5:8 Ab5:8 Gb5:8 | F5:4 Bb4:4 | "
         "Eb5:8 F5:8 Gb5:8 Ab5:8 | Bb5:8 Cb6:8 Bb5:8 Ab5:8 | Gb5:8 F5:8 Eb5:8 D5:8 | "
         "Eb5:4 Eb4:4"),
    Seed("Write a mournful 6/8 melody in E-flat minor.", "Eb minor", "6/8",
         "Bb4:8. Cb5:16 Bb4:8 Eb5:4 F5:8 | Gb5:4. F5:4. | Eb5:8. F5:16 Gb5:8 Ab5:4 Cb6:8 | "
         "Bb5:2. | Cb6:8. Bb5:16 Ab5:8 Gb5:4 Eb5:8 | Ab5:8. Gb5:16 F5:8 Gb5:4 Eb5:8 | "
         "Cb5:8. Bb4:16 Ab4:8 F4:4 D5:8 | Eb5:2.", system=CLASSICAL),

    # --- D-flat major ---
    Seed("A gentle, nocturne-like melody in D-flat major, Adagio, 4/4.", "Db major", "4/4",
         "Ab4:4 Db5:4 F5:4. Eb5:8 | Db5:4 C5:8 Db5:8 Eb5:2 | F5:4 Ab5:4 Gb5:4. F5:8 | "
         "F5:2 Eb5:2 | Bb5:4. Ab5:8 Gb5:4 F5:4 | Eb5:4 Gb5:4 F5:4 Db5:4 | "
         "Bb4:4 Eb5:4 Db5:4 C5:4 | Db5:1"),
    Seed("Minuet in Db major, 3/4.", "Db major", "3/4",
         "Db5:4 F5:4 Ab5:4 | Db6:2 C6:4 | Bb5:4 Ab5:4 Gb5:4 | F5:2 Eb5:4 | "
         "Db5:4 F5:4 Bb5:4 | Ab5:4. Gb5:8 F5:4 | Eb5:4 Ab4:4 C5:4 | Db5:2."),
    Seed("a short, sweet phrase in D-flat major", "Db major", "2/4",
         "Ab4:8 Db5:8 F5:8 Ab5:8 | Gb5:4 F5:4 | Eb5:8 Bb5:8 Ab5:8 C5:8 | Db5:2", system=None),
    Seed("Db major, 6/8, a barcarolle-like Andante.", "Db major", "6/8",
         "Ab4:8 Db5:8 F5:8 Ab5:4 F5:8 | Gb5:8 Eb5:8 C5:8 Db5:4. | Bb4:8 Db5:8 Gb5:8 Bb5:4 Gb5:8 | "
         "F5:4. Eb5:4. | F5:4 Ab5:8 Db6:4 C6:8 | Bb5:8 Ab5:8 Gb5:8 F5:4 Db5:8 | "
         "Eb5:8 Gb5:8 F5:8 Eb5:4 C5:8 | Db5:2."),

    # --- B-flat minor ---
    Seed("A funeral-march-like theme in b-flat minor, slow, 4/4, dotted rhythms.",
         "Bb minor", "4/4",
         "F4:4. F4:8 Bb4:4. Bb4:8 | Db5:2 C5:2 | Db5:4. C5:8 Bb4:4. A4:8 | Bb4:2 F4:2 | "
         "Gb4:4. Gb4:8 Bb4:4. Eb5:8 | Db5:4 C5:4 Bb4:4 Ab4:4 | Gb5:4. F5:8 Eb5:4 A4:4 | Bb4:1"),
    Seed("B-flat minor in 6/8, Allegro, restless.", "Bb minor", "6/8",
         "F4:8 Bb4:8 Db5:8 F5:4 Db5:8 | Eb5:8 C5:8 A4:8 Bb4:4. | Gb5:4 F5:8 Eb5:4 Db5:8 | "
         "C5:4. F4:4. | Bb4:8 Db5:8 F5:8 Bb5:4 Ab5:8 | Gb5:8 F5:8 Eb5:8 Db5:4 Bb4:8 | "
         "Gb4:8 Eb5:8 C5:8 A4:4 C5:8 | Bb4:2."),

    # --- A-flat major ---
    Seed("A-flat major, 6/8, Andante — something like a gentle boat song.", "Ab major", "6/8",
         "Eb5:4 C5:8 Ab4:4 C5:8 | Eb5:4. Ab5:4 G5:8 | F5:4 Db6:8 C6:4 Bb5:8 | Ab5:4. G5:4. | "
         "F5:4 Ab5:8 Db5:4 F5:8 | Eb5:4 Ab5:8 C5:4 Eb5:8 | Db5:8 C5:8 Bb4:8 G4:4 Bb4:8 | Ab4:2."),
    Seed("A graceful rondo refrain in A-flat major, Allegretto, 4/4.", "Ab major", "4/4",
         "Eb5:8 | Ab5:8. G5:16 F5:8 Eb5:8 Db5:8 C5:8 Bb4:8 Ab4:8 | G4:4 Bb4:4 Eb5:4. Eb5:8 | "
         "F5:8. Eb5:16 Db5:8 C5:8 Bb4:8 Ab4:8 G4:8 F4:8 | Eb4:4 G4:4 Bb4:4 Eb5:4 | "
         "Ab5:4. C6:8 Bb5:8 Ab5:8 G5:8 F5:8 | Eb5:4 Db5:4 C5:4 Bb4:4 | "
         "Ab4:8 C5:8 Eb5:8 Ab5:8 G5:4 Bb4:4 | Ab4:2.."),

    # --- F minor ---
    Seed("i need a sad melody in f minor", "F minor", "3/4",
         "C5:2 Ab4:4 | F4:4. G4:8 Ab4:4 | Db5:2 C5:4 | Bb4:4 Ab4:4 G4:4 | "
         "Ab4:4 C5:4 F5:4 | Ab5:4. G5:8 F5:4 | Db5:4 C5:4 E4:4 | F4:2.", system=None),
    Seed("Write an energetic Presto theme in F minor with a rising arpeggio, 2/4.",
         "F minor", "2/4",
         "F4:8 Ab4:8 C5:8 F5:8 | Ab5:4 G5:8 F5:8 | E5:8 G5:8 Bb5:8 Db6:8 | C6:4 Bb5:8 Ab5:8 | "
         "G5:8 F5:8 E5:8 F5:8 | Db5:8 Bb4:8 G4:8 E4:8 | F4:8 Ab4:8 G4:8 E4:8 | F4:2"),

    # --- E-flat major ---
    Seed("Write a slow, singing melody in E-flat major.", "Eb major", "4/4",
         "Bb4:4. C5:8 Bb4:4 Eb5:4 | G5:4. F5:8 Eb5:2 | Ab5:4. G5:8 F5:4 Eb5:4 | D5:2 Bb4:2 | "
         "C5:4 Ab5:4 G5:4. F5:8 | Eb5:4 G5:4 Bb5:4 Eb5:4 | Eb5:4 C5:4 Bb4:4 D5:4 | Eb5:1"),
    Seed("Heroic theme in Eb major, Allegro con brio, 3/4.", "Eb major", "3/4",
         "Bb4:4 Eb5:4. G5:8 | Bb5:2 Bb5:4 | C6:4. Bb5:8 Ab5:4 | G5:2 Eb5:4 | "
         "F5:4. G5:8 Ab5:4 | D5:4 Eb5:4 F5:4 | G5:4. F5:8 D5:4 | Eb5:2."),
    Seed("Write a playful 8-bar rondo tune in E-flat major, 2/4.", "Eb major", "2/4",
         "Bb4:8 | Eb5:8 G5:8 Bb5:8 G5:8 | F5:8 Ab5:8 G5:8 Eb5:8 | C5:8 Ab5:8 G5:8 F5:8 | "
         "Eb5:4 D5:8 Bb4:8 | Eb5:16 F5:16 G5:16 Ab5:16 Bb5:8 Eb6:8 | D6:8 C6:8 Bb5:8 Ab5:8 | "
         "G5:8 Bb5:8 F5:8 D5:8 | Eb5:4.", system=ASSISTANT),

    # --- C minor ---
    Seed("Compose something stormy in C minor, Allegro con brio.", "C minor", "4/4",
         "C4:8 Eb4:8 G4:8 C5:8 Eb5:4 D5:4 | C5:8 B4:8 C5:8 D5:8 Eb5:4 G5:4 | "
         "Ab5:4. G5:8 F5:4 Eb5:4 | D5:2 G4:2 | C5:8 Eb5:8 G5:8 C6:8 Eb6:4 D6:4 | "
         "C6:8 Bb5:8 Ab5:8 G5:8 F5:4 Eb5:4 | Ab5:4 F5:4 D5:4 B4:4 | C5:1"),
    Seed("c minor, 6/8, Presto. Think of a wild gigue.", "C minor", "6/8",
         "G4:8 C5:8 Eb5:8 G5:4 Eb5:8 | F5:8 Ab5:8 F5:8 D5:4 B4:8 | C5:8 Eb5:8 G5:8 C6:4 Bb5:8 | "
         "Ab5:4. G5:4. | F5:8 Ab5:8 C6:8 B5:4 G5:8 | Ab5:8 F5:8 D5:8 Eb5:4 C5:8 | "
         "F5:8 D5:8 B4:8 G4:4 B4:8 | C5:2.", system=None),

    # --- G minor ---
    Seed("Write a sonatina theme in G minor, Andante, 2/4.", "G minor", "2/4",
         "D5:8 | G5:8 Bb5:8 A5:8 G5:8 | F#5:4 G5:8 D5:8 | Eb5:8 C5:8 A4:8 Bb4:8 | A4:4. D5:8 | "
         "Bb4:8 D5:8 G5:8 Bb5:8 | A5:8 C6:8 F#5:8 A5:8 | G5:8 Bb4:8 A4:8 F#4:8 | G4:4."),
    Seed("Write a minuet in g minor, 3/4, eight bars.", "G minor", "3/4",
         "G4:4 Bb4:4 D5:4 | G5:4. F#5:8 G5:4 | Eb5:4 C5:4 A4:4 | D5:2. | "
         "Bb4:4 D5:4 G5:4 | C6:4. Bb5:8 A5:4 | Bb5:4 A5:4 F#5:4 | G5:2."),
    Seed("Write a stormy Presto in G minor, 4/4, with sixteenth-note figures.", "G minor", "4/4",
         "G4:16 Bb4:16 D5:16 G5:16 Bb5:8 G5:8 D5:8 Bb4:8 G4:4 | "
         "A4:16 C5:16 Eb5:16 F#5:16 A5:8 F#5:8 Eb5:8 C5:8 A4:4 | "
         "Bb4:8 D5:8 G5:8 Bb5:8 A5:8 G5:8 F#5:8 G5:8 | D5:2 D4:2 | "
         "Eb5:8 G5:8 C6:8 Eb6:8 D6:8 C6:8 Bb5:8 A5:8 | Bb5:8 G5:8 D5:8 Bb4:8 G4:4 Bb4:4 | "
         "C5:8 Eb5:8 A4:8 C5:8 F#4:8 A4:8 D5:8 F#5:8 | G5:2 G4:2"),

    # --- B-flat major ---
    Seed("Write a bright theme in B-flat major.", "Bb major", "4/4",
         "Bb4:4 F5:4 D5:8 F5:8 Bb5:8 F5:8 | G5:8 Eb5:8 C5:8 Eb5:8 D5:4 Bb4:4 | "
         "Eb5:4. G5:8 F5:4. D5:8 | C5:2 F4:2 | Bb4:4 F5:4 D5:8 F5:8 Bb5:8 D6:8 | "
         "C6:8 A5:8 F5:8 Eb5:8 D5:4 Bb4:4 | Eb5:4 C5:4 F5:4 A4:4 | Bb4:1"),
    Seed("Allegretto rondo in B-flat major, 6/8.", "Bb major", "6/8",
         "F5:4 D5:8 Bb4:4 D5:8 | F5:8 G5:8 A5:8 Bb5:4. | G5:4 Eb5:8 C5:4 Eb5:8 | D5:4. C5:4. | "
         "F5:4 D5:8 Bb4:4 D5:8 | G5:8 A5:8 Bb5:8 C6:4 A5:8 | Bb5:8 F5:8 D5:8 C5:4 A4:8 | Bb4:2."),
    Seed("Minuet in Bb major, 3/4.", "Bb major", "3/4",
         "F5:4 Bb5:4 D6:4 | C6:4. Bb5:8 A5:4 | Bb5:4 F5:4 D5:4 | C5:2. | "
         "Eb5:4 G5:4 Bb5:4 | A5:4 C6:4 Eb5:4 | D5:4 C5:4 A4:4 | Bb4:2.", system=FORMAT_AI),

    # --- F major ---
    Seed("Write a pastoral melody in F major in 6/8.", "F major", "6/8",
         "C5:4 F5:8 A5:4 G5:8 | F5:8 E5:8 F5:8 C5:4. | D5:4 Bb5:8 A5:4 G5:8 | G5:4. C5:4. | "
         "C5:4 F5:8 A5:4 C6:8 | D6:4 C6:8 Bb5:4 A5:8 | G5:8 A5:8 Bb5:8 E5:4 G5:8 | F5:2."),
    Seed("Short F major phrase, 4 bars, 4/4.", "F major", "4/4",
         "F4:4 A4:4 C5:4 F5:4 | E5:4. D5:8 C5:2 | Bb4:4 D5:8 Bb4:8 G4:4 E4:4 | F4:1"),
    Seed("Write a perky Allegro in F major in 2/4 time.", "F major", "2/4",
         "C5:8 F5:16 G5:16 A5:8 F5:8 | C6:8 A5:8 F5:4 | G5:8 E5:16 F5:16 G5:8 Bb5:8 | "
         "A5:4 F5:4 | D5:8 Bb5:16 A5:16 G5:8 F5:8 | E5:8 G5:16 F5:16 E5:8 D5:8 | "
         "C5:8 A5:8 G5:8 E5:8 | F5:4 F4:4"),

    # --- D minor ---
    Seed("Compose a stormy melody in D minor, Allegro, 4/4, opening with a rising arpeggio "
         "from the bass.", "D minor", "4/4",
         "A3:4 D4:8 F4:8 A4:4 D5:4 | F5:4. E5:8 D5:4 C#5:4 | D5:8 E5:8 F5:8 G5:8 A5:4 Bb5:4 | "
         "A5:4 G5:8 F5:8 E5:2 | F5:4 D5:4 Bb4:4 G4:4 | E4:4 A4:4 C#5:4 E5:4 | "
         "G5:4 F5:8 E5:8 F5:8 D5:8 C#5:4 | D5:1"),
    Seed("Andante in D minor, 3/4 — sighing figures, please.", "D minor", "3/4",
         "A4:2 D5:4 | F5:4. E5:8 D5:4 | C#5:4 D5:4 E5:4 | A4:2. | "
         "Bb4:4. A4:8 G4:4 | G5:4. F5:8 E5:4 | F5:8 E5:8 D5:4 C#5:4 | D5:2."),
    Seed("D minor, 6/8, Allegro — like a wild ride.", "D minor", "6/8",
         "D5:8 A4:8 D5:8 F5:4 D5:8 | C#5:8 E5:8 G5:8 Bb5:4. | A5:8 G5:8 F5:8 E5:4 D5:8 | "
         "C#5:4. A4:4. | D5:8 F5:8 A5:8 D6:4 C6:8 | Bb5:8 A5:8 G5:8 F5:4 E5:8 | "
         "F5:8 D5:8 Bb4:8 A4:4 C#5:8 | D5:2."),
    Seed("Write a two-bar motif in D minor, 4/4.", "D minor", "4/4",
         "D5:4 F5:8 A5:8 D6:4 C#6:4 | Bb5:8 A5:8 G5:8 E5:8 D5:2", system=ASSISTANT),
)

if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
