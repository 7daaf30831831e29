"""MinHash signatures: the compiled loop equals its definition, and its Jaccard estimates
agree with datasketch's ``MinHash`` on real melodies."""

from __future__ import annotations

import numpy as np
from datasketch import MinHash

from augment.calibrate import make_probes
from augment.near import EMPTY, MinHasher, jaccard, melody_tokens, shingles
from dataset_util import corpus


def plain_signature(hasher: MinHasher, x: np.ndarray) -> np.ndarray:
    """The definition in numpy: top 32 bits of min over x of (a * x + b) mod 2**64."""
    if len(x) == 0:
        return np.full(hasher.num_perm, EMPTY, dtype=np.uint32)
    rng = np.random.default_rng(hasher.seed)
    a = rng.integers(0, 1 << 64, size=hasher.num_perm, dtype=np.uint64)
    b = rng.integers(0, 1 << 64, size=hasher.num_perm, dtype=np.uint64)
    hashed = np.multiply.outer(x.astype(np.uint64), a) + b  # wraps modulo 2**64
    return (hashed.min(axis=0) >> np.uint64(32)).astype(np.uint32)


def test_signatures_equal_the_definition_and_signature_per_set() -> None:
    rng = np.random.default_rng(11)
    sets = [np.unique(rng.integers(0, 2**32, size=int(rng.integers(0, 90)))).astype(np.uint32)
            for _ in range(300)]
    sets[5] = np.zeros(0, dtype=np.uint32)
    sets[6] = np.array([0, 2**32 - 1], dtype=np.uint32)
    sets += [shingles(melody_tokens(m), 3) for _, m in corpus()[:100]]
    for hasher in (MinHasher(128), MinHasher(16, seed=7)):
        plain = np.vstack([plain_signature(hasher, s) for s in sets])
        batched = hasher.signatures(sets)
        assert batched.dtype == np.uint32 and batched.shape == (len(sets), hasher.num_perm)
        assert (batched == plain).all()
        assert all((hasher.signature(s) == row).all() for s, row in zip(sets, batched, strict=True))
        assert (batched[5] == EMPTY).all()
        assert (hasher.signatures(sets, chunk_shingles=50) == plain).all()
    assert MinHasher(8).signatures([]).shape == (0, 8)


def test_estimates_agree_with_datasketch_on_real_melodies() -> None:
    """Near pairs (the calibration probes: one or two notes changed, an ornament, a rhythm)
    and pairs of different melodies, over several seeds of both: augment's estimates are as
    close to the exact Jaccard as datasketch's, unbiased, and close to datasketch's."""
    melodies = [m for _, m in corpus()]
    probes = make_probes(melodies[::2], np.random.default_rng(0))
    token_pairs = [(a, b) for _, a, b in probes]
    others = zip(melodies[::2], melodies[1::2], strict=False)
    token_pairs += [(melody_tokens(a), melody_tokens(b)) for a, b in others]
    sets = [shingles(t, size) for size in (2, 3) for pair in token_pairs for t in pair]
    left, right = np.arange(0, len(sets), 2), np.arange(1, len(sets), 2)
    exact = np.array([jaccard(sets[i], sets[j]) for i, j in zip(left, right, strict=True)])
    # the whole range: unrelated tunes, edits that break many shingles, edits that break few
    assert (exact < 0.1).sum() > 300 and ((exact > 0.3) & (exact < 0.8)).sum() > 300
    assert (exact >= 0.8).sum() > 300
    as_ints = [s.tolist() for s in sets]
    ours_err, ds_err, ours_bias, gap = [], [], [], []
    for seed in range(1, 7):
        ours = MinHasher(128, seed).signatures(sets)
        ds = np.vstack([m.hashvalues for m in MinHash.bulk(as_ints, num_perm=128, seed=seed,
                                                              hashfunc=lambda x: x)])
        est_ours = (ours[left] == ours[right]).mean(axis=1)
        est_ds = (ds[left] == ds[right]).mean(axis=1)
        ours_err.append(np.abs(est_ours - exact).mean())
        ds_err.append(np.abs(est_ds - exact).mean())
        ours_bias.append(np.mean(est_ours - exact))
        gap.append(np.abs(est_ours - est_ds).mean())
    # 128 independent functions: |error| about sqrt(2 J (1 - J) / (pi 128)) on average.
    binomial = np.mean(np.sqrt(2 * exact * (1 - exact) / (np.pi * 128)))
    assert np.mean(ours_err) <= 1.05 * np.mean(ds_err)
    assert 0.85 * binomial < np.mean(ours_err) < 1.15 * binomial
    assert abs(np.mean(ours_bias)) < 0.004
    assert np.mean(gap) < 1.6 * np.mean(ds_err)  # two independent estimates: about sqrt(2) x


