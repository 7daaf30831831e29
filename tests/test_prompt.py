"""Claims in a prompt (key, meter, tempo, length), their truthful rewriting, and templates."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from augment.errors import AugmentError
from augment.prompt import Tonality, find_key_claims, parse_claims, rewrite_key, stated_key
from augment.prompt_rewrite import RewriteError, rewrite_claims
from augment.prompt_template import render_template, rendered_claims, template_facts, template_fields
from augment.theory import Key

ALL_KEYS = [Key(t, m) for m in ("major", "minor") for t in range(12)]
CHURCH = ("ionian", "dorian", "phrygian", "lydian", "mixolydian", "aeolian", "locrian")


def key_summary(prompt: str) -> list[tuple[str, int | None, str | None]]:
    return [(c.text, c.tonic, c.mode) for c in find_key_claims(prompt)]


# --- key claims ---------------------------------------------------------------------

@pytest.mark.parametrize(("prompt", "text", "tonic", "mode"), [
    ("Generate a melody in C major.", "C major", 0, "major"),
    ("a theme in c minor", "c minor", 0, "minor"),
    ("Write a slow melody in E-flat major.", "E-flat major", 3, "major"),
    ("Something in E♭ major", "E♭ major", 3, "major"),
    ("Something in E flat minor", "E flat minor", 3, "minor"),
    ("Waltz in F sharp minor", "F sharp minor", 6, "minor"),
    ("Waltz in F♯ minor", "F♯ minor", 6, "minor"),
    ("Bb major scale tune", "Bb major", 10, "major"),
    ("Something in C# minor", "C# minor", 1, "minor"),
    ("in the key of G major", "G major", 7, "major"),
    ("a tune in Gb major", "Gb major", 6, "major"),
    ("A-flat major, please", "A-flat major", 8, "major"),
    ("in g MAJOR", "g MAJOR", 7, "major"),
    ("a Cmaj melody", "Cmaj", 0, "major"),
    ("Compose in a minor.", "a minor", 9, "minor"),
    ("Compose in a minor, with a rising line", "a minor", 9, "minor"),
    ("Write it in A minor with feeling", "A minor", 9, "minor"),
    ("A minor, please.", "A minor", 9, "minor"),
    ("An A-minor melody", "A-minor", 9, "minor"),
    ("A-minor melody for strings", "A-minor", 9, "minor"),
    ("the key of A major", "A major", 9, "major"),
    ("Write a tune in D dorian.", "D dorian", 2, "dorian"),
    ("E Phrygian riff", "E Phrygian", 4, "phrygian"),
    ("F lydian, bright", "F lydian", 5, "lydian"),
    ("a G mixolydian reel", "G mixolydian", 7, "mixolydian"),
    ("B locrian study", "B locrian", 11, "locrian"),
    ("C ionian hymn", "C ionian", 0, "ionian"),
    ("A aeolian lament", "A aeolian", 9, "aeolian"),
    ("Write a melody in C.", "C", 0, None),
    ("In G, write a jig", "G", 7, None),
    ("Write it in the key of G", "G", 7, None),
    ("Write it in the key of B-flat, gently", "B-flat", 10, None),
    ("A short piece in Eb", "Eb", 3, None),
    ("A short piece in E♭.", "E♭", 3, None),
    ("Make it A-flat throughout", "A-flat", 8, None),
    ("Eb, slow", "Eb", 3, None),
    ("Key: D", "D", 2, None),
    ("key of F#", "F#", 6, None),
    ("in A flat, please", "A flat", 8, None),
    ("a minor-key tune", "minor", None, "minor"),
    ("a melody in a major key", "major", None, "major"),
    ("Something in minor.", "minor", None, "minor"),
    ("in the dorian mode", "dorian", None, "dorian"),
])
def test_key_spellings_are_claims(prompt: str, text: str, tonic: int | None, mode: str | None) -> None:
    assert key_summary(prompt) == [(text, tonic, mode)]
    claim = find_key_claims(prompt)[0]
    assert prompt[claim.start:claim.end] == claim.text


@pytest.mark.parametrize("prompt", [
    "Write a melody.", "Be creative!", "A short piece.", "I want a B section.",
    "E.g. something calm.", "e.g. a lullaby", "A melody, then a B section, then A again.",
    "Play it in a happy mood", "in the B part", "Write it in A section form", "Plan B",
    "A flat melody without much shape", "A sharp contrast between phrases",
    "A solo for Bb clarinet", "Horn in F, slow and noble", "trumpet in Bb", "an Eb alto sax line",
    "Use the ABC form", "Be bold. Do it.", "C'mon, write something", "I'd like a tune",
    "a major change of mood", "Compose a minor variation", "AB form", "G-d", "Add a coda.",
])
def test_ordinary_words_are_not_keys(prompt: str) -> None:
    assert [c for c in find_key_claims(prompt) if c.tonic is not None] == []
    assert stated_key(prompt) is None


@pytest.mark.parametrize("prompt", [
    "A minor melody for strings.", "A major theme with variations.", "Compose a minor melody.",
    "compose a major theme",
])
def test_article_or_key_is_recorded_as_ambiguous_not_guessed(prompt: str) -> None:
    claims = parse_claims(prompt)
    assert claims.key is None
    assert [a.kind for a in claims.ambiguous] == ["key"]
    assert claims.ambiguous[0].reading in (Key(9, "minor"), Key(9, "major"))


def test_stated_key_needs_one_key_and_allows_repeats() -> None:
    assert stated_key("Generate a melody in C major.") == Key(0, "major")
    assert stated_key("C major, then more C major") == Key(0, "major")
    assert stated_key("Start in C major, modulate to G major") is None
    assert stated_key("D dorian tune") is None  # a church mode is not a major/minor key
    assert stated_key("C ionian hymn") == Key(0, "major")
    assert stated_key(None) is None and stated_key("") is None


def test_tonality_and_claim_views() -> None:
    claims = parse_claims("In the key of D, a tune in the dorian mode")
    assert (claims.tonic, claims.mode, claims.key) == (2, "dorian", None)
    assert Tonality(3, "dorian").name == "Eb dorian"
    assert Tonality(1, "dorian").name == "C# dorian"  # C# dorian lies in B major: sharps
    assert Tonality(11, "phrygian").transposed(1) == Tonality(0, "phrygian")
    assert Tonality(9, "aeolian").key == Key(9, "minor")


# --- meter, tempo, length -----------------------------------------------------------

@pytest.mark.parametrize(("prompt", "text", "meters"), [
    ("a melody in G major in 3/4", "3/4", ("3/4",)),
    ("in 6/8, please", "6/8", ("6/8",)),
    ("a 12/8 lilt", "12/8", ("12/8",)),
    ("in three-four time", "three-four", ("3/4",)),
    ("in six eight time", "six eight", ("6/8",)),
    ("something in three", "three", ("3/4", "3/8", "3/2", "9/8")),
    ("Something in 3.", "3", ("3/4", "3/8", "3/2", "9/8")),
    ("in two, with a bounce", "two", ("2/4", "2/2", "6/8")),
    ("a graceful waltz", "waltz", ("3/4",)),
    ("two Waltzes", "Waltzes", ("3/4",)),
    ("in waltz time", "waltz time", ("3/4",)),
    ("in common time", "common time", ("4/4",)),
    ("in cut time", "cut time", ("2/2",)),
    ("alla breve", "alla breve", ("2/2",)),
    ("a stately minuet", "minuet", ("3/4",)),
    ("an Irish jig", "jig", ("6/8",)),
    ("a slip jig", "slip jig", ("9/8",)),
    ("a march for band", "march", ("2/4", "4/4")),
    ("March for band.", "March", ("2/4", "4/4")),
    ("a fiddle reel", "reel", ("4/4", "2/2")),
    ("in triple meter", "triple meter", ("3/4", "3/8", "3/2")),
    ("compound duple time", "compound duple time", ("6/8",)),
])
def test_meter_claims(prompt: str, text: str, meters: tuple[str, ...]) -> None:
    claims = parse_claims(prompt).meters
    assert [(c.text, c.meters) for c in claims] == [(text, meters)]
    assert prompt[claims[0].start:claims[0].end] == text
    assert claims[0].ambiguous == (len(meters) > 1)


@pytest.mark.parametrize("prompt", [
    "use 1/2 notes", "dated 3/4/2021", "in three parts", "in 3 voices", "written in March",
    "marching band feel", "16th notes", "a triple jump", "in four bars", "ratio 3/5",
])
def test_not_meter_claims(prompt: str) -> None:
    assert parse_claims(prompt).meters == ()


@pytest.mark.parametrize(("prompt", "text", "tempo", "form"), [
    ("Largo", "Largo", "slow", "italian"), ("an Adagio", "Adagio", "slow", "italian"),
    ("Andante", "Andante", "moderate", "italian"), ("Moderato", "Moderato", "moderate", "italian"),
    ("Allegretto", "Allegretto", "moderate", "italian"), ("allegro", "allegro", "fast", "italian"),
    ("Vivace!", "Vivace", "fast", "italian"), ("Presto", "Presto", "fast", "italian"),
    ("molto Allegro", "molto Allegro", "fast", "italian"),
    ("Allegro ma non troppo, in D", "Allegro ma non troppo", "fast", "italian"),
    ("Allegro moderato", "Allegro moderato", "moderate", "italian"),
    ("Andante con moto", "Andante con moto", "moderate", "italian"),
    ("a slow tune", "slow", "slow", "adjective"), ("lively!", "lively", "fast", "adjective"),
    ("play it fast", "fast", "fast", "adjective"), ("Slowly", "Slowly", "slow", "adverb"),
    ("a gentle tune", "gentle", None, "adjective"), ("stormy", "stormy", None, "adjective"),
])
def test_tempo_claims(prompt: str, text: str, tempo: str | None, form: str) -> None:
    claims = parse_claims(prompt).tempos
    assert [(c.text, c.tempo, c.form) for c in claims] == [(text, tempo, form)]


def test_unknown_words_are_left_alone() -> None:
    claims = parse_claims("a flibbertigibbet, zorbulous ditty for the snarkophone")
    assert claims.all() == [] and claims.ambiguous == ()
    prompt = "a zorbulous ditty in C major"
    assert rewrite_claims(prompt, key=Key(2, "major"), tempo="fast") == "a zorbulous ditty in D major"


@pytest.mark.parametrize(("prompt", "text", "unit", "count", "relation"), [
    ("write 8 bars", "8 bars", "bars", 8, "=="), ("an eight-bar tune", "eight-bar", "bars", 8, "=="),
    ("16 notes long", "16 notes", "notes", 16, "=="),
    ("a 4-measure phrase", "4-measure", "bars", 4, "=="),
    ("Twelve bars of blues", "Twelve bars", "bars", 12, "=="),
    ("twenty-four notes", "twenty-four notes", "notes", 24, "=="),
    ("a 16-note melody", "16-note", "notes", 16, "=="), ("one bar", "one bar", "bars", 1, "=="),
    ("at most 20 notes", "20 notes", "notes", 20, "<="),
    ("no more than 8 bars", "8 bars", "bars", 8, "<="),
    ("under 16 notes", "16 notes", "notes", 16, "<"),
    ("at least 4 bars", "4 bars", "bars", 4, ">="),
    ("about 16 notes", "16 notes", "notes", 16, "~"),
])
def test_length_counts(prompt: str, text: str, unit: str, count: int, relation: str) -> None:
    claims = parse_claims(prompt).lengths
    assert [(c.text, c.unit, c.count, c.relation) for c in claims] == [(text, unit, count, relation)]


@pytest.mark.parametrize(("prompt", "size"), [
    ("A short piece", "short"), ("a brief tune", "short"), ("a long melody", "long"),
    ("a lengthy, winding line", "long"),
])
def test_length_sizes(prompt: str, size: str) -> None:
    assert [(c.size, c.count) for c in parse_claims(prompt).lengths] == [(size, None)]


@pytest.mark.parametrize("prompt", [
    "use 16th notes", "eighth notes throughout", "end on the last two notes", "two notes per bar",
    "a rising three-note motif", "short notes and long rests", "as long as you like",
    "the first 4 bars rise", "a 2-bar intro", "quarter notes",
])
def test_not_length_claims(prompt: str) -> None:
    assert parse_claims(prompt).lengths == ()


def test_length_of_parts_is_ambiguous() -> None:
    claims = parse_claims("two 4-bar phrases")
    assert claims.lengths == () and [(a.kind, a.reading) for a in claims.ambiguous] == [("bars", 8)]
    assert rewrite_claims("two 4-bar phrases", bars=8) == "two 4-bar phrases"
    with pytest.raises(RewriteError, match="reprompt: .*4-bar"):
        rewrite_claims("two 4-bar phrases", bars=12)


def test_seed_prompts_parse_as_musicians_read_them() -> None:
    c = parse_claims("Compose a graceful minuet melody in G major in 3/4.")
    assert (c.key, c.meter_options, c.tempo) == (Key(7, "major"), frozenset({"3/4"}), None)
    c = parse_claims("Write a pastoral melody in F major in 6/8, 8 bars, Andante.")
    assert (c.key, c.meter_options, c.bars, c.tempo) == (Key(5, "major"), frozenset({"6/8"}), 8, "moderate")
    assert parse_claims("A march in 2/4").meter_options == frozenset({"2/4"})


# --- rewriting ----------------------------------------------------------------------

@pytest.mark.parametrize(("prompt", "key", "expected"), [
    ("Write a melody in E-flat major.", Key(1, "major"), "Write a melody in D-flat major."),
    ("Write a melody in Eb major.", Key(1, "major"), "Write a melody in Db major."),
    ("Write a melody in E♭ major.", Key(1, "major"), "Write a melody in D♭ major."),
    ("Write a melody in E flat major.", Key(6, "minor"), "Write a melody in F sharp minor."),
    ("in c minor", Key(2, "minor"), "in d minor"),
    ("in C MAJOR", Key(2, "major"), "in D MAJOR"),
    ("in F sharp Minor", Key(8, "minor"), "in G sharp Minor"),
    ("in C major, an E-flat major middle", Key(7, "major"), "in G major, a G major middle"),
    ("in Cmaj", Key(3, "major"), "in E-flat maj".replace("E-flat ", "Eb")),
    ("A tune in C, in the key of C", Key(3, "minor"), "A tune in Eb, in the key of Eb"),
    ("Write in E-flat major, ending in C", Key(2, "major"), "Write in D major, ending in D"),
    ("in C major (a minor-key middle? no: a major-key one)", Key(9, "minor"),
     "in A minor (a minor-key middle? no: a minor-key one)"),
    ("Write a tune in D dorian.", Tonality(4, "dorian"), "Write a tune in E dorian."),
    ("Write a tune in D dorian.", Key(4, "minor"), "Write a tune in E minor."),
    ("Write a tune in D minor.", Tonality(3, "dorian"), "Write a tune in Eb dorian."),
    ("in E-flat major", Key(1, "minor"), "in C-sharp minor"),
])
def test_rewrite_key_keeps_style_and_other_words(prompt: str, key: Key | Tonality, expected: str) -> None:
    assert rewrite_claims(prompt, key=key) == expected


@pytest.mark.parametrize(("prompt", "key", "expected"), [
    ("Write an E-flat major theme.", Key(2, "major"), "Write a D major theme."),
    ("Write a C major theme.", Key(9, "major"), "Write an A major theme."),
    ("An E-flat major theme.", Key(2, "major"), "A D major theme."),
    ("a C major tune", Key(5, "major"), "an F major tune"),
    ("an E minor tune", Key(4, "major"), "an E major tune"),
    ("a melody in C major", Key(9, "major"), "a melody in A major"),
    ("A tune in Eb", Key(4, "major"), "A tune in E"),
])
def test_rewrite_fixes_the_article(prompt: str, key: Key, expected: str) -> None:
    assert rewrite_claims(prompt, key=key) == expected


@pytest.mark.parametrize(("prompt", "kwargs", "expected"), [
    ("an eight-bar tune", {"bars": 12}, "a twelve-bar tune"),
    ("an 8-bar tune", {"bars": 4}, "a 4-bar tune"),
    ("a 4-measure phrase", {"bars": 8}, "an 8-measure phrase"),
    ("Eight bars, 16 notes", {"bars": 1, "notes": 11}, "One bar, 11 notes"),
    ("write 8 bars", {"bars": 8}, "write 8 bars"),
    ("at most 16 notes", {"notes": 12}, "at most 16 notes"),
    ("at most 16 notes", {"notes": 20}, "at most 20 notes"),
    ("under 16 notes", {"notes": 16}, "under 17 notes"),
    ("in 3/4", {"meter": "6/8"}, "in 6/8"),
    ("in three-four time", {"meter": "2/4"}, "in two-four time"),
    ("Something in three.", {"meter": "2/4"}, "Something in two."),
    ("Something in 3.", {"meter": "12/8"}, "Something in 4."),
    ("in three", {"meter": "3/8"}, "in three"),
    ("in common time", {"meter": "2/2"}, "in cut time"),
    ("in triple meter", {"meter": "6/8"}, "in compound duple meter"),
    ("a march", {"meter": "2/4"}, "a march"),
    ("Allegro ma non troppo, lively and gentle", {"tempo": "slow"}, "Adagio, slow and gentle"),
    ("an Allegro", {"tempo": "slow"}, "an Adagio"),
    ("an Allegro", {"tempo": "fast"}, "an Allegro"),
    ("Slowly, gently", {"tempo": "fast"}, "Quickly, gently"),
    ("a stormy tune", {"tempo": "slow"}, "a stormy tune"),
])
def test_rewrite_meter_length_tempo(prompt: str, kwargs: dict[str, object], expected: str) -> None:
    assert rewrite_claims(prompt, **kwargs) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(("prompt", "meter", "says"), [
    ("A waltz in G major", "4/4", "waltz"), ("a lively jig", "3/4", "jig"),
    ("a march", "3/4", "march"), ("a minuet", "6/8", "minuet"), ("in three", "5/4", "three"),
])
def test_claims_that_cannot_be_reworded_raise_a_rejection_reason(prompt: str, meter: str, says: str) -> None:
    with pytest.raises(RewriteError) as info:
        rewrite_claims(prompt, meter=meter)
    reason = info.value.reason
    assert reason.startswith("reprompt: ") and says in reason and meter in reason
    assert isinstance(info.value, AugmentError)


def test_malformed_values_are_errors() -> None:
    with pytest.raises(AugmentError, match="time signature"):
        rewrite_claims("in 3/4", meter="3-4")
    with pytest.raises(AugmentError, match="tempo"):
        rewrite_claims("slow", tempo="medium")


def test_unchanged_claims_are_not_touched() -> None:
    prompt = "Write an 8-bar D# minor tune in 3/4, Allegro; E-flat minor is fine too."
    assert rewrite_claims(prompt, key=Key(3, "minor"), meter="3/4", bars=8, tempo="fast") == prompt
    assert rewrite_claims(prompt) == prompt


def test_rewrite_key_is_a_thin_wrapper() -> None:
    prompt = "Write a slow, singing melody in E-flat major."
    assert rewrite_key(prompt, Key(2, "major")) == rewrite_claims(prompt, key=Key(2, "major"))


# Prompt styles with one key claim; "{k}" marks where it is.
STYLES = [
    "Generate a melody in C major.", "Write an E-flat major theme.", "compose in c minor, please",
    "Write a slow, singing melody in E♭ major.", "In the key of F sharp minor, write a tune.",
    "A lively jig in Bb major, 8 bars.", "Key: D minor. Go!", "C major melody for strings.",
    "Write a c minor melody.", "Theme in A major; keep it in A major throughout.",
    "An A-flat major hymn.", "G MAJOR, in 3/4", "Write something in g minor",
]


def _skeleton(prompt: str) -> str:
    """The prompt with key claims blanked and a/an unified: what a key rewrite must keep."""
    claims = find_key_claims(prompt)
    for c in reversed(claims):
        prompt = prompt[:c.start] + "<K>" + prompt[c.end:]
    return re.sub(r"\b([Aa])n(?=\s+<K>)", r"\1", prompt)


@pytest.mark.parametrize("prompt", STYLES)
@pytest.mark.parametrize("key", ALL_KEYS, ids=lambda k: k.name.replace(" ", "_"))
def test_round_trip_every_key_and_style(prompt: str, key: Key) -> None:
    out = rewrite_claims(prompt, key=key)
    assert parse_claims(out).key == key, out
    assert _skeleton(out) == _skeleton(prompt)


@pytest.mark.parametrize("mode", CHURCH)
def test_round_trip_church_modes(mode: str) -> None:
    for tonic in range(12):
        out = rewrite_claims("Write a tune in D dorian.", key=Tonality(tonic, mode))
        assert (parse_claims(out).tonic, parse_claims(out).keys[0].mode) == (tonic, mode), out


_FILLER = st.lists(st.sampled_from(["Write", "a", "tune", "please", "with", "the", "melody", "and",
                                    "bright", "for", "strings", "B", "section", "in", "Be", ","]),
                   max_size=6).map(" ".join)


@settings(max_examples=200, deadline=None)
@given(before=_FILLER, after=_FILLER, start=st.sampled_from(ALL_KEYS), target=st.sampled_from(ALL_KEYS),
       spelling=st.sampled_from(["ascii", "word", "symbol"]))
def test_rewrite_moves_only_the_key(before: str, after: str, start: Key, target: Key, spelling: str) -> None:
    flat, sharp = {"word": ("-flat ", "-sharp "), "symbol": ("♭ ", "♯ "), "ascii": ("b ", "# ")}[spelling]
    name = start.name.replace("b ", flat).replace("# ", sharp)
    prompt = f"{before} — {name} — {after}"
    if [c.key for c in find_key_claims(prompt)] != [start]:  # the filler made a claim too ("in B")
        return
    out = rewrite_claims(prompt, key=target)
    assert parse_claims(out).key == target
    assert out.startswith(f"{before} — ") and out.endswith(f" — {after}")


def test_ambiguous_key_is_rewritten_so_it_reads_as_a_key() -> None:
    out = rewrite_claims("C minor melody for strings.", key=Key(9, "minor"))
    assert out == "A-minor melody for strings." and parse_claims(out).key == Key(9, "minor")
    assert rewrite_claims("compose a c minor melody", key=Key(9, "minor")) == "compose an A minor melody"
    assert rewrite_claims("A minor melody.", key=Key(0, "minor")) == "C minor melody."


# --- templates ----------------------------------------------------------------------

def test_template_renders_facts_and_fixes_articles() -> None:
    facts = template_facts(key=Key(9, "minor"), meter="3/4", bars=8, notes=24, tempo="slow")
    assert facts == {"key": "A minor", "tonic": "A", "mode": "minor", "meter": "3/4",
                     "bars": "8", "notes": "24", "tempo": "slow"}
    template = "Write a {key} melody in {meter}: a {bars}-bar, {tempo} tune of {notes} notes."
    text = render_template(template, facts)
    assert text == "Write an A minor melody in 3/4: an 8-bar, slow tune of 24 notes."
    assert render_template("A {tonic} {mode} tune {{literal}}", facts) == "An A minor tune {literal}"


@pytest.mark.parametrize("key", ALL_KEYS, ids=lambda k: k.name.replace(" ", "_"))
def test_rendered_template_claims_match_the_facts(key: Key) -> None:
    facts = template_facts(key=key, meter="6/8", bars=12, notes=30, tempo="fast")
    for template in ("Write a {key} melody in {meter}, {bars} bars.",
                     "{key}, please: {notes} notes, {tempo}.", "A {tonic} {mode} jig of {bars} bars"):
        text, claims = rendered_claims(template, facts)
        assert claims.key == key, text
        assert claims.meter_options in (None, frozenset({"6/8"}))
        assert claims.bars in (None, 12) and claims.notes in (None, 30) and claims.tempo in (None, "fast")


def test_template_errors_name_the_placeholder() -> None:
    unknown = r"rules/x.toml: unknown placeholder \{keys\}.*did you mean \{key\}"
    with pytest.raises(AugmentError, match=unknown):
        template_fields("a {keys} tune", where="rules/x.toml")
    with pytest.raises(AugmentError, match=r"needs \{meter\}"):
        render_template("in {meter}", template_facts(key=Key(0, "major")))
    with pytest.raises(AugmentError, match="format spec"):
        template_fields("{bars:>3} bars")
    with pytest.raises(AugmentError, match="template"):
        template_fields("unclosed {key")
    assert template_fields("a {key} in {meter}") == {"key", "meter"}


def test_template_claims_tell_the_truth_check_what_it_says() -> None:
    text, claims = rendered_claims("A waltz in {key}", template_facts(key=Key(3, "major")))
    assert text == "A waltz in Eb major"
    assert claims.meter_options == frozenset({"3/4"}) and claims.key == Key(3, "major")


# --- invariants ---------------------------------------------------------------------

_BITS = ["Write", "a", "an", "A", "melody", "in", "C major", "E-flat major", "Eb", "E♭", "f sharp minor",
         "the key of G", "in C", "D dorian", "a minor", "A minor", "minor-key", "3/4", "6/8", "in three",
         "waltz", "march", "common time", "Allegro", "molto Adagio", "slow", "lively", "gentle", "8 bars",
         "eight-bar", "16 notes", "a 4-measure phrase", "short", "two 4-bar phrases", "at most 20 notes",
         ",", ".", "B section", "Be", "E.g.", "for Bb clarinet", "horn in F", "under 12 notes", "in two"]


@settings(max_examples=300, deadline=None)
@given(words=st.lists(st.sampled_from(_BITS), min_size=1, max_size=12), key=st.sampled_from(ALL_KEYS),
       meter=st.sampled_from(["3/4", "4/4", "6/8", "2/4", "2/2"]), bars=st.integers(1, 16),
       tempo=st.sampled_from(["slow", "moderate", "fast"]))
def test_a_rewrite_is_true_or_refused(words: list[str], key: Key, meter: str, bars: int, tempo: str) -> None:
    """Whatever the prompt, a rewrite either makes every claim true or raises RewriteError."""
    prompt = " ".join(words)
    try:
        out = rewrite_claims(prompt, key=key, meter=meter, bars=bars, tempo=tempo)
    except RewriteError as error:
        assert error.reason.startswith("reprompt: ")
        return
    claims = parse_claims(out)
    assert all(c.tonic in (None, key.tonic) and c.mode in (None, key.mode) for c in claims.keys), out
    assert all(meter in c.meters for c in claims.meters), out
    assert all(c.count == bars for c in claims.lengths if c.unit == "bars" and c.relation == "=="), out
    assert all(c.tempo in (None, tempo) for c in claims.tempos), out
    if parse_claims(prompt).key is not None:
        assert claims.key == key, out


def test_a_key_rewritten_at_a_sentence_start_still_states_the_key() -> None:
    """Found by the test above: "C major" at the start of a prompt rewritten to A major
    reads "A major", which may be an article and a mode word; with the prompt's other key
    words ("the key of A", "major-key") naming the tonic and the mode apart, the rewrite
    was taken although the prompt no longer stated the key in one claim. It must state it
    (here the rewriter then writes "A-major") or be refused."""
    out = rewrite_claims("C major the key of G Write minor-key", key=Key(9, "major"), meter="3/4",
                         bars=1, tempo="slow")
    assert parse_claims(out).key == Key(9, "major"), out


def test_every_seed_prompt_round_trips_every_key() -> None:
    from pathlib import Path

    from augment.codec import read_examples

    seeds = Path(__file__).resolve().parents[1] / "seeds" / "beethoven.jsonl"
    examples = [ex for _line, _text, ex, _findings in read_examples(seeds) if ex is not None]
    prompts = [ex.prompt for ex in examples if ex.prompt and stated_key(ex.prompt)]
    assert len(prompts) >= 10
    for prompt in prompts:
        for key in ALL_KEYS:
            assert stated_key(rewrite_key(prompt, key)) == key, (prompt, key)


def test_system_templates_are_rendered_with_the_variants_facts(tmp_path: Path) -> None:
    """``system_templates`` are filled in as the user templates are: each variant's system
    prompt names its own key (a template whose fields it lacks is not used for it), ``{{``
    writes a brace, and a template without fields is written as it stands. An empty
    template is an error at load time (it made empty prompts that ``validate`` refuses)."""
    import json

    from augment.config import load_config
    from augment.pipeline import expand

    root = Path(__file__).resolve().parent.parent
    base = (root / "rules" / "default.toml").read_text(encoding="utf-8")
    pool = ['You write melodies in {key}.', 'You write tunes of {{"bars": {bars}}} bars.', "You compose."]
    rules = tmp_path / "r.toml"
    rules.write_text(base + "\n[reprompt]\nsystem_templates = " + json.dumps(pool) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    expand([root / "seeds" / "beethoven.jsonl"], load_config(rules), out)
    # the split files and the lineage both lie in id order: the train lines are its train records
    records = [r for r in map(json.loads, (out / "lineage.jsonl").read_text().splitlines())
               if r["split"] == "train"]
    lines = (out / "train.jsonl").read_text().splitlines()
    assert len(records) == len(lines)
    seen = set()
    for line, record in zip(lines, records, strict=True):
        messages = json.loads(line)["messages"]
        if messages[0]["role"] != "system":
            continue
        if record["rules"] == []:
            continue  # a seed keeps its own system prompt
        system = messages[0]["content"]
        assert "{" not in system.replace('{"bars": ', "")
        if system.startswith("You write melodies in "):
            assert system == f"You write melodies in {record['key']}.", record
            seen.add("key")
        elif system.startswith("You write tunes of"):
            bars = int(system.split('"bars": ')[1].split("}")[0])
            assert bars >= 1
            seen.add("bars")
        else:
            assert system == "You compose."
            seen.add("plain")
    assert seen == {"key", "bars", "plain"}
    rules.write_text(base + '\n[reprompt]\nsystem_templates = ["You compose.", "  "]\n', encoding="utf-8")
    with pytest.raises(AugmentError, match=r"system_templates #2 is empty"):
        load_config(rules)
    rules.write_text(base + '\n[reprompt]\nmode = "template"\nuser_templates = [""]\n', encoding="utf-8")
    with pytest.raises(AugmentError, match=r"user_templates #1 is empty"):
        load_config(rules)
