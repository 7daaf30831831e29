from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds" / "beethoven.jsonl"
DEFAULT_RULES = ROOT / "rules" / "default.toml"


@pytest.fixture
def seeds_path() -> Path:
    return SEEDS


@pytest.fixture
def root() -> Path:
    return ROOT
