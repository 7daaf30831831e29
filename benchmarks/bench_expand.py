"""End-to-end ``expand`` throughput, peak memory and per-stage time at growing output sizes.

The bundled seeds (``seeds/beethoven.jsonl``) with ``rules/wide.toml`` are scaled to at
least N written examples by raising ``variants_per_seed`` (everything else as in the file;
``VARIANTS_PER_SEED`` holds the values measured for 10k, 100k and 1M, other sizes are
estimated, and the table flags a run that wrote fewer than N).
Each size runs in a fresh child process so that its peak RSS (``resource.getrusage``) is
its own; the peak of all its processes together (PSS summed, sampled 4 times a second) is
reported too. Stage times come from timing wrappers around the stage functions that
``augment.pipeline`` and ``augment.dataset`` call (nested stages are listed under their
parent; with ``--workers`` > 1 the per-seed stages run in the pool and show as one line).

    python benchmarks/bench_expand.py                       # N = 10k and 100k, 1 worker
    python benchmarks/bench_expand.py --sizes 10000 --workers 1 2   # speed-up of the pool
    python benchmarks/bench_expand.py --sizes 10000 --profile       # cProfile top functions
    python benchmarks/bench_expand.py --sizes 10000 --plain   # the run alone: no timers, no sampling
"""

from __future__ import annotations

import argparse
import cProfile
import functools
import inspect
import json
import math
import os
import pstats
import resource
import subprocess
import sys
import tempfile
import time
import tomllib
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from timing import machine_probe  # (benchmarks/, the script's folder)

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds" / "beethoven.jsonl"
CORPUS = ROOT / "tests" / "data" / "corpus_melodies.jsonl"
RULES = ROOT / "rules" / "wide.toml"
# variants_per_seed with wide.toml that writes at least N examples, measured (2026-11-26,
# on the commit that added this table; written with it in brackets). Fewer of a seed's
# draws are new as it draws more, so N / variants_per_seed falls as N grows.
VARIANTS_PER_SEED = {
    ("beethoven", 10_000): 166,     # (10,051)
    ("beethoven", 100_000): 1_736,  # (100,081)
    ("corpus", 10_000): 31,         # (10,445)
    ("corpus", 100_000): 320,       # (100,242)
    ("corpus", 1_000_000): 3_365,   # (1,000,779)
}
# For other sizes: written examples per unit of variants_per_seed near 10k (then a run
# may write fewer than N; the table says how many it wrote).
WRITTEN_PER_VARIANT = {"beethoven": 61, "corpus": 330}


def variants_per_seed(size: int, seeds: str) -> int:
    """The variants_per_seed that writes about ``size`` examples from ``seeds``."""
    return VARIANTS_PER_SEED.get((seeds, size)) or math.ceil(size / WRITTEN_PER_VARIANT[seeds])


def corpus_seeds(path: Path) -> Path:
    """The 519 corpus melodies of tests/data (Bach chorale sopranos, Essen folk songs) as a
    seed file, each prompt naming the key ``augment`` finds in it. The 84 bundled seeds run
    out of distinct variants near 100k examples (draws repeat), so a run of a million needs
    more seeds."""
    from augment.codec import format_melody
    from augment.melody import Melody
    from augment.theory import detect_keys

    rows = [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines()]
    melodies = [Melody.from_pairs(r["pairs"]) for r in rows]
    lines = []
    for row, melody, est in zip(rows, melodies, detect_keys(melodies), strict=True):
        key = f" in {est.key.name}" if est is not None else ""
        system = "You are a music generator trained on folk songs and chorales."
        messages = [{"role": "system", "content": system},
                    {"role": "user", "content": f"Generate a melody{key} like {row['source']}."},
                    {"role": "assistant", "content": format_melody(melody)}]
        lines.append(json.dumps({"messages": messages}))
    path.parent.mkdir(parents=True, exist_ok=True)  # (``--out`` may name a folder not made yet)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path

# (module, function name, label): wrapped in the module that *calls* them.
STAGES = [
    ("pipeline", "read_seeds", "read"),
    ("pipeline", "annotate_keys", "seed keys"),
    ("pipeline", "plan_splits", "plan splits (calibration)"),
    ("pipeline", "draw_variants", "rules (draw variants)"),
    ("pipeline", "reprompt", "re-prompt"),
    ("pipeline", "run_checks_batch", "checks"),
    # The mapper (map_ordered in this process, _pool_map in the pool) runs the per-seed
    # stages, the diversity reports and, in chunks, parts of the dataset stages: one wrapper,
    # labelled by the mapped function. Pool work is timed as this process waits for it.
    ("parallel", "map_ordered", "per-seed stages (rules, re-prompt, checks)"),
    ("parallel", "map_ordered", "  diversity report (waiting for it)"),
    ("parallel", "map_ordered", "  mapped dataset work (inside dataset stages)"),
    ("pipeline", "build_splits", "dataset stages"),
    ("dataset", "dedup", "  dedup"),
    ("dataset", "select", "  select"),
    ("dataset", "tune_groups", "  regroup families"),
    ("dataset", "assert_no_leaks", "  leakage audit"),
    ("pipeline", "write_outputs", "write"),
]


