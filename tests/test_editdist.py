"""The batched edit distance (numpy lanes, and the compiled loop over pairs) equals the
one-pair version and the textbook DP."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from augment.editdist import edit_distances, token_ids
from augment.near import (
    MinHasher,
    NearParams,
    batch_tokens,
    edit_distance,
    melody_tokens,
    shingle_runs,
    shingles,
    signatures_of,
)
from dataset_util import corpus
from test_fast_paths import levenshtein

tokens = st.lists(st.sampled_from(["+1:1", "-1:1", "+2:1/2", "R:2", "0:1"]), max_size=90)


WAYS = [pytest.param(False, id="numpy-lanes"), pytest.param(True, id="compiled")]


@pytest.mark.parametrize("compiled", WAYS)
@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(tokens, tokens), min_size=1, max_size=12))
def test_batched_distances_equal_the_dynamic_programme(compiled: bool,
                                                       pairs: list[tuple[list[str], list[str]]]) -> None:
    seqs = [s for pair in pairs for s in pair]  # empty, <= 64 and > 64 tokens all occur
    left = np.arange(0, len(seqs), 2)
    got = edit_distances(token_ids(seqs), left, left + 1, compiled)
    assert got.tolist() == [levenshtein(a, b) for a, b in pairs]


@pytest.mark.parametrize("compiled", WAYS)
def test_batched_distances_on_real_melodies_equal_one_pair_at_a_time(compiled: bool) -> None:
    """Tokens of corpus melodies (8-200 tokens: both the lane path and the long-pair path),
    5,000 random pairs plus every melody against a one-note edit of itself."""
    seqs = [melody_tokens(m) for _, m in corpus()]
    edited = [s[:len(s) // 2] + ("+99:1",) + s[len(s) // 2 + 1:] for s in seqs]
    allseqs = seqs + edited
    tok = token_ids(allseqs)
    lengths = tok.lengths
    rng = np.random.default_rng(8)
    left = np.r_[rng.integers(0, len(seqs), 5000), np.arange(len(seqs))]
    right = np.r_[rng.integers(0, len(seqs), 5000), np.arange(len(seqs)) + len(seqs)]
    assert (lengths > 64).any() and (lengths <= 64).any()
    got = edit_distances(tok, left, right, compiled)
    want = [edit_distance(allseqs[i], allseqs[j]) for i, j in zip(left.tolist(), right.tolist(), strict=True)]
    assert got.tolist() == want
    assert (got[5000:] <= 1).all() and (got[5000:] == 1).sum() > len(seqs) // 2


@pytest.mark.parametrize("compiled", WAYS)
def test_long_sides_of_several_words_equal_the_dynamic_programme(compiled: bool) -> None:
    """Shorter sides of 64 to 300 tokens (the blocked loop's words: 64, 65, 128, 129, 192 and
    between), over alphabets of 2 to 30 tokens (small ones make long carries), random
    pairs and near copies."""
    rng = np.random.default_rng(21)
    seqs = []
    for n in [0, 1, 63, 64, 65, 100, 127, 128, 129, 191, 192, 193, 300] * 4:
        alphabet = int(rng.choice([2, 3, 30]))
        seqs.append(tuple(rng.integers(0, alphabet, n).tolist()))
    copies = []
    for s in seqs:
        edited = list(s)
        for k in rng.integers(0, max(len(s), 1), 4).tolist():
            if edited:
                edited[k % len(edited)] = 99
        copies.append(tuple(edited[: len(edited) - int(rng.integers(0, 3))]))
    allseqs = seqs + copies
    left = np.r_[rng.integers(0, len(seqs), 150), np.arange(len(seqs))]
    right = np.r_[rng.integers(0, len(seqs), 150), np.arange(len(seqs)) + len(seqs)]
    got = edit_distances(token_ids(allseqs), left, right, compiled)
    assert got.tolist() == [levenshtein(allseqs[i], allseqs[j]) for i, j in zip(left.tolist(), right.tolist(),
                                                                                strict=True)]


@pytest.mark.parametrize("compiled", WAYS)
def test_no_pairs_and_identical_rows(compiled: bool) -> None:
    tok = token_ids([("a", "b"), ("a", "b"), ()])
    assert edit_distances(tok, np.zeros(0, int), np.zeros(0, int), compiled).tolist() == []
    assert edit_distances(tok, [0, 0, 2], [1, 2, 2], compiled).tolist() == [0, 2, 0]
    sub = tok.subset(np.array([2, 0]))
    assert [sub.row(0), sub.row(1)] == [[], tok.row(0)] and \
        edit_distances(sub, [0], [1], compiled).tolist() == [2]


def test_many_pairs_take_the_compiled_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without numba loaded, a call with ``COMPILED_PAIRS`` pairs or more loads it; fewer
    take the numpy lanes (the same distances either way, above)."""
    import sys

    from augment import editdist

    taken = []
    monkeypatch.setattr(editdist, "_lanes", lambda tok, s, l_: taken.append("lanes") or np.zeros(len(s), int))
    monkeypatch.setattr(editdist, "_compiled_loop", lambda: lambda *a: taken.append("compiled"))
    monkeypatch.delitem(sys.modules, "numba", raising=False)
    monkeypatch.setattr(editdist, "COMPILED_PAIRS", 3)
    tok = token_ids([("a", "b"), ("a", "c"), ("b",)])
    edit_distances(tok, [0, 0], [1, 2])
    edit_distances(tok, [0, 0, 1], [1, 2, 2])
    assert taken == ["lanes", "compiled"]
    # A pair with both sides longer than 64 tokens counts as 20 (the one-pair version's cost)
    long_pair = token_ids([("a",) * 70, ("a", "b") * 35])
    monkeypatch.setattr(editdist, "COMPILED_PAIRS", 21)
    assert edit_distances(long_pair, [0], [1]).tolist() == [35] and taken == ["lanes", "compiled"]
    monkeypatch.setattr(editdist, "COMPILED_PAIRS", 20)
    edit_distances(long_pair, [0], [1])
    assert taken == ["lanes", "compiled", "compiled"]


