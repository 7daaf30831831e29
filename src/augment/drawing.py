"""Drawing one seed's variants: the rules applied with their probabilities, one generator a
variant (``variant_rng``), what earlier draws made kept for later ones (``Family``).

``draw_variants`` walks a block of attempts at once when every rule draws by its choices
(the built-in rules do) and the block is large enough (``COLUMNS_FROM``): rule by rule, the
block's generator reads are numpy columns (``seeding.StreamColumns``) and what each
(example, rule, drawn entry) makes is looked up in arrays (``ColumnWalk``), so an
attempt's walk costs no Python call a rule. It gives the variants ``make_variant`` gives
one by one (tests/test_drawing.py), which stays the definition, and the way for small
blocks and for a rule that draws through its own ``sample``.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from .config import Config, RuleSpec
from .example import Example, Step
from .melody import Melody
from .rules import Rule
from .rules.base import Choices, Drawn
from .seeding import DrawStream, StreamColumns, VariantStreams
from .theory import Key, detect_key, detect_key_each

__all__ = ["ColumnWalk", "Family", "draw_variants", "make_variant", "variant_rng"]


def variant_rng(run_seed: int, seed_id: str, index: int) -> np.random.Generator:
    """The generator of one variant, from a stable hash: independent of order and workers.
    (``draw_variants`` takes the same streams from ``seeding.VariantStreams``, made in
    blocks; this is their definition.)"""
    digest = hashlib.sha256(f"{run_seed}:{seed_id}:{index}".encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:16], "little"))


class Family:
    """What one seed's draws have worked out so far (``make_variant``), kept for its later
    draws: one seed's thousands of draws walk the same few parents again and again.

    - ``made``: every example a step has made, by (parent id, step JSON): a draw that takes
      the same step from the same parent reuses it instead of applying the rule again.
    - ``choices``: a rule's ``Choices`` for an example, by (example id, rule's place in the
      config), for the rules that draw by choices (``Rule.draws_by_choices``).
    - ``drawn``: what each drawn entry of those choices made, by (example id, rule's place,
      entry): the child, or None when the entry makes no params.

    Rules and keys are pure functions of the parent and the params, and only the draw of an
    entry reads the generator, so a draw gives the same variant with a family as without.
    """

    def __init__(self) -> None:
        self.made: dict[tuple[str, str], Example] = {}
        self.choices: dict[tuple[str, int], Choices | None] = {}
        self.drawn: dict[tuple[str, int, Drawn], Example | None] = {}

    def child(self, example: Example, rule: Rule, params: dict[str, Any]) -> Example:
        """The child ``rule`` makes of ``example`` with ``params``, made once."""
        step = Step.of(rule.name, params)
        key = (example.id, step.json_text())
        known = self.made.get(key)
        if known is None:
            known = self.made[key] = _apply(example, rule, step, params)
        return known

    def children(self, wanted: Sequence[tuple[Example, Rule, dict[str, Any]]]) -> list[Example]:
        """``[self.child(example, rule, params) for example, rule, params in wanted]``, the
        new ones made together: each rule applied, then the keys no rule derives found at
        once (``detect_key_each``, the floats ``detect_key`` gives)."""
        keys = []
        new: dict[tuple[str, str], tuple[Example, Rule, Step, dict[str, Any], Melody]] = {}
        derived: dict[tuple[str, str], Key | None] = {}
        for example, rule, params in wanted:
            step = Step.of(rule.name, params)
            key = (example.id, step.json_text())
            keys.append(key)
            if key in self.made or key in new:
                continue
            melody = rule.apply(example.melody, **params)
            new[key] = (example, rule, step, params, melody)
            known = rule.derive_key(example.key, **params)
            if known is not None:
                derived[key] = known
        unknown = [key for key in new if key not in derived]
        found = detect_key_each([new[key][4] for key in unknown])
        derived.update(zip(unknown, (None if e is None else e.key for e in found), strict=True))
        for key, (example, rule, step, params, melody) in new.items():
            self.made[key] = _derive_meter(example.derive(melody, step, derived[key]), rule, params)
        return [self.made[key] for key in keys]

    def drawn_child(self, example: Example, at: int, rule: Rule,
                    rng: np.random.Generator | DrawStream) -> Example | None:
        """The child of ``example`` that ``rule`` (at place ``at`` of the config) draws with
        ``rng`` by its choices; None when the rule does not apply."""
        key = (example.id, at)
        choices = self.choices.get(key, _UNSEEN)
        if choices is _UNSEEN:
            choices = self.choices[key] = rule.choices(example)
        if choices is None:
            return None
        drawn = choices.draw(rng)
        known = self.drawn.get((example.id, at, drawn), _UNSEEN)
        if known is _UNSEEN:
            params = choices.params(drawn)
            known = self.drawn[example.id, at, drawn] = \
                None if params is None else self.child(example, rule, params)
        return known


_UNSEEN: Any = object()  # not looked up yet (None is a remembered answer)


def make_variant(seed: Example, specs: Sequence[RuleSpec], rng: np.random.Generator | DrawStream,
                 family: Family | None = None) -> Example | None:
    """Apply each rule with its probability; None when no rule applied.

    ``rng`` is the variant's generator, or its ``DrawStream`` (the same reads, cheaper),
    which hands over to the generator at the first rule asked through ``sample``.
    ``family`` (one per seed, filled here) remembers what earlier draws worked out; the
    variant is the same with it or without it, only cheaper (``Family``).
    """
    example = seed
    for at, spec in enumerate(specs):
        if rng.random() >= spec.p:
            continue
        rule = spec.rule
        if family is not None and spec.by_choices:
            known = family.drawn_child(example, at, rule, rng)
            if known is not None:
                example = known
            continue
        if isinstance(rng, DrawStream):
            rng = rng.generator()
        params = rule.sample(example, rng)
        if params is None:
            continue
        if family is not None:
            example = family.child(example, rule, params)
        else:
            example = _apply(example, rule, Step.of(rule.name, params), params)
    return None if example is seed else example


def _apply(example: Example, rule: Rule, step: Step, params: dict[str, Any]) -> Example:
    """The child of ``example`` that ``rule`` makes with ``params`` (its ``step``)."""
    melody = rule.apply(example.melody, **params)
    key = rule.derive_key(example.key, **params)
    if key is None:
        estimate = detect_key(melody)
        key = None if estimate is None else estimate.key
    return _derive_meter(example.derive(melody, step, key), rule, params)


def _derive_meter(example: Example, rule: Rule, params: dict[str, Any]) -> Example:
    """Carry the meter fact through a rule that rescales bars (time_scale); drop it when the
    scaled bar is no conventional time signature."""
    if "meter" not in rule.changes:  # (asked first: most rules keep the meter, ~1.5M children a million)
        return example
    facts = dict(example.facts)
    meter = facts.get("meter")
    if meter is None:
        return example
    new = rule.derive_meter(meter, **params)
    if new is None:
        facts.pop("meter")
    else:
        facts["meter"] = new
    return replace(example, facts=tuple(facts.items()))


def draw_variants(seed: Example, config: Config, run_seed: int, counts: Counter[str]
                  ) -> list[Example]:
    """Up to ``variants_per_seed`` distinct variants of one seed.

    Attempt ``i`` uses its own generator, so the result depends only on (run seed, seed,
    config). A draw that repeats an earlier variant's steps is not a new variant and is
    drawn again, up to ``attempts_per_variant * variants_per_seed`` attempts.

    When every rule draws by its choices, the attempts are drawn a block at a time
    (``ColumnWalk``); the blocks are sized from how many distinct variants are still
    wanted, so that few attempts past the last one needed are drawn (those are dropped:
    the variants and counts are those of drawing one attempt at a time). A block too small
    to pay for the walk's fixed cost (``COLUMNS_FROM``: a seed wanting a few dozen
    variants, and the last attempts of a larger one) is drawn one attempt at a time.
    """
    wanted = config.expand.variants_per_seed
    attempts = wanted * config.expand.attempts_per_variant
    seen: dict[str, Example] = {}
    family = Family()
    # variant_rng's streams, made in blocks; a draw reads one output a rule and a few more
    streams = VariantStreams(run_seed, seed.seed_id, outputs=len(config.rules) + 6)

    def take(variant: Example | None) -> None:
        counts["variants_drawn"] += 1
        if variant is None:
            counts["variants_no_rule_applied"] += 1
        elif variant.id in seen:
            counts["variants_repeated"] += 1
        else:
            seen[variant.id] = variant

    by_columns = all(spec.by_choices for spec in config.rules)
    walk: ColumnWalk | None = None  # made for the first block drawn by columns
    start = 0
    while start < attempts and len(seen) < wanted:
        size = min(_block_size(wanted - len(seen), len(seen), start), attempts - start) \
            if by_columns else attempts - start
        if by_columns and size >= COLUMNS_FROM:
            walk = walk or ColumnWalk(seed, config.rules, family)
            for variant in walk.draw(streams.columns(start, size)):
                if len(seen) == wanted:
                    break
                take(variant)
        else:
            for index in range(start, start + size):
                if len(seen) == wanted:  # (asked before the attempt is drawn: none past it)
                    break
                take(make_variant(seed, config.rules, streams.stream(index), family))
        start += size
    return list(seen.values())


# Attempts a block of ``draw_variants``: at most MAX_BLOCK, else the attempts that the rate
# of new variants so far says the remaining ones need (the rate falls as a seed's draws go
# on, so this seldom overshoots by much); at first the variants wanted and a quarter more.
# A block of fewer than COLUMNS_FROM attempts is drawn one by one: the walk's numpy calls
# (a few dozen a rule) cost the same whatever the block's size, and below ~100 attempts
# they cost more than the attempts' Python (``benchmarks/bench_draws.py --columns-from 1``,
# every block by columns against one by one: 0.61x at 10 variants a seed, 0.76x at 40,
# 1.01x at 80, 1.13x at 160, 1.26x at 400, 1.5x at a million's 3,365).
COLUMNS_FROM = 128
MAX_BLOCK = 2048


def _block_size(remaining: int, found: int, drawn: int) -> int:
    """(``remaining`` >= 1: the loop asks only while variants are wanted.)"""
    if drawn == 0:
        return min(MAX_BLOCK, remaining + remaining // 4)
    rate = max(found / drawn, 1 / 64)
    return min(MAX_BLOCK, int(remaining / rate) + 1)


_UNKNOWN = -2  # an entry not drawn yet
_NO_CHILD = -1  # an entry whose params are None: the rule does not apply


class _Grown:
    """A numpy column that grows at its end; ``a`` (read it anew after ``extend``) holds
    the values in its first ``n`` places."""

    __slots__ = ("a", "n", "fill")

    def __init__(self, fill: int = 0) -> None:
        self.a = np.full(256, fill, dtype=np.int64)
        self.n = 0
        self.fill = fill

    def extend(self, values: Any) -> int:
        """Append ``values``; where the first landed."""
        values = np.asarray(values, dtype=np.int64)
        start, end = self.n, self.n + len(values)
        if end > len(self.a):
            bigger = np.full(max(2 * len(self.a), end), self.fill, dtype=np.int64)
            bigger[:start] = self.a[:start]
            self.a = bigger
        self.a[start:end] = values
        self.n = end
        return start


class ColumnWalk:
    """The draws of one seed by rules that all draw by their choices, a block of attempts at
    a time, rule by rule as numpy columns.

    The examples met (nodes: 0 is the seed) and, per (node, rule's place) met, the rule's
    ``Choices`` (a slot) are kept as arrays: a slot's groups (first group, count), a
    group's entries (first entry, size) and an entry's child node (``_UNKNOWN`` until first
    drawn; ``_NO_CHILD`` when its params are None). A block's step for one rule is then:
    each attempt's ``random() < p``; for those that pass, the group and entry drawn, as
    ``Choices.draw`` draws them (``StreamColumns.integers``, a count of one read without a
    call); the child looked up. Only a node met for the first time at a rule (its choices)
    and an entry drawn for the first time (its params, and the child through
    ``Family.child``) reach Python. The nodes are keyed by example id: equal ids are equal
    step lists from the seed, so equal examples.
    """

    def __init__(self, seed: Example, specs: Sequence[RuleSpec], family: Family) -> None:
        self.specs = specs
        self.family = family
        self.examples = [seed]  # node -> example
        self.node_of = {seed.id: 0}
        self.slot_of = np.full((64, len(specs)), -1, dtype=np.int64)  # (node, place) -> slot
        self.slot_choices: list[Choices | None] = []
        self.slot_node: list[int] = []
        self.slot_at: list[int] = []
        self.slot_group = _Grown()  # a slot's first group
        self.slot_groups = _Grown()  # its number of groups (0: the rule does not apply)
        self.group_entry = _Grown()  # a group's first entry
        self.group_size = _Grown()  # its number of entries
        self.group_slot = _Grown()  # its slot
        self.entry_child = _Grown(_UNKNOWN)
        self.entry_group = _Grown()  # an entry's group

    def draw(self, columns: StreamColumns) -> list[Example | None]:
        """The variant of each row of ``columns`` (a block of attempts' streams), None where
        no rule applied: ``make_variant`` of each row's stream, with a ``Family``."""
        rows = np.arange(len(columns))
        node = np.zeros(len(columns), dtype=np.int64)
        for at, spec in enumerate(self.specs):
            hit = rows[columns.random(rows) < spec.p]
            if not len(hit):
                continue
            slots = self._slots(node[hit], at)
            count = self.slot_groups.a[slots]
            live = count > 0
            hit, slots, count = hit[live], slots[live], count[live]
            group = self.slot_group.a[slots]
            several = count > 1
            if several.any():
                group[several] += columns.integers(hit[several], count[several]).astype(np.int64)
            size = self.group_size.a[group]
            entry = self.group_entry.a[group]
            several = size > 1
            if several.any():
                entry[several] += columns.integers(hit[several], size[several]).astype(np.int64)
            child = self.entry_child.a[entry]
            unknown = child == _UNKNOWN
            if unknown.any():
                self._make(np.unique(entry[unknown]))
                child = self.entry_child.a[entry]
            moved = child >= 0
            node[hit[moved]] = child[moved]
        examples = self.examples
        return [None if k == 0 else examples[k] for k in node.tolist()]

    def _slots(self, nodes: np.ndarray, at: int) -> np.ndarray:
        """The slot of each node at rule place ``at``, made for the nodes met the first time."""
        slots = self.slot_of[nodes, at]
        new = slots < 0
        if new.any():
            self._add_slots(np.unique(nodes[new]).tolist(), at)
            slots = self.slot_of[nodes, at]
        return slots

    def _add_slots(self, nodes: list[int], at: int) -> None:
        """The slots of ``nodes`` at rule place ``at``: their choices, laid out at the ends of
        the arrays."""
        rule = self.specs[at].rule
        first_slot = len(self.slot_choices)
        first_group = self.group_size.n
        sizes: list[int] = []  # of the new groups
        slot_group, slot_groups, group_slot = [], [], []
        made = rule.choices_of([self.examples[k] for k in nodes])
        for (slot, k), choices in zip(enumerate(nodes, first_slot), made, strict=True):
            these = [] if choices is None else [len(g) for g in choices.groups]
            if choices is not None and (not these or min(these) == 0):
                raise ValueError(f"rule {rule.name!r}: its Choices hold an empty group")
            self.slot_choices.append(choices)
            self.slot_node.append(k)
            self.slot_at.append(at)
            slot_group.append(first_group + len(sizes))
            slot_groups.append(len(these))
            group_slot.extend([slot] * len(these))
            sizes.extend(these)
        counts = np.asarray(sizes, dtype=np.int64)
        ends = np.cumsum(counts)
        self.group_entry.extend(self.entry_child.n + ends - counts)
        self.group_size.extend(counts)
        self.group_slot.extend(group_slot)
        self.entry_child.extend(np.full(int(ends[-1]) if len(ends) else 0, _UNKNOWN))
        self.entry_group.extend(np.repeat(np.arange(first_group, first_group + len(sizes)), counts))
        self.slot_group.extend(slot_group)
        self.slot_groups.extend(slot_groups)
        self.slot_of[nodes, at] = np.arange(first_slot, first_slot + len(nodes))

    def _make(self, entries: np.ndarray) -> None:
        """The children of ``entries`` (distinct), drawn for the first time."""
        groups = self.entry_group.a[entries]
        slots = self.group_slot.a[groups]
        drawn = zip(slots.tolist(), (groups - self.slot_group.a[slots]).tolist(),
                    (entries - self.group_entry.a[groups]).tolist(), strict=True)
        wanted = []  # (parent, rule, params) of the entries that make a child
        makes = []
        for slot, g, i in drawn:
            choices = self.slot_choices[slot]
            assert choices is not None
            params = choices.params((g, i))
            makes.append(params is not None)
            if params is not None:
                rule = self.specs[self.slot_at[slot]].rule
                wanted.append((self.examples[self.slot_node[slot]], rule, params))
        made = iter(self.family.children(wanted))
        children = []
        for makes_one in makes:
            if not makes_one:
                children.append(_NO_CHILD)
                continue
            child = next(made)
            k = self.node_of.get(child.id)
            if k is None:
                k = self.node_of[child.id] = len(self.examples)
                self.examples.append(child)
            children.append(k)
        self.entry_child.a[entries] = children
        if len(self.examples) > len(self.slot_of):
            more = np.full((len(self.examples) + len(self.slot_of), len(self.specs)), -1, dtype=np.int64)
            more[:len(self.slot_of)] = self.slot_of
            self.slot_of = more
