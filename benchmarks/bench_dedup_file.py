"""``augment dedup`` and ``augment split`` of an existing file, on the command line, with
each ``--workers`` value asked, runs alternating, each a fresh process.

The file is the train split of an ``augment expand`` run of the bundled seeds with
``rules/wide.toml`` (``bench_expand``'s config for ``--size`` examples, 2 workers), made
once under ``--keep`` (default: a temporary folder): real variants, near-duplicate-rich, with
no lineage, so every line is its own tune and calibration searches the whole file.

    python benchmarks/bench_dedup_file.py --size 100000 --workers 1 2      # ~6 min
    python benchmarks/bench_dedup_file.py --size 10000 --commands dedup --repeat 3
    python benchmarks/bench_dedup_file.py --size 100000 --repeat 2 --against /tmp/base  # A/B

``--against DIR`` also runs another checkout (a ``git worktree``: its ``src`` first on the
path), each of its runs right after this tree's with the same arguments, so that both
meet the same load; equal digests there mean the same files.

Prints each run's seconds, peak RSS (the command's process and its pool, the largest one),
the peak of all its processes together (their PSS summed, sampled 4 times a second) and a
digest of the files it wrote (equal digests: the same output, whatever the workers).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import bench_expand  # noqa: E402
from checkouts import checkout_src, with_src_first  # noqa: E402


def input_file(size: int, folder: Path) -> Path:
    """The train split of an expand run writing ``size`` examples, made once in ``folder``."""
    train = folder / f"expand_{size}" / "train.jsonl"
    if not train.exists():
        from augment.pipeline import expand

        config = bench_expand.wide_config(bench_expand.variants_per_seed(size, "beethoven"))
        expand([bench_expand.SEEDS], config, train.parent, workers=2)
    return train


def command_line(command: str, data: Path, out: Path, workers: str) -> list[str]:
    if command == "dedup":
        args = ["dedup", str(data), "-o", str(out / "dedup.jsonl"), "--rejects", str(out / "rejected.jsonl")]
    else:
        args = ["split", str(data), "--out", str(out / "split")]
    return [sys.executable, "-m", "augment", *args, "--workers", workers, "-q"]


def digest(out: Path) -> str:
    """One digest of every file written under ``out`` (names and bytes, sorted by path)."""
    h = hashlib.sha256()
    for path in sorted(p for p in out.rglob("*") if p.is_file()):
        h.update(str(path.relative_to(out)).encode() + b"\0" + path.read_bytes())
    return h.hexdigest()[:16]


def run_once(command: str, data: Path, out: Path, workers: str, src: Path | None = None
             ) -> tuple[float, float, float | None, str]:
    """(seconds, peak RSS in MB of the largest of the run's processes, peak PSS in MB of
    all of them together (``bench_expand.TreeMemory``), digest of its files), of this
    tree's ``augment`` or of the one in ``src``."""
    out.mkdir(parents=True)
    start = time.perf_counter()
    process = subprocess.Popen(command_line(command, data, out, workers), stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL, env=None if src is None else with_src_first(src))
    with bench_expand.TreeMemory(root=process.pid) as memory:
        _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"augment {command} --workers {workers} failed ({process.returncode})")
    return seconds, usage.ru_maxrss / 1024, memory.peak_mb, digest(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=100_000, help="examples of the input file (about)")
    parser.add_argument("--workers", nargs="+", default=["1", "2"], help="--workers values")
    parser.add_argument("--commands", nargs="+", choices=["dedup", "split"], default=["dedup", "split"])
    parser.add_argument("--repeat", type=int, default=1, help="runs of each (command, workers)")
    parser.add_argument("--keep", type=Path, default=None, help="keep the input file in this folder")
    parser.add_argument("--against", type=Path, default=None,
                        help="also run this checkout, each run right after this tree's")
    args = parser.parse_args()
    sides: list[tuple[str, Path | None]] = [("", None)]
    if args.against is not None:
        sides = [("this tree ", None), (f"{args.against} ", checkout_src(args.against))]
    with tempfile.TemporaryDirectory(prefix="bench_dedup_file_") as tmp:
        data = input_file(args.size, args.keep or Path(tmp))
        lines = sum(1 for _ in data.open("rb"))
        print(f"input: {data} ({lines} lines)", flush=True)
        for command in args.commands:
            times: dict[tuple[str, str], list[float]] = {(side, w): [] for side, _ in sides
                                                         for w in args.workers}
            for k in range(args.repeat):
                for workers in args.workers:
                    for n, (side, src) in enumerate(sides):
                        out = Path(tmp) / f"{command}_{workers}_{k}_{n}"
                        seconds, rss, pss, files = run_once(command, data, out, workers, src)
                        times[side, workers].append(seconds)
                        print(f"{side}{command} --workers {workers} run {k + 1}: {seconds:.2f} s, peak "
                              f"RSS {rss:.0f} MB, peak PSS of all its processes {pss} MB, files {files}",
                              flush=True)
            for (side, workers), found in times.items():
                print(f"{side}{command} --workers {workers}: median {statistics.median(found):.2f} s")


if __name__ == "__main__":
    main()
