"""numba, for the few loops that numpy cannot vectorize (MinHash minima, the checks' loop,
edit distances of many pairs): imported only by a process that runs one of them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def njit(loop: Callable[..., Any]) -> Callable[..., Any]:
    """``loop`` compiled for this machine. numba is imported here, on first use (a process
    that never runs such a loop does not pay for it); the machine code is cached on disk by
    numba, next to the loop's module or in the user's cache directory, so later processes
    only load it. With no writable cache directory anywhere it is compiled in memory, once
    a process."""
    import numba

    try:
        return numba.njit(cache=True, nogil=True)(loop)
    except RuntimeError:  # no writable cache directory anywhere
        return numba.njit(nogil=True)(loop)
