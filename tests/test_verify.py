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
