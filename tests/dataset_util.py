"""Helpers for the dataset-stage tests: real corpus melodies as Examples."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from augment.codec import format_melody
from augment.example import Example, Message
from augment.melody import Melody, transpose
from augment.pipeline import annotate_keys

CORPUS = Path(__file__).resolve().parent / "data" / "corpus_melodies.jsonl"


@cache
def corpus() -> tuple[tuple[str, Melody], ...]:
    """(source, melody) of the Bach chorale sopranos and Essen songs extracted by
    benchmarks/make_corpus_fixture.py."""
    rows = [json.loads(line) for line in CORPUS.read_text(encoding="utf-8").splitlines()]
    return tuple((r["source"], Melody.from_pairs(r["pairs"])) for r in rows)


def line_by_json_dumps(example: Example) -> str:
    """The example's output line by its definition: ``json.dumps`` of its messages (keys in
    order, extra keys after role and content, non-ASCII kept)."""
    messages = []
    for m in example.messages:
        obj = {"role": m.role, "content": m.content}
        obj.update(m.extra)
        messages.append(obj)
    return json.dumps({"messages": messages}, ensure_ascii=False)


def example(melody: Melody, prompt: str = "Write a melody.", source: str = "test") -> Example:
    messages = (Message("user", prompt), Message("assistant", format_melody(melody)))
    return Example.seed(messages, melody, 1, source)


def seeds_from_corpus(n: int, start: int = 0, step: int = 1) -> list[Example]:
    items = corpus()[start::step][:n]
    return annotate_keys([example(m, f"Write a tune like {src}.", src) for src, m in items])


def transposed_family(seed: Example, semitones: list[int]) -> list[Example]:
    """Variants of ``seed``: transposed copies with their key moved along."""
    from augment.example import Step

    out = []
    for k in semitones:
        v = seed.derive(transpose(seed.melody, k), Step.of("transpose", {"semitones": k}),
                        None if seed.key is None else seed.key.transposed(k))
        out.append(v.with_content(v.melody_index, format_melody(v.melody)))
    return out


def tokens_by_definition(melody: Melody) -> tuple[str, ...]:
    """``near.melody_tokens`` by its definition: per event after the first, the interval from
    the previous sounding note (R for a rest, S when no note sounded yet) and
    ``str(duration / previous duration)`` as exact quarter-note fractions."""
    from fractions import Fraction

    out, last = [], None
    for i, (p, d) in enumerate(melody.pairs()):
        if i:
            step = "R" if p is None else "S" if last is None else f"{p - last:+d}"
            out.append(f"{step}:{Fraction(d) / Fraction(melody.durations[i - 1])}")
        last = p if p is not None else last
    return tuple(out)


def reprompted_variants(seeds: int, step: int, variants_per_seed: int) -> list[Example]:
    """Corpus seeds (with their facts) and the variants ``rules/wide.toml`` draws from them,
    re-prompted as the per-seed stage does (those re-prompting rejects left out)."""
    from collections import Counter
    from dataclasses import replace

    from augment.config import load_config
    from augment.pipeline import draw_variants
    from augment.reprompt import reprompt, seed_facts

    config = load_config(Path(__file__).resolve().parent.parent / "rules" / "wide.toml")
    config = replace(config, expand=replace(config.expand, variants_per_seed=variants_per_seed))
    out: list[Example] = []
    for seed in map(seed_facts, seeds_from_corpus(seeds, step=step)):
        out.append(seed)
        for variant in draw_variants(seed, config, 0, Counter()):
            p = reprompt(variant, seed, config.format, config.reprompt)
            if not isinstance(p, str):
                out.append(p)
    return out


def record_calls(monkeypatch, module: object, name: str, note=None) -> list:  # type: ignore[no-untyped-def]
    """Wrap ``module.name`` for the test: each call still runs, and what ``note(*args)``
    makes of it (by default its first argument) is appended to the list returned."""
    real = getattr(module, name)
    calls: list = []

    def recorded(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(args[0] if note is None else note(*args))
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, recorded)
    return calls


def near_rich_melodies() -> list:
    """300 corpus tunes with near copies (last note a rest; one note moved) and transposed
    copies (the same invariant class)."""
    from augment.melody import transpose

    melodies = [m for _, m in corpus()[:300]]
    melodies += [type(m).from_ticks(m.pitches[:-1] + (None,), m.ticks) for m in melodies[:60]]
    melodies += [type(m).from_ticks((m.pitches[0], m.pitches[1] and m.pitches[1] + 2, *m.pitches[2:]),
                                    m.ticks) for m in melodies[60:100]]
    melodies += [transpose(m, 5) for m in melodies[100:120]]
    return melodies


def lines_by_definition(path, fmt, limits):  # type: ignore[no-untyped-def]
    """Every line of a file as ``dataset_files.Line``, read one by one (``read_examples``):
    its example only when no finding is an error (the plain definition ``read_parsed``'s
    batches are checked against)."""
    from augment.codec import read_examples
    from augment.dataset_files import Line

    lines = []
    for number, text, example, findings in read_examples(path, fmt, limits):
        bad = tuple(str(f) for f in findings if f.severity == "error")
        lines.append(Line(number, None if bad or text is None else example, bad))
    return lines
