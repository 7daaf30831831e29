"""Example: one chat line with its melody, facts and lineage, and stable ids.

Ids are content hashes (sha256), never Python's ``hash()``: a seed's id depends only on
its messages, a variant's id only on its seed and the rule steps that made it. Output
is therefore independent of input order and of the number of workers.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, fields
from json.encoder import encode_basestring, encode_basestring_ascii
from typing import Any

from .melody import Melody
from .theory import Key


@dataclass(frozen=True, slots=True)
class Message:
    role: str
    content: str | None
    extra: tuple[tuple[str, Any], ...] = ()

    def __reduce__(self) -> tuple[object, ...]:
        return (Message, (self.role, self.content, self.extra))


@dataclass(frozen=True, slots=True)
class Step:
    """One applied rule and the params it drew: enough to replay the variant."""

    rule: str
    params: tuple[tuple[str, Any], ...]
    # The JSON text of ``as_dict()``, made on first use by ``json_text`` (a chain of rules
    # encodes its earlier steps again at every ``derive``); not part of the value.
    _json: str | None = field(default=None, init=False, compare=False, repr=False)
    # Whether ``dumps`` writes ``as_dict()`` as ``json_text`` does (``dumps_text``); None: not
    # worked out yet.
    _plain: bool | None = field(default=None, init=False, compare=False, repr=False)

    def __reduce__(self) -> tuple[object, ...]:
        # With its text once made: a run's main process writes the records of the variants it
        # drops from their steps' texts (~8 us a step to make again, ~0.8 s at a million).
        if self._json is None:
            return (Step, (self.rule, self.params))
        return (_step_with_text, (self.rule, self.params, self._json, self._plain))

    @classmethod
    def of(cls, rule: str, params: dict[str, Any]) -> Step:
        """The step of ``rule`` with ``params``. A step whose JSON text depends on its value
        alone (a str rule, str keys, int or str values: the built-in rules' steps) is made
        once and shared (``_STEPS``), with its text: a seed's draws take the same few
        hundred steps again and again, and each draw asks for the text of each step."""
        items = tuple(sorted(params.items()))
        if not _shareable(rule, params, params.values()):
            return cls(rule, items)  # (True == 1 == 1.0, but each writes its own text)
        step = _STEPS.get((rule, items))
        if step is None:
            step = cls(rule, items)
            _share(step)
        return step

    def as_dict(self) -> dict[str, Any]:
        return {"rule": self.rule, "params": dict(self.params)}

    def json_text(self) -> str:
        """``as_dict()`` as ``variant_id_for`` encodes it (sorted keys, ``default=str``)."""
        text = self._json
        if text is None:
            text = _step_json(self)
            object.__setattr__(self, "_json", text)
        return text

    def dumps_text(self) -> str | None:
        """``json_text`` when that is also how ``json.dumps`` (keys sorted) writes the step:
        an ASCII str rule with ASCII str keys and int or ASCII str values (``json_text``
        escapes non-ASCII, ``dumps`` keeps it); else None. Worked out once a step (a seed's
        variants share their steps: ``Step.of``)."""
        plain = self._plain
        if plain is None:
            plain = type(self.rule) is str and self.rule.isascii() and all(
                type(k) is str and k.isascii() and (type(v) is int or type(v) is str and v.isascii())
                for k, v in self.params)
            object.__setattr__(self, "_plain", plain)
        return self.json_text() if plain else None


def _step_with_text(rule: str, params: tuple[tuple[str, Any], ...], text: str, plain: bool | None
                    ) -> Step:
    """A ``Step`` sent to another process with its ``json_text`` (and ``dumps_text`` answer).

    A step ``Step.of`` would share is shared here too (``_STEPS``): sending one seed's results
    keeps one copy of each step in them, but a run's main process receives every seed's, and
    the seeds draw many of the same steps: at a million, 14,298 step objects with their params
    and texts instead of 313,016, ~125 MB less at the peak."""
    shared = _shareable(rule, (k for k, _ in params), (v for _, v in params))
    step = _STEPS.get((rule, params)) if shared else None
    if step is None:
        step = Step(rule, params)
        if shared:
            _share(step)
    if step._json is None:
        object.__setattr__(step, "_json", text)
        object.__setattr__(step, "_plain", plain)
    return step


def _shareable(rule: object, keys: Iterable[object], values: Iterable[object]) -> bool:
    """Whether a step of ``rule`` with these param keys and values is one shared object
    (``_STEPS``): its JSON text then depends on its value alone (a str rule, str keys, int
    or str values: the built-in rules' steps)."""
    return type(rule) is str and set(map(type, keys)) <= _STR and set(map(type, values)) <= _INT_OR_STR


def _share(step: Step) -> None:
    """Put ``step`` in the table of shared steps (bounded: see ``_MAX_STEPS``)."""
    if len(_STEPS) >= _MAX_STEPS:  # full: start afresh, so the current seed's are shared
        _STEPS.clear()
    _STEPS[step.rule, step.params] = step


_STR, _INT_OR_STR = frozenset({str}), frozenset({int, str})
# The shared steps of ``Step.of`` and of steps received from another process
# (``_step_with_text``). Bounded: a full table is emptied and fills again with the
# steps met since, so that a run past the bound still shares its current seeds' steps (a
# table that stopped taking steps made each later new step, and its text, again at every
# use: ~3 us more a child drawn). The corpus seeds at 3,365 variants each (a million-example
# run) take 7,778 distinct steps in their first 80 seeds and 13,717 in 260 (one worker's
# share with 2 workers), and the run's main process receives 14,298 distinct ones from all
# of them, so only larger runs, or such a run with one worker, reach it.
_MAX_STEPS = 20_000  # ~400 bytes each: at most ~8 MB a process
_STEPS: dict[tuple[str, tuple[tuple[str, Any], ...]], Step] = {}


def _digest(*parts: str) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(part.encode("utf-8"))
        h.update(b"\x00")
    return h.hexdigest()


# What json.dumps(obj, sort_keys=True, default=str[, ensure_ascii=False]) builds per call,
# made once: every variant's id is computed this way.
_SEED_JSON = json.JSONEncoder(ensure_ascii=False, sort_keys=True, default=str)
_STEPS_JSON = json.JSONEncoder(sort_keys=True, default=str)
_json_str = encode_basestring_ascii  # how _STEPS_JSON writes a str (ensure_ascii)


def _json_text(text: str) -> str:
    """``text`` as ``_SEED_JSON`` writes a str (``encode_basestring``: non-ASCII kept):
    in quotes as it is when it holds no quote, backslash or control character (a melody's
    text: ~0.6 against ~5 us for 700 characters)."""
    if '"' in text or "\\" in text or not text.isprintable():
        return encode_basestring(text)
    return f'"{text}"'


def _step_json(step: Step) -> str:
    """``_STEPS_JSON.encode(step.as_dict())``. Written out here when the rule is a str and
    every param a str key with an int or str value, as the built-in rules' are (3x faster
    than the encoder's general path); any other step goes to the encoder."""
    params = dict(step.params)
    if type(step.rule) is not str or not all(type(key) is str for key in params):
        return _STEPS_JSON.encode(step.as_dict())
    items = []
    for key, value in sorted(params.items()):  # sort_keys: by key (unique in a dict)
        if type(value) is int:  # (not a bool, which JSON writes as true / false)
            text = int.__repr__(value)
        elif type(value) is str:
            text = _json_str(value)
        else:
            return _STEPS_JSON.encode(step.as_dict())
        items.append(f"{_json_str(key)}: {text}")
    return f'{{"params": {{{", ".join(items)}}}, "rule": {_json_str(step.rule)}}}'


def seed_id_for(messages: tuple[Message, ...]) -> str:
    return "s" + _digest(_seed_json(messages))[:12]


def _seed_json(messages: Sequence[Message]) -> str:
    """``_SEED_JSON.encode([[m.role, m.content, list(m.extra)] for m in messages])``,
    written out here when every role and content is a str and no message has extra fields,
    as in most lines (3 against 12 us a line of a file read by ``augment dedup``); any
    other goes to the encoder."""
    parts = []
    for m in messages:
        if m.extra or type(m.role) is not str or type(m.content) is not str:
            return _SEED_JSON.encode([[m.role, m.content, list(m.extra)] for m in messages])
        parts.append(f"[{_json_text(m.role)}, {_json_text(m.content)}, []]")
    return f"[{', '.join(parts)}]"


def variant_id_for(seed_id: str, steps: tuple[Step, ...]) -> str:
    # The JSON list of the steps' dicts: json writes a list as "[" + ", ".join(items) + "]".
    canonical = "[" + ", ".join([s.json_text() for s in steps]) + "]"
    return "v" + _digest(seed_id, canonical)[:15]


@dataclass(frozen=True, slots=True)
class Example:
    """A chat example whose melody sits in ``messages[melody_index]``."""

    id: str
    messages: tuple[Message, ...]
    melody: Melody
    melody_index: int
    seed_id: str
    source: str
    parent_id: str | None = None
    steps: tuple[Step, ...] = ()
    # The key of the melody as the engine knows it (stated and confirmed, or derived).
    key: Key | None = None
    facts: tuple[tuple[str, Any], ...] = field(default=())

    # The fields set through their slots (``_EXAMPLE_SLOTS``: what the frozen dataclass's own
    # ``__init__`` does through ``object.__setattr__``, without its lookup each time): a run
    # makes ~4 examples a written one (children, re-prompted copies, the main process's),
    # at 0.60 against 1.03 us each. The same parameters and defaults as the fields
    # (tests/test_fast_paths.py).
    def __init__(self, id: str, messages: tuple[Message, ...], melody: Melody, melody_index: int,
                 seed_id: str, source: str, parent_id: str | None = None, steps: tuple[Step, ...] = (),
                 key: Key | None = None, facts: tuple[tuple[str, Any], ...] = ()) -> None:
        set_id, set_messages, set_melody, set_index, set_seed, set_source, set_parent, set_steps, \
            set_key, set_facts = _EXAMPLE_SLOTS
        set_id(self, id)
        set_messages(self, messages)
        set_melody(self, melody)
        set_index(self, melody_index)
        set_seed(self, seed_id)
        set_source(self, source)
        set_parent(self, parent_id)
        set_steps(self, steps)
        set_key(self, key)
        set_facts(self, facts)

    def __reduce__(self) -> tuple[object, ...]:
        # Examples cross process boundaries by the hundred thousand (--workers, Ray): as
        # constructor arguments they copy 2-3x faster than as dataclass state.
        return (Example, (self.id, self.messages, self.melody, self.melody_index, self.seed_id,
                          self.source, self.parent_id, self.steps, self.key, self.facts))

    @classmethod
    def seed(cls, messages: tuple[Message, ...], melody: Melody, melody_index: int,
             source: str) -> Example:
        sid = seed_id_for(messages)
        return cls(sid, messages, melody, melody_index, sid, source)

    @property
    def is_seed(self) -> bool:
        return not self.steps

    @property
    def user_index(self) -> int | None:
        """Index of the user message the melody answers (the last one before it)."""
        for i in range(self.melody_index - 1, -1, -1):
            if self.messages[i].role == "user":
                return i
        return None

    @property
    def prompt(self) -> str | None:
        i = self.user_index
        return None if i is None else self.messages[i].content

    # The two copies below are on the hot path of every variant: built field by field,
    # as dataclasses.replace would, without its per-call introspection.
    def with_content(self, index: int, content: str) -> Example:
        return self.with_contents({index: content})

    def with_contents(self, contents: dict[int, str]) -> Example:
        """A copy whose message ``i`` says ``contents[i]`` (role and extra keys kept)."""
        messages = list(self.messages)
        for index, content in contents.items():
            old = messages[index]
            messages[index] = Message(old.role, content, old.extra)
        return Example(self.id, tuple(messages), self.melody, self.melody_index, self.seed_id,
                       self.source, self.parent_id, self.steps, self.key, self.facts)

    def derive(self, melody: Melody, step: Step, key: Key | None) -> Example:
        """A child of this example: new melody, one more step, a new id; text not yet set."""
        steps = (*self.steps, step)
        return Example(variant_id_for(self.seed_id, steps), self.messages, melody, self.melody_index,
                       self.seed_id, self.source, self.id, steps, key, self.facts)


# Each field's slot setter, in the order of the fields (``Example.__init__``).
_EXAMPLE_SLOTS = tuple(Example.__dict__[f.name].__set__ for f in fields(Example))
