"""MinHash signatures: the compiled loop equals its definition, and its Jaccard estimates
agree with datasketch's ``MinHash`` on real melodies."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from datasketch import MinHash

from augment import near, pipeline
from augment.calibrate import make_probes
from augment.config import load_config
from augment.near import EMPTY, MinHasher, jaccard, melody_tokens, shingles
from augment.pipeline import expand
from dataset_util import corpus, near_rich_melodies, record_calls

ROOT = Path(__file__).resolve().parent.parent


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
        assert all((hasher.signature(s) == row).all() for s, row in zip(sets, plain, strict=True))
        for compiled in (True, False):  # the numba loop and its numpy stand-in
            batched = hasher.signatures(sets, compiled=compiled)
            assert batched.dtype == np.uint32 and batched.shape == (len(sets), hasher.num_perm)
            assert (batched == plain).all()
            assert (batched[5] == EMPTY).all()
            for chunk in (1, 50, 1 << 16):
                assert (hasher.signatures(sets, chunk_shingles=chunk, compiled=compiled) == plain).all()
            assert hasher.signatures([], compiled=compiled).shape == (0, hasher.num_perm)
        # empty sets first, last and in a row, which numpy's minimum.reduceat must step over
        edges = [sets[5], sets[5], sets[0], sets[5], sets[6], sets[5]]
        assert (hasher.signatures(edges, compiled=False) == hasher.signatures(edges, compiled=True)).all()
        assert (hasher.signatures(edges, compiled=False)[[0, 1, 3, 5]] == EMPTY).all()


def test_the_32_bit_loop_gives_the_64_bit_loops_minima() -> None:
    """``_min_hash_loop32`` (32-bit halves of a and b) equals the 64-bit loop and numpy on
    hashes below 2**32, coefficients that carry included; a batch holding a larger hash
    takes the 64-bit loop (the definition's answer, which the 32-bit halves would miss)."""
    from augment import compiled

    narrow, wide = compiled.njit(near._min_hash_loop32), compiled.njit(near._min_hash_loop)
    rng = np.random.default_rng(5)
    sizes = rng.integers(0, 40, size=400)
    sizes[[0, 7, 8, -1]] = 0  # empty sets first, in a row and last
    offsets = np.r_[0, np.cumsum(sizes)].astype(np.int64)
    x = rng.integers(0, 1 << 32, size=int(offsets[-1]), dtype=np.uint64)
    x[:: 17] = (1 << 32) - 1
    x[5:: 23] = 0
    top = np.uint64((1 << 64) - 1)
    drawn = near._coefficients(64, 3)
    chosen = (np.array([top, 0, (1 << 32) - 1, 1 << 32, 1 << 63, top - np.uint64(1 << 32)], dtype=np.uint64),
              np.array([top, top, (1 << 32) - 1, (1 << 32) - 1, 1 << 63, 0], dtype=np.uint64))
    for a, b in (drawn, chosen):
        answers = [np.empty((len(sizes), len(a)), dtype=np.uint32) for _ in range(3)]
        for loop, out in zip((narrow, wide, near._min_hash_numpy), answers, strict=True):
            loop(x, offsets, a, b, out)
        assert (answers[0] == answers[1]).all() and (answers[0] == answers[2]).all()
        assert (answers[0][[0, 7, 8, -1]] == EMPTY).all()
    hasher = MinHasher(32, seed=2)
    sets = [rng.integers(0, 1 << 32, size=20, dtype=np.uint64) for _ in range(50)]
    sets[3] = np.r_[sets[3], np.uint64((1 << 40) + 12345)]
    plain = np.vstack([plain_signature(hasher, s) for s in sets])
    assert (hasher.signatures(sets, compiled=True) == plain).all()
    assert (hasher.signatures(sets, chunk_shingles=20, compiled=True) == plain).all()  # (batches apart)


def test_a_process_hashes_in_numpy_until_it_has_hashed_much(monkeypatch: pytest.MonkeyPatch) -> None:
    """numpy while the process has hashed at most ``NUMPY_SHINGLES`` shingles and not loaded
    numba; the compiled loop after, or at once when numba is loaded; ``load_compiled`` loads
    it only for a caller that expects more than that."""
    loaded: list[int] = []

    def compiled_loop() -> object:
        loaded.append(1)
        return near._min_hash_numpy  # (stands in for the compiled loop: the same answers)

    monkeypatch.setattr(near, "_compiled_loop", compiled_loop)
    monkeypatch.delitem(sys.modules, "numba", raising=False)  # as in a process that has not loaded it
    monkeypatch.setattr(near, "_hashed_in_numpy", 0)
    monkeypatch.setattr(near, "NUMPY_SHINGLES", 100)
    sets = [np.arange(30, dtype=np.uint64), np.arange(5, 35, dtype=np.uint64)]  # 60 shingles
    hasher = MinHasher(16)
    first = hasher.signatures(sets)
    assert not loaded and near._hashed_in_numpy == 60
    assert (hasher.signatures(sets) == first).all() and loaded == [1]  # 120 > 100: compiled
    assert near._hashed_in_numpy == 60
    near.load_compiled(100)
    assert loaded == [1]
    near.load_compiled(101)
    assert loaded == [1, 1]
    monkeypatch.setattr(near, "_hashed_in_numpy", 0)
    monkeypatch.setitem(sys.modules, "numba", ModuleType("numba"))  # loaded already
    hasher.signatures(sets[:1])
    assert loaded == [1, 1, 1] and near._hashed_in_numpy == 0


def test_a_small_run_never_loads_numba_and_writes_what_the_compiled_loop_gives(tmp_path: Path) -> None:
    """The bundled seeds under the default rules, in a fresh process: numba is not imported
    (it would cost ~0.5 s of a ~0.5 s run), and the files are byte for byte those of a run
    in a process that has numba loaded, where every signature comes from the compiled loop."""
    args = [str(ROOT / "seeds" / "beethoven.jsonl"), str(ROOT / "rules" / "default.toml")]
    script = ("import sys; from pathlib import Path; from augment.config import load_config; "
              "from augment.pipeline import expand; "
              "expand([Path(sys.argv[1])], load_config(Path(sys.argv[2])), Path(sys.argv[3])); "
              "print('numba' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", script, *args, str(tmp_path / "numpy")],
                          capture_output=True, text=True, timeout=300, check=True)
    assert done.stdout.strip() == "False"
    near.load_compiled()
    assert "numba" in sys.modules
    expand([Path(args[0])], load_config(Path(args[1])), tmp_path / "compiled")
    names = sorted(p.name for p in (tmp_path / "numpy").iterdir())
    assert "train.jsonl" in names and names == sorted(p.name for p in (tmp_path / "compiled").iterdir())
    for name in names:
        assert (tmp_path / "numpy" / name).read_bytes() == (tmp_path / "compiled" / name).read_bytes(), name


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


