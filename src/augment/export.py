"""Exports: the dataset in each trainer's format, preference pairs, and MIDI files.

- ``openai``: chat fine-tuning lines, messages only (upload-ready);
- ``trl``: ``{"messages": [...]}`` (role and content only);
- ``trl-prompt-completion``: ``{"prompt": [...], "completion": [assistant]}``;
- ``openai-dpo``: ``{"input": {"messages": [...]}, "preferred_output": [...],
  "non_preferred_output": [...]}``;
- ``trl-dpo``: ``{"prompt": [...], "chosen": [...], "rejected": [...]}``.

Preference pairs teach what the theory checks know: the preferred answer is a seed or a
variant that passed every check, the non-preferred one a sibling (same seed family)
that answers the very same prompt and failed a check (``rejected.jsonl``, stage
``checks``). Everything is deterministic: same files in, same bytes out.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .codec import FormatConfig, example_to_line, parse_line
from .errors import AugmentError
from .example import Example
from .midi import DEFAULT_BPM, tempo_bpm, write_midi
from .output import dumps, load_json, load_jsonl, write_atomic
from .split import SPLITS

# Ids as example.py makes them: "s" or "v" and lowercase hex. Only these name files.
SAFE_ID = re.compile(r"[sv][0-9a-f]{12,64}")


@dataclass(frozen=True, slots=True)
class Record:
    """One example of a data file with its id and family (from lineage when known)."""

    id: str
    seed_id: str
    split: str | None
    rules: tuple[dict[str, Any], ...]
    example: Example
    key: str | None = None
    parent_id: str | None = None


def output_format(out_dir: Path) -> FormatConfig:
    """The ``[format]`` an ``augment expand`` output was written with (default if unknown)."""
    return _format_of(_manifest_of(out_dir))


def _manifest_of(out_dir: Path) -> dict[str, Any]:
    """The manifest in ``out_dir``; {} when there is none."""
    manifest = out_dir / "manifest.json"
    return load_json(manifest) if manifest.is_file() else {}


def _format_of(manifest: dict[str, Any]) -> FormatConfig:
    fmt = manifest.get("config", {}).get("format", {})
    return FormatConfig(duration_unit=fmt.get("duration_unit", "quarter"), rest=fmt.get("rest", 0))


def _parse(text: str, fmt: FormatConfig, file: str, line: int) -> Example:
    example, findings = parse_line(text, fmt, file, line)
    errors = [f for f in findings if f.severity == "error"]
    if example is None or errors:
        raise AugmentError(str(errors[0]) if errors else f"{file}:{line}: unreadable example")
    return example


def read_records(path: Path, fmt: FormatConfig | None = None) -> list[Record]:
    """Every example of a JSONL file, in file order.

    When the file is a split written by ``augment expand`` (``train.jsonl`` ... beside a
    ``lineage.jsonl``), ids, families and rules come from the lineage; otherwise the id
    and family are the content hash of the line.
    """
    if not path.is_file():
        raise AugmentError(f"{path}: no such file")
    manifest = _manifest_of(path.parent)
    fmt = fmt or _format_of(manifest)
    lineage: list[dict[str, Any]] | None = None
    # A folder of ``augment split``: its lineage gives each line's tune group, not the seed
    # and rules an ``expand`` lineage gives, so its lines are read as any file's.
    split_output = manifest.get("command") == "split"
    if path.stem in SPLITS and (path.parent / "lineage.jsonl").is_file() and not split_output:
        lineage = [r for r in load_jsonl(path.parent / "lineage.jsonl", ("id", "split", "seed_id"))
                   if r["split"] == path.stem]
    records = []
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                raise AugmentError(f"{path}:{number}: line is not valid UTF-8") from None
            example = _parse(text.rstrip("\r\n"), fmt, str(path), number)
            if lineage is None:  # (a split file of ``augment split`` still names its split)
                split = path.stem if split_output and path.stem in SPLITS else None
                records.append(Record(example.id, example.seed_id, split, (), example))
                continue
            if number > len(lineage):
                raise AugmentError(f"{path}:{number}: no lineage record for this line")
            rec = lineage[number - 1]
            example = replace(example, id=rec["id"], seed_id=rec["seed_id"],
                              parent_id=rec.get("parent_id"))
            records.append(Record(rec["id"], rec["seed_id"], rec["split"], tuple(rec["rules"]),
                                  example, rec.get("key"), rec.get("parent_id")))
    if lineage is not None and len(lineage) != len(records):
        raise AugmentError(f"{path}: {len(records)} lines but lineage.jsonl lists "
                           f"{len(lineage)} for split {path.stem!r}")
    return records


# --- supervised formats ---------------------------------------------------------------

def _plain(example: Example, indices: range) -> list[dict[str, Any]]:
    return [{"role": example.messages[i].role, "content": example.messages[i].content}
            for i in indices]


def prompt_messages(example: Example) -> list[dict[str, Any]]:
    """The conversation up to the melody answer (role and content)."""
    return _plain(example, range(example.melody_index))


def answer_message(example: Example) -> list[dict[str, Any]]:
    return _plain(example, range(example.melody_index, example.melody_index + 1))


def to_openai(example: Example) -> dict[str, Any]:
    """OpenAI chat fine-tuning: messages only, message extras (weight, name) kept."""
    result: dict[str, Any] = json.loads(example_to_line(example))
    return result


def to_trl(example: Example) -> dict[str, Any]:
    """TRL conversational language modelling: the conversation up to the melody."""
    return {"messages": _plain(example, range(example.melody_index + 1))}


def to_trl_prompt_completion(example: Example) -> dict[str, Any]:
    """TRL conversational prompt-completion: prompt messages, the melody as completion."""
    return {"prompt": prompt_messages(example), "completion": answer_message(example)}


SUPERVISED: dict[str, Callable[[Example], dict[str, Any]]] = {
    "openai": to_openai,
    "trl": to_trl,
    "trl-prompt-completion": to_trl_prompt_completion,
}


# --- preference pairs -----------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class PreferencePair:
    """A prompt, a checked answer to it, and a theory-failing sibling's answer to it."""

    preferred: Example
    preferred_id: str
    rejected: Example
    rejected_id: str
    reasons: tuple[str, ...]


