"""The per-seed stage alone: ``augment.pipeline.expand_seed`` in one process, in microseconds
per variant drawn.

``expand_seed`` is what each worker runs for one seed: ``draw_variants`` (the rules),
``reprompt``, ``run_checks``, then the fingerprint and output line of every passed variant.
This times it over the first ``--count`` seeds of the corpus seeds (the 519 melodies of
tests/data as a seed file, ``bench_expand.corpus_seeds``) and of the bundled seeds
(``seeds/beethoven.jsonl``, 84), with ``rules/wide.toml`` and ``variants_per_seed`` set to
``--variants``. Seeds are read, keyed and given their facts before the clock starts, as
``expand`` does before the pool, and the pass runs inside ``pipeline.collecting_less`` as
in ``expand`` (its pool workers fork with that collector setting). Each set is timed
``--repeat`` times, each time in a fresh child process: the stage keeps caches (parsed
prompts, rewrites, duration texts) that a real run fills once per seed, so a second pass
in the same process would be flattered. The median is printed with the counts and a
digest of the output lines (equal digests: equal output).

    python benchmarks/bench_seed_stage.py                  # corpus and bundled, median of 3
    python benchmarks/bench_seed_stage.py --profile        # + cProfile (one run, cumulative)
    python benchmarks/bench_seed_stage.py --seeds corpus --profile --top 60
    python benchmarks/bench_seed_stage.py --seeds corpus --variants 3365 --count 13 --near

``--near`` passes near-duplicate params (``NearParams()``: the default shingles,
permutations and bands), as a run does, so the MinHash signatures and LSH buckets of the
passed variants are made and timed too; without it they are not (the figures of the
rounds before the seventeenth).

``--against DIR`` times another checkout of the project too (e.g. a ``git worktree`` of an
older commit: its ``src`` and its own copy of this script), alternating its runs with this
tree's so that both meet the same machine load, and prints the ratio of the medians. The
two must print equal line digests for the ratio to compare the same work.

    git worktree add /tmp/base <commit>
    python benchmarks/bench_seed_stage.py --against /tmp/base --repeat 5
"""

from __future__ import annotations

import argparse
import cProfile
import dataclasses
import hashlib
import json
import os
import pstats
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_expand  # noqa: E402
from checkouts import with_src_first  # noqa: E402

from augment import pipeline  # noqa: E402
from augment.config import Config, load_config  # noqa: E402
from augment.example import Example  # noqa: E402
from augment.near import NearParams, load_compiled  # noqa: E402
from augment.reprompt import seed_facts  # noqa: E402


def load_seeds(which: str, count: int, tmp: Path) -> list[Example]:
    """The first ``count`` seeds of a set, ready for ``expand_seed``."""
    path = bench_expand.corpus_seeds(tmp / "corpus.jsonl") if which == "corpus" else bench_expand.SEEDS
    config = load_config(bench_expand.RULES)
    seeds, _, _ = pipeline.read_seeds([path], config.format, config.limits)
    return [seed_facts(s) for s in pipeline.annotate_keys(seeds)][:count]


def run_once(seeds: list[Example], config: Config, near: NearParams | None = None
             ) -> tuple[float, int, int, str]:
    """(seconds, variants drawn, variants passed, digest of the output lines) of one pass."""
    drawn = passed = 0
    digest = hashlib.sha256()
    with pipeline.collecting_less():
        start = time.perf_counter()
        results = [pipeline.expand_seed(seed, config, 0, near) for seed in seeds]
        seconds = time.perf_counter() - start
    for result in results:
        drawn += result.counts["variants_drawn"]
        passed += len(result.passed)
        at = 0
        for line_size, head_size in result.text_sizes:  # each output line, then its lineage head
            digest.update(result.texts[at:at + line_size])
            at += line_size + head_size
    return seconds, drawn, passed, digest.hexdigest()[:16]


