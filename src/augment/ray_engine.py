"""Run the parallel stages on Ray (``augment expand``, ``dedup`` and ``split --engine ray``).

``ray_mapper`` connects to a Ray cluster (or starts a small local instance) and gives a
``parallel.Mapper``: each call's items (seeds for rules/re-prompting/checks, a file's lines
to parse, bands of LSH buckets, chunks of candidates for near-duplicate verification) go
out at once as Ray tasks of a batch of items each, the batch map of one stage function.
The driver keeps everything that needs all the data at once (split plan, dedup decisions,
selection, writing), exactly as in a local run.

Ray serialises items and results as it does any task's arguments and return values, and
the driver reads the batches in order however Ray schedules them, so a run writes the
same bytes as the local engine. Ray is imported only here and only when asked for: it is
the optional extra ``augment[ray]``.

(Until the thirty-sixth round each call was a Ray Data job, ``from_items`` +
``map_batches``. Ray Data starts a job only when its first batch is read, so a call could
not run while the driver did other work, as a pool's does; reading it from a thread of
the driver's instead left that thread inside Ray when a stopped run shut Ray down, where
Ray started a new instance of its own. Tasks start when they are made. ``benchmarks/
HISTORY.md`` has the measurements.)
"""

from __future__ import annotations

import logging
import os
import re
import signal
import socket
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from . import __version__
from .errors import AugmentError
from .parallel import Mapper, ending_signals

INSTALL_HINT = "pip install 'augment[ray]'"
# The object store of a local instance (Ray's own default: 30% of the memory). It holds the
# calls' items and results until read: two windows of a file's parsing (8 jobs each of
# 2,048 lines' text in, their parsed examples out) overflowed 200 MB, and Ray spilled to
# disk (`augment split` of a 278,688-line file: 183 s with 200 MB, 117 s with 1,000 MB).
LOCAL_OBJECT_STORE_BYTES = 1000 * 1024 * 1024
# Batches per cluster CPU: enough to balance seeds of different lengths, few enough that
# Ray's per-task overhead stays small.
BATCHES_PER_CPU = 4
# How long to wait for a cluster address to answer before giving up.
CONNECT_TIMEOUT_S = 10.0
# Times Ray retries a batch whose worker process died (killed for memory, a crash, a node
# lost) before the run fails with an error. (Ray Data, used before, retried without end by
# default, so a job that killed its worker every time hung the run.)
TASK_RETRIES = 3


@dataclass(frozen=True)
class _Raised:
    """An AugmentError raised by ``fn`` on a worker, carried back as a value."""

    message: str


def _import_ray() -> Any:
    try:
        import ray
    except ImportError as exc:
        raise AugmentError(f"--engine ray needs Ray, which is not installed ({exc}); "
                           f"install it with: {INSTALL_HINT}") from None
    except Exception as exc:  # e.g. a Ray too old for the installed pyarrow or numpy
        raise AugmentError(f"--engine ray: Ray is installed but fails to import "
                           f"({type(exc).__name__}: {exc}); reinstall it with: {INSTALL_HINT}") from None
    return ray


@contextmanager
def ray_mapper(address: str | None = None, *, num_cpus: int | None = None) -> Iterator[Mapper]:
    """A Mapper that runs on Ray, for the duration of the ``with`` block.

    ``address`` (else the RAY_ADDRESS environment variable) names a running cluster, e.g.
    ``HOST:6379`` or ``auto``; without one a local instance is started with ``num_cpus``
    CPUs (None: all), no dashboard and a 1,000 MB object store. If Ray is already initialised
    in this process, that connection is used as it is. Only a connection made here is
    closed on exit. Problems starting or reaching Ray are AugmentError.
    """
    ray = _import_ray()
    address = address or os.environ.get("RAY_ADDRESS") or None
    started = not ray.is_initialized()
    if started:
        # ray.init sets the driver's SIGTERM handling its own way (its C++ failure handler
        # prints a stack dump, its Python one exits with status 15): the caller's Python
        # handlers of the ending signals (the command line's stop a run as Ctrl-C does) are
        # put back.
        handlers = {n: h for n in ending_signals() if callable(h := signal.getsignal(n))}
        _init(ray, address, num_cpus)
        for number, handler in handlers.items():
            signal.signal(number, handler)
    try:
        yield _RayMap(ray)
    finally:
        if started:
            ray.shutdown()


def _init(ray: Any, address: str | None, num_cpus: int | None) -> None:
    # Worker output would interleave with the summary on stdout, and failures come back as
    # exceptions anyway. The driver logs errors only (Ray's start-up notices are warnings).
    common: dict[str, Any] = {"log_to_driver": False, "logging_level": logging.ERROR}
    if address:
        _check_reachable(address)
    try:
        if address:
            ray.init(address=address, **common)
        else:
            os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # no telemetry from a local run
            ray.init(address="local", num_cpus=num_cpus, include_dashboard=False,
                     object_store_memory=LOCAL_OBJECT_STORE_BYTES, **common)
    except Exception as exc:  # ConnectionError, ValueError, RuntimeError: all mean "no Ray here"
        where = f"connect to the Ray cluster at {address}" if address else "start a local Ray instance"
        detail = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise AugmentError(f"could not {where}: {detail}") from None


