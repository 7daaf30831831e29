"""Another checkout of this project, for the benchmarks that time it against this tree
(``--against DIR``, e.g. a ``git worktree``): its ``src`` put first on the path of a child
process."""

from __future__ import annotations

import os
from pathlib import Path


def checkout_src(tree: Path) -> Path:
    """``tree``'s ``src`` folder; exits with one line when ``tree`` holds no ``src/augment``."""
    src = tree.resolve() / "src"
    if not (src / "augment").is_dir():
        raise SystemExit(f"--against {tree}: no src/augment there (a checkout of this project?)")
    return src


def with_src_first(src: Path) -> dict[str, str]:
    """This process's environment with ``src`` first on ``PYTHONPATH``."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(src), *filter(None, [os.environ.get("PYTHONPATH")])])}
