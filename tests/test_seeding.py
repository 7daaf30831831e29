"""seeding.VariantStreams gives bit for bit the streams of drawing.variant_rng."""

from __future__ import annotations

import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from augment import seeding
from augment.drawing import variant_rng
from augment.seeding import VariantStreams, pcg64_outputs, pcg64_states

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


# DrawStream: a variant's random() and integers(n) without numpy's per-call cost.

def states_of(values: list[int]) -> np.ndarray:
    return np.array([pcg64_reference(v) for v in values], dtype=np.uint64)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 2**128 - 1), min_size=1, max_size=12), st.integers(0, 40))
def test_pcg64_outputs_are_numpys_raw_outputs(values, count):
    """Both ways (all at once for a small block, column after column for a large one)."""
    want = [np.random.PCG64(v).random_raw(count).tolist() for v in values]
    states = states_of(values)
    assert pcg64_outputs(states, count).tolist() == want
    assert seeding._outputs_at_once(states, count).tolist() == want
    assert seeding._outputs_stepped(states, count).tolist() == want


def test_pcg64_outputs_of_a_block_past_at_once_are_numpys(monkeypatch: pytest.MonkeyPatch) -> None:
    """A block larger than ``AT_ONCE`` (stepped) and one within it, either side of the bound."""
    values = list(range(2**100, 2**100 + 300))
    states = states_of(values)
    want = [np.random.PCG64(v).random_raw(30).tolist() for v in values]
    calls: list[str] = []
    for name in ("_outputs_at_once", "_outputs_stepped"):
        real = getattr(seeding, name)
        monkeypatch.setattr(seeding, name,
                            lambda s, c, real=real, name=name: calls.append(name) or real(s, c))
    assert pcg64_outputs(states, 30).tolist() == want  # 9,000 > AT_ONCE
    assert pcg64_outputs(states[:200], 30).tolist() == want[:200]  # 6,000
    assert calls == ["_outputs_stepped", "_outputs_at_once"]


# A read: random(), or integers(n) for n from 1 to 2**32 - 1 (large n reach Lemire's
# redraw, and the high half of an output waits between 32-bit draws).
READS = st.lists(st.one_of(st.none(), st.integers(1, 12), st.integers(1, 2**32 - 1),
                           st.integers(2**31, 2**32 - 1)), max_size=40)


def read(source, reads: list) -> list:  # type: ignore[no-untyped-def]
    return [source.random() if n is None else int(source.integers(n)) for n in reads]


@settings(max_examples=300, deadline=None)
@given(run_seed=st.integers(0, 2**64), seed_id=st.text(max_size=20), index=st.integers(0, 3000),
       outputs=st.integers(0, 24), reads=READS, more=READS)
def test_a_draw_stream_reads_as_the_variants_generator(run_seed, seed_id, index, outputs, reads,
                                                       more):
    """Every read equals the numpy generator's (past the outputs worked out too), and the
    generator it hands over is in the same state and goes on as numpy's does."""
    streams = VariantStreams(run_seed, seed_id, min_block=4, max_block=16, outputs=outputs)
    for k in range(index % 7):  # a place inside a block run
        streams.stream(k)
    want = variant_rng(run_seed, seed_id, index % 7)
    stream = streams.stream(index % 7)
    assert read(stream, reads) == read(want, reads)
    handed = stream.generator()
    assert handed.bit_generator.state == want.bit_generator.state
    assert read(handed, more) == read(want, more) and draws(handed) == draws(want)
    with pytest.raises(RuntimeError):
        stream.random()
    with pytest.raises(RuntimeError):
        stream.generator()  # handed over once only


def test_a_stream_of_an_index_out_of_its_run_or_not_an_int():
    streams = VariantStreams(5, "jump", outputs=3)
    for index in [100, 7, np.int64(9), True, -4, 101]:
        want = variant_rng(5, "jump", index)  # type: ignore[arg-type]
        stream = streams.stream(index)  # type: ignore[arg-type]
        reads = [None, 5, None, 2**32 - 1, 3, None, None, 9, None]
        assert read(stream, reads) == read(want, reads)
        assert stream.generator().bit_generator.state == want.bit_generator.state


def test_a_stream_refuses_what_it_cannot_draw_and_reads_nothing_for_one():
    stream = VariantStreams(0, "n").stream(0)
    for n in (0, -1, 2**32, 2.0, np.int64(3)):
        with pytest.raises(ValueError):
            stream.integers(n)  # type: ignore[arg-type]
    want = variant_rng(0, "n", 0)
    assert [stream.integers(1), stream.random()] == [int(want.integers(1)), want.random()]
