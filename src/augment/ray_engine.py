"""Run expand's parallel stages on Ray (``augment expand --engine ray``).

``ray_mapper`` connects to a Ray cluster (or starts a small local instance) and gives a
``parallel.Mapper``: each call becomes one Ray Data job, ``from_items`` + ``map_batches``,
over the stage's items (seeds for rules/re-prompting/checks, chunks of candidates for
near-duplicate verification). The driver keeps everything that needs all the data at once
(split plan, dedup decisions, selection, writing), exactly as in a local run.

Items and results travel boxed next to their index (Ray serialises them as it serialises
task arguments), and results are yielded in item order however Ray schedules the batches,
so a run writes the same bytes as the local engine. Ray is imported only here and only
when asked for: it is the optional extra ``augment[ray]``.
"""

from __future__ import annotations

import inspect
import logging
import os
import queue
import re
import signal
import socket
import threading
import warnings
import weakref
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np

from . import __version__
from .errors import AugmentError
from .parallel import Mapper, ending_signals

INSTALL_HINT = "pip install 'augment[ray]'"
# A local instance only runs small batch maps: keep its shared memory small.
LOCAL_OBJECT_STORE_BYTES = 200 * 1024 * 1024
# Batches per cluster CPU: enough to balance seeds of different lengths, few enough that
# Ray's per-task overhead stays small.
BATCHES_PER_CPU = 4
# How long to wait for a cluster address to answer before giving up.
CONNECT_TIMEOUT_S = 10.0
# Times Ray retries a job whose worker process died (killed for memory, a crash, a node
# lost) before the run fails with an error. Ray Data's own default is to retry without end,
# so a job that kills its worker every time hung the run.
TASK_RETRIES = 3


@dataclass(frozen=True)
class _Box:
    """One item or result in a Ray Data column, opaque to Ray Data: without the box it would
    turn tuples, lists and arrays into Arrow columns of its own; boxed, Ray serialises the
    value whole, as it does a task argument."""

    value: Any


@dataclass(frozen=True)
class _Raised:
    """An AugmentError raised by ``fn`` on a worker, carried back as a value."""

    message: str


def _import_ray() -> Any:
    try:
        import ray
        import ray.data  # noqa: F401  (the ``data`` part of the extra)
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
    CPUs (None: all), no dashboard and a 200 MB object store. If Ray is already initialised
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
        with _quiet_ray_data(ray):
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


@contextmanager
def _quiet_ray_data(ray: Any) -> Iterator[None]:
    """No Ray Data progress bars or per-job log lines while we run (restored after)."""
    ctx = ray.data.DataContext.get_current()
    logger = logging.getLogger("ray.data")
    saved = ctx.enable_progress_bars, logger.level
    ctx.enable_progress_bars = False
    logger.setLevel(logging.CRITICAL)  # (a failed job comes back as one AugmentError line)
    try:
        yield
    finally:
        ctx.enable_progress_bars, level = saved
        logger.setLevel(level)


class _RayMap:
    """``mapper(fn, items)``: ``fn(item)`` for each item, in item order, computed on Ray."""

    def __init__(self, ray: Any) -> None:
        self._ray = ray

    def _cpus(self) -> int:
        return max(1, int(self._ray.cluster_resources().get("CPU", 1)))

    @property
    def jobs_at_once(self) -> int:
        """Items worth giving one call: ``BATCHES_PER_CPU`` for each CPU of the cluster, so
        that the near-duplicate verification, given a window of jobs a call
        (``near._distances``), still fills it."""
        return BATCHES_PER_CPU * self._cpus()

    def __call__(self, fn: Callable[[Any], Any], items: Sequence[Any]) -> Iterator[Any]:
        """The results, in item order. The job starts now, as a local pool's work does
        (``_Fetched``), and runs while the caller goes on with other things until it reads
        them: the next window of jobs (``parallel.in_windows``), or this process's share of
        a stage (``calibrate._merged_counts``)."""
        if not items:
            return iter(())
        cpus = self._cpus()
        rows = [{"index": i, "item": _Box(item)} for i, item in enumerate(items)]
        ds = self._ray.data.from_items(rows, override_num_blocks=min(len(rows), BATCHES_PER_CPU * cpus))
        with warnings.catch_warnings():  # (Ray 2.60 deprecates remote args it has no name for)
            warnings.filterwarnings("ignore", message="`ray_remote_args` is deprecated")
            ds = ds.map_batches(_apply_batch, fn_kwargs={"fn": fn}, batch_format="numpy",
                                batch_size=None, **_retries(ds.map_batches))
        return self._in_order(_Fetched(ds.iter_batches(batch_format="numpy", batch_size=None)),
                              len(items))

    def _in_order(self, fetched: _Fetched, count: int) -> Iterator[Any]:
        ray = self._ray
        # Batches arrive in whatever order Ray finishes them; hold results until every earlier
        # one is in, so the caller sees item order (and the output does not depend on Ray).
        pending: dict[int, _Box] = {}
        done = 0
        batches = iter(fetched)
        while True:
            try:
                batch = next(batches)
            except StopIteration:
                break
            except ray.exceptions.RayError as exc:
                raise AugmentError(_failed_task(ray, exc)) from None
            pending.update(zip(batch["index"].tolist(), batch["result"], strict=True))
            while done in pending:
                yield _unpack(pending.pop(done))
                done += 1
        if done != count:
            raise RuntimeError(f"Ray returned {done} of {count} results in order")


