"""Deduplication stages.

Exact: two examples are the same when their canonical melody (list form, quarter
notes) and every message text but the melody are equal. The kept one is the seed if
there is one, else the smallest id, so the result does not depend on input order.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable

from .codec import format_melody
from .example import Example


def exact_key(example: Example) -> str:
    texts = [[m.role, m.content] for i, m in enumerate(example.messages) if i != example.melody_index]
    canonical = json.dumps([texts, format_melody(example.melody)], ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def dedup_exact(examples: Iterable[Example]) -> tuple[list[Example], list[tuple[Example, str]]]:
    """(kept, [(dropped, reason)]); kept in (seed first, id) order."""
    kept: dict[str, Example] = {}
    dropped: list[tuple[Example, str]] = []
    for ex in sorted(examples, key=lambda e: (not e.is_seed, e.id)):
        k = exact_key(ex)
        if k in kept:
            dropped.append((ex, f"exact_duplicate: same melody and prompt as {kept[k].id}"))
        else:
            kept[k] = ex
    return list(kept.values()), dropped
