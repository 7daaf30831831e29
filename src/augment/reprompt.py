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
from dataclasses import dataclass, replace
from functools import lru_cache

from .codec import FormatConfig, format_melody
from .errors import AugmentError
from .example import Example
from .prompt import Tonality, parse_claims
from .prompt_rewrite import RewriteError, rewrite_claims
from .prompt_template import render_template, template_facts, template_fields
from .rules.diatonic import bar_ticks

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
        for i, template in enumerate(self.user_templates, start=1):
            template_fields(template, where=f"{where} user_templates #{i}")
        for i, template in enumerate(self.system_templates, start=1):
            template_fields(template, where=f"{where} system_templates #{i}")

    @property
    def pool(self) -> tuple[str, ...]:
        return self.user_templates or DEFAULT_USER_TEMPLATES


def _meter_text(meter: object) -> str | None:
    if isinstance(meter, tuple) and len(meter) == 2:
        return f"{meter[0]}/{meter[1]}"
    return meter if isinstance(meter, str) else None


def whole_bars(example: Example, meter: str | None) -> int | None:
    """The melody's length in bars of ``meter`` when it is a whole number, else None."""
    if meter is None:
        return None
    num, den = (int(x) for x in meter.split("/"))
    total, bar = example.melody.total_ticks, bar_ticks((num, den))
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
    citation, contour, note_values, mood = _words(prompt)
    if citation:
        return "it names a specific work"
    if rules & CONTOUR_RULES and contour:
        return "it describes a contour the rules reversed"
    if rules & DURATION_RULES and note_values:
        return "it describes note values the rules changed"
    new_mode = example.key.mode if example.key else None
    if seed_key_mode and new_mode != seed_key_mode and mood:
        return "it describes a mood that belonged to the other mode"
    return None


def _template_prompt(example: Example, config: RepromptConfig, meter: str | None) -> str | None:
    facts = template_facts(key=example.key, meter=meter, bars=whole_bars(example, meter),
                           notes=len(example.melody.notes))
    usable = _usable(tuple(config.pool), frozenset(facts))
    if not usable:
        return None
    return render_template(_pick(usable, example, "user"), facts)


@lru_cache(maxsize=256)
def _usable(pool: tuple[str, ...], fields: frozenset[str]) -> tuple[str, ...]:
    """The templates of ``pool`` whose placeholders are all among ``fields``, in pool order
    (remembered: a pool meets few sets of facts)."""
    return tuple(t for t in pool if template_fields(t) <= fields)


def _tonality(seed_prompt: str, example: Example) -> Tonality | object | None:
    """The key to write: a church mode survives transposition; else the variant's key."""
    claims = parse_claims(seed_prompt)
    mode = claims.mode
    if mode in (None, "major", "minor"):
        return example.key
    if any(step.rule != "transpose" for step in example.steps) or claims.tonic is None:
        return None
    shift = sum(int(dict(step.params)["semitones"]) for step in example.steps)
    return Tonality(claims.tonic, mode).transposed(shift)


def reprompt(example: Example, seed: Example, fmt: FormatConfig, config: RepromptConfig
             ) -> Example | str:
    """The variant with its melody text written and its prompt made true, or a reason."""
    texts = {example.melody_index: format_melody(example.melody, fmt)}  # the new contents
    index, prompt = example.user_index, seed.prompt
    if config.system_templates and example.messages[0].role == "system":
        texts[0] = _pick(config.system_templates, example, "system")
    if index is None or prompt is None:
        return example.with_contents(texts)
    meter = _meter_text(dict(example.facts).get("meter"))
    seed_mode = seed.key.mode if seed.key else None
    why = "template mode" if config.mode == "template" else needs_template(prompt, example, seed_mode)
    if why is not None:
        text = _template_prompt(example, config, meter)
        if text is None:
            return f"reprompt: the prompt cannot stay true ({why}) and no template fits"
        texts[index] = text
        return example.with_contents(texts)
    claims = parse_claims(prompt)
    key = _tonality(prompt, example) if claims.keys else None
    if claims.keys and key is None:
        return "reprompt: the prompt names a mode the variant's rules do not keep"
    bars = None
    if claims.bars is not None or any(c.unit == "bars" for c in claims.lengths):
        bars = whole_bars(example, meter or "4/4")
        if bars is None:
            return "reprompt: the prompt counts bars but the variant does not fill whole bars"
    notes = len(example.melody.notes) if claims.notes is not None else None
    try:
        text = rewrite_claims(prompt, key=key,  # type: ignore[arg-type]
                              meter=meter if claims.meters else None, bars=bars, notes=notes)
    except RewriteError as exc:
        return exc.reason
    texts[index] = text
    return example.with_contents(texts)


def seed_facts(example: Example) -> Example:
    """Record the meter the seed's prompt states (one time signature) as a fact rules can use."""
    options = parse_claims(example.prompt or "").meter_options
    if options and len(options) == 1:
        num, den = next(iter(options)).split("/")
        return replace(example, facts=(*example.facts, ("meter", (int(num), int(den)))))
    return example


__all__ = ["DEFAULT_USER_TEMPLATES", "RepromptConfig", "reprompt", "seed_facts", "whole_bars"]
