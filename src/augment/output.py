"""Atomic output: every file is written to a temporary name and renamed into place.

``manifest.json`` is written last and holds the sha256 of every other file, so a
directory with a manifest whose hashes match is complete.
"""

from __future__ import annotations

import errno
import hashlib
import json
import math
import mmap
import os
import tempfile
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass
from itertools import chain, repeat
from pathlib import Path
from typing import Any, BinaryIO, cast

import numpy as np

from .errors import AugmentError, scratch_refused

try:
    import fcntl
except ImportError:  # (not on Windows: files are written through the cache there)
    fcntl = None  # type: ignore[assignment]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_atomic(path: Path, lines: Iterable[str | bytes]) -> str:
    """Write ``lines`` (each + newline; text, or bytes already UTF-8) to ``path``
    atomically; return its sha256."""
    return write_chunks_atomic(path, _chunks(lines))


def _chunks(lines: Iterable[str | bytes]) -> Iterator[bytes]:
    """``lines``, each + newline, joined about ``WRITE_CHUNK`` bytes at a time."""
    chunk: list[bytes] = []
    size = 0
    for line in lines:
        data = line + b"\n" if isinstance(line, bytes) else (line + "\n").encode("utf-8")
        chunk.append(data)
        size += len(data)
        if size >= WRITE_CHUNK:
            yield b"".join(chunk)
            chunk, size = [], 0
    yield b"".join(chunk)


def refuse_folder(path: Path) -> None:
    """AugmentError when ``path``, a file to write, names a folder."""
    if path.is_dir():
        raise AugmentError(f"{path}: is a folder; give the name of a file to write")


def write_chunks_atomic(path: Path, chunks: Iterable[bytes]) -> str:
    """Write the bytes of ``chunks``, one after another, to ``path`` atomically; return its
    sha256."""
    refuse_folder(path)  # (asked first: else the rename at the end fails, naming the temporary file)
    path.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with closing(UncachedFile(fd)) as handle, ThreadPoolExecutor(max_workers=1) as writer:
            # A thread writes and hashes each chunk (both let go of the GIL) while the next
            # one is made. One thread: in order. The chunks waiting for it hold at most
            # ``WRITES_AHEAD`` times ``WRITE_CHUNK`` bytes (or one chunk, when larger).
            pending: deque[tuple[Future[None], int]] = deque()
            waiting = 0
            for chunk in chunks:
                pending.append((writer.submit(_write, handle, digest, chunk), len(chunk)))
                waiting += len(chunk)
                while len(pending) > 1 and waiting > WRITES_AHEAD * WRITE_CHUNK:
                    done, size = pending.popleft()
                    done.result()
                    waiting -= size
            while pending:
                pending.popleft()[0].result()  # raises what a write raised
            handle.finish()
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        # A full disk or a lost mount is named by the file being written.
        if isinstance(exc, OSError) and exc.filename is None:
            raise OSError(exc.errno, exc.strerror or str(exc), str(path)) from exc
        raise
    return digest.hexdigest()


WRITE_CHUNK = 1 << 20  # bytes of lines joined before one write and one hash update
WRITES_AHEAD = 4  # chunks made and waiting for the writing thread, at most


def _write(handle: Any, digest: Any, data: bytes) -> None:
    digest.update(data)
    handle.write(data)


