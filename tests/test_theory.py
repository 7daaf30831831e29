"""Keys, modes and batch key finding: exact values and invariants."""

from __future__ import annotations

import dataclasses
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from augment.melody import Melody, transpose
from augment.theory import (
    MODES,
    NO_CADENCE,
    PROFILES,
    CadenceWeights,
    Key,
    MelodyArrays,
    detect_key,
    detect_key_each,
    detect_keys,
    find_keys,
    histograms,
    mode_fit,
    rank_modes,
)

C_MAJOR_TUNE = Melody.from_pairs([(60, 1), (64, 1), (67, 1), (65, 0.5), (64, 0.5), (62, 1), (59, 1),
                                  (60, 2)])
D_DORIAN_TUNE = Melody.from_pairs([(62, 1), (65, 1), (69, 1), (71, 1), (72, 0.5), (71, 0.5), (69, 1),
                                   (67, 1), (65, 1), (64, 1), (62, 2)])


def test_key_names_keep_ascii_spelling() -> None:
    assert Key(3, "major").name == "Eb major"
    assert Key(6, "minor").name == "F# minor"
    assert Key(2, "dorian").name == "D dorian"
    assert Key(5, "locrian").name == "F locrian"      # not E# locrian
    assert Key(8, "mixolydian").name == "Ab mixolydian"
    assert Key(4, "phrygian").name == "E phrygian"


def test_ionian_and_aeolian_are_aliases() -> None:
    assert Key(0, "ionian") == Key(0, "major")  # type: ignore[arg-type]
    assert Key(9, "aeolian") == Key(9, "minor")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unknown mode"):
        Key(0, "hypodorian")  # type: ignore[arg-type]


def test_mode_scales_triads_and_relatives() -> None:
    assert Key(2, "dorian").scale_pitch_classes() == Key(0, "major").scale_pitch_classes()
    assert Key(7, "mixolydian").scale_pitch_classes() == frozenset({7, 9, 11, 0, 2, 4, 5})
    assert Key(9, "minor").triad_pitch_classes() == (9, 0, 4)
    assert Key(11, "locrian").triad_pitch_classes() == (11, 2, 5)     # diminished
    assert Key(2, "dorian").relative == Key(0, "major")
    assert Key(9, "minor").relative == Key(0, "major")
    assert Key(0, "major").relative == Key(9, "minor")


def test_profiles_are_musics21s_four_plus_simple() -> None:
    assert set(PROFILES) == {"krumhansl", "aarden", "temperley", "bellman", "simple"}
    assert PROFILES["bellman"][0][7] == 20.28  # the dominant is Bellman-Budge's strongest major weight


def test_c_major_scale_tune_is_c_major_with_confidence() -> None:
    est = detect_key(C_MAJOR_TUNE)
    assert est is not None and est.key == Key(0, "major")
    assert est.correlation > 0.7 and est.margin > 0.1
    assert est.runner_up != est.key


def test_dorian_melody_ranks_dorian_first_on_its_tonic() -> None:
    ranked = rank_modes(D_DORIAN_TUNE, 2)
    assert ranked[0][0] == Key(2, "dorian")
    assert mode_fit(D_DORIAN_TUNE, Key(2, "dorian")) > mode_fit(D_DORIAN_TUNE, Key(2, "minor"))
    assert {k.mode for k, _ in ranked} == set(MODES)


def test_batch_histograms_match_per_melody_histograms_with_rests() -> None:
    melodies = [C_MAJOR_TUNE, Melody((None, 61, None), (Fraction(1), Fraction(1, 3), Fraction(2))),
                Melody((), ()), D_DORIAN_TUNE]
    batch = histograms(melodies)
    for row, m in zip(batch, melodies, strict=True):
        np.testing.assert_allclose(row, m.pitch_class_histogram())
    first, last = MelodyArrays.of(melodies).first_last_pitches()
    assert first.tolist() == [60, 61, -1, 62] and last.tolist() == [60, 61, -1, 62]


