"""report.html: self-contained (every figure and clip embedded and decodable), its numbers
are the manifest's and the output's, and the same output gives the same report."""

from __future__ import annotations

import base64
import io
import json
import shutil
import wave
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import matplotlib.image
import pytest

from augment.config import load_config
from augment.pipeline import expand
from augment.report import GALLERY_FAMILIES, GALLERY_VARIANTS, write_report

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds" / "beethoven.jsonl"
RULES = """
[expand]
variants_per_seed = 6
[[rule]]
name = "transpose"
params = { min_semitones = -12, max_semitones = 12, low_pitch = 0, high_pitch = 127 }
[checks]
min_pitch = 52
max_pitch = 80
"""
DISTRIBUTION_FIGURES = 6


class ReportParser(HTMLParser):
    """Every img/audio source, every table row by its data-* label, and every link."""

    def __init__(self) -> None:
        super().__init__()
        self.images: list[str] = []
        self.audio: list[str] = []
        self.links: list[str] = []
        self.rows: dict[tuple[str, str], list[str]] = {}
        self._row: tuple[str, str] | None = None
        self._cell: list[str] | None = None
        self.spans: dict[str, str] = {}
        self._span: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "img":
            self.images.append(a.get("src") or "")
        elif tag == "audio":
            self.audio.append(a.get("src") or "")
        elif tag in ("a", "link", "script", "source"):
            self.links.append(a.get("href") or a.get("src") or "")
        elif tag == "tr":
            data = [(k, v) for k, v in attrs if k.startswith("data-")]
            if data:
                self._row = (data[0][0][5:], data[0][1] or "")
                self.rows[self._row] = []
        elif tag == "td" and self._row is not None:
            self._cell = []
        elif tag == "span" and a.get("id"):
            self._span = a["id"]

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)
        if self._span is not None:
            self.spans[self._span] = data

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._cell is not None and self._row is not None:
            self.rows[self._row].append("".join(self._cell))
            self._cell = None
        elif tag == "tr":
            self._row = None
        elif tag == "span":
            self._span = None

    def table(self, kind: str) -> dict[str, list[str]]:
        return {label: cells for (k, label), cells in self.rows.items() if k == kind}


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("report")
    (base / "rules.toml").write_text(RULES)
    expand([SEEDS], load_config(base / "rules.toml"), base / "out", run_seed=5)
    return base / "out"


@pytest.fixture(scope="module")
def parsed(out: Path) -> ReportParser:
    parser = ReportParser()
    parser.feed(write_report(out).read_text(encoding="utf-8"))
    return parser


def decode(uri: str, mime: str) -> bytes:
    prefix = f"data:{mime};base64,"
    assert uri.startswith(prefix), uri[:60]
    return base64.b64decode(uri[len(prefix):], validate=True)


def test_every_figure_and_clip_is_embedded_and_decodes(parsed: ReportParser) -> None:
    cards = GALLERY_FAMILIES * (1 + GALLERY_VARIANTS)
    assert len(parsed.images) == DISTRIBUTION_FIGURES + cards
    assert len(parsed.audio) == cards
    for uri in parsed.images:
        pixels = matplotlib.image.imread(io.BytesIO(decode(uri, "image/png")), format="png")
        assert pixels.shape[0] > 50 and pixels.shape[1] > 100
        assert pixels.std() > 0   # not a blank image
    for uri in parsed.audio:
        with wave.open(io.BytesIO(decode(uri, "audio/wav"))) as clip:
            assert (clip.getnchannels(), clip.getsampwidth()) == (1, 2)
            assert 0.5 < clip.getnframes() / clip.getframerate() <= 6.0
    assert parsed.links == []   # nothing to fetch: no scripts, styles or links