class UncachedFile:
    """A new file written in order past the system's page cache where it allows that
    (``O_DIRECT``: Linux, on most local file systems), else through it as usual; the same
    bytes either way.

    On a virtual machine that gives its free memory back to the host (this project's
    machines: ``virtio_balloon``), each page the cache takes for a new file is one the
    host must supply again: writing 900 MB took ~2 s of system time through the cache and
    ~0.05 s past it (``benchmarks/HISTORY.md``, twenty-third round). Direct writes need
    whole blocks from aligned memory, so each chunk is copied into an aligned buffer
    (``mmap``), the whole ``ALIGN`` blocks written and the rest kept for the next chunk;
    the file's last partial block is written through the cache (``finish``). A file
    system that refuses direct writes (``EINVAL``) gets the file through the cache."""

    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.direct = _set_direct(fd, True)
        self.buffer: mmap.mmap | None = None
        self.held = 0  # bytes at the start of ``buffer`` not written yet (less than a block)

    def write(self, data: bytes) -> None:
        if not self.direct:
            _write_all(self.fd, data)
            return
        total = self.held + len(data)
        if self.buffer is None or len(self.buffer) < total:
            bigger = mmap.mmap(-1, max(total + ALIGN - total % ALIGN, 2 * WRITE_CHUNK))
            if self.buffer is not None:
                bigger[:self.held] = self.buffer[:self.held]
                self.buffer.close()
            self.buffer = bigger
        self.buffer[self.held:total] = data
        whole = total - total % ALIGN
        done = self._write_direct(whole)
        if not self.direct:  # refused: the rest through the cache
            _write_all(self.fd, self.buffer[done:total])
            self.held = 0
            return
        self.buffer[:total - whole] = self.buffer[whole:total]
        self.held = total - whole

    def _write_direct(self, whole: int) -> int:
        """Write the buffer's first ``whole`` bytes directly; how many were written before
        the file system refused (``EINVAL``: ``direct`` is then off), else all of them."""
        done = 0
        assert self.buffer is not None
        with memoryview(self.buffer) as view:
            while done < whole:
                try:
                    written = os.write(self.fd, view[done:whole])
                except OSError as exc:
                    if exc.errno != errno.EINVAL:
                        raise
                    self.direct = _set_direct(self.fd, False)
                    return done
                if written <= 0:
                    raise OSError(errno.ENOSPC, "No space left on device (a write wrote nothing)")
                done += written
        return done

    def finish(self) -> None:
        """Write what is held and make the file durable (``fsync``)."""
        if self.held:
            assert self.buffer is not None
            self.direct = _set_direct(self.fd, False)
            _write_all(self.fd, self.buffer[:self.held])
            self.held = 0
        os.fsync(self.fd)

    def close(self) -> None:
        if self.buffer is not None:
            self.buffer.close()
        os.close(self.fd)


ALIGN = 4096  # bytes of a block of direct writes, and of the alignment of their memory


def _set_direct(fd: int, on: bool) -> bool:
    """Turn ``O_DIRECT`` on or off for ``fd``; whether it is on now."""
    flag = getattr(os, "O_DIRECT", 0)
    if not flag or fcntl is None:
        return False
    try:
        flags = fcntl.fcntl(fd, fcntl.F_GETFL)
        fcntl.fcntl(fd, fcntl.F_SETFL, flags | flag if on else flags & ~flag)
    except OSError:
        return False
    return on


def _write_all(fd: int, data: bytes | memoryview) -> None:
    """``os.write`` until all of ``data`` is written (a short write: the rest again)."""
    with memoryview(data) as view:
        while len(view):
            written = os.write(fd, view)
            if written <= 0:
                raise OSError(errno.ENOSPC, "No space left on device (a write wrote nothing)")
            view = view[written:]


