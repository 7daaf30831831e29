"""What every rule is: draw params, then apply them purely.

A rule is a frozen dataclass whose fields are its configurable parameters (with
defaults). ``sample(example, rng)`` draws only valid params or returns None when the
rule cannot apply; it uses ``rng`` during the call only (the generator is reset for the
next variant: ``seeding.VariantStreams``); ``apply(melody, **params)`` is pure.

A rule may instead define ``choices(example)``: every params it may draw for that
example, as a value (``Choices``), which the inherited ``sample`` then draws from. The
built-in rules do: one seed's draws meet the same parent example thousands of times, and
the engine keeps each parent's choices and what each drawn entry made
(``drawing.Family``), so a draw that walks an earlier draw's way costs a generator call
per rule instead of the rule's work again. A plugin may define either; one that defines
``sample`` itself is always asked through it. The params become the lineage
record, so any variant can be replayed from its seed. ``changes`` names the facts the
rule may change ("key", "mode", "meter", "length", "tempo"), so that re-prompting
follows the melody.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from typing import Any, ClassVar

import numpy as np

from ..example import Example
from ..melody import Melody
from ..seeding import DrawStream
from ..theory import Key


def check_pitch_bounds(low_pitch: int, high_pitch: int) -> None:
    """The ``low_pitch`` and ``high_pitch`` that several rules take (the range their results
    must keep to): a MIDI range, low to high; ValueError otherwise."""
    if not 0 <= low_pitch <= high_pitch <= 127:
        raise ValueError("need 0 <= low_pitch <= high_pitch <= 127")


# Where a rule's draw lands in its ``Choices``: (group, entry in the group).
Drawn = tuple[int, int]


@dataclass(frozen=True, slots=True)
class Choices:
    """Every params a rule may draw for one example, grouped as it draws them.

    A draw takes a group uniformly (``rng.integers(len(groups))``), then an entry of it
    uniformly; a count of one is taken without a call (numpy's ``integers(1)`` reads
    nothing from the stream either: ``tests/test_choices.py`` checks it). ``make(entry)``
    turns the drawn entry into the params dict, or None when the rule does not apply with
    it; it is called only for the entry drawn, so a melody's hundred options cost one
    dict. ``groups`` must be non-empty, each group too.
    """

    groups: tuple[Sequence[Any], ...]
    make: Callable[[Any], dict[str, Any] | None]

    @classmethod
    def one_group(cls, options: Sequence[Any], make: Callable[[Any], dict[str, Any] | None]
                  ) -> Choices | None:
        """A draw of one of ``options`` (None when there is none)."""
        return cls((options,), make) if options else None

    def draw(self, rng: np.random.Generator | DrawStream) -> Drawn:
        groups = self.groups
        g = int(rng.integers(len(groups))) if len(groups) > 1 else 0
        n = len(groups[g])
        return g, int(rng.integers(n)) if n > 1 else 0

    def params(self, drawn: Drawn) -> dict[str, Any] | None:
        g, i = drawn
        return self.make(self.groups[g][i])


@dataclass(frozen=True)
class Rule:
    name: ClassVar[str] = ""
    changes: ClassVar[frozenset[str]] = frozenset()

    def choices(self, example: Example) -> Choices | None:
        """What ``sample`` draws from for ``example``; None when the rule cannot apply.

        Pure: a function of the example (its melody, key and facts) and the rule's fields.
        """
        raise NotImplementedError

    def choices_of(self, examples: Sequence[Example]) -> list[Choices | None]:
        """``choices`` of each example. The walk of a seed's draws asks for the choices of
        the parents it meets a few dozen at a time; a rule whose choices are cheaper worked
        out together (in numpy) overrides this, with the same result."""
        return [self.choices(e) for e in examples]

    def sample(self, example: Example, rng: np.random.Generator) -> dict[str, Any] | None:
        choices = self.choices(example)
        return None if choices is None else choices.params(choices.draw(rng))

    @classmethod
    def draws_by_choices(cls) -> bool:
        """Whether ``sample`` is ``choices``' draw: ``choices`` defined, ``sample`` not redefined."""
        return cls.sample is Rule.sample and cls.choices is not Rule.choices

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
