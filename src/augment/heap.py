"""Give the C heap's free memory back to the system between the stages of a big run.

A run's main process takes in one small block of arrays per seed (fingerprints, LSH
buckets, melodies) and later joins them into one array each; the small blocks came from the
C heap (glibc's ``malloc``), and once freed they stay there, counted in the process's
resident memory, between live objects the allocator cannot move. ``malloc_trim`` hands such
free pages back (at 300,000 examples ~220 MB after dedup). Only glibc has it: elsewhere this
does nothing.

Giving pages back is not free: a page the process touches again faults in afresh (on
these virtual machines ~5 us a page, the host handing it over again). A pool process
running hundreds of seeds therefore gives its heap back only when it has grown by
``HeapTrimmer``'s margin since it last did, not after every seed (benchmarks/HISTORY.md,
twenty-second round).
"""

from __future__ import annotations

import ctypes
import os
import platform
from functools import lru_cache
from typing import Any


@lru_cache(maxsize=1)
def _libc() -> Any:
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return None
    try:  # the C library this process already runs with (no search for it)
        libc = ctypes.CDLL(None)
        return libc if hasattr(libc, "malloc_trim") else None
    except OSError:
        return None


def release_free_memory() -> bool:
    """Return the C heap's free pages to the system; whether it could (glibc only)."""
    libc = _libc()
    if libc is None:
        return False
    libc.malloc_trim(0)
    return True


def resident_bytes() -> int | None:
    """This process's resident memory (Linux: ``/proc/self/statm``, ~15 us); None elsewhere."""
    try:
        with open("/proc/self/statm", "rb") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


class HeapTrimmer:
    """``release_free_memory`` when this process's resident memory has grown by more than
    ``margin`` bytes since the trimmer last gave memory back (or first looked): a pool
    process calls ``after_work`` after each seed. The free heap a seed leaves is what the
    next seed allocates again, so keeping it saves faulting it back in (a worker's 260
    corpus seeds of 3,365 draws: 1.5-1.6M page faults and 3.5-3.7 s of system time when
    trimming after each seed, 0.14-0.16M and 0.3-0.4 s this way, peak resident memory 203
    -> 257-263 MB); the margin bounds what is kept. Where the resident memory cannot be
    read, it trims every time, as before."""

    def __init__(self, margin: int) -> None:
        self.margin = margin
        self.baseline: int | None = None

    def after_work(self) -> bool:
        """Trim if the process has grown past the margin; whether it did."""
        now = resident_bytes()
        if now is not None:
            if self.baseline is None:  # the first look: what later growth is measured from
                self.baseline = now
            if now - self.baseline <= self.margin:
                return False
        done = release_free_memory()
        self.baseline = resident_bytes()
        return done
