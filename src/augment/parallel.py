"""A process pool that maps a pure function over items and yields results in item order.

Used for expand's per-seed work (rules, re-prompting, checks) and the parallel parts of the
dataset stages. Every variant's generator comes from (run seed, seed id, variant index),
never from the process that draws it, and results are merged in the order of the items, so
the output is byte-identical whatever the number of workers.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import signal
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from functools import partial
from itertools import islice
from pathlib import Path
from typing import Any, TypeVar, cast

from .errors import AugmentError

T = TypeVar("T")
R = TypeVar("R")

# ``mapper(fn, items)`` yields ``fn(item)`` for each item, in item order. Stages that can run
# in parallel take one; ``local_pool`` / ``local_mapper`` (a process pool) and ``ray_engine``
# (a Ray cluster) provide them. ``fn`` is picklable and pure, so where it runs never changes a
# result. A mapper may start the work at the call (a pool) or as the results are read.
Mapper = Callable[[Callable[[Any], Any], Sequence[Any]], Iterator[Any]]


# The most processes ``auto_workers`` (the command line's default) starts: a worker of a
# million-example run holds ~0.4 GB at its peak (benchmarks/HISTORY.md), so a run on a
# many-core machine stays within a few GB unless asked for more (--workers N, or 0).
AUTO_WORKERS = 4
# The most processes a pool may have per usable CPU. Each seed's work is CPU-bound, so more
# only add processes, and a pool starts all of its processes before any work: the Quick
# start with --workers 1000 on 2 cores took 11.5 s against 2.0 s with 2, and a mistyped
# --workers 99999 had not finished after 200 s. Four allow some oversubscription (and
# the tests' 4-process pools on a one-CPU machine).
MAX_WORKERS_PER_CPU = 4
# Signals that end a command as Ctrl-C does (``cli.main`` handles them; a pool's processes and
# a Ray driver keep to that): a scheduler cancelling a job, ``timeout`` or ``kill``
# (SIGTERM), a closed terminal (SIGHUP).
ENDING_SIGNALS = ("SIGTERM", "SIGHUP")


def ending_signals() -> list[int]:
    """The numbers of ``ENDING_SIGNALS`` this system has (no SIGHUP on Windows)."""
    return [getattr(signal, name) for name in ENDING_SIGNALS if hasattr(signal, name)]


def usable_cpus() -> int:
    """The CPUs this process may run on: its affinity mask (what ``taskset`` or a container's
    cpuset leaves it) where the system has one, else ``os.cpu_count()``; fewer under a CPU
    quota (``docker --cpus 2``, a Kubernetes CPU limit: ``cpu_quota``, rounded up)."""
    try:
        cpus = len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # no affinity masks here (macOS, Windows)
        cpus = os.cpu_count() or 1
    quota = cpu_quota()
    return cpus if quota is None else max(1, min(cpus, math.ceil(quota)))


CGROUP_ROOT = Path("/sys/fs/cgroup")


def cpu_quota(root: Path = CGROUP_ROOT, cgroups: Path = Path("/proc/self/cgroup")) -> float | None:
    """The CPUs' worth of time this process's control group may use (quota over period),
    the least along its path up to the root; None where there is no quota or no such files
    (not Linux, no CPU controller, unreadable).

    cgroup v2: ``cpu.max`` ("QUOTA PERIOD" or "max PERIOD") in the group's folder under
    ``root``. v1: ``cpu.cfs_quota_us`` (-1: none) and ``cpu.cfs_period_us`` under the
    hierarchy's mount (``root/cpu``, ``root/cpu,cpuacct``, ...). Inside a container the
    group's path in ``cgroups`` is often the host's while ``root`` shows the container's own
    group: ``root`` itself is read too."""
    try:
        lines = cgroups.read_text().splitlines()
    except OSError:
        return None
    found: list[float] = []
    for line in lines:
        number, controllers, path = (line.split(":", 2) + ["", ""])[:3]
        if number == "0" and controllers == "":
            found += _quotas(root, path, _v2_quota)
        elif "cpu" in controllers.split(","):
            found += _quotas(root / controllers, path, _v1_quota)
    return min(found) if found else None


def _quotas(mount: Path, path: str, read: Callable[[Path], float | None]) -> list[float]:
    """The quotas ``read`` finds in the group's folder under ``mount``, its parents, and
    ``mount`` itself."""
    folders = [mount]
    parts = [part for part in path.strip("/").split("/") if part]
    folders += [mount.joinpath(*parts[:k]) for k in range(1, len(parts) + 1)]
    return [q for q in map(read, folders) if q is not None]


def _v2_quota(folder: Path) -> float | None:
    try:
        quota, period = (folder / "cpu.max").read_text().split()[:2]
        return None if quota == "max" else int(quota) / int(period)
    except (OSError, ValueError, ZeroDivisionError):
        return None


def _v1_quota(folder: Path) -> float | None:
    try:
        quota = int((folder / "cpu.cfs_quota_us").read_text())
        period = int((folder / "cpu.cfs_period_us").read_text())
        return None if quota <= 0 else quota / period
    except (OSError, ValueError, ZeroDivisionError):
        return None


def auto_workers() -> int:
    """The command line's default pool size: one process per usable CPU, at most
    ``AUTO_WORKERS``. The output does not depend on it."""
    return min(usable_cpus(), AUTO_WORKERS)


def check_workers(workers: int) -> int:
    """``workers`` if it is a usable pool size (0 means one per usable CPU), else AugmentError."""
    if workers < 0:
        raise AugmentError(f"--workers must be 'auto', 0 (one per CPU) or a positive number, not {workers}")
    cpus = usable_cpus()
    if workers > MAX_WORKERS_PER_CPU * cpus:
        raise AugmentError(f"--workers {workers} is more than {MAX_WORKERS_PER_CPU} processes per usable CPU "
                           f"({cpus} here): use at most {MAX_WORKERS_PER_CPU * cpus}, or 0 for one per CPU")
    return workers or cpus


def map_ordered(fn: Callable[[T], R], items: Sequence[T], workers: int = 1) -> Iterator[R]:
    """``fn(item)`` for each item, in order; in ``workers`` processes when more than one.

    ``fn`` must be picklable (a module-level function or a ``functools.partial`` of one)
    and pure: it sees a copy of its arguments in another process. With one worker (or
    fewer than two items) everything runs here, with no pool and no pickling.
    """
    if min(check_workers(workers), len(items)) <= 1:
        yield from map(fn, items)
        return
    with local_pool(workers) as mapper:
        yield from mapper(fn, items)


def per_call(mapper: Mapper | None, least: int) -> int:
    """Jobs to give ``mapper`` a call: ``least``, or as many as it runs at once when that is
    more (a Ray cluster's ``jobs_at_once``: 4 per cluster CPU), so that a call fills it."""
    return max(least, getattr(mapper, "jobs_at_once", 0))


def in_windows(mapper: Mapper, fn: Callable[[T], R], jobs: Iterable[T], per_call: int) -> Iterator[R]:
    """``mapper(fn, jobs)``'s results in order, the jobs given ``per_call`` at a time with
    two calls in flight: a pool's processes start the next window while this process reads
    the last one's results (no idle gap between), and only two windows' jobs exist at once
    when ``jobs`` makes them as they are asked for (a mapper call holds all its items)."""
    jobs = iter(jobs)
    in_flight: deque[Iterator[R]] = deque()
    while window := list(islice(jobs, per_call)):
        in_flight.append(mapper(fn, window))
        del window
        if len(in_flight) > 1:
            yield from in_flight.popleft()
    while in_flight:
        yield from in_flight.popleft()


@contextmanager
def local_pool(workers: int = 1) -> Iterator[Mapper]:
    """A Mapper over one process pool kept for the whole ``with`` block (1 worker: this
    process, no pool).

    The pool's processes start (fork) at the first job, and every later call reuses them.
    A call submits all its items at once and returns an iterator over the results: work
    given to the pool runs while this process goes on with other things, until the
    results are read (``expand`` computes the diversity reports that way beside the audit
    and the writing).
    """
    workers = check_workers(workers)
    if workers <= 1:
        yield local_mapper(1)
        return
    pool = ProcessPoolExecutor(max_workers=workers, initializer=_leave_with_the_parent)
    try:
        yield partial(_pool_map, pool, workers)
    except BaseException:  # an error, Ctrl-C, SIGTERM: results nobody will read
        _abandon(pool)
        raise
    pool.shutdown(wait=True, cancel_futures=True)  # (a reader that stopped early)


def _abandon(pool: ProcessPoolExecutor) -> None:
    """Stop ``pool`` without waiting for its work: its processes are killed, and this
    returns once its threads have ended (so the interpreter's exit, which joins them, does
    not wait either).

    ``shutdown(wait=True)`` alone hung here (CPython 3.11 to 3.13): a pool process killed while it
    was writing a result (a SIGTERM to the run's process group; SIGKILL) leaves half a
    message in the results pipe, and the pool's manager thread waits forever in ``recv`` for
    the rest, since this process holds the pipe's write end too. Closing that end once the
    processes are dead gives the manager thread end-of-file, on which it ends. (Reads the
    pool's private ``_processes``, ``_executor_manager_thread`` and ``_result_queue``;
    ``tests/test_crash.py`` checks this on the Python in use.)"""
    processes = list((pool._processes or {}).values())
    manager = cast("threading.Thread | None", pool._executor_manager_thread)  # (typeshed: a _ThreadWakeup)
    writer = pool._result_queue._writer  # type: ignore[attr-defined]
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.kill()
    for process in processes:
        process.join()
    writer.close()
    if manager is not None:
        manager.join()


def _leave_with_the_parent() -> None:
    """Each pool process's initializer: a thread that ends the process as soon as the
    process that started the pool is gone. A pool process otherwise waits for work forever
    when that process is killed (SIGKILL, the OOM killer), holding its memory: the pipe it
    reads stays open in its sibling processes. ``parent_process`` watches the parent's
    sentinel, under any start method (fork, spawn, forkserver).

    A pool process also takes the ``ENDING_SIGNALS`` at their default, ending at once: a
    forked one inherits the command line's handlers, which would turn them into an exception
    inside the seed it is working on."""
    for number in ending_signals():
        if signal.getsignal(number) not in (signal.SIG_DFL, signal.SIG_IGN):
            signal.signal(number, signal.SIG_DFL)
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        parent.join()  # returns when the parent has ended
        os._exit(1)
    threading.Thread(target=watch, name="augment-parent-watch", daemon=True).start()


def _pool_map(pool: ProcessPoolExecutor, workers: int, fn: Callable[[T], R], items: Sequence[T]
              ) -> Iterator[R]:
    # Every item is submitted now, and the results are yielded in item order. One item a
    # job: items (seeds) differ in cost, and with chunks of several one process sat idle at
    # the end while the other finished its last chunk (per-seed stage at 300k corpus
    # 31.0-31.2 s with 4 seeds a job, 30.4 s with one; no difference at 10k).
    return _results(pool, [pool.submit(fn, item) for item in items], workers)


# How often, in seconds, a wait for a result looks whether a pool process has died.
WATCH_SECONDS = 0.25


def _results(pool: ProcessPoolExecutor, futures: list[Future[R]], workers: int) -> Iterator[R]:
    """The results of ``futures``, in order. A pool process that ended abruptly (the
    out-of-memory killer, a ``kill``) ends this with one AugmentError line instead of
    BrokenProcessPool's traceback, and is noticed by this wait itself: the pool's own
    notice never comes when the process died while writing a result (``_abandon``), and the
    run then hung. (Futures not read are cancelled by the pool's own thread, on
    ``shutdown(cancel_futures=True)``: cancelled here, that thread could meet one while
    marking them broken, and died with an InvalidStateError traceback.)"""
    futures.reverse()  # popped as they are read: a result read is not held here any more
    try:
        while futures:
            future = futures.pop()
            while not wait([future], timeout=WATCH_SECONDS).done:
                if any(p.exitcode is not None for p in list((pool._processes or {}).values())):
                    raise BrokenProcessPool
            result = future.result()
            del future
            yield result
    except BrokenProcessPool:
        raise AugmentError(
            f"a process of the pool (--workers {workers}) ended abruptly, so the run stopped "
            "unfinished: it was killed, perhaps by the system's out-of-memory killer (see "
            "'dmesg'); to need less memory, use fewer --workers (expand: or fewer "
            "variants_per_seed)") from None


def local_mapper(workers: int = 1) -> Mapper:
    """``map_ordered`` with ``workers`` processes (1: in this process); a new pool per call
    (``local_pool`` keeps one for many calls)."""
    return partial(map_ordered, workers=workers)


def chunks(items: Sequence[T], size: int) -> list[Sequence[T]]:
    """``items`` cut into consecutive slices of at most ``size`` (for mapping in batches)."""
    return [items[i:i + size] for i in range(0, len(items), max(1, size))]
