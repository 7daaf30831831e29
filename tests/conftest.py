from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import settings

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds" / "beethoven.jsonl"
DEFAULT_RULES = ROOT / "rules" / "default.toml"


@pytest.fixture
def seeds_path() -> Path:
    return SEEDS


@pytest.fixture
def root() -> Path:
    return ROOT


# The suite runs in parallel (pytest-xdist) on noisy machines: no example of a property test
# may fail for taking longer than hypothesis's default 200 ms.
settings.register_profile("augment", deadline=None)
settings.load_profile("augment")
