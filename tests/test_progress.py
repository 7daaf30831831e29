"""Progress on stderr: shown with --progress (or on a terminal), silent with --quiet, and
never a change to stdout or to any file written."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from click.testing import CliRunner

from augment.cli import cli
from augment.config import load_config
from augment.pipeline import expand
from augment.progress import SILENT

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds" / "beethoven.jsonl"
RULES = ROOT / "rules" / "default.toml"
# The diversity reports are waited for last, while writing: a pool makes them meanwhile.
EXPAND_STAGES = ["read seeds", "seed keys", "seed checks", "near-duplicate calibration and split plan",
                 "variants", "dedup", "select", "leakage audit", "write", "diversity"]


def _files(d: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(d.iterdir())}


class Recorder:
    """A Progress that records each stage label and how many items passed through."""

    def __init__(self) -> None:
        self.events: list[tuple[str, int | None]] = []

    def track(self, items: Iterable[object], label: str, total: int | None = None) -> Iterator[object]:
        seen = 0
        for item in items:
            seen += 1
            yield item
        self.events.append((label, seen))
        assert total is None or total == seen

    @contextmanager
    def stage(self, label: str) -> Iterator[None]:
        self.events.append((label, None))  # as it starts (one stage may run inside another)
        yield


def test_expand_output_is_the_same_with_and_without_progress(tmp_path: Path) -> None:
    runner = CliRunner()
    runs = {}
    for name, flags in (("plain", []), ("progress", ["--progress"]), ("quiet", ["--quiet"]),
                        ("both", ["--progress", "--quiet"])):
        r = runner.invoke(cli, ["expand", str(SEEDS), "--rules", str(RULES), "--target", "200",
                                "--out", str(tmp_path / name), *flags])
        assert r.exit_code == 0, r.output
        runs[name] = r
        assert _files(tmp_path / name) == _files(tmp_path / "plain")
        assert r.stdout == runs["plain"].stdout.replace(str(tmp_path / "plain"), str(tmp_path / name))
    shown = runs["progress"].stderr.splitlines()
    assert shown == EXPAND_STAGES  # not a terminal: click prints each label once
    assert runs["plain"].stderr == runs["quiet"].stderr == runs["both"].stderr == ""


def test_library_reports_every_stage_through_the_progress_it_is_given(tmp_path: Path) -> None:
    config = load_config(RULES)
    recorder = Recorder()
    result = expand([SEEDS], config, tmp_path / "a", progress=recorder, target=150)
    expand([SEEDS], config, tmp_path / "b", progress=SILENT, target=150)
    assert _files(tmp_path / "a") == _files(tmp_path / "b")
    assert [label for label, _ in recorder.events] == EXPAND_STAGES
    counted = dict(recorder.events)
    assert counted["seed checks"] == result.counts["input_lines"]
    lineage = [json.loads(x) for x in (tmp_path / "a" / "lineage.jsonl").read_text().splitlines()]
    augmented = {x["seed_id"] for x in lineage if x["rules"]}  # seeds whose variants were drawn
    passing = result.counts["input_lines"] - result.counts["rejected_seed_checks"]
    assert len(augmented) <= counted["variants"] <= passing


def test_dedup_and_split_progress_leaves_outputs_alone(tmp_path: Path) -> None:
    runner = CliRunner()
    data = tmp_path / "data.jsonl"
    data.write_text(SEEDS.read_text())
    outs = {}
    for name, flags in (("plain", []), ("progress", ["--progress"])):
        r = runner.invoke(cli, ["dedup", str(data), "-o", str(tmp_path / f"{name}.jsonl"), *flags])
        assert r.exit_code == 0, r.output
        outs[name] = r
        s = runner.invoke(cli, ["split", str(data), "--out", str(tmp_path / f"split-{name}"), *flags])
        assert s.exit_code == 0, s.output
        if flags:
            assert s.stderr.splitlines()[:4] == ["read", "near-duplicate calibration", "tune groups",
                                                 "leakage audit"]
    assert (tmp_path / "plain.jsonl").read_bytes() == (tmp_path / "progress.jsonl").read_bytes()
    assert (tmp_path / "plain.rejected.jsonl").read_bytes() == \
        (tmp_path / "progress.rejected.jsonl").read_bytes()
    assert _files(tmp_path / "split-plain") == _files(tmp_path / "split-progress")
    assert outs["progress"].stderr.splitlines()[:3] == ["read", "dedup", "write"]