def wide_config(variants_per_seed: int) -> Any:
    from augment.config import parse_config

    data = tomllib.loads(RULES.read_text(encoding="utf-8"))
    data["expand"]["variants_per_seed"] = variants_per_seed
    if variants_per_seed > 1000:  # above the default [limits] max_variants_per_seed
        data.setdefault("limits", {})["max_variants_per_seed"] = variants_per_seed
    return parse_config(data, str(RULES))


def instrument() -> dict[str, float]:
    """Wrap the stage functions with wall-clock accumulators; returns label -> seconds."""
    import augment.dataset
    import augment.parallel
    import augment.pipeline

    modules = {"pipeline": augment.pipeline, "dataset": augment.dataset,
               "parallel": augment.parallel}
    totals: dict[str, float] = defaultdict(float)
    mapped_labels = [lb for _, f, lb in STAGES if f == "map_ordered"]

    def timed_iteration(gen: Iterator[Any], label: str) -> Iterator[Any]:
        """A generator's work happens while it is iterated: time each step."""
        while True:
            t = time.perf_counter()
            try:
                item = next(gen)
            except StopIteration:
                return
            finally:
                totals[label] += time.perf_counter() - t
            yield item

    def wrap(fn: Any, label: str | None) -> Any:
        """``fn`` timed under ``label`` (None: a mapper, labelled by the function it maps)."""
        def timed(*args: Any, **kwargs: Any) -> Any:
            name = label
            if name is None:  # map_ordered(fn, items, ...) or _pool_map(pool, workers, fn, items)
                mapped = args[0] if fn.__name__ == "map_ordered" else args[2]
                mapped_name = getattr(mapped, "func", mapped).__name__
                name = mapped_labels[{"expand_seed": 0, "report": 1}.get(mapped_name, 2)]
            t = time.perf_counter()
            try:
                out = fn(*args, **kwargs)
            finally:
                totals[name] += time.perf_counter() - t
            return timed_iteration(out, name) if inspect.isgenerator(out) else out
        return functools.wraps(fn)(timed)

    for mod_name, fn_name, label in STAGES:
        module = modules[mod_name]
        if fn_name == "map_ordered":
            if label == mapped_labels[0]:  # one wrapper per mapper for the three labels
                for name in ("map_ordered", "_pool_map"):
                    setattr(module, name, wrap(getattr(module, name), None))
        elif hasattr(module, fn_name):
            setattr(module, fn_name, wrap(getattr(module, fn_name), label))
    return totals


class TreeMemory:
    """Peak memory of a process (``root``, default this one) and its descendants together,
    sampled every ``every`` seconds in a thread: the sum of their PSS (proportional set
    size: a page shared by forked processes counts once, split among them; file pages
    mapped count too). Linux only (/proc); None elsewhere."""

    def __init__(self, every: float = 0.25, root: int | None = None) -> None:
        import threading

        self.every, self.peak_kb, self.root = every, 0, root
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> TreeMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _pids(self) -> list[int]:
        children: dict[int, list[int]] = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    stat = Path(f"/proc/{entry}/stat").read_text()
                except OSError:
                    continue
                children.setdefault(int(stat.rsplit(")", 1)[1].split()[1]), []).append(int(entry))
        pids = [os.getpid() if self.root is None else self.root]
        for pid in pids:  # grows as it goes: the descendants, generation by generation
            pids.extend(children.get(pid, ()))
        return pids

    def _run(self) -> None:
        while not self._stop.is_set():
            total = 0
            for pid in self._pids():
                try:
                    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                        if line.startswith("Pss:"):
                            total += int(line.split()[1])
                except OSError:
                    continue
            self.peak_kb = max(self.peak_kb, total)
            self._stop.wait(self.every)

    @property
    def peak_mb(self) -> float | None:
        return round(self.peak_kb / 1024, 1) if self.peak_kb else None


class NoMemory:
    """``TreeMemory``'s place in a plain run: nothing sampled."""

    peak_mb = None

    def __enter__(self) -> NoMemory:
        return self

    def __exit__(self, *exc: object) -> None:
        pass


