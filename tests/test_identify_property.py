"""Property: a participant's name, however it is written, is found wherever its words leave.

Any participant's display name, name part, alias, handle, organization, short
form of it or organization alias, put through any of the TRANSFORMATIONS below
(each an evasion someone could try), and placed anywhere between the words of
any field whose words reach the destination, is flagged with a span covering
exactly what was placed, on the original text, with the default judgement.

The first property checks the matcher; the second the whole decision under the
shipped Chatham House agreement, through every field a share, a quote and an
export send (`items.text`, `quoted_text`, `attribution.descriptor`).
"""

from __future__ import annotations

import re
import unicodedata

from hypothesis import given
from hypothesis import strategies as st
from strategies import NOW, POLICY, POSTED, budget

from discretion.engine import decide
from discretion.engine import identify
from discretion.engine.identify import identifying_spans
from discretion.engine.model import Actor, Adoption, Attribution, Destination, Group, Item, Person, Request

# --- a roster ------------------------------------------------------------------------------------

_SYLLABLES = ["ka", "lo", "mi", "ne", "ru", "sa", "ti", "vo", "ze", "pa", "do", "fe", "gu", "hi", "jo", "bé", "ñu",
              "wø", "ça", "ly"]
# Names in other scripts, written as the roster writes them; the case transformation
# then writes them in another case (a Cyrillic surname in capitals).
_CJK = ["陈伟", "山田 花子", "李娜", "สมชาย ใจดี", "김민준", "Иван Петров", "Νίκος Παπαδόπουλος",
        "Guðrún Jónsdóttir", "Ɗanjuma Ɓello"]
_SUFFIXES = ["Bank", "Holdings", "Ltd", "Inc.", "Group", "Labs", "University"]


def _word(draw, low: int = 1, high: int = 3) -> str:
    return "".join(draw(st.lists(st.sampled_from(_SYLLABLES), min_size=low, max_size=high))).capitalize()


@st.composite
def people(draw) -> Person:
    if draw(st.integers(0, 9)) == 0:
        name = draw(st.sampled_from(_CJK))
    else:
        name = " ".join(_word(draw) for _ in range(draw(st.integers(1, 3))))
        if draw(st.booleans()):
            name = name.replace(" ", " O'", 1) if " " in name else name
    organization = _word(draw, 2) + (" " + draw(st.sampled_from(_SUFFIXES)) if draw(st.booleans()) else "")
    return Person(
        id=f"p-{name}-{organization}",
        display_name=name,
        organization=organization,
        handles=("@" + _word(draw, 2).lower() + "9",) if draw(st.booleans()) else (),
        aliases=tuple(draw(st.lists(st.sampled_from(["Kaz", "DJ Lomi", "李晨", "Zé"]), max_size=1))),
        organization_aliases=tuple(draw(st.lists(st.sampled_from(["KLB", "lomi.example"]), max_size=1))),
    )


def _terms(person: Person) -> list[str]:
    """Every term the default judgement flags, as the roster writes it."""
    parts = person.display_name.split()
    found = [person.display_name, *person.aliases, *person.handles, *(h.removeprefix("@") for h in person.handles),
             person.organization, *person.organization_aliases]
    if len(parts) > 1:
        found += parts
    org = person.organization.split()
    if len(org) > 1:
        found.append(org[0])
    return found


# --- the evasions --------------------------------------------------------------------------------

_INVISIBLE = ["\u200b", "\u200c", "\u200d", "\u00ad", "\u2060", "\u200e", "\u200f", "\ufeff", "\u180e"]
_LOOK_ALIKE = {"a": "а", "e": "е", "o": "о", "p": "р", "c": "с", "x": "х", "y": "у", "i": "і", "s": "ѕ",
               "j": "ј", "A": "А", "B": "В", "E": "Е", "K": "К", "M": "М", "H": "Н", "O": "О", "P": "Р",
               "C": "С", "T": "Т", "X": "Х", "N": "Ν", "Z": "Ζ", "l": "1", "L": "Ⅼ"}
_SPACES = ["\n", "  ", "\t", "\u00a0", "\u3000", "\r\n", " \n  ", "\u2028"]
_APOSTROPHES = ["’", "‘", "ʼ", "'", "＇"]


