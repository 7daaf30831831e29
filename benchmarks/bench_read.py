"""The file commands' per-line steps, each against the way it replaced, in one process:
reading a melody text, parsing a line (with and without each shortcut), reading a file
(with and without the collector paused), ordering near neighbours and writing a rejects
record.

    python benchmarks/bench_read.py --size 20000      # ~1 min (makes its input once)
    python benchmarks/bench_read.py --input train.jsonl

The input is the first ``--size`` lines of the train split of an ``expand`` run of the
bundled seeds (``bench_dedup_file``'s file for 100k), unless ``--input`` names a file.
Prints microseconds a line (a melody, a record) for each way, best of ``--repeat``.
"""

from __future__ import annotations

import argparse
import gc
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from unittest.mock import patch

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))

import bench_dedup_file  # noqa: E402
from timing import best_of  # noqa: E402

from augment import codec, dataset_files, dedup, example  # noqa: E402
from augment.codec import FormatConfig, parse_line, parse_melody  # noqa: E402
from augment.dedup import PrintTable  # noqa: E402
from augment.limits import DEFAULT_LIMITS  # noqa: E402
from augment.output import dumps  # noqa: E402
from augment.pipeline import collection_paused  # noqa: E402
from dataset_util import lines_by_definition  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=20_000, help="lines of the input")
    parser.add_argument("--input", type=Path, default=None, help="a chat JSONL file instead")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench_read_") as tmp:
        source = args.input or bench_dedup_file.input_file(100_000, Path(tmp))
        lines = source.read_text(encoding="utf-8").splitlines()[:args.size]
        path = Path(tmp) / "lines.jsonl"
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        report(path, lines, args.repeat)


def report(path: Path, lines: list[str], repeat: int) -> None:
    fmt, n = FormatConfig(), len(lines)
    texts = [parse_line(x, fmt, "f", 1)[0].messages[-1].content for x in lines]  # type: ignore[union-attr]

    def per(seconds: float, count: int = n) -> str:
        return f"{seconds / count * 1e6:6.2f} us"

    no_plain_melody = patch.object(codec, "_plain_melody", lambda body, fmt, limits: None)
    no_plain_message = patch.object(codec, "_plain_message", lambda raw: None)
    # (a line's messages read one by one after a walk for its depth; its seed id's JSON by
    # the encoder: the ways the plain line and the written-out seed JSON replaced)
    no_plain_line = patch.object(codec, "_plain_messages", lambda data: None)
    encoded_seed_json = patch.object(example, "_seed_json", lambda messages: example._SEED_JSON.encode(
        [[m.role, m.content, list(m.extra)] for m in messages]))
    print(f"{n} lines of {path}")
    table = best_of(lambda: [parse_melody(t) for t in texts], repeat)
    with no_plain_melody:
        full = best_of(lambda: [parse_melody(t) for t in texts], repeat)
    print(f"melody text: table of pair texts {per(table)}, full reading {per(full)}")
    plain = best_of(lambda: [parse_line(x, fmt, "f", 1) for x in lines], repeat)
    with no_plain_line, encoded_seed_json:
        lines_apart = best_of(lambda: [parse_line(x, fmt, "f", 1) for x in lines], repeat)
    with no_plain_message:
        checked = best_of(lambda: [parse_line(x, fmt, "f", 1) for x in lines], repeat)
    with no_plain_message, no_plain_melody:
        neither = best_of(lambda: [parse_line(x, fmt, "f", 1) for x in lines], repeat)
    print(f"line: every shortcut {per(plain)}, without the plain line's and the seed id's (35th "
          f"round) {per(lines_apart)}, plain melody only {per(checked)}, neither {per(neither)}")

    def old_read() -> None:
        read = lines_by_definition(path, fmt, DEFAULT_LIMITS)  # line by line, as dedup read
        PrintTable.of([line.example for line in read if line.example is not None])

    def slim_read() -> None:
        dataset_files.read_parsed(path, fmt, slim=True)

    def paused(run: Callable[[], None]) -> Callable[[], None]:
        def inner() -> None:
            with collection_paused():
                run()
        return inner

    gc.collect()
    old, slim, slim_paused = (best_of(run, repeat) for run in (old_read, slim_read, paused(slim_read)))
    print(f"file, read and fingerprinted, one process: line by line + PrintTable.of {per(old)}, "
          f"read_parsed(slim) {per(slim)}, the same with the collector paused {per(slim_paused)}")

    rng = np.random.default_rng(0)
    m, classes = 2_000_000, 200_000
    i, j = rng.integers(0, classes, m), rng.integers(0, classes, m)
    keep = i < j
    codes = np.unique(i[keep] * classes + j[keep])
    i, j = codes // classes, codes % classes
    sim = 1 - rng.integers(0, 15, len(i)) / rng.integers(30, 60, len(i))
    this, other, how = np.r_[i, j], np.r_[j, i], np.r_[sim, sim]
    keyed = best_of(lambda: dedup._neighbour_order(this, other, how, sim), repeat)
    lexsorted = best_of(lambda: np.lexsort((other, -how, this)), repeat)
    print(f"near neighbours ordered ({len(this):,} entries): one int64 key {keyed:.2f} s, "
          f"np.lexsort {lexsorted:.2f} s")

    reason = "near_duplicate: edit similarity 0.788 to s01a09519451b (seed family s01a09519451b)"
    records = [{"source": f"{path}:{k}", "stage": "dedup", "id": "s3b080165ffda", "text": x,
                "reasons": [reason]} for k, x in enumerate(lines)]
    by_hand = best_of(lambda: [dataset_files._record_json(r) for r in records], repeat)
    encoded = best_of(lambda: [dumps(r) for r in records], repeat)
    print(f"rejects record: by hand {per(by_hand)}, output.dumps {per(encoded)}")


if __name__ == "__main__":
    main()
