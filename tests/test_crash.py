"""Crashes: ``augment expand`` killed with SIGKILL at random moments and in the middle of
writing never leaves a directory that ``augment verify`` accepts while it is incomplete,
and a rerun into the same directory succeeds and verifies."""

from __future__ import annotations

import os
import random
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from augment.cli import cli
from augment.errors import AugmentError
from augment.verify import verify_dir
from run_util import assert_all_end, children, wide_rules

ROOT = Path(__file__).resolve().parent.parent
RULES = ROOT / "rules" / "default.toml"
RANDOM_KILLS = 3
POLL_SECONDS = 0.001


def files(out: Path) -> dict[str, bytes]:
    """The directory as verify sees it: every file but the dot (temporary) files."""
    return {p.name: p.read_bytes() for p in sorted(out.iterdir())
            if p.is_file() and not p.name.startswith(".")}


def accepted(out: Path) -> bool:
    try:
        return out.is_dir() and verify_dir(out) == []
    except AugmentError:  # no manifest, or an unreadable one
        return False


def expand_args(seeds: Path, out: Path, seed: int) -> list[str]:
    return ["expand", str(seeds), "--rules", str(RULES), "--out", str(out), "--seed", str(seed)]


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    base = tmp_path_factory.mktemp("crash")
    seeds = base / "seeds.jsonl"
    seeds.write_text("".join((ROOT / "seeds" / "beethoven.jsonl").read_text().splitlines(True)[:10]))
    refs = {}
    started = time.monotonic()
    for seed in (3, 4):
        out = base / f"ref{seed}"
        assert CliRunner().invoke(cli, expand_args(seeds, out, seed)).exit_code == 0
        refs[seed] = files(out)
    assert refs[3]["train.jsonl"] != refs[4]["train.jsonl"]
    # One in-process run, plus interpreter start-up, estimates a subprocess run.
    estimate = (time.monotonic() - started) / 2 + 1.0
    return {"base": base, "seeds": seeds, "refs": refs, "estimate": estimate}


def new_temporary_file(out: Path, since: float) -> bool:
    """A temporary file made after ``since`` (wall clock): a file is being written."""
    for path in out.glob(".*.tmp"):
        try:
            if path.stat().st_mtime >= since:
                return True
        except FileNotFoundError:  # renamed into place meanwhile
            return True
    return False


def changed_since(path: Path, since: float) -> bool:
    try:
        return path.stat().st_mtime >= since
    except FileNotFoundError:
        return False


Trigger = Callable[[float, float], bool]  # (seconds since start, wall-clock start) -> kill now?


