"""augment: grow a small hand-made set of melody chat examples into a training set."""

import os

# augment runs in parallel by processes (--workers); its matrices are small (at most a few
# hundred rows), and a BLAS thread pool per process only competes for the same cores (on a
# busy 2-core machine one 400 x 400 eigendecomposition took 1.5 s instead of 5 ms). Set
# before numpy loads; a value the user exported wins.
for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")

__version__ = "0.1.0"
