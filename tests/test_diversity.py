"""The batch (numpy) melody metrics equal their definitions computed melody by melody."""

from __future__ import annotations

from collections import Counter
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from augment import diversity
from augment.melody import Melody
from dataset_util import example, seeds_from_corpus

ROOT = Path(__file__).resolve().parent.parent


def _ngrams(seq: list, n: int) -> set:
    return {tuple(seq[i:i + n]) for i in range(len(seq) - n + 1)}


def by_definition(melodies: list[Melody]) -> dict[str, float]:
    total = sum((m.pitch_class_histogram() for m in melodies), np.zeros(12))
    p = total[total > 0] / total.sum() if total.sum() else np.zeros(0)
    return {
        "pitch_class_entropy": float(-(p * np.log2(p)).sum()),
        "distinct_interval_3grams": len(set().union(*(_ngrams(list(m.intervals()), 3) for m in melodies))),
        "contour_variety": len(set().union(*(_ngrams([int(np.sign(i)) for i in m.intervals()], 5)
                                             for m in melodies))),
        "rhythm_variety": len(set().union(*(_ngrams([(p is None, d) for p, d in m.pairs()], 4)
                                            for m in melodies))),
    }


def _check(melodies: list[Melody]) -> None:
    examples = [example(m) for m in melodies]
    want = by_definition(melodies)
    report = diversity.diversity_report(examples)
    for name, value in want.items():
        got = diversity.METRICS[name](examples)
        if name == "pitch_class_entropy":  # float sums in another order
            assert abs(got - value) < 1e-9
        else:
            assert got == value, name
        assert report[name] == round(value, 4), name


def test_batch_metrics_equal_the_definitions_on_corpus_melodies() -> None:
    seeds = seeds_from_corpus(400)
    _check([s.melody for s in seeds])


durations = st.sampled_from([Fraction(1, 4), Fraction(1, 2), Fraction(1), Fraction(3, 2), Fraction(1, 3)])
events = st.lists(st.tuples(st.one_of(st.none(), st.integers(0, 127)), durations), min_size=1, max_size=12)


@settings(max_examples=150, deadline=None)
@given(st.lists(events, min_size=1, max_size=6))
def test_batch_metrics_equal_the_definitions_with_rests_leaps_and_short_melodies(
        melodies: list[list[tuple[int | None, Fraction]]]) -> None:
    _check([Melody.from_pairs(m) for m in melodies])


def features_by_definition(melodies: list[Melody]) -> np.ndarray:
    """``diversity.features`` written melody by melody, note by note."""
    ib, db = diversity.INTERVAL_BINS, diversity.DURATION_BINS
    rows = np.zeros((len(melodies), 12 + ib + db))
    for r, m in enumerate(melodies):
        rows[r, :12] = m.pitch_class_histogram()
        for step in m.intervals():
            rows[r, 12 + min(max(step, -12), 12) + 12] += 1
        for d in m.durations:
            rows[r, 12 + ib + int(np.clip(round(np.log2(float(d))), -4, 4)) + 4] += 1
    for lo, hi in ((0, 12), (12, 12 + ib), (12 + ib, rows.shape[1])):
        norm = np.linalg.norm(rows[:, lo:hi], axis=1, keepdims=True)
        rows[:, lo:hi] /= np.where(norm == 0, 1, norm)
    return rows / np.sqrt(3)


def test_feature_rows_equal_the_note_by_note_definition() -> None:
    melodies = [s.melody for s in seeds_from_corpus(300)]
    melodies.append(Melody.from_pairs([[None, 1], [60, "1/64"], [90, 16], [40, "3/2"], [None, "1/3"]]))
    melodies.append(Melody.from_pairs([[None, 1]]))
    fast = diversity.features([example(m) for m in melodies])
    assert np.array_equal(fast, features_by_definition(melodies))


def test_vendi_score_equals_the_kernel_definition() -> None:
    """exp(entropy of the eigenvalues of K/n) with K the n x n cosine kernel, computed as
    defined, against the score (which decomposes the 46 x 46 feature Gram matrix)."""
    seeds = seeds_from_corpus(300)
    for n in (1, 2, 30, 300):
        chosen = sorted(seeds, key=lambda e: e.id)[:n]
        x = features_by_definition([e.melody for e in chosen])
        eig = np.linalg.eigvalsh(x @ x.T / n)
        eig = eig[eig > 1e-12]
        assert abs(diversity.vendi_score(chosen) - float(np.exp(-(eig * np.log(eig)).sum()))) < 1e-9
    copies = [seeds[0]] * 20
    assert abs(diversity.vendi_score(copies) - 1.0) < 1e-9


def test_subset_of_flat_arrays_equals_arrays_of_the_subset() -> None:
    from augment.theory import MelodyArrays

    melodies = [s.melody for s in seeds_from_corpus(60)]
    melodies.insert(3, Melody.from_pairs([[None, "1/5"], [60, "3/10"]]))
    rows = [5, 0, 3, 59, 3]
    got, want = MelodyArrays.of(melodies).subset(rows), MelodyArrays.of([melodies[r] for r in rows])
    assert np.array_equal(got.pitches, want.pitches) and np.array_equal(got.starts, want.starts)
    assert np.array_equal(got.quarters, want.quarters)
    assert len(MelodyArrays.of(melodies).subset([])) == 0


