"""Key finding throughput: augment's batch ``detect_keys`` vs music21 ``analyze('key')``.

Both run in the same process on the same real melodies (Bach chorale sopranos, Essen folk
songs, Ryan's Mammoth fiddle tunes from music21's corpus). music21 gets each melody as a
ready-built Stream (its native input, construction not timed); augment starts from
``Melody`` objects (Fractions), so its figure includes the Fraction -> numpy conversion.
Also prints the accuracy figures of benchmarks/README.md.

    python benchmarks/bench_keys.py [--music21-sample 300] [--repeat 20]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import music21
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from augment.melody import Melody  # noqa: E402
from augment.theory import (  # noqa: E402
    NO_CADENCE,
    Key,
    KeyEstimate,
    MelodyArrays,
    detect_keys,
    histograms,
)
from corpus_util import bach_chorales, essen_songs, ryans_tunes  # noqa: E402


def to_stream(melody: Melody) -> music21.stream.Stream:
    s = music21.stream.Stream()
    for pitch, quarters in melody.pairs():
        s.append(music21.note.Rest(quarterLength=quarters) if pitch is None
                 else music21.note.Note(pitch, quarterLength=quarters))
    return s


def per_melody_seconds(fn, n: int, repeat: int) -> float:
    """Median wall time of ``repeat`` calls, per melody."""
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return float(np.median(times)) / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--music21-sample", type=int, default=300)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--cache", type=Path, default=ROOT / ".pytest_cache" / "d" / "augment-corpus")
    args = parser.parse_args()

    chorales = bach_chorales(args.cache)
    melodies = [c.melody for c in chorales] + [m.melody for m in essen_songs(args.cache)] \
        + [m.melody for m in ryans_tunes(args.cache)]
    notes = np.mean([len(m) for m in melodies])
    print(f"{len(melodies)} real melodies, {notes:.1f} events each on average")

    sample = melodies[:: max(1, len(melodies) // args.music21_sample)][: args.music21_sample]
    streams = [to_stream(m) for m in sample]
    t = time.perf_counter()
    theirs = [s.analyze("key") for s in streams]
    m21 = (time.perf_counter() - t) / len(streams)
    ours_sample = detect_keys(sample, cadence=NO_CADENCE)
    same = sum(e is not None and e.key == Key(k.tonic.pitchClass, k.mode)
               for e, k in zip(ours_sample, theirs, strict=True))

    batch = melodies * 10
    full = per_melody_seconds(lambda: detect_keys(batch), len(batch), args.repeat)
    arrays = per_melody_seconds(lambda: MelodyArrays.of(batch), len(batch), args.repeat)
    prebuilt = MelodyArrays.of(batch)
    numpy_only = per_melody_seconds(lambda: detect_keys_from(prebuilt), len(batch), args.repeat)
    float_loop = per_melody_seconds(
        lambda: np.vstack([m.pitch_class_histogram() for m in batch]), len(batch), max(3, args.repeat // 4))
    vectorised = per_melody_seconds(lambda: histograms(batch), len(batch), args.repeat)

    print(f"music21 analyze('key'), {len(streams)} melodies: {m21 * 1e3:.2f} ms/melody; "
          f"same key as ours (no cadence): {same}/{len(streams)}")
    print(f"augment detect_keys, batch of {len(batch)} Melody: {full * 1e6:.2f} us/melody "
          f"-> {m21 / full:,.0f}x music21")
    print(f"  of which Melody -> flat arrays: {arrays * 1e6:.2f} us; "
          f"scoring the arrays: {numpy_only * 1e6:.2f} us")
    print(f"histograms: per-melody float(Fraction) loop {float_loop * 1e6:.2f} us/melody, "
          f"batch bincount {vectorised * 1e6:.2f} us/melody")

    labelled = [c for c in chorales if c.full_score_key is not None]
    ests = detect_keys([c.melody for c in labelled])
    plain = detect_keys([c.melody for c in labelled], cadence=NO_CADENCE)
    for name, found in (("music21 default (Aarden, no cadence)", plain), ("augment detect_keys", ests)):
        acc = accuracy(found, [c.full_score_key for c in labelled])
        nota = [(e, c.notated_key) for e, c in zip(found, labelled, strict=True) if c.notated_key]
        acc2 = accuracy([e for e, _ in nota], [k for _, k in nota])
        print(f"{name}: {acc:.1%} of {len(labelled)} chorale sopranos = full-score key; "
              f"{acc2:.1%} of {len(nota)} = key signature + final bass")
    for profile in ("krumhansl", "temperley", "bellman"):
        found = detect_keys([c.melody for c in labelled], profile)
        plain_p = detect_keys([c.melody for c in labelled], profile, NO_CADENCE)
        labels = [c.full_score_key for c in labelled]
        print(f"  {profile}: {accuracy(plain_p, labels):.1%} -> {accuracy(found, labels):.1%} with cadence")


def accuracy(found: list[KeyEstimate | None], labels: list[Key | None]) -> float:
    return float(np.mean([e is not None and e.key == k for e, k in zip(found, labels, strict=True)]))


def detect_keys_from(arrays: MelodyArrays) -> None:
    """The numpy part of detect_keys (scores + ranking) on prebuilt arrays."""
    from augment.theory import key_scores, rank_keys

    _, score = key_scores(arrays)
    rank_keys(score)


if __name__ == "__main__":
    main()
