"""Helpers for the tests that run ``augment`` in other processes: ``rules/wide.toml`` at a
chosen size, and the processes a run starts, seen through /proc."""

from __future__ import annotations

import os
import re
import signal
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def wide_rules(path: Path, variants_per_seed: int) -> Path:
    """``rules/wide.toml`` (every rule family) with ``variants_per_seed`` variants a seed,
    written to ``path`` (and ``[limits] max_variants_per_seed`` raised to it past the
    default 1,000)."""
    text = (ROOT / "rules" / "wide.toml").read_text(encoding="utf-8")
    text, n = re.subn(r"(?m)^variants_per_seed = \d+$", f"variants_per_seed = {variants_per_seed}", text)
    assert n == 1 and "[limits]" not in text
    if variants_per_seed > 1000:
        text += f"\n[limits]\nmax_variants_per_seed = {variants_per_seed}\n"
    path.write_text(text, encoding="utf-8")
    return path


def _stat(pid: int | str) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name (state, parent, ...); None when
    the process is gone."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return None


def children(pid: int) -> list[int]:
    """The processes whose parent is ``pid``."""
    return [int(e) for e in os.listdir("/proc")
            if e.isdigit() and (fields := _stat(e)) is not None and int(fields[1]) == pid]


def living(pids: list[int]) -> list[int]:
    """Those of ``pids`` still running (not gone, not a zombie)."""
    return [k for k in pids if (fields := _stat(k)) is not None and fields[0] != "Z"]


def assert_all_end(pids: list[int], seconds: float = 30) -> None:
    """Every one of ``pids`` ends within ``seconds`` (a liveness deadline, not a speed
    check: they end at once); any left is killed, then the assertion fails."""
    deadline = time.monotonic() + seconds
    while living(pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    left = living(pids)
    for k in left:
        os.kill(k, signal.SIGKILL)
    assert left == []
