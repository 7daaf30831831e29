"""``augment import``: seed examples from scores (MIDI, MusicXML, ABC, Humdrum) via music21.

Each score's top line (or one named part) is cut into phrases of whole bars
(``importer_phrases``); each phrase becomes one chat example whose user prompt is rendered
from a template with the phrase's own facts: the key ``detect_key`` finds, the score's
meter, the bar count and the tempo word of the score's tempo marking. Every prompt is
checked before it is written (``claims`` and ``key_agreement``); a phrase whose detected
key the melody does not bear out gets a prompt without a key. Phrases failing any other
enabled check are skipped (``keep_failing`` writes them anyway). An exact repeat of an
earlier phrase is skipped. Output is written atomically in the rules file's ``[format]``.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from .checks import CHECKS, failing_checks
from .codec import example_to_line, format_melody
from .config import Config
from .errors import AugmentError
from .example import Example, Message
from .importer_phrases import (
    Phrase,
    cut_phrases,
    line_events,
    off_grid_durations,
    score_bars,
    tempo_at,
    tempo_marks,
)
from .output import write_atomic
from .prompt_template import render_template, template_facts, template_fields
from .theory import detect_key

# Every template names only facts read from the phrase itself; {bars} always comes with
# {meter} (the claims check counts bars of the stated meter).
IMPORT_USER_TEMPLATES = (
    "Write a melody in {key}, {meter}.",
    "Compose a {bars}-bar phrase in {key}, {meter}.",
    "Give me a {bars}-bar melody in {key} in {meter} time.",
    "Could you write a {meter} tune in {key}?",
    "Write a melody in {key}.",
    "Compose a tune in {key}, {meter}, at a {tempo} tempo.",
    "Write a {bars}-bar melody in {key}, {meter}, at a {tempo} tempo.",
    "I'd like a {tempo} melody in {key}, {meter}.",
    "Write a {bars}-bar melody in {meter}.",
    "Compose a tune in {meter}.",
    "Write a short melody.",
)
TRUTH_CHECKS = ("claims", "key_agreement")
OnError = Literal["fail", "skip"]


@dataclass(frozen=True)
class ImportOptions:
    """What to read and how to cut it."""

    part: str | None = None  # part name, id or 1-based number; None = top line of all parts
    bars_per_phrase: int = 8
    system: str | None = None  # a system message to put first
    keep_failing: bool = False  # write phrases that fail the (non-truth) checks too
    on_error: OnError = "fail"  # a file music21 cannot read: stop, or report and go on


@dataclass
class FileReport:
    """Per input file: phrases written, skipped (by reason) and what the line changed."""

    path: str
    tunes: int = 0
    written: int = 0
    skipped: int = 0
    reasons: Counter[str] = field(default_factory=Counter)  # a phrase may fail several checks
    changed: Counter[str] = field(default_factory=Counter)
    error: str | None = None  # the whole file could not be read
    tune_errors: list[str] = field(default_factory=list)  # tunes of a book that could not be read

    def summary(self) -> str:
        """One line: counts, skip reasons, then everything that could not be kept as written."""
        if self.error is not None:
            return f"{self.path}: skipped: {self.error.removeprefix(f'{self.path}: ')}"
        tunes = f" ({self.tunes} tunes)" if self.tunes > 1 else ""
        reasons = ", ".join(f"{k} {v}" for k, v in sorted(self.reasons.items()))
        text = (f"{self.path}{tunes}: {self.written} phrase(s) written, {self.skipped} skipped"
                + (f" ({reasons})" if reasons else ""))
        changed = [f"{k.replace('_', ' ')} {v}" for k, v in sorted(self.changed.items()) if v]
        text += f"; {', '.join(changed)}" if changed else ""
        if self.tune_errors:
            text += f"; {len(self.tune_errors)} tune(s) not read, first: {self.tune_errors[0]}"
        return text


@dataclass
class ImportResult:
    reports: list[FileReport]
    written: int
    out: Path


def read_scores(path: Path) -> list[Any]:
    """The scores in one file (an ABC book gives several); AugmentError naming the file when
    music21 cannot read it."""
    if not path.is_file():
        raise AugmentError(f"{path}: no such file")
    from music21 import converter, stream

    try:
        parsed = converter.parse(str(path))
    except Exception as exc:  # music21 raises many unrelated types for unreadable input
        detail = (str(exc).strip().splitlines() or [""])[0][:200]
        raise AugmentError(f"{path}: music21 cannot read it ({type(exc).__name__}: {detail})") from None
    if isinstance(parsed, stream.Opus):
        return list(parsed.scores)
    return [parsed]


def _parts(score: Any) -> list[Any]:
    parts = list(getattr(score, "parts", ()))
    parts = parts or [score]
    return [p.toSoundingPitch() if p.atSoundingPitch is False else p for p in parts]


def select_parts(parts: Sequence[Any], name: str | None, where: str) -> list[Any]:
    """All parts (``name`` None), or the one part whose name, id or 1-based number is ``name``."""
    if name is None:
        return list(parts)
    # (music21 gives a part without an id its object's address, an int: no name to show)
    labels = [f"{i} ({p.partName or (p.id if isinstance(p.id, str) else 'unnamed')})"
              for i, p in enumerate(parts, start=1)]
    wanted = name.strip().lower()
    hits = [p for i, p in enumerate(parts, start=1)
            if wanted in (str(i), str(p.partName or "").strip().lower(), str(p.id).lower())]
    if len(hits) == 1:
        return hits
    if not hits:
        raise AugmentError(f"{where}: no part {name!r}; parts: {', '.join(labels)}")
    raise AugmentError(f"{where}: part {name!r} is ambiguous; give its number: {', '.join(labels)}")


def _pick(options: Sequence[str], salt: str) -> str:
    digest = hashlib.sha256(salt.encode()).digest()
    return options[int.from_bytes(digest[:8], "little") % len(options)]


def _prompt(facts: dict[str, str], salt: str) -> str:
    usable = [t for t in IMPORT_USER_TEMPLATES if template_fields(t) <= set(facts)
              and ("key" in template_fields(t)) == ("key" in facts)]
    return render_template(_pick(usable, salt), facts)


def phrase_example(phrase: Phrase, tempo: str | None, config: Config, options: ImportOptions,
                   source: str) -> tuple[Example, list[str]]:
    """The phrase as a seed example with a true prompt, and the names of the enabled checks
    it fails. A claim the truth checks reject is left out of the prompt: the key
    (``key_agreement``, then also reported as failed) or the meter and bar count (a time
    signature the prompt parser does not read back, such as Essen's 1/8 fermata bars)."""
    melody = phrase.melody
    text = format_melody(melody, config.format)
    estimate = detect_key(melody)
    key = None if estimate is None else estimate.key
    meter = None if phrase.meter is None else f"{phrase.meter[0]}/{phrase.meter[1]}"

    def build(with_key: bool, with_meter: bool) -> Example:
        facts = template_facts(key=key if with_key else None, meter=meter if with_meter else None,
                               bars=phrase.bars if with_meter and meter else None, tempo=tempo)
        messages = [Message("user", _prompt(facts, text)), Message("assistant", text)]
        if options.system:
            messages.insert(0, Message("system", options.system))
        example = Example.seed(tuple(messages), melody, len(messages) - 1, source)
        return replace(example, key=key)

    with_key, failed = key is not None, []
    example = build(with_key, True)
    if CHECKS["key_agreement"](example, config.checks) is not None:
        with_key, failed = False, ["key_agreement"]
        example = build(False, True)
    if CHECKS["claims"](example, config.checks) is not None:
        example = build(with_key, False)
        if CHECKS["claims"](example, config.checks) is not None:
            return example, ["claims"]
    failed += [name for name, _ in failing_checks(example, config.checks) if name not in TRUTH_CHECKS]
    return example, failed


def import_score(score: Any, source: str, config: Config, options: ImportOptions,
                 report: FileReport, seen: set[tuple[Any, ...]]) -> list[Example]:
    """The seed examples of one score; counts go into ``report``, melodies into ``seen``."""
    every_part = _parts(score)
    parts = select_parts(every_part, options.part, source)
    reference = next((p for p in parts if p.getElementsByClass("Measure")), None)
    if reference is None:
        raise AugmentError(f"{source}: no bars (measures) to cut phrases from")
    stats: Counter[str] = Counter()
    events = line_events(parts, stats)
    bars = score_bars(reference)
    marks = tempo_marks(every_part)  # a marking in any part applies to the line
    from music21 import bar

    report.changed.update(stats)
    report.changed["repeat_signs_not_expanded"] += len(reference.recurse().getElementsByClass(bar.Repeat))
    examples = []
    for phrase in cut_phrases(events, bars, options.bars_per_phrase):
        where = f"{source} bars {phrase.first_measure}-{phrase.last_measure}"
        report.changed["bars_filled_with_a_rest"] += int(phrase.padded_quarters > 0)
        report.changed["notes_split_at_phrase_ends"] += phrase.split_notes
        if not phrase.melody.notes:
            report.skipped += 1
            report.reasons["no_notes"] += 1
            continue
        signature = (phrase.melody.pitches, phrase.melody.durations)
        if signature in seen:
            report.skipped += 1
            report.reasons["duplicate"] += 1
            continue
        report.changed["off_grid_durations"] += off_grid_durations(phrase.melody)
        report.changed["phrases_without_meter"] += int(phrase.meter is None)
        example, failed = phrase_example(phrase, tempo_at(marks, phrase.start), config, options, where)
        if "claims" in failed or (failed and not options.keep_failing):
            report.skipped += 1
            report.reasons.update(failed)
            continue
        seen.add(signature)
        examples.append(example)
    report.written += len(examples)
    return examples


def import_files(paths: Sequence[Path], out: Path, config: Config,
                 options: ImportOptions = ImportOptions()) -> ImportResult:
    """Read every score, cut, prompt and check its phrases, write ``out`` atomically."""
    if options.bars_per_phrase < 1:
        raise AugmentError(f"--bars must be at least 1, got {options.bars_per_phrase}")
    if any(Path(p).resolve() == out.resolve() for p in paths):
        raise AugmentError(f"-o {out} is one of the input scores")
    reports: list[FileReport] = []
    examples: list[Example] = []
    seen: set[tuple[Any, ...]] = set()
    for path in map(Path, paths):
        report = FileReport(str(path))
        reports.append(report)
        try:
            scores = read_scores(path)
            report.tunes = len(scores)
            if len(scores) == 1:
                examples.extend(import_score(scores[0], str(path), config, options, report, seen))
            for i, score in enumerate(scores if len(scores) > 1 else (), start=1):
                try:  # one bad tune in a book does not stop the others
                    examples.extend(import_score(score, f"{path}#{i}", config, options, report, seen))
                except AugmentError as exc:
                    report.tune_errors.append(str(exc))
        except AugmentError as exc:
            if options.on_error == "fail":
                raise
            report.error = str(exc)
    if not examples:
        raise AugmentError("no phrase was written:\n" + "\n".join(r.summary() for r in reports))
    write_atomic(out, (example_to_line(e) for e in examples))
    return ImportResult(reports, len(examples), out)


__all__ = ["IMPORT_USER_TEMPLATES", "FileReport", "ImportOptions", "ImportResult", "import_files",
           "import_score", "phrase_example", "read_scores", "select_parts"]
