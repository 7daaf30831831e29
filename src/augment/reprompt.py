"""Re-prompting: make a variant's user prompt tell the truth about the variant's melody.

Default (``mode = "edit"``): edit only the claims a rule changed (key, mode, meter, length)
and keep the author's own words. Where the prompt says something no edit can keep true
(it names a specific work, describes a contour an inversion or retrograde reversed, a mood
a mode change flipped, or note values a rhythm rule changed), the prompt is rendered from
the template pool instead. ``mode = "template"`` renders every variant's prompt from the
pool. A variant whose prompt cannot be made true is rejected with the reason.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache

from .codec import FormatConfig, format_melody
from .errors import AugmentError
from .example import Example, Step
from .melody import Ticks
from .prompt import PromptClaims, Tonality, parse_claims
from .prompt_rewrite import RewriteError, rewrite_claims
from .prompt_template import render_template, template_facts, template_fields
from .rules.diatonic import bar_ticks
from .theory import Key, ModeName

DEFAULT_USER_TEMPLATES = (
    "Write a melody in {key}.",
    "Compose a short theme in {key}.",
    "Generate a melody in {key}, {meter}.",
    "Give me a {bars}-bar melody in {key}, {meter}.",
    "Write a melody in {key} in the style of Beethoven's piano sonatas.",
    "Could you write a {meter} tune in {key}?",
)

CITATION = re.compile(
    r"\b(?:Op(?:us|\.)\s*\d+|WoO\s*\d+|Path[ée]tique|Moonlight|Appassionata|Waldstein|Tempest|"
    r"Hammerklavier|Les Adieux|F[üu]r Elise|Ode to Joy)", re.IGNORECASE)
CONTOUR_WORDS = re.compile(
    r"\b(?:ris(?:e|es|ing)|ascend\w*|upward\w*|climb\w*|fall(?:s|ing)?|descend\w*|downward\w*|"
    r"rocket|sigh\w*|appoggiatura\w*|arch\w*)\b", re.IGNORECASE)
MOOD_WORDS = re.compile(
    r"\b(?:happy|cheerful|bright|joyful|jolly|sunny|merry|sad|melancholy|melancholic|mournful|"
    r"gloomy|dark|tragic|brooding|sorrowful|funeral\w*|heroic|triumphant)\b", re.IGNORECASE)
NOTE_VALUE_WORDS = re.compile(
    r"\b(?:eighth|sixteenth|16th|8th|quarter|half|whole|triplet\w*|dotted|semiquaver\w*|quaver\w*|"
    r"crotchet\w*|running|runs|syncopat\w*)\b", re.IGNORECASE)
CONTOUR_RULES = frozenset({"invert", "retrograde", "retrograde_inversion"})
DURATION_RULES = frozenset({"time_scale", "rhythm", "ornament"})


@dataclass(frozen=True)
class RepromptConfig:
    """The ``[reprompt]`` table."""

    mode: str = "edit"
    user_templates: tuple[str, ...] = ()
    system_templates: tuple[str, ...] = ()

    def validate(self, where: str) -> None:
        if self.mode not in ("edit", "template"):
            raise AugmentError(f"{where}: mode must be \"edit\" or \"template\", got {self.mode!r}")
        if not all(isinstance(t, str) for t in (*self.user_templates, *self.system_templates)):
            raise AugmentError(f"{where}: templates must be strings")
        for kind, pool in (("user", self.user_templates), ("system", self.system_templates)):
            for i, template in enumerate(pool, start=1):
                if not template.strip():
                    raise AugmentError(f"{where} {kind}_templates #{i} is empty (a prompt needs words)")
                template_fields(template, where=f"{where} {kind}_templates #{i}")

    @property
    def pool(self) -> tuple[str, ...]:
        return self.user_templates or DEFAULT_USER_TEMPLATES


def _meter_text(meter: object) -> str | None:
    if isinstance(meter, tuple) and len(meter) == 2:
        return f"{meter[0]}/{meter[1]}"
    return meter if isinstance(meter, str) else None


def whole_bars(example: Example, meter: str | None) -> int | None:
    """The melody's length in bars of ``meter`` when it is a whole number, else None."""
    return _whole_bars(example.melody.total_ticks, meter)