def test_numbers_match_the_manifest_and_the_output(out: Path, parsed: ReportParser) -> None:
    manifest = json.loads((out / "manifest.json").read_text())
    counts = parsed.table("count")
    assert {k: int(v[1]) for k, v in counts.items()} == manifest["counts"]
    lineage = [json.loads(x) for x in (out / "lineage.jsonl").read_text().splitlines()]
    for split, cells in parsed.table("split").items():
        assert int(cells[1]) == manifest["counts"][f"written_{split}"]
        assert int(cells[2]) == len({r["seed_id"] for r in lineage if r["split"] == split})
    rejected = [json.loads(x) for x in (out / "rejected.jsonl").read_text().splitlines()]
    assert rejected, "the fixture should reject some variants"
    reasons = Counter(f"{r['stage']}/{reason.split(':')[0]}" for r in rejected for reason in r["reasons"])
    assert {k: int(v[1]) for k, v in parsed.table("reason").items()} == reasons
    rules = parsed.table("rule")
    assert int(rules["transpose"][1]) == sum(len(r["rules"]) for r in lineage)
    assert int(rules["transpose"][2]) == sum(len(r["rules"]) for r in rejected)
    family = Counter(r["seed_id"] for r in lineage)
    assert float(parsed.spans["largest-family-share"]) == pytest.approx(
        max(family.values()) / len(lineage), abs=1e-4)


def test_manifest_sections_match_the_report(out: Path, parsed: ReportParser) -> None:
    """Fields other stages record (when present) agree with what the report counts."""
    manifest = json.loads((out / "manifest.json").read_text())
    if "counts_per_rule" in manifest:
        rules = parsed.table("rule")
        assert {k: int(v[1]) for k, v in rules.items() if int(v[1])} == manifest["counts_per_rule"]
    if "counts_per_split" in manifest:
        assert {k: int(v[1]) for k, v in parsed.table("split").items()} == manifest["counts_per_split"]
    if "rejected_per_reason" in manifest:
        by_code: Counter[str] = Counter()
        for label, cells in parsed.table("reason").items():
            stage, code = label.split("/", 1)
            if stage in ("checks", "dedup", "split"):
                by_code[code] += int(cells[1])
        assert by_code == manifest["rejected_per_reason"]
    if "diversity" in manifest:
        metrics = parsed.table("metric")
        for metric, before in manifest["diversity"]["before"].items():
            assert float(metrics[metric][1]) == before
            assert float(metrics[metric][2]) == manifest["diversity"]["after"][metric]
    if "near_params" in manifest:
        assert parsed.spans["leaks"] == "0"   # the run wrote its files, so the audit passed


def test_unknown_manifest_sections_are_shown(out: Path, tmp_path: Path) -> None:
    copy = tmp_path / "out"
    shutil.copytree(out, copy)
    manifest: dict[str, Any] = json.loads((copy / "manifest.json").read_text())
    manifest["future_stage"] = {"kept": 12, "params": {"window_quarters": 4}}
    manifest["future_metric"] = {"before": {"distinct_4grams": 0.41}, "after": {"distinct_4grams": 0.37}}
    (copy / "manifest.json").write_text(json.dumps(manifest))
    parser = ReportParser()
    parser.feed(write_report(copy).read_text(encoding="utf-8"))
    fields = parser.table("field")
    assert fields["kept"][1] == "12" and fields["params.window_quarters"][1] == "4"
    assert parser.table("metric")["distinct_4grams"][1:] == ["0.41", "0.37"]   # before, after


def test_gallery_shows_variants_beside_their_own_seed(out: Path, parsed: ReportParser) -> None:
    # (``parsed`` writes out/report.html in this process: the tests may run in several)
    html = (out / "report.html").read_text(encoding="utf-8")
    lineage = {r["id"]: r for r in map(json.loads, (out / "lineage.jsonl").read_text().splitlines())}
    families = html.split('<div class="family">')[1:]
    assert len(families) == GALLERY_FAMILIES
    for family in families:
        ids = [chunk.split("</code>")[0] for chunk in family.split("<code>")[1:]]
        seed, variants = ids[0], ids[1:]
        assert lineage[seed]["rules"] == [] and len(variants) == GALLERY_VARIANTS
        assert all(lineage[v]["seed_id"] == seed and lineage[v]["rules"] for v in variants)


def test_same_output_same_report(out: Path, parsed: ReportParser, tmp_path: Path) -> None:
    # (``parsed`` writes out/report.html in this process: the tests may run in several)
    first = (out / "report.html").read_bytes()
    copy = tmp_path / "out"
    shutil.copytree(out, copy)
    (copy / "report.html").unlink()
    assert write_report(copy).read_bytes().replace(str(copy).encode(), str(out).encode()) == first


