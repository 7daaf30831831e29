"""Prompt templates for re-prompting: '{key}', '{meter}', '{bars}' ... filled from a variant's facts.

A template pool in the rules file gives fresh user (or system) prompts; each is checked
when the config loads (``template_fields``), rendered with the article fixed before
each value ("a {key} melody" -> "an E-flat major melody" / "a D major melody"), and its
claims parsed back (``rendered_claims``) so the truthfulness check runs on it too.
"""

from __future__ import annotations

import difflib
import string
from collections.abc import Mapping

from .errors import AugmentError
from .prompt import PromptClaims, Tonality, parse_claims
from .prompt_words import fix_article
from .theory import Key

TEMPLATE_FIELDS = ("key", "mode", "tonic", "meter", "bars", "notes", "tempo")
_FORMATTER = string.Formatter()


def _where(where: str) -> str:
    return f"{where}: " if where else ""


def template_fields(template: str, *, where: str = "") -> frozenset[str]:
    """The placeholders ``template`` uses; AugmentError naming an unknown or malformed one.

    ``where`` names the template in messages, e.g. "rules/wide.toml: [reprompt] user[2]".
    """
    try:
        parts = list(_FORMATTER.parse(template))
    except ValueError as exc:
        raise AugmentError(f"{_where(where)}template {template!r}: {exc}") from None
    used = set()
    for _literal, field, spec, conversion in parts:
        if field is None:
            continue
        if field not in TEMPLATE_FIELDS:
            near = difflib.get_close_matches(field, TEMPLATE_FIELDS, n=1)
            hint = f" (did you mean {{{near[0]}}}?)" if near else ""
            raise AugmentError(f"{_where(where)}unknown placeholder {{{field}}} in template {template!r}"
                               f"{hint}; known: {', '.join('{' + f + '}' for f in TEMPLATE_FIELDS)}")
        if spec or conversion:
            raise AugmentError(f"{_where(where)}placeholder {{{field}}} in template {template!r} "
                               "takes no format spec or conversion")
        used.add(field)
    return frozenset(used)


def render_template(template: str, facts: Mapping[str, str], *, where: str = "") -> str:
    """``template`` with each placeholder replaced by its fact, 'a'/'an' fixed before it.

    AugmentError names an unknown placeholder, or a known one the facts lack (the
    caller can then pick another template or reject the variant).
    """
    template_fields(template, where=where)
    out: list[str] = []
    for literal, field, _spec, _conv in _FORMATTER.parse(template):
        out.append(literal)
        if field is None:
            continue
        if field not in facts:
            raise AugmentError(f"{_where(where)}template {template!r} needs {{{field}}} "
                               "but the variant has no such fact")
        value = str(facts[field])
        if value:
            out = [fix_article("".join(out), value)]
        out.append(value)
    return "".join(out)


def rendered_claims(template: str, facts: Mapping[str, str], *, where: str = ""
                    ) -> tuple[str, PromptClaims]:
    """The rendered prompt and the claims it makes, for the truthfulness check."""
    text = render_template(template, facts, where=where)
    return text, parse_claims(text)


def template_facts(*, key: Key | Tonality | None = None, meter: str | None = None,
                   bars: int | None = None, notes: int | None = None,
                   tempo: str | None = None) -> dict[str, str]:
    """The facts a template can use, spelled the way ``parse_claims`` reads them back.

    key -> {key} "Eb major", {tonic} "Eb", {mode} "major"; counts as digits.
    """
    facts: dict[str, str] = {}
    if key is not None:
        name = Tonality.of(key).name
        facts["key"] = name
        facts["tonic"], facts["mode"] = name.split(" ")
    for field, value in (("meter", meter), ("bars", bars), ("notes", notes), ("tempo", tempo)):
        if value is not None:
            facts[field] = str(value)
    return facts