def test_melodies_without_notes_have_no_key() -> None:
    assert detect_keys([Melody((), ()), Melody((None,), (Fraction(1),))]) == [None, None]
    assert detect_keys([]) == []


def test_cadence_bonus_decides_between_relative_keys() -> None:
    # White notes whose histogram alone says A minor; ending on C makes it C major.
    body = [72, 60, 62, 71, 64, 60, 71]
    ending_c = Melody.from_pairs([(p, 1) for p in body + [60]])
    ending_a = Melody.from_pairs([(p, 1) for p in body + [57]])
    for melody in (ending_c, ending_a):
        plain = detect_key(melody, cadence=NO_CADENCE)
        assert plain is not None and plain.key == Key(9, "minor")
    c, a = detect_keys([ending_c, ending_a])
    assert c is not None and c.key == Key(0, "major") and c.runner_up == Key(9, "minor")
    assert a is not None and a.key == Key(9, "minor")


def test_no_cadence_equals_find_keys() -> None:
    melodies = [C_MAJOR_TUNE, D_DORIAN_TUNE]
    plain = [(e.key, e.correlation) for e in detect_keys(melodies, cadence=NO_CADENCE) if e]
    assert plain == [(k, pytest.approx(c)) for k, c, _ in find_keys(histograms(melodies))]


melodies = st.lists(
    st.tuples(st.one_of(st.none(), st.integers(40, 90)), st.sampled_from([Fraction(1, 4), Fraction(1, 3),
                                                                         Fraction(1, 2), Fraction(1),
                                                                         Fraction(3, 2)])),
    min_size=1, max_size=30,
).filter(lambda ps: any(p is not None for p, _ in ps)).map(
    lambda ps: Melody(tuple(p for p, _ in ps), tuple(d for _, d in ps)))


@settings(max_examples=200, deadline=None)
@given(melodies, st.integers(-12, 12), st.sampled_from(sorted(PROFILES)),
       st.sampled_from([NO_CADENCE, CadenceWeights()]))
def test_transposing_moves_the_detected_tonic_by_the_same_interval(
        melody: Melody, k: int, profile: str, cadence: CadenceWeights) -> None:
    before, after = detect_keys([melody, transpose(melody, k)], profile, cadence)
    assert before is not None and after is not None
    # Exact ties are broken by pitch class (as music21 does), which transposition does not
    # preserve; everywhere else the key moves with the melody.
    if before.margin > 1e-9:
        assert after.key == before.key.transposed(k)
        assert after.correlation == pytest.approx(before.correlation)


def test_melody_arrays_copy_between_processes_exactly() -> None:
    """``MelodyArrays`` travels in its compact form (byte pitches, integer ticks) when it
    can, and in full otherwise (off-grid durations); either way it comes back equal."""
    import pickle

    from augment.melody import Melody
    from augment.theory import MelodyArrays
    from dataset_util import corpus

    extremes = Melody.from_pairs([[None, 1], [127, 0.25], [0, 3]])
    on_grid = MelodyArrays.of([m for _, m in corpus()[:200]] + [extremes])
    off_grid = MelodyArrays.of([Melody.from_pairs([[60, Fraction(1, 7)], [None, 1]])])
    empty = MelodyArrays.of([])
    for arrays in (on_grid, off_grid, empty):
        data = pickle.dumps(arrays)
        back = pickle.loads(data)
        for name in ("pitches", "quarters", "starts"):
            got, want = getattr(back, name), getattr(arrays, name)
            assert got.dtype == want.dtype and np.array_equal(got, want), name
    assert len(pickle.dumps(on_grid)) < 0.4 * (on_grid.pitches.nbytes + on_grid.quarters.nbytes)