def test_cli_report(out: Path, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from augment.cli import cli

    ok = CliRunner().invoke(cli, ["report", str(out)])
    assert ok.exit_code == 0 and "report.html" in ok.output
    missing = CliRunner().invoke(cli, ["report", str(tmp_path)])
    assert missing.exit_code == 2 and "manifest.json" in missing.output
    assert "Traceback" not in missing.output


@pytest.mark.parametrize(("file", "field", "value", "words"), [
    ("lineage.jsonl", "rules", "transpose", "'rules' must be a list of"),
    ("lineage.jsonl", "rules", ["transpose"], "'rules' must be a list of"),
    ("lineage.jsonl", "rules", [{"rule": "transpose", "params": [1]}], "'rules' must be a list of"),
    ("lineage.jsonl", "id", 5, "'id' must be a string, got 5"),
    ("lineage.jsonl", "key", "\ud800", "'key' must be a key name or null"),
    ("rejected.jsonl", "reasons", 5, "'reasons' must be a list of strings, got 5"),
    ("manifest.json", "counts", "abc", "'counts' must be a table of numbers"),
    ("manifest.json", "config", "x", "'config' must be a table"),
    ("manifest.json", "config.format", "x", "'config.format' must be a table like"),
    ("manifest.json", "near_params.num_perm", 10**8,
     "'near_params.num_perm' must be a whole number in 1-4096"),
    ("manifest.json", "near_params.lsh_threshold", "a", "'near_params.lsh_threshold' must be a number"),
    ("manifest.json", "near_params.min_tokens", None, "'near_params.min_tokens' must be a whole number >= 1"),
    ("manifest.json", "near_params.shingle_size", 10**9,
     "'near_params.shingle_size' must be a whole number in 1-64"),
])
def test_a_record_or_manifest_edited_by_hand_is_named_not_a_crash(
        out: Path, tmp_path: Path, file: str, field: str, value: object, words: str) -> None:
    """``report``, ``export`` and ``replay`` read a run's lineage, rejects and manifest: a
    value of the wrong kind there (an edit by hand) is one error naming the file, the line
    and the field, never a traceback, an allocation of 700 GB or a search without end."""
    from click.testing import CliRunner

    from augment.cli import cli

    copy = tmp_path / "out"
    shutil.copytree(out, copy)
    path = copy / file
    if file == "manifest.json":
        data = json.loads(path.read_text())
        *parents, last = field.split(".")
        table = data
        for parent in parents:
            table = table[parent]
        table[last] = value
        path.write_text(json.dumps(data))
        where = f"{path}: "
    else:
        lines = path.read_text().splitlines()
        record = json.loads(lines[0])
        record[field] = value
        lines[0] = json.dumps(record)
        path.write_text("\n".join(lines) + "\n")
        where = f"{path}:1: "
    commands = [["report", str(copy)],
                ["export", "trl-dpo", str(copy / "train.jsonl"), "-o", str(tmp_path / "x")]]
    if file == "lineage.jsonl":
        commands.append(["replay", str(copy), "--seeds", str(SEEDS)])
    for command in commands:
        result = CliRunner().invoke(cli, command)
        assert result.exception is None or isinstance(result.exception, SystemExit), (command, result.output)
        assert result.exit_code == 2 and f"error: {where}{words}" in result.output, (command, result.output)


def test_export_names_a_line_that_is_not_utf8(out: Path, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from augment.cli import cli

    copy = tmp_path / "out"
    shutil.copytree(out, copy)
    lines = (copy / "train.jsonl").read_bytes().splitlines(keepends=True)
    lines[2] = lines[2].replace(b"melody", b"mel\xffody", 1)
    (copy / "train.jsonl").write_bytes(b"".join(lines))
    for command in (["export", "openai", str(copy / "train.jsonl"), "-o", str(tmp_path / "x.jsonl")],
                    ["report", str(copy)]):
        result = CliRunner().invoke(cli, command)
        assert result.exit_code == 2, result.output
        assert f"error: {copy / 'train.jsonl'}:3: line is not valid UTF-8" in result.output