def test_a_run_tells_the_hasher_how_many_shingles_to_expect(monkeypatch: pytest.MonkeyPatch,
                                                           tmp_path: Path) -> None:
    """Before its pool starts, ``expand`` passes ``load_compiled`` its estimate: the seeds'
    events times the variants drawn of each (a variant has about its seed's events)."""
    expected: list[int] = []
    monkeypatch.setattr(pipeline, "load_compiled", expected.append)
    config = load_config(ROOT / "rules" / "default.toml")
    seeds = ROOT / "seeds" / "beethoven.jsonl"
    result = expand([seeds], config, tmp_path / "out")
    examples, rejected, _ = pipeline.read_seeds([seeds], config.format, config.limits)
    assert not rejected and result.counts["rejected_seed_checks"] == 0
    assert expected == [sum(len(e.melody) for e in examples) * config.expand.variants_per_seed]
    assert 0 < expected[0] <= near.NUMPY_SHINGLES  # the bundled run is one that hashes in numpy


def test_a_search_made_earlier_gives_the_pairs_of_any_subset_of_its_melodies() -> None:
    """``NearSearch.among``: the calibration's search over every melody gives, for any
    subset of them, the pairs a search of that subset finds; None when it cannot."""
    from augment.calibrate import calibrate
    from augment.near import invariant_key, near_pair_arrays

    melodies = near_rich_melodies()
    calibration = calibrate(melodies, np.random.default_rng(2), min_tokens=6)
    search = calibration.search
    assert search is not None and search.params == calibration.params and len(search.i) > 40
    params = calibration.params
    by_key = {invariant_key(m): m for m in melodies}  # one melody a class, as a search takes them
    rng = np.random.default_rng(3)
    keys = sorted(by_key)
    for size in (len(keys), 200, 40):
        picked = [keys[k] for k in rng.permutation(len(keys))[:size].tolist()]
        seqs = [melody_tokens(by_key[k]) for k in picked]
        got = search.among([len(t) for t in seqs], params, lambda i, picked=picked: bytes.fromhex(picked[i]))
        want = near_pair_arrays(seqs, params)
        assert got is not None and all(np.array_equal(a, b) for a, b in zip(got, want, strict=True))
        if size == 200:
            assert len(want[0]) > 10  # the subset has pairs to find
    digests = [bytes.fromhex(k) for k in keys]
    lengths = [len(melody_tokens(by_key[k])) for k in keys]
    other = type(params)(params.shingle_size, params.lsh_threshold, params.similarity - 0.01,
                         params.num_perm, params.min_tokens)
    more = [*digests, b"\0" * 32]
    assert search.among(lengths, other, digests.__getitem__) is None  # another setting: search again
    assert search.among([*lengths, params.min_tokens], params, more.__getitem__) is None  # unseen
    short = search.among([*lengths, params.min_tokens - 1], params, more.__getitem__)  # too short: left out
    whole = search.among(lengths, params, digests.__getitem__)
    assert short is not None and whole is not None and np.array_equal(short[0], whole[0])

    def never(k: int) -> bytes:
        raise AssertionError("more melodies than were searched: no digest is read")
    assert search.among([params.min_tokens] * (len(keys) + 1), params, never) is None


