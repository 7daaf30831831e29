"""Near-duplicate signatures: augment's ``MinHasher`` against datasketch's ``MinHash``.

Same shingle sets (3-token shingles of the 519 real melodies in
``tests/data/corpus_melodies.jsonl`` plus edited copies of each, so that pairs span the
whole Jaccard range), same number of permutations, one process, one run:

* throughput: signatures per second of ``MinHasher.signatures`` (batched numpy) against
  datasketch's fastest batch path (``MinHash.bulk`` given the same 32-bit shingle hashes
  with an identity ``hashfunc``) and its usual path (one ``MinHash`` per set,
  ``update_batch`` of the shingles as bytes, SHA-1 hashing as by default);
* agreement: on every (melody, edited copy) pair and on random pairs, both estimates
  against the exact Jaccard of the two shingle sets, and against each other.

    python benchmarks/bench_minhash.py [--copies 9] [--num-perm 128] [--repeat 5]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from datasketch import MinHash

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from augment.near import MinHasher, estimated_jaccard, jaccard, melody_tokens, shingles  # noqa: E402
from dataset_util import corpus  # noqa: E402

SHINGLE_SIZE = 3


def edited(tokens: tuple[str, ...], changes: int, rng: np.random.Generator) -> tuple[str, ...]:
    """A copy with ``changes`` tokens replaced by a token drawn from the same melody."""
    out = list(tokens)
    for pos in rng.integers(0, len(out), size=changes):
        out[int(pos)] = f"{int(rng.integers(-12, 13)):+d}:{rng.choice(['1', '2', '1/2'])}"
    return tuple(out)


def shingle_sets(copies: int, rng: np.random.Generator) -> tuple[list[np.ndarray], list[tuple[int, int]]]:
    """Sets (originals first, then their copies) and the (original, copy) index pairs."""
    originals = [t for t in (melody_tokens(m) for _, m in corpus()) if len(t) >= 8]
    sets = [shingles(t, SHINGLE_SIZE) for t in originals]
    pairs = []
    for i, t in enumerate(originals):
        for c in range(copies):
            pairs.append((i, len(sets)))
            sets.append(shingles(edited(t, 1 + c * max(1, len(t) // (2 * copies)), rng), SHINGLE_SIZE))
    return sets, pairs


def best_of(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, default=9, help="edited copies per melody")
    parser.add_argument("--num-perm", type=int, default=128)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    sets, pairs = shingle_sets(args.copies, rng)
    n, mean_size = len(sets), float(np.mean([len(s) for s in sets]))
    print(f"{n} shingle sets ({mean_size:.1f} shingles on average), num_perm={args.num_perm}")

    ours = MinHasher(args.num_perm)
    as_ints = [s.astype(np.uint64).tolist() for s in sets]
    as_bytes = [[int(x).to_bytes(4, "little") for x in s] for s in as_ints]

    def identity(x: int) -> int:
        return x

    def datasketch_usual() -> list[MinHash]:
        out = []
        for b in as_bytes:
            m = MinHash(num_perm=args.num_perm)
            m.update_batch(b)
            out.append(m)
        return out

    t_ours = best_of(lambda: ours.signatures(sets), args.repeat)
    t_bulk = best_of(lambda: MinHash.bulk(as_ints, num_perm=args.num_perm, hashfunc=identity),
                     args.repeat)
    t_usual = best_of(datasketch_usual, max(1, args.repeat // 2))
    print(f"augment MinHasher.signatures      {n / t_ours:12,.0f} sets/s ({1e6 * t_ours / n:6.1f} us/set)")
    print(f"datasketch MinHash.bulk (same ints){n / t_bulk:11,.0f} sets/s ({1e6 * t_bulk / n:6.1f} us/set)"
          f"  ratio {t_bulk / t_ours:5.1f}x")
    print(f"datasketch update_batch (bytes)   {n / t_usual:12,.0f} sets/s ({1e6 * t_usual / n:6.1f} us/set)"
          f"  ratio {t_usual / t_ours:5.1f}x")

    sig = ours.signatures(sets)
    ds = MinHash.bulk(as_ints, num_perm=args.num_perm, hashfunc=identity)
    randoms = [(int(a), int(b)) for a, b in rng.integers(0, n, size=(len(pairs), 2)) if a != b]
    for label, chosen in (("edited-copy pairs", pairs), ("random pairs", randoms)):
        exact = np.array([jaccard(sets[a], sets[b]) for a, b in chosen])
        est_ours = np.array([estimated_jaccard(sig[a], sig[b]) for a, b in chosen])
        est_ds = np.array([ds[a].jaccard(ds[b]) for a, b in chosen])
        print(f"{label}: {len(chosen)}, exact Jaccard mean {exact.mean():.3f} "
              f"(range {exact.min():.2f}-{exact.max():.2f})")
        print(f"  mean |estimate - exact|: augment {np.abs(est_ours - exact).mean():.4f}, "
              f"datasketch {np.abs(est_ds - exact).mean():.4f}; "
              f"mean signed error: augment {np.mean(est_ours - exact):+.4f}, "
              f"datasketch {np.mean(est_ds - exact):+.4f}")
        print(f"  mean |augment - datasketch| {np.abs(est_ours - est_ds).mean():.4f}, "
              f"correlation {np.corrcoef(est_ours, est_ds)[0, 1]:.4f}")


if __name__ == "__main__":
    main()