def _whole_bars(total: Ticks, meter: str | None) -> int | None:
    if meter is None:
        return None
    num, den = (int(x) for x in meter.split("/"))
    bar = bar_ticks((num, den))
    return int(total // bar) if total % bar == 0 else None


def _pick(options: Sequence[str], example: Example, salt: str) -> str:
    digest = hashlib.sha256(f"{salt}:{example.id}".encode()).digest()
    return options[int.from_bytes(digest[:8], "little") % len(options)]


def _changed(example: Example) -> frozenset[str]:
    return frozenset(step.rule for step in example.steps)


@lru_cache(maxsize=4096)
def _words(prompt: str) -> tuple[bool, bool, bool, bool]:
    """Whether ``prompt`` has a citation, contour words, note-value words, mood words (every
    variant of a seed asks about the seed's prompt)."""
    return (CITATION.search(prompt) is not None, CONTOUR_WORDS.search(prompt) is not None,
            NOTE_VALUE_WORDS.search(prompt) is not None, MOOD_WORDS.search(prompt) is not None)


def needs_template(prompt: str, example: Example, seed_key_mode: str | None) -> str | None:
    """Why an edit cannot keep this prompt true (None when it can)."""
    rules = _changed(example)
    return _template_reason(prompt, bool(rules & CONTOUR_RULES), bool(rules & DURATION_RULES),
                            example.key.mode if example.key else None, seed_key_mode)


def _template_reason(prompt: str, contour_changed: bool, durations_changed: bool, new_mode: str | None,
                     seed_key_mode: str | None) -> str | None:
    citation, contour, note_values, mood = _words(prompt)
    if citation:
        return "it names a specific work"
    if contour_changed and contour:
        return "it describes a contour the rules reversed"
    if durations_changed and note_values:
        return "it describes note values the rules changed"
    if seed_key_mode and new_mode != seed_key_mode and mood:
        return "it describes a mood that belonged to the other mode"
    return None


@lru_cache(maxsize=256)
def _usable(pool: tuple[str, ...], fields: frozenset[str]) -> tuple[str, ...]:
    """The templates of ``pool`` whose placeholders are all among ``fields``, in pool order
    (remembered: a pool meets few sets of facts)."""
    return tuple(t for t in pool if template_fields(t) <= fields)


def _tonality_of(claims: PromptClaims, key: Key | None, transposed: int | None) -> Key | Tonality | None:
    """The key to write: a church mode the prompt states survives transposition (by
    ``transposed`` semitones: None when a step is no transposition); else the variant's key."""
    mode = claims.mode
    if mode in (None, "major", "minor"):
        return key
    if transposed is None or claims.tonic is None:
        return None
    return Tonality(claims.tonic, mode).transposed(transposed)


def reprompt(example: Example, seed: Example, fmt: FormatConfig, config: RepromptConfig
             ) -> Example | str:
    """The variant with its melody text written and its prompt made true, or a reason."""
    texts = {example.melody_index: format_melody(example.melody, fmt)}  # the new contents
    index, prompt = example.user_index, seed.prompt
    key, melody = example.key, example.melody
    meter = _meter_text(dict(example.facts).get("meter"))
    if config.system_templates and example.messages[0].role == "system":
        # rendered as the user templates are: those whose fields the variant has
        systems = _templated(config.system_templates, key, meter, _whole_bars(melody.total_ticks, meter),
                             len(melody.notes))
        if not systems:
            return "reprompt: no system template fits the variant (each needs a fact it lacks)"
        texts[0] = _pick(systems, example, "system")
    if index is None or prompt is None:
        return example.with_contents(texts)
    # The new prompt is worked out from plain values, each step remembered (a seed's
    # thousands of variants share its prompt and meet few keys, meters and rule sets; the
    # lengths, which vary more, are read only when the prompt or a template needs them).
    contour = durations = False  # whether a rule reversed the contour, changed the note values
    for step in example.steps:
        rule = step.rule
        contour = contour or rule in CONTOUR_RULES
        durations = durations or rule in DURATION_RULES
    plan = _plan(prompt, config.mode, seed.key.mode if seed.key else None, contour, durations,
                 _transposed(example.steps) if _names_church_mode(prompt) else None,
                 None if key is None else (key.tonic, key.mode), meter)
    if type(plan) is str:
        return plan
    if type(plan) is _Edit:
        bars = None
        if plan.bars:
            bars = _whole_bars(melody.total_ticks, meter or "4/4")
            if bars is None:
                return "reprompt: the prompt counts bars but the variant does not fill whole bars"
        notes = len(melody.notes) if plan.notes else None
        text = plan.texts.get((bars, notes))  # (the plan's texts by lengths: its key is hashed once)
        if text is None:
            text = plan.texts[bars, notes] = _edited(prompt, plan.tonality, plan.meter, bars, notes)
        if text.reason:
            return text.reason
        texts[index] = text.text
    else:
        rendered = _templated(tuple(config.pool), key, meter, _whole_bars(melody.total_ticks, meter),
                              len(melody.notes))
        if not rendered:
            return f"reprompt: the prompt cannot stay true ({plan}) and no template fits"
        texts[index] = _pick(rendered, example, "user")
    return example.with_contents(texts)


def _transposed(steps: tuple[Step, ...]) -> int | None:
    """The semitones ``steps`` transpose by when every one is a transposition, else None."""
    if any(step.rule != "transpose" for step in steps):
        return None
    return sum(int(dict(step.params)["semitones"]) for step in steps)


@lru_cache(maxsize=4096)
def _names_church_mode(prompt: str) -> bool:
    """Whether the prompt states a mode besides major and minor (``_tonality_of``)."""
    claims = parse_claims(prompt)
    return bool(claims.keys) and claims.mode not in (None, "major", "minor")


@dataclass(frozen=True)
class _Edit:
    """The prompt's claims edited (``_plan``): to ``tonality`` and ``meter`` (None: that kind
    of claim left alone), and the bars and notes when it counts them."""

    tonality: Key | Tonality | None
    meter: str | None
    bars: bool
    notes: bool
    # the prompt's text as edited, by (bars, notes) when it counts them (``_edited``)
    texts: dict[tuple[int | None, int | None], _Text] = field(default_factory=dict, compare=False,
                                                              repr=False, hash=False)


class _Template(str):
    """The prompt rendered from a template (``_plan``); the str says why."""


@dataclass(frozen=True)
class _Text:
    text: str
    reason: str = ""


@lru_cache(maxsize=4096)
def _plan(prompt: str, mode: str, seed_mode: str | None, contour: bool, durations: bool,
          transposed: int | None, key: tuple[int, ModeName] | None, meter: str | None
          ) -> _Edit | _Template | str:
    """How a variant's prompt is made (``reprompt``, from the values it depends on: whether
    its rules reversed the contour or changed the note values, the semitones it is
    transposed by when the prompt states a church mode and every rule transposed, its key
    and meter): the claims edited, a template rendered, or a str: why it cannot be made true."""
    why = "template mode" if mode == "template" else \
        _template_reason(prompt, contour, durations, None if key is None else key[1], seed_mode)
    if why is not None:
        return _Template(why)
    claims = parse_claims(prompt)
    tonality = _tonality_of(claims, None if key is None else Key(*key), transposed) if claims.keys else None
    if claims.keys and tonality is None:
        return "reprompt: the prompt names a mode the variant's rules do not keep"
    return _Edit(tonality, meter if claims.meters else None,
                 claims.bars is not None or any(c.unit == "bars" for c in claims.lengths),
                 claims.notes is not None)


@lru_cache(maxsize=4096)
def _edited(prompt: str, tonality: Key | Tonality | None, meter: str | None, bars: int | None,
            notes: int | None) -> _Text:
    """``rewrite_claims`` of the prompt, or the reason it cannot be made true."""
    try:
        return _Text(rewrite_claims(prompt, key=tonality,
                                    meter=meter, bars=bars, notes=notes))
    except RewriteError as exc:
        return _Text("", exc.reason)


@lru_cache(maxsize=4096)
def _templated(pool: tuple[str, ...], key: Key | None, meter: str | None, bars: int | None,
               notes: int) -> tuple[str, ...]:
    """The prompts of the templates of ``pool`` usable with these facts, in pool order (a
    variant's id picks one: ``_pick``); () when none is."""
    facts = template_facts(key=key, meter=meter, bars=bars, notes=notes)
    return tuple(render_template(template, facts) for template in _usable(pool, frozenset(facts)))


def seed_facts(example: Example) -> Example:
    """Record the meter the seed's prompt states (one time signature) as a fact rules can use."""
    options = parse_claims(example.prompt or "").meter_options
    if options and len(options) == 1:
        num, den = next(iter(options)).split("/")
        return replace(example, facts=(*example.facts, ("meter", (int(num), int(den)))))
    return example


__all__ = ["DEFAULT_USER_TEMPLATES", "RepromptConfig", "reprompt", "seed_facts", "whole_bars"]
