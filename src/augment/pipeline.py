"""expand(): seeds -> read -> facts -> rules -> re-prompt -> checks -> dedup -> split -> write.

Every stage is a plain function over values; this module only wires them. Nothing here
knows about the command line.
"""

from __future__ import annotations

import gc
import json
import platform
import tempfile
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager, nullcontext, suppress
from dataclasses import asdict, dataclass, field, replace
from functools import lru_cache, partial
from importlib.metadata import PackageNotFoundError, version
from itertools import chain, repeat
from operator import attrgetter
from pathlib import Path
from typing import Any, Literal, cast, overload

import numpy as np

from . import ragged
from .checks import run_checks
from .checks_batch import run_checks_batch
from .codec import FormatConfig, example_to_line, format_melodies, read_examples
from .config import Config
from .dataset import build_splits, plan_splits
from .dedup import PrintBlock, PrintTable, RowMelodies, fingerprints
from .diversity import ColumnCoder
from .drawing import draw_variants
from .errors import AugmentError, Finding
from .example import Example, Message, Step
from .heap import HeapTrimmer, release_free_memory
from .limits import DEFAULT_LIMITS, Limits
from .melody import GridArrays, Melody
from .near import NearParams, load_compiled
from .output import (
    Spool,
    SpooledFile,
    append_texts,
    begin_output,
    dumps,
    pack_texts,
    remove_temporary,
    write_atomic,
    write_manifest,
    write_spooled,
)
from .parallel import Mapper, check_workers, local_pool
from .progress import SILENT, Progress
from .prompt import stated_key
from .reprompt import reprompt, seed_facts
from .split import SPLITS
from .theory import Key, MelodyArrays, MelodyStore, ModeName, PackedMelodies, detect_keys

OnError = Literal["fail", "skip"]


@dataclass(slots=True)
class Rejected:
    """A line or example set aside, with why. ``compact()`` keeps only what the rejects
    file and the counts need (the JSON line), not the example: a big run holds many, and
    moves their lines to disk (``set_aside``: ``spooled`` is then the line's entry there)."""

    stage: str
    reasons: list[str]
    example: Example | None = None
    source: str | None = None
    text: str | None = None
    sort_key: str = ""  # the example id; "" for a line that never parsed (kept in input order)
    line: str | None = None  # the record as written, once compacted
    spooled: int | None = None

    def __reduce__(self) -> tuple[object, ...]:
        # A million-example run's pool sends ~175,000 rejections to its main process: as
        # constructor arguments they are written in 3.4 against 6.7 us and read back in 1.4
        # against 3.0 us (a rejection of the checks set aside; as ``Example``'s).
        return (Rejected, (self.stage, self.reasons, self.example, self.source, self.text,
                           self.sort_key, self.line, self.spooled))

    def record(self, example_line: str | None = None) -> dict[str, Any]:
        """The record; ``example_line``: the example's output line when made earlier (a slim
        example's, ``slim``)."""
        rec: dict[str, Any] = {"stage": self.stage, "reasons": self.reasons}
        if self.example is not None:
            rec.update(id=self.example.id, seed_id=self.example.seed_id, source=self.example.source,
                       rules=[s.as_dict() for s in self.example.steps],
                       line=example_line if example_line is not None else example_to_line(self.example))
        else:
            rec.update(source=self.source, text=self.text)
        return rec

    def set_aside(self, spool: Spool) -> Rejected:
        """This rejection with its line kept in ``spool`` (a width-1 spool of the run's
        rejects) instead of in memory."""
        return Rejected.set_all_aside([self], spool)[0]

    @staticmethod
    def set_all_aside(rejected: Sequence[Rejected], spool: Spool) -> list[Rejected]:
        """``set_aside`` of each, their lines added to ``spool`` in one block (a seed's
        rejections: one write, not one each)."""
        block, sizes, aside = Rejected.packed(rejected)
        return Rejected.placed(aside, spool.add_block(block, sizes))

    @staticmethod
    def packed(rejected: Sequence[Rejected]) -> tuple[bytes, np.ndarray, list[Rejected]]:
        """Their lines as one block for a width-1 spool (``pack_texts``), and each rejection
        without its line, ``spooled`` numbering its line from 0 in the block (``placed``
        numbers them from the block's first entry once it is kept)."""
        block, sizes = pack_texts(((r.as_line(),) for r in rejected), 1)
        return block, sizes, [Rejected(r.stage, r.reasons, sort_key=r.key(), spooled=k)
                              for k, r in enumerate(rejected)]

    @staticmethod
    def placed(aside: list[Rejected], first: int) -> list[Rejected]:
        """``aside`` (``packed``'s) numbered from spool entry ``first``, where their block is."""
        for r in aside:
            r.spooled = first + cast(int, r.spooled)
        return aside

    def compact(self, example_line: str | None = None) -> Rejected:
        return Rejected(self.stage, self.reasons, sort_key=self.key(),
                        line=self.line if self.line is not None else self._record_json(example_line))

    def _record_json(self, example_line: str | None) -> str:
        """``dumps(self.record(example_line))``, written out here (keys in sorted order) for an
        example's rejection whose fields are str and whose steps ``_steps_json`` writes."""
        e = self.example
        if e is not None and type(self.stage) is str and all(type(r) is str for r in self.reasons) \
                and type(e.id) is str and type(e.seed_id) is str and type(e.source) is str:
            rules = _steps_json(e.steps)
            if rules is not None:
                q = _json_str
                line = example_line if example_line is not None else example_to_line(e)
                reasons = ", ".join(map(q, self.reasons))
                return (f'{{"id": {q(e.id)}, "line": {q(line)}, "reasons": [{reasons}], '
                        f'"rules": {rules}, "seed_id": {q(e.seed_id)}, "source": {q(e.source)}, '
                        f'"stage": {q(self.stage)}}}')
        return dumps(self.record(example_line))

    def key(self) -> str:
        return self.example.id if self.example is not None else self.sort_key

    def as_line(self) -> str:
        return self.line if self.line is not None else dumps(self.record())