class Spool:
    """Texts kept on disk until they are written (a big run's output lines and lineage
    records: ~1 KB per example that would otherwise stay in memory). The file is an unnamed
    temporary one: it is gone when closed, or when the process ends however it ends; with
    ``folder``, a named one there (``path``), which other processes of this machine can read
    (``write_spooled``) and append to (``append_texts``, then ``add_placed`` here), removed
    when closed (and with its folder, a run's scratch folder). A named spool is only ever
    appended to (``O_APPEND``), by this process or others, so blocks never overwrite each
    other; each block's place is where its append landed.

    Each entry holds ``width`` texts; entries are numbered 0, 1, ... as they are added, and
    the caller keeps what each number stands for (a run: the candidates' rows, a rejection's
    ``spooled`` number). Where each entry's texts sit is kept in an int array (offset, then
    each length), joined from the blocks as they came: no dict and no Python int an entry
    (a million: a 24 MB table, where a dict by id of packed ints took 70 MB), and bulk reads
    index it in numpy and map ``os.pread`` over the offsets (no Python code a text).
    """

    def __init__(self, width: int = 1, folder: Path | None = None) -> None:
        self.width = width
        self.path: str | None = None
        self._file: BinaryIO
        if folder is None:
            self._file = tempfile.TemporaryFile()
        else:
            fd, self.path = tempfile.mkstemp(prefix="spool-", dir=folder)
            os.close(fd)
            self._file = os.fdopen(os.open(self.path, os.O_RDWR | os.O_APPEND), "r+b", buffering=0)
        self._blocks: list[np.ndarray] = []  # entries not yet joined into _table
        self._table = np.zeros((0, width + 1), dtype=np.int64)  # offset, then each length
        self._count = 0
        self._size = 0
        self._dirty = False

    def __enter__(self) -> Spool:
        return self

    def __exit__(self, *exc: object) -> None:
        self._file.close()
        if self.path is not None:
            Path(self.path).unlink(missing_ok=True)

    def __len__(self) -> int:
        return self._count

    def add(self, *texts: str) -> int:
        """Keep ``texts`` (``width`` of them) as a new entry; its number."""
        if len(texts) != self.width:
            raise ValueError(f"Spool holds {self.width} texts an entry, not {len(texts)}")
        return self.add_block(*pack_texts([texts], self.width))

    def add_block(self, data: bytes, sizes: Sequence[Sequence[int]] | np.ndarray,
                  order: np.ndarray | None = None) -> int:
        """Keep many entries' texts at once (numbered from the one returned): ``data`` holds
        them back to back as UTF-8, entry by entry, ``sizes[k]`` the byte length of each of
        the k-th entry's ``width`` texts there (``pack_texts`` makes both). ``order[k]``,
        when given, is which of the block's entries (counted from 0) the k-th one in
        ``data`` is; else they lie in their own order."""
        lengths = self._lengths(sizes, len(data))
        order = _block_order(order, len(lengths))  # (checked before anything is written)
        if self.path is not None:  # appended where it lands (others may append too)
            return self._placed(_append(self._file.fileno(), data, self.path), lengths, order)
        try:
            self._file.write(data)
        except OSError as exc:
            raise scratch_refused(exc, _unnamed_where()) from exc
        self._dirty = True
        first = self._placed(self._size, lengths, order)
        self._size += len(data)
        return first

    def add_placed(self, offset: int, sizes: Sequence[Sequence[int]] | np.ndarray, size: int,
                   order: np.ndarray | None = None) -> int:
        """Keep many entries whose texts another process appended to this (named) spool's
        file (``append_texts``): ``size`` bytes at ``offset``, laid out as ``add_block``'s
        ``data`` (and ``order``); numbered from the one returned."""
        if self.path is None:
            raise ValueError("only a named spool (one with a folder) is appended to by others")
        lengths = self._lengths(sizes, size)
        return self._placed(offset, lengths, _block_order(order, len(lengths)))

    def _lengths(self, sizes: Sequence[Sequence[int]] | np.ndarray, size: int) -> np.ndarray:
        """``sizes`` as an (entries, width) int array, checked against the block's size."""
        if isinstance(sizes, np.ndarray):
            if sizes.ndim != 2 or sizes.shape[1] != self.width:
                raise ValueError(f"Spool holds {self.width} texts an entry")
            lengths = sizes.astype(np.int64)
        else:
            if set(map(len, sizes)) - {self.width}:
                raise ValueError(f"Spool holds {self.width} texts an entry")
            lengths = np.fromiter(chain.from_iterable(sizes), np.int64,
                                  len(sizes) * self.width).reshape(-1, self.width)
        if (lengths < 0).any() or int(lengths.sum()) != size:
            raise ValueError("sizes do not add up to the data")
        return lengths

    def _placed(self, offset: int, lengths: np.ndarray, order: np.ndarray | None = None) -> int:
        """Record entries whose texts sit back to back from ``offset`` (the k-th there being
        entry ``order[k]`` of the block, when given); the first's number."""
        totals = lengths.sum(axis=1)
        entries = np.empty((len(lengths), self.width + 1), dtype=np.int64)
        entries[:, 0] = offset + np.cumsum(totals) - totals
        entries[:, 1:] = lengths
        if order is not None:
            placed, entries = entries, np.empty_like(entries)
            entries[order] = placed
        self._blocks.append(entries)
        first = self._count
        self._count += len(lengths)
        return first

    def get(self, entry: int) -> tuple[str, ...]:
        """The texts of ``entry``."""
        return tuple(self.raw(entry, i).decode("utf-8") for i in range(self.width))

    def _entries(self) -> np.ndarray:
        """Every entry so far (the file flushed, the blocks joined)."""
        if self._dirty:
            try:
                self._file.flush()
            except OSError as exc:
                raise scratch_refused(exc, _unnamed_where()) from exc
            self._dirty = False
        if self._blocks:
            self._table = np.concatenate([self._table, *self._blocks])
            self._blocks.clear()
        return self._table

    def raws(self, entries: Sequence[int] | np.ndarray, field: int) -> Iterator[bytes | None]:
        """``raw(entry, field)`` of each entry, None for -1 (no entry)."""
        numbers = np.asarray(entries, dtype=np.int64).reshape(-1)
        texts = preads(self._file.fileno(), *self.places(numbers, field), gap=READ_GAP)
        if not len(numbers) or numbers.min() >= 0:
            yield from texts
        else:  # (a missing entry's place is 0 bytes at 0)
            for n, text in zip(numbers.tolist(), texts, strict=True):
                yield None if n < 0 else text

    def raw(self, entry: int, field: int) -> bytes:
        """Text number ``field`` of ``entry`` as the UTF-8 bytes it was kept in."""
        if not 0 <= entry < self._count:
            raise IndexError(f"entry {entry} of a spool of {self._count}")
        return cast(bytes, next(self.raws([entry], field)))

    def places(self, entries: Sequence[int] | np.ndarray, field: int) -> tuple[np.ndarray, np.ndarray]:
        """(offset, byte length) in the file of text ``field`` of each entry (0, 0 for -1),
        the file flushed: what ``write_spooled`` reads."""
        if not 0 <= field < self.width:
            raise IndexError(f"field {field} of a spool of {self.width}")
        numbers = np.asarray(entries, dtype=np.int64).reshape(-1)
        if len(numbers) and (numbers.min() < -1 or numbers.max() >= self._count):
            raise IndexError(f"an entry beyond the {self._count} of this spool")
        table = self._entries()
        if not len(table):
            return np.zeros(len(numbers), dtype=np.int64), np.zeros(len(numbers), dtype=np.int64)
        rows = table[numbers]
        here = numbers >= 0
        offsets = np.where(here, rows[:, 0] + rows[:, 1:1 + field].sum(axis=1), 0)
        return offsets, np.where(here, rows[:, 1 + field], 0)

    def file_of(self, out: Path, entries: np.ndarray, made: dict[int, bytes], field: int = 0) -> SpooledFile:
        """The ``SpooledFile`` of text ``field`` of ``entries`` to ``out``: line i is that
        text of entry ``entries[i]``, or ``made[i]`` where the entry is -1 (ValueError when
        ``made`` does not hold exactly those lines). ``write_spooled`` writes it in another
        process of this machine (a named spool), ``write_file`` here."""
        entries = np.asarray(entries, dtype=np.int64).reshape(-1)
        if sorted(made) != np.flatnonzero(entries < 0).tolist():
            raise ValueError("a line is neither in the spool nor made, or both")
        offsets, sizes = self.places(entries, field)
        return SpooledFile(str(out), self.path or "", offsets, sizes, made)

    def write_file(self, job: SpooledFile) -> str:
        """Write ``job`` (``file_of`` this spool) from here, as ``write_spooled`` does; its sha256."""
        self._entries()  # (flushed)
        return write_chunks_atomic(Path(job.out), _spooled_chunks(self._file.fileno(), job))


