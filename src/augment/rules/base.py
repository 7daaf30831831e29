"""What every rule is: draw params, then apply them purely.

A rule is a frozen dataclass whose fields are its configurable parameters (with
defaults). ``sample(example, rng)`` draws only valid params or returns None when the
rule cannot apply; it uses ``rng`` during the call only (the generator is reset for the
next variant: ``seeding.VariantStreams``); ``apply(melody, **params)`` is pure. The params become the lineage
record, so any variant can be replayed from its seed. ``changes`` names the facts the
rule may change ("key", "mode", "meter", "length", "tempo"), so that re-prompting
follows the melody.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, ClassVar

import numpy as np

from ..example import Example
from ..melody import Melody
from ..theory import Key


@dataclass(frozen=True)
class Rule:
    name: ClassVar[str] = ""
    changes: ClassVar[frozenset[str]] = frozenset()

    def sample(self, example: Example, rng: np.random.Generator) -> dict[str, Any] | None:
        raise NotImplementedError

    def apply(self, melody: Melody, **params: Any) -> Melody:
        raise NotImplementedError

    def derive_key(self, key: Key | None, **params: Any) -> Key | None:
        """The variant's key from the parent's, when the rule changes it predictably.

        The default keeps the key for rules that do not change it and returns None
        (unknown: re-derive from the melody) for rules that do.
        """
        return None if "key" in self.changes or "mode" in self.changes else key

    def derive_meter(self, meter: tuple[int, int], **params: Any) -> tuple[int, int] | None:
        """The variant's meter from the parent's; rules that rescale bars override this."""
        return meter

    @classmethod
    def doc(cls) -> str:
        return (cls.__doc__ or "").strip().splitlines()[0] if cls.__doc__ else ""

    @classmethod
    def parameters(cls) -> dict[str, Any]:
        """Parameter name -> default value."""
        return {f.name: f.default for f in fields(cls)}
