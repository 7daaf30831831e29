"""Real melodies from music21's offline corpus, as ``augment.melody.Melody`` with labels.

Tests and benchmarks import this to get real music instead of made-up melodies:

- ``bach_chorales()``: the soprano (top line) of every Bach chorale in the corpus, labelled
  with (a) music21's default key analysis of the *full four-part score* and (b) the notated
  key signature plus final bass note (see ``LabelledMelody``);
- ``essen_songs()``: German folk songs of the Essen collection (monophonic);
- ``ryans_tunes()``: fiddle tunes from Ryan's Mammoth Collection (monophonic).

Parsing is slow (music21 needs ~50 ms per chorale, seconds per Essen book: ~2 minutes for
the collections on the slower machines, in every test process that needs them), so every
collection is parsed once and cached as JSON in ``cache_dir`` (the tests pass pytest's
cache directory) and in-process. The cache key includes music21's version. The parsed
collections of the music21 version the project is tested with are shipped in
``tests/data/music21_corpus`` (``python tests/corpus_util.py --ship`` writes them), so a
fresh checkout does not parse the corpus; ``tests/test_corpus_util.py`` parses a sample
of each live and compares it with them. Another music21 version parses its own.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from fractions import Fraction
from functools import cache
from pathlib import Path
from typing import Any

import music21

from augment.melody import Melody
from augment.theory import Key

CACHE_FORMAT = 1
SHIPPED = Path(__file__).resolve().parent / "data" / "music21_corpus"


@dataclass(frozen=True)
class LabelledMelody:
    """A real melody and what we know about its key.

    ``full_score_key``: music21's default ``analyze('key')`` (Aarden-Essen) of the whole
    score (all voices), or None for a monophonic source.
    ``notated_key``: the key signature read with the final bass note as tonic: the major
    key of the signature if the bass ends on its tonic, the relative minor if it ends on
    that tonic, else None (modal or half-cadence endings have no honest notated label).
    """

    name: str
    melody: Melody
    full_score_key: Key | None
    notated_key: Key | None


def _key_of(k: Any) -> Key:
    return Key(int(k.tonic.pitchClass), "minor" if k.mode == "minor" else "major")


def top_line(stream: Any) -> Melody:
    """The highest sounding note at each onset (skyline) of a part or score, rests between.

    Ties are merged first; a note's duration runs to the next onset or its own end,
    whichever is earlier, and a gap becomes a rest. Grace notes are skipped.
    """
    onsets: dict[Fraction, tuple[int, Fraction]] = {}
    for n in stream.stripTies().flatten().notes:
        length = Fraction(n.quarterLength)
        if length <= 0:
            continue
        onset = Fraction(n.offset)
        pitch = max(int(p.midi) for p in n.pitches)
        if onset not in onsets or pitch > onsets[onset][0]:
            onsets[onset] = (pitch, onset + length)
    pitches: list[int | None] = []
    durations: list[Fraction] = []
    times = sorted(onsets)
    for i, onset in enumerate(times):
        pitch, end = onsets[onset]
        nxt = times[i + 1] if i + 1 < len(times) else end
        pitches.append(pitch)
        durations.append(min(end, nxt) - onset)
        if end < nxt:
            pitches.append(None)
            durations.append(nxt - end)
    return Melody(tuple(pitches), tuple(durations))


def _notated_key(score: Any) -> Key | None:
    signatures = list(score.recurse().getElementsByClass("KeySignature"))
    bass = score.parts[-1].flatten().notes
    if not signatures or not bass:
        return None
    sig = signatures[0]
    final_pc = min(int(p.midi) for p in bass[-1].pitches) % 12
    major = sig.asKey("major").tonic.pitchClass
    minor = sig.asKey("minor").tonic.pitchClass
    if final_pc == major:
        return Key(final_pc, "major")
    if final_pc == minor:
        return Key(final_pc, "minor")
    return None


def _encode(items: Iterable[LabelledMelody]) -> list[dict[str, Any]]:
    def key(k: Key | None) -> list[Any] | None:
        return None if k is None else [k.tonic, k.mode]

    return [
        {
            "name": it.name,
            "pitches": list(it.melody.pitches),
            "durations": [str(d) for d in it.melody.durations],
            "full": key(it.full_score_key),
            "notated": key(it.notated_key),
        }
        for it in items
    ]


def _decode(rows: list[dict[str, Any]]) -> list[LabelledMelody]:
    def key(k: list[Any] | None) -> Key | None:
        return None if k is None else Key(int(k[0]), k[1])

    return [
        LabelledMelody(
            r["name"],
            Melody(tuple(r["pitches"]), tuple(Fraction(d) for d in r["durations"])),
            key(r["full"]),
            key(r["notated"]),
        )
        for r in rows
    ]


def _cached(name: str, cache_dir: Path | None, build: Callable[[], list[LabelledMelody]]
            ) -> tuple[LabelledMelody, ...]:
    return _cached_inproc(name, str(cache_dir) if cache_dir else "", build)


@cache
def _cached_inproc(name: str, cache_dir: str, build: Callable[[], list[LabelledMelody]]
                   ) -> tuple[LabelledMelody, ...]:
    shipped = SHIPPED / _file_name(name)
    if shipped.exists():
        return tuple(_decode(json.loads(shipped.read_text())))
    path = Path(cache_dir) / _file_name(name) if cache_dir else None
    if path is not None and path.exists():
        return tuple(_decode(json.loads(path.read_text())))
    items = build()
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(json.dumps(_encode(items)))
        tmp.replace(path)
    return tuple(items)


def _file_name(name: str) -> str:
    return f"{name}-m21-{music21.__version__}-v{CACHE_FORMAT}.json"


def _satb(score: Any) -> list[Any]:
    """The four vocal parts of a chorale (instrument parts, often transposing, dropped)."""
    by_name = {(p.partName or "").strip().lower(): p for p in score.parts}
    voices = [by_name.get(v) for v in ("soprano", "alto", "tenor", "bass")]
    return [v for v in voices if v is not None] if all(voices) else list(score.parts)


def chorale_paths() -> list[Any]:
    """The corpus's Bach chorale files (MusicXML), in the corpus's order."""
    return [path for path in music21.corpus.getComposer("bach") if str(path).endswith(".mxl")]


def _chorale(path: Any) -> LabelledMelody | None:
    """One chorale's soprano with both labels; None for a score without four voices or with
    a soprano of fewer than 8 notes."""
    score = music21.corpus.parse(path)
    voices = _satb(score)
    if len(voices) < 4:
        return None
    melody = top_line(voices[0])
    if len(melody.notes) < 8:
        return None
    vocal = music21.stream.Score(voices)
    return LabelledMelody(Path(str(path)).stem, melody, _key_of(vocal.analyze("key")), _notated_key(vocal))


def _build_chorales(paths: Iterable[Any] | None = None) -> list[LabelledMelody]:
    made = (_chorale(path) for path in (chorale_paths() if paths is None else paths))
    return [it for it in made if it is not None]


def _monophonic(works: Iterable[Any]) -> list[LabelledMelody]:
    out = []
    for label, score in works:
        melody = top_line(score)
        if len(melody.notes) >= 8:
            out.append(LabelledMelody(label, melody, None, None))
    return out


ESSEN_BOOKS = ("altdeu10", "kinder0")


def _essen_works(books: Iterable[str]) -> Iterable[tuple[str, Any]]:
    for book in books:
        opus = music21.corpus.parse(f"essenFolksong/{book}")
        for i, score in enumerate(opus.scores):
            yield f"{book}#{i}", score


def _build_essen(books: Iterable[str] = ESSEN_BOOKS) -> list[LabelledMelody]:
    return _monophonic(_essen_works(books))


def _build_essen_labelled(books: Iterable[str] = ESSEN_BOOKS) -> list[LabelledMelody]:
    return _signature_labelled(_essen_works(books))


def _signature_labelled(works: Iterable[tuple[str, Any]]) -> list[LabelledMelody]:
    """Songs labelled with their key signature read with the song's final note as tonic
    (``notated_key``); songs whose final note is neither the major nor the relative minor
    tonic of the signature (modal tunes) have no honest label and are left out."""
    out = []
    for label, score in works:
        melody = top_line(score)
        sigs = list(score.recurse().getElementsByClass("KeySignature"))
        if len(melody.notes) < 8 or not sigs:
            continue
        final = melody.notes[-1] % 12
        major = sigs[0].asKey("major").tonic.pitchClass
        minor = sigs[0].asKey("minor").tonic.pitchClass
        key = Key(final, "major") if final == major else Key(final, "minor") if final == minor else None
        if key is not None:
            out.append(LabelledMelody(label, melody, None, key))
    return out


def ryans_paths(limit: int = 80) -> list[Path]:
    """The first ``limit`` files of Ryan's Mammoth Collection in the corpus, by name."""
    folder = Path(str(music21.corpus.getWork("bach/bwv66.6"))).parent.parent / "ryansMammoth"
    return sorted(folder.glob("*.abc"))[:limit]