def test_report_on_columns_equals_the_report_on_examples_and_survives_a_copy() -> None:
    """The form a pool computes the report in (``Columns``, sent by pickle) gives the same
    numbers as the examples themselves, metric by metric."""
    import pickle

    seeds = seeds_from_corpus(300)
    examples = [example(s.melody) for s in seeds[:150]] + list(seeds[150:])  # keys, prompts, families
    columns = diversity.Columns.of(examples)
    copied = pickle.loads(pickle.dumps(columns))
    assert diversity.report(copied) == diversity.diversity_report(examples)
    for name, metric in diversity.METRICS.items():
        assert metric(columns) == metric(examples), name
    assert len(columns.key_counts) > 3 and len(columns.prompts) > 3  # the columns carry real variety


def test_report_in_batches_equals_the_metrics_on_the_whole_set() -> None:
    """``report`` unpacks a few melodies at a time (memory on a big run); every melodic
    metric must still equal its function over all the melodies at once, packed or not,
    whatever the batch size (n-grams never cross melodies, so never cross batches)."""
    seeds = seeds_from_corpus(200)
    examples = [example(s.melody) for s in seeds[:100]] + list(seeds[100:])
    examples.insert(7, example(Melody.from_pairs([[None, "1/5"], [60, "3/10"], [62, "1/5"], [None, 1]])))
    columns = diversity.Columns.of(examples)
    whole = {name: round(metric(examples), 4) for name, metric in diversity.METRICS.items()}
    packed = diversity.Columns.of(examples[8:], columns.arrays.rows(8, len(examples)).pack())
    assert packed.arrays is not None and type(packed.arrays).__name__ == "PackedMelodies"
    whole_packed = {name: round(metric(examples[8:]), 4) for name, metric in diversity.METRICS.items()}
    for rows in (1, 7, 64, 10_000):
        assert diversity.report(columns, rows) == whole, rows
        assert diversity.report(packed, rows) == whole_packed, rows
    assert whole["rhythm_variety"] > 50 and whole["distinct_interval_3grams"] > 100


def test_distinct_runs_with_too_many_values_to_number() -> None:
    """Runs whose values cannot be numbered in 62 bits are compared as rows, batch by batch."""
    from augment.diversity import _distinct_ngrams, _DistinctRuns

    rng = np.random.default_rng(5)
    values = rng.integers(0, 3, 300) * 40_000  # base 80,001: 80,001^4 > 2^62
    owner = np.repeat(np.arange(30), 10)
    runs = _DistinctRuns(4, int(values.max()) + 1)
    assert runs.wide
    for lo in range(0, 300, 70):  # batches end inside melodies here only to test the merge
        hi = min(lo + 70, 300)
        runs.add(values[lo:hi], owner[lo:hi])
    pieces = [(lo, min(lo + 70, 300)) for lo in range(0, 300, 70)]
    want = len(set().union(*({tuple(values[i:i + 4]) for i in range(lo, hi - 3) if owner[i] == owner[i + 3]}
                             for lo, hi in pieces)))
    assert runs.count() == want
    assert _DistinctRuns(4, 10).count() == 0
    assert _distinct_ngrams(values, owner, 4) >= want  # whole melodies hold every batch's runs


def test_packed_melodies_subset_rows_and_join_equal_the_unpacked_ones() -> None:
    from augment.theory import MelodyArrays, PackedMelodies

    melodies = [s.melody for s in seeds_from_corpus(40)]
    parts = [MelodyArrays.of(melodies[:15]).pack(), MelodyArrays.of(melodies[15:]).pack()]
    joined = PackedMelodies.join(parts)
    assert isinstance(joined, PackedMelodies)
    whole = MelodyArrays.of(melodies)
    pairs = [(joined.unpack(), whole), (joined.subset([3, 39, 0]).unpack(), whole.subset([3, 39, 0])),
             (joined.rows(10, 20), whole.rows(10, 20)), (whole.rows(10, 20), whole.subset(range(10, 20)))]
    for got, want in pairs:
        assert np.array_equal(got.pitches, want.pitches) and np.array_equal(got.quarters, want.quarters)
        assert np.array_equal(got.starts, want.starts)
    off_grid = MelodyArrays.of([Melody.from_pairs([[60, "1/5"]])])
    mixed = PackedMelodies.join([parts[0], off_grid])  # one part not packable: joined unpacked
    assert isinstance(mixed, MelodyArrays) and len(mixed) == 16
    assert np.array_equal(mixed.quarters[-1:], [0.2])
    drained = list(parts)
    once = PackedMelodies.drain(drained)  # join that empties its list (a run holds each block once)
    assert drained == [] and isinstance(once, PackedMelodies)
    for a, b in ((once.pitches, joined.pitches), (once.ticks, joined.ticks), (once.starts, joined.starts)):
        assert np.array_equal(a, b) and a.dtype == b.dtype


