"""The native identify and names (native/src/identify.rs, names.rs) against their Python twins.

Every answer is compared with the Python evaluator's, which is the reference:
`identifying_spans` (and a `Matcher` asked several times), `merge_spans`,
`in_unit`, `judgement`, `names.fold`, `names.fold_char` and
`compiled.scheme_key`. Inputs: every case of tests/cases/identify.yaml, every
text of the shipped suites (rules/*.test.yaml) against their rosters, and
random rosters and texts drawn to be hard (names from the suites and in
other scripts, look-alike letters from confusables.tsv, invisible characters
inside words, combining marks, unspaced scripts, case changes, huge rosters,
texts of one repeated name).
"""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys
import unicodedata

import pytest
import yaml
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from discretion.engine import identify
from discretion.engine.compiled import scheme_key
from discretion.engine.identify import Matcher, RosterTooLarge, identifying_spans, in_unit, judgement, merge_spans
from discretion.engine.model import Person, Span
from discretion.engine.names import CONFUSABLES_PATH, fold, fold_char

import discretion_native as native  # noqa: E402 — built into the venv by make setup

ROOT = pathlib.Path(__file__).resolve().parent.parent.parent


SCALE = int(os.environ.get("PROPERTY_SCALE", "1"))


def budget(examples: int) -> settings:
    """`examples` fixed examples in `make test`; PROPERTY_SCALE times as many, random, in `make fuzz`."""
    return settings(max_examples=examples * SCALE, derandomize=SCALE == 1, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                                           HealthCheck.data_too_large])


# --- both engines, one call -----------------------------------------------------------------------

def _fields(person: Person) -> tuple:
    return (person.id, person.display_name, person.organization, list(person.handles), list(person.aliases),
            list(person.organization_aliases))


def _clear_python_cache() -> None:
    """Python may reuse a recent large roster's automaton inside a larger one, which splits its caps
    in two (identify._MatcherCache); the native engine always builds one: compare fresh builds."""
    identify._CACHE.clear()
    identify._UNMARKED_CACHE.clear()


def python_spans(text, people, except_person="", excused=(), counts=identify.FLAG_ALL):
    _clear_python_cache()
    try:
        return [(s.start, s.end, s.reveals) for s in identifying_spans(
            text, people, except_person=except_person, excused=excused, counts=counts)]
    except RosterTooLarge as error:
        return str(error)


def native_spans(text, people, except_person="", excused=(), counts=identify.FLAG_ALL):
    try:
        return [(start, end, reveals) for start, end, reveals, _, _ in native.identify_spans(
            text, [_fields(p) for p in people], except_person, list(excused), counts)]
    except ValueError as error:
        return str(error)


def assert_same_spans(text, people, **kwargs):
    expected = python_spans(text, people, **kwargs)
    assert native_spans(text, people, **kwargs) == expected, (text, people, kwargs)
    return expected


COUNTS = [identify.FLAG_ALL, 0] + [identify.FLAG_ALL & ~flag for flag in identify.JUDGEMENTS.values()]


# --- the tables are Python's ----------------------------------------------------------------------

