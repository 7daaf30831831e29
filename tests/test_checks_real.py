"""The default checks on real music (music21's corpus), on random notes and on lying prompts.

Labels: Bach chorale sopranos carry the chorale's notated key (key signature read with the
final bass note as tonic, from ``corpus_util``); Essen folk songs carry their key signature
read with the song's final note as tonic. Songs whose final note is neither the major nor
the relative minor tonic of the signature (modal tunes) have no honest label and are left out.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from augment.checks import run_checks
from augment.config import ChecksConfig
from augment.example import Example, Message
from augment.melody import Melody
from augment.theory import Key
from corpus_util import bach_chorales, essen_labelled

CONFIG = ChecksConfig()


@pytest.fixture(scope="module")
def labelled(request: pytest.FixtureRequest) -> list[tuple[Melody, Key]]:
    cache = getattr(request.config, "cache", None)  # None under -p no:cacheprovider: no disk cache
    cache_dir = Path(str(cache.mkdir("corpus"))) if cache is not None else None
    items = list(bach_chorales(cache_dir)) + list(essen_labelled(cache_dir))
    out = [(it.melody, it.notated_key) for it in items if it.notated_key is not None]
    assert len(out) >= 300
    return out


def example(melody: Melody, prompt: str, key: Key | None) -> Example:
    messages = (Message("user", prompt), Message("assistant", "melody_pitch_duration_data: []"))
    return replace(Example.seed(messages, melody, 1, "test"), key=key)


def acceptance(cases: list[tuple[Melody, Key]], shift: int) -> float:
    passed = 0
    for melody, key in cases:
        claimed = key.transposed(shift)
        passed += not run_checks(example(melody, f"Write a melody in {claimed.name}.", claimed), CONFIG)
    return passed / len(cases)


def test_real_melodies_in_their_true_key_pass(labelled: list[tuple[Melody, Key]]) -> None:
    rate = acceptance(labelled, 0)
    print(f"accepted {rate:.1%} of {len(labelled)} real melodies stated in their true key")
    assert rate >= 0.95


def test_real_melodies_with_a_tritone_wrong_key_are_flagged(labelled: list[tuple[Melody, Key]]) -> None:
    rate = 1 - acceptance(labelled, 6)
    print(f"flagged {rate:.1%} of {len(labelled)} real melodies stated a tritone away")
    assert rate >= 0.95


def random_melodies(n: int, rng: np.random.Generator) -> list[Melody]:
    out = []
    durations = [0.25, 0.5, 0.5, 1.0, 1.0, 1.5, 2.0]
    for _ in range(n):
        length = int(rng.integers(8, 40))
        pitches = rng.integers(55, 80, size=length)
        out.append(Melody.from_pairs((int(p), durations[int(rng.integers(len(durations)))])
                                     for p in pitches))
    return out


def test_random_pitch_sequences_are_rejected() -> None:
    rng = np.random.default_rng(2026)
    melodies = random_melodies(500, rng)
    rejected = 0
    for i, melody in enumerate(melodies):
        claimed = Key(i % 12, "major" if i % 2 else "minor")
        rejected += bool(run_checks(example(melody, f"A tune in {claimed.name}", claimed), CONFIG))
    assert rejected / len(melodies) >= 0.99
