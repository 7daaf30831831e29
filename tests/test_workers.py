"""--workers: the process pool gives byte-identical output to one worker."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from augment import parallel
from augment.cli import cli
from augment.config import load_config
from augment.errors import AugmentError
from augment.parallel import check_workers, map_ordered
from augment.pipeline import expand

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds" / "beethoven.jsonl"
WIDE = ROOT / "rules" / "wide.toml"


def _files(out: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(out.iterdir())}


def _square_minus(x: int) -> int:
    return x * x - 1


def test_map_ordered_keeps_item_order_in_a_pool() -> None:
    items = list(range(200))
    assert list(map_ordered(_square_minus, items, workers=2)) == [x * x - 1 for x in items]
    assert list(map_ordered(_square_minus, items, workers=1)) == [x * x - 1 for x in items]
    assert list(map_ordered(_square_minus, [], workers=2)) == []


class _Result:
    """A value that a weak reference can watch."""

    def __init__(self, item: int) -> None:
        self.item = item


def _result(item: int) -> _Result:
    return _Result(item)


def test_a_pool_holds_no_result_once_it_is_read() -> None:
    """The pool's mapper lets go of each result once it has been read: at a million, the
    results of every seed held until the end had raised the main process's peak RSS from
    1,371 to 1,529 MB (``bench_expand.py --plain``, one run each)."""
    import gc
    import weakref

    with parallel.local_pool(2) as mapper:
        results = mapper(_result, range(6))
        first = weakref.ref(next(results))
        assert next(results).item == 1
        gc.collect()
        assert first() is None
        assert [r.item for r in results] == [2, 3, 4, 5]


def test_check_workers() -> None:
    assert check_workers(2) == 2
    assert check_workers(0) == parallel.usable_cpus() >= 1  # one per usable CPU
    with pytest.raises(AugmentError, match="--workers"):
        check_workers(-1)


def test_a_pool_of_more_than_four_processes_a_cpu_is_refused(monkeypatch: pytest.MonkeyPatch,
                                                            tmp_path: Path) -> None:
    """A pool starts all its processes before any work (the Quick start with ``--workers
    99999`` had not finished after 200 s on 2 cores): past ``MAX_WORKERS_PER_CPU`` per
    usable CPU, a clear error before any file is written, from every command that takes
    --workers."""
    monkeypatch.setattr(parallel, "usable_cpus", lambda: 2)
    assert parallel.MAX_WORKERS_PER_CPU == 4
    assert check_workers(8) == 8
    with pytest.raises(AugmentError, match=r"--workers 9 is more than 4 processes per usable CPU "
                                           r"\(2 here\): use at most 8"):
        check_workers(9)
    runner = CliRunner()
    first = tmp_path / "first"
    assert runner.invoke(cli, ["expand", str(SEEDS), "--out", str(first), "--workers", "1"]).exit_code == 0
    for command in (["expand", str(SEEDS)], ["dedup", str(first / "train.jsonl")],
                    ["split", str(first / "train.jsonl")]):
        out = tmp_path / command[0]
        r = runner.invoke(cli, [*command, "--out", str(out), "--workers", "99999"])
        assert r.exit_code == 2 and "error: --workers 99999 is more than 4 processes per usable CPU" \
            in r.output, (command, r.output)
        assert "Traceback" not in r.output and not out.exists()


def test_usable_cpus_follow_the_affinity_mask_and_auto_is_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(parallel, "cpu_quota", lambda: None)  # (whatever this machine's cgroup says)
    monkeypatch.setattr(parallel.os, "sched_getaffinity", lambda pid: {0, 3, 5}, raising=False)
    monkeypatch.setattr(parallel.os, "cpu_count", lambda: 64)
    assert parallel.usable_cpus() == 3 == check_workers(0) == parallel.auto_workers()
    monkeypatch.delattr(parallel.os, "sched_getaffinity")  # macOS, Windows: the CPU count
    assert parallel.usable_cpus() == 64 == check_workers(0)
    assert parallel.auto_workers() == parallel.AUTO_WORKERS == 4
    monkeypatch.setattr(parallel.os, "cpu_count", lambda: None)
    assert parallel.usable_cpus() == 1 == parallel.auto_workers()


def test_usable_cpus_follow_a_cpu_quota(monkeypatch: pytest.MonkeyPatch) -> None:
    """Under a CPU quota (docker --cpus, a Kubernetes CPU limit) the usable CPUs are the
    quota rounded up, never more than the affinity mask allows, never fewer than one."""
    monkeypatch.setattr(parallel.os, "sched_getaffinity", lambda pid: set(range(8)), raising=False)
    for quota, cpus in ((None, 8), (1.5, 2), (2.0, 2), (0.25, 1), (16.0, 8)):
        monkeypatch.setattr(parallel, "cpu_quota", lambda quota=quota: quota)
        assert parallel.usable_cpus() == cpus == check_workers(0), quota
        assert parallel.auto_workers() == min(cpus, parallel.AUTO_WORKERS)


def _cgroup_files(tmp_path: Path, cgroup: str, files: dict[str, str]) -> tuple[Path, Path]:
    """A fake ``/sys/fs/cgroup`` (``files`` by path under it) and ``/proc/self/cgroup``."""
    root = tmp_path / "sys-fs-cgroup"
    for name, text in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    (tmp_path / "proc-self-cgroup").write_text(cgroup)
    return root, tmp_path / "proc-self-cgroup"


@pytest.mark.parametrize(("cgroup", "files", "quota"), [
    # cgroup v2, no limit / a limit of 2 CPUs at the root (a container's view)
    ("0::/\n", {"cpu.max": "max 100000\n"}, None),
    ("0::/\n", {"cpu.max": "200000 100000\n"}, 2.0),
    # v2, nested: the least along the path (the parent's 1.5 CPUs)
    ("0::/a/b\n", {"cpu.max": "max 100000\n", "a/cpu.max": "150000 100000\n",
                   "a/b/cpu.max": "max 100000\n"}, 1.5),
    # v2 in a container: the path is the host's, absent here; the root is the group's own
    ("0::/kubepods/pod1/c1\n", {"cpu.max": "50000 100000\n"}, 0.5),
    # cgroup v1 (this project's machines), no quota / half a CPU in the group's folder
    ("12:pids:/\n4:cpu,cpuacct:/\n1:name=systemd:/\n",
     {"cpu,cpuacct/cpu.cfs_quota_us": "-1\n", "cpu,cpuacct/cpu.cfs_period_us": "100000\n"}, None),
    ("4:cpu,cpuacct:/docker/x\n3:cpuset:/docker/x\n",
     {"cpu,cpuacct/cpu.cfs_quota_us": "-1\n", "cpu,cpuacct/cpu.cfs_period_us": "100000\n",
      "cpu,cpuacct/docker/x/cpu.cfs_quota_us": "50000\n",
      "cpu,cpuacct/docker/x/cpu.cfs_period_us": "100000\n"}, 0.5),
    # no CPU controller listed, or its files unreadable
    ("3:cpuset:/\n4:cpuacct:/\n", {"cpu.max": "100000 100000\n"}, None),
    ("0::/\n", {"cpu.max": "garbage\n"}, None),
])
def test_cpu_quota_reads_cgroup_v1_and_v2(tmp_path: Path, cgroup: str, files: dict[str, str],
                                         quota: float | None) -> None:
    root, cgroups = _cgroup_files(tmp_path, cgroup, files)
    assert parallel.cpu_quota(root, cgroups) == quota
    assert parallel.cpu_quota(root, tmp_path / "absent") is None  # not Linux


def test_cli_workers_default_to_auto(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    import augment.cli as cli_module

    asked: list[int] = []

    def fake_expand(*args: object, workers: int, **kwargs: object) -> object:
        asked.append(workers)
        raise AugmentError("stopped here")

    monkeypatch.setattr(cli_module, "run_expand", fake_expand)
    monkeypatch.setattr(cli_module, "auto_workers", lambda: 3)
    runner = CliRunner()
    for extra in ([], ["--workers", "auto"], ["--workers", "AUTO"], ["--workers", "0"], ["--workers", "5"]):
        r = runner.invoke(cli, ["expand", str(SEEDS), "--out", str(tmp_path / "x"), *extra])
        assert r.exit_code == 2 and "stopped here" in r.output
    assert asked == [3, 3, 3, 0, 5]
    for bad, why in (("two", "'two' is not 'auto' or a number"), ("-1", "-1 is below 0")):
        r = runner.invoke(cli, ["expand", str(SEEDS), "--out", str(tmp_path / "x"), "--workers", bad])
        assert r.exit_code == 2 and why in r.output and "Traceback" not in r.output
    assert len(asked) == 5


def test_two_workers_write_the_same_bytes_as_one(tmp_path: Path) -> None:
    config = load_config(WIDE)
    one = expand([SEEDS], config, tmp_path / "one", workers=1)
    two = expand([SEEDS], config, tmp_path / "two", workers=2)
    assert _files(tmp_path / "one") == _files(tmp_path / "two")
    assert one.counts == two.counts
    assert one.counts["variants_passing_checks"] > 2000  # a real run, not an empty one
    assert one.counts["rejected_checks"] > 0 and one.counts["rejected_reprompt"] > 0


def test_the_pool_writes_the_rejections_with_the_lines_kept_here(tmp_path: Path) -> None:
    """With a pool, one of its processes writes rejected.jsonl from the run's spool of
    rejections, with the lines the run kept in memory (unreadable seed lines) put in their
    places: the same bytes as one worker, which writes it from this process."""
    import json

    lines = SEEDS.read_text(encoding="utf-8").splitlines()
    bad = tmp_path / "bad.jsonl"
    given = ["{broken", *lines[:10], '{"messages": []}', *lines[10:], "not json \u266a"]
    bad.write_text("\n".join(given) + "\n", encoding="utf-8")
    config = load_config(WIDE)
    one = expand([bad], config, tmp_path / "one", on_error="skip", workers=1)
    two = expand([bad], config, tmp_path / "two", on_error="skip", workers=2)
    assert _files(tmp_path / "one") == _files(tmp_path / "two") and one.counts == two.counts
    text = (tmp_path / "two" / "rejected.jsonl").read_text(encoding="utf-8")
    records = [json.loads(line) for line in text.splitlines()]
    assert len(records) == two.counts["rejected_total"]
    # the read rejections first, in input order (kept here), then the rest by id (spooled)
    assert [(r["stage"], r["source"]) for r in records[:3]] == \
        [("read", f"{bad}:1"), ("read", f"{bad}:12"), ("read", f"{bad}:{len(lines) + 3}")]
    assert records[2]["text"] == "not json \u266a"
    ids = [r["id"] for r in records[3:]]
    assert ids == sorted(ids)
    assert {r["stage"] for r in records[3:]} >= {"checks", "reprompt"}


def test_a_pool_of_spawned_processes_writes_the_same_bytes(monkeypatch: pytest.MonkeyPatch,
                                                             tmp_path: Path) -> None:
    """macOS and Windows start a pool's processes by spawning, not forking: they inherit
    nothing (no loaded numba, no collector settings, no module state), and the output is
    still the same bytes."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    from functools import partial

    config = load_config(WIDE)
    expand([SEEDS], config, tmp_path / "one", workers=1)
    spawning = partial(ProcessPoolExecutor, mp_context=multiprocessing.get_context("spawn"))
    monkeypatch.setattr(parallel, "ProcessPoolExecutor", spawning)
    expand([SEEDS], config, tmp_path / "spawned", workers=2)
    assert _files(tmp_path / "one") == _files(tmp_path / "spawned")


