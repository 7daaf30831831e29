"""``augment verify DIR``: re-check an output directory against its manifest.

The manifest (written last) lists every file with its sha256; a file that is missing,
changed, or present but not listed is a problem. Line counts of the split files are
checked against the manifest's ``written_<split>`` counts too.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from .errors import AugmentError

MANIFEST = "manifest.json"
# Written into the directory after the manifest by other commands (augment report).
DERIVED = ("report.html",)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def verify_dir(out_dir: Path) -> list[str]:
    """Problems found (empty when every file matches the manifest)."""
    path = Path(out_dir) / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except OSError:
        raise AugmentError(f"{path}: no manifest (is {out_dir} an augment output directory?)") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise AugmentError(f"{path}: manifest is not valid JSON ({exc})") from None
    files = manifest.get("files")
    if not isinstance(files, dict):
        raise AugmentError(f"{path}: manifest has no 'files' table")
    problems = []
    for name, entry in sorted(files.items()):
        f = Path(out_dir) / name
        if not f.is_file():
            problems.append(f"{name}: missing")
        elif _sha256(f) != entry.get("sha256"):
            problems.append(f"{name}: changed (sha256 differs from the manifest)")
        else:
            split = name.removesuffix(".jsonl")
            want = manifest.get("counts", {}).get(f"written_{split}")
            if want is not None:
                with f.open("rb") as handle:
                    got = sum(1 for _ in handle)
                if got != want:
                    problems.append(f"{name}: {got} lines, manifest says {want}")
    listed = set(files) | {MANIFEST, *DERIVED}
    for f in sorted(Path(out_dir).iterdir()):
        if f.is_file() and f.name not in listed and not f.name.startswith("."):
            problems.append(f"{f.name}: extra file not in the manifest")
    return problems