def _interior(draw, term: str) -> int | None:
    """A position strictly inside a word of `term` (between two letters), if any."""
    inside = [i for i in range(1, len(term)) if term[i - 1].isalnum() and term[i].isalnum()]
    return draw(st.sampled_from(inside)) if inside else None


def _case(draw, term: str) -> str:
    return draw(st.sampled_from([term, term.upper(), term.lower(), term.title()]))


def _accents(draw, term: str) -> str:
    how = draw(st.sampled_from(["NFD", "NFC", "strip"]))
    if how == "strip":
        return "".join(c for c in unicodedata.normalize("NFD", term) if not unicodedata.combining(c))
    return unicodedata.normalize(how, term)


def _invisible(draw, term: str) -> str:
    at = _interior(draw, term)
    return term if at is None else term[:at] + draw(st.sampled_from(_INVISIBLE)) + term[at:]


def _look_alike(draw, term: str) -> str:
    swappable = [i for i, c in enumerate(term) if c in _LOOK_ALIKE]
    if not swappable:
        return term
    at = draw(st.sampled_from(swappable))
    return term[:at] + _LOOK_ALIKE[term[at]] + term[at + 1:]


def _full_width(draw, term: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in term)


def _spaces(draw, term: str) -> str:
    return term.replace(" ", draw(st.sampled_from(_SPACES)))


def _apostrophe(draw, term: str) -> str:
    return term.replace("'", draw(st.sampled_from(_APOSTROPHES)))


TRANSFORMATIONS = {
    "case": _case,
    "accents": _accents,
    "invisible characters": _invisible,
    "look-alike letters": _look_alike,
    "full-width forms": _full_width,
    "white space runs and line breaks": _spaces,
    "typographic apostrophes": _apostrophe,
}


@st.composite
def written(draw, term: str) -> str:
    """`term` put through some of the transformations, in any order."""
    names = draw(st.lists(st.sampled_from(sorted(TRANSFORMATIONS)), max_size=4))
    for name in names:
        term = TRANSFORMATIONS[name](draw, term)
    return term


# --- placing it ----------------------------------------------------------------------------------

_FILLER = ["the", "meeting", "went", "long", "and", "then", "everyone", "agreed", "that", "budget", "would",
           "grow", "quietly", "after", "lunch", "said", "we", "think", "rates", "rise"]
_CJK_FILLER = ["我们", "认为", "会议", "很长", "然后"]


@st.composite
def placed(draw, term: str) -> tuple[str, int, int]:
    """Filler text with `term` between two of its words: (text, start, end)."""
    before = draw(st.lists(st.sampled_from(_FILLER), max_size=4))
    after = draw(st.lists(st.sampled_from(_FILLER), max_size=4))
    # Punctuation and symbols that resemble letters ("|", "¡", "™", "¹") still end a word.
    left = draw(st.sampled_from([" ", ", ", " (", "\n", " “", " |", " ¡", "€", "_"])) if before else ""
    right = draw(st.sampled_from([" ", ". ", ") ", "'s ", ": ", "! ", "| ", "™ ", "¹ ", "×", "_"])) if after else ""
    if draw(st.integers(0, 5)) == 0:  # a run of text in a script written without spaces
        before = draw(st.lists(st.sampled_from(_CJK_FILLER), max_size=3))
        after = draw(st.lists(st.sampled_from(_CJK_FILLER), max_size=3))
        left = right = ""
    prefix = " ".join(before) + left if before else ""
    if before and not left:
        prefix = "".join(before)
    suffix = (right + " ".join(after)) if after else ""
    if after and not right:
        suffix = "".join(after)
    return prefix + term + suffix, len(prefix), len(prefix) + len(term)


@st.composite
def cases(draw):
    roster = draw(st.lists(people(), min_size=1, max_size=6, unique_by=lambda p: p.id))
    person = draw(st.sampled_from(roster))
    term = draw(st.sampled_from(_terms(person)))
    text, start, end = draw(placed(draw(written(term))))
    return roster, person, term, text, start, end


def _covers(spans, start: int, end: int, field: str = "", item_id: str = "") -> bool:
    return any(s.start == start and s.end == end and s.field == field and s.item_id == item_id for s in spans)


@budget(600)
@given(cases())
def test_every_term_however_written_is_found_exactly(case):
    roster, person, term, text, start, end = case
    spans = identifying_spans(text, roster)
    assert _covers(spans, start, end), (term, text, text[start:end], spans)


