"""A run's two diversity reports: ``report`` of the candidates and ``report`` of the written
ones, against ``reports`` of the pair (one pass over the candidates' melodies for both).

The candidates are real variants: ``drawing.draw_variants`` of the first ``--seeds`` corpus
seeds (``bench_expand.corpus_seeds``) with ``rules/wide.toml`` at ``--variants`` a seed,
their melodies packed (``MelodyArrays.of(...).pack()``, as a run holds them). The written
ones are ``--written`` of them picked at random, in a random order (a run's are in id
order, scattered over the candidates), as rows of the candidates' batch (``MelodyRows``, as
``build_splits`` hands them over). Both ways are timed in this one process, alternating,
best of ``--repeat`` (CPU seconds), and must give the same reports (checked).

    python benchmarks/bench_reports.py                    # ~200k candidates, ~1 min
    python benchmarks/bench_reports.py --seeds 20 --variants 1000
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_expand  # noqa: E402
from bench_seed_stage import load_seeds  # noqa: E402

from augment import diversity, drawing, pipeline  # noqa: E402
from augment.config import load_config  # noqa: E402
from augment.theory import MelodyArrays, MelodyRows  # noqa: E402


def candidates(seeds: int, variants: int) -> tuple[list, MelodyArrays]:  # type: ignore[type-arg]
    config = load_config(bench_expand.RULES)
    expand = dataclasses.replace(config.expand, variants_per_seed=variants)
    config = dataclasses.replace(config, expand=expand)
    with tempfile.TemporaryDirectory() as tmp:
        chosen = load_seeds("corpus", seeds, Path(tmp))
    examples = []
    with pipeline.collecting_less():
        for seed in chosen:
            examples.append(seed)
            examples.extend(drawing.draw_variants(seed, config, 0, Counter()))
    return examples, MelodyArrays.of([e.melody for e in examples])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=60)
    parser.add_argument("--variants", type=int, default=3365)
    parser.add_argument("--written", type=float, default=0.97, help="share of the candidates written")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    examples, unpacked = candidates(args.seeds, args.variants)
    packed = unpacked.pack()
    if packed is None:
        raise SystemExit("the variants do not pack (a duration off the tick grid)")
    rng = np.random.default_rng(0)
    rows = rng.permutation(len(examples))[:int(args.written * len(examples))]
    before = diversity.Columns.of(examples, packed)
    after = diversity.Columns.of([examples[i] for i in rows.tolist()], MelodyRows(packed, rows))
    print(f"{len(examples):,} candidates ({len(packed.pitches):,} events), {len(rows):,} written")
    two, one = [], []
    for k in range(args.repeat):
        for way in ((0, 1) if k % 2 == 0 else (1, 0)):
            start = time.process_time()
            if way == 0:
                got = (diversity.report(before), diversity.report(after))
                two.append(time.process_time() - start)
                apart = got
            else:
                got = diversity.reports((before, after))
                one.append(time.process_time() - start)
                together = got
    if apart != together:
        raise SystemExit(f"the reports differ:\n{apart}\n{together}")
    print(f"report + report: {min(two):.3f} s CPU (runs: {', '.join(f'{t:.3f}' for t in two)})")
    print(f"reports (one pass): {min(one):.3f} s CPU (runs: {', '.join(f'{t:.3f}' for t in one)})")
    print(f"ratio: {min(two) / min(one):.2f}x; the same reports: {apart == together}")


if __name__ == "__main__":
    main()