def test_cli_workers_option(tmp_path: Path) -> None:
    runner = CliRunner()
    outs = {}
    for workers in ("1", "2", "auto"):
        option = ["--workers", workers] if workers != "auto" else []  # the default
        r = runner.invoke(cli, ["expand", str(SEEDS), "--rules", str(ROOT / "rules" / "default.toml"),
                                "--out", str(tmp_path / workers), *option])
        assert r.exit_code == 0, r.output
        outs[workers] = _files(tmp_path / workers)
    assert outs["1"] == outs["2"] == outs["auto"]
    bad = runner.invoke(cli, ["expand", str(SEEDS), "--out", str(tmp_path / "x"), "--workers", "-1"])
    assert bad.exit_code == 2 and "--workers" in bad.output


def test_near_pairs_verified_in_mapped_chunks_equal_one_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    """LSH bands grouped as one job each and candidate verification cut into chunks, run in a
    pool, find the same pairs with the same similarities (corpus melodies and one-note
    edits of them)."""
    import augment.near as near
    from augment.parallel import local_mapper
    from dataset_util import corpus

    seqs = [near.melody_tokens(m) for _, m in corpus()[:150]]
    seqs += [s[:5] + ("+99:1",) + s[6:] for s in seqs]
    params = near.NearParams(similarity=0.6)
    whole = near.near_pairs(seqs, params)
    monkeypatch.setattr(near, "VERIFY_CHUNK", 7)
    monkeypatch.setattr(near, "BAND_JOB_ROWS", 2)
    calls = []

    def counting(fn, items):  # type: ignore[no-untyped-def]
        calls.append(len(items))
        return local_mapper(2)(fn, items)

    assert near.near_pairs(seqs, params, mapper=counting) == whole
    bands = params.bands()[0]
    band_calls = -(-bands // near.BANDS_PER_CALL)  # a few bands a call, two calls in flight
    assert len(whole) >= 150 and bands > near.BANDS_PER_CALL
    per_call = near.BANDS_PER_CALL
    assert calls[:band_calls] == [per_call] * (band_calls - 1) + [bands - per_call * (band_calls - 1)]
    assert calls[band_calls] > 2  # then the verification chunks


def test_verification_jobs_are_equal_and_a_multiple_of_verify_jobs(monkeypatch: pytest.MonkeyPatch
                                                                   ) -> None:
    """The pairs to verify are cut into jobs that differ by at most one pair, as many as
    ``VERIFY_CHUNK`` asks rounded up to a multiple of ``VERIFY_JOBS`` (a pool of 1, 2 or 4
    processes ends them together), and the distances are those of one call."""
    import augment.near as near
    from augment.editdist import edit_distances, token_ids
    from augment.parallel import local_mapper
    from dataset_util import corpus

    tok = token_ids([near.melody_tokens(m) for _, m in corpus()[:40]])
    rng = np.random.default_rng(3)
    monkeypatch.setattr(near, "VERIFY_CHUNK", 7)
    for n in (8, 29, 30, 57, 100):
        x, y = rng.integers(0, 40, n), rng.integers(0, 40, n)
        sizes: list[int] = []
        per_call: list[int] = []

        def counting(fn, items, sizes=sizes, per_call=per_call):  # type: ignore[no-untyped-def]
            sizes.extend(len(job[1]) for job in items)
            per_call.append(len(items))
            return local_mapper(1)(fn, items)

        got = near._distances(tok, x, y, counting)
        assert got.tolist() == edit_distances(tok, x, y).tolist()
        assert sum(sizes) == n and max(sizes) - min(sizes) <= 1 and max(sizes) <= 7
        assert len(sizes) % near.VERIFY_JOBS == 0, (n, sizes)
        # given a window of jobs a call (all at once, a large file's jobs held ~0.8 GB)
        window = 2 * near.VERIFY_JOBS
        assert per_call == [window] * (len(sizes) // window) + ([len(sizes) % window] if len(sizes) % window
                                                               else []), (n, per_call)
    # A mapper that runs many jobs at once (a Ray cluster: its jobs_at_once) gets as many a call.
    per_call = []
    x, y = rng.integers(0, 40, 100), rng.integers(0, 40, 100)

    def wide(fn, items):  # type: ignore[no-untyped-def]
        per_call.append(len(items))
        return local_mapper(1)(fn, items)

    wide.jobs_at_once = 12  # type: ignore[attr-defined]
    assert near._distances(tok, x, y, wide).tolist() == edit_distances(tok, x, y).tolist()
    assert per_call == [12, 4]  # (16 jobs of 7 pairs at most)


def test_in_windows_makes_jobs_as_asked_two_windows_in_flight() -> None:
    """``parallel.in_windows``: the results of every job in order, through calls of at most
    ``per_call`` jobs, with the next call made before the last one's results are read (a
    pool's processes never wait) and no more than two windows' jobs made ahead of the
    results read (the jobs' memory is bounded)."""
    from augment.parallel import in_windows, local_mapper

    made: list[int] = []
    calls: list[list[int]] = []

    def jobs():  # type: ignore[no-untyped-def]
        for k in range(23):
            made.append(k)
            yield k

    def mapper(fn, items):  # type: ignore[no-untyped-def]
        calls.append(list(items))
        return iter([fn(item) for item in items])  # (computed at the call, as a pool starts them)

    read = 0
    for got in in_windows(mapper, lambda k: k * k, jobs(), 5):
        assert got == read * read
        assert len(made) - read <= 2 * 5
        assert len(calls) == min(5, read // 5 + 2)  # the next window given before these are read
        read += 1
    assert read == 23 and made == list(range(23))
    assert [len(c) for c in calls] == [5, 5, 5, 5, 3] and sum(calls, []) == list(range(23))
    assert list(in_windows(local_mapper(2), abs, range(-9, 9), 4)) == [abs(k) for k in range(-9, 9)]
    assert list(in_windows(mapper, abs, [], 4)) == []


def test_calibration_searches_through_the_mapper_with_the_same_result(monkeypatch: pytest.MonkeyPatch
                                                                      ) -> None:
    """``calibrate`` counts what each setting merges over every input melody (a whole
    file's for ``augment dedup`` and ``split``). From ``COUNT_FIRST`` distinct melodies it
    counts them without the pairs (with a mapper, the settings at once, this process taking
    the first) and searches only the winner: the same calibration and the same pairs, on
    corpus tunes with near copies, whichever probes the generator draws."""
    import numpy as np

    import augment.calibrate as calibrate_module
    from augment.calibrate import calibrate
    from augment.parallel import local_mapper
    from dataset_util import corpus, near_rich_melodies

    called: list[str] = []

    def counting(fn, items):  # type: ignore[no-untyped-def]
        called.append(f"{fn.__name__} x{len(items)}")
        return local_mapper(2)(fn, items)

    few = [m for _, m in corpus()[:120]]
    pooled = calibrate(few, np.random.default_rng(5), mapper=counting)
    assert pooled == calibrate(few, np.random.default_rng(5))
    assert called == []  # few melodies: no pool
    melodies = near_rich_melodies()
    for rng_seed in range(5):
        monkeypatch.setattr(calibrate_module, "COUNT_FIRST", 10**9)
        plain = calibrate(melodies, np.random.default_rng(rng_seed))
        monkeypatch.setattr(calibrate_module, "COUNT_FIRST", 2)
        for mapper in (None, counting):
            counted = calibrate(melodies, np.random.default_rng(rng_seed), mapper=mapper)
            assert counted == plain and plain.merged_melodies > 0
            assert plain.search is not None and counted.search is not None
            assert all(np.array_equal(getattr(plain.search, k), getattr(counted.search, k))
                       for k in "i j sim".split())
    # the counts were needed (settings tied on recall) and went through the pool
    assert called and set(called) <= {"merged_job x2", "merged_job x1"}


def test_calibration_tokens_made_at_once_equal_melody_by_melody(monkeypatch: pytest.MonkeyPatch) -> None:
    """Calibration tokenizes and keys the input melodies all at once when they lie on the
    tick grid (``batch_tokens``, ``invariant_digests``); melody by melody (off the grid) it
    finds the same: the same calibration, search and probes. Transposed copies share a key:
    the last one given is probed."""
    import numpy as np

    import augment.calibrate as calibrate_module
    from augment.calibrate import calibrate
    from augment.melody import transpose
    from augment.near import invariant_key
    from dataset_util import corpus

    melodies = [m for _, m in corpus()[:150]]
    melodies += [transpose(m, 7) for m in melodies[:30]]
    at_once = calibrate(melodies, np.random.default_rng(6), max_probe_melodies=400)
    keys, tok, last = calibrate_module._distinct(melodies, 6)
    assert all(last[invariant_key(m)] is m for m in melodies[150:])  # the copies came last
    monkeypatch.setattr(calibrate_module, "batch_tokens", lambda melodies: None)
    one_by_one = calibrate(melodies, np.random.default_rng(6), max_probe_melodies=400)
    assert at_once == one_by_one and at_once.probe_pairs > 100
    assert at_once.search is not None and one_by_one.search is not None
    assert at_once.search.digests == one_by_one.search.digests
    for k in ("i", "j", "sim"):
        assert np.array_equal(getattr(at_once.search, k), getattr(one_by_one.search, k))
    keys2, tok2, last2 = calibrate_module._distinct(melodies, 6)

    def texts(tok):  # type: ignore[no-untyped-def]
        return [[tok.vocab[t] for t in tok.row(k)] for k in range(len(tok))]
    assert keys2 == keys and last2 == last and texts(tok2) == texts(tok) and len(keys) > 100
    assert all(len(t) >= 6 for t in texts(tok))
    # In chunks of 7 melodies (each numbering its tokens its own way), a key met again in
    # a later chunk: the same.
    monkeypatch.undo()
    monkeypatch.setattr(calibrate_module, "DISTINCT_CHUNK", 7)
    keys3, tok3, last3 = calibrate_module._distinct(melodies, 6)
    assert keys3 == keys and last3 == last and texts(tok3) == texts(tok)
    in_chunks = calibrate(melodies, np.random.default_rng(6), max_probe_melodies=400)
    assert in_chunks == at_once and in_chunks.search is not None
    assert np.array_equal(in_chunks.search.i, at_once.search.i)


def test_values_sent_to_workers_come_back_equal() -> None:
    """Melody, Example, Message, Step and Key copy between processes through their own
    __reduce__: equal after the round trip, off-grid ticks (Fractions) and rests included."""
    import pickle
    from fractions import Fraction

    from augment.config import load_config
    from augment.melody import Melody
    from augment.pipeline import annotate_keys, expand_seed, read_seeds
    from augment.reprompt import seed_facts
    from dataset_util import example

    config = load_config(WIDE)
    seeds, _, _ = read_seeds([SEEDS], config.format, config.limits)
    seeds = [seed_facts(s) for s in annotate_keys(seeds[:6])]
    variants = [v for s in seeds for v in expand_seed(s, config, 3).passed]
    odd = Melody.from_pairs([[None, "1/5"], [60, Fraction(3, 10)], [61, 1]])
    values = [*seeds, *variants, example(odd), odd]
    back = pickle.loads(pickle.dumps(values))
    assert back == values and len(variants) > 20
    assert [type(t) for t in back[-1].ticks] == [type(t) for t in odd.ticks]
    assert any(v.key is not None for v in back) and any(v.steps for v in back)


def test_rejections_sent_between_processes_come_back_equal() -> None:
    """Rejected copies through its own __reduce__: every field comes back, compacted, set
    aside, with its example or with a source line."""
    import dataclasses
    import pickle

    from augment.config import load_config
    from augment.pipeline import Rejected, annotate_keys, expand_seed, read_seeds
    from augment.reprompt import seed_facts

    config = load_config(WIDE)
    seeds, _, _ = read_seeds([SEEDS], config.format, config.limits)
    seeds = [seed_facts(s) for s in annotate_keys(seeds[:6])]
    sent = [r for s in seeds for r in expand_seed(s, config, 3).rejected]
    whole = Rejected("checks", ["cadence: x", "span: y"], example=seeds[0])
    sent += [whole, whole.compact(), Rejected("read", ["invalid_json: x"], source="seeds.jsonl:3",
                                              text="{oops é", sort_key="", spooled=7)]
    back = pickle.loads(pickle.dumps(sent))
    assert len(sent) > 10 and back == sent
    names = [f.name for f in dataclasses.fields(Rejected)]
    assert [[getattr(r, n) for n in names] for r in back] == [[getattr(r, n) for n in names] for r in sent]
    assert any(r.line for r in back) and back[-1].spooled == 7 and back[-3].example == seeds[0]


def test_a_seed_runs_without_the_cyclic_collector_and_leaves_it_as_it_was(monkeypatch) -> None:
    """expand_seed pauses the cyclic garbage collector (its young objects live until the seed
    is done, and each collection walked them again) and gives it back as it found it, after
    an error too; the variants are the same either way."""
    import gc

    from augment import pipeline
    from augment.pipeline import annotate_keys, collection_paused, expand_seed, read_seeds
    from augment.reprompt import seed_facts

    config = load_config(WIDE)
    seeds, _, _ = read_seeds([SEEDS], config.format, config.limits)
    seed = seed_facts(annotate_keys(seeds[:1])[0])
    seen: list[bool] = []
    draw = pipeline.draw_variants

    def recording(*args, **kwargs):  # type: ignore[no-untyped-def]
        seen.append(gc.isenabled())
        return draw(*args, **kwargs)

    was_on = gc.isenabled()
    try:
        gc.enable()
        plain = [e.id for e in pipeline._expand_seed(seed, config, 3, None, None).passed]
        monkeypatch.setattr(pipeline, "draw_variants", recording)
        paused = [e.id for e in expand_seed(seed, config, 3).passed]
        assert seen == [False] and gc.isenabled()
        assert paused == plain and len(plain) > 10
        gc.disable()
        expand_seed(seed, config, 3)
        assert seen == [False, False] and not gc.isenabled()  # off stays off
        gc.enable()
        with pytest.raises(RuntimeError), collection_paused():
            assert not gc.isenabled()
            raise RuntimeError("a seed's error")
        assert gc.isenabled()
    finally:
        (gc.enable if was_on else gc.disable)()


def test_pool_processes_end_when_the_run_is_killed() -> None:
    """A run killed with SIGKILL (or by the OOM killer) leaves no pool process behind waiting
    for work and holding memory: each one ends when it sees its parent gone."""
    import os
    import signal
    import subprocess
    import sys
    from pathlib import Path

    from run_util import assert_all_end, living

    if not Path("/proc").is_dir():
        pytest.skip("needs /proc to see the pool's processes")
    code = (
        "import os, sys\n"
        "import numpy as np\n"
        "from augment.near import band_pairs\n"
        "from augment.parallel import local_pool\n"
        "with local_pool(3) as mapper:\n"
        "    list(mapper(band_pairs, [(np.zeros(3, dtype=np.uint64), np.arange(3))] * 6))\n"
        "    kids = [p for p in os.listdir('/proc') if p.isdigit() and\n"
        "            open(f'/proc/{p}/stat').read().rsplit(')', 1)[1].split()[1] == str(os.getpid())]\n"
        "    print(' '.join(kids), flush=True)\n"
        "    sys.stdin.read()\n")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent / "src")}
    run = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                           text=True, env=env)
    assert run.stdout is not None
    kids = [int(k) for k in run.stdout.readline().split()]
    assert len(kids) == 3, kids

    assert living(kids) == kids
    run.send_signal(signal.SIGKILL)
    run.wait()
    assert_all_end(kids)


