"""``compiled``: numba loaded without the import of SciPy's BLAS it makes only to learn
whether compiled ``np.dot`` may call a BLAS (none of our loops does)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

import pytest

from augment import compiled

# In a fresh process: the compiled MinHash loop runs (loaded from numba's cache or compiled)
# beside its numpy stand-in; then what was imported, and whether the probe imports after.
SCRIPT = """
import json, sys
import numpy as np
from augment import compiled, near
if sys.argv[1] == "probe first":
    import scipy.linalg.cython_blas
    first = sys.modules[compiled.BLAS_PROBE]
near.load_compiled()
x = np.array([1 << 40, 3], dtype=np.uint64)
a, b = near._coefficients(4, 1)
wide, narrow = np.empty((1, 4), dtype=np.uint32), np.empty((1, 4), dtype=np.uint32)
near._compiled_loop()(x, np.array([0, 2], dtype=np.int64), a, b, wide)
near._min_hash_numpy(x, np.array([0, 2], dtype=np.int64), a, b, narrow)
out = {"same": bool((wide == narrow).all()),
       "linalg": "scipy.linalg" in sys.modules,
       "probe_entry": repr(sys.modules.get(compiled.BLAS_PROBE, "absent"))[:20]}
if sys.argv[1] == "probe first":
    out["kept"] = sys.modules[compiled.BLAS_PROBE] is first
else:
    import scipy.linalg.cython_blas
    out["importable_after"] = scipy.linalg.cython_blas is sys.modules[compiled.BLAS_PROBE]
print(json.dumps(out))
"""

SCIPY = importlib.util.find_spec("scipy") is not None


def _run(mode: str) -> dict[str, object]:
    done = subprocess.run([sys.executable, "-c", SCRIPT, mode], capture_output=True, text=True,
                          timeout=300, check=True)
    return dict(json.loads(done.stdout.splitlines()[-1]))


@pytest.mark.skipif(not SCIPY, reason="SciPy is not installed: numba imports no BLAS anyway")
def test_loading_numba_leaves_scipy_linalg_unimported_and_importable() -> None:
    """The compiled loop gives the numpy loop's answers; ``scipy.linalg`` was not imported
    by loading it, and the probe imports normally afterwards (no None left behind)."""
    out = _run("fresh")
    assert out["same"] is True
    assert out["linalg"] is False
    assert out["probe_entry"] == "'absent'"
    assert out["importable_after"] is True


@pytest.mark.skipif(not SCIPY, reason="SciPy is not installed")
def test_a_probe_imported_before_numba_is_left_as_it_was() -> None:
    out = _run("probe first")
    assert out["same"] is True and out["kept"] is True
    assert out["linalg"] is True


def test_numba_is_loaded_once_and_the_probe_entry_is_cleared() -> None:
    """In this process: ``_numba`` hands back numba and leaves no None entry for the probe."""
    numba = compiled._numba()
    assert numba is sys.modules["numba"] and compiled._numba() is numba
    assert sys.modules.get(compiled.BLAS_PROBE, "absent") is not None
