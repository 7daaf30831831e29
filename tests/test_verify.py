"""augment verify: every file against the manifest's sha256 and counts."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from augment.config import load_config
from augment.errors import AugmentError
from augment.pipeline import expand
from augment.verify import verify_dir

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def out_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("verify") / "out"
    expand([ROOT / "seeds" / "beethoven.jsonl"], load_config(ROOT / "rules" / "default.toml"), out)
    return out


def test_fresh_output_verifies(out_dir: Path) -> None:
    assert verify_dir(out_dir) == []


def test_changed_missing_and_extra_files(out_dir: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(out_dir, copy)
    with (copy / "train.jsonl").open("a", encoding="utf-8") as f:
        f.write("{}\n")
    (copy / "test.jsonl").unlink()
    (copy / "notes.txt").write_text("x")
    problems = verify_dir(copy)
    assert "train.jsonl: changed (sha256 differs from the manifest)" in problems
    assert "test.jsonl: missing" in problems
    assert "notes.txt: extra file not in the manifest" in problems
    assert len(problems) == 3


def test_no_manifest_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(AugmentError, match="no manifest"):
        verify_dir(tmp_path)


@pytest.mark.parametrize(("manifest", "error", "problem"), [
    ("[]", "manifest is not a JSON object", None),
    ('"x"', "manifest is not a JSON object", None),
    ("NaN", "manifest is not a JSON object", None),
    ('{"files": []}', "manifest has no 'files' table", None),
    ('{"files": {"train.jsonl": 5}}', None, "train.jsonl: the manifest gives no sha256 for it"),
    ('{"files": {"train.jsonl": {"sha256": 5}}}', None, "train.jsonl: the manifest gives no sha256 for it"),
    ('{"files": {"../train.jsonl": {"sha256": "0"}}}', None,
     '"../train.jsonl": listed in the manifest, but no file name of this folder'),
    ('{"files": {"a\\u0000b": {}}}', None,
     '"a\\u0000b": listed in the manifest, but no file name of this folder'),
    ('{"files": {}, "counts": "abc"}', None, "manifest.json: its 'counts' are not a table"),
])
def test_a_tampered_manifest_is_reported_not_a_crash(out_dir: Path, tmp_path: Path, manifest: str,
                                                     error: str | None, problem: str | None) -> None:
    """``verify`` exists to find tampering: a manifest of the wrong shape is an error (exit 2)
    or a problem (exit 1) in words, never a traceback, and names outside the folder are not
    read."""
    from click.testing import CliRunner

    from augment.cli import cli

    copy = tmp_path / "copy"
    shutil.copytree(out_dir, copy)
    (copy / "manifest.json").write_text(manifest, encoding="utf-8")
    result = CliRunner().invoke(cli, ["verify", str(copy)])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    if error is not None:
        assert result.exit_code == 2 and error in result.output
    else:
        assert result.exit_code == 1 and problem in verify_dir(copy)