def test_packed_melodies_unpack_and_join_to_the_same_arrays() -> None:
    """A batch waits packed (``MelodyArrays.pack``) and is joined with others by ``concat``:
    the same arrays as ``MelodyArrays.of`` all the melodies; no packing off the grid."""
    from fractions import Fraction

    from augment.melody import Melody
    from augment.theory import MelodyArrays
    from dataset_util import corpus

    melodies = [m for _, m in corpus()[:120]]
    off_grid = [Melody.from_pairs([[60, Fraction(1, 7)], [None, 1]])]
    parts = [MelodyArrays.of(melodies[:50]), MelodyArrays.of([]), MelodyArrays.of(melodies[50:]),
             MelodyArrays.of(off_grid)]
    packed = [p.pack() or p for p in parts]
    assert [type(p).__name__ for p in packed] == ["PackedMelodies", "MelodyArrays", "PackedMelodies",
                                                  "MelodyArrays"]
    assert packed[0].pitches.dtype == np.int8 and packed[0].ticks.dtype == np.int32
    want = MelodyArrays.of(melodies + off_grid)
    for got in (MelodyArrays.concat(packed), MelodyArrays.concat(parts)):
        for name in ("pitches", "quarters", "starts"):
            assert getattr(got, name).dtype == getattr(want, name).dtype
            assert np.array_equal(getattr(got, name), getattr(want, name)), name
    unpacked = packed[2].unpack()
    assert np.array_equal(unpacked.quarters, parts[2].quarters) and len(packed[2]) == len(parts[2])
    assert len(MelodyArrays.concat([])) == 0


@pytest.mark.parametrize("each_from", [1, None], ids=["numpy-from-1", "numpy-from-default"])
def test_detect_key_each_gives_detect_keys_floats_melody_by_melody(each_from: int | None,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Real melodies and rule variants of them (rests, durations off the tick grid, no
    notes, only rests, pitches below 0), all at once and in blocks of other sizes, under
    other profiles and cadence weights: each estimate equals ``detect_key``'s, float for
    float (a product of many rows at once would differ in the last bit). With the batch
    pass for every block (``each_from`` 1) and for blocks of ``EACH_FROM`` melodies or more
    (fewer ask ``detect_key`` of each)."""
    from collections import Counter

    from augment import theory

    assert theory.EACH_FROM > 1
    if each_from is not None:
        monkeypatch.setattr(theory, "EACH_FROM", each_from)

    from augment.config import load_config
    from augment.drawing import draw_variants
    from conftest import DEFAULT_RULES
    from dataset_util import corpus, seeds_from_corpus

    config = load_config(DEFAULT_RULES.parent / "wide.toml")
    config = dataclasses.replace(config, expand=dataclasses.replace(config.expand, variants_per_seed=300))
    melodies = [m for _, m in corpus()[:400]]
    for seed in seeds_from_corpus(4, step=37):
        melodies += [v.melody for v in draw_variants(seed, config, 7, Counter())]
    melodies += [Melody((), ()), Melody((None, None), (1, 2)), Melody.from_ticks((-3, 60, 64), (48, 48, 96)),
                 Melody.from_ticks((-3, -5), (48, 48)),
                 Melody([60, None, 67], [Fraction(4, 5), 1, Fraction(1, 3)])]
    assert any(None in m.pitches for m in melodies) and any(not m.is_on_grid() for m in melodies)
    others = (("krumhansl", NO_CADENCE), ("simple", CadenceWeights(0.3, 0.1, 0.0, 0.2)))
    for profile, cadence in ((None, None), *others):
        args = {} if profile is None else {"profile": profile, "cadence": cadence}
        one = [detect_key(m, **args) for m in melodies]  # type: ignore[arg-type]
        assert detect_key_each(melodies, **args) == one  # type: ignore[arg-type]
        for block in (1, 4, 9, 250):
            got = []
            for lo in range(0, len(melodies), block):
                got += detect_key_each(melodies[lo:lo + block], **args)  # type: ignore[arg-type]
            assert got == one
    assert one[-5] is None and one[-4] is None and one[-3] is not None and one[-2] is None