@settings(max_examples=200, deadline=None)
@given(st.lists(tokens, max_size=8), st.integers(1, 5))
def test_shingle_runs_are_each_sequences_shingles_with_repeats(seqs: list[list[str]], size: int) -> None:
    """Every run of ``size`` tokens of each sequence in order (a short one's one shingle),
    so that their distinct values are ``shingles`` and their signatures are the sets'."""
    x, offsets = shingle_runs(token_ids(seqs), size)
    assert x.dtype == np.uint64 and offsets.tolist()[0] == 0 and len(offsets) == len(seqs) + 1
    for k, seq in enumerate(seqs):
        mine = x[offsets[k]:offsets[k + 1]]
        assert len(mine) == (0 if not seq else max(len(seq) - size + 1, 1))
        assert sorted(set(mine.tolist())) == shingles(tuple(seq), size).tolist()
        windows = [shingles(tuple(seq[i:i + size]), size)[0] for i in range(len(seq) - size + 1)]
        assert len(seq) < size or mine.tolist() == windows  # in order, repeats kept
    hasher = MinHasher(16, seed=3)
    sets = [shingles(tuple(seq), size) for seq in seqs]
    for compiled in (True, False):
        for chunk in (1, 7, 1 << 16):
            assert np.array_equal(hasher.signatures_of_runs(x, offsets, chunk, compiled),
                                  hasher.signatures(sets, chunk, compiled))


def test_signatures_of_real_melodies_are_those_of_their_distinct_shingles() -> None:
    """``signatures_of`` signs the runs with repeats; the definition signs the sets."""
    melodies = [m for _, m in corpus()]
    tok = batch_tokens(melodies)
    assert tok is not None
    params = NearParams()
    x, offsets = shingle_runs(tok, params.shingle_size)
    sets = [shingles(melody_tokens(m), params.shingle_size) for m in melodies]
    assert len(x) > sum(map(len, sets))  # real tunes repeat
    assert np.array_equal(signatures_of(tok, params), MinHasher(params.num_perm).signatures(sets))