READ_BATCH = 1 << 16  # texts a bulk read (Spool.raws, write_spooled) reads at once


def preads(fileno: int, offsets: np.ndarray, sizes: np.ndarray, gap: int | None = None
           ) -> Iterator[bytes]:
    """The ``sizes[i]`` bytes at ``offsets[i]`` of the file, for each i: ``os.pread`` mapped
    over them, ``READ_BATCH`` at a time (no Python code a text). With ``gap``, texts that
    lie within ``gap`` bytes of each other (among ``READ_WINDOW`` in a row) are read in one
    ``pread`` when that saves most of the reads (``_read_window``)."""
    step = READ_BATCH if gap is None else READ_WINDOW
    for at in range(0, len(offsets), step):
        part_offsets, part_sizes = offsets[at:at + step], sizes[at:at + step]
        yield from _pread_each(fileno, part_offsets, part_sizes) if gap is None else \
            _read_texts(fileno, part_offsets, part_sizes, gap)


def _read_texts(fileno: int, offsets: np.ndarray, sizes: np.ndarray, gap: int, views: bool = False
                ) -> list[Any]:
    """The texts, read by their spans when that pays (``_read_window``), else one by one."""
    texts = _read_window(fileno, offsets, sizes, gap, views)
    return _pread_each(fileno, offsets, sizes) if texts is None else texts


