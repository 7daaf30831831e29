"""Theory checks: plain functions, each returns a reason (str) or None.

Every check takes the example and the ``[checks]`` thresholds; ``CHECKS`` is the
explicit registry in the order they run.
"""

from __future__ import annotations

from collections.abc import Callable

from .config import ChecksConfig
from .example import Example

Check = Callable[[Example, ChecksConfig], str | None]


def check_pitch_range(example: Example, config: ChecksConfig) -> str | None:
    """Every sounding note lies within [min_pitch, max_pitch]; a melody of only rests fails."""
    r = example.melody.pitch_range()
    if r is None:
        return "pitch_range: melody has no sounding note"
    low, high = r
    if low < config.min_pitch or high > config.max_pitch:
        return (f"pitch_range: notes span {low}-{high}, outside "
                f"{config.min_pitch}-{config.max_pitch}")
    return None


CHECKS: dict[str, Check] = {
    "pitch_range": check_pitch_range,
}


def run_checks(example: Example, config: ChecksConfig) -> list[str]:
    """Reasons from every failing check (empty when the example passes)."""
    reasons = []
    for check in CHECKS.values():
        reason = check(example, config)
        if reason is not None:
            reasons.append(reason)
    return reasons
