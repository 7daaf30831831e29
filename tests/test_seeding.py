"""seeding.VariantStreams gives bit for bit the streams of pipeline.variant_rng."""

from __future__ import annotations

import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from augment.pipeline import variant_rng
from augment.seeding import VariantStreams, pcg64_states

RUN_SEEDS = [0, 1, 2**40 + 3]
SEED_IDS = ["a", "seed-0001", "mélodie-♪-旋律-🎵", "x" * 300 + "ü" * 50]


def draws(gen: np.random.Generator) -> list:
    return [gen.random(5).tolist(), gen.integers(0, 1000, 5).tolist(), int(gen.choice(7)),
            gen.normal(size=2).tolist(), int(gen.integers(0, 2**32, dtype=np.uint32))]


def assert_same(streams: VariantStreams, run_seed: int, seed_id: str, index: int) -> None:
    got, want = streams.rng(index), variant_rng(run_seed, seed_id, index)
    assert got.bit_generator.state == want.bit_generator.state, (run_seed, seed_id, index)
    assert draws(got) == draws(want), (run_seed, seed_id, index)


@pytest.mark.parametrize("seed_id", SEED_IDS, ids=["one-char", "plain", "unicode", "long"])
@pytest.mark.parametrize("run_seed", RUN_SEEDS)
def test_consecutive_indices_match_variant_rng(run_seed, seed_id):
    streams = VariantStreams(run_seed, seed_id)
    for index in range(3001):
        assert_same(streams, run_seed, seed_id, index)


@pytest.mark.parametrize("run_seed", RUN_SEEDS)
def test_any_order_matches_variant_rng(run_seed):
    rnd = random.Random(run_seed)
    for seed_id in SEED_IDS:
        streams = VariantStreams(run_seed, seed_id)
        large = [rnd.randrange(3001, 10**15) for _ in range(40)]
        # Jumps back into and past the computed block, large indices, runs starting after them.
        order = [0, 1, 2, 70, 69, 0, 500, 3, 2000, 2001, 2002, 1999, 64, 63, 65, 191, 192, 193]
        order += large + [large[0] + k for k in range(1, 200)] + rnd.sample(range(3000), 300)
        for index in order:
            assert_same(streams, run_seed, seed_id, index)


def test_small_blocks_cross_boundaries():
    for min_block, max_block in [(1, 1), (1, 3), (2, 5), (7, 7)]:
        streams = VariantStreams(5, "blocks", min_block=min_block, max_block=max_block)
        for index in range(60):
            assert_same(streams, 5, "blocks", index)


def test_non_int_indices_are_formatted_like_variant_rng():
    streams = VariantStreams(3, "kinds")
    for index in [np.int64(7), np.uint32(8), True, False, -1, -12]:
        assert_same(streams, 3, "kinds", index)  # type: ignore[arg-type]
    for index in range(0, 20):  # and blocks still work afterwards
        assert_same(streams, 3, "kinds", index)


def test_reused_generator_is_reset_each_call():
    streams = VariantStreams(2**40 + 3, "reuse")
    gen = streams.rng(5)
    gen.random(3)
    gen.integers(0, 100, dtype=np.uint32)  # leaves half a 64-bit word cached (has_uint32)
    assert gen.bit_generator.state["has_uint32"] == 1
    assert streams.rng(6) is gen
    assert_same(streams, 2**40 + 3, "reuse", 6)
    partly = streams.rng(5)
    partly.integers(0, 100, dtype=np.uint32)
    assert_same(streams, 2**40 + 3, "reuse", 5)  # the fresh stream again
    assert_same(streams, 2**40 + 3, "reuse", 5)


def test_bad_block_sizes_are_refused():
    with pytest.raises(ValueError):
        VariantStreams(0, "a", min_block=0)
    with pytest.raises(ValueError):
        VariantStreams(0, "a", min_block=8, max_block=4)


def pcg64_reference(entropy: int) -> list[int]:
    state = np.random.PCG64(entropy).state["state"]
    mask = (1 << 64) - 1
    return [state["state"] & mask, state["state"] >> 64, state["inc"] & mask, state["inc"] >> 64]


def entropy_words(values: list[int]) -> np.ndarray:
    raw = b"".join(v.to_bytes(16, "little") for v in values)
    return np.frombuffer(raw, dtype="<u4").reshape(len(values), 4)


def test_pcg64_states_of_short_entropy():
    # numpy gives ints below 2**96 (and 0) fewer than 4 words; the pool treats them as zeros.
    values = [0, 1, 2**32 - 1, 2**32, 2**64 - 1, 2**64 + 5, 2**96 - 1, 2**96, 2**127, 2**128 - 1]
    got = pcg64_states(entropy_words(values)).tolist()
    assert got == [pcg64_reference(v) for v in values]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(0, 2**128 - 1), min_size=1, max_size=20))
def test_pcg64_states_property(values):
    assert pcg64_states(entropy_words(values)).tolist() == [pcg64_reference(v) for v in values]


@settings(max_examples=150, deadline=None)
@given(run_seed=st.integers(0, 2**64),
       seed_id=st.text(alphabet=st.characters(codec="utf-8"), max_size=80),
       index=st.integers(0, 10**12))
def test_variant_streams_property(run_seed, seed_id, index):
    streams = VariantStreams(run_seed, seed_id, min_block=2, max_block=8)
    for k in [0, 1, 2, 3, 1, 9, 4, 5]:  # first one seeded alone, then blocks after it, a jump back
        assert_same(streams, run_seed, seed_id, index + k)
    assert_same(streams, run_seed, seed_id, 0)