@dataclass
class RunResult:
    out_dir: Path
    counts: Counter[str] = field(default_factory=Counter)
    files: dict[str, str] = field(default_factory=dict)
    warnings: list[Finding] = field(default_factory=list)
    manifest: dict[str, Any] = field(default_factory=dict)


def read_seeds(paths: Sequence[Path], fmt: FormatConfig, limits: Limits = DEFAULT_LIMITS
               ) -> tuple[list[Example], list[Rejected], list[Finding]]:
    """Parse every line: (examples, rejected lines, all findings)."""
    examples, rejected, findings = [], [], []
    for path in paths:
        if not path.is_file():
            raise AugmentError(f"{path}: no such seed file")
        for number, text, example, f in read_examples(path, fmt, limits):
            findings.extend(f)
            errors = [x for x in f if x.severity == "error"]
            if example is None or errors:
                rejected.append(Rejected("read", [f"{x.code}: {x.message}" for x in errors],
                                         source=f"{path}:{number}", text=text))
            else:
                examples.append(example)
    return examples, rejected, findings


def annotate_keys(examples: list[Example]) -> list[Example]:
    """Each seed's key: the one its prompt states, else the one its melody suggests."""
    detected = detect_keys([e.melody for e in examples])
    return [replace(ex, key=stated_key(ex.prompt) or (None if est is None else est.key))
            for ex, est in zip(examples, detected, strict=True)]


@dataclass
class SeedResult:
    """One seed's share of the work, as ``expand_seed`` returns it."""

    passed: Sequence[Example]  # variants that passed re-prompting and checks (slim: ``SlimExamples``)
    rejected: list[Rejected]
    counts: Counter[str]
    prints: PrintBlock  # the dedup fingerprint of each passed variant
    buckets: np.ndarray | None  # their LSH buckets (near.band_buckets), row by row
    arrays: MelodyArrays | PackedMelodies  # their melodies as flat arrays (packed if exact)
    # The output line and lineage_head of each passed variant, packed for the spool
    # (output.pack_texts: one UTF-8 blob, and each text's size), or, when the worker put the
    # blob in the run's named spool itself (``spool_path``), b"" and where it landed.
    texts: bytes
    text_sizes: np.ndarray
    texts_at: int = -1  # offset of the blob in the named spool; -1: the blob is ``texts``
    texts_size: int = 0  # its size there
    # How many of the passed variants' steps each rule made (the manifest counts the written
    # ones: these less those of the candidates not written, ``_rules_written``).
    rules: Counter[str] = field(default_factory=Counter)
    # Which passed variant each entry of ``texts`` is (they lie in id order); None: in order.
    text_order: np.ndarray | None = None
    # With ``rejects_path``: the rejections' lines, appended there by the worker (at offset
    # ``rejects_at``: ``rejects_size`` bytes, each line's size in ``rejects_sizes``); each
    # rejection's ``spooled`` numbers its line from 0 in that block. -1: not set aside.
    rejects_at: int = -1
    rejects_sizes: np.ndarray | None = None
    rejects_size: int = 0


def expand_seed(seed: Example, config: Config, run_seed: int, near: NearParams | None = None,
                spool_path: str | None = None, rejects_path: str | None = None) -> SeedResult:
    """One seed's variants after re-prompting and checks, with what the later stages need
    of each (fingerprint; LSH buckets of its MinHash signature under ``near``; melody
    arrays; output line; lineage head) made here, so that it runs in parallel too.

    Pure and picklable, so a process pool or Ray can run it (``parallel.Mapper``). With
    ``spool_path`` (a named ``output.Spool`` of a run on this machine), the output lines
    and lineage heads are appended to that file here instead of sent back: ~1.3 KB an
    example that would cross the pipe and be written by the run's main process. With
    ``rejects_path`` (the run's named spool of rejections), the rejections' lines go there
    likewise (``SeedResult.rejects_at``), sorted by id as the rejects file reads them.
    """
    with collection_paused():
        return _expand_seed(seed, config, run_seed, near, spool_path, rejects_path)