def _build_ryans(paths: Iterable[Path] | None = None) -> list[LabelledMelody]:
    def works() -> Iterable[tuple[str, Any]]:
        for path in ryans_paths() if paths is None else paths:
            parsed = music21.corpus.parse(path)
            scores = parsed.scores if hasattr(parsed, "scores") else [parsed]
            for i, score in enumerate(scores):
                yield f"{Path(str(path)).stem}#{i}", score

    return _monophonic(works())


def bach_chorales(cache_dir: Path | None = None) -> tuple[LabelledMelody, ...]:
    """Soprano lines of the four-part Bach chorales (about 400), with both labels."""
    return _cached("bach-chorales", cache_dir, _build_chorales)


def essen_songs(cache_dir: Path | None = None) -> tuple[LabelledMelody, ...]:
    """Essen folk songs from two books (altdeu10, kinder0), unlabelled."""
    return _cached("essen", cache_dir, _build_essen)


def essen_labelled(cache_dir: Path | None = None) -> tuple[LabelledMelody, ...]:
    """The same Essen books' songs with a notated key (``_build_essen_labelled``)."""
    return _cached("essen-labelled", cache_dir, _build_essen_labelled)


def ryans_tunes(cache_dir: Path | None = None) -> tuple[LabelledMelody, ...]:
    """Fiddle tunes from the first 80 files of Ryan's Mammoth Collection, unlabelled."""
    return _cached("ryans", cache_dir, _build_ryans)


# Each shipped collection: its name and how it is made.
COLLECTIONS: dict[str, Callable[[], list[LabelledMelody]]] = {
    "bach-chorales": _build_chorales,
    "essen": _build_essen,
    "essen-labelled": _build_essen_labelled,
    "ryans": _build_ryans,
}


def ship() -> None:
    """Parse every collection with the installed music21 and write it to ``SHIPPED``."""
    SHIPPED.mkdir(parents=True, exist_ok=True)
    for name, build in COLLECTIONS.items():
        path = SHIPPED / _file_name(name)
        path.write_text(json.dumps(_encode(build())))
        print(f"wrote {path}")


if __name__ == "__main__":
    import sys

    if sys.argv[1:] != ["--ship"]:
        sys.exit("usage: python tests/corpus_util.py --ship")
    ship()
