"""The music21 side of ``augment import``: a score's line, its bars, and phrases of whole bars.

``line_events`` reads the top line (the highest sounding note at each onset, over every
part or one part): ties merged, grace notes dropped, chords reduced to their top note,
a note that starts under a higher one still sounding left out. ``score_bars`` reads the
bars from the measures of a reference part and the time signatures: a short first bar is
the pickup, two short measures that make one bar (a repeat sign in mid-bar) are one bar,
a measure of several whole bars (an ABC line break without a bar line) is that many bars.
``cut_phrases`` cuts the line into phrases of whole bars; a pickup goes with the first
phrase, a lasting meter change starts a new phrase, and a short pickup or final bar is filled
with a rest so that every phrase fills whole bars of its meter (the engine's bar
arithmetic assumes a melody starts on a downbeat). Offsets and durations are exact
Fractions of a quarter note.
"""

from __future__ import annotations

import bisect
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from .melody import GRID_QUARTER, Melody
from .prompt import parse_claims

Meter = tuple[int, int]


@dataclass(frozen=True, slots=True)
class Event:
    """One note of the line: onset and end in quarters from the start, MIDI pitch."""

    onset: Fraction
    end: Fraction
    pitch: int


@dataclass(frozen=True, slots=True)
class Bar:
    """A bar: where it starts, how long it is, how long its time signature says it should
    be (``full``), the meter (None without a time signature) and its first measure number."""

    start: Fraction
    length: Fraction
    full: Fraction
    meter: Meter | None
    number: int

    @property
    def end(self) -> Fraction:
        return self.start + self.length


@dataclass(frozen=True, slots=True)
class Phrase:
    """Whole bars of the line. ``meter`` is None when its bars differ in meter or one is
    irregular (neither a pickup nor the final bar, and not the length its time signature says)."""

    melody: Melody
    meter: Meter | None
    bars: int
    first_measure: int
    last_measure: int
    start: Fraction
    padded_quarters: Fraction
    split_notes: int


def _q(value: Any) -> Fraction:
    """A music21 offset or quarterLength (float or Fraction) as an exact Fraction."""
    return value if isinstance(value, Fraction) else Fraction(value)


def _top_tie(note: Any) -> str | None:
    """The tie type of a note, or of a chord's top note."""
    if getattr(note, "isChord", False):
        top = max(note.notes, key=lambda n: n.pitch.midi)
        tie = top.tie or note.tie
    else:
        tie = note.tie
    return None if tie is None else str(tie.type)


def part_events(part: Any, stats: Counter[str]) -> list[Event]:
    """The notes of one part (every voice), ties merged, grace notes and unpitched notes
    dropped, each chord as its top note; counts what was changed into ``stats``."""
    events: list[Event] = []
    open_ties: dict[int, int] = {}  # pitch -> index of the event a tie continues
    for n in part.flatten().notes:
        length = _q(n.quarterLength)
        if n.duration.isGrace or length <= 0:
            stats["grace_notes_dropped"] += 1
            continue
        pitches = [int(p.midi) for p in getattr(n, "pitches", ())]
        if not pitches:
            stats["unpitched_notes_dropped"] += 1
            continue
        if len(pitches) > 1:
            stats["chords_reduced_to_top_note"] += 1
        if n.duration.tuplets:
            stats["tuplet_notes"] += 1
        pitch, onset = max(pitches), _q(n.offset)
        tie = _top_tie(n)
        previous = open_ties.pop(pitch, None)
        if tie in ("stop", "continue") and previous is not None and events[previous].end == onset:
            stats["ties_merged"] += 1
            events[previous] = Event(events[previous].onset, onset + length, pitch)
            if tie == "continue":
                open_ties[pitch] = previous
            continue
        events.append(Event(onset, onset + length, pitch))
        if tie in ("start", "continue"):
            open_ties[pitch] = len(events) - 1
    return events


def skyline(events: Sequence[Event], stats: Counter[str]) -> list[Event]:
    """The highest sounding note at each onset: a note that starts while a higher or equal
    one still sounds is left out (counted as ``notes_under_top_line``); a higher one cuts
    the sounding note short. When a note ends the line rests until the next onset."""
    best: dict[Fraction, Event] = {}
    for e in events:
        held = best.get(e.onset)
        if held is None or (e.pitch, e.end) > (held.pitch, held.end):
            best[e.onset] = e
    line: list[Event] = []
    for onset in sorted(best):
        e = best[onset]
        if line and line[-1].end > onset:
            if line[-1].pitch >= e.pitch:
                stats["notes_under_top_line"] += 1
                continue
            last = line[-1]
            line[-1] = Event(last.onset, onset, last.pitch)
        line.append(e)
    return line


def line_events(parts: Sequence[Any], stats: Counter[str]) -> list[Event]:
    """The top line over ``parts`` (one part: that part's own line, chords to top notes)."""
    events = [e for part in parts for e in part_events(part, stats)]
    return skyline(events, stats)


def _time_signature(measure: Any) -> Any:
    ts = measure.timeSignature
    if ts is None:
        from music21 import meter

        ts = measure.getContextByClass(meter.TimeSignature)
    return ts