def run_one(size: int, workers: int, out: Path, profile: bool, seeds: str = "beethoven",
            plain: bool = False) -> dict[str, Any]:
    """One expand run in this process; the figures as a dict. ``plain``: no stage timers
    and no memory sampling (the sampler reads every process's smaps_rollup 4 times a second,
    which slows a million-example run by a few seconds): the time of the run alone."""
    from augment.pipeline import expand

    seed_file = SEEDS if seeds == "beethoven" else corpus_seeds(out.parent / "corpus_seeds.jsonl")
    vps = variants_per_seed(size, seeds)
    config = wide_config(vps)
    totals = {} if plain else instrument()
    kwargs = {"workers": workers} if workers != 1 else {}
    prof = cProfile.Profile() if profile else None
    with NoMemory() if plain else TreeMemory() as memory:
        t = time.perf_counter()
        if prof:
            prof.enable()
        result = expand([seed_file], config, out, **kwargs)
        if prof:
            prof.disable()
        seconds = time.perf_counter() - t
    written = sum(result.counts[f"written_{s}"] for s in ("train", "validation", "test"))
    rss_self = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    rss_children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    figures = {
        "size": size, "seeds": seeds, "variants_per_seed": vps, "workers": workers, "written": written,
        "variants_drawn": result.counts["variants_drawn"], "seconds": round(seconds, 2),
        "examples_per_s": round(written / seconds, 1),
        "us_per_example": round(1e6 * seconds / written, 1),
        "peak_rss_mb": round(rss_self, 1), "peak_rss_worker_mb": round(rss_children, 1),
        "peak_pss_all_mb": memory.peak_mb,
        "load_average_1min": round(os.getloadavg()[0], 2),
        "stages": {k: round(v, 2) for k, v in totals.items()},
        "manifest_sha256": __import__("hashlib").sha256(
            (out / "manifest.json").read_bytes()).hexdigest()[:16],
    }
    if prof:
        stats = pstats.Stats(prof, stream=sys.stderr)
        stats.sort_stats("tottime").print_stats(25)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--workers", type=int, nargs="+", default=[1])
    parser.add_argument("--profile", action="store_true", help="cProfile top 25 (to stderr)")
    parser.add_argument("--seeds", choices=sorted(WRITTEN_PER_VARIANT), default="beethoven",
                        help="the 84 bundled seeds, or 519 corpus melodies (for runs past 100k)")
    parser.add_argument("--out", type=Path, default=None,
                        help="keep outputs under this directory (default: a temporary one)")
    parser.add_argument("--plain", action="store_true",
                        help="time the runs alone: no stage timers, no memory sampling")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        out = args.out or Path(tempfile.mkdtemp(prefix="bench_expand_"))
        print(json.dumps(run_one(args.sizes[0], args.workers[0], out, args.profile, args.seeds,
                                 args.plain)))
        return
    print(f"machine probe {machine_probe():.3f} s (benchmarks/timing.py), load average "
          f"{os.getloadavg()[0]:.2f} at the start", flush=True)
    rows = []
    with tempfile.TemporaryDirectory(prefix="bench_expand_") as tmp:
        for size in args.sizes:
            for workers in args.workers:
                out = (args.out or Path(tmp)) / f"n{size}_w{workers}"
                cmd = [sys.executable, __file__, "--one", "--sizes", str(size),
                       "--workers", str(workers), "--out", str(out), "--seeds", args.seeds]
                cmd += ["--profile"] * args.profile + ["--plain"] * args.plain
                done = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, text=True)
                row = json.loads(done.stdout.strip().splitlines()[-1])
                rows.append(row)
                print(json.dumps(row), flush=True)
    print_table(rows)


def print_table(rows: list[dict[str, Any]]) -> None:
    print("\n| N asked | workers | written | seconds | examples/s | us/example | peak RSS MB "
          "(workers) | peak PSS MB, all processes | manifest |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['size']:,} | {r['workers']} | {r['written']:,} | {r['seconds']} | "
              f"{r['examples_per_s']:,} | {r['us_per_example']} | {r['peak_rss_mb']} "
              f"({r['peak_rss_worker_mb']}) | {r.get('peak_pss_all_mb')} | {r['manifest_sha256']} |")
    for r in rows:
        if r["written"] < r["size"]:
            print(f"note: N={r['size']:,} wrote {r['written']:,} examples, fewer than asked "
                  "(an estimated variants_per_seed: add the size to VARIANTS_PER_SEED)")
    base = {r["size"]: r for r in rows if r["workers"] == 1}
    for r in rows:
        if r["workers"] != 1 and r["size"] in base:
            print(f"speed-up {r['workers']} workers at N={r['size']:,}: "
                  f"{base[r['size']]['seconds'] / r['seconds']:.2f}x, identical output: "
                  f"{base[r['size']]['manifest_sha256'] == r['manifest_sha256']}")
    ones = sorted((r for r in rows if r["workers"] == 1), key=lambda r: r["size"])
    if len(ones) > 1:
        print(f"per-example cost {ones[-1]['size']:,} vs {ones[0]['size']:,}: "
              f"{ones[-1]['us_per_example'] / ones[0]['us_per_example']:.2f}x")
    for r in rows:
        print(f"\nstages, N={r['size']:,}, workers={r['workers']} (seconds):")
        for _, _, label in STAGES:
            if label in r["stages"]:
                print(f"  {label:<44} {r['stages'][label]:8.2f}")


if __name__ == "__main__":
    main()