def test_the_unicode_tables_are_generated_from_this_python():
    result = subprocess.run([sys.executable, str(ROOT / "native" / "generate_unicode.py"), "--check"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_fold_char_of_every_code_point_of_the_basic_plane_and_a_stride_beyond():
    codes = [c for c in range(0x10000) if not 0xD800 <= c < 0xE000] + list(range(0x10000, 0x110000, 7))
    differ = [hex(c) for c in codes if native.names_fold_char(chr(c)) != fold_char(chr(c))]
    assert not differ, differ[:20]


def test_scheme_key_of_every_code_point_of_the_basic_plane_and_a_stride_beyond():
    codes = [c for c in range(0x10000) if not 0xD800 <= c < 0xE000] + list(range(0x10000, 0x110000, 7))
    differ = [hex(c) for c in codes if native.names_scheme_key("A" + chr(c)) != scheme_key("A" + chr(c))]
    assert not differ, differ[:20]


# Characters normalisation treats specially: marks of several classes, Hangul jamo and
# syllables, sigma, compatibility forms, characters that compose, blanks and invisibles.
_NORMALIZING = (
    [chr(c) for c in range(0x300, 0x370)] + list("\u0591\u05b0\u0f71\u0f72\u0f74\u0f80\u1dc0\u20d0\u302a\u3099")
    + [chr(c) for c in (0x1100, 0x1112, 0x1161, 0x1175, 0x11A7, 0x11A8, 0x11C2, 0xAC00, 0xAC01, 0xD7A3)]
    + list("ΣσςΑαΟοİıIiKkÅåﬁﬀ①ｔＬｐ\u00a0\u200b\u2028\t ¨´ºªǅǄǆⅫ㍱ড়ো\u0b47\u0b3e\u0cc6\u0cd5")
    + list("tlpTLPaeoAEOu9_-:.") + ["\U0001d400", "\U0002f800", "\U000e0001"]
)


@budget(1000)
@given(st.text(st.sampled_from(_NORMALIZING) | st.characters(exclude_categories=("Cs",)), max_size=12))
@example("ΟΔΟΣ")
@example("Σ̈A")
@example("\u1100\u1161\u11a8")
@example("a\u0328\u0301\u0308")
def test_scheme_key(name):
    assert native.names_scheme_key(name) == scheme_key(name)


@budget(800)
@given(st.text(st.sampled_from(_NORMALIZING) | st.characters(exclude_categories=("Cs",)), max_size=20))
def test_fold(name):
    assert native.names_fold(name) == fold(name)


# --- identifying_spans: the written cases ---------------------------------------------------------

CASES = yaml.safe_load((ROOT / "tests" / "cases" / "identify.yaml").read_text(encoding="utf-8"))


def _person(fields: dict) -> Person:
    return Person(id=fields["id"], display_name=fields.get("name", ""),
                  organization=fields.get("organization", ""), handles=tuple(fields.get("handles", ())),
                  aliases=tuple(fields.get("aliases", ())),
                  organization_aliases=tuple(fields.get("organization_aliases", ())))


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_the_identify_cases(case):
    people = [_person(p) for p in case["people"]]
    for counts in [judgement(**case.get("judgement", {})), *COUNTS]:
        assert_same_spans(case["text"], people, except_person=case.get("except_person", ""), counts=counts)


# --- identifying_spans: the shipped suites --------------------------------------------------------

def _walk(node):
    yield node
    if isinstance(node, dict):
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def _suite(path: pathlib.Path) -> tuple[list[Person], list[str]]:
    """A suite's roster (everyone it describes) and every string it holds."""
    nodes = list(_walk(yaml.safe_load(path.read_text(encoding="utf-8"))))
    people = {}
    for node in nodes:
        if isinstance(node, dict) and "id" in node and ("display_name" in node or "organization" in node):
            people[node["id"]] = Person(id=str(node["id"]), display_name=str(node.get("display_name", "")),
                                        organization=str(node.get("organization", "")),
                                        handles=tuple(map(str, node.get("handles", ()))),
                                        aliases=tuple(map(str, node.get("aliases", ()))),
                                        organization_aliases=tuple(map(str, node.get("organization_aliases", ()))))
    texts = sorted({node for node in nodes if isinstance(node, str)})
    return list(people.values()), texts


SUITES = sorted(ROOT.glob("rules/*.test.yaml"))


@pytest.mark.parametrize("path", SUITES, ids=[p.name for p in SUITES])
def test_every_text_of_the_shipped_suites(path):
    people, texts = _suite(path)
    assert texts
    named = 0
    for text in texts:
        for counts in COUNTS:
            named += bool(assert_same_spans(text, people, counts=counts))
        for person in people:
            assert_same_spans(text, people, except_person=person.id)
    if people and "chatham" in path.name:
        assert named  # the suite names people: the comparison saw spans


# --- identifying_spans: random rosters and texts --------------------------------------------------

def _confusables() -> dict[str, list[str]]:
    """Look-alikes of each ASCII letter from the pinned table: what someone would write for it."""
    found: dict[str, list[str]] = {}
    for line in CONFUSABLES_PATH.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            continue
        source, target = line.split("\t")
        prototype = "".join(chr(int(c, 16)) for c in target.split())
        if len(prototype) == 1 and prototype.isascii() and prototype.isalnum():
            found.setdefault(prototype, []).append(chr(int(source, 16)))
            found.setdefault(prototype.upper(), []).append(chr(int(source, 16)))
    return found


LOOK_ALIKES = _confusables()
_SYLLABLES = ["ka", "lo", "mi", "ne", "ru", "sa", "ti", "bé", "ñu", "wø", "ça", "ly", "li", "m", "ss", "ß", "i"]
_NAMES = ["Li Chen", "Ana Lopez", "Sam Okafor", "Kim Young", "陈伟", "山田 花子", "李娜", "สมชาย ใจดี", "김민준",
          "Иван Петров", "Νίκος Παπαδόπουλος", "Guðrún Jónsdóttir", "Ɗanjuma Ɓello", "OKAFOR Sam", "Okafor, Sam",
          "Anna van der Berg", "García-Márquez", "Dr. Will Ortega Jr.", "Sam Okafor (Lagos)", "Sam Okafor | Acme",
          "Jo O'Neil", "Ｌｉ Ｃｈｅｎ", "X Æ A-12", "迈克尔·杰克逊", "Σ", "ΟΔΥΣΣΕΑΣ", "M", "Li", "A.J. Smith OBE"]
_ORGS = ["Northwind Bank", "Contoso", "Acme CERT", "The Yahoo! (UK)", "Northwind Ltd (in liquidation)",
         "Smith & Sons, Inc.", "株式会社トヨタ", "A/S Møller", "Fabrikam Holdings GmbH", "the", "Co", "(UK)", ""]
_INVISIBLE = ["\u200b", "\u200c", "\u200d", "\u00ad", "\u2060", "\u200e", "\ufeff", "\u180e", "\u2800", "\x01", "\x7f"]
_MARKS = ["\u0301", "\u0308", "\u0327", "\u20dd", "\u0e31", "\u302a"]
_SPACES = [" ", "  ", "\n", "\t", "\u00a0", "\u3000", "\r\n", "\u2028", "\x1c"]
_PUNCTUATION = list(".,;:!?'’\"()[]|-–—/@#&_*«»„“") + ["™", "¹", "×", "－", "´"]
_WIDE = ["🎉", "𝐀", "𠀀", "\U0001f600"]


@st.composite
def words(draw) -> str:
    return "".join(draw(st.lists(st.sampled_from(_SYLLABLES), min_size=1, max_size=3))).capitalize()


@st.composite
def names(draw) -> str:
    return draw(st.sampled_from(_NAMES) | st.builds(" ".join, st.lists(words(), min_size=1, max_size=3))
                | st.text(max_size=8))


@st.composite
def people(draw) -> Person:
    organization = draw(st.sampled_from(_ORGS) | st.builds(lambda w, s: f"{w} {s}", words(),
                                                           st.sampled_from(["Bank", "Labs", "Inc.", "Group"])))
    return Person(
        id=draw(st.sampled_from(["p1", "p2", "p3", "p4", "", "p\x01"])),
        display_name=draw(names()),
        organization=organization,
        handles=tuple(draw(st.lists(st.sampled_from(["@ana", "ana", " @sam9 ", "@", "a\x01b", ""]) | words(),
                                    max_size=2))),
        aliases=tuple(draw(st.lists(st.sampled_from(["Kaz", "DJ Lomi", "李晨", "Zé", ""]) | names(), max_size=2))),
        organization_aliases=tuple(draw(st.lists(st.sampled_from(["KLB", "lomi.example"]), max_size=1))),
    )


def _terms(person: Person) -> list[str]:
    return [t for t in [person.display_name, *person.display_name.split(), person.organization,
                        *person.organization.split(), *person.handles, *person.aliases,
                        *person.organization_aliases] if t]


@st.composite
def written(draw, term: str) -> str:
    """`term` as someone might write it: in another case, with look-alikes, marks, invisibles or other spaces."""
    for _ in range(draw(st.integers(0, 3))):
        how = draw(st.sampled_from(["case", "look-alike", "invisible", "mark", "space", "nfd", "cut"]))
        if not term:
            break
        at = draw(st.integers(0, len(term)))
        if how == "case":
            term = draw(st.sampled_from([term.upper(), term.lower(), term.title(), term.swapcase()]))
        elif how == "look-alike":
            swappable = [i for i, c in enumerate(term) if c in LOOK_ALIKES]
            if swappable:
                i = draw(st.sampled_from(swappable))
                term = term[:i] + draw(st.sampled_from(LOOK_ALIKES[term[i]])) + term[i + 1:]
        elif how == "invisible":
            term = term[:at] + draw(st.sampled_from(_INVISIBLE)) + term[at:]
        elif how == "mark":
            term = term[:at] + draw(st.sampled_from(_MARKS)) + term[at:]
        elif how == "space":
            term = term.replace(" ", draw(st.sampled_from(_SPACES)))
        elif how == "nfd":
            term = unicodedata.normalize(draw(st.sampled_from(["NFD", "NFKC"])), term)
        else:
            term = term[:at]
    return term


_FILLER = st.sampled_from(_SPACES + _PUNCTUATION + _WIDE + _INVISIBLE + _MARKS + ["said", "as", "ß", "we"])


@st.composite
def rosters_and_texts(draw) -> tuple[list[Person], str]:
    """A roster, and a text of its terms as someone might write them, between other words and characters."""
    roster = draw(st.lists(people(), min_size=1, max_size=5))
    terms = [t for p in roster for t in _terms(p)] or ["Chen"]
    pieces = []
    for _ in range(draw(st.integers(0, 12))):
        if draw(st.booleans()):
            pieces.append(draw(written(draw(st.sampled_from(terms)))))
        else:
            pieces.append(draw(_FILLER | st.text(max_size=4) | words()))
    return roster, "".join(pieces)


@budget(100)
@given(rosters_and_texts(), st.sampled_from(COUNTS), st.sampled_from(["", "p1", "p2"]),
       st.lists(st.sampled_from(["p1", "p3", ""]), max_size=2))
def test_random_rosters_and_texts(roster_and_text, counts, except_person, excused):
    roster, text = roster_and_text
    assert_same_spans(text, roster, except_person=except_person, excused=excused, counts=counts)


@budget(100)
@given(st.lists(people(), min_size=1, max_size=3), st.text(max_size=40))
def test_random_unicode_texts(roster, text):
    assert_same_spans(text, roster)


# --- the caps and bounds --------------------------------------------------------------------------

@pytest.mark.parametrize("text", [
    "a " * 5000, "a" * 3000, "a\u200b" * 3000, "Li Li " * 3000, "陈" * 9000, "a a\u200ba " * 1500,
    "as " + "Chen " * 2100 + "said", "ss" * 4000 + "ß",
])
def test_texts_past_the_cap_of_matches_per_character(text):
    roster = [Person(id="a", display_name="A"), Person(id="li", display_name="Li Chen", organization="Li Li"),
              Person(id="c", display_name="陈", aliases=("陈陈", "陈 陈")), Person(id="s", display_name="ss ß")]
    assert_same_spans(text, roster)


@pytest.mark.parametrize("text", ["陈" * 9000, "陈" * 6000, "x陈陈陈 " * 2000, "a\u200b" * 5000])
def test_matches_that_do_not_count_still_count_to_the_cap(text):
    """Past the cap the whole text names someone, even if no match counts (its owner may name themselves)."""
    roster = [Person(id="c", display_name="陈", aliases=("陈陈", "陈陈陈", "a", "A\u200ba"))]
    assert_same_spans(text, roster, except_person="c")


def test_a_roster_too_large_to_search():
    roster = [Person(id=f"p{i}", display_name=" ".join(f"W{i}x{j}" for j in range(400)) * 3) for i in range(600)]
    assert isinstance(assert_same_spans("as W1x1 said", roster), str)


def test_a_matcher_too_large_says_so_for_every_text_after():
    roster = [Person(id=f"p{i}", display_name="\uaf66" * 2000 + f" N{i}") for i in range(100)]
    asked = [("as N1 said", [], identify.FLAG_ALL), ("", [], identify.FLAG_ALL), ("N\u200b1", [], 0)]
    _clear_python_cache()
    matcher, expected = Matcher(roster), []
    for text, excused, counts in asked:
        try:
            expected.append(([(s.start, s.end, s.reveals, "", "") for s in
                              matcher.spans(text, excused=excused, counts=counts)], ""))
        except RosterTooLarge as error:
            expected.append(([], str(error)))
    assert native.identify_matcher_spans([_fields(p) for p in roster], asked) == expected
    assert expected[1][1]  # even an empty text, once the roster is known too large


def test_a_large_roster():
    roster = [Person(id=f"p{i}", display_name=f"Ka{i:04d}lo Mi{i:04d}ne", organization=f"Org{i % 50} Holdings",
                     handles=(f"@h{i}",)) for i in range(3000)]
    text = " ".join(f"Ka{i:04d}lo and @h{i + 1} of Org{i % 50}" for i in range(0, 3000, 97))
    assert len(assert_same_spans(text, roster)) > 60


# --- merge_spans, in_unit, judgement --------------------------------------------------------------

span_fields = st.tuples(st.integers(0, 30), st.integers(0, 30), st.sampled_from(identify._REVEALS),
                        st.sampled_from(["quoted_text", "items.text", "attribution.descriptor"]),
                        st.sampled_from(["", "m-1", "m-2"])).map(lambda s: (min(s[0], s[1]), max(s[0], s[1]), *s[2:]))


@budget(500)
@given(st.lists(span_fields, max_size=12))
def test_merge_spans(spans):
    expected = [(s.start, s.end, s.reveals, s.field, s.item_id) for s in merge_spans(Span(*s) for s in spans)]
    assert native.identify_merge_spans(spans) == expected


@budget(500)
@given(st.text(st.sampled_from(["a", "é", "€", "🎉", "𠀀", "\u0301", " "]), max_size=30), st.lists(span_fields,
                                                                                                    max_size=6),
       st.sampled_from(["code_point", "utf16", "utf8", "bytes"]))
def test_in_unit(text, spans, unit):
    spans = [(min(s, len(text)), min(e, len(text)), *rest) for s, e, *rest in spans]
    expected = [(s.start, s.end, s.reveals, s.field, s.item_id) for s in in_unit(text, tuple(Span(*s) for s in spans),
                                                                                   unit)]
    assert native.identify_in_unit(text, spans, unit) == expected


@budget(100)
@given(st.dictionaries(st.sampled_from(sorted(identify.JUDGEMENTS)), st.sampled_from(["flag", "ignore"])))
def test_judgement(calls):
    assert native.identify_judgement(sorted(calls.items())) == judgement(**calls)


def test_an_unknown_judgement_ignored_is_an_error_in_both():
    with pytest.raises(KeyError):
        judgement(whole_names="ignore")
    with pytest.raises(KeyError):
        native.identify_judgement([("whole_names", "ignore")])
    assert native.identify_judgement([("whole_names", "flag")]) == judgement(whole_names="flag")