def _expand_seed(seed: Example, config: Config, run_seed: int, near: NearParams | None,
                 spool_path: str | None, rejects_path: str | None = None) -> SeedResult:
    counts: Counter[str] = Counter()
    passed: list[Example] = []
    rejected: list[Rejected] = []
    # The variants' melodies are laid out once (None off the tick grid) for the batch steps:
    # their texts (format_melodies, which re-prompting then reads), their checks (one compiled
    # pass, checks_batch) and their fingerprints. The rejections keep the order of the draws.
    variants = draw_variants(seed, config, run_seed, counts)
    melodies = [v.melody for v in variants]
    grid = GridArrays.of(melodies)
    format_melodies(melodies, config.format, grid)
    prompted = [reprompt(variant, seed, config.format, config.reprompt) for variant in variants]
    rows = [i for i, p in enumerate(prompted) if not isinstance(p, str)]
    verdicts = iter(run_checks_batch([cast(Example, prompted[i]) for i in rows], config.checks,
                                     None if grid is None else grid.subset(rows)))
    kept = []
    for i, (variant, p) in enumerate(zip(variants, prompted, strict=True)):
        if isinstance(p, str):
            rejected.append(Rejected("reprompt", [p], example=variant).compact())
            counts["rejected_reprompt"] += 1
            continue
        reasons = next(verdicts)
        if reasons:
            rejected.append(Rejected("checks", reasons, example=p).compact())
            counts["rejected_checks"] += 1
            continue
        passed.append(p)
        kept.append(i)
    del variants, melodies, prompted
    grid = None if grid is None else grid.subset(kept)
    prints, buckets = fingerprints(passed, near, grid)
    rules = steps_by_rule(passed)
    # The texts go to the spool in id order (``order``: which passed variant each is): the
    # split and lineage files, written in id order, then read a few spans a window of them
    # from each seed's block (``output.preads``) instead of one read a line.
    by_id = sorted(range(len(passed)), key=[e.id for e in passed].__getitem__)
    known: dict[tuple[str, str], str | None] = {}
    blob, sizes = pack_texts(((example_to_line(passed[k], known), lineage_head(passed[k])) for k in by_id), 2)
    order = np.asarray(by_id, dtype=np.int64)
    texts = (blob, sizes, -1, 0) if spool_path is None else \
        (b"", sizes, append_texts(spool_path, blob), len(blob))
    aside: tuple[int, np.ndarray | None, int] = (-1, None, 0)
    if rejects_path is not None and rejected:
        rejected.sort(key=Rejected.key)
        lines, line_sizes, rejected = Rejected.packed(rejected)
        aside = (append_texts(rejects_path, lines), line_sizes, len(lines))
    packed = None if grid is None else PackedMelodies.of_grid(grid)
    SEED_HEAP.after_work()  # the freed heap goes back to the system only past a margin
    if packed is None:  # a duration off the tick grid: the melodies stay with the examples
        arrays = MelodyArrays.of([e.melody for e in passed])
        return SeedResult(passed, rejected, counts, prints, buckets, arrays, *texts, rules, order, *aside)
    return SeedResult(slimmed(passed), rejected, counts, prints, buckets, packed, *texts, rules, order,
                      *aside)


# A process running seeds gives its free heap pages back when it has grown by 64 MB since
# it last did (``heap.HeapTrimmer``): given back after every seed, the pages were faulted in
# again by the next (~3% of a million's time: benchmarks/HISTORY.md, twenty-second round).
SEED_HEAP = HeapTrimmer(64 << 20)

NO_MELODY = Melody.from_ticks((), ())  # a slim example's melody: see its row of the melody arrays