def test_relations_from_a_search_made_earlier_equal_searching_again(monkeypatch: pytest.MonkeyPatch) -> None:
    """``MelodyRelations.of`` with the calibration's search: the same classes and near
    neighbours as searching, with and without groups (across families), on examples that
    hold every class several times."""
    from augment.calibrate import calibrate
    from augment.dedup import MelodyRelations, PrintTable
    from dataset_util import example

    melodies = near_rich_melodies()
    search = calibrate(melodies, np.random.default_rng(2), min_tokens=6).search
    assert search is not None
    examples = [example(m, f"Tune {k % 7}.") for k, m in enumerate(melodies + melodies[::3])]
    prints = PrintTable.of(examples)
    families = [f"f{k % 5}" for k in range(len(examples))]
    from augment import dedup

    searched = dedup.near_pair_arrays
    for across in (None, families):
        again = MelodyRelations.of(examples, search.params, across, prints=prints)
        monkeypatch.setattr(dedup, "near_pair_arrays", None)  # reused: no search at all
        reused = MelodyRelations.of(examples, search.params, across, prints=prints, search=search)
        monkeypatch.setattr(dedup, "near_pair_arrays", searched)
        assert dict(reused.rep_of) == dict(again.rep_of) and reused.near == again.near
        assert sum(map(len, again.near.values())) > 40