def test_stored_melodies_are_mapped_from_files_and_travel_as_their_folder(tmp_path: Path) -> None:
    """A run with a local pool keeps its joined melodies in files its processes map: the same
    melodies, pickled as the folder's name (a report job carries no copy of them)."""
    import pickle

    from augment.diversity import Columns, report
    from augment.theory import MappedMelodies, MelodyArrays, MelodyRows

    melodies = [s.melody for s in seeds_from_corpus(60)]
    packed = MelodyArrays.of(melodies).pack()
    assert packed is not None
    mapped = packed.store(tmp_path / "melodies")
    # plain arrays over the files' mappings (np.memmap's own slicing runs Python code)
    assert isinstance(mapped, MappedMelodies) and type(mapped.ticks) is np.ndarray
    assert all(isinstance(a.base, np.memmap) and not a.flags.owndata
               for a in (mapped.pitches, mapped.ticks, mapped.starts))
    assert [mapped.melody(i) for i in range(len(melodies))] == melodies
    rows = MelodyRows(mapped, np.arange(0, 60, 3))
    sent = pickle.dumps(rows)
    assert len(sent) < 2_000 < len(pickle.dumps(MelodyRows(packed, rows.index)))
    back = pickle.loads(sent)
    assert isinstance(back.batch, MappedMelodies) and back.batch.folder == mapped.folder
    examples = seeds_from_corpus(60)
    assert report(Columns.of(examples, pickle.loads(pickle.dumps(mapped)))) == \
        report(Columns.of(examples, packed))


def test_melodies_stored_part_by_part_are_the_joined_ones_saved(tmp_path: Path) -> None:
    """A run appends its per-seed blocks of packed melodies to their files as they come
    (``theory.MelodyStore``): the files must be byte for byte what ``np.save`` writes of the
    joined arrays (``drain`` then ``store``), empty blocks included. From the first block
    that is not packed, every block is joined in memory instead, those written read back;
    with no folder, all are."""
    from augment.melody import GridArrays
    from augment.theory import MappedMelodies, MelodyArrays, MelodyStore, PackedMelodies

    melodies = [s.melody for s in seeds_from_corpus(40)]
    # a seed none of whose variants passed: no event packs too (else the run's melodies
    # would all stay unpacked, in memory)
    empty = MelodyArrays.of([]).pack()
    assert isinstance(empty, PackedMelodies) and len(empty) == 0
    from_grid = PackedMelodies.of_grid(GridArrays.of([]))
    assert isinstance(from_grid, PackedMelodies) and len(from_grid) == 0
    blocks: list = [MelodyArrays.of(melodies[a:b]).pack() for a, b in ((0, 7), (7, 30), (30, 40))]
    blocks.insert(1, empty)
    assert all(isinstance(b, PackedMelodies) for b in blocks)
    joined = PackedMelodies.drain(list(blocks)).store(tmp_path / "joined")

    def store(parts: list, folder: Path | None):  # type: ignore[no-untyped-def]
        kept = MelodyStore(folder)
        for part in parts:
            kept.add(part)
        return kept.finish()

    for parts in (blocks, [empty, *blocks, empty], [empty]):
        mapped = store(parts, tmp_path / "parts")
        assert isinstance(mapped, MappedMelodies)
        want = PackedMelodies.drain(list(parts)).store(tmp_path / "want")
        for name in ("pitches", "ticks", "starts"):
            assert (tmp_path / "parts" / f"{name}.npy").read_bytes() == \
                (tmp_path / "want" / f"{name}.npy").read_bytes()
        assert [mapped.melody(i) for i in range(len(mapped))] == [want.melody(i) for i in range(len(want))]
    mapped = store(blocks, tmp_path / "parts")
    for name in ("pitches", "ticks", "starts"):
        assert (tmp_path / "parts" / f"{name}.npy").read_bytes() == \
            (tmp_path / "joined" / f"{name}.npy").read_bytes()
    assert [mapped.melody(i) for i in range(len(melodies))] == melodies == \
        [joined.melody(i) for i in range(len(melodies))]
    # A block not packed first, in the middle (the blocks before it read back) or last.
    unpacked = MelodyArrays.of(melodies[:5])
    for parts in ([unpacked, blocks[2]], [blocks[0], blocks[1], unpacked, blocks[2]], [*blocks, unpacked]):
        folder = tmp_path / f"mixed {len(parts)}"
        in_memory = store(parts, folder)
        assert type(in_memory) is MelodyArrays and not list(folder.glob("*.npy"))
        want_melodies = [m for part in parts for m in (part.melody(i) for i in range(len(part)))]
        assert [in_memory.melody(i) for i in range(len(in_memory))] == want_melodies
    in_memory = store(blocks, None)
    assert type(in_memory) is PackedMelodies
    assert [in_memory.melody(i) for i in range(len(in_memory))] == melodies


def _resident_kb(path: Path) -> int:
    """Resident kilobytes of this process's mappings of ``path`` (Linux /proc/self/smaps)."""
    total, inside = 0, False
    for line in Path("/proc/self/smaps").read_text().splitlines():
        fields = line.split()
        if "-" in fields[0] and len(fields) >= 5:  # a mapping's header line
            inside = fields[-1] == str(path)
        elif inside and fields[0] == "Rss:":
            total += int(fields[1])
    return total