class SlimExamples(Sequence[Example]):
    """A seed's passed variants as the main process of a run keeps them: slim, each without
    its melody and melody text while the output line (spool), the fingerprint, the LSH
    buckets and the melody arrays hold the rest (~1.4 KB less an example). A slim example's
    melody is ``NO_MELODY`` (the stages read it from the arrays: ``dedup.RowMelodies``) and
    its melody message says None; equal parts of a seed's variants (each rule step, message
    and key) are one object, so that the main process holds each once (~400 bytes less a
    variant); an unhashable part (a message carrying a list among its extra fields) is kept
    as it is. (``tests/test_slim.py`` holds the definition, one example at a time.)

    Kept as columns until read: each example's id and parent id, and numbers into one table
    of the parts they share (the slim message tuples, steps, keys, facts, seed id, source),
    a value once. A seed's worker makes them from its passed variants and sends these few
    lists to the run's main process, which makes the examples once, when first read: fewer
    objects made and serialized a variant than slimming them in the worker and sending them
    (the seventeenth round's A/B in benchmarks/HISTORY.md)."""

    __slots__ = ("ids", "parents", "fields", "steps", "parts", "_made")

    def __init__(self, ids: list[str], parents: list[str | None], fields: np.ndarray,
                 steps: list[tuple[Step, ...]], parts: list[Any]) -> None:
        self.ids, self.parents, self.fields = ids, parents, fields  # six numbers a row
        # Each example's steps as they are: the steps are shared objects (``Step.of``), which
        # the trip to the run's main process carries once and refers to after (its memo), so
        # they stay one object each there too.
        self.steps, self.parts = steps, parts
        self._made: list[Example] | None = None

    @staticmethod
    def of(examples: Sequence[Example]) -> SlimExamples:
        parts: list[Any] = []
        number: dict[Any, int] = {}
        # id() of a part kept -> its number: parts holds it, so no other live object has its id
        by_id: dict[int, int] = {}

        def part(x: Any) -> int:
            k = by_id.get(id(x))
            if k is not None:
                return k
            try:
                k = number.setdefault(x, len(parts))
            except TypeError:  # unhashable (a message carrying a list): kept, unshared
                k = len(parts)
            if k == len(parts):
                parts.append(x)
                by_id[id(x)] = k
            return k

        fields: list[int] = []
        slim_messages: dict[tuple[Any, ...], int] = {}
        rest_seen: dict[tuple[Any, ...], tuple[int, ...]] = {}
        for e in examples:
            mi = e.melody_index
            try:  # the slim messages, by what they say: equal ones are one tuple of shared messages
                said = tuple((m.role, None if i == mi else m.content, m.extra)
                             for i, m in enumerate(e.messages))
                messages = slim_messages.get(said)
            except TypeError:
                said, messages = None, None
            if messages is None:
                listed = list(e.messages)
                listed[mi] = Message(listed[mi].role, None, listed[mi].extra)
                messages = part(tuple(parts[part(m)] for m in listed))
                if said is not None:
                    slim_messages[said] = messages
            rest = (mi, e.seed_id, e.source, e.key, e.facts)
            try:  # (a seed's variants share these but for a few keys and meters)
                numbers = rest_seen.get(rest)
            except TypeError:
                numbers = None
            if numbers is None:
                numbers = tuple(map(part, rest))
                with suppress(TypeError):
                    rest_seen[rest] = numbers
            fields.append(messages)
            fields += numbers
        return SlimExamples([e.id for e in examples], [e.parent_id for e in examples],
                            np.asarray(fields, dtype=np.int64), [e.steps for e in examples], parts)

    def _examples(self) -> list[Example]:
        made = self._made
        if made is None:
            # Column by column, each example made by ``map`` (no Python loop a row: ~1 us
            # an example less, a million of them made by a run's main process as they come)
            part = self.parts.__getitem__
            columns = self.fields.reshape(-1, 6).T.tolist()  # (a row's six numbers: ``of``)
            messages, index, seed, source, key, facts = (list(map(part, c)) for c in columns)
            made = list(map(Example, self.ids, messages, repeat(NO_MELODY, len(self.ids)), index, seed,
                            source, self.parents, self.steps, key, facts))
            self._made = made
        return made

    def representatives(self) -> tuple[list[Example], np.ndarray]:
        """The first example of each distinct row of fields (all but id, parent and steps:
        the messages, melody index, seed id, source, key and facts), in the order first met,
        and each example's number among them: what is read of many examples' shared fields
        (``diversity.ColumnCoder``) is read once a row."""
        if not len(self.ids):
            return [], np.zeros(0, dtype=np.intp)
        # The rows sorted (stable: equal rows keep their order), each run of equal ones a
        # distinct row whose first is the first met (np.unique over rows, axis=0, took ~5x as long).
        fields = self.fields.reshape(len(self.ids), 6)
        by_row = np.lexsort(fields.T[::-1])
        ordered = fields[by_row]
        starts = np.r_[True, (ordered[1:] != ordered[:-1]).any(axis=1)]
        row = np.empty(len(by_row), dtype=np.intp)
        row[by_row] = np.cumsum(starts) - 1
        first = by_row[starts]
        order = np.argsort(first)
        number = np.empty(len(order), dtype=np.intp)
        number[order] = np.arange(len(order))
        made = self._examples()
        return [made[k] for k in first[order].tolist()], number[row]

    def __len__(self) -> int:
        return len(self.ids)

    @overload
    def __getitem__(self, i: int) -> Example: ...

    @overload
    def __getitem__(self, i: slice) -> list[Example]: ...

    def __getitem__(self, i: int | slice) -> Example | list[Example]:
        return self._examples()[i]

    def __iter__(self) -> Iterator[Example]:
        return iter(self._examples())

    def __reduce__(self) -> tuple[object, ...]:
        return (SlimExamples, (self.ids, self.parents, self.fields, self.steps, self.parts))


def slimmed(examples: Sequence[Example]) -> Sequence[Example]:
    """A seed's passed variants as the run's main process keeps them (``SlimExamples``)."""
    return SlimExamples.of(examples)


def lineage_head(e: Example) -> str:
    """``e``'s lineage record as ``dumps`` writes it, all but the split (known only after
    dedup), which sorts last: ``lineage_line`` closes it.

    Written out here (keys in sorted order, each str as ``dumps`` writes it) when every
    step's JSON text is its ``json_text``: an ASCII str rule with ASCII str keys and int or
    ASCII str values (``json_text`` escapes non-ASCII, ``dumps`` keeps it); else by ``dumps``."""
    rules = _steps_json(e.steps)
    id_, parent, seed_id, source, key = e.id, e.parent_id, e.seed_id, e.source, e.key
    if rules is not None and type(id_) is str and (parent is None or type(parent) is str) \
            and (seed_id is None or type(seed_id) is str) and (source is None or type(source) is str):
        q = _json_or_null
        return (f'{{"id": {q(id_)}, "key": {"null" if key is None else _key_json(key.tonic, key.mode)}, '
                f'"parent_id": {q(parent)}, "rules": {rules}, {_family_json(seed_id, source)}')
    record = {"id": e.id, "seed_id": e.seed_id, "parent_id": e.parent_id, "source": e.source,
              "key": None if e.key is None else e.key.name, "rules": [s.as_dict() for s in e.steps]}
    return dumps(record)[:-1]


def _steps_json(steps: tuple[Step, ...]) -> str | None:
    """The steps' dicts as a JSON list the way ``dumps`` writes it, from each step's
    ``json_text``, when every step's text is that: an ASCII str rule with ASCII str keys and
    int or ASCII str values (``json_text`` escapes non-ASCII, ``dumps`` keeps it); else None."""
    rules = []
    for step in steps:
        text = step.dumps_text()
        if text is None:
            return None
        rules.append(text)
    return f"[{', '.join(rules)}]"


_json_str = json.encoder.encode_basestring  # a str as dumps writes it (non-ASCII kept)


def _json_or_null(text: str | None) -> str:
    return "null" if text is None else _json_str(text)


# (a seed's thousands of variants share their family's fields and a few keys)
@lru_cache(maxsize=1024)
def _family_json(seed_id: str | None, source: str | None) -> str:
    """The lineage record's seed_id and source, as ``dumps`` writes them."""
    return f'"seed_id": {_json_or_null(seed_id)}, "source": {_json_or_null(source)}'


