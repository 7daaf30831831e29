"""The batched edit distance (numpy lanes, and the compiled loop over pairs) equals the
one-pair version and the textbook DP."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from augment.editdist import edit_distances, token_ids
from augment.near import edit_distance, melody_tokens, shingle_sets, shingles
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


@settings(max_examples=200, deadline=None)
@given(st.lists(tokens, max_size=8), st.integers(1, 5))
def test_shingle_sets_equal_shingles_one_sequence_at_a_time(seqs: list[list[str]], size: int) -> None:
    """Empty, shorter-than-a-shingle and long sequences alike."""
    got = shingle_sets(token_ids(seqs), size)
    assert len(got) == len(seqs)
    for mine, seq in zip(got, seqs, strict=True):
        want = shingles(tuple(seq), size)
        assert mine.dtype == want.dtype and mine.tolist() == want.tolist()