@pytest.mark.skipif(not Path("/proc/self/smaps").exists(), reason="reads Linux /proc/self/smaps")
def test_mapped_melodies_give_back_the_pages_read(tmp_path: Path) -> None:
    """``MappedMelodies.release`` unmaps what a pass read (a million melodies' report kept
    ~250 MB resident in its worker); the melodies read the same afterwards."""
    from augment import theory
    from augment.theory import MelodyArrays

    melodies = [s.melody for s in seeds_from_corpus(40)] * 250  # ~10,000 melodies
    packed = MelodyArrays.of(melodies).pack()
    assert packed is not None
    mapped = packed.store(tmp_path / "melodies")
    ticks = (tmp_path / "melodies" / "ticks.npy").resolve()
    assert int(mapped.ticks.sum()) == int(packed.ticks.sum())  # a pass over every tick
    assert _resident_kb(ticks) > mapped.ticks.nbytes // 2048
    mapped.release()
    assert _resident_kb(ticks) == 0
    assert [mapped.melody(i) for i in (0, 5_000, len(melodies) - 1)] == \
        [melodies[0], melodies[5_000], melodies[-1]]
    # reads by row give back what they touched; single melodies every RELEASE_EVERY reads
    rows = np.arange(0, len(melodies), 97)
    assert mapped.subset(rows).unpack().melody(3) == melodies[3 * 97]
    assert _resident_kb(ticks) == 0
    assert mapped.rows(100, 9_000).melody(0) == melodies[100] and _resident_kb(ticks) == 0
    mapped.release()
    for i in range(theory.RELEASE_EVERY - mapped.reads[0] % theory.RELEASE_EVERY - 1):
        assert mapped.melody(i * 300) == melodies[i * 300]
    assert _resident_kb(ticks) > 0
    assert mapped.melody(7) == melodies[7] and _resident_kb(ticks) == 0


@given(st.lists(st.integers(0, 120), max_size=60), st.sampled_from([0, 2, 4096]))
@settings(max_examples=60, deadline=None)
def test_subset_of_mapped_melodies_read_from_files_equals_the_packed_subset(rows: list[int],
                                                                           threshold: int) -> None:
    """Rows in few runs of adjacent ones are read from the files (``os.preadv``), others
    through the mapping (``READ_RUNS`` runs at most): either way the packed subset, in the
    order asked, repeated rows and empty melodies included."""
    import tempfile

    from augment import theory
    from augment.theory import MelodyArrays

    melodies = [s.melody for s in seeds_from_corpus(40)] * 3
    packed = MelodyArrays.of(melodies).pack()
    assert packed is not None
    # an empty melody among them: its span is empty
    packed = theory.PackedMelodies(packed.pitches, packed.ticks, np.r_[packed.starts[:8], packed.starts[7:]])
    with tempfile.TemporaryDirectory() as folder:
        mapped = packed.store(Path(folder) / "melodies")
        before = theory.READ_RUNS
        theory.READ_RUNS = threshold
        try:
            got = mapped.subset(rows)
        finally:
            theory.READ_RUNS = before
        want = packed.subset(rows)
        for a, b in ((got.pitches, want.pitches), (got.ticks, want.ticks), (got.starts, want.starts)):
            assert np.array_equal(a, b) and a.dtype == b.dtype


