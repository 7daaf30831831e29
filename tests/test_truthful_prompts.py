"""Truthful re-prompting (issue 4): on at least 10,000 variants made with rules/wide.toml,
no prompt claims a key, mode, meter or length that the theory engine finds false."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from augment.checks import check_claims, check_key_agreement
from augment.cli import cli
from augment.codec import FormatConfig, parse_line
from augment.config import load_config
from augment.pipeline import annotate_keys, draw_variants, read_seeds
from augment.prompt import parse_claims
from augment.reprompt import reprompt, seed_facts
from conftest import ROOT, SEEDS

WIDE = ROOT / "rules" / "wide.toml"


def test_ten_thousand_reprompted_variants_claim_only_the_truth() -> None:
    config = load_config(WIDE)
    config = replace(config, expand=replace(config.expand, variants_per_seed=130))
    seeds, rejected, _ = read_seeds([SEEDS], config.format)
    assert not rejected
    seeds = [seed_facts(s) for s in annotate_keys(seeds)]
    counts: Counter[str] = Counter()
    outcome: Counter[str] = Counter()
    checked = 0
    for seed in seeds:
        for variant in draw_variants(seed, config, 11, counts):
            result = reprompt(variant, seed, config.format, config.reprompt)
            if isinstance(result, str):
                outcome["refused"] += 1
                continue
            checked += 1
            claims = parse_claims(result.prompt or "")
            if claims.key is not None:
                assert claims.key == result.key, (result.prompt, result.key, result.steps)
                outcome["key claims"] += 1
            if claims.mode is not None and result.key is not None:
                assert claims.mode == result.key.mode
            assert check_claims(result, config.checks) is None, (result.prompt, result.steps)
            outcome["meter claims"] += bool(claims.meters)
            outcome["length claims"] += bool(claims.bars or claims.notes)
    print(f"{checked} reprompted variants, {dict(outcome)}")
    assert checked >= 10_000
    assert outcome["refused"] < 0.05 * checked
    assert outcome["key claims"] > 0.8 * checked and outcome["meter claims"] > 0.5 * checked


@pytest.fixture(scope="module")
def wide_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wide") / "out"
    result = CliRunner().invoke(cli, ["expand", str(SEEDS), "--rules", str(WIDE), "--out", str(out),
                                      "--seed", "4"])
    assert result.exit_code == 0, result.output
    return out


def test_every_written_prompt_agrees_with_its_melody(wide_run: Path) -> None:
    """Read back from the files: the detected key agrees with the claimed key, claimed meters
    and lengths hold, and every rule was used."""
    checks = load_config(WIDE).checks
    lines = 0
    for name in ("train", "validation", "test"):
        path = wide_run / f"{name}.jsonl"
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            example, findings = parse_line(line, FormatConfig(), str(path), number)
            assert example is not None, findings
            assert check_key_agreement(example, checks) is None, example.prompt
            assert check_claims(example, checks) is None, example.prompt
            lines += 1
    assert lines >= 2000
