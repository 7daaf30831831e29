"""heap.release_free_memory: gives the C heap's free pages back (glibc), harmless elsewhere;
heap.HeapTrimmer: does so only past a margin of growth."""

from __future__ import annotations

import platform

import numpy as np
import pytest

from augment.heap import HeapTrimmer, release_free_memory, resident_bytes


def _resident_mb() -> float:
    with open("/proc/self/statm", encoding="ascii") as f:
        return int(f.read().split()[1]) * 4096 / 2**20


def _holes() -> list[np.ndarray]:
    """Small arrays (64 KB: below malloc's mmap threshold, so from the heap), ~256 MB; every
    other one is freed, leaving holes between live blocks that the heap cannot give back by
    shrinking. The live half is returned."""
    blocks = [np.ones(8_000) for _ in range(4_000)]
    kept = blocks[1::2]
    del blocks
    return kept


def test_release_free_memory_gives_back_the_holes_freed_blocks_leave() -> None:
    if not (platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"):
        assert release_free_memory() is False
        return
    kept = _holes()
    held = _resident_mb()
    assert release_free_memory() is True
    assert held - _resident_mb() > 80  # of the ~128 MB freed
    assert all(float(b[-1]) == 1.0 for b in kept)  # the live blocks are untouched


def test_heap_trimmer_gives_memory_back_only_past_its_margin() -> None:
    if not (platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"):
        assert release_free_memory() is False
        return
    assert resident_bytes() is not None
    # A margin larger than the growth: the freed holes stay with the process.
    patient = HeapTrimmer(margin=1 << 40)
    assert patient.after_work() is False  # (the first look sets the baseline)
    kept = _holes()
    held = _resident_mb()
    assert patient.after_work() is False
    assert _resident_mb() - held > -20  # nothing given back
    del kept
    release_free_memory()  # (else the next blocks reuse the freed heap, growing nothing)
    # A margin below the growth: given back once, then not again until it grows once more.
    trimmer = HeapTrimmer(margin=64 << 20)
    assert trimmer.after_work() is False
    kept = _holes()
    held = _resident_mb()
    assert trimmer.after_work() is True
    assert held - _resident_mb() > 80  # of the ~128 MB freed
    assert trimmer.after_work() is False  # no growth since
    assert all(float(b[-1]) == 1.0 for b in kept)


def test_heap_trimmer_trims_each_time_without_the_resident_size(monkeypatch: pytest.MonkeyPatch) -> None:
    import augment.heap as heap

    calls = []
    monkeypatch.setattr(heap, "resident_bytes", lambda: None)
    monkeypatch.setattr(heap, "release_free_memory", lambda: calls.append(1) or True)
    trimmer = HeapTrimmer(margin=1 << 40)
    assert trimmer.after_work() is True
    assert trimmer.after_work() is True
    assert len(calls) == 2
