"""``augment import`` on real scores from music21's corpus: MusicXML, Humdrum, ABC and MIDI.

The phrases' notes are compared with the source part read independently through music21
(``stripTies``), every written line must validate and tell the truth about its melody,
and the output must work as ``augment expand`` input. Parsed scores are cached in-process.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import replace
from fractions import Fraction
from functools import cache
from pathlib import Path
from typing import Any

import music21
import pytest
from click.testing import CliRunner

from augment.checks import check_claims, check_key_agreement
from augment.cli import cli
from augment.codec import FormatConfig, read_examples
from augment.config import ChecksConfig, Config, load_config
from augment.errors import AugmentError
from augment.importer import FileReport, ImportOptions, import_files, import_score, read_scores
from augment.importer_phrases import Bar, cut_phrases, line_events, score_bars
from augment.melody import Melody
from augment.pipeline import expand
from augment.prompt import parse_claims
from augment.validate import validate_files

ROOT = Path(__file__).resolve().parents[1]
BACH = Path(str(music21.corpus.getWork("bach/bwv66.6")))
BEETHOVEN = Path(str(music21.corpus.getWork("beethoven/opus18no1/movement1.krn")))
REEL = Path(str(music21.corpus.getWork("ryansMammoth/AcaciaReel")))
ESSEN = Path(str(music21.corpus.getWork("essenFolksong/teste")))


@cache
def scores(path: Path) -> tuple[Any, ...]:
    return tuple(read_scores(path))


DEFAULTS = Config()


def run(path: Path, config: Config = DEFAULTS, **options: Any) -> tuple[list[Any], FileReport]:
    report, seen, out = FileReport(str(path)), set(), []  # type: ignore[var-annotated]
    for i, score in enumerate(scores(path)):
        out += import_score(score, f"{path}#{i}", config, ImportOptions(**options), report, seen)
    return out, report


def source_pairs(part: Any, first: int, last: int) -> list[tuple[int | None, Fraction]]:
    """Measures first..last of one part, read by music21 itself: ties stripped, grace
    notes dropped, chords as their top note, consecutive rests merged."""
    pairs: list[tuple[int | None, Fraction]] = []
    for n in part.measures(first, last).stripTies().flatten().notesAndRests:
        length = Fraction(n.quarterLength)
        if length == 0:
            continue
        pitch = None if n.isRest else max(p.midi for p in n.pitches)
        if pitch is None and pairs and pairs[-1][0] is None:
            pairs[-1] = (None, pairs[-1][1] + length)
        else:
            pairs.append((pitch, length))
    return pairs


def without_padding(melody: Melody) -> list[tuple[int | None, Fraction]]:
    pairs = melody.pairs()
    return pairs[1:] if pairs[0][0] is None else pairs


def assert_true_prompts(examples: list[Any], checks: ChecksConfig = ChecksConfig()) -> None:
    for ex in examples:
        assert check_claims(ex, checks) is None, ex.prompt
        assert check_key_agreement(ex, checks) is None, ex.prompt


# --- MusicXML: Bach chorale ------------------------------------------------------------


def test_bach_soprano_phrases_are_the_source_notes_in_whole_bars():
    examples, report = run(BACH, part="Soprano", bars_per_phrase=4, keep_failing=True)
    soprano = scores(BACH)[0].parts[0]
    first = examples[0].melody
    # The pickup (1 beat) goes with the first phrase, filled to a whole 4/4 bar by a rest.
    assert first.pairs()[0] == (None, Fraction(3))
    assert without_padding(first) == source_pairs(soprano, 0, 4)
    assert [e.melody.total_quarters % 4 for e in examples] == [0, 0]
    assert sum(len(e.melody.notes) for e in examples) == len(
        [n for n in soprano.stripTies().flatten().notes])
    claims = parse_claims(examples[0].prompt)
    assert claims.meter_options in (None, frozenset({"4/4"}))
    assert report.written == 2 and report.changed["bars_filled_with_a_rest"] == 2
    assert_true_prompts(examples)


def test_top_line_of_the_chorale_is_its_soprano_where_no_voice_crosses_above():
    top, report = run(BACH, bars_per_phrase=4, keep_failing=True)
    soprano, _ = run(BACH, part="1", bars_per_phrase=4, keep_failing=True)
    assert [e.melody for e in top] == [e.melody for e in soprano]
    assert report.changed["notes_under_top_line"] > 0


# --- Humdrum: Beethoven string quartet --------------------------------------------------


def test_beethoven_first_violin_phrase_matches_the_kern_source():
    examples, report = run(BEETHOVEN, part="1", keep_failing=True)
    violin = scores(BEETHOVEN)[0].parts[0]
    assert examples[0].melody.pairs() == source_pairs(violin, 1, 8)
    assert examples[1].melody.pairs()[:6] == source_pairs(violin, 9, 16)[:6]
    assert all(e.melody.total_quarters == 24 for e in examples[:-1])  # 8 bars of 3/4
    assert report.changed["grace_notes_dropped"] > 0 and report.changed["ties_merged"] > 0
    # "Allegro con brio" (metronome 132): any tempo word written is "fast".
    tempos = {parse_claims(e.prompt).tempo for e in examples} - {None}
    assert tempos == {"fast"}
    assert_true_prompts(examples)


def test_an_ambiguous_or_missing_part_names_the_parts():
    with pytest.raises(AugmentError, match="ambiguous; give its number: 1 \\(Violin\\), 2 \\(Violin\\)"):
        run(BEETHOVEN, part="violin")
    with pytest.raises(AugmentError, match="no part 'Oboe'; parts: 1 \\(Soprano\\)"):
        run(BACH, part="Oboe")


# --- ABC: a reel with grace notes, triplets, a pickup and repeats; an Essen book ------------


def test_reel_grace_notes_triplets_pickup_and_repeats():
    examples, report = run(REEL, keep_failing=True)
    assert report.changed["grace_notes_dropped"] == REEL.read_text().count("{")
    assert report.changed["tuplet_notes"] == 9
    assert report.changed["repeat_signs_not_expanded"] == 3
    first = examples[0].melody
    # Pickup: a sixteenth-note triplet (3 x 1/6) after a 1.5-quarter rest fills the 2/4 bar.
    assert first.pairs()[:4] == [(None, Fraction(3, 2)), (62, Fraction(1, 6)), (64, Fraction(1, 6)),
                                 (66, Fraction(1, 6))]
    assert all(e.melody.total_quarters % 2 == 0 for e in examples)
    # The repeat splits bar 8 into two measures; they are read as one bar.
    assert len(examples) == 2 and examples[0].melody.total_quarters == 9 * 2
    part = scores(REEL)[0].parts[0]
    assert without_padding(first) == source_pairs(part, 0, 9)
    assert_true_prompts(examples)


def test_essen_book_reads_every_tune():
    examples, report = run(ESSEN)
    assert report.written == len(examples) >= 8
    assert len(scores(ESSEN)) == 8
    assert {e.source.split("#")[1].split(" ")[0] for e in examples} >= {"0", "1", "2"}
    assert_true_prompts(examples)


# --- MIDI written from a corpus melody -------------------------------------------------------


def test_midi_round_trip_of_a_chorale_soprano(tmp_path: Path):
    soprano = scores(BACH)[0].parts[0]
    excerpt = soprano.measures(1, 8)
    midi = tmp_path / "soprano.mid"
    excerpt.write("midi", fp=str(midi))
    examples, report = run(midi, keep_failing=True)
    assert report.error is None and len(examples) == 1
    assert examples[0].melody.pairs() == source_pairs(soprano, 1, 8)
    assert examples[0].melody.total_quarters == 32
    assert_true_prompts(examples)


# --- the command: output validates, tells the truth and feeds expand ------------------------


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("import") / "seeds.jsonl"
    result = CliRunner().invoke(cli, ["import", str(BACH), str(REEL), str(ESSEN), "-o", str(out),
                                      "--bars", "4", "--system", "You write melodies."])
    assert result.exit_code == 0, result.output
    assert "wrote" in result.output and "grace notes dropped 7" in result.output
    return out


def test_every_written_line_validates_and_tells_the_truth(imported: Path):
    assert [f for f in validate_files([imported], FormatConfig()) if f.severity == "error"] == []
    examples = [ex for _, _, ex, _ in read_examples(imported)]
    assert len(examples) >= 10 and all(ex is not None for ex in examples)
    assert {ex.messages[0].content for ex in examples} == {"You write melodies."}
    assert all(parse_claims(ex.prompt).key is not None for ex in examples)
    assert_true_prompts(examples)
    for ex in examples:
        meters = parse_claims(ex.prompt).meter_options or ()
        for meter in meters:
            num, den = map(int, meter.split("/"))
            assert (ex.melody.total_quarters / Fraction(4 * num, den)).denominator == 1


def test_import_output_is_expand_input(imported: Path, tmp_path: Path):
    config = load_config(ROOT / "rules" / "default.toml")
    config = replace(config, expand=replace(config.expand, variants_per_seed=2))
    result = expand([imported], config, tmp_path / "out")
    assert result.counts["rejected_read"] == 0
    assert sum(result.counts[f"written_{s}"] for s in ("train", "validation", "test")) > 0


def test_import_is_deterministic_and_honours_the_format(tmp_path: Path):
    a, b, c = tmp_path / "a.jsonl", tmp_path / "b.jsonl", tmp_path / "c.jsonl"
    import_files([REEL, BACH], a, Config())
    import_files([REEL, BACH], b, Config())
    assert a.read_bytes() == b.read_bytes()
    rules = tmp_path / "whole.toml"
    rules.write_text('[format]\nduration_unit = "whole"\nrest = "null"\n')
    config = load_config(rules)
    import_files([REEL, BACH], c, config)
    quarter = [ex.melody for _, _, ex, _ in read_examples(a)]
    whole = [ex.melody for _, _, ex, _ in read_examples(c, config.format)]
    assert whole == quarter
    assert "[null, 0.75]" in c.read_text()  # the 3-quarter pickup rest of the chorale


def test_keep_failing_writes_more_but_only_true_prompts(tmp_path: Path):
    strict = replace(Config(), checks=replace(ChecksConfig(), key_tolerance=0.0, allow_relative_key=False,
                                              cadence_tonic_only=True))
    default, report = run(BEETHOVEN, strict, part="1")
    kept, kept_report = run(BEETHOVEN, strict, part="1", keep_failing=True)
    assert len(kept) > len(default) and kept_report.skipped == 0
    assert report.reasons["cadence"] > 0
    assert_true_prompts(kept, strict.checks)
    # Where the detected key is not the best-fitting one, the prompt names no key.
    keyless = [e for e in kept if parse_claims(e.prompt).key is None]
    assert keyless and report.reasons["key_agreement"] == len(keyless)


def test_unreadable_score_is_one_line_and_on_error_skip_goes_on(tmp_path: Path):
    bad = tmp_path / "broken.mid"
    bad.write_bytes(b"not a midi file")
    out = tmp_path / "seeds.jsonl"
    runner = CliRunner()
    result = runner.invoke(cli, ["import", str(bad), str(REEL), "-o", str(out)])
    assert result.exit_code == 2 and not out.exists()
    assert "broken.mid: music21 cannot read it" in result.output
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) == 1
    result = runner.invoke(cli, ["import", str(bad), str(REEL), "-o", str(out), "--on-error", "skip"])
    assert result.exit_code == 0, result.output
    assert "broken.mid: skipped: music21 cannot read it" in result.output
    assert len(out.read_text().splitlines()) == 1


# --- the music side on hand-built streams ----------------------------------------------------


def _part(meter: str, notes: list[Any]) -> Any:
    part = music21.stream.Part()
    part.append(music21.meter.TimeSignature(meter))
    for n in notes:
        part.append(n)
    return part.makeMeasures()


def test_tie_over_a_phrase_end_is_split_and_chords_give_their_top_note():
    tied = [music21.note.Note("C4", quarterLength=2), music21.note.Note("C4", quarterLength=2)]
    tied[0].tie, tied[1].tie = music21.tie.Tie("start"), music21.tie.Tie("stop")
    grace = music21.note.Note("D4").getGrace()
    notes = [music21.note.Note("E4", quarterLength=2), *tied, grace,
             music21.chord.Chord(["C4", "G4"], quarterLength=2), music21.note.Rest(quarterLength=2)]
    part = _part("2/4", notes)
    stats: Counter[str] = Counter()
    events = line_events([part], stats)
    bars = score_bars(part)
    assert [(b.start, b.length) for b in bars] == [(Fraction(2 * i), Fraction(2)) for i in range(5)]
    phrases = cut_phrases(events, bars, bars_per_phrase=2)
    assert [p.melody.pairs() for p in phrases] == [
        [(64, Fraction(2)), (60, Fraction(2))],
        [(60, Fraction(2)), (67, Fraction(2))],
        [(None, Fraction(2))],
    ]
    assert [p.split_notes for p in phrases] == [1, 0, 0]
    # A last phrase under half the length joins the one before: 4 + 1 bars.
    (whole,) = cut_phrases(events, bars, bars_per_phrase=4)
    assert whole.bars == 5 and whole.melody.pairs() == [
        (64, Fraction(2)), (60, Fraction(4)), (67, Fraction(2)), (None, Fraction(2))]
    assert stats == Counter(ties_merged=1, grace_notes_dropped=1, chords_reduced_to_top_note=1)


def test_quintuplets_are_exact_and_the_phrase_reports_them_off_grid():
    notes = [music21.note.Note(60 + i, quarterLength=Fraction(1, 5)) for i in range(5)]
    part = _part("1/4", notes)
    events = line_events([part], Counter())
    phrase = cut_phrases(events, score_bars(part), 8)[0]
    assert phrase.melody.durations == (Fraction(1, 5),) * 5
    assert not phrase.melody.is_on_grid()


def test_an_irregular_bar_drops_the_meter_claim():
    bars = [Bar(Fraction(0), Fraction(4), Fraction(4), (4, 4), 1),
            Bar(Fraction(4), Fraction(3), Fraction(4), (4, 4), 2),
            Bar(Fraction(7), Fraction(4), Fraction(4), (4, 4), 3),
            Bar(Fraction(11), Fraction(4), Fraction(4), (4, 4), 4)]
    phrase = cut_phrases([], bars, 8)[0]
    assert phrase.meter is None and phrase.bars == 4


def test_cli_help_has_an_example():
    result = CliRunner().invoke(cli, ["import", "--help"])
    assert result.exit_code == 0 and "Example: augment import" in result.output


def test_output_is_written_atomically_and_lines_are_json(imported: Path):
    lines = imported.read_text(encoding="utf-8").splitlines()
    assert all(list(json.loads(line)) == ["messages"] for line in lines)
    assert not list(imported.parent.glob(".*.tmp"))


def _meter_change_score() -> Any:
    """Four bars of 3/4, one Essen-style 1/8 fermata bar, five bars of 3/4."""
    part, scale = music21.stream.Part(), [60, 62, 64, 65, 67, 69, 71, 72]
    part.append(music21.meter.TimeSignature("3/4"))
    part.append([music21.note.Note(scale[i % 8], quarterLength=1) for i in range(12)])
    part.append(music21.meter.TimeSignature("1/8"))
    part.append(music21.note.Note(67, quarterLength=0.5))
    part.append(music21.meter.TimeSignature("3/4"))
    part.append([music21.note.Note(scale[(i + 3) % 8], quarterLength=1) for i in range(12)])
    part.append(music21.note.Note(60, quarterLength=3))
    return music21.stream.Score([part.makeMeasures()])


def test_a_brief_meter_change_joins_the_phrase_before_without_a_meter_claim():
    report = FileReport("x")
    examples = import_score(_meter_change_score(), "x", DEFAULTS,
                            ImportOptions(bars_per_phrase=4, keep_failing=True), report, set())
    assert [e.melody.total_quarters for e in examples] == [Fraction(25, 2), 15]
    assert parse_claims(examples[0].prompt).meter_options is None
    assert report.changed["phrases_without_meter"] == 1
    assert_true_prompts(examples)


def test_a_meter_the_prompt_reader_does_not_know_is_left_out_of_the_prompt():
    report = FileReport("x")
    examples = import_score(_meter_change_score(), "x", DEFAULTS,
                            ImportOptions(bars_per_phrase=1, keep_failing=True), report, set())
    fermata = [e for e in examples if e.melody.total_quarters == Fraction(1, 2)]
    assert len(fermata) == 1 and "1/8" not in fermata[0].prompt
    assert set(report.reasons) == {"duplicate"}  # the scale bars repeat; no claim was false
    assert_true_prompts(examples)


def test_a_tune_of_a_book_without_bars_is_reported_and_the_others_go_on(tmp_path: Path):
    book = tmp_path / "book.abc"
    book.write_text("X:1\nT:one\nM:2/4\nL:1/8\nK:C\nCDEF|GABc|cBAG|FEDC|C4|]\n\n"
                    "X:2\nT:two\nM:2/4\nL:1/8\nK:G\nGABc|dcBA|GFED|G4|]\n\n"
                    "X:3\nT:three\n")
    result = import_files([book], tmp_path / "out.jsonl", DEFAULTS, ImportOptions(keep_failing=True))
    (report,) = result.reports
    assert report.tunes == 3 and report.written == 2 and report.error is None
    assert len(report.tune_errors) == 1
    assert "1 tune(s) not read, first: " in report.summary() and "book.abc#3: no bars" in report.summary()


def test_a_part_without_name_or_id_is_listed_as_unnamed_not_by_address():
    from music21 import stream

    from augment.importer import select_parts

    named, bare = stream.Part(), stream.Part()
    named.partName = "Flute"
    assert isinstance(bare.id, int)  # music21's default id: the object's address
    with pytest.raises(AugmentError, match=r"no part '9'; parts: 1 \(Flute\), 2 \(unnamed\)$"):
        select_parts([named, bare], "9", "x.mid")
    assert select_parts([named, bare], "2", "x.mid") == [bare]