@lru_cache(maxsize=1024)
def _key_json(tonic: int, mode: ModeName) -> str:
    """The lineage record's key, as ``dumps`` writes its name."""
    return _json_str(Key(tonic, mode).name)


def lineage_line(head: str, split: str) -> str:
    """The lineage record of the example of ``head`` on ``split`` (equal to ``dumps`` of the
    whole record)."""
    return f'{head}, "split": {dumps(split)}}}'


def package_versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in ("augment", "numpy", "music21", "click"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    return out


def _check_out_dir(out_dir: Path, seed_paths: Sequence[Path]) -> None:
    out = out_dir.resolve()
    for path in seed_paths:
        if out in path.resolve().parents:
            raise AugmentError(f"--out {out_dir} contains the seed file {path}; "
                               "choose an output directory that holds no input")


@contextmanager
def collecting_less(first_generation: int = 100_000) -> Iterator[None]:
    """Run the cyclic garbage collector less often while a large run builds its data (and
    unfreeze, at the end, what the run froze: ``settled``; objects a caller froze before
    the run are unfrozen too).

    A run holds millions of small, acyclic objects (examples, tuples, strings). With the
    default threshold (a collection every 700 new containers) the main process spent about
    3/4 of its time unpacking results from worker processes inside the collector (41 us
    per example against 8; ``benchmarks/HISTORY.md``). Collections still happen, every
    ``first_generation`` new containers, so cyclic garbage is still freed.
    """
    old = gc.get_threshold()
    gc.set_threshold(first_generation, old[1], old[2])
    try:
        yield
    finally:
        gc.set_threshold(*old)
        gc.unfreeze()  # what ``settled`` froze joins the oldest generation again


@contextmanager
def collection_paused() -> Iterator[None]:
    """No cyclic garbage collection inside the block; the collector runs again after it
    (when it ran before).

    A seed's draws make ~100,000 objects that live until the seed is done (the variants and
    the ``Family`` caches), and every collection of the youngest generation walked those
    made since the last one again: ~6% of a seed's time (12 corpus seeds at 3,365 variants,
    ``benchmarks/HISTORY.md``). What a seed frees is acyclic and goes by reference count; a
    cycle made inside the block waits for the first collection after it.
    """
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


def settled() -> None:
    """Leave the objects that exist now (a big run's candidates, a file's lines: alive to
    the end of the run) out of later collections (``gc.freeze``, which costs nothing): the
    run goes on to allocate millions more, and each collection would walk them all again
    (3 s of the main process at 300k while the pool's results arrive; a quarter of the
    dataset stages' time at a million examples). ``collecting_less`` unfreezes them when
    the run ends."""
    gc.freeze()


# The files of lines that ``expand`` writes (in a pool's processes, with one), beside
# rejected.jsonl and the manifest.
LINE_FILES = (*(f"{name}.jsonl" for name in SPLITS), "lineage.jsonl")


def expand(seed_paths: Sequence[Path], config: Config, out_dir: Path,
           run_seed: int | None = None, on_error: OnError = "fail", *,
           target: int | None = None, progress: Progress = SILENT, workers: int = 1,
           mapper: Mapper | None = None) -> RunResult:
    """Run the whole flow and write train/validation/test, lineage, rejected, manifest.

    ``workers`` > 1 runs the per-seed stages (rules, re-prompting, checks) in a process
    pool (0: one per CPU); the output is byte-identical to ``workers=1``. ``mapper``, when
    given, replaces that pool (``ray_engine`` runs the same stages on a Ray cluster).

    ``progress`` is told each stage's name (and the count of seeds expanded); it only
    observes, so the files written do not depend on it.
    """
    pool = nullcontext(mapper) if mapper is not None else local_pool(workers)
    # A run on this machine keeps its melodies in files it maps, written as they come
    # (``MelodyStore``): a million examples' (~300 MB) are then resident only where
    # read, and a pool's processes (the diversity reports) read them there, not from a copy.
    scratch = tempfile.TemporaryDirectory(prefix="augment-") if mapper is None else nullcontext(None)
    # With a pool, the output lines wait there too, so that its processes write the files.
    pooled = mapper is None and check_workers(workers) > 1
    try:
        with collecting_less(), pool as run, scratch as folder, \
                Spool(width=2, folder=Path(folder) if pooled and folder is not None else None) as spool, \
                Spool(folder=Path(folder) if pooled and folder is not None else None) as rejects:
            finish = _expand(seed_paths, config, out_dir, run_seed, on_error, target=target,
                             progress=progress, mapper=run, spool=spool, rejects=rejects,
                             melody_folder=None if folder is None else Path(folder) / "melodies",
                             forked=mapper is None)
            return finish()
    except BaseException:
        # A pool stopped while its processes wrote the output files was killed in the middle
        # of them (``parallel._abandon``): their temporary files are removed here, once the
        # pool is gone; only theirs (--out may hold other files). Files this process writes
        # remove their own.
        if pooled:
            with suppress(OSError):  # (never in place of the error that stopped the run)
                remove_temporary(out_dir, [*LINE_FILES, "rejected.jsonl"])
        raise


def _expand(seed_paths: Sequence[Path], config: Config, out_dir: Path, run_seed: int | None,
            on_error: OnError, *, target: int | None, progress: Progress, mapper: Mapper,
            spool: Spool, rejects: Spool, melody_folder: Path | None = None,
            forked: bool = False) -> Callable[[], RunResult]:
    run_seed = config.expand.seed if run_seed is None else run_seed
    seed_paths = [Path(p) for p in seed_paths]
    _check_out_dir(out_dir, seed_paths)
    result = RunResult(out_dir)
    counts = result.counts

    with progress.stage("read seeds"):
        seeds, rejected, findings = read_seeds(seed_paths, config.format, config.limits)
    result.warnings = [f for f in findings if f.severity == "warning"]
    counts["input_lines"] = len(seeds) + len(rejected)
    counts["seeds_accepted"] = len(seeds)
    counts["rejected_read"] = len(rejected)
    if not counts["input_lines"]:
        raise AugmentError(f"{', '.join(map(str, seed_paths))}:0: empty_file: no seed lines; "
                           "nothing was written")
    if rejected and on_error == "fail":
        errors = [f for f in findings if f.severity == "error"]
        shown = "\n".join(str(f) for f in errors[:20])
        more = f"\n... and {len(errors) - 20} more" if len(errors) > 20 else ""
        raise AugmentError(f"{len(rejected)} seed line(s) are invalid; nothing was written "
                           f"(use --on-error skip to set them aside):\n{shown}{more}")
    with progress.stage("seed keys"):
        seeds = [seed_facts(s) for s in annotate_keys(seeds)]

    passing_seeds = []
    for seed in progress.track(seeds, "seed checks", len(seeds)):
        reasons = run_checks(seed, config.checks)
        if reasons:
            rejected.append(Rejected("checks", reasons, example=seed))
            counts["rejected_seed_checks"] += 1
        else:
            passing_seeds.append(seed)
    # A run that will hash many variants' shingles loads the compiled MinHash loop before
    # its pool's processes start (``forked``: this process's mapper forks them), so that
    # they inherit it; a small run hashes in numpy and never loads numba (``near.NUMPY_SHINGLES``).
    if forked:
        load_compiled(sum(len(s.melody) for s in passing_seeds) * config.expand.variants_per_seed)
    with progress.stage("near-duplicate calibration and split plan"):
        plan = plan_splits(passing_seeds, config, run_seed)
    split_of = plan.seed_split

    candidates: list[Example] = list(passing_seeds)
    coder = ColumnCoder()  # what the diversity reports count of each candidate, as they come
    coder.add(passing_seeds)
    seed_prints, seed_buckets = fingerprints(passing_seeds, plan.params)
    # Row blocks in the order of the candidates: fingerprints, LSH buckets and melody arrays.
    print_blocks = [seed_prints]
    row_of: dict[str, int] = {}
    buckets = [seed_buckets]
    seed_arrays = MelodyArrays.of([e.melody for e in passing_seeds])
    # (packed, 5 bytes an event, when every block is; on this machine appended to files the
    # run maps, as they come, instead of held until the pool ends: ``MelodyStore``)
    arrays = MelodyStore(melody_folder)
    arrays.add(seed_arrays.pack() or seed_arrays)
    todo = [s for s in passing_seeds if split_of[s.seed_id] == "train" or config.split.holdout_rules]
    # Longest melodies first (their seeds cost most): the pool's processes then finish
    # together. Nothing downstream depends on the order of the candidates (dedup, splits and
    # files order by id), as for the order of the seed lines.
    todo.sort(key=lambda s: (-len(s.melody), s.id))
    # With a named spool (a pool of this machine), the workers append the lines themselves.
    rules: Counter[str] = Counter()  # the passed variants' steps by rule
    per_seed = partial(expand_seed, config=config, run_seed=run_seed, near=plan.params,
                       spool_path=spool.path, rejects_path=rejects.path)
    for done in progress.track(mapper(per_seed, todo), "variants", len(todo)):
        # On disk until written: the lines of candidate row r are the spool's entry
        # r - len(passing_seeds) (the seeds' lines are made when written).
        first = spool.add_block(done.texts, done.text_sizes, done.text_order) if done.texts_at < 0 else \
            spool.add_placed(done.texts_at, done.text_sizes, done.texts_size, done.text_order)
        if first != len(candidates) - len(passing_seeds):
            raise AssertionError("spooled lines out of step with the candidates")
        candidates.extend(done.passed)
        coder.add(done.passed)
        print_blocks.append(done.prints)
        buckets.append(done.buckets)
        arrays.add(done.arrays)
        # (lines on disk until written, each seed's by key: the rejects file reads them so)
        if done.rejects_at < 0:
            rejected.extend(Rejected.set_all_aside(sorted(done.rejected, key=Rejected.key), rejects))
        else:  # (the worker appended them: numbered from this spool's next entry)
            rejected.extend(Rejected.placed(done.rejected, rejects.add_placed(
                done.rejects_at, cast(np.ndarray, done.rejects_sizes), done.rejects_size)))
        counts.update(done.counts)
        rules.update(done.rules)
        settled()
    counts["variants_passing_checks"] = len(candidates) - len(passing_seeds)
    settled()

    melodies = arrays.finish()
    # (each candidate id's first row, made once the pool's processes have let their seeds'
    # memory go: made as the results came, it sat on top of theirs, ~100 MB more at the
    # peak of all processes together, for ~0.3 s less here)
    for i, e in enumerate(candidates):
        row_of.setdefault(e.id, i)
    prints = PrintTable(PrintBlock.join(print_blocks), row_of)
    print_blocks.clear()
    joined_buckets = _stacked(buckets)
    release_free_memory()  # the per-seed blocks just joined and freed
    built = build_splits(candidates, plan, config, run_seed, target, progress=progress,
                         mapper=mapper, prints=prints, buckets=joined_buckets,
                         arrays=melodies, melody_of=RowMelodies(melodies, row_of), rows=row_of,
                         codes=coder.codes())
    counts.update(built.counts)

    def dropped() -> list[Rejected]:
        """The rejections of the candidates the dataset stages dropped, their lines on disk."""
        rows = np.fromiter((row_of[ex.id] for _, ex, _ in built.dropped), np.int64, len(built.dropped))
        made_lines = spool.raws(_entries(rows, len(passing_seeds)), 0)  # (None: a seed's)
        return Rejected.set_all_aside(sorted([Rejected(stage, [reason], example=ex).compact(
            None if line is None else line.decode("utf-8"))
            for (stage, ex, reason), line in zip(built.dropped, made_lines, strict=True)],
            key=Rejected.key), rejects)
    with progress.stage("write"):
        finish = write_outputs(result, built, rejected, config, run_seed, seed_paths, spool, rejects,
                               _entries(built.written_rows, len(passing_seeds)),
                               mapper=None if spool.path is None else mapper, more_rejected=dropped,
                               per_rule=_rules_written(rules, candidates, built.written_rows),
                               target=target)
    return finish  # (the run's examples are let go on the way out, while the pool still writes)


def steps_by_rule(examples: Iterable[Example]) -> Counter[str]:
    """How many of the examples' steps each rule made (the manifest's ``counts_per_rule``)."""
    return Counter(map(attrgetter("rule"), chain.from_iterable(map(attrgetter("steps"), examples))))


def _rules_written(rules: Counter[str], candidates: Sequence[Example], written_rows: np.ndarray
                   ) -> Counter[str]:
    """The written examples' steps by rule, given the candidates' (``rules``) and the rows
    of the written ones: the candidates' less those of the few not written. (Counting the
    written million's steps took ~1.9 s of the main process at a million.)"""
    unwritten = np.ones(len(candidates), dtype=bool)
    unwritten[written_rows] = False
    left = Counter(rules)
    left.subtract(steps_by_rule([candidates[at] for at in np.flatnonzero(unwritten).tolist()]))
    if any(n < 0 for n in left.values()):
        raise AssertionError("more steps of a rule among the unwritten than among the candidates")
    return +left


def _spooled(out: Path, made: Spool, example_at: Callable[[int], Example], entries: np.ndarray,
             field: int, make: Callable[[Example], str], ends: np.ndarray | None = None,
             suffixes: tuple[bytes, ...] = ()) -> SpooledFile:
    """The job writing text ``field`` of the examples (``example_at`` each line's) from
    ``made`` (theirs at ``entries``; the others' made here by ``make``), each followed by
    ``suffixes[ends[i]]`` when given."""
    offsets, sizes = made.places(entries, field)
    own = {k: make(example_at(k)).encode("utf-8") for k in np.flatnonzero(entries < 0).tolist()}
    return SpooledFile(str(out), cast(str, made.path), offsets, sizes, own, ends, suffixes)


def _entries(rows: np.ndarray, seeds: int) -> np.ndarray:
    """The spool entry holding the lines of each candidate row (``seeds`` seeds first, whose
    lines are not spooled: -1)."""
    return np.where(rows >= seeds, rows - seeds, -1)


def _stacked(blocks: list[np.ndarray | None]) -> np.ndarray | None:
    """One array of the blocks' rows (emptying ``blocks`` as it copies them, so each row is
    held once: ``ragged.drained``); None when a block is missing."""
    parts = [b for b in blocks if b is not None]
    complete = bool(parts) and len(parts) == len(blocks)
    blocks.clear()
    return ragged.drained(parts) if complete else None


def write_outputs(result: RunResult, built: Any, rejected: list[Rejected], config: Config,
                  run_seed: int, seed_paths: Sequence[Path], made: Spool | None = None,
                  rejects: Spool | None = None, made_entries: np.ndarray | None = None, *,
                  mapper: Mapper | None = None,
                  more_rejected: Callable[[], list[Rejected]] | None = None,
                  per_rule: Counter[str] | None = None, target: int | None = None
                  ) -> Callable[[], RunResult]:
    """Splits (messages only), lineage, rejected, then the manifest last: the manifest is
    written by the function returned (``result`` then done), which waits for the files the
    pool writes, so that the caller can let go of the run's examples before calling it (a
    million's take ~1 s to free, while the pool still writes). ``made`` holds the
    output line (``example_to_line``) and lineage head (``lineage_head``) of the examples
    whose lines were made earlier, ``made_entries`` the entry of each written example (the
    splits' examples one after another, in ``SPLITS`` order; -1: made here). ``rejects``
    holds the lines of the rejections set aside (``Rejected.set_aside``). With ``mapper`` (a
    pool of this machine) and ``made`` in a named file, the pool's processes write the splits
    and the lineage from that file (``output.write_spooled``) while this one writes the
    rejections. ``more_rejected`` makes the rest of the rejections (``rejected`` is extended
    with them): called once those processes have started (a run's dropped candidates, ~1 s
    at a million). ``per_rule``, when given, is the written examples' steps by rule
    (counted here otherwise)."""
    out_dir, counts, by_split = result.out_dir, result.counts, built.by_split
    # (the written examples are the splits' lists one after another: no list of them all is
    # made when the pool writes the files, which reads only the few made here)
    starts = np.cumsum([0, *(len(by_split[name]) for name in SPLITS)]).tolist()
    entries = np.full(starts[-1], -1, dtype=np.int64) if made is None or made_entries is None \
        else made_entries
    if len(entries) != starts[-1]:
        raise ValueError("one spool entry (or -1) is needed for each written example")

    def written() -> Iterator[Example]:
        return chain.from_iterable(by_split[name] for name in SPLITS)

    def written_at(at: int) -> Example:
        k = bisect_right(starts, at) - 1
        return cast(Example, by_split[SPLITS[k]][at - starts[k]])

    def spooled(at: np.ndarray, field: int) -> Iterator[bytes | None]:
        return made.raws(at, field) if made is not None else repeat(None, len(at))

    def lines(examples: list[Example], at: np.ndarray) -> Iterator[str | bytes]:
        for e, text in zip(examples, spooled(at, 0), strict=True):
            yield example_to_line(e) if text is None else text

    closing = {split: lineage_line("", split).encode() for split in SPLITS}

    def lineage(examples: list[Example], at: np.ndarray) -> Iterator[str | bytes]:
        for e, head in zip(examples, spooled(at, 1), strict=True):
            split = built.split_of[e.seed_id]
            yield lineage_line(lineage_head(e), split) if head is None else head + closing[split]

    begin_output(out_dir)
    order = built.by_id  # (build_splits knows it)
    names = LINE_FILES
    for name in SPLITS:
        counts[f"written_{name}"] = len(by_split[name])
    digests: Iterator[str] | None = None
    if mapper is not None and made is not None and made.path is not None:
        jobs = [_spooled(out_dir / f"{name}.jsonl", made, by_split[name].__getitem__,
                         entries[starts[k]:starts[k + 1]], 0, example_to_line)
                for k, name in enumerate(SPLITS)]
        # (an example's split is the one whose list holds it: its family's, by_split's rule)
        split_of_line = np.searchsorted(np.asarray(starts[1:]), order, side="right")
        jobs.append(_spooled(out_dir / "lineage.jsonl", made, lambda k: written_at(int(order[k])),
                             entries[order], 1, lineage_head,
                             split_of_line.astype(np.int64), tuple(closing[name] for name in SPLITS)))
        digests = mapper(write_spooled, jobs)  # a pool starts them now
    else:
        for k, name in enumerate(SPLITS):
            result.files[names[k]] = write_atomic(out_dir / names[k],
                                                  lines(by_split[name], entries[starts[k]:starts[k + 1]]))
        listed = list(written())
        by_id = [listed[i] for i in order.tolist()]
        result.files["lineage.jsonl"] = write_atomic(out_dir / "lineage.jsonl",
                                                     lineage(by_id, entries[order]))
    if more_rejected is not None:
        rejected.extend(more_rejected())
    # Read rejects in input order first, then by id: the same set of seeds in another line
    # order gives the same records in the same order. (Each block was set aside in this
    # order already, by a stable sort: equal keys stay in the order they came.)
    ordered = sorted(rejected, key=Rejected.key)

    # (the lines set aside read from their spool a window at a time, as the split files are;
    # by the pool when it writes those: ~300 MB at a million)
    aside = np.fromiter((-1 if r.spooled is None else r.spooled for r in ordered), np.int64, len(ordered))
    if rejects is None and len(aside) and aside.max() >= 0:
        raise ValueError("rejections were set aside in a spool that was not given")
    rejects_digest: Iterator[str] | None = None
    rejects_out = out_dir / "rejected.jsonl"
    if rejects is None:
        result.files["rejected.jsonl"] = write_atomic(rejects_out, map(Rejected.as_line, ordered))
    else:
        own = np.flatnonzero(aside < 0).tolist()
        job = rejects.file_of(rejects_out, aside, {k: ordered[k].as_line().encode("utf-8") for k in own})
        if mapper is not None and rejects.path is not None:
            rejects_digest = mapper(write_spooled, [job])
        else:
            result.files["rejected.jsonl"] = rejects.write_file(job)
    # Counted while the pool's processes may still be writing (~1 s at a million).
    counts["rejected_total"] = len(rejected)
    if per_rule is None:
        per_rule = steps_by_rule(written())
    per_check = Counter(reason.split(":")[0] for r in rejected if r.stage in ("checks", "dedup", "split")
                        for reason in r.reasons)
    head = {
        "augment_manifest": 1,
        "config": config.resolved(),
        "config_file": config.source,
        "seed": run_seed,
        "seed_files": [str(p) for p in seed_paths],
        "target": target,  # --target (None: every example that passed was kept)
        "versions": package_versions(),
        "counts": dict(sorted(counts.items())),
        "counts_per_rule": dict(sorted(per_rule.items())),
        "rejected_per_reason": dict(sorted(per_check.items())),
        "counts_per_split": {name: len(by_split[name]) for name in SPLITS},
    }
    tail = {"dedup_calibration": None if built.calibration is None else built.calibration.as_dict(),
            "near_params": asdict(built.params)}
    diversity = built.diversity  # (its report, which holds no example)

    def finish() -> RunResult:
        """The manifest, once the pool's files are written (holding none of the run's
        examples: the caller may have let them go)."""
        if digests is not None:
            result.files.update(zip(names, digests, strict=True))
        if rejects_digest is not None:
            result.files["rejected.jsonl"] = next(iter(rejects_digest))
        result.manifest = {
            **head,
            "diversity": diversity(),  # waited for last: the pool made it while files were written
            **tail,
            "files": {name: {"sha256": digest} for name, digest in sorted(result.files.items())},
        }
        write_manifest(out_dir, result.manifest)
        return result
    return finish
