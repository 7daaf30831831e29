"""The parsed corpus shipped in tests/data/music21_corpus is what music21 parses: a sample
of each collection is parsed live here and compared with the shipped entries, so that the
tests that read the shipped files (instead of parsing the whole corpus, ~2 minutes) read
real music21 output."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import music21
import pytest

import corpus_util
from corpus_util import (
    SHIPPED,
    _build_chorales,
    _build_ryans,
    _encode,
    _essen_works,
    _file_name,
    _monophonic,
    _signature_labelled,
    chorale_paths,
    ryans_paths,
)


def shipped(name: str) -> list[dict[str, Any]]:
    path = SHIPPED / _file_name(name)
    if not path.exists():  # another music21: the collections are parsed live, nothing is shipped
        pytest.skip(f"nothing shipped for music21 {music21.__version__}")
    return json.loads(path.read_text())


def entries(rows: list[dict[str, Any]], names: set[str]) -> list[dict[str, Any]]:
    return [r for r in rows if r["name"] in names]


def test_chorales_parse_as_shipped() -> None:
    paths = chorale_paths()[:6]
    live = _encode(_build_chorales(paths))
    stems = {Path(str(p)).stem for p in paths}  # (as _chorale names them)
    assert len(live) >= 4
    assert live == entries(shipped("bach-chorales"), stems)


def test_essen_songs_and_their_labels_parse_as_shipped() -> None:
    works = list(_essen_works(["kinder0"]))
    names = {label for label, _ in works}
    plain, labelled = _encode(_monophonic(works)), _encode(_signature_labelled(works))
    assert len(plain) > 150 and len(labelled) > 100
    assert plain == entries(shipped("essen"), names)
    assert labelled == entries(shipped("essen-labelled"), names)


def test_ryans_tunes_parse_as_shipped() -> None:
    paths = ryans_paths()[:3]
    live = _encode(_build_ryans(paths))
    stems = {p.stem for p in paths}
    assert live
    assert live == [r for r in shipped("ryans") if r["name"].split("#")[0] in stems]


def test_the_shipped_files_are_read_before_any_parse(monkeypatch: pytest.MonkeyPatch) -> None:
    shipped("bach-chorales")  # (skips when nothing is shipped for this music21)
    corpus_util._cached_inproc.cache_clear()
    monkeypatch.setattr(music21.corpus, "parse", lambda *a, **k: pytest.fail("parsed the corpus"))
    try:
        assert len(corpus_util.bach_chorales()) > 300
        assert len(corpus_util.essen_songs()) > 400
        assert len(corpus_util.essen_labelled()) > 300
        assert len(corpus_util.ryans_tunes()) > 50
    finally:
        corpus_util._cached_inproc.cache_clear()
