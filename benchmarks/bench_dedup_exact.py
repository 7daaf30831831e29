"""Exact dedup of a million candidates, as a run's main process meets it after the pool
(``dedup._dedup_exact`` with the fingerprint table and rows known): synthetic slim
examples of 500 seeds in shuffled memory order, 5% of them exact duplicates of another.

    python benchmarks/bench_dedup_exact.py --size 1000000
    python benchmarks/bench_dedup_exact.py --against /tmp/base     # a worktree: both, alternating

Each side runs in a fresh process (``--against``: the other checkout's ``src`` first on the
path) and prints the median and range of ``--repeat`` calls and a digest of the kept and
dropped ids (equal digests: the same answer).
"""

from __future__ import annotations

import argparse
import hashlib
import random
import subprocess
import sys
import time
from pathlib import Path

from checkouts import checkout_src, with_src_first  # (benchmarks/, the script's folder)

ROOT = Path(__file__).resolve().parent.parent


def one_side(size: int, repeat: int) -> None:
    import gc

    import numpy as np

    from augment import dedup
    from augment.example import Example, Message, Step
    from augment.pipeline import NO_MELODY

    rng = random.Random(0)
    messages = (Message("system", "s"), Message("user", "u"), Message("assistant", None))
    steps = (Step("transpose", (("semitones", 1),)),)
    examples = []
    for s in range(500):
        sid = "s" + hashlib.sha256(str(s).encode()).hexdigest()[:12]
        examples.append(Example(sid, messages, NO_MELODY, 2, sid, "seeds.jsonl:1"))
        for k in range(size // 500):
            vid = "v" + hashlib.sha256(f"{s}-{k}".encode()).hexdigest()[:15]
            examples.append(Example(vid, messages, NO_MELODY, 2, sid, "seeds.jsonl:1", sid, steps))
    rng.shuffle(examples)
    digests = bytearray()
    for i in range(len(examples)):
        same = i if rng.random() > 0.05 else rng.randrange(len(examples))
        digests += hashlib.blake2b(str(same).encode(), digest_size=dedup.DIGEST).digest()
    block = dedup.PrintBlock(bytes(digests), bytes(len(digests)), np.zeros(len(examples), dtype=np.int64))
    table = dedup.PrintTable(block, {e.id: i for i, e in enumerate(examples)})
    rows = np.arange(len(examples))
    gc.freeze()  # as a run leaves its candidates out of collections
    seconds = []
    for _ in range(repeat):
        start = time.perf_counter()
        kept, dropped, _, _ = dedup._dedup_exact(examples, table, rows)
        seconds.append(time.perf_counter() - start)
        answer = hashlib.sha256("".join([*(e.id for e in kept), *(e.id + r for e, r in dropped)])
                                .encode()).hexdigest()[:16]
        del kept, dropped
    seconds.sort()
    print(f"{dedup.__file__}: {len(examples):,} candidates, median {seconds[len(seconds) // 2]:.3f} s "
          f"(range {seconds[0]:.3f}-{seconds[-1]:.3f}), kept and dropped {answer}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--against", type=Path, metavar="DIR", help="another checkout")
    parser.add_argument("--pairs", type=int, default=2, help="fresh processes of each side")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        one_side(args.size, args.repeat)
        return
    sources = [ROOT / "src"]
    if args.against is not None:
        sources.insert(0, checkout_src(args.against))
    for _ in range(args.pairs):
        for src in sources:
            subprocess.run([sys.executable, __file__, "--one", "--size", str(args.size),
                            "--repeat", str(args.repeat)], env=with_src_first(src),
                           check=True)


if __name__ == "__main__":
    main()