def _pread_each(fileno: int, offsets: np.ndarray, sizes: np.ndarray) -> list[bytes]:
    """``os.pread`` of each text, the reads made in file order (scattered reads of a large
    file: about half the time of reading them in the order asked)."""
    order = np.argsort(offsets, kind="stable")
    read = map(os.pread, repeat(fileno), sizes[order].tolist(), offsets[order].tolist())
    texts: list[bytes] = [b""] * len(offsets)
    for k, text in zip(order.tolist(), read, strict=True):
        texts[k] = text
    return texts


READ_WINDOW = 1 << 13  # texts whose reads may be joined (a window's texts are held at once)
READ_GAP = 4096  # bytes of other texts a joined read of a spool's texts may read past


def _read_window(fileno: int, offsets: np.ndarray, sizes: np.ndarray, gap: int, views: bool = False
                 ) -> list[Any] | None:
    """``preads`` of texts, by reading the spans they cover in file order (texts at most
    ``gap`` bytes apart: one span); None when that would not save three reads in four.
    (A run's rejections wait in its spool one seed after another, each seed's by id; the
    rejects file takes them by id: a window of them comes from a few hundred spans.) With
    ``views``, each text is a view of its span's bytes, not a copy."""
    order = np.argsort(offsets, kind="stable")
    starts, lengths = offsets[order], sizes[order]
    reach = np.maximum.accumulate(starts + lengths)  # the end of the span so far
    cut = np.flatnonzero(starts[1:] > reach[:-1] + gap) + 1  # a new span starts there
    if 4 * (len(cut) + 1) > len(offsets):
        return None
    firsts, lasts = np.r_[0, cut], np.r_[cut, len(starts)]
    texts: list[Any] = [b""] * len(offsets)
    for lo, hi, a, b in zip(starts[firsts].tolist(), reach[lasts - 1].tolist(), firsts.tolist(),
                            lasts.tolist(), strict=True):
        data: Any = os.pread(fileno, hi - lo, lo)
        if len(data) != hi - lo:
            raise OSError(f"read {len(data)} of {hi - lo} bytes at {lo}: the file is shorter")
        if views:
            data = memoryview(data)
        for k, at, n in zip(order[a:b].tolist(), (starts[a:b] - lo).tolist(), lengths[a:b].tolist(),
                            strict=True):
            texts[k] = data[at:at + n]
    return texts