def _context_key(seed_id: str, example: Example) -> str:
    return dumps([seed_id, prompt_messages(example)])


def preference_pairs(records: list[Record], rejected_path: Path, fmt: FormatConfig
                     ) -> tuple[list[PreferencePair], int]:
    """(pairs, number of check failures that found no passing sibling for their prompt).

    Only failures whose family appears in ``records`` are used, so a split's pairs never
    show a held-out family's melody. Each failure is paired with one passing example of
    the same family and the same prompt, chosen by a hash of the failure's id.
    """
    candidates: dict[str, list[Record]] = {}
    for rec in sorted(records, key=lambda r: r.id):
        candidates.setdefault(_context_key(rec.seed_id, rec.example), []).append(rec)
    families = {r.seed_id for r in records}
    failures = []
    if rejected_path.is_file():
        for number, rej in enumerate(load_jsonl(rejected_path, ("stage",)), start=1):
            if (rej["stage"] == "checks" and isinstance(rej.get("line"), str) and "id" in rej
                    and rej.get("seed_id") in families):
                failures.append((rej, _parse(rej["line"], fmt, str(rejected_path), number)))
    pairs, unpaired = [], 0
    for rej, example in sorted(failures, key=lambda f: f[0]["id"]):
        options = candidates.get(_context_key(rej["seed_id"], example), [])
        options = [o for o in options if o.example.melody != example.melody]
        if not options:
            unpaired += 1
            continue
        pick = int(hashlib.sha256(rej["id"].encode()).hexdigest(), 16) % len(options)
        chosen = options[pick]
        pairs.append(PreferencePair(chosen.example, chosen.id, example, rej["id"],
                                    tuple(rej.get("reasons", ()))))
    return pairs, unpaired


def to_openai_dpo(pair: PreferencePair) -> dict[str, Any]:
    return {"input": {"messages": prompt_messages(pair.preferred)},
            "preferred_output": answer_message(pair.preferred),
            "non_preferred_output": answer_message(pair.rejected)}


def to_trl_dpo(pair: PreferencePair) -> dict[str, Any]:
    return {"prompt": prompt_messages(pair.preferred), "chosen": answer_message(pair.preferred),
            "rejected": answer_message(pair.rejected)}


PREFERENCE: dict[str, Callable[[PreferencePair], dict[str, Any]]] = {
    "openai-dpo": to_openai_dpo,
    "trl-dpo": to_trl_dpo,
}
FORMATS = (*SUPERVISED, *PREFERENCE)


@dataclass
class ExportResult:
    out: Path
    written: int = 0
    unpaired: int = 0
    files: list[Path] = field(default_factory=list)


def export_file(format_name: str, path: Path, out: Path, fmt: FormatConfig | None = None
                ) -> ExportResult:
    """Write ``path`` (a JSONL data file) as ``format_name`` to ``out``, atomically.

    Preference formats need the ``rejected.jsonl`` of the same ``augment expand`` run
    beside ``path``.
    """
    fmt = fmt or output_format(path.parent)
    records = read_records(path, fmt)
    result = ExportResult(out)
    lines: Iterator[str]
    if format_name in SUPERVISED:
        convert = SUPERVISED[format_name]
        lines = (json.dumps(convert(r.example), ensure_ascii=False) for r in records)
        result.written = len(records)
    elif format_name in PREFERENCE:
        rejected = path.parent / "rejected.jsonl"
        if not rejected.is_file():
            raise AugmentError(f"{path}: {format_name} needs the rejected.jsonl of the same "
                               f"expand run beside it, and {rejected} does not exist")
        pairs, result.unpaired = preference_pairs(records, rejected, fmt)
        to_line = PREFERENCE[format_name]
        lines = (json.dumps(to_line(p), ensure_ascii=False) for p in pairs)
        result.written = len(pairs)
    else:
        raise AugmentError(f"unknown export format {format_name!r}; choose one of {', '.join(FORMATS)}")
    write_atomic(out, lines)
    result.files.append(out)
    return result


def export_midi(path: Path, out_dir: Path, limit: int | None = None,
                fmt: FormatConfig | None = None) -> ExportResult:
    """One ``<id>.mid`` per example (the first ``limit``), tempo from the prompt's words."""
    records = read_records(path, fmt)
    result = ExportResult(out_dir)
    for rec in records[:limit]:
        if not SAFE_ID.fullmatch(str(rec.id)):
            # The id names the file: never let data (a lineage record) choose a path.
            raise AugmentError(f"{path}: example id {str(rec.id)[:40]!r} is not an augment id "
                               "(s or v and hex digits); no MIDI file was written")
    for rec in records[:limit]:
        bpm = tempo_bpm(rec.example.prompt) or DEFAULT_BPM
        result.files.append(write_midi(rec.example.melody, out_dir / f"{rec.id}.mid", bpm))
    result.written = len(result.files)
    return result
