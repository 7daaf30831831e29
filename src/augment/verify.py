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


def _plain_name(name: str) -> bool:
    """Whether ``name`` names a file right in the output folder (as the manifest lists them)."""
    return bool(name) and name not in (".", "..") and not any(c in name for c in "/\\\x00")


def verify_dir(out_dir: Path) -> list[str]:
    """Problems found (empty when every file matches the manifest)."""
    path = Path(out_dir) / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except OSError:
        raise AugmentError(f"{path}: no manifest (is {out_dir} an augment output directory?)") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise AugmentError(f"{path}: manifest is not valid JSON ({exc})") from None
    if not isinstance(manifest, dict):
        raise AugmentError(f"{path}: manifest is not a JSON object")
    files = manifest.get("files")
    if not isinstance(files, dict):
        raise AugmentError(f"{path}: manifest has no 'files' table")
    counts = manifest.get("counts", {})
    problems = [] if isinstance(counts, dict) else [f"{MANIFEST}: its 'counts' are not a table"]
    counts = counts if isinstance(counts, dict) else {}
    for name, entry in sorted(files.items()):
        if not _plain_name(name):
            problems.append(f"{json.dumps(name)}: listed in the manifest, but no file name of this folder")
            continue
        want_sha = entry.get("sha256") if isinstance(entry, dict) else None
        f = Path(out_dir) / name
        if not f.is_file():
            problems.append(f"{name}: missing")
        elif not isinstance(want_sha, str):
            problems.append(f"{name}: the manifest gives no sha256 for it")
        elif _sha256(f) != want_sha:
            problems.append(f"{name}: changed (sha256 differs from the manifest)")
        else:
            split = name.removesuffix(".jsonl")
            want = counts.get(f"written_{split}")
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