# --- through a whole decision --------------------------------------------------------------------

_FIELDS = ["quoted_text", "items.text", "attribution.descriptor"]


@budget(300)
@given(cases(), st.sampled_from(_FIELDS), st.sampled_from(["share", "quote", "export"]),
       st.sampled_from(["public", "external_individual", "ai_tool", "other_group"]))
def test_a_name_in_any_field_that_leaves_is_never_allowed_unredacted(case, field, action, kind):
    roster, person, term, text, start, end = case
    if field == "quoted_text" and action == "export":
        action = "quote"
    author = roster[0]
    item_text = text if field == "items.text" else "nothing to see"
    # A quote that does not give its words may quote any of the item: its text is read instead.
    quoted = text if field == "quoted_text" else ""
    request = Request(
        action=action,
        actor=Actor(id="u-actor", member=True),
        group=Group(id="g", adoptions=(Adoption("chatham-house", effective_from=POSTED - 10**12),),
                    participants=tuple(roster)),
        items=(Item(id="m-1", author=author, posted_at=POSTED, text=item_text),),
        destination=Destination(kind=kind),
        requested_at=NOW,
        attribution=Attribution(descriptor=text if field == "attribution.descriptor" else ""),
        quoted_text=quoted,
    )
    decision = decide(POLICY, request, now=NOW)
    assert decision.decision != "allow", (term, text)
    if decision.decision == "deny":
        return  # refused for another reason: nothing leaves
    spans = [s for o in decision.obligations if o.type == "redact_identifying_content" for s in o.spans]
    assert _covers(spans, start, end, field, "m-1" if field == "items.text" else ""), (term, text, spans)


# --- against a reference: every whole-word occurrence, and nothing else ---------------------------

# A small alphabet, so terms of repeated letters and words overlap everywhere; `山` is a
# word of its own (an unspaced script), `-` and the blank end words, U+200B may.
_LETTERS = ["a", "b", "山", "-", " ", "\u200b"]


def _reference(text: str, names: list[str]) -> set[tuple[int, int]]:
    """Each occurrence of a term of a name that starts and ends at a word edge, by brute force.

    The terms are the matcher's own (a name, its words, its pieces, the
    spacings of an unspaced one): what is checked is the search. Each U+200B
    is read as nothing inside a match ("Ch<ZWSP>en" is "Chen") and may be a
    word's edge at either end of one ("Li<ZWSP>Chen" holds "Li" and "Chen"),
    each one its own way. The alphabet folds to itself.
    """
    terms = set()
    for name in names:
        for term, _, _ in identify._terms(name, "", (), (), ()):
            folded = identify._fold_term(term)
            terms |= {folded, *identify._unspaced_variants(folded)}
    at = [i for i, c in enumerate(text) if c != "\u200b"]  # the visible characters' places
    seen = "".join(text[i] for i in at)
    breaks = {n for n in range(1, len(at)) if at[n] != at[n - 1] + 1}  # a U+200B between them

    def edge(n: int) -> bool:
        if n in (0, len(seen)) or n in breaks:
            return True
        before, after = seen[n - 1], seen[n]
        return not (before.isalnum() and after.isalnum()) or "山" in (before, after)

    return {(at[start], at[end - 1] + 1) for start in range(len(seen)) for end in range(start + 1, len(seen) + 1)
            if seen[start:end] in terms and edge(start) and edge(end)}


def _merged(spans: set[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


@budget(600)
@given(st.lists(st.text(st.sampled_from(["a", "b", "山", "-", " "]), min_size=1, max_size=7).map(str.strip),
                min_size=1, max_size=4),
       st.text(st.sampled_from(_LETTERS), max_size=40))
def test_matches_are_every_whole_word_occurrence_and_nothing_else(names, text):
    """Word-aligned and complete: what the marked search finds is what a brute-force search of whole words finds."""
    names = [" ".join(n.split()) for n in names if any(c.isalnum() for c in n)]
    text = re.sub("[ \u200b]* [ \u200b]*", " ", text)  # one blank a run: the reference reads places as they are
    people = [Person(id=f"p{i}", display_name=name) for i, name in enumerate(names)]
    found = [(s.start, s.end) for s in identifying_spans(text, people)]
    assert found == _merged(_reference(text, names)), (names, text)