def test_melody_tokens_equal_their_fraction_definition() -> None:
    """Tokens read from ticks: the interval (or R / S) and ``str(duration / previous)`` as
    exact quarter-note fractions, on corpus melodies and off-grid durations with rests."""
    from augment.melody import Melody
    from dataset_util import tokens_by_definition

    melodies = [m for _, m in corpus()]
    melodies.append(Melody.from_pairs([[None, "1/5"], [60, "3/10"], [None, 1], [62, "2/3"], [61, "0.3"]]))
    assert all(melody_tokens(m) == tokens_by_definition(m) for m in melodies)


def test_near_pairs_from_buckets_made_earlier_equal_near_pairs_from_tokens() -> None:
    """The per-seed stage makes each variant's LSH buckets (``dedup.fingerprints``); dedup then
    reads tokens only for the melodies a candidate pair holds. Same pairs as from scratch."""
    from augment.dedup import Buckets, fingerprints
    from augment.melody import transpose
    from augment.near import (
        NearParams,
        band_buckets,
        band_hash,
        bucket_pairs,
        candidate_pairs,
        near_pairs,
        signatures_of,
    )
    from augment.theory import MelodyArrays
    from dataset_util import example

    melodies = [m for _, m in corpus()[:300]]
    # near copies: the first 40 tunes with their last note moved, plus transposed copies
    melodies += [type(m).from_ticks(m.pitches[:-1] + (None,), m.ticks) for m in melodies[:40]]
    melodies += [transpose(m, 3) for m in melodies[40:60]]
    seqs = [melody_tokens(m) for m in melodies]
    params = NearParams(shingle_size=3, lsh_threshold=0.3, similarity=0.75)
    examples = [example(m) for m in melodies]
    prints, made = fingerprints(examples, params)
    signatures = signatures_of(seqs, params)
    assert made is not None and (made == band_buckets(signatures, params)).all()
    bands, rows = params.bands()  # a bucket is the band's hash (all bands at once, the same)
    assert made.shape == (len(seqs), bands) and all(
        (made[:, b] == band_hash(signatures[:, b * rows:(b + 1) * rows])).all() for b in range(bands))
    # Pairs from the buckets are the pairs from the signatures.
    assert bucket_pairs(made, [i % 3 for i in range(len(seqs))]) == \
        candidate_pairs(signatures, bands, rows, [i % 3 for i in range(len(seqs))])
    assert [p.length for p in prints] == [len(t) for t in seqs]
    assert fingerprints(examples)[1] is None

    class Counting(list):  # token sequences that count how many are read
        reads = 0

        def __getitem__(self, i):  # type: ignore[no-untyped-def]
            Counting.reads += 1
            return super().__getitem__(i)

    whole = near_pairs(seqs, params)
    assert len(whole) >= 40  # the moved-note copies are found
    lengths = [p.length for p in prints]
    assert near_pairs(Counting(seqs), params, buckets=made, lengths=lengths) == whole
    usable = [i for i, t in enumerate(seqs) if len(t) >= params.min_tokens]
    held = {i for i, j, _ in whole} | {j for i, j, _ in whole}
    # Only the melodies of candidate pairs were read (verified pairs hold some of them).
    assert len(held) <= Counting.reads < len(usable) * 0.6

    # A table of them finds each example's row, and refuses other params or unknown ids.
    table = Buckets(Buckets.signed_by(params), made, {e.id: i for i, e in enumerate(examples)})
    rows = table.of(examples[::-7], params)
    assert rows is not None and (rows == made[::-7]).all()
    assert table.of(examples[:3], NearParams(shingle_size=4)) is None
    assert table.of([example(transpose(melodies[0], 1))], params) is None
    # Rows read through an index (never copied whole): a shuffled matrix gives the same pairs.
    order = np.random.default_rng(3).permutation(len(made))
    shuffled = np.empty_like(made)
    shuffled[order] = made  # sequence k's row is now shuffled[order[k]]
    assert near_pairs(seqs, params, buckets=shuffled, bucket_rows=order, lengths=lengths) == whole
    assert near_pairs(seqs, params, buckets=shuffled, bucket_rows=order, lengths=lengths,
                      groups=[i % 5 for i in range(len(seqs))]) == \
        near_pairs(seqs, params, groups=[i % 5 for i in range(len(seqs))])
    index = table.index(examples[::-7], params)
    assert index is not None and (made[index] == made[::-7]).all()
    # Melody arrays made in blocks and joined equal the arrays of them all.
    joined = MelodyArrays.concat([MelodyArrays.of(melodies[:7]), MelodyArrays.of([]),
                                  MelodyArrays.of(melodies[7:])])
    whole_arrays = MelodyArrays.of(melodies)
    assert all((getattr(joined, f) == getattr(whole_arrays, f)).all()
               for f in ("pitches", "quarters", "starts"))