def _check_reachable(address: str) -> None:
    """AugmentError unless something answers at a ``[scheme://]HOST:PORT`` address.

    ray.init retries an address where no Ray is listening forever (logging a warning every
    few seconds); a plain TCP connection first turns that into a prompt error. Other forms
    ("auto", a malformed port) are left to Ray, which rejects them quickly.
    """
    host, _, port = address.split("://")[-1].rpartition(":")
    if not host or not port.isdigit():
        return
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_TIMEOUT_S).close()
    except OSError as exc:
        raise AugmentError(f"could not connect to the Ray cluster at {address}: nothing answers "
                           f"there ({exc}); start one with 'ray start --head' or check the "
                           "address") from None


class _RayMap:
    """``mapper(fn, items)``: ``fn(item)`` for each item, in item order, computed on Ray."""

    def __init__(self, ray: Any) -> None:
        self._ray = ray
        self._task = ray.remote(_apply_items)

    def _cpus(self) -> int:
        return max(1, int(self._ray.cluster_resources().get("CPU", 1)))

    @property
    def jobs_at_once(self) -> int:
        """Items worth giving one call: ``BATCHES_PER_CPU`` for each CPU of the cluster, so
        that a stage given a window of jobs a call (``parallel.per_call``: a file's parsing,
        the near-duplicate verification) still fills it."""
        return BATCHES_PER_CPU * self._cpus()

    def __call__(self, fn: Callable[[Any], Any], items: Sequence[Any]) -> Iterator[Any]:
        """The results, in item order. The items go out at once, as Ray tasks of a batch
        each (``BATCHES_PER_CPU`` batches per cluster CPU, or one an item when there are
        fewer), which Ray runs while the caller goes on, as a local pool's work runs: the
        next window of jobs (``parallel.in_windows``), or this process's share of a stage
        (``calibrate._merged_counts``)."""
        if not items:
            return iter(())
        count = min(len(items), BATCHES_PER_CPU * self._cpus())
        bounds = [len(items) * k // count for k in range(count + 1)]
        task = self._task.options(max_retries=TASK_RETRIES)
        return self._in_order([task.remote(fn, list(items[bounds[k]:bounds[k + 1]])) for k in range(count)])

    def _in_order(self, batches: list[Any]) -> Iterator[Any]:
        """Each batch's results when it is done, in order.

        A reader that stops early (an error, Ctrl-C) leaves the batches it has not read to
        end on their own, or with the instance or the driver's job: cancelling them
        (``ray.cancel(ref, force=True)``, the failed batch among them) crashed the driver
        once in Ray 2.60, in a full run of the test suite ("Check failed: it !=
        submissible_tasks_.end()" in ``TaskManager::CompletePendingTask``)."""
        ray = self._ray
        for k in range(len(batches)):
            try:
                results = ray.get(batches[k])
            except ray.exceptions.RayError as exc:
                raise AugmentError(_failed_task(ray, exc)) from None
            # The reference let go, Ray frees the batch's results in its object store now,
            # rather than when the whole call is read.
            batches[k] = None
            yield from map(_unpack, results)
            del results


_ANSI = re.compile(r"\x1b\[[0-9;]*m")
# A line of a remote traceback naming the exception: "ValueError: ...", "a.b.SomeError: ...".
_RAISED = re.compile(r"^([A-Za-z_][\w.]*(?:Error|Exception|Exit|Interrupt)): (.*)$")
# Ray's errors for a job whose worker process (or node) died, rather than raised.
_DIED = {"WorkerCrashedError", "OutOfMemoryError", "NodeDiedError", "LocalRayletDiedError"}


def _failed_task(ray: Any, exc: Exception) -> str:
    """One line for a Ray job that failed on the cluster for another reason than an
    AugmentError (which comes back as itself): the exception raised there (the last one a
    remote traceback names outside Ray's own wrappers: ``ModuleNotFoundError: No module
    named 'augment'`` when a node lacks it), else Ray's own (``WorkerCrashedError`` for a
    job whose worker died ``TASK_RETRIES`` + 1 times), and what to check."""
    lines = [line.strip() for line in _ANSI.sub("", str(exc)).splitlines() if line.strip()]
    raised = [m.group(0) for line in lines
              if (m := _RAISED.match(line)) and not m.group(1).startswith("ray.")]
    what = raised[-1] if raised else f"{type(exc).__name__}: {lines[0] if lines else ''}".strip()
    if what.split(":")[0].rsplit(".", 1)[-1] in _DIED:
        return (f"a job on the Ray cluster failed: {what} (its worker process died "
                f"{TASK_RETRIES + 1} times: killed for memory, crashed, or its node lost; Ray's "
                "logs are in /tmp/ray/session_latest/logs on each node)")
    return (f"a job on the Ray cluster failed: {what} (every node needs augment {__version__}, "
            f"Ray {ray.__version__} and any rule plugins, as installed here; Ray's logs are in "
            "/tmp/ray/session_latest/logs on each node)")


def _apply_items(fn: Callable[[Any], Any], items: list[Any]) -> list[Any]:
    """On a worker: ``fn`` over one batch of items; an AugmentError raised is carried back as
    a value (``_Raised``), to be raised again on the driver as it was."""
    results: list[Any] = []
    for item in items:
        try:
            results.append(fn(item))
        except AugmentError as exc:
            results.append(_Raised(str(exc)))
    return results


def _unpack(result: Any) -> Any:
    if isinstance(result, _Raised):
        raise AugmentError(result.message)
    return result