# Batches of a job read ahead of the caller (``_Fetched``): Ray Data itself holds the rest
# until they are asked for (its own back-pressure), so the driver holds no more than this.
FETCH_AHEAD = 2


class _Fetched:
    """A Ray Data job's batches, read by a thread of their own from the moment this is made,
    so that Ray Data (which starts a job when its first batch is asked for) runs it at once,
    at most ``FETCH_AHEAD`` batches ahead of the reader. An error there is raised where the
    batch would have been read. A reader that stops (an error, a caller that reads no more)
    stops the thread, as does dropping this unread; the thread is a daemon, so a job still
    running never keeps the process."""

    def __init__(self, batches: Iterable[Any]) -> None:
        self._queue: queue.Queue[tuple[str, Any]] = queue.Queue(maxsize=FETCH_AHEAD)
        self._stop = threading.Event()
        # (the thread holds the queue and the event, not this object, whose end stops it)
        weakref.finalize(self, self._stop.set)
        threading.Thread(target=_pump, args=(batches, self._queue, self._stop), daemon=True,
                         name="augment-ray-fetch").start()

    def __iter__(self) -> Iterator[Any]:
        try:
            while True:
                kind, value = self._queue.get()
                if kind == "end":
                    return
                if kind == "error":
                    raise value
                yield value
        finally:
            self._stop.set()


def _pump(batches: Iterable[Any], out: queue.Queue[tuple[str, Any]], stop: threading.Event) -> None:
    """``_Fetched``'s thread: each batch handed over in turn, then the end or the error."""

    def put(entry: tuple[str, Any]) -> bool:  # False once the reader stopped
        while not stop.is_set():
            try:
                out.put(entry, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    try:
        for batch in batches:
            if not put(("batch", batch)):
                return
        put(("end", None))
    except BaseException as exc:  # noqa: BLE001 (handed to the reader, raised there)
        put(("error", exc))


def _retries(map_batches: Callable[..., Any]) -> dict[str, int]:
    """The remote args that bound Ray's retries of a job whose worker died
    (``TASK_RETRIES``), for a ``map_batches`` that takes remote args (every Ray this
    project supports; one that no longer does gets none, and keeps Ray's default)."""
    kinds = {p.kind for p in inspect.signature(map_batches).parameters.values()}
    return {"max_retries": TASK_RETRIES} if inspect.Parameter.VAR_KEYWORD in kinds else {}


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


def _apply_batch(batch: dict[str, np.ndarray], fn: Callable[[Any], Any]) -> dict[str, np.ndarray]:
    """On a worker: ``fn`` over one batch of boxed items, boxed results beside their index."""
    results = np.empty(len(batch["item"]), dtype=object)
    for k, box in enumerate(batch["item"]):
        try:
            results[k] = _Box(fn(box.value))
        except AugmentError as exc:
            results[k] = _Box(_Raised(str(exc)))
    return {"index": batch["index"], "result": results}


def _unpack(box: _Box) -> Any:
    if isinstance(box.value, _Raised):
        raise AugmentError(box.value.message)
    return box.value