def _examples_reachable(root: object) -> int:
    """How many ``Example`` objects can be reached from ``root`` through references (not
    through modules, classes or a module's globals: those hold no run's examples)."""
    import gc
    import sys
    import types

    from augment.example import Example

    module_globals = {id(m.__dict__) for m in list(sys.modules.values()) if m is not None}
    seen: set[int] = set()
    todo = [root]
    found = 0
    while todo:
        obj = todo.pop()
        if id(obj) in seen or id(obj) in module_globals or isinstance(obj, (type, types.ModuleType)):
            continue
        seen.add(id(obj))
        if isinstance(obj, Example):
            found += 1
            continue
        todo.extend(gc.get_referents(obj))
    return found


@pytest.mark.parametrize("workers", [1, 2])
def test_the_manifest_is_written_by_a_function_holding_none_of_the_runs_examples(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workers: int) -> None:
    """``_expand`` returns the function that writes the manifest (waiting, with a pool, for
    the files its processes write), so that the run's examples are freed on the way out
    while the pool still writes: that function must reach none of them, or they would stay
    until it is done. The files are those of an ordinary run."""
    import augment.pipeline as pipeline

    reached: list[int] = []
    real = pipeline._expand

    def spying(*args, **kwargs):  # type: ignore[no-untyped-def]
        finish = real(*args, **kwargs)
        reached.append(_examples_reachable(finish))
        return finish

    monkeypatch.setattr(pipeline, "_expand", spying)
    config = load_config(WIDE)
    result = expand([SEEDS], config, tmp_path / "out", workers=workers)
    assert reached == [0]
    assert result.counts["written_train"] > 1000 and (tmp_path / "out" / "manifest.json").is_file()
    assert set(result.manifest["files"]) == {"train.jsonl", "validation.jsonl", "test.jsonl",
                                             "lineage.jsonl", "rejected.jsonl"}