def run_and_kill(seeds: Path, out: Path, seed: int, when: Trigger, deadline_seconds: float) -> bool:
    """Start expand as a subprocess; SIGKILL it as soon as ``when`` holds.
    True when it was killed, False when it finished first."""
    wall = time.time() - 0.01
    # A killed run leaves its scratch folder in $TMPDIR (README): here, beside ``out``.
    scratch = out.parent / "tmp"
    scratch.mkdir(exist_ok=True)
    proc = subprocess.Popen([sys.executable, "-m", "augment", *expand_args(seeds, out, seed)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            env={**os.environ, "TMPDIR": str(scratch)})
    started = time.monotonic()
    try:
        while proc.poll() is None:
            elapsed = time.monotonic() - started
            if when(elapsed, wall) or elapsed > deadline_seconds:
                proc.send_signal(signal.SIGKILL)
                proc.wait()
                return True
            time.sleep(POLL_SECONDS)
        return False
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_sigkill_at_any_moment_never_leaves_an_accepted_incomplete_directory(
        setup: dict[str, object]) -> None:
    base, seeds, estimate = Path(str(setup["base"])), Path(str(setup["seeds"])), float(str(setup["estimate"]))
    refs: dict[int, dict[str, bytes]] = setup["refs"]  # type: ignore[assignment]
    out = base / "out"
    shutil.copytree(base / "ref4", out)  # a complete earlier run, to be rewritten

    rng = random.Random(20240901)
    at_times = [rng.uniform(0.3, 1.0) * estimate for _ in range(RANDOM_KILLS)]
    triggers: list[tuple[str, Trigger]] = [
        (f"after {t:.2f} s", lambda elapsed, _w, t=t: elapsed >= t) for t in at_times]
    triggers += [
        ("when the old manifest is gone", lambda _e, _w: not (out / "manifest.json").exists()),
        ("while a file is half written", lambda _e, wall: new_temporary_file(out, wall)),
        ("after the first file is renamed into place",
         lambda _e, wall: changed_since(out / "train.jsonl", wall)),
    ]
    killed_mid_write = 0
    for number, (label, when) in enumerate(triggers):
        seed = 3 if number % 2 == 0 else 4
        killed = run_and_kill(seeds, out, seed, when, deadline_seconds=4 * estimate)
        if accepted(out):
            # Accepted means complete: exactly the files of one whole run.
            assert files(out) in (refs[3], refs[4]), label
        else:
            killed_mid_write += 1
        assert killed or accepted(out), label
    assert killed_mid_write >= 3  # the three write-phase triggers always land mid-write

    result = subprocess.run([sys.executable, "-m", "augment", *expand_args(seeds, out, 3)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert accepted(out)
    assert files(out) == refs[3]
    assert not [p.name for p in out.iterdir() if p.name.startswith(".")], "temporary files left behind"
    # What the kills left in $TMPDIR is what the README says: scratch folders named augment-*.
    assert all(p.is_dir() and p.name.startswith("augment-") for p in (base / "tmp").iterdir())


def test_rerun_removes_the_stale_report_and_manifest_first(setup: dict[str, object]) -> None:
    base = Path(str(setup["base"]))
    seeds = base / "three.jsonl"
    seeds.write_text("".join(Path(str(setup["seeds"])).read_text().splitlines(True)[:3]))
    out = base / "report"
    assert CliRunner().invoke(cli, [*expand_args(seeds, out, 4), "--report"]).exit_code == 0
    assert (out / "report.html").exists()
    stale = out / ".train.jsonl.abc123.tmp"
    stale.write_text("left by a killed run")
    # A rerun that fails before writing leaves the complete old run alone ...
    bad = base / "bad.jsonl"
    bad.write_text("{broken\n")
    assert CliRunner().invoke(cli, expand_args(bad, out, 3)).exit_code == 2
    assert accepted(out) and (out / "report.html").exists()
    # ... and one that writes removes the old manifest, the old report and temporary files.
    assert CliRunner().invoke(cli, expand_args(seeds, out, 3)).exit_code == 0
    assert not (out / "report.html").exists() and not stale.exists()
    assert accepted(out)


def test_a_run_stopped_while_its_pool_writes_leaves_no_temporary_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An error (or Ctrl-C, SIGTERM) in the main process while the pool's processes write
    the split files: the pool's processes are killed in the middle of their files
    (``parallel._abandon``), and the run removes the temporary files they leave in --out.
    The pool's writing is slowed (patched before its processes fork) so that the stop
    lands inside it."""
    from augment import output, pipeline
    from augment.config import load_config

    real = output._spooled_chunks

    def slow(fileno: int, job: output.SpooledFile) -> object:
        for chunk in real(fileno, job):
            time.sleep(1.0)
            yield chunk

    out = tmp_path / "out"

    def stopped() -> dict[str, str]:  # (called while the pool's processes write)
        deadline = time.monotonic() + 60  # a liveness deadline, not a speed check
        while not list(out.glob(".*.tmp")):
            assert time.monotonic() < deadline
            time.sleep(0.01)
        raise RuntimeError("stopped while the pool writes")

    monkeypatch.setattr(output, "_spooled_chunks", slow)
    monkeypatch.setattr(pipeline, "package_versions", stopped)
    with pytest.raises(RuntimeError, match="stopped while the pool writes"):
        pipeline.expand([ROOT / "seeds" / "beethoven.jsonl"], load_config(RULES), out, workers=2)
    assert [p.name for p in out.iterdir() if p.name.startswith(".")] == []
    assert not (out / "manifest.json").exists()


def test_a_pooled_run_that_fails_early_leaves_other_temporary_files_alone(tmp_path: Path) -> None:
    """The clean-up above removes only the temporary files of the files a pool writes: a
    run with 2 workers stopped by a bad seed file before writing leaves another program's
    ``.*.tmp`` in --out (and a ``.train.jsonl.*.tmp`` of its own kind goes)."""
    from augment.config import load_config
    from augment.pipeline import expand

    out = tmp_path / "out"
    out.mkdir()
    (out / ".notes.tmp").write_text("not augment's")
    (out / ".train.jsonl.abc123.tmp").write_text("left by a killed pool process")
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{broken\n")
    with pytest.raises(AugmentError):
        expand([bad], load_config(RULES), out, workers=2)
    assert sorted(p.name for p in out.iterdir()) == [".notes.tmp"]


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:  # (removed as the run ended)
        return 0


def _long_run(tmp_path: Path) -> tuple[subprocess.Popen[str], Path, Path]:
    """``augment expand`` of the bundled seeds at 2,000 variants each with 2 workers (114,958
    examples written in 15.8 s on this project's machine), in its own process group and its
    own $TMPDIR, started and waited for until the pool's first results are on disk (a spool
    file in its scratch folder with bytes in it); (the process, the $TMPDIR, the output
    folder)."""
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    rules = wide_rules(tmp_path / "rules.toml", 2000)
    out = tmp_path / "out"
    seeds = ROOT / "seeds" / "beethoven.jsonl"
    proc = subprocess.Popen([sys.executable, "-m", "augment", "expand", str(seeds),
                             "--rules", str(rules), "--out", str(out), "--workers", "2"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "TMPDIR": str(scratch)}, start_new_session=True)
    try:
        deadline = time.monotonic() + 120  # a liveness deadline, not a speed check
        while not any(_size(p) for p in scratch.glob("augment-*/spool-*")):
            assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
            time.sleep(0.05)
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    return proc, scratch, out


def _ended(scratch: Path, out: Path, kids: list[int]) -> None:
    """After the run ended: its scratch folder is gone, no manifest was written, and its
    pool's processes end (a liveness deadline)."""
    assert list(scratch.iterdir()) == []
    assert not (out / "manifest.json").exists()
    assert_all_end(kids)


@pytest.mark.parametrize("group", [False, True], ids=["to-the-run", "to-its-process-group"])
def test_sigterm_ends_a_run_as_ctrl_c_does(tmp_path: Path, group: bool) -> None:
    """SIGTERM (a scheduler cancelling a job, ``timeout``, ``kill``) sent to a run in its
    pool's phase, or to its whole process group: a one-line message, exit 143, no traceback;
    the scratch folder gone from $TMPDIR (before, it stayed there: README, "Crashes"), no
    pool process left, no manifest written."""
    if not Path("/proc").is_dir():
        pytest.skip("needs /proc to see the pool's processes")
    proc, scratch, out = _long_run(tmp_path)
    try:
        kids = children(proc.pid)
        assert len(kids) >= 2, kids  # the pool's two processes (and its resource tracker, if any)
        if group:
            os.killpg(proc.pid, signal.SIGTERM)
        else:
            proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 128 + signal.SIGTERM, stderr
    assert "augment: stopped by SIGTERM" in stderr and "Traceback" not in stderr, stderr
    _ended(scratch, out, kids)


def test_a_pool_process_killed_mid_run_ends_the_run_in_one_line(tmp_path: Path) -> None:
    """A pool process killed while the run goes on (the out-of-memory killer picks the
    largest process; here SIGKILL): the run stops with one error line saying so and what to
    do, exit 2, no traceback, its scratch folder removed, no manifest, no process left."""
    if not Path("/proc").is_dir():
        pytest.skip("needs /proc to see the pool's processes")
    proc, scratch, out = _long_run(tmp_path)
    try:
        kids = children(proc.pid)
        assert len(kids) >= 2, kids
        os.kill(kids[0], signal.SIGKILL)
        _, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 2, stderr
    assert stderr.strip().splitlines() == [
        "error: a process of the pool (--workers 2) ended abruptly, so the run stopped unfinished: "
        "it was killed, perhaps by the system's out-of-memory killer (see 'dmesg'); to "
        "need less memory, use fewer --workers (expand: or fewer variants_per_seed)"], stderr
    _ended(scratch, out, kids)


# A pool process that dies while writing its result: it writes the header of a 1 MB message
# and 100 bytes of it into the pool's results pipe, then kills itself (as SIGKILL or a
# SIGTERM to the run's process group could, in the middle of a large result). The pool's
# manager thread then waits in ``recv`` for the rest of the message. Item 0 does it; the
# others return themselves.
_HALF_A_RESULT = """
import gc, multiprocessing, multiprocessing.queues, os, signal, struct, sys, time
from augment.errors import AugmentError
from augment.parallel import local_pool

def half_a_result(item):
    if item == 0:
        queue = next(o for o in gc.get_objects() if isinstance(o, multiprocessing.queues.SimpleQueue))
        os.write(queue._writer.fileno(), struct.pack("!i", 1_000_000) + b"x" * 100)
        os.kill(os.getpid(), signal.SIGKILL)
    return item

try:
    with local_pool(2) as mapper:
        results = mapper(half_a_result, [0, 1, 2, 3])
        if sys.argv[1] == "read":
            print(list(results))
        else:  # an error in this process while the pool's thread is stuck
            while len(multiprocessing.active_children()) == 2:
                time.sleep(0.01)
            raise AugmentError("given up")
except AugmentError as error:
    print(error)
"""


@pytest.mark.parametrize("mode", ["read", "give-up"])
def test_a_pool_process_killed_while_writing_a_result_ends_the_run(mode: str) -> None:
    """Killed while writing a result, a pool process left the pool's thread waiting forever
    for the rest of it: reading the results hung (the pool never said it was broken), and so
    did leaving the pool after an error (its shutdown waited for that thread; CI's SIGTERM
    to a run's process group hung so). Now the reading ends in the one-line error, the
    leaving returns, and no thread prints a traceback (a liveness deadline, not a speed
    check)."""
    run = subprocess.run([sys.executable, "-c", _HALF_A_RESULT, mode], capture_output=True,
                         text=True, timeout=120,
                         env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
    assert run.returncode == 0 and run.stderr == "", run
    expected = ("a process of the pool (--workers 2) ended abruptly" if mode == "read"
                else "given up")
    assert run.stdout.startswith(expected), run.stdout


def test_the_ending_handlers_leave_an_ignored_signal_ignored_and_other_threads_alone() -> None:
    """``cli.main`` sets ``_stop`` for SIGTERM and SIGHUP where they are at their default;
    one the caller ignores (``nohup`` ignores SIGHUP) stays ignored; called in another
    thread (where Python forbids setting handlers) it sets nothing and does not fail."""
    import threading

    from augment import cli as cli_module

    saved = {n: signal.getsignal(n) for n in (signal.SIGTERM, signal.SIGHUP)}
    try:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGHUP, signal.SIG_IGN)
        failed: list[BaseException] = []

        def elsewhere() -> None:
            try:
                cli_module._end_like_ctrl_c()
            except BaseException as exc:  # noqa: BLE001  (reported below)
                failed.append(exc)
        thread = threading.Thread(target=elsewhere)
        thread.start()
        thread.join()
        assert failed == [] and signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
        cli_module._end_like_ctrl_c()
        assert signal.getsignal(signal.SIGTERM) is cli_module._stop
        assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
    finally:
        for number, handler in saved.items():
            signal.signal(number, handler)


def test_a_stop_keeps_its_exit_status_when_a_library_raises_its_own(monkeypatch: pytest.MonkeyPatch,
                                                                    capsys: pytest.CaptureFixture[str]
                                                                    ) -> None:
    """A SIGTERM that arrives while Ray's ``ray.get`` waits in C code: our handler's
    SystemExit(143) is replaced by Ray's SystemExit(1) (``raise_sys_exit_with_custom_error_
    message``; 4 of 9 tries of ``augment expand --engine ray`` before this was handled).
    ``cli.main`` ends with 143 all the same; a SystemExit without a stop keeps its own
    status."""
    from augment import cli as cli_module

    def library_waiting(*args: object, **kwargs: object) -> None:
        try:
            cli_module._stop(signal.SIGTERM, None)
        except SystemExit:
            raise SystemExit(1) from None  # what Ray raises in its place

    def plain_exit(*args: object, **kwargs: object) -> None:
        raise SystemExit(1)

    def status_of_main(command: Callable[..., None]) -> object:
        """``cli.main``'s exit status with ``command`` as its command line."""
        saved = {n: signal.getsignal(n) for n in (signal.SIGTERM, signal.SIGHUP)}
        monkeypatch.setattr(cli_module, "_stopped_by", [])
        monkeypatch.setattr(cli_module, "cli", command)
        try:
            with pytest.raises(SystemExit) as ended:
                cli_module.main()
        finally:
            for number, handler in saved.items():
                signal.signal(number, handler)
        return ended.value.code

    assert status_of_main(library_waiting) == 128 + signal.SIGTERM
    assert capsys.readouterr().err == "augment: stopped by SIGTERM; removing the run's temporary files\n"
    assert status_of_main(plain_exit) == 1