def test_near_pairs_the_same_merged_and_verified_in_small_blocks(monkeypatch: pytest.MonkeyPatch) -> None:
    """The bands' pairs are merged into the distinct ones as they come (``MERGE_CODES``) and
    verified a block of candidates at a time (``VERIFY_BLOCK``), to bound memory: with
    blocks of a few codes the pairs are the same as in one piece, with and without groups."""
    from augment.near import NearParams, edit_similarity, near_pair_arrays, signatures_of

    seqs = [melody_tokens(m) for m in near_rich_melodies()]
    params = NearParams(shingle_size=3, lsh_threshold=0.3, similarity=0.75)
    groups = [k % 4 for k in range(len(seqs))]
    whole = [near_pair_arrays(seqs, params), near_pair_arrays(seqs, params, groups)]
    assert len(whole[0][0]) > 40 and 0 < len(whole[1][0]) < len(whole[0][0])
    # By definition: the pairs sharing a band's bucket (a dict of the band's values), of
    # edit similarity at least the threshold, one pair at a time.
    signatures = signatures_of(seqs, params)
    bands, rows = params.bands()
    candidates = set()
    for band in range(bands):
        bucket: dict[bytes, list[int]] = {}
        for k, row in enumerate(signatures[:, band * rows:(band + 1) * rows]):
            bucket.setdefault(row.tobytes(), []).append(k)
        candidates |= {(a, b) for members in bucket.values() for a in members for b in members if a < b}
    defined = sorted((a, b, edit_similarity(seqs[a], seqs[b])) for a, b in candidates
                     if len(seqs[a]) >= params.min_tokens and len(seqs[b]) >= params.min_tokens)
    assert list(zip(*(part.tolist() for part in whole[0]), strict=True)) == \
        [p for p in defined if p[2] >= params.similarity]
    monkeypatch.setattr(near, "MERGE_CODES", 5)
    monkeypatch.setattr(near, "VERIFY_BLOCK", 7)
    merges = record_calls(monkeypatch, near.ragged, "distinct")
    blocks = [near_pair_arrays(seqs, params), near_pair_arrays(seqs, params, groups)]
    assert len(merges) > 10  # merged many times
    for got, want in zip(blocks, whole, strict=True):
        assert all(np.array_equal(a, b) for a, b in zip(got, want, strict=True))


def test_merged_count_without_the_pairs_equals_the_search_s() -> None:
    """``near.merged_job`` (band by band, a candidate verified only while one of its two is
    in no verified pair yet) counts the melodies some pair of ``search_job`` holds, for
    loose and strict settings, on corpus tunes with near and transposed copies."""
    from augment.editdist import token_ids
    from augment.near import NearParams, merged_job, search_job

    seqs = [melody_tokens(m) for m in near_rich_melodies()]
    seqs += [s[:-1] for s in seqs[:40]]  # more near copies: one token fewer
    tok = token_ids(seqs)
    counts = []
    for size, lsh, similarity, min_tokens in ((2, 0.3, 0.7, 7), (3, 0.25, 0.95, 7), (4, 0.5, 0.97, 12),
                                              (3, 0.2, 0.5, 4)):
        params = NearParams(size, lsh, similarity, 128, min_tokens)
        i, j, _ = search_job((tok, params))
        want = len(np.unique(np.r_[i, j]))
        assert merged_job((tok, params)) == want
        counts.append(want)
    assert len(set(counts)) > 1 and min(counts) > 50  # settings that merge, and differently
    assert merged_job((token_ids(seqs[:1]), NearParams(3, 0.3, 0.8, 128, 7))) == 0


def _lsh_bands_one_row_at_a_time(threshold: float, num_perm: int) -> tuple[int, int]:
    """``near.lsh_bands`` by its definition: each ``rows`` scored alone, the first best kept."""
    best, best_err = (num_perm, 1), float("inf")
    s = np.linspace(0, 1, 201)
    for rows in range(1, num_perm + 1):
        bands = num_perm // rows
        p = 1 - (1 - s ** rows) ** bands
        err = float(np.trapezoid(np.where(s < threshold, p, 1 - p), s))
        if err < best_err - 1e-12:
            best, best_err = (bands, rows), err
    return best


@pytest.mark.parametrize("num_perm", [1, 2, 16, 64, 128, 256])
def test_lsh_bands_scored_in_one_array_are_those_of_the_row_by_row_loop(num_perm: int) -> None:
    """The banding for thresholds across (0, 1), and that it separates: a pair at twice the
    threshold collides more often than one at half of it."""
    for threshold in np.linspace(0.02, 0.98, 97).tolist():
        bands, rows = near.lsh_bands.__wrapped__(threshold, num_perm)
        assert (bands, rows) == _lsh_bands_one_row_at_a_time(threshold, num_perm), threshold
        assert bands * rows <= num_perm
        if num_perm >= 16 and threshold <= 0.45:
            high, low = (float(1 - (1 - s ** rows) ** bands) for s in (2 * threshold, threshold / 2))
            assert high > low, threshold