def score_bars(part: Any) -> list[Bar]:
    """The bars of ``part``'s measures (empty when it has none); see the module docstring."""
    measures = list(part.getElementsByClass("Measure"))
    if not measures:
        return []
    starts = [_q(m.offset) for m in measures]
    starts.append(starts[-1] + _q(measures[-1].duration.quarterLength))
    bars: list[Bar] = []
    ts = _time_signature(measures[0])
    acc: list[tuple[Fraction, Fraction, int]] = []  # (start, length, number) waiting to fill a bar

    def flush(full: Fraction, meter: Meter | None) -> None:
        if acc:
            bars.append(Bar(acc[0][0], sum((a[1] for a in acc), Fraction(0)), full, meter, acc[0][2]))
            acc.clear()

    full, meter = Fraction(0), None
    for i, m in enumerate(measures):
        if m.timeSignature is not None and i:
            flush(full, meter)
            ts = m.timeSignature
        length = starts[i + 1] - starts[i]
        if length <= 0:
            continue
        meter = (int(ts.numerator), int(ts.denominator)) if ts is not None else None
        full = _q(ts.barDuration.quarterLength) if ts is not None else length
        waiting = sum((a[1] for a in acc), Fraction(0))
        if acc and waiting + length > full:
            flush(full, meter)
            waiting = Fraction(0)
        if not acc and length > full and (length / full).denominator == 1:
            # Several bars in one measure (an ABC line break without a bar line).
            bars.extend(Bar(starts[i] + k * full, full, full, meter, int(m.number))
                        for k in range(int(length / full)))
            continue
        acc.append((starts[i], length, int(m.number)))
        if waiting + length >= full or (i == 0 and length < full):
            flush(full, meter)
    flush(full, meter)
    return bars


def _group_bars(bars: Sequence[Bar], bars_per_phrase: int) -> list[list[Bar]]:
    """Consecutive bars, ``bars_per_phrase`` to a group (a pickup bar extra in the first),
    a new group at every meter change; a group of under half that many bars (the last one,
    or a brief change of meter) joins the one before."""
    groups: list[list[Bar]] = []
    counted = 0
    for i, bar in enumerate(bars):
        pickup = i == 0 and bar.length < bar.full and len(bars) > 1
        new_meter = bool(groups) and groups[-1][-1].meter != bar.meter
        if not groups or new_meter or counted == bars_per_phrase:
            groups.append([])
            counted = 0
        groups[-1].append(bar)
        counted += 0 if pickup else 1
    joined = groups[:1]
    for group in groups[1:]:
        if 2 * len(group) < bars_per_phrase:
            joined[-1] = joined[-1] + group  # too short to stand alone: joins the one before
        else:
            joined.append(group)
    return joined


def _append(pairs: list[tuple[int | None, Fraction]], pitch: int | None, length: Fraction) -> None:
    if length <= 0:
        return
    if pitch is None and pairs and pairs[-1][0] is None:
        pairs[-1] = (None, pairs[-1][1] + length)
    else:
        pairs.append((pitch, length))


def _clip(events: Sequence[Event], onsets: Sequence[Fraction], start: Fraction, end: Fraction
          ) -> tuple[list[tuple[int | None, Fraction]], int]:
    """The line between ``start`` and ``end`` as (pitch, duration) pairs, rests merged, and
    how many notes were cut at ``end`` (tied over into the next phrase)."""
    pairs: list[tuple[int | None, Fraction]] = []
    i = max(bisect.bisect_right(onsets, start) - 1, 0)
    at, split = start, 0
    while i < len(events) and events[i].onset < end:
        e = events[i]
        i += 1
        if e.end <= start:
            continue
        onset = max(e.onset, start)
        _append(pairs, None, onset - at)
        _append(pairs, e.pitch, min(e.end, end) - onset)
        split += int(e.end > end)
        at = min(e.end, end)
    _append(pairs, None, end - at)
    return pairs, split


def cut_phrases(events: Sequence[Event], bars: Sequence[Bar], bars_per_phrase: int) -> list[Phrase]:
    """Phrases of whole bars over the line; see the module docstring."""
    onsets = [e.onset for e in events]
    phrases = []
    for group in _group_bars(bars, bars_per_phrase):
        pairs, split = _clip(events, onsets, group[0].start, group[-1].end)
        first, last = group[0], group[-1]
        lead = first.full - first.length if first is bars[0] and first.length < first.full else Fraction(0)
        tail = last.full - last.length if last is bars[-1] and last.length < last.full else Fraction(0)
        if lead:
            pairs = [(None, lead), *pairs]
            if len(pairs) > 1 and pairs[1][0] is None:
                pairs[0:2] = [(None, lead + pairs[1][1])]
        if tail:
            _append(pairs, None, tail)
        inner = [b for b in group if b.length != b.full and not (b is bars[0] or b is bars[-1])]
        regular = (not inner and first.meter is not None and all(b.length <= b.full for b in group)
                   and len({b.meter for b in group}) == 1)
        phrases.append(Phrase(
            melody=Melody(tuple(p for p, _ in pairs), tuple(d for _, d in pairs)),
            meter=first.meter if regular else None, bars=len(group),
            first_measure=first.number, last_measure=last.number, start=first.start,
            padded_quarters=lead + tail, split_notes=split))
    return phrases


def off_grid_durations(melody: Melody) -> int:
    """How many durations are off the 1/48-quarter grid (tuplets finer than 64th triplets)."""
    return sum((d / GRID_QUARTER).denominator != 1 for d in melody.durations)


def tempo_marks(parts: Sequence[Any]) -> list[tuple[Fraction, str]]:
    """(offset, 'slow'/'moderate'/'fast') for each tempo marking whose words (or, for a
    bare metronome number, music21's word for it) name a tempo, by offset."""
    from music21 import tempo

    marks = set()
    for part in parts:
        for mark in part.flatten().getElementsByClass(tempo.TempoIndication):
            text = getattr(mark, "text", None)
            word = parse_claims(str(text)).tempo if text else None
            if word is not None:
                marks.add((_q(mark.offset), word))
    return sorted(marks)


def tempo_at(marks: Sequence[tuple[Fraction, str]], offset: Fraction) -> str | None:
    """The tempo word in force at ``offset`` (the last marking at or before it)."""
    i = bisect.bisect_right([m[0] for m in marks], offset)
    return marks[i - 1][1] if i else None
