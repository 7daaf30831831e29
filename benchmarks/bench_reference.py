"""augment ``expand`` against a reference pipeline written the obvious way with music21.

The reference does what ``rules/default.toml`` asks (transposition by -7..+7 semitones
within MIDI 36-96, the key in the prompt rewritten, range / in-key / leap checks, exact
dedup, JSONL out), one variant at a time with music21: build a ``Stream`` per seed,
``Stream.transpose`` per variant, ``analyze('key')`` per variant (the ~25 ms step), the
scale of the found key for the in-key check. augment runs the full ``expand`` on the
same seeds and rules (every stage: facts, rules, re-prompting, all checks, dedup,
calibration, split, audit, write). Both are timed in this one run and compared per
written example; the reference runs on the first ``--ref-seeds`` seeds only.

A small run of augment is mostly fixed cost (interpreter work, calibration, the pool's
start). With ``--size N`` the same run also times augment at scale: ``bench_expand.py``'s
run of N examples (the 519 corpus seeds, ``rules/wide.toml``: every rule, so more work per
example than the reference's transpositions) in a fresh process with ``--workers``
(``--plain``: no timers), and compares its cost per written example with the reference's.

    python benchmarks/bench_reference.py [--ref-seeds 6]
    python benchmarks/bench_reference.py --ref-seeds 6 --size 100000 --workers 2
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import music21

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds" / "beethoven.jsonl"
RULES = ROOT / "rules" / "default.toml"
MELODY = re.compile(r"melody_pitch_duration_data:\s*(\[.*\])", re.S)
KEY_WORDS = re.compile(r"\b([A-G](?:-flat|-sharp|b|#)?)\s+(major|minor)\b", re.I)


def to_stream(pairs: list[list[float]]) -> music21.stream.Stream:
    s = music21.stream.Stream()
    for pitch, quarters in pairs:
        s.append(music21.note.Rest(quarterLength=quarters) if pitch == 0
                 else music21.note.Note(int(pitch), quarterLength=quarters))
    return s


def reference_expand(lines: list[str], out: Path, low: int = 36, high: int = 96) -> int:
    """The obvious music21 pipeline; returns the number of examples written."""
    seen: set[str] = set()
    written = 0
    with out.open("w", encoding="utf-8") as f:
        for line in lines:
            example = json.loads(line)
            messages = example["messages"]
            answer = messages[-1]["content"]
            pairs = json.loads(MELODY.search(answer).group(1))  # type: ignore[union-attr]
            seed_stream = to_stream(pairs)
            seed_key = seed_stream.analyze("key")
            midis = [p for p, _ in pairs if p]
            for k in range(-7, 8):
                if k == 0 or min(midis) + k < low or max(midis) + k > high:
                    continue
                variant = seed_stream.transpose(k)
                key = variant.analyze("key")
                notes = [n for n in variant.notesAndRests if n.isNote]
                scale = {p.pitchClass for p in key.getScale().getPitches()}
                in_key = sum(n.pitch.pitchClass in scale for n in notes) / len(notes)
                leaps = [abs(b.pitch.midi - a.pitch.midi) for a, b in zip(notes, notes[1:], strict=False)]
                if in_key < 0.7 or (leaps and max(leaps) > 16):
                    continue
                melody = [[0 if n.isRest else n.pitch.midi, float(n.quarterLength)]
                          for n in variant.notesAndRests]
                prompt = KEY_WORDS.sub(f"{key.tonic.name.replace('-', 'b')} {key.mode}",
                                       messages[-2]["content"])
                text = f"melody_pitch_duration_data: {json.dumps(melody)}"
                if text in seen:
                    continue
                seen.add(text)
                out_messages = [*messages[:-2], {"role": "user", "content": prompt},
                                {"role": "assistant", "content": text}]
                f.write(json.dumps({"messages": out_messages}) + "\n")
                written += 1
            del seed_key
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ref-seeds", type=int, default=6)
    parser.add_argument("--size", type=int, default=0,
                        help="also time augment writing this many examples (corpus seeds, wide.toml)")
    parser.add_argument("--workers", type=int, default=2, help="augment's workers for --size")
    args = parser.parse_args()
    from augment.config import load_config
    from augment.pipeline import expand

    lines = SEEDS.read_text(encoding="utf-8").splitlines()
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        ref_written = reference_expand(lines[:args.ref_seeds], Path(tmp) / "ref.jsonl")
        t_ref = time.perf_counter() - t
        t = time.perf_counter()
        result = expand([SEEDS], load_config(RULES), Path(tmp) / "augment")
        t_ours = time.perf_counter() - t
    ours_written = sum(result.counts[f"written_{s}"] for s in ("train", "validation", "test"))
    ref_per, ours_per = t_ref / ref_written, t_ours / ours_written
    print(f"music21 reference: {ref_written} examples from {args.ref_seeds} seeds in {t_ref:.2f} s "
          f"= {1e3 * ref_per:.2f} ms/example")
    print(f"augment expand ({RULES.name}): {ours_written} examples from {len(lines)} seeds in "
          f"{t_ours:.2f} s = {1e3 * ours_per:.3f} ms/example")
    print(f"ratio per example: {ref_per / ours_per:.0f}x")
    if args.size:
        at_scale = expand_at_scale(args.size, args.workers)
        scale_per = at_scale["seconds"] / at_scale["written"]
        print(f"augment expand (wide.toml, corpus seeds, --workers {args.workers}): "
              f"{at_scale['written']:,} examples in {at_scale['seconds']:.2f} s = "
              f"{1e3 * scale_per:.3f} ms/example")
        print(f"ratio per example at {at_scale['written']:,}: {ref_per / scale_per:.0f}x")


def expand_at_scale(size: int, workers: int) -> dict[str, object]:
    """``bench_expand.py``'s run of ``size`` examples (corpus seeds, ``--plain``), in a fresh
    process: its printed figures (``seconds``, ``written``, ...)."""
    script = Path(__file__).resolve().parent / "bench_expand.py"
    with tempfile.TemporaryDirectory(prefix="bench_reference_") as tmp:
        done = subprocess.run([sys.executable, str(script), "--one", "--plain", "--seeds", "corpus",
                               "--sizes", str(size), "--workers", str(workers),
                               "--out", str(Path(tmp) / "out")],
                              check=True, stdout=subprocess.PIPE, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    main()