@pytest.mark.skipif(not Path("/proc/self/smaps").exists(), reason="reads Linux /proc/self/smaps")
def test_scattered_rows_of_mapped_melodies_are_read_not_mapped(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """The few scattered melodies ``vendi_score`` scores map nothing of the ticks file (through
    the mapping, each mapped the page-cache folio around it: at a million melodies, the whole
    files at once); above ``READ_RUNS`` runs they are read through the mapping."""
    from augment import theory
    from augment.theory import MappedMelodies, MelodyArrays

    melodies = [s.melody for s in seeds_from_corpus(40)] * 250  # ~10,000 melodies
    packed = MelodyArrays.of(melodies).pack()
    assert packed is not None
    mapped = packed.store(tmp_path / "melodies")
    ticks = (tmp_path / "melodies" / "ticks.npy").resolve()
    mapped.release()
    monkeypatch.setattr(MappedMelodies, "release", lambda self: None)  # to see what stays mapped
    rows = np.linspace(0, len(melodies) - 1, 400).astype(int)
    read = mapped.subset(rows)
    assert _resident_kb(ticks) == 0
    monkeypatch.setattr(theory, "READ_RUNS", 100)
    through_mapping = mapped.subset(rows)
    assert _resident_kb(ticks) > 0
    assert np.array_equal(read.ticks, through_mapping.ticks) and read.unpack().melody(5) == melodies[rows[5]]


def test_drained_concatenates_and_lets_go_of_each_part() -> None:
    import weakref

    from augment import ragged

    class Rows(np.ndarray):  # a plain ndarray cannot be weakly referenced
        pass

    parts = [np.arange(6, dtype=np.uint32).reshape(3, 2).view(Rows), np.full((2, 2), 7, np.uint32).view(Rows)]
    want = np.concatenate(parts)
    gone = [weakref.ref(p) for p in parts]
    got = ragged.drained(parts)
    assert parts == [] and all(ref() is None for ref in gone)
    assert np.array_equal(got, want) and got.dtype == np.uint32 and got.shape == (5, 2)


def test_report_on_rows_of_a_batch_equals_the_report_on_their_copy() -> None:
    """The written melodies go to the report as rows of the run's batch (``MelodyRows``,
    not copied out); every metric equals the one on the copied subset, sent to another
    process or not, in batches or whole."""
    import pickle

    from augment.theory import MelodyArrays, MelodyRows

    seeds = seeds_from_corpus(120)
    examples = [example(s.melody) for s in seeds[:60]] + list(seeds[60:])
    batch = MelodyArrays.of([e.melody for e in examples])
    rows = np.array([5, 0, 77, 3, 119, 42, *range(80, 100)], dtype=np.int64)
    chosen = [examples[i] for i in rows.tolist()]
    for packed in (batch, batch.pack()):
        assert packed is not None
        view = diversity.Columns.of(chosen, MelodyRows(packed, rows))
        copy = diversity.Columns.of(chosen, packed.subset(rows))
        want = diversity.report(copy)
        assert want == diversity.diversity_report(chosen)
        assert diversity.report(view) == want and diversity.report(view, 4) == want
        assert diversity.report(pickle.loads(pickle.dumps(view))) == want
        assert len(view.arrays) == len(rows)


def test_distinct_durations_counted_from_ticks_equal_the_sorted_ones(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from augment.diversity import _durations
    from augment.theory import MelodyArrays, MelodyRows, PackedMelodies

    for chunk in (1 << 20, 2):  # ticks marked all at once, or two at a time
        monkeypatch.setattr(diversity, "MARK_CHUNK", chunk)
        # small ticks; huge ones first; a huge one after small ones were marked
        for ticks in ([48, 12, 48, 7, 96], [1 << 25, 48, 1 << 25, 3], [48, 12, 48, 7, 1 << 25]):
            packed = PackedMelodies(np.array([60, -1, 62, 64, 65], dtype=np.int8),
                                    np.array(ticks, dtype=np.int32), np.array([0, 2, 5]))
            want = np.unique(packed.unpack().quarters)
            assert np.array_equal(_durations(packed, [(0, 2)]), want)
            # rows of the batch: the batch's durations, a superset of the rows' own
            assert np.array_equal(_durations(MelodyRows(packed, np.array([1])), [(0, 1)]), want)
            assert np.array_equal(_durations(packed.unpack(), [(0, 1), (1, 2)]), want)
    corpus = MelodyArrays.of([s.melody for s in seeds_from_corpus(200)])
    real = corpus.pack()
    assert real is not None
    monkeypatch.setattr(diversity, "MARK_CHUNK", 1000)  # many chunks over real durations
    assert np.array_equal(_durations(real, [(0, len(real))]), np.unique(corpus.quarters))


def test_report_columns_hold_each_examples_key_name_mode_and_prompt() -> None:
    """``Columns.of`` takes names by key object and prompts from the message before the
    answer when it is the user's: the same as ``key.name`` and ``prompt`` of each example,
    also for unknown keys, no prompt, and a note between the prompt and the answer."""
    import pickle
    from dataclasses import replace

    from augment.diversity import ColumnCodes, Columns
    from augment.example import Message
    from augment.theory import Key

    examples = list(seeds_from_corpus(30))
    first = examples[0]
    examples += [replace(first, key=None), replace(first, key=Key(first.key.tonic, first.key.mode)),
                 replace(first, messages=(Message("assistant", "x"),), melody_index=0),
                 replace(first, messages=(Message("user", "the prompt"), Message("system", "a note"),
                                          first.messages[1]), melody_index=2)]
    columns = Columns.of(examples)
    assert columns.key_counts == Counter(e.key.name if e.key else "?" for e in examples)
    assert list(columns.key_counts) == list(dict.fromkeys(e.key.name if e.key else "?" for e in examples))
    assert columns.mode_counts == Counter(e.key.mode if e.key else "?" for e in examples)
    assert columns.prompts == tuple(dict.fromkeys(e.prompt or "" for e in examples))
    assert columns.prompts[-2:] == ("", "the prompt") and columns.key_counts["?"] == 1
    assert columns.family_counts == Counter(e.seed_id for e in examples)
    assert columns.id_order.tolist() == sorted(range(len(examples)), key=lambda k: examples[k].id)
    assert len(columns) == len(examples) and len(Columns.of([])) == 0
    for sent in (columns, Columns.of([])):  # as a report's process receives them
        back = pickle.loads(pickle.dumps(sent))
        assert back.key_counts == sent.key_counts and np.array_equal(back.id_order, sent.id_order)
    # The columns of some of them by position (a run's written examples among its
    # candidates) count the same, in the order first met among those.
    codes = ColumnCodes.of(examples)
    rng = np.random.default_rng(4)
    for size in (0, 1, 5, 20, len(examples)):
        at = rng.permutation(len(examples))[:size]
        some = [examples[k] for k in at.tolist()]
        order = np.argsort([e.id for e in some], kind="stable")
        part = codes.columns(order, columns.arrays.subset(at), at)
        names = [e.key.name if e.key else "?" for e in some]
        modes = [e.key.mode if e.key else "?" for e in some]
        assert list(part.key_counts.items()) == list(Counter(names).items())
        assert list(part.mode_counts.items()) == list(Counter(modes).items())
        assert part.prompts == tuple(dict.fromkeys(e.prompt or "" for e in some))
        assert list(part.family_counts.items()) == list(Counter(e.seed_id for e in some).items())
        assert part.id_order is order and len(part) == size
    with pytest.raises(ValueError, match="id order given"):
        codes.columns(columns.id_order[1:], columns.arrays)


def test_report_columns_stay_small_for_many_variants_of_few_seeds() -> None:
    """What a pool is sent for the report grows by an example's id (~17 bytes), not by
    a list entry per column: 20 seeds' variants pickle (melodies aside) in less than their
    ids plus their distinct prompts and a few kilobytes, and report as the examples do."""
    import pickle
    from dataclasses import replace

    from augment.config import load_config
    from augment.diversity import Columns
    from augment.pipeline import draw_variants
    from augment.theory import MelodyArrays

    config = load_config(ROOT / "rules" / "wide.toml")
    config = replace(config, expand=replace(config.expand, variants_per_seed=150))
    examples = [v for s in seeds_from_corpus(20) for v in draw_variants(s, config, 0, Counter())]
    assert len(examples) > 2000
    columns = Columns.of(examples)
    distinct = sum(len(x) for x in columns.prompts)
    size = len(pickle.dumps(replace(columns, arrays=MelodyArrays.of([]))))
    assert size < 18 * len(examples) + distinct + 5_000
    assert diversity.report(columns) == diversity.diversity_report(examples)


@pytest.mark.parametrize("pair_numbers", [1 << 12, 40])  # the bitmap, or numbers past 40 halves
def test_distinct_runs_by_numbered_halves_equal_the_definition(monkeypatch, pair_numbers: int) -> None:
    """Runs of an even length with too many possible numbers for one bitmap but few halves
    (4-grams of a corpus's durations, ranked among many) are counted by their halves'
    numbers: the same count as the runs themselves, in batches that end between melodies,
    and after the halves outgrow the bitmap."""
    from augment import ragged
    from augment.diversity import _DistinctRuns
    from augment.theory import MelodyArrays

    monkeypatch.setattr(diversity, "PAIR_NUMBERS", pair_numbers)
    arrays = MelodyArrays.of([s.melody for s in seeds_from_corpus(300)])
    owner = ragged.owners(arrays.starts)
    values = np.searchsorted(np.unique(arrays.quarters), arrays.quarters) * 2 + (arrays.pitches < 0)
    base = 200  # as if 100 durations: 200^4 > 2^24, 200^2 <= 2^20
    runs = _DistinctRuns(4, base)
    assert not runs.small and not runs.wide and len(runs.half_number) == base ** 2
    # (a first melody alone: its runs are marked before the halves outgrow a small bitmap)
    cuts = [0] + [int(arrays.starts[i]) for i in range(1, 301, 37)] + [len(values)]
    for lo, hi in zip(cuts[:-1], cuts[1:], strict=True):
        runs.add(values[lo:hi], owner[lo:hi])
    want = {tuple(values[i:i + 4]) for i in range(len(values) - 3) if owner[i] == owner[i + 3]}
    assert runs.count() == len(want) > 200
    assert runs.paired == (pair_numbers > 100)  # a corpus's duration pairs: more than 40
    first = _DistinctRuns(4, base)
    first.add(values[:cuts[1]], owner[:cuts[1]])
    assert first.paired and first.count() > 0  # (the first melody's halves fit in 40)
    assert _DistinctRuns(4, base).count() == 0
    assert not len(_DistinctRuns(4, 1100).half_number)  # a table past 8 MB: sorted instead


def test_reports_of_candidates_and_their_written_rows_equal_the_two_reports(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A run's two reports come from one job (``reports``): the written melodies are rows of
    the candidates' packed batch, so one pass over the batch counts both sets. Each report
    equals ``report`` of its own columns, rows in any order, in batches or whole, sent to
    another process (one pickle: the rows still point at that batch) or not; and the one
    pass is what ran. Rows taken twice, or unpacked melodies, get a report each."""
    import pickle

    from augment.theory import MelodyArrays, MelodyRows

    seeds = seeds_from_corpus(240)
    examples = [example(s.melody) for s in seeds[:120]] + list(seeds[120:])
    examples.insert(3, example(Melody.from_pairs([[None, "1/4"], [60, "3/4"], [62, 2], [None, 1]])))
    unpacked = MelodyArrays.of([e.melody for e in examples])
    packed = unpacked.pack()
    assert packed is not None
    rng = np.random.default_rng(3)
    rows = rng.permutation(len(examples))[:200]  # most of them, in no order (as written: by id)
    chosen = [examples[i] for i in rows.tolist()]
    passes: list[int] = []
    one_pass = diversity._melody_metrics_of

    def counted(arrays, rows, sets):  # noqa: ANN001, ANN202
        passes.append(len(sets))
        return one_pass(arrays, rows, sets)
    monkeypatch.setattr(diversity, "_melody_metrics_of", counted)
    for batch_rows in (7, 64, 10_000):
        before = diversity.Columns.of(examples, packed)
        after = diversity.Columns.of(chosen, MelodyRows(packed, rows))
        want = (diversity.report(before, batch_rows),
                diversity.report(diversity.Columns.of(chosen, packed.subset(rows)), batch_rows))
        assert want[1] != want[0]  # (the sets differ in what the reports count)
        assert want[1] == diversity.report(after, batch_rows)
        passes.clear()
        assert diversity.reports((before, after), batch_rows) == want
        assert passes == [2]  # one pass, both sets
        sent = pickle.loads(pickle.dumps((before, after)))
        passes.clear()
        assert diversity.reports(sent, batch_rows) == want
        assert passes == [2]
    # rows taken twice, or melodies not packed: each set its own pass, the same reports
    twice = np.r_[rows, rows[:5]]
    again = [examples[i] for i in twice.tolist()]
    for before, after in ((diversity.Columns.of(examples, packed),
                           diversity.Columns.of(again, MelodyRows(packed, twice))),
                          (diversity.Columns.of(examples, unpacked),
                           diversity.Columns.of(chosen, MelodyRows(unpacked, rows)))):
        want = (diversity.report(before), diversity.report(after))
        passes.clear()
        assert diversity.reports((before, after)) == want
        assert passes == [1, 1]
    # the melody metrics of each set from one pass equal those of the set's own melodies
    held = np.zeros(len(examples), dtype=bool)
    held[rows] = True
    few = np.zeros(len(examples), dtype=bool)
    few[[0, 3, 50]] = True
    both = one_pass(packed, 64, [None, held, few])
    assert both == [one_pass(packed.subset(np.flatnonzero(s)), 64, [None])[0]
                    for s in (held | True, held, few)]


@pytest.mark.parametrize("pair_numbers", [1 << 12, 60])
def test_distinct_runs_of_several_sets_equal_those_counted_apart(monkeypatch, pair_numbers: int) -> None:
    """Counted at once, each set's runs (marked apart, from numbers shared by all the
    melodies) are those of the set counted alone: in a bitmap, by numbered halves (before
    and after they outgrow the bitmap), by their numbers, and as rows."""
    from augment import ragged
    from augment.diversity import _DistinctRuns
    from augment.theory import MelodyArrays

    monkeypatch.setattr(diversity, "PAIR_NUMBERS", pair_numbers)
    arrays = MelodyArrays.of([s.melody for s in seeds_from_corpus(200)])
    owner = ragged.owners(arrays.starts)
    durations = np.searchsorted(np.unique(arrays.quarters), arrays.quarters) * 2 + (arrays.pitches < 0)
    rng = np.random.default_rng(11)
    sets = [rng.random(200) < share for share in (0.9, 0.5, 0.05)]
    cuts = [0] + [int(arrays.starts[i]) for i in range(1, 200, 23)] + [len(owner)]
    for n, values, base in ((3, arrays.pitches % 12, 12),  # bitmap
                            (4, durations, 200),  # halves (200^4 > 2^24, 200^2 <= 2^20)
                            (3, durations, 1100),  # numbers, kept (1100^2 > 2^20)
                            (4, durations * 40_000, 80_001 * 200)):  # rows (> 2^62)
        together = _DistinctRuns(n, base, len(sets) + 1)
        apart = [_DistinctRuns(n, base) for _ in sets]
        for lo, hi in zip(cuts[:-1], cuts[1:], strict=True):
            batch_owner = owner[lo:hi] - owner[lo]
            within = [None] + [s[owner[lo]:owner[hi - 1] + 1] for s in sets]
            together.add(values[lo:hi], batch_owner, within)
            for runs, s in zip(apart, sets, strict=True):
                keep = s[owner[lo:hi]]
                runs.add(values[lo:hi][keep], batch_owner[keep])
        alone = _DistinctRuns(n, base)
        for lo, hi in zip(cuts[:-1], cuts[1:], strict=True):
            alone.add(values[lo:hi], owner[lo:hi] - owner[lo])
        counts = [together.count(k) for k in range(len(sets) + 1)]
        assert counts == [alone.count(), *(runs.count() for runs in apart)], (n, base)
        assert counts[0] > counts[1] > counts[2] > counts[3] > 0, (n, base)
    with pytest.raises(ValueError, match="2 sets given"):
        _DistinctRuns(3, 12).add(np.arange(6) % 12, np.zeros(6, dtype=np.int64), [None, None])


def test_columns_report_by_the_id_order_they_are_given(monkeypatch: pytest.MonkeyPatch) -> None:
    """A report's columns carry their id order (a run's: ``dedup`` and ``build_splits`` know
    it); the vendi score picks its evenly spaced melodies by that order, sorts no ids, and
    says what it says of the examples themselves, here or after a pickle."""
    import pickle

    from augment import ragged

    examples = list(seeds_from_corpus(600))  # more than vendi_score's 400: it picks by id
    want = diversity.diversity_report(examples)
    order = ragged.text_order([e.id for e in examples])
    arrays = diversity.Columns.of(examples).arrays
    sorts: list[int] = []
    monkeypatch.setattr(ragged, "text_order", lambda ids: sorts.append(len(ids)) or order)
    given = diversity.ColumnCodes.of(examples).columns(order, arrays)
    for columns in (given, pickle.loads(pickle.dumps(given))):
        assert diversity.report(columns) == want and len(columns) == len(examples)
    assert sorts == []
    # the order given is the one read: another one picks other melodies
    other = diversity.ColumnCodes.of(examples).columns(order[::-1][np.r_[1:len(order), 0]], arrays)
    assert round(diversity.vendi_score(other), 4) != want["vendi_score"]


def _both_ways(monkeypatch: pytest.MonkeyPatch, packed, sets: list) -> tuple[list, list]:  # noqa: ANN001
    """``_melody_metrics_of`` of packed melodies by the numpy pass and by the compiled one
    (checked to have run, not declined)."""
    ran = []
    compiled = diversity._compiled_metrics

    def spied(*args):  # noqa: ANN002, ANN202
        got = compiled(*args)
        ran.append(got is not None)
        return got
    monkeypatch.setattr(diversity, "_compiled_metrics", spied)
    monkeypatch.setattr(diversity, "_compiled_pays", lambda arrays: False)
    by_numpy = diversity._melody_metrics_of(packed, 64, sets)
    assert ran == []
    monkeypatch.setattr(diversity, "_compiled_pays", lambda arrays: True)
    by_loop = diversity._melody_metrics_of(packed, 64, sets)
    assert ran == [True]
    return by_numpy, by_loop


def test_the_compiled_pass_counts_what_the_numpy_pass_counts(monkeypatch: pytest.MonkeyPatch) -> None:
    """A big run's processes have numba loaded, and count the melody metrics of packed
    melodies in one compiled pass over their events (``_runs_loop``): the same values as
    the numpy pass, for every set at once (all, most, a few, none), on corpus melodies and
    melodies with rests, leaps of the whole range and fewer notes than a run; the numpy
    pass when the rhythm runs are too many for the loop's bitmaps."""
    from augment.theory import MelodyArrays

    melodies = [s.melody for s in seeds_from_corpus(300)]
    melodies[5:5] = [Melody.from_pairs(m) for m in (
        [[0, 1], [127, "1/3"], [0, "1/2"], [127, 2], [None, 1], [64, "1/4"], [63, "1/4"]],  # the widest leaps
        [[None, 1], [None, "1/2"]], [[60, 1]], [[60, 1], [62, 1], [None, 1], [64, 1]])]
    packed = MelodyArrays.of(melodies).pack()
    assert packed is not None
    rng = np.random.default_rng(5)
    most = rng.random(len(melodies)) < 0.9
    few = np.zeros(len(melodies), dtype=bool)
    few[[5, 6, 7, 8, 40]] = True
    sets = [None, most, few, np.zeros(len(melodies), dtype=bool)]
    by_numpy, by_loop = _both_ways(monkeypatch, packed, sets)
    assert by_loop == by_numpy
    assert by_loop[0] != by_loop[1] != by_loop[2] and by_loop[3]["rhythm_variety"] == 0
    want = by_definition(melodies)
    assert {k: v for k, v in by_loop[0].items() if k != "pitch_class_entropy"} == \
        {k: v for k, v in want.items() if k != "pitch_class_entropy"}
    assert abs(by_loop[0]["pitch_class_entropy"] - want["pitch_class_entropy"]) < 1e-9
    monkeypatch.setattr(diversity, "MAX_RHYTHM_BITS", 1000)  # too many rhythm runs: numpy
    monkeypatch.setattr(diversity, "_compiled_pays", lambda arrays: True)
    assert diversity._melody_metrics_of(packed, 64, sets) == by_numpy


grid_durations = st.sampled_from([Fraction(1, 4), Fraction(1, 2), Fraction(1), Fraction(3, 2), Fraction(1, 3),
                                  Fraction(1, 12), Fraction(7, 4)])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.tuples(st.one_of(st.none(), st.integers(0, 127)), grid_durations),
                         min_size=1, max_size=14), min_size=1, max_size=8),
       st.lists(st.booleans(), min_size=8, max_size=8))
def test_the_compiled_pass_equals_the_numpy_pass_on_random_melodies(
        melodies: list[list[tuple[int | None, Fraction]]], chosen: list[bool]) -> None:
    from augment.theory import MelodyArrays

    packed = MelodyArrays.of([Melody.from_pairs(m) for m in melodies]).pack()
    assert packed is not None
    with pytest.MonkeyPatch.context() as monkeypatch:
        by_numpy, by_loop = _both_ways(monkeypatch, packed, [None, np.array(chosen[:len(melodies)])])
    assert by_loop == by_numpy