@dataclass(frozen=True)
class SpooledFile:
    """A file of lines (``write_atomic``) most of which wait in a spool's named file: line i
    is ``made[i]`` when there, else the ``sizes[i]`` bytes at ``offsets[i]`` of ``spool``
    (``Spool.places``), followed by ``suffixes[ends[i]]`` when ``ends`` is given. Sent to
    another process of this machine, which writes the file itself (``write_spooled``)."""

    out: str
    spool: str
    offsets: np.ndarray
    sizes: np.ndarray
    made: dict[int, bytes]
    ends: np.ndarray | None = None
    suffixes: tuple[bytes, ...] = ()


def write_spooled(job: SpooledFile) -> str:
    """Write ``job``'s file; its sha256. A window of lines at a time (``READ_WINDOW``): their
    spans of the spool read (``_read_window``), and the lines, each with its ending, joined
    from views of those bytes in one copy (no bytes object a line)."""
    with open(job.spool, "rb") as spool:
        return write_chunks_atomic(Path(job.out), _spooled_chunks(spool.fileno(), job))


def _spooled_chunks(fileno: int, job: SpooledFile) -> Iterator[bytes]:
    """The lines of ``job`` with their endings (suffix and newline), a window at a time."""
    endings = [suffix + b"\n" for suffix in job.suffixes]
    ends = None if job.ends is None else job.ends.tolist()
    made = job.made
    for at in range(0, len(job.offsets), READ_WINDOW):
        offsets, sizes = job.offsets[at:at + READ_WINDOW], job.sizes[at:at + READ_WINDOW]
        texts = _read_texts(fileno, offsets, sizes, READ_GAP, views=True)
        for k in [k for k in made if at <= k < at + len(texts)]:  # (few: the seeds' own lines)
            texts[k - at] = made[k]
        if ends is None:
            texts.append(b"")  # (each line, the last too, followed by a newline)
            yield b"\n".join(texts)
            continue
        pieces: list[Any] = [b""] * (2 * len(texts))
        pieces[::2] = texts
        pieces[1::2] = map(endings.__getitem__, ends[at:at + len(texts)])
        yield b"".join(pieces)


def _block_order(order: np.ndarray | None, count: int) -> np.ndarray | None:
    """``order`` (a block's entries as they lie in its data) as int64, checked to number
    each of the ``count`` entries once."""
    if order is None:
        return None
    order = np.asarray(order, dtype=np.int64)
    if order.shape != (count,) or not np.array_equal(np.sort(order), np.arange(count)):
        raise ValueError("order must number each of the block's entries once")
    return order


def pack_texts(rows: Iterable[Sequence[str]], width: int) -> tuple[bytes, np.ndarray]:
    """Rows of ``width`` texts as ``Spool.add_block`` takes them: one UTF-8 blob, and each
    text's size ((rows, width) int64)."""
    rows = list(rows)
    if any(len(row) != width for row in rows):
        raise ValueError(f"a row of other than {width} texts")
    parts = [t.encode("utf-8") for row in rows for t in row]
    sizes = np.fromiter(map(len, parts), np.int64, len(parts)).reshape(-1, width)
    return b"".join(parts), sizes


def append_texts(path: str, data: bytes) -> int:
    """Append ``data`` to the named spool file ``path`` from any process of this machine;
    the offset where it landed (for ``Spool.add_placed`` in the spool's own process). A
    pool's process keeps the file open from one call to the next."""
    fd = _APPENDING.get(path)
    if fd is None:
        if len(_APPENDING) >= APPENDING_AT_MOST:  # (earlier runs' spools)
            for old in _APPENDING.values():
                os.close(old)
            _APPENDING.clear()
        fd = _APPENDING[path] = os.open(path, os.O_WRONLY | os.O_APPEND)
    return _append(fd, data, path)


