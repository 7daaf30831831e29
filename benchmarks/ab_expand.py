"""A/B of ``augment expand`` end to end: this tree against another checkout, in runs that
alternate, so that both meet the same spells of the machine.

    git worktree add /tmp/base <commit>
    python benchmarks/ab_expand.py --against /tmp/base --size 1000000 --workers 2 --pairs 2

Each run is a fresh process that expands the corpus seeds (``bench_expand.corpus_seeds``,
written once to a fixed path under ``--scratch``) with ``rules/wide.toml`` at
``bench_expand``'s ``variants_per_seed`` for ``--size``, into a fixed folder (the manifest
names the seed file, so fixed paths make the two sides' manifests comparable). The other
checkout's run puts its ``src`` first on the path; the config and seeds are made by this
tree's ``bench_expand`` through the package's public functions. A run prints its seconds,
the CPU seconds of all its processes (its own and its pool's, from ``os.times``), when the
pool's phase ended, the main process's own CPU seconds (all, and by the pool's end),
which ``augment`` it imported and the digest of its manifest: equal digests, the same
output. CPU summed over processes moves less with the machine's load than the wall clock
does. (``--one`` prints, besides, when each stage ended: ``ends``; the run's line gives the
time after the pool's phase, and when dedup, the audit and writing ended counted from it.)
Each run's line also gives
``timing.machine_probe`` taken just before it: a pair whose two probes differ much met
different spells of the machine.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from checkouts import checkout_src, with_src_first  # (benchmarks/, the script's folder)
from timing import machine_probe

T = TypeVar("T")
HERE = Path(__file__).resolve().parent


class PhaseEnds:
    """A ``Progress`` that notes when each stage (and the per-seed loop) ended."""

    def __init__(self, start: float) -> None:
        self.start, self.ends = start, {}
        self.cpu: dict[str, float] = {}  # this (the main) process's own CPU seconds by then
        self.cpu_start = time.process_time()

    def track(self, items: Iterable[T], label: str, total: int | None = None) -> Iterator[T]:
        yield from items
        self._end(label)

    @contextmanager
    def stage(self, label: str) -> Iterator[None]:
        yield
        self._end(label)

    def _end(self, label: str) -> None:
        self.ends[label] = time.perf_counter() - self.start
        self.cpu[label] = time.process_time() - self.cpu_start


def one_run(size: int, workers: int, scratch: Path) -> dict[str, object]:
    """One expand run in this process; its figures."""
    sys.path.insert(0, str(HERE))
    import bench_expand

    import augment
    from augment.pipeline import expand

    config = bench_expand.wide_config(bench_expand.variants_per_seed(size, "corpus"))
    seeds = scratch / "corpus_seeds.jsonl"
    if not seeds.exists():
        bench_expand.corpus_seeds(seeds)
    out = scratch / "out"
    shutil.rmtree(out, ignore_errors=True)
    before, start = os.times(), time.perf_counter()
    phases = PhaseEnds(start)
    expand([seeds], config, out, workers=workers, progress=phases)
    seconds, after = time.perf_counter() - start, os.times()
    cpu = sum(after[:4]) - sum(before[:4])  # user and system, own and waited-for children
    digest = hashlib.sha256((out / "manifest.json").read_bytes()).hexdigest()[:16]
    shutil.rmtree(out)
    return {"seconds": round(seconds, 2), "cpu": round(cpu, 1),
            "pool_end": round(phases.ends.get("variants", 0.0), 1),
            "augment": str(Path(augment.__file__).parent), "manifest": digest,
            "ends": {label: round(end, 1) for label, end in phases.ends.items()},
            "main_cpu": round(time.process_time() - phases.cpu_start, 1),
            "main_cpu_by_pool_end": round(phases.cpu.get("variants", 0.0), 1)}


def run_child(args: argparse.Namespace, tree: Path | None) -> dict[str, object]:
    env = None if tree is None else with_src_first(checkout_src(tree))
    command = [sys.executable, __file__, "--one", "--size", str(args.size), "--workers",
               str(args.workers), "--scratch", str(args.scratch)]
    done = subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True, env=env)
    return dict(json.loads(done.stdout.splitlines()[-1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--against", type=Path, metavar="DIR", help="the other checkout")
    parser.add_argument("--size", type=int, default=100_000, help="examples to write (bench_expand's N)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--pairs", type=int, default=1, help="runs of each side, alternating")
    parser.add_argument("--scratch", type=Path, default=Path("/tmp/augment-ab"),
                        help="where the seeds and the output go (fixed paths)")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.against is not None:
        checkout_src(args.against)  # (a folder that is none: one line, before any run)
    args.scratch.mkdir(parents=True, exist_ok=True)
    if args.one:
        print(json.dumps(one_run(args.size, args.workers, args.scratch)))
        return
    sides: list[tuple[str, Path | None]] = [("here", None)]
    if args.against is not None:
        sides.insert(0, (str(args.against), args.against.resolve()))
    print(f"N={args.size:,} workers={args.workers} load average {os.getloadavg()[0]:.2f} at the start, "
          f"machine probe {machine_probe():.3f} s (benchmarks/timing.py)", flush=True)
    for pair in range(args.pairs):
        for name, tree in sides:
            probe = machine_probe(3)  # (the machine's speed moves by up to ~2x within minutes)
            r = run_child(args, tree)
            main = "" if "main_cpu" not in r else \
                f", main process's CPU {r['main_cpu']} s ({r['main_cpu_by_pool_end']} s by the pool's end)"
            print(f"pair {pair + 1} {name}: {r['seconds']} s, CPU {r['cpu']} s, pool's phase ended at "
                  f"{r['pool_end']} s{main}{after_pool(r)}, manifest {r['manifest']} ({r['augment']}), "
                  f"probe before {probe:.3f} s", flush=True)


def after_pool(r: dict[str, object]) -> str:
    """The run's time after the pool's phase, and when its later stages ended counted from
    the pool's end (``ends``): mostly the main process's work, which a change to it moves
    while the pool's phase moves with the machine (thirtieth round in benchmarks/HISTORY.md)."""
    ends, pool_end, seconds = r.get("ends"), r.get("pool_end"), r.get("seconds")
    if not isinstance(ends, dict) or not all(isinstance(x, float | int) for x in (pool_end, seconds)):
        return ""
    stages = ", ".join(f"{label} +{end - pool_end:.1f}" for label, end in ends.items()
                       if label in ("dedup", "leakage audit", "write") and end >= pool_end)
    return f", {seconds - pool_end:.1f} s after it ({stages})"


if __name__ == "__main__":
    main()
