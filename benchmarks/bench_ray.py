"""What ``--engine ray`` costs on top of the work itself: starting a local Ray, its jobs'
fixed cost, stopping it.

    python benchmarks/bench_ray.py            # needs the extra: pip install '.[ray]'

Times ``ray_engine.ray_mapper`` (import, local instance with ``--num-cpus`` CPUs) and a few
maps of a trivial function over 10 to 1,000 items, then the shutdown. The maps' times are
a call's fixed cost on Ray (its batches' tasks; Ray Data jobs before the thirty-sixth
round): a run maps several times (the seeds, the diversity reports, the near-duplicate
verification chunks; a file's parsing windows for ``augment dedup`` and ``split``).
"""

from __future__ import annotations

import argparse
import time


def double(x: int) -> int:
    return 2 * x


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--num-cpus", type=int, default=2)
    args = parser.parse_args()
    start = time.perf_counter()
    from augment.ray_engine import ray_mapper

    with ray_mapper(num_cpus=args.num_cpus) as mapper:
        print(f"import and start a local Ray: {time.perf_counter() - start:.2f} s", flush=True)
        for n in (10, 100, 1000, 100):
            t = time.perf_counter()
            results = list(mapper(double, list(range(n))))
            assert results == [2 * x for x in range(n)]
            print(f"map of {n:,} items: {time.perf_counter() - t:.2f} s", flush=True)
        stop = time.perf_counter()
    print(f"shutdown: {time.perf_counter() - stop:.2f} s")


if __name__ == "__main__":
    main()
