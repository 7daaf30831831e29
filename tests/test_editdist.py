"""The batched edit distance (numpy lanes) equals the one-pair version and the textbook DP."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from augment.editdist import edit_distances, token_ids
from augment.near import edit_distance, melody_tokens, shingle_sets, shingles
from dataset_util import corpus
from test_fast_paths import levenshtein

tokens = st.lists(st.sampled_from(["+1:1", "-1:1", "+2:1/2", "R:2", "0:1"]), max_size=90)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(tokens, tokens), min_size=1, max_size=12))
def test_batched_distances_equal_the_dynamic_programme(pairs: list[tuple[list[str], list[str]]]) -> None:
    seqs = [s for pair in pairs for s in pair]  # empty, <= 64 and > 64 tokens all occur
    left = np.arange(0, len(seqs), 2)
    got = edit_distances(token_ids(seqs), left, left + 1)
    assert got.tolist() == [levenshtein(a, b) for a, b in pairs]


def test_batched_distances_on_real_melodies_equal_one_pair_at_a_time() -> None:
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
    got = edit_distances(tok, left, right)
    want = [edit_distance(allseqs[i], allseqs[j]) for i, j in zip(left.tolist(), right.tolist(), strict=True)]
    assert got.tolist() == want
    assert (got[5000:] <= 1).all() and (got[5000:] == 1).sum() > len(seqs) // 2


def test_no_pairs_and_identical_rows() -> None:
    tok = token_ids([("a", "b"), ("a", "b"), ()])
    assert edit_distances(tok, np.zeros(0, int), np.zeros(0, int)).tolist() == []
    assert edit_distances(tok, [0, 0, 2], [1, 2, 2]).tolist() == [0, 2, 0]
    sub = tok.subset(np.array([2, 0]))
    assert [sub.row(0), sub.row(1)] == [[], tok.row(0)] and edit_distances(sub, [0], [1]).tolist() == [2]


@settings(max_examples=200, deadline=None)
@given(st.lists(tokens, max_size=8), st.integers(1, 5))
def test_shingle_sets_equal_shingles_one_sequence_at_a_time(seqs: list[list[str]], size: int) -> None:
    """Empty, shorter-than-a-shingle and long sequences alike."""
    got = shingle_sets(token_ids(seqs), size)
    assert len(got) == len(seqs)
    for mine, seq in zip(got, seqs, strict=True):
        want = shingles(tuple(seq), size)
        assert mine.dtype == want.dtype and mine.tolist() == want.tolist()
