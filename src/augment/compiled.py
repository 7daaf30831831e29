"""numba, for the few loops that numpy cannot vectorize (MinHash minima, the checks' loop,
edit distances of many pairs): imported only by a process that runs one of them."""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import lru_cache
from typing import Any

# What numba imports, when its compiler's tables first load, only to learn whether a BLAS
# is there for ``np.dot`` inside compiled code (``numba.np.arraymath._HAVE_BLAS``; our loops
# use none): with SciPy installed this pulls in all of ``scipy.linalg``, ~0.3 s of the
# ~1.2 s that a process's first compiled loop costs on the benchmarks' machine.
BLAS_PROBE = "scipy.linalg.cython_blas"


def njit(loop: Callable[..., Any]) -> Callable[..., Any]:
    """``loop`` compiled for this machine. numba is imported here, on first use (a process
    that never runs such a loop does not pay for it); the machine code is cached on disk by
    numba, next to the loop's module or in the user's cache directory, so later processes
    only load it. With no writable cache directory anywhere it is compiled in memory, once
    a process."""
    numba = _numba()
    try:
        return numba.njit(cache=True, nogil=True)(loop)
    except RuntimeError:  # no writable cache directory anywhere
        return numba.njit(nogil=True)(loop)


@lru_cache(maxsize=1)
def _numba() -> Any:
    """numba imported and its compiler's tables loaded now (they load at the first compiled
    call otherwise), with ``BLAS_PROBE`` unimportable meanwhile unless it is imported
    already: numba then finds no BLAS, which changes only how compiled ``np.correlate`` and
    ``np.convolve`` multiply (numba's own loop), and the probe can be imported again after.
    (Another thread importing ``scipy.linalg`` in that moment would fail; a run loads numba
    before its pool starts, with no other thread at work.)"""
    blocked = BLAS_PROBE not in sys.modules
    if blocked:
        sys.modules[BLAS_PROBE] = None  # type: ignore[assignment]  # an import of it fails
    try:
        import numba

        try:
            from numba.core.registry import cpu_target

            cpu_target.typing_context.refresh()
            cpu_target.target_context.refresh()
        except (ImportError, AttributeError):  # another numba's layout: the tables load later
            pass
    finally:
        if blocked and BLAS_PROBE in sys.modules and sys.modules[BLAS_PROBE] is None:
            del sys.modules[BLAS_PROBE]
    return numba