def _unnamed_where() -> str:
    """Where an unnamed spool's file is, for an error: the temporary folder."""
    return f"{tempfile.gettempdir()} (an unnamed temporary file)"


_APPENDING: dict[str, int] = {}  # this process's open spool files, by path
APPENDING_AT_MOST = 4  # spool files kept open (a run appends to two: lines and rejections)


def _append(fd: int, data: bytes, path: str) -> int:
    """Append ``data`` in one write to ``fd`` (opened with ``O_APPEND``, so that writers
    in several processes never overlap); the offset where it landed. A short write (the
    disk full) is an error naming ``path``: the block could not be kept whole."""
    try:
        written = os.write(fd, data)
    except OSError as exc:
        raise scratch_refused(exc, path) from exc
    if written != len(data):  # the rest, written again, fails with the reason
        try:
            os.write(fd, data[written:])
            why = OSError(errno.EIO, "A write stopped short")
        except OSError as exc:
            why = exc
        raise scratch_refused(OSError(why.errno, f"{why.strerror or why} (kept {written} of {len(data)} "
                                                 "bytes)"), path)
    return os.lseek(fd, 0, os.SEEK_CUR) - len(data)


def begin_output(out_dir: Path, derived: Iterable[str] = ("report.html",)) -> None:
    """Make ``out_dir`` and, before any new file is written, remove its old manifest, the
    files derived from that manifest's run and temporary files a killed run left behind.

    Without this a run killed half-way through rewriting a directory would leave the old
    manifest beside a mix of old and new files, and a file the new run had not reached
    yet would still match it.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "manifest.json").unlink(missing_ok=True)
    for name in derived:
        (out_dir / name).unlink(missing_ok=True)
    remove_temporary(out_dir)


def remove_temporary(out_dir: Path, names: Iterable[str] | None = None) -> None:
    """Remove the temporary files (``write_chunks_atomic``'s) that a process killed while
    writing left in ``out_dir``: those of the files ``names``, or all."""
    for pattern in [".*.tmp"] if names is None else [f".{name}.*.tmp" for name in names]:
        for stale in out_dir.glob(pattern):
            if stale.is_file():
                stale.unlink(missing_ok=True)


def dumps(obj: Any) -> str:
    """Stable JSON: sorted keys, no NaN, non-ASCII kept."""
    return json.dumps(obj, ensure_ascii=False, sort_keys=True, allow_nan=False)


def write_manifest(out_dir: Path, manifest: dict[str, Any]) -> None:
    text = json.dumps(manifest, ensure_ascii=False, sort_keys=True, indent=2, allow_nan=False)
    write_atomic(out_dir / "manifest.json", [text])


def load_json(path: Path) -> dict[str, Any]:
    """A JSON object file written by augment (a manifest); AugmentError naming the file."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise AugmentError(f"{path}: cannot read ({exc.strerror})") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise AugmentError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise AugmentError(f"{path}: not a JSON object")
    wrong = _first_wrong(data, _MANIFEST_PARTS)
    if wrong:
        raise AugmentError(f"{path}: {wrong}")
    return data


def _number(v: object) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _whole(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


# The parts of a manifest that other commands read (report, export), and what each must
# hold: a manifest edited by hand fails here, naming the part, rather than deep inside.
_MANIFEST_PARTS: dict[str, tuple[str, Any]] = {
    "counts": ("a table of numbers", lambda v: isinstance(v, dict) and all(map(_number, v.values()))),
    "config": ("a table", lambda v: isinstance(v, dict)),
    "config.format": ('a table like {"duration_unit": "quarter", "rest": 0}', lambda v: isinstance(v, dict)
                      and v.get("duration_unit", "quarter") in ("quarter", "whole")
                      and v.get("rest", 0) in (0, "null") and not isinstance(v.get("rest", 0), bool)),
    "seed_files": ("a list of strings", lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v)),
    "versions": ("a table", lambda v: isinstance(v, dict)),
    "near_params": ("a table", lambda v: isinstance(v, dict)),
    "near_params.shingle_size": ("a whole number in 1-64", lambda v: _whole(v) and 1 <= v <= 64),
    "near_params.num_perm": ("a whole number in 1-4096", lambda v: _whole(v) and 1 <= v <= 4096),
    "near_params.lsh_threshold": ("a number in (0, 1]", lambda v: _number(v) and 0 < v <= 1),
    "near_params.similarity": ("a number in [0, 1]", lambda v: _number(v) and 0 <= v <= 1),
    "near_params.min_tokens": ("a whole number >= 1", lambda v: _whole(v) and v >= 1),
}


def _first_wrong(data: dict[str, Any], parts: dict[str, tuple[str, Any]]) -> str | None:
    """What is wrong with the first of ``parts`` (a name, dotted for a part of a table, ->
    what it must hold and its test) that ``data`` has with the wrong kind of value; None
    when none is wrong."""
    for name, (kind, ok) in parts.items():
        table: Any = data
        last = name
        if "." in name:  # (a record's fields are not: asked for every line of a lineage)
            *parents, last = name.split(".")
            for parent in parents:
                table = table.get(parent) if isinstance(table, dict) else None
        if isinstance(table, dict) and last in table and not ok(table[last]):
            return f"'{name}' must be {kind}, got {json.dumps(table[last])[:60]}"
    return None


def _steps_ok(value: object) -> bool:
    """Whether ``value`` is a lineage record's ``rules``: a list of {"rule": str, "params": {...}}."""
    return isinstance(value, list) and all(
        isinstance(step, dict) and isinstance(step.get("rule"), str) and isinstance(step.get("params"), dict)
        for step in value)


# The fields of the records augment writes (lineage, rejected) and what each must hold,
# checked where present: a record edited by hand fails here, naming its line and field,
# rather than deep in a command that reads it.
_FIELDS: dict[str, tuple[str, Any]] = {
    "id": ("a string", lambda v: isinstance(v, str)),
    "seed_id": ("a string", lambda v: isinstance(v, str)),
    "split": ("a string", lambda v: isinstance(v, str)),
    "source": ("a string or null", lambda v: v is None or isinstance(v, str)),
    "parent_id": ("a string or null", lambda v: v is None or isinstance(v, str)),
    "key": ("a key name or null", lambda v: v is None or isinstance(v, str) and v.isprintable()),
    "stage": ("a string", lambda v: isinstance(v, str)),
    "reasons": ("a list of strings", lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v)),
    "rules": ('a list of {"rule": ..., "params": {...}}', _steps_ok),
}


def load_jsonl(path: Path, required: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """The records of a JSONL file written by augment (lineage, rejected); an AugmentError
    naming file and line for a line that is not an object holding the ``required`` keys."""
    records = []
    try:
        with path.open(encoding="utf-8") as handle:
            for number, text in enumerate(handle, start=1):
                try:
                    record = json.loads(text)
                except ValueError as exc:
                    raise AugmentError(f"{path}:{number}: not valid JSON ({exc})") from None
                if not isinstance(record, dict) or any(k not in record for k in required):
                    raise AugmentError(f"{path}:{number}: not a record with {', '.join(required)}")
                wrong = _first_wrong(record, _FIELDS)
                if wrong:
                    raise AugmentError(f"{path}:{number}: {wrong}")
                records.append(record)
    except OSError as exc:
        raise AugmentError(f"{path}: cannot read ({exc.strerror})") from None
    except UnicodeDecodeError:
        raise AugmentError(f"{path}: not UTF-8") from None
    return records
