"""Give the C heap's free memory back to the system between the stages of a big run.

A run's main process takes in one small block of arrays per seed (fingerprints, LSH
buckets, melodies) and later joins them into one array each; the small blocks came from the
C heap (glibc's ``malloc``), and once freed they stay there, counted in the process's
resident memory, between live objects the allocator cannot move. ``malloc_trim`` hands such
free pages back (at 300,000 examples ~220 MB after dedup). Only glibc has it: elsewhere this
does nothing.
"""

from __future__ import annotations

import ctypes
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
