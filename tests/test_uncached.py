"""output.UncachedFile: a new file written past the page cache (O_DIRECT) where the system
allows it, else through it; the same bytes either way, and write_atomic's files with it."""

from __future__ import annotations

import errno
import hashlib
import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import augment.output as output
from augment.output import ALIGN, UncachedFile, write_atomic

CHUNKS = st.lists(st.integers(0, 3 * ALIGN + 17), max_size=12).map(
    lambda sizes: [bytes([(i * 37 + k) % 251 for k in range(n)]) for i, n in enumerate(sizes)])


def _written(path: Path, chunks: list[bytes]) -> UncachedFile:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    handle = UncachedFile(fd)
    try:
        for chunk in chunks:
            handle.write(chunk)
        handle.finish()
    finally:
        handle.close()
    return handle


@settings(max_examples=60, deadline=None)
@given(CHUNKS)
def test_the_file_holds_the_chunks_in_order_whatever_their_sizes(tmp_path_factory: pytest.TempPathFactory,
                                                                 chunks: list[bytes]) -> None:
    """Chunks of any size (empty, under a block, several blocks and a bit) make the file of
    their bytes one after another, on this machine's file system (direct or not)."""
    path = tmp_path_factory.mktemp("uncached") / "f.bin"
    _written(path, chunks)
    assert path.read_bytes() == b"".join(chunks)


@settings(max_examples=60, deadline=None)
@given(CHUNKS)
def test_direct_writes_are_whole_aligned_blocks_and_the_last_one_goes_through_the_cache(
        tmp_path_factory: pytest.TempPathFactory, chunks: list[bytes]) -> None:
    """What a file system taking direct writes sees (simulated, so on any file system): every
    write made while direct is on is whole blocks at a block-aligned offset (else it is
    refused here, as the kernel refuses it); the part of a block left at the end is written
    once direct is off; the file is the chunks' bytes."""
    path = tmp_path_factory.mktemp("uncached") / "f.bin"
    state = {"direct": False}
    seen: list[tuple[bool, int]] = []
    real_write = os.write

    def set_direct(fd: int, on: bool) -> bool:
        state["direct"] = on
        return on

    def strict_write(fd: int, data: memoryview | bytes) -> int:
        if state["direct"]:
            if len(data) % ALIGN or os.lseek(fd, 0, os.SEEK_CUR) % ALIGN:
                raise OSError(errno.EINVAL, "Invalid argument")
        seen.append((state["direct"], len(data)))
        return real_write(fd, data)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(output, "_set_direct", set_direct)
        mp.setattr(output.os, "write", strict_write)
        handle = _written(path, chunks)
    total = sum(map(len, chunks))
    assert path.read_bytes() == b"".join(chunks)
    assert handle.direct is (total % ALIGN == 0)  # (turned off to write a partial last block)
    assert sum(n for direct, n in seen if direct) == total - total % ALIGN
    assert [n for direct, n in seen if not direct] == ([total % ALIGN] if total % ALIGN else [])


def test_a_file_system_refusing_direct_writes_gets_the_file_through_the_cache(tmp_path: Path) -> None:
    """A refusal (EINVAL) of a direct write part-way (a first block of it was written, then
    the rest refused): direct goes off and the rest, held part included, is written through
    the cache; no byte lost or doubled. Without O_DIRECT at all, the file is written through
    the cache from the start."""
    chunks = [bytes([k % 253]) * n for k, n in enumerate((5000, 3 * ALIGN, 100, 2 * ALIGN + 1, 7000))]
    refusals = []
    real_write = os.write

    def refusing(fd: int, data: memoryview | bytes) -> int:
        if not refusals and len(data) >= 2 * ALIGN:  # the second chunk's blocks: one taken
            refusals.append("short")
            return real_write(fd, data[:ALIGN])
        if refusals == ["short"]:  # then the rest refused
            refusals.append("refused")
            raise OSError(errno.EINVAL, "Invalid argument")
        return real_write(fd, data)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(output, "_set_direct", lambda fd, on: on)
        mp.setattr(output.os, "write", refusing)
        handle = _written(tmp_path / "a.bin", chunks)
    assert refusals == ["short", "refused"] and handle.direct is False
    assert (tmp_path / "a.bin").read_bytes() == b"".join(chunks)

    with pytest.MonkeyPatch.context() as mp:
        mp.delattr(output.os, "O_DIRECT", raising=False)
        handle = _written(tmp_path / "b.bin", chunks)
    assert handle.direct is False and (tmp_path / "b.bin").read_bytes() == b"".join(chunks)


def test_write_atomic_writes_the_same_file_and_digest_direct_or_not(tmp_path: Path) -> None:
    """write_atomic through UncachedFile: the bytes and sha256 of the lines, whether the
    system takes direct writes or not; no temporary file left."""
    lines = [f"line {i} ♪ " + "x" * (i % 211) for i in range(30_000)]
    whole = "".join(line + "\n" for line in lines).encode("utf-8")
    assert write_atomic(tmp_path / "a.jsonl", lines) == hashlib.sha256(whole).hexdigest()
    with pytest.MonkeyPatch.context() as mp:
        mp.delattr(output.os, "O_DIRECT", raising=False)
        assert write_atomic(tmp_path / "b.jsonl", lines) == hashlib.sha256(whole).hexdigest()
    assert (tmp_path / "a.jsonl").read_bytes() == whole == (tmp_path / "b.jsonl").read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.jsonl", "b.jsonl"]
