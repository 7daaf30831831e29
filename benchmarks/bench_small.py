"""The Quick start's run, end to end on the command line: ``augment expand
seeds/beethoven.jsonl --rules rules/default.toml`` (84 seeds, 1,034 examples), each run a
fresh process, as a user meets it (interpreter start, imports, the run, the files).

    python benchmarks/bench_small.py --repeat 5
    git worktree add /tmp/base <commit>
    python benchmarks/bench_small.py --against /tmp/base --repeat 5    # runs alternating
    python benchmarks/bench_small.py --workers default 1 --repeat 5    # the default against 1

Each run prints its seconds, whether numba was imported by its end, and the digest of its
manifest (equal digests: the same output); then the median of each side.
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from checkouts import checkout_src, with_src_first  # (benchmarks/, the script's folder)

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# The CLI as ``python -m augment`` runs it, then whether numba was loaded (on stderr's last line).
RUN = ("import runpy, sys\n"
       "try:\n"
       "    runpy.run_module('augment', run_name='__main__', alter_sys=True)\n"
       "finally:\n"
       "    print('numba' in sys.modules, file=sys.stderr)\n")


def run_once(src: Path, out: Path, workers: str = "default") -> tuple[float, bool, str]:
    """(seconds, numba imported, manifest digest) of one run with ``src`` first on the path,
    with ``--workers workers`` ("default": the option not given)."""
    env = with_src_first(src)
    command = [sys.executable, "-c", RUN, "expand", str(ROOT / "seeds" / "beethoven.jsonl"),
               "--rules", str(ROOT / "rules" / "default.toml"), "--out", str(out)]
    command += [] if workers == "default" else ["--workers", workers]
    start = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    seconds = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"the run with {src} failed:\n{done.stderr}")
    numba = done.stderr.strip().splitlines()[-1] == "True"
    digest = hashlib.sha256((out / "manifest.json").read_bytes()).hexdigest()[:16]
    return seconds, numba, digest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--against", type=Path, metavar="DIR", help="another checkout")
    parser.add_argument("--repeat", type=int, default=5, help="runs of each side")
    parser.add_argument("--workers", nargs="+", default=["default"],
                        help="--workers values to run each tree with, in alternation "
                             "(default: the option not given)")
    args = parser.parse_args()
    trees = {"this tree": ROOT / "src"}
    if args.against is not None:
        trees = {"other": checkout_src(args.against), **trees}
    sides = {(name if len(args.workers) == 1 else f"{name}, --workers {w}"): (src, w)
             for name, src in trees.items() for w in args.workers}
    times: dict[str, list[float]] = {name: [] for name in sides}
    with tempfile.TemporaryDirectory() as tmp:
        for k in range(args.repeat):
            for name, (src, workers) in sides.items():
                out = Path(tmp) / "out"  # one path: the manifest names the output folder
                seconds, numba, digest = run_once(src, out, workers)
                times[name].append(seconds)
                print(f"run {k + 1} {name:9}: {seconds:.2f} s, numba imported: {numba}, "
                      f"manifest {digest}", flush=True)
                shutil.rmtree(out)
    for name, found in times.items():
        print(f"{name}: median {statistics.median(found):.2f} s (range {min(found):.2f}-{max(found):.2f})")
    if args.against is not None and len(args.workers) == 1:
        ratio = statistics.median(times["other"]) / statistics.median(times["this tree"])
        print(f"other / this tree: {ratio:.2f}x")


if __name__ == "__main__":
    main()
