"""Extract real melodies from music21's corpus into tests/data/corpus_melodies.jsonl.

Bach chorale sopranos and Essen folk songs (the 'han1' collection of Chinese Han songs), one JSON object a
line: {"source": ..., "pairs": [[pitch|null, "num/den"], ...]} with durations in quarter
notes on the 1/48 grid. Parsing the corpus is slow (minutes), so tests read this file.

    python benchmarks/make_corpus_fixture.py [--chorales 120] [--folk 400]
"""

from __future__ import annotations

import argparse
import json
from fractions import Fraction
from pathlib import Path

from music21 import corpus

OUT = Path(__file__).resolve().parent.parent / "tests" / "data" / "corpus_melodies.jsonl"


def top_line(score) -> list[list]:
    part = score.parts[0] if getattr(score, "parts", None) else score
    pairs: list[list] = []
    for n in part.stripTies().flatten().notesAndRests:
        ql = Fraction(n.quarterLength).limit_denominator(48)
        if ql <= 0 or (ql * 48).denominator != 1:
            continue
        if n.isRest:
            pitch = None
        elif n.isChord:
            pitch = max(p.midi for p in n.pitches)
        else:
            pitch = n.pitch.midi
        pairs.append([pitch, str(ql)])
    while pairs and pairs[0][0] is None:
        pairs.pop(0)
    while pairs and pairs[-1][0] is None:
        pairs.pop()
    return pairs


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--chorales", type=int, default=120)
    parser.add_argument("--folk", type=int, default=400)
    args = parser.parse_args()
    rows = []
    for path in sorted(corpus.getComposer("bach"), key=str)[: args.chorales]:
        pairs = top_line(corpus.parse(path))
        if len(pairs) >= 12:
            rows.append({"source": f"bach/{Path(path).stem}", "pairs": pairs})
    opus = corpus.parse("essenFolksong/han1")
    for i, score in enumerate(opus.scores[: args.folk]):
        pairs = top_line(score)
        if len(pairs) >= 12:
            rows.append({"source": f"essen/han1/{i}", "pairs": pairs})
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    print(f"{len(rows)} melodies -> {OUT}")


if __name__ == "__main__":
    main()
