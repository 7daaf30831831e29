"""Real melodies from music21's offline corpus, as ``augment.melody.Melody`` with labels.

Tests and benchmarks import this to get real music instead of made-up melodies:

- ``bach_chorales()``: the soprano (top line) of every Bach chorale in the corpus, labelled
  with (a) music21's default key analysis of the *full four-part score* and (b) the notated
  key signature plus final bass note (see ``LabelledMelody``);
- ``essen_songs()``: German folk songs of the Essen collection (monophonic);
- ``ryans_tunes()``: fiddle tunes from Ryan's Mammoth Collection (monophonic).

Parsing is slow (music21 needs ~50 ms per chorale, seconds per Essen book), so every
collection is parsed once and cached as JSON in ``cache_dir`` (the tests pass pytest's
cache directory) and in-process. The cache key includes music21's version.
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
    path = Path(cache_dir) / f"{name}-m21-{music21.__version__}-v{CACHE_FORMAT}.json" if cache_dir else None
    if path is not None and path.exists():
        return tuple(_decode(json.loads(path.read_text())))
    items = build()
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(json.dumps(_encode(items)))
        tmp.replace(path)
    return tuple(items)


def _satb(score: Any) -> list[Any]:
    """The four vocal parts of a chorale (instrument parts, often transposing, dropped)."""
    by_name = {(p.partName or "").strip().lower(): p for p in score.parts}
    voices = [by_name.get(v) for v in ("soprano", "alto", "tenor", "bass")]
    return [v for v in voices if v is not None] if all(voices) else list(score.parts)


def _build_chorales() -> list[LabelledMelody]:
    out = []
    for path in music21.corpus.getComposer("bach"):
        if not str(path).endswith(".mxl"):
            continue
        score = music21.corpus.parse(path)
        voices = _satb(score)
        if len(voices) < 4:
            continue
        melody = top_line(voices[0])
        if len(melody.notes) < 8:
            continue
        vocal = music21.stream.Score(voices)
        name = Path(str(path)).stem
        out.append(LabelledMelody(name, melody, _key_of(vocal.analyze("key")), _notated_key(vocal)))
    return out


def _monophonic(works: Iterable[Any]) -> list[LabelledMelody]:
    out = []
    for label, score in works:
        melody = top_line(score)
        if len(melody.notes) >= 8:
            out.append(LabelledMelody(label, melody, None, None))
    return out


def _build_essen() -> list[LabelledMelody]:
    def works() -> Iterable[tuple[str, Any]]:
        for book in ("altdeu10", "kinder0"):
            opus = music21.corpus.parse(f"essenFolksong/{book}")
            for i, score in enumerate(opus.scores):
                yield f"{book}#{i}", score

    return _monophonic(works())


def _build_ryans(limit: int = 80) -> list[LabelledMelody]:
    def works() -> Iterable[tuple[str, Any]]:
        folder = Path(str(music21.corpus.getWork("bach/bwv66.6"))).parent.parent / "ryansMammoth"
        for path in sorted(folder.glob("*.abc"))[:limit]:
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


def ryans_tunes(cache_dir: Path | None = None) -> tuple[LabelledMelody, ...]:
    """Fiddle tunes from the first 80 files of Ryan's Mammoth Collection, unlabelled."""
    return _cached("ryans", cache_dir, _build_ryans)
