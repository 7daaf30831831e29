"""Drawing a seed's variants by columns (``drawing.ColumnWalk``) against one attempt at a
time, at several numbers of variants a seed: what ``drawing.COLUMNS_FROM`` is set from.

Times ``drawing.draw_variants`` alone over corpus seeds with ``rules/wide.toml``, in one
process, inside ``pipeline.collecting_less`` (as the pool's workers run), once with every
block of at least ``COLUMNS_FROM`` attempts walked by columns (``--columns-from``, 1:
every block) and once with ``COLUMNS_FROM`` out of reach (every attempt one by one),
alternating (the side that runs first alternates too), best of ``--repeat``. Both must
give the same variants (checked: their ids).

    python benchmarks/bench_draws.py                       # the default threshold
    python benchmarks/bench_draws.py --columns-from 1      # every block by columns
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_expand  # noqa: E402
from bench_seed_stage import load_seeds  # noqa: E402

from augment import drawing, pipeline  # noqa: E402
from augment.config import load_config  # noqa: E402

# (variants a seed, seeds): about the same number of draws for each
SIZES = [(10, 150), (20, 150), (40, 150), (80, 100), (160, 60), (400, 30), (1000, 13), (3365, 13)]


def timed(seeds: list, config, columns_from: int) -> tuple[float, list[str]]:  # type: ignore[type-arg, no-untyped-def]
    drawing.COLUMNS_FROM = columns_from
    with pipeline.collecting_less():
        start = time.perf_counter()
        out = [drawing.draw_variants(seed, config, 0, Counter()) for seed in seeds]
        seconds = time.perf_counter() - start
    return seconds, [v.id for variants in out for v in variants]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--columns-from", type=int, default=drawing.COLUMNS_FROM)
    parser.add_argument("--repeat", type=int, default=4)
    args = parser.parse_args()
    base = load_config(bench_expand.RULES)
    with tempfile.TemporaryDirectory() as tmp:
        seeds = load_seeds("corpus", max(n for _, n in SIZES), Path(tmp))
    print(f"COLUMNS_FROM {args.columns_from}, best of {args.repeat}")
    print("| variants a seed | seeds | by columns s | one by one s | speed-up |")
    print("|---|---|---|---|---|")
    for variants, count in SIZES:
        expand = dataclasses.replace(base.expand, variants_per_seed=variants)
        config = dataclasses.replace(base, expand=expand)
        walked, single = [], []
        for k in range(args.repeat):  # (the side that runs first alternates: it meets colder caches)
            sides = [(args.columns_from, walked), (10**12, single)]
            ids = []
            for columns_from, times in sides if k % 2 == 0 else sides[::-1]:
                seconds, drawn = timed(seeds[:count], config, columns_from)
                times.append(seconds)
                ids.append(drawn)
            if ids[0] != ids[1]:
                raise SystemExit(f"different variants at {variants} a seed")
        print(f"| {variants} | {count} | {min(walked):.3f} | {min(single):.3f} | "
              f"{min(single) / min(walked):.2f}x |")


if __name__ == "__main__":
    main()
