"""The per-seed stage alone: ``augment.pipeline.expand_seed`` in one process, in microseconds
per variant drawn.

``expand_seed`` is what each worker runs for one seed: ``draw_variants`` (the rules),
``reprompt``, ``run_checks``, then the fingerprint and output line of every passed variant.
This times it over the first ``--count`` seeds of the corpus seeds (the 519 melodies of
tests/data as a seed file, ``bench_expand.corpus_seeds``) and of the bundled seeds
(``seeds/beethoven.jsonl``, 84), with ``rules/wide.toml`` and ``variants_per_seed`` set to
``--variants``. Seeds are read, keyed and given their facts before the clock starts, as
``expand`` does before the pool. Each set is timed ``--repeat`` times and the median is
printed with the counts and a digest of the output lines (equal digests: equal output).

    python benchmarks/bench_seed_stage.py                  # corpus and bundled, median of 3
    python benchmarks/bench_seed_stage.py --profile        # + cProfile (one run, cumulative)
    python benchmarks/bench_seed_stage.py --seeds corpus --profile --top 60
"""

from __future__ import annotations

import argparse
import cProfile
import dataclasses
import hashlib
import pstats
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_expand  # noqa: E402

from augment import pipeline  # noqa: E402
from augment.config import Config, load_config  # noqa: E402
from augment.example import Example  # noqa: E402
from augment.reprompt import seed_facts  # noqa: E402


def load_seeds(which: str, count: int, tmp: Path) -> list[Example]:
    """The first ``count`` seeds of a set, ready for ``expand_seed``."""
    path = bench_expand.corpus_seeds(tmp / "corpus.jsonl") if which == "corpus" else bench_expand.SEEDS
    config = load_config(bench_expand.RULES)
    seeds, _, _ = pipeline.read_seeds([path], config.format, config.limits)
    return [seed_facts(s) for s in pipeline.annotate_keys(seeds)][:count]


def run_once(seeds: list[Example], config: Config) -> tuple[float, int, int, str]:
    """(seconds, variants drawn, variants passed, digest of the output lines) of one pass."""
    drawn = passed = 0
    digest = hashlib.sha256()
    start = time.perf_counter()
    results = [pipeline.expand_seed(seed, config, 0) for seed in seeds]
    seconds = time.perf_counter() - start
    for result in results:
        drawn += result.counts["variants_drawn"]
        passed += len(result.passed)
        for line in result.lines:
            digest.update(line.encode("utf-8"))
    return seconds, drawn, passed, digest.hexdigest()[:16]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", choices=["corpus", "beethoven"], nargs="+",
                        default=["corpus", "beethoven"])
    parser.add_argument("--count", type=int, default=150, help="seeds per set (first N)")
    parser.add_argument("--variants", type=int, default=40, help="variants_per_seed")
    parser.add_argument("--repeat", type=int, default=3, help="timed runs; the median is printed")
    parser.add_argument("--profile", action="store_true",
                        help="also run once under cProfile and print the top functions")
    parser.add_argument("--top", type=int, default=45, help="functions shown with --profile")
    args = parser.parse_args()

    config = load_config(bench_expand.RULES)
    config = dataclasses.replace(
        config, expand=dataclasses.replace(config.expand, variants_per_seed=args.variants))
    with tempfile.TemporaryDirectory() as tmp:
        for which in args.seeds:
            seeds = load_seeds(which, args.count, Path(tmp))
            runs = [run_once(seeds, config) for _ in range(args.repeat)]
            seconds = statistics.median(r[0] for r in runs)
            _, drawn, passed, digest = runs[0]
            print(f"{which}: {len(seeds)} seeds, {drawn} variants drawn, {passed} passed, "
                  f"lines {digest}; median of {args.repeat}: {seconds:.3f} s = "
                  f"{seconds / drawn * 1e6:.1f} us per variant drawn "
                  f"(runs: {', '.join(f'{r[0]:.3f}' for r in runs)} s)")
            if args.profile:
                profiler = cProfile.Profile()
                profiler.enable()
                run_once(seeds, config)
                profiler.disable()
                pstats.Stats(profiler).sort_stats("cumulative").print_stats(args.top)


if __name__ == "__main__":
    main()
