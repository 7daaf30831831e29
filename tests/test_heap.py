"""heap.release_free_memory: gives the C heap's free pages back (glibc), harmless elsewhere."""

from __future__ import annotations

import platform

import numpy as np

from augment.heap import release_free_memory


def _resident_mb() -> float:
    with open("/proc/self/statm", encoding="ascii") as f:
        return int(f.read().split()[1]) * 4096 / 2**20


def test_release_free_memory_gives_back_the_holes_freed_blocks_leave() -> None:
    if not (platform.system() == "Linux" and platform.libc_ver()[0] == "glibc"):
        assert release_free_memory() is False
        return
    # Small arrays (64 KB: below malloc's mmap threshold, so from the heap); every other one
    # is freed, leaving holes between live blocks that the heap cannot give back by shrinking.
    blocks = [np.ones(8_000) for _ in range(4_000)]  # ~256 MB
    kept = blocks[1::2]
    del blocks
    held = _resident_mb()
    assert release_free_memory() is True
    assert held - _resident_mb() > 80  # of the ~128 MB freed
    assert all(float(b[-1]) == 1.0 for b in kept)  # the live blocks are untouched
