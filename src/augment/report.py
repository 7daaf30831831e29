"""report.html: one self-contained page to look at and listen to an expand output.

Counts per stage, rule and rejection reason; split sizes and seed families; the
distributions of keys, modes, register, intervals and durations in the seeds beside
the output; whatever else the manifest records (diversity, leakage audit); and a
gallery of a few seeds beside some of their variants as piano rolls with an audio clip.
Every figure and clip is embedded as a data URI, so the file opens offline. The gallery
sample is drawn by a stable hash of the run seed: same output, same report.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, fields
from fractions import Fraction
from html import escape
from pathlib import Path
from typing import Any

from .errors import AugmentError
from .export import Record, output_format, read_records
from .midi import DEFAULT_BPM, render_wav, tempo_bpm
from .output import load_json, load_jsonl, write_atomic
from .plots import compare_shares, piano_roll
from .split import SPLITS
from .theory import MAJOR_TONICS, MINOR_TONICS

GALLERY_FAMILIES = 4
GALLERY_VARIANTS = 2
CLIP_SECONDS = 6.0
# Manifest sections shown by their own tables; any other section is shown generically.
_KNOWN_SECTIONS = {"augment_manifest", "config", "config_file", "seed", "seed_files", "versions",
                   "counts", "files", "counts_per_split", "counts_per_rule", "rejected_per_reason",
                   "near_params"}
_KEY_ORDER = [f"{t} major" for t in MAJOR_TONICS] + [f"{t} minor" for t in MINOR_TONICS]
_MAX_INTERVAL = 12


@dataclass(frozen=True)
class Distributions:
    """Counts of keys, modes, pitches, ranges, intervals and durations over examples."""

    keys: Counter[str]
    modes: Counter[str]
    pitches: Counter[str]
    spans: Counter[str]
    intervals: Counter[str]
    durations: Counter[str]


def _interval_label(semitones: int) -> str:
    if semitones > _MAX_INTERVAL:
        return f">{_MAX_INTERVAL}"
    if semitones < -_MAX_INTERVAL:
        return f"<-{_MAX_INTERVAL}"
    return str(semitones)


def distributions(records: Iterable[Record]) -> Distributions:
    """Key, mode and range per example; pitch, interval and duration (quarters) per note."""
    d = Distributions(Counter(), Counter(), Counter(), Counter(), Counter(), Counter())
    for rec in records:
        key = rec.key or "unknown"
        d.keys[key] += 1
        d.modes[key.split(" ")[-1]] += 1
        melody = rec.example.melody
        d.pitches.update(str(p) for p in melody.notes)
        low_high = melody.pitch_range()
        if low_high is not None:
            d.spans[str(low_high[1] - low_high[0])] += 1
        d.intervals.update(_interval_label(i) for i in melody.intervals())
        d.durations.update(str(q) for q in melody.durations)
    return d


def _ordered(seeds: Counter[str], output: Counter[str], order: list[str] | None = None,
             numeric: bool = False, limit: int = 40) -> list[str]:
    present = set(seeds) | set(output)
    if order is not None:
        return [c for c in order if c in present] + sorted(present - set(order))
    top = sorted(present, key=lambda c: -(seeds[c] + output[c]))[:limit]
    if numeric:
        return sorted(top, key=lambda c: Fraction(c.lstrip("<>")) * (-1 if c.startswith("<") else 1))
    return sorted(top)


def distribution_figures(seeds: Distributions, output: Distributions) -> list[tuple[str, str]]:
    """(caption, PNG data URI) per distribution, seeds beside output."""
    interval_order = ([f"<-{_MAX_INTERVAL}"] + [str(i) for i in range(-_MAX_INTERVAL, _MAX_INTERVAL + 1)]
                      + [f">{_MAX_INTERVAL}"])
    specs = [
        ("Keys", "keys", _KEY_ORDER, False, ""),
        ("Modes", "modes", ["major", "minor"], False, ""),
        ("Register (MIDI pitch of every note)", "pitches", None, True, "MIDI pitch"),
        ("Range of each melody (semitones, lowest to highest note)", "spans", None, True, "semitones"),
        ("Melodic intervals (semitones between consecutive notes)", "intervals", interval_order,
         False, "semitones"),
        ("Note and rest durations (quarter notes)", "durations", None, True, "quarter notes"),
    ]
    figures = []
    for caption, attr, order, numeric, xlabel in specs:
        a, b = getattr(seeds, attr), getattr(output, attr)
        categories = _ordered(a, b, order, numeric, limit=80 if attr == "pitches" else 40)
        figures.append((caption, compare_shares(caption, categories, a, b, xlabel)))
    return figures


def _stable(*parts: object) -> str:
    return hashlib.sha256(":".join(map(str, parts)).encode()).hexdigest()


def gallery_sample(records: list[Record], run_seed: object, families: int = GALLERY_FAMILIES,
                   variants: int = GALLERY_VARIANTS) -> list[tuple[Record, list[Record]]]:
    """A few seeds that have variants, each with a few of them, chosen by a stable hash."""
    by_family: dict[str, list[Record]] = {}
    for rec in records:
        by_family.setdefault(rec.seed_id, []).append(rec)
    chosen = []
    for seed_id in sorted(by_family, key=lambda s: _stable(run_seed, s)):
        seeds = [r for r in by_family[seed_id] if not r.rules]
        children = [r for r in by_family[seed_id] if r.rules]
        if seeds and children:
            children.sort(key=lambda r: _stable(run_seed, r.id))
            chosen.append((seeds[0], children[:variants]))
        if len(chosen) == families:
            break
    return chosen


def _table(rows: Iterable[Iterable[object]], header: Iterable[str], attr: str = "") -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = []
    for row in rows:
        cells = list(row)
        data = f' data-{attr}="{escape(str(cells[0]))}"' if attr else ""
        body.append(f"<tr{data}>" + "".join(f"<td>{escape(str(c))}</td>" for c in cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _flatten(value: Any, prefix: str = "") -> list[tuple[str, str]]:
    if isinstance(value, dict):
        out = []
        for k, v in value.items():
            out.extend(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    return [(prefix, json.dumps(value) if not isinstance(value, str) else value)]


def _section_table(value: Any) -> str:
    """A manifest section: metric rows by column when it is {column: {metric: number}}."""
    if isinstance(value, dict) and value and all(isinstance(v, dict) for v in value.values()):
        columns = sorted(value, key=lambda c: (c != "before", c != "after", c))
        metrics = list(dict.fromkeys(m for c in columns for m in value[c]))
        if all(not isinstance(value[c].get(m), dict) for c in columns for m in metrics):
            rows = [(m, *(value[c].get(m, "") for c in columns)) for m in metrics]
            return _table(rows, ["metric", *columns], "metric")
    return _table(_flatten(value), ["field", "value"], "field")


def leakage_audit(records: list[Record], manifest: dict[str, Any]) -> list[str] | None:
    """Re-run the leakage audit on the written splits with the run's near-duplicate
    parameters: one line per held-out example whose tune is in train (None: no params)."""
    from .audit import find_leaks
    from .near import NearParams

    params = manifest.get("near_params")
    if not isinstance(params, dict):
        return None
    known = {f.name for f in fields(NearParams)}
    near = NearParams(**{k: v for k, v in params.items() if k in known})
    return find_leaks({s: [r.example for r in records if r.split == s] for s in SPLITS}, near)


def _card(rec: Record, label: str) -> str:
    bpm = tempo_bpm(rec.example.prompt) or DEFAULT_BPM
    wav = base64.b64encode(render_wav(rec.example.melody, bpm, max_seconds=CLIP_SECONDS)).decode()
    rules = "; ".join(f"{r['rule']} {json.dumps(r.get('params', {}), sort_keys=True)}"
                      for r in rec.rules) or "seed (no rule)"
    return (f'<div class="card"><h4>{escape(label)} <code>{escape(rec.id)}</code></h4>'
            f'<img alt="piano roll of {escape(rec.id)}" src="{piano_roll(rec.example.melody)}">'
            f"<p><b>Prompt:</b> {escape(rec.example.prompt or '')}</p>"
            f"<p><b>Key:</b> {escape(rec.key or 'unknown')} &middot; <b>Rules:</b> {escape(rules)}</p>"
            f'<audio controls preload="none" src="data:audio/wav;base64,{wav}"></audio></div>')


_STYLE = """body{font-family:sans-serif;margin:2em;max-width:1200px}table{border-collapse:collapse;
margin:.5em 0}td,th{border:1px solid #ccc;padding:2px 8px;text-align:left;font-size:13px}
.family{display:flex;flex-wrap:wrap;gap:12px;margin-bottom:1.5em}.card{border:1px solid #ddd;
padding:8px;width:340px;font-size:13px}.card img{width:100%}figure{display:inline-block;margin:4px}"""


def render_report(out_dir: Path) -> str:
    """The report of an ``augment expand`` output directory as one HTML string."""
    manifest_path = out_dir / "manifest.json"
    if not manifest_path.is_file():
        raise AugmentError(f"{out_dir}: no manifest.json; is this an augment expand output?")
    manifest = load_json(manifest_path)
    fmt = output_format(out_dir)
    records = [r for split in SPLITS for r in read_records(out_dir / f"{split}.jsonl", fmt)]
    rejected = []
    if (out_dir / "rejected.jsonl").is_file():
        rejected = load_jsonl(out_dir / "rejected.jsonl", ("stage", "reasons"))
    counts = manifest.get("counts", {})
    parts = [f"<h1>augment report: {escape(str(out_dir))}</h1>",
             f"<p>Run seed {escape(str(manifest.get('seed')))}; config "
             f"{escape(str(manifest.get('config_file')))}; seed files "
             f"{escape(', '.join(manifest.get('seed_files', [])))}; versions "
             f"{escape(json.dumps(manifest.get('versions', {}), sort_keys=True))}</p>",
             "<h2>Counts per stage</h2>", _table(sorted(counts.items()), ["count", "value"], "count")]

    family_sizes = Counter(r.seed_id for r in records)
    split_rows = [(s, sum(r.split == s for r in records), len({r.seed_id for r in records if r.split == s}))
                  for s in SPLITS]
    largest = max(family_sizes.values()) / len(records) if records else 0.0
    parts += ["<h2>Splits</h2>", _table(split_rows, ["split", "examples", "seed families"], "split"),
              f'<p>{len(family_sizes)} seed families; the largest holds '
              f'<span id="largest-family-share">{largest:.4f}</span> of the output.</p>']

    in_output = Counter(r["rule"] for rec in records for r in rec.rules)
    in_rejected = Counter(r["rule"] for rej in rejected for r in rej.get("rules", []))
    parts += ["<h2>Rules</h2><p>Times each rule was applied in the written output and in the "
              "rejected variants.</p>",
              _table([(n, in_output[n], in_rejected[n]) for n in sorted(set(in_output) | set(in_rejected))],
                     ["rule", "in output", "in rejected"], "rule")]
    reasons = Counter((rej.get("stage", "?"), str(reason).split(":")[0])
                      for rej in rejected for reason in rej.get("reasons", []))
    parts += ["<h2>Rejection reasons</h2>",
              _table([(f"{s}/{c}", n) for (s, c), n in sorted(reasons.items())],
                     ["stage/reason", "times given"], "reason")]
    leaks = leakage_audit(records, manifest)
    parts.append("<h2>Leakage audit</h2>")
    if leaks is None:
        parts.append("<p>Not run: the manifest records no near-duplicate parameters.</p>")
    else:
        parts.append(f'<p><span id="leaks">{len(leaks)}</span> held-out example(s) share their '
                     "tune (exact, transposed/tempo-scaled or near duplicate) with train.</p>")
        parts += [f"<p><code>{escape(line)}</code></p>" for line in leaks[:20]]
    for section in sorted(set(manifest) - _KNOWN_SECTIONS):
        parts += [f"<h2>{escape(section)}</h2>", _section_table(manifest[section])]

    seeds = distributions(r for r in records if not r.rules)
    figures = distribution_figures(seeds, distributions(records))
    parts.append("<h2>Distributions: seeds beside output</h2>")
    parts += [f'<figure><img alt="{escape(c)}" src="{uri}"><figcaption>{escape(c)}</figcaption></figure>'
              for c, uri in figures]

    parts.append("<h2>Gallery</h2>")
    for seed, variants in gallery_sample(records, manifest.get("seed")):
        cards = [_card(seed, "seed")] + [_card(v, "variant") for v in variants]
        parts.append(f'<div class="family">{"".join(cards)}</div>')
    return ('<!DOCTYPE html><html><head><meta charset="utf-8"><title>augment report</title>'
            f"<style>{_STYLE}</style></head><body>{''.join(parts)}</body></html>")


def write_report(out_dir: Path) -> Path:
    """Write ``out_dir/report.html`` (atomically) and return its path."""
    path = out_dir / "report.html"
    write_atomic(path, [render_report(out_dir)])
    return path
