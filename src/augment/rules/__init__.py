"""The rule registry: an explicit dict of built-ins, plus installed plugins.

Third-party rules register through the entry-point group ``augment.rules``; each entry
point names a ``Rule`` subclass. Built-ins win on a name clash.
"""

from __future__ import annotations

from importlib.metadata import entry_points

from ..errors import AugmentError
from .base import Rule
from .diatonic_shift import DiatonicShift
from .fragment import Fragment
from .invert import Invert
from .mode_change import ModeChange
from .ornament import Ornament
from .retrograde import Retrograde, RetrogradeInversion
from .rhythm import Rhythm
from .sequence import Sequence
from .time_scale import TimeScale
from .transpose import Transpose

BUILTIN_RULES: dict[str, type[Rule]] = {
    rule.name: rule
    for rule in (Transpose, DiatonicShift, Invert, Retrograde, RetrogradeInversion, TimeScale,
                 Rhythm, ModeChange, Ornament, Fragment, Sequence)
}

ENTRY_POINT_GROUP = "augment.rules"


def registry() -> dict[str, type[Rule]]:
    """Every available rule by name: built-ins, then installed plugins."""
    rules = dict(BUILTIN_RULES)
    for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        if ep.name in rules:
            continue
        try:
            cls = ep.load()
        except Exception as exc:  # a broken plugin must not break the built-ins
            raise AugmentError(f"rule plugin {ep.name!r} ({ep.value}) failed to load: {exc}") from exc
        if not (isinstance(cls, type) and issubclass(cls, Rule)):
            raise AugmentError(f"rule plugin {ep.name!r} ({ep.value}) is not a Rule subclass")
        rules[ep.name] = cls
    return rules


__all__ = ["BUILTIN_RULES", "ENTRY_POINT_GROUP", "Rule", "registry"]
