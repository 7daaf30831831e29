"""--engine ray: the same bytes as the local engine, on a local Ray instance; clear errors.

The Ray runs need the extra (pip install 'augment[ray]') and are skipped without it; the
error tests that need no Ray always run.
"""

from __future__ import annotations

import os
import re
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from augment.cli import cli
from augment.config import load_config
from augment.errors import AugmentError
from augment.parallel import check_workers, local_mapper
from augment.pipeline import expand
from run_util import wide_rules

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds" / "beethoven.jsonl"
DEFAULT = str(ROOT / "rules" / "default.toml")
OUTPUTS = {"train.jsonl", "validation.jsonl", "test.jsonl", "lineage.jsonl", "rejected.jsonl",
           "manifest.json"}


def _files(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(out.iterdir())}


@pytest.fixture(scope="module")
def rules(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """wide.toml (every rule family) with 8 variants per seed, so a run takes seconds."""
    return wide_rules(tmp_path_factory.mktemp("rules") / "wide8.toml", 8)


@pytest.fixture(scope="module")
def local_run(rules: Path, tmp_path_factory: pytest.TempPathFactory
              ) -> tuple[dict[str, bytes], list[int]]:
    """The reference: the local engine in one process (the files, and the size of each map)."""
    out = tmp_path_factory.mktemp("local") / "out"
    sizes: list[int] = []
    local = local_mapper(1)  # what expand uses by default with workers=1

    def recording(fn: Callable[[Any], Any], items: Sequence[Any]) -> Iterator[Any]:
        sizes.append(len(items))
        return local(fn, items)

    result = expand([SEEDS], load_config(rules), out, mapper=recording)
    assert result.counts["variants_passing_checks"] > 300  # a real run, not an empty one
    assert result.counts["rejected_checks"] > 0 and result.counts["rejected_reprompt"] > 0
    files = _files(out)
    assert set(files) == OUTPUTS
    assert sizes and sizes[0] > 50  # most of the 84 seeds are expanded
    return files, sizes


@pytest.fixture
def ray_mod() -> Any:
    return pytest.importorskip("ray", reason="the ray extra is not installed (pip install '.[ray]')")


@pytest.fixture
def spy(monkeypatch: pytest.MonkeyPatch, ray_mod: Any) -> list[int]:
    """Counts the items each Ray map receives, to show the run really went through Ray."""
    from augment import ray_engine

    sizes: list[int] = []
    real = ray_engine._RayMap.__call__

    def counting(self: Any, fn: Callable[[Any], Any], items: Any) -> Iterator[Any]:
        sizes.append(len(items))
        return real(self, fn, items)

    monkeypatch.setattr(ray_engine._RayMap, "__call__", counting)
    return sizes


def test_ray_mapper_in_pipeline_writes_the_local_bytes(rules: Path,
                                                       local_run: tuple[dict[str, bytes], list[int]],
                                                       tmp_path: Path, ray_mod: Any, spy: list[int],
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from augment import near
    from augment.ray_engine import ray_mapper

    # Small verification chunks and band jobs from two rows, so that the LSH band grouping
    # and near-duplicate verification (dedup, leakage audit) also run on Ray here, as they
    # do at scale (too few signatures and candidate pairs otherwise).
    monkeypatch.setattr(near, "VERIFY_CHUNK", 4)
    monkeypatch.setattr(near, "BAND_JOB_ROWS", 2)

    def ending(number: int, frame: object) -> None:  # as the command line sets it (cli._stop)
        raise SystemExit(128 + number)
    before = signal.signal(signal.SIGTERM, ending)
    try:
        with ray_mapper(num_cpus=2) as mapper:
            # ray.init's own SIGTERM handler does not replace the caller's
            assert signal.getsignal(signal.SIGTERM) is ending
            _mapped_run(mapper, rules, local_run, tmp_path, ray_mod, spy)
    finally:
        signal.signal(signal.SIGTERM, before)
    assert not ray_mod.is_initialized()  # the instance it started is shut down
    assert _files(tmp_path / "ray") == local_run[0]


def _mapped_run(mapper: Any, rules: Path, local_run: tuple[dict[str, bytes], list[int]],
                tmp_path: Path, ray_mod: Any, spy: list[int]) -> None:
    """The run, and more maps, through a Ray mapper: every seed and chunks of candidate
    pairs went through it; results in item order; a worker's AugmentError as it was raised."""
    assert ray_mod.is_initialized()
    expand([SEEDS], load_config(rules), tmp_path / "ray", mapper=mapper)
    assert spy[0] == local_run[1][0]  # the per-seed stages, every seed
    assert len(spy) > 1 and sum(spy[1:]) > 4  # chunks of candidate pairs
    # More batches than CPUs, so results arrive out of order and are put back in order.
    assert list(mapper(abs, range(-60, 60))) == [abs(i) for i in range(-60, 60)]
    assert list(mapper(abs, [])) == []
    _calls_start_at_once(mapper, tmp_path)
    # (near-duplicate verification, given in windows of jobs, gives it this many a call)
    assert mapper.jobs_at_once == 4 * int(ray_mod.cluster_resources()["CPU"]) == 8
    # An expected error on a worker arrives as the same one-line AugmentError. (The
    # function must be importable on the workers: one of augment's, not this file's.)
    expected = r"^--workers must be 'auto', 0 \(one per CPU\) or a positive number, not -1$"
    with pytest.raises(AugmentError, match=expected):
        list(mapper(check_workers, [1, 2, -1, 3]))
    # Any other failure there is one AugmentError line naming what was raised: a bad value,
    # or a module the workers cannot import (as when a node lacks augment or a plugin).
    hint = r" \(every node needs augment \S+, Ray \S+ and any rule plugins, as installed here; "
    with pytest.raises(AugmentError, match=r"^a job on the Ray cluster failed: ValueError: invalid literal "
                                           r"for int\(\) with base 10: 'x'" + hint):
        list(mapper(int, ["1", "x"]))
    only_here = tmp_path / "only_here"
    only_here.mkdir()
    (only_here / "driver_only_module.py").write_text("def plus_one(x):\n    return x + 1\n")
    sys.path.insert(0, str(only_here))  # on the driver's path, not the workers'
    try:
        from driver_only_module import plus_one  # type: ignore[import-not-found]
        with pytest.raises(AugmentError, match=r"^a job on the Ray cluster failed: ModuleNotFoundError: "
                                               r"No module named 'driver_only_module'" + hint):
            list(mapper(plus_one, [1, 2]))
    finally:
        sys.path.remove(str(only_here))
        sys.modules.pop("driver_only_module", None)
    _dying_worker_fails(mapper)


def _calls_start_at_once(mapper: Any, tmp_path: Path) -> None:
    """A call's batches run before its results are read, as a local pool's work does (Ray
    tasks start when they are made)."""
    marker = tmp_path / "touched"
    results = mapper(Path.touch, [marker])
    assert _within(60, marker.exists), "the call did not run before its results were read"
    assert list(results) == [None]


def _within(seconds: float, done: Callable[[], bool]) -> bool:
    """Whether ``done()`` holds within ``seconds`` (asked every 0.05 s)."""
    deadline = time.monotonic() + seconds
    while not done():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _dying_worker_fails(mapper: Any) -> None:
    """A job whose worker process dies each time (``os._exit`` there, as the kernel's OOM
    killer would end it) is retried ``TASK_RETRIES`` times, then the run fails with one
    AugmentError line (Ray Data, which ran the jobs before the thirty-sixth round, retried it
    without end). Run in a thread, so that a run that never ends fails this test instead of
    hanging the suite."""
    from augment import ray_engine

    outcome: list[BaseException | list[Any]] = []

    def run() -> None:
        try:
            outcome.append(list(mapper(os._exit, [3])))
        except BaseException as exc:  # noqa: BLE001 (handed to the test's thread)
            outcome.append(exc)

    saved = ray_engine.TASK_RETRIES
    ray_engine.TASK_RETRIES = 1  # (each retry starts a worker process: seconds)
    try:
        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        thread.join(timeout=180)
    finally:
        ray_engine.TASK_RETRIES = saved
    assert not thread.is_alive(), "a job whose worker dies every time was retried without end"
    assert len(outcome) == 1 and isinstance(outcome[0], AugmentError), outcome
    assert re.fullmatch(r"a job on the Ray cluster failed: WorkerCrashedError: .* \(its worker process "
                        r"died 2 times: killed for memory, crashed, or its node lost; .*\)", str(outcome[0]))


def test_cli_engine_ray_writes_the_local_bytes(rules: Path,
                                               local_run: tuple[dict[str, bytes], list[int]],
                                               tmp_path: Path, ray_mod: Any, spy: list[int],
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RAY_ADDRESS", raising=False)  # a local instance, whatever the caller has
    r = CliRunner().invoke(cli, ["expand", str(SEEDS), "--rules", str(rules), "--out",
                                 str(tmp_path / "ray"), "--engine", "ray", "--workers", "2"])
    assert r.exit_code == 0, r.output
    assert "note: --workers is ignored with --engine ray" in r.stderr
    assert spy == local_run[1]  # every map of the run went through Ray
    assert not ray_mod.is_initialized()
    assert _files(tmp_path / "ray") == local_run[0]


def test_unreachable_ray_address_is_a_one_line_error(tmp_path: Path, ray_mod: Any) -> None:
    # Port 1 on this machine: nothing listens there, so the connection is refused at once.
    r = CliRunner().invoke(cli, ["expand", str(SEEDS), "--rules", DEFAULT, "--out", str(tmp_path / "out"),
                                 "--engine", "ray", "--ray-address", "127.0.0.1:1"])
    assert r.exit_code == 2
    assert r.stderr.startswith("error: could not connect to the Ray cluster at 127.0.0.1:1: ")
    assert r.stderr.count("\n") == 1 and "Traceback" not in r.output
    assert not ray_mod.is_initialized()
    assert not (tmp_path / "out").exists()


def test_engine_ray_without_ray_says_how_to_install(tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    # None in sys.modules makes ``import ray`` fail as if the extra were not installed.
    monkeypatch.setitem(sys.modules, "ray", None)
    r = CliRunner().invoke(cli, ["expand", str(SEEDS), "--rules", DEFAULT, "--out", str(tmp_path / "out"),
                                 "--engine", "ray"])
    assert r.exit_code == 2
    assert r.stderr.startswith("error: --engine ray needs Ray, which is not installed")
    assert r.stderr.rstrip("\n").endswith("install it with: pip install 'augment[ray]'")
    assert r.stderr.count("\n") == 1 and r.exception is not None and isinstance(r.exception, SystemExit)
    assert not (tmp_path / "out").exists()


def test_ray_address_needs_engine_ray(tmp_path: Path) -> None:
    r = CliRunner().invoke(cli, ["expand", str(SEEDS), "--rules", DEFAULT, "--out", str(tmp_path / "out"),
                                 "--ray-address", "127.0.0.1:6379"])
    assert r.exit_code == 2
    assert r.stderr == "error: --ray-address is only used with --engine ray\n"


def test_dedup_and_split_on_ray_write_the_local_bytes(local_run: tuple[dict[str, bytes], list[int]],
                                                      tmp_path: Path, ray_mod: Any,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """``augment dedup`` and ``augment split --engine ray``: the file's lines are parsed, and
    the calibration's counts and the near-duplicate search (LSH bands, candidate pairs) run,
    on Ray; the files are the bytes of the local engine's one process. The input is a real
    run's train split (variants of the 84 seeds: transposed and near copies of one another);
    the thresholds are lowered so that this small file takes every path a large one does."""
    import augment.calibrate as calibrate
    import augment.dataset_files as dataset_files
    import augment.near as near
    from augment import ray_engine
    from augment.ray_engine import ray_mapper

    monkeypatch.setattr(calibrate, "COUNT_FIRST", 2)
    monkeypatch.setattr(near, "VERIFY_CHUNK", 64)
    monkeypatch.setattr(near, "BAND_JOB_ROWS", 2)
    monkeypatch.setattr(dataset_files, "READ_BATCH", 100)
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    data = tmp_path / "data.jsonl"
    data.write_bytes(local_run[0]["train.jsonl"])
    lines = data.read_bytes().count(b"\n")
    assert lines > 400
    on_ray: list[str] = []
    real = ray_engine._RayMap.__call__

    def recording(self: Any, fn: Callable[[Any], Any], items: Any) -> Iterator[Any]:
        on_ray.extend([fn.__name__] * len(items))
        return real(self, fn, items)

    monkeypatch.setattr(ray_engine._RayMap, "__call__", recording)
    runner = CliRunner()

    def run(engine: str) -> tuple[dict[str, bytes], list[str], list[str]]:
        out = tmp_path / engine
        out.mkdir()
        args = ["--workers", "1"] if engine == "local" else ["--engine", "ray"]
        r = runner.invoke(cli, ["dedup", str(data), "-o", str(out / "dedup.jsonl"), *args])
        assert r.exit_code == 0, r.output
        by_dedup, on_ray[:] = list(on_ray), []
        r = runner.invoke(cli, ["split", str(data), "--out", str(out / "split"), *args])
        assert r.exit_code == 0, r.output
        by_split, on_ray[:] = list(on_ray), []
        files = {p.name: p.read_bytes() for p in (out / "split").iterdir()}
        files.update({p.name: p.read_bytes() for p in out.glob("*.jsonl")})
        return files, by_dedup, by_split

    local, none, nothing = run("local")
    assert none == nothing == []
    assert set(local) == {"dedup.jsonl", "dedup.rejected.jsonl", "train.jsonl", "validation.jsonl",
                          "test.jsonl", "lineage.jsonl", "manifest.json"}
    kept = local["dedup.jsonl"].count(b"\n")
    assert 0 < kept < lines and kept + local["dedup.rejected.jsonl"].count(b"\n") == lines
    # One instance for both commands: the command line uses a Ray already initialised here.
    with ray_mapper(num_cpus=2):
        on_cluster, by_dedup, by_split = run("ray")
    assert not ray_mod.is_initialized()
    assert on_cluster == local
    for mapped in (by_dedup, by_split):
        assert mapped.count("parse_batch") == -(-lines // 100)  # every line parsed there
        assert {"merged_job", "band_pairs", "distances_job"} <= set(mapped)