def child(which: str, count: int, variants: int, profile: bool, top: int, near: bool = False) -> None:
    """One timed pass in this process; prints its figures as one JSON line."""
    config = load_config(bench_expand.RULES)
    config = dataclasses.replace(
        config, expand=dataclasses.replace(config.expand, variants_per_seed=variants))
    with tempfile.TemporaryDirectory() as tmp:
        seeds = load_seeds(which, count, Path(tmp))
    load_compiled()  # as ``expand`` does before its pool forks for a run this size
    profiler = cProfile.Profile() if profile else None
    if profiler is not None:
        profiler.enable()
    seconds, drawn, passed, digest = run_once(seeds, config, NearParams() if near else None)
    if profiler is not None:
        profiler.disable()
        pstats.Stats(profiler, stream=sys.stderr).sort_stats("cumulative").print_stats(top)
    print(json.dumps({"seeds": len(seeds), "seconds": seconds, "drawn": drawn, "passed": passed,
                      "digest": digest}))


def run_child(which: str, args: argparse.Namespace, profile: bool = False,
              tree: Path | None = None) -> dict[str, object]:
    """One timed pass in a fresh process: of this tree, or of the checkout ``tree`` (its
    ``src`` first on the path, its copy of this script)."""
    script, env = __file__, None
    if tree is not None:
        script = str(tree / "benchmarks" / Path(__file__).name)
        env = with_src_first(tree / "src")
        if args.near and "--near" not in Path(script).read_text(encoding="utf-8"):
            script = __file__  # (an older copy without --near: this one, on that tree's src)
    command = [sys.executable, script, "--one", which, "--count", str(args.count),
               "--variants", str(args.variants), "--top", str(args.top)] + (["--near"] if args.near else [])
    done = subprocess.run(command + (["--profile"] if profile else []), check=True,
                          stdout=subprocess.PIPE, text=True, env=env)
    return dict(json.loads(done.stdout.splitlines()[-1]))


def summary(which: str, runs: list[dict[str, object]]) -> tuple[str, float]:
    """The line printed for a set's runs, and their median seconds."""
    times = [float(str(r["seconds"])) for r in runs]
    seconds = statistics.median(times)
    drawn = int(str(runs[0]["drawn"]))
    return (f"{which}: {runs[0]['seeds']} seeds, {drawn} variants drawn, {runs[0]['passed']} passed, "
            f"lines {runs[0]['digest']}; median of {len(runs)}: {seconds:.3f} s = "
            f"{seconds / drawn * 1e6:.1f} us per variant drawn "
            f"(runs: {', '.join(f'{t:.3f}' for t in times)} s)"), seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", choices=["corpus", "beethoven"], nargs="+",
                        default=["corpus", "beethoven"])
    parser.add_argument("--count", type=int, default=150, help="seeds per set (first N)")
    parser.add_argument("--variants", type=int, default=40, help="variants_per_seed")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs; the median is printed")
    parser.add_argument("--profile", action="store_true",
                        help="also run once under cProfile and print the top functions (stderr)")
    parser.add_argument("--top", type=int, default=45, help="functions shown with --profile")
    parser.add_argument("--near", action="store_true",
                        help="make the MinHash signatures and LSH buckets too, as a run does")
    parser.add_argument("--against", type=Path, metavar="DIR",
                        help="also time this checkout, runs alternating, and print the ratio")
    parser.add_argument("--one", choices=["corpus", "beethoven"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        child(args.one, args.count, args.variants, args.profile, args.top, args.near)
        return
    if args.against is not None and not (args.against / "benchmarks" / Path(__file__).name).is_file():
        parser.error(f"--against {args.against}: no benchmarks/{Path(__file__).name} there")

    print(f"load average {os.getloadavg()[0]:.2f} (1 min) at the start", flush=True)
    for which in args.seeds:
        runs, other = [], []
        for _ in range(args.repeat):
            runs.append(run_child(which, args))
            if args.against is not None:
                other.append(run_child(which, args, tree=args.against))
        line, seconds = summary(which, runs)
        print(line, flush=True)
        if args.against is not None:
            line, other_seconds = summary(which, other)
            same = "same lines" if other[0]["digest"] == runs[0]["digest"] else "LINES DIFFER"
            print(f"  {args.against}: {line}\n  {other_seconds / seconds:.2f}x faster here "
                  f"({same}; load average {os.getloadavg()[0]:.2f})", flush=True)
        if args.profile:
            run_child(which, args, profile=True)


if __name__ == "__main__":
    main()
