"""inspect(): per input line, why it passes or fails: format errors, stated and detected
key, the checks it fails, range and note count. How users find out why a seed or variant
is rejected."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from .checks import failing_checks
from .codec import read_examples
from .config import Config
from .prompt import stated_key
from .theory import detect_key


def inspect_file(path: Path, config: Config) -> list[dict[str, Any]]:
    """One record per line: line, ok, errors, stated_key, key, key_confidence, key_margin,
    failed_checks, reasons, range, notes."""
    records = []
    for number, _text, example, findings in read_examples(path, config.format, config.limits):
        errors = [{"code": f.code, "message": f.message} for f in findings if f.severity == "error"]
        record: dict[str, Any] = {"line": number, "ok": False, "errors": errors, "stated_key": None,
                                  "key": None, "key_confidence": None, "key_margin": None,
                                  "failed_checks": [], "reasons": [], "range": None, "notes": None}
        if example is not None and not errors:
            stated = stated_key(example.prompt)
            estimate = detect_key(example.melody)
            detected = None if estimate is None else estimate.key
            example = replace(example, key=stated or detected)
            failed = failing_checks(example, config.checks)
            r = example.melody.pitch_range()
            record.update(ok=not failed, stated_key=stated.name if stated else None,
                          key=None if estimate is None else estimate.key.name,
                          key_confidence=None if estimate is None else round(estimate.correlation, 4),
                          key_margin=None if estimate is None else round(estimate.margin, 4),
                          failed_checks=[n for n, _ in failed],
                          reasons=[reason for _, reason in failed],
                          range=list(r) if r else None, notes=len(example.melody.notes))
        records.append(record)
    return records
