"""Finding text that identifies a participant: names, aliases, handles and organizations.

The Chatham House Rule forbids revealing "the identity or the affiliation of
the speaker(s), nor that of any other participant"; a quote that says "as Chen
said" or "at Northwind Bank we…" does exactly that.

Every participant's terms are searched in one pass of an Aho-Corasick automaton
over a folded copy of the text (names.fold_char: case, accents, compatibility
forms, look-alike letters of other scripts, typographic apostrophes; white
space runs read as one space; invisible characters read as nothing). Folding
changes lengths ("ß" → "ss", an accent → nothing, a zero-width space →
nothing), so the folded text keeps a map back to the original code points and
spans are reported in the original text, covering exactly what was matched.

Terms per person: the display name; each part of a multi-part name; each alias;
each handle with and without its "@"; the organization, its short forms (without
a legal or generic suffix: "Northwind" for "Northwind Bank") and its aliases.
A term matches whole words only, except in scripts written without spaces
between words (Chinese, Japanese, Thai, …), where it matches anywhere. Terms
and text are marked at every place a word may begin or end (`_marked`), so the
automaton finds whole words and nothing inside them, and a search costs time
linear in the text whatever the roster (`_matches`). A text with an invisible
character inside a word is searched without marks, each invisible character
read as a word's end or as nothing (`_unmarked_matches`), linear by a cap. Some
terms name a person less surely than others; whether they count is the
agreement's judgement (`Judgement`), and the safe default counts them all.
`except_person` (who may name themselves) is skipped.

The roster arrives with every request, and building an automaton for thousands
of people costs milliseconds, so built automata are cached by the roster's
content (see `_MatcherCache`); the judgement is applied per match, so one
automaton serves every agreement.
"""

from __future__ import annotations

import ctypes
import re
import threading
import unicodedata
from collections import OrderedDict
from collections.abc import Iterable
from functools import lru_cache
from typing import NamedTuple

import ahocorasick

from . import deadline
from .model import Person, Span
from .names import INVISIBLE, fold_char

_REVEALS = ("name", "handle", "organization")  # by rank: a tie on one span reports the first

# Separators for the joined roster columns; a field holding one is not cached (see _Roster.of).
_PERSON_SEP = "\0"
_LIST_SEP = "\1"


# --- the judgement calls --------------------------------------------------------------------------

# What a term needs from the agreement before a match of it counts.
_LOWER = 1  # a name part or short form written in lower case ("will" for Will Ortega)
_SHORT = 2  # a name part shorter than three letters ("Li"), or one character of an unspaced script
_FIRST = 4  # a part of a name before its last part ("Sam" for Sam Okafor)
_ORG_SHORT = 8  # an organization without its suffix ("Northwind" for "Northwind Bank")
_CASED = 16  # not a need: the term needs _LOWER where the text writes it in lower case

# The agreement's judgement calls (`redact_identifying_content` parameters), each `flag` or `ignore`.
JUDGEMENTS: dict[str, int] = {
    "lowercase_names": _LOWER,
    "first_names": _FIRST,
    "short_names": _SHORT,
    "organization_short_forms": _ORG_SHORT,
}
FLAG, IGNORE = "flag", "ignore"
FLAG_ALL = _LOWER | _SHORT | _FIRST | _ORG_SHORT  # the safe default: every term counts


def judgement(**calls: str) -> int:
    """The terms an agreement counts, from its calls (`first_names="ignore"`); unnamed calls flag."""
    allowed = FLAG_ALL
    for name, value in calls.items():
        if value == IGNORE:
            allowed &= ~JUDGEMENTS[name]
    return allowed


# Trailing words an organization is often named without. Compared folded, without their dots.
_ORG_SUFFIXES = frozenset("""
    inc incorporated corp corporation co company cos ltd limited llc llp lp plc gmbh ag kg sa sas sarl
    spa srl bv nv ab as asa oy oyj kk pty pte se na ev ou sl ltda aps a/s ggmbh kgaa doo sro kft zrt
    pllc pc pvt private sdn bhd publ jsc pjsc ooo sp z oo aktiengesellschaft limitada cia cv de tbk sons
    group holdings holding bank labs lab partners trust foundation institute university association
    council agency fund capital ventures systems technologies solutions services international global
    & and
""".split())
_ORG_PREFIXES = frozenset({"the"})


# --- scripts written without spaces ---------------------------------------------------------------

# Chinese, Japanese and Korean ideographs, kana and Hangul, Thai, Lao, Khmer, Myanmar: a
# name in these is matched anywhere, since no space marks where a word ends.
_UNSPACED_RANGES = (
    (0x0E00, 0x0EFF), (0x1000, 0x109F), (0x1780, 0x17FF), (0x19E0, 0x19FF), (0x2E80, 0x2FDF),
    (0x3005, 0x3007), (0x3021, 0x3029), (0x3031, 0x3035), (0x3040, 0x30FF), (0x31F0, 0x31FF),
    (0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xA9E0, 0xA9FF), (0xAA60, 0xAA7F), (0xF900, 0xFAFF),
    # Hangul: Korean spaces its words, but particles join a name ("김민준이").
    (0x1100, 0x11FF), (0x3130, 0x318F), (0xAC00, 0xD7AF),
    (0x20000, 0x3134F),
)


def _unspaced(ch: str) -> bool:
    code = ord(ch)
    if code < 0x0E00:
        return False
    return any(low <= code <= high for low, high in _UNSPACED_RANGES)


# --- folding --------------------------------------------------------------------------------------


class _Folded:
    """A text folded, and the way back from folded positions to the original's."""

    __slots__ = ("text", "folded", "invisible", "_starts", "_stops", "_mapped")

    def __init__(self, text: str, folded: str, invisible: frozenset[int] = frozenset(),
                 starts: list[int] | None = None, stops: list[int] | None = None, mapped: bool = True):
        self.text = text  # the original
        self.folded = folded
        self.invisible = invisible  # folded positions where an invisible character was dropped
        # For each folded character, the original index of the character it came
        # from, and the end of that character with its trailing accents; None when
        # folded and original coincide.
        self._starts = starts
        self._stops = stops
        # False: the map is built when a span is first asked for. Most texts name
        # nobody, so most never need it.
        self._mapped = mapped

    def span(self, start: int, end: int) -> tuple[int, int] | None:
        """The original code points behind folded[start:end], or None if it cuts through a folded character."""
        if not self._mapped:
            mapped = _map_text(self.text)
            self._starts, self._stops, self._mapped = mapped._starts, mapped._stops, True
        starts = self._starts
        if starts is None:
            return start, end
        if (start and starts[start - 1] == starts[start]) or (end < len(starts) and starts[end] == starts[end - 1]):
            return None  # half of an "ss" from "ß" is not a word of its own
        return starts[start], self._stops[end - 1]

    def invisible_inside_words(self) -> bool:
        """Whether an invisible character sits between two letters of a word ("Ch<ZWSP>en", "Oka<SHY>for").

        There it may be read as nothing or as a word's end, each place its own
        way ("As<U+2800>Oka<SHY>for"), which marks cannot say: such a text is
        searched by `_unmarked_matches`.
        """
        folded = self.folded
        return any(0 < at < len(folded) and not self.boundary(at, invisible=False) for at in self.invisible)

    def boundary(self, at: int, invisible: bool = True) -> bool:
        """Whether a word may begin or end at folded position `at` (at an invisible character too, unless told not)."""
        folded = self.folded
        if at == 0 or at == len(folded):
            return True
        before, after = folded[at - 1], folded[at]
        return (not before.isalnum() or not after.isalnum() or (invisible and at in self.invisible)
                or _unspaced(before) or _unspaced(after))


# A word mark: where a word may begin or end. Keys and texts are marked alike,
# so a key (marked at both ends) is found only from a word's start to a word's
# end, and a text's work grows with its words' matches, never with the
# substrings of one long word. U+FFFF folds to nothing, so no folded text holds it.
_MARK = "\uffff"
_UNSPACED_RANGES_CLASS = "".join(f"\\U{low:08x}-\\U{high:08x}" for low, high in _UNSPACED_RANGES)
_W = "[^\\W_" + _UNSPACED_RANGES_CLASS + "]"  # a letter or digit of a spaced script
_U = "[" + _UNSPACED_RANGES_CLASS + "]"  # a character of an unspaced script: a word of its own
# Between two letters or digits of a spaced script no word begins: a mark goes
# everywhere else but between two characters of an unspaced script, where a word
# always may begin and a key starts unmarked instead (`_marked_key`): a Chinese
# roster's keys are not twice as long for it. (An underscore joins no words:
# "Sam_Okafor_notes".) So the text is cut into runs of each and single other
# characters, and marks join them: one C call, five times faster than marking
# by lookarounds.
_PIECES = re.compile(f"{_W}+|{_U}+|.", re.S)


def _marked(folded: str) -> str:
    return _MARK + _MARK.join(_PIECES.findall(folded)) + _MARK


def _marked_key(folded: str) -> str:
    """A term as a key: marked as text is, without a mark at an end that is a character of an unspaced script."""
    key = _marked(folded)
    if _unspaced(folded[0]):
        key = key[1:]
    if _unspaced(folded[-1]):
        key = key[:-1]
    return key


# Printable ASCII that folds to one character of its own kind ("A" → "a", "0" → "o") is
# translated in one C call; the rest ("m" → "rn", white space runs, anything else) one by one.
_ASCII_ONE = {c: fold_char(chr(c)) for c in range(0x21, 0x7F) if len(fold_char(chr(c))) == 1
              and fold_char(chr(c)) not in (" ", INVISIBLE)}
_ASCII_ONE[0x20] = " "
_OTHERS = re.compile(r"\s\s+|[^" + re.escape("".join(map(chr, _ASCII_ONE))) + "]")
_NO_INVISIBLE: frozenset[int] = frozenset()
# The same as a byte table: bytes.translate is a table lookup per byte, str.translate a dict lookup.
_ASCII_BYTES = bytes(ord(_ASCII_ONE.get(b, chr(b))) if b < 0x80 else b for b in range(256))


def _translate(run: str) -> str:
    """A run of the characters of _ASCII_ONE, folded."""
    return run.encode("ascii").translate(_ASCII_BYTES).decode("ascii")


# ASCII text that holds nothing invisible folds in a few C calls, like _map_text but
# without the map back: `m` → `rn`, white space → one space.
_ASCII_LAZY = bytes(ord(" ") if chr(b).isspace() else b + 32 if chr(b) == "M" else _ASCII_BYTES[b] for b in range(256))
_ASCII_INVISIBLE = re.compile("[" + re.escape("".join(chr(c) for c in range(128)
                                                     if fold_char(chr(c)) == INVISIBLE)) + "]")
_ASCII_LONGER = [(chr(c), fold_char(chr(c))) for c in range(0x21, 0x7F)
                 if c not in _ASCII_ONE and chr(c).lower() == chr(c)]
_SPACE_RUNS = re.compile("  +")


def _fold_text(text: str) -> _Folded:
    if _OTHERS.search(text) is None:  # the common case: one C call, and no map is needed
        return _Folded(text, _translate(text))
    if text.isascii() and _ASCII_INVISIBLE.search(text) is None:
        folded = text.encode("ascii").translate(_ASCII_LAZY).decode("ascii")
        for plain, longer in _ASCII_LONGER:
            if plain in folded:
                folded = folded.replace(plain, longer)
        if "  " in folded:
            folded = _SPACE_RUNS.sub(" ", folded)
        return _Folded(text, folded, mapped=False)
    return _map_text(text)


def _map_text(text: str) -> _Folded:
    """The text folded one character at a time, with the map back to the original."""
    others = _OTHERS.search(text)
    if others is None:
        return _Folded(text, _translate(text))
    out: list[str] = []
    starts: list[int] = []
    stops: list[int] = []
    invisible: set[int] = set()
    size = 0  # len("".join(out))
    last = ""  # the last folded character
    at = 0
    while others is not None:
        begin, finish = others.span()
        if at < begin and text[at] == " " and last == " ":
            at += 1  # a space after an invisible character after a space: still one space
        if at < begin:  # a run of ASCII that folds one to one
            run = _translate(text[at:begin])
            out.append(run)
            starts.extend(range(at, begin))
            stops.extend(range(at + 1, begin + 1))
            size += begin - at
            last = run[-1]
        for index in range(begin, finish):
            piece = fold_char(text[index])
            if piece == " ":
                if last == " ":
                    continue  # a run of white space reads as one space
                out.append(" ")
                starts.append(index)
                stops.append(index + 1)
                size += 1
                last = " "
            elif piece == INVISIBLE:
                invisible.add(size)
            elif not piece:
                if last and last != " " and size not in invisible:
                    stops[-1] = index + 1  # an accent belongs to the letter before it
            else:
                out.append(piece)
                starts.extend([index] * len(piece))
                stops.extend([index + 1] * len(piece))
                size += len(piece)
                last = piece[-1]
        at = finish
        others = _OTHERS.search(text, at)
    if at < len(text) and text[at] == " " and last == " ":
        at += 1
    if at < len(text):
        out.append(_translate(text[at:]))
        starts.extend(range(at, len(text)))
        stops.extend(range(at + 1, len(text) + 1))
    return _Folded(text, "".join(out), frozenset(invisible) if invisible else _NO_INVISIBLE, starts, stops)


def _fold_term(term: str) -> str:
    """A term folded exactly as the text is, so the automaton's keys meet the text's characters.

    Kept for short terms only (names' words are): the cache is bounded by
    count, so a count of long terms would be a lot of memory.
    """
    return _fold_short_term(term) if len(term) <= 64 else _fold_text(term).folded.strip()


@lru_cache(maxsize=65536)
def _fold_short_term(term: str) -> str:
    return _fold_text(term).folded.strip()


# --- the roster as a cache key --------------------------------------------------------------------


_Row = tuple[str, str, str, list[str], list[str], list[str]]  # id, name, organization, handles, aliases, org aliases


class _Roster(NamedTuple):
    """The searchable fields of a roster, one joined string per column.

    Joined strings are the cheapest key to build, hash and compare for thousands of
    people (one C-level join, hash and memcmp per column instead of one per field),
    and splitting them back gives the exact fields, so an automaton built from a key
    is a function of that key alone. (A list item holding _LIST_SEP reads back as
    two, which can only find more.)
    """

    size: int
    ids: str
    names: str
    organizations: str
    handles: str  # people joined by _PERSON_SEP, each one's list by _LIST_SEP
    aliases: str
    organization_aliases: str

    @classmethod
    def of(cls, people: tuple[Person, ...]) -> _Roster | None:
        """The key, or None if a field holds a separator and splitting would shift people."""
        sep, join = _PERSON_SEP, _LIST_SEP.join
        roster = cls(
            len(people),
            sep.join([p.id for p in people]),
            sep.join([p.display_name for p in people]),
            sep.join([p.organization for p in people]),
            sep.join([join(p.handles) for p in people]),
            sep.join([join(p.aliases) for p in people]),
            sep.join([join(p.organization_aliases) for p in people]),
        )
        joined_right = all(column.count(sep) == roster.size - 1 for column in roster[1:])
        return roster if joined_right else None

    def columns(self) -> list[list[str]]:
        return [column.split(_PERSON_SEP) for column in self[1:]]

    @classmethod
    def from_columns(cls, columns: list[list[str]]) -> _Roster:
        return cls(len(columns[0]), *(_PERSON_SEP.join(column) for column in columns))

    def rows(self) -> Iterable[_Row]:
        if not self.size:
            return  # "".split() would give one person with empty fields
        ids, names, organizations, *lists = self.columns()
        for pid, name, organization, *joined in zip(ids, names, organizations, *lists):
            yield (pid, name, organization, *[j.split(_LIST_SEP) if j else [] for j in joined])

    def around(self, run: _Roster) -> _Roster | None:
        """The people before and after `run` if it appears whole in this roster, else None."""
        at = self.ids.find(run.ids)
        while at != -1:
            end = at + len(run.ids)
            whole_ids = (at == 0 or self.ids[at - 1] == _PERSON_SEP) and (
                end == len(self.ids) or self.ids[end] == _PERSON_SEP)
            if whole_ids:
                first = self.ids.count(_PERSON_SEP, 0, at)
                cuts = [_cut(column, first, self.size - first - run.size) for column in self[1:]]
                if all(middle == wanted for (_, middle, _), wanted in zip(cuts, run[1:])):
                    return _Roster.from_columns([before + after for before, _, after in cuts])
            at = self.ids.find(run.ids, at + 1)
        return None


def _cut(column: str, before: int, after: int) -> tuple[list[str], str, list[str]]:
    """A joined column as its first `before` people, the people between joined, and its last `after`.

    Splits only the ends: the people around a reused roster are few, the roster is thousands.
    """
    head = column.split(_PERSON_SEP, before)
    tail = head.pop().rsplit(_PERSON_SEP, after)
    return head, tail[0], tail[1:]


# --- building the automaton -----------------------------------------------------------------------


# A term's readings, best first: (rank in _REVEALS, needs, ids of the people it names).
# Plain tuples: a roster of thousands makes tens of thousands of them per build.
_Variant = tuple[int, int, tuple[str, ...]]
_NAME, _HANDLE, _ORGANIZATION = range(len(_REVEALS))


def _letters(word: str) -> int:
    return sum(1 for c in _fold_term(word) if c.isalnum())


def _is_short(part: str) -> bool:
    folded = _fold_term(part)
    if folded and all(_unspaced(c) for c in folded):
        return len(folded) < 2
    return _letters(part) < 3


# Words that join a name's parts rather than name anyone ("Anna van der Berg"), when the
# roster writes them in lower case; and titles and generations, which name no one.
_PARTICLES = frozenset("van der den de del della di da das do dos du la le von zu ter ten y e bin ibn al el".split())
_NOT_NAMES = frozenset("jr sr ii iii iv phd dr mr mrs ms mx prof esq".split())
# Letters after a name, when the roster writes them in capitals ("Sam Okafor OBE").
_POST_NOMINALS = frozenset("OBE MBE CBE KBE DBE KC QC FRS MP JP MD MSC BSC MBA CEO".split())
# Where a roster's name splits into parts (white space, commas), and where a part
# splits into pieces that also stand alone ("García-Márquez", "Okafor/Smith", "迈克尔·杰克逊").
_PART_BREAKS = re.compile(r"[\s,]+")
_PIECE_BREAKS = re.compile(r"[-/·・･]")
# What follows a name without being part of it: "Sam Okafor (Lagos)", "Sam Okafor | Northwind".
_AFTER_NAME = re.compile(r"\s+(?:[(|]|[-–—]\s)")


def _bare(word: str) -> str:
    """A word without the punctuation, symbols and superscripts around it ("Okafor," → "Okafor", „Sammy“ → "Sammy")."""
    start, end = 0, len(word)
    while start < end and _outside(word[start]):
        start += 1
    while end > start and _outside(word[end - 1]):
        end -= 1
    return word[start:end]


def _outside(ch: str) -> bool:
    category = unicodedata.category(ch)
    return category[0] in "PSZ" or category == "No"


def _words(text: str) -> list[str]:
    """The words of a name that may name someone: no particle before a later word, no title, no word without a letter."""
    words = [_bare(raw) for raw in _PART_BREAKS.split(text)]
    words = [w for w in words if any(c.isalpha() for c in w) and w.replace(".", "") not in _POST_NOMINALS
             and _fold_term(w).replace(".", "") not in _not_names()]
    return [w for i, w in enumerate(words) if w not in _PARTICLES or i == len(words) - 1]


def _name_parts(name: str):
    """(part, needs) for each part of a name, and each piece of a joined part, that is not the name itself.

    The given names are the parts before the last, except in a name written
    surname first: after a comma ("Okafor, Sam"), or after a first word of three
    or more letters in capitals ("OKAFOR Sam"). Whatever follows the name itself ("(Lagos)", "| Northwind")
    is searched for too, but is no given name. A part the roster writes
    capitalised needs _LOWER where the text writes it in lower case.
    """
    cut = _AFTER_NAME.search(name)
    core, after = (name[:cut.start()], name[cut.start():]) if cut else (name, "")
    surnames: set[str] = set()
    if "," in core and _words(core.split(",", 1)[1]):
        surnames = set(_words(core.split(",", 1)[0]))
    words = _words(core)
    if not surnames and len(words) > 1 and _letters(words[0]) >= 3 and words[0].isupper() and not any(
            w.isupper() for w in words[1:]):
        surnames = {words[0]}  # "OKAFOR Sam"; not initials ("AJ Smith") nor a middle name ("Anna MARIA Smith")
    last = len(words) - 1
    found = [(word, (word not in surnames) if surnames else index < last) for index, word in enumerate(words)]
    found += [(word, False) for word in _words(after)]
    for word, first in found:
        pieces = [word, *(_bare(p) for p in _PIECE_BREAKS.split(word))] if _PIECE_BREAKS.search(word) else [word]
        for piece in dict.fromkeys(pieces):
            if not piece or piece == name or (piece in _PARTICLES and piece != word):
                continue
            needs = (_CASED if piece[0].isupper() else 0) | (_SHORT if _is_short(piece) else 0)
            yield piece, needs | (_FIRST if first else 0)


@lru_cache(maxsize=4096)
def _is_suffix(word: str) -> bool:
    """Whether an organization's last word is a legal or generic suffix ("Inc.", "GmbH", "(UK)")."""
    if word.startswith("(") and word.endswith(")"):
        return True
    return _fold_term(word.strip(".,")).replace(".", "") in _suffix_keys()


@lru_cache(maxsize=1)
def _not_names() -> frozenset[str]:
    """Titles and generations folded as a word of a name is ("Mr" → "rnr")."""
    return frozenset(_fold_term(word) for word in _NOT_NAMES)


@lru_cache(maxsize=1)
def _suffix_keys() -> frozenset[str]:
    """The suffixes folded as a word of the organization is ("company" → "cornpany")."""
    return frozenset(_fold_term(suffix) for suffix in _ORG_SUFFIXES)


def _organization_short_forms(organization: str):
    """The organization without what it is often named without, each step, with and without
    the symbols around it ("The Yahoo! (UK)" → "Yahoo! (UK)", "The Yahoo!", "Yahoo!", "Yahoo")."""
    forms: list[str] = []
    bare = re.sub(r"\s*\([^()]*\)$", "", organization)  # "Northwind Ltd (in liquidation)"
    if bare:
        forms.append(bare)
    words = (bare or organization).split()
    while words and words[0].casefold() in _ORG_PREFIXES and len(words) > 1:
        words = words[1:]
        forms.append(" ".join(words))
    while len(words) > 1 and _is_suffix(words[-1]):
        words = words[:-1]
        while words and words[-1][-1:] in ",&":
            words[-1] = words[-1].rstrip(",&").rstrip()
            if not words[-1]:
                words.pop()
        if words:
            forms.append(" ".join(words))
    for form in dict.fromkeys(f for form in forms for f in (form, _bare(form))):
        if form and form != organization:
            yield form


def _terms(name: str, organization: str, handles: Iterable[str], aliases: Iterable[str],
           organization_aliases: Iterable[str]):
    """(term, rank, needs) for one person."""
    name = " ".join(name.split())
    if name:
        yield name, _NAME, 0
        if _bare(name) not in ("", name):
            yield _bare(name), _NAME, 0  # "Okafor.", "Acme®": the roster's punctuation is no part of it
        for part, needs in _name_parts(name):
            yield part, _NAME, needs
    for alias in aliases:
        yield alias, _NAME, 0
    for handle in handles:
        bare = handle.strip().removeprefix("@")
        if bare:
            yield bare, _HANDLE, 0
            yield "@" + bare, _HANDLE, 0
    organization = " ".join(organization.split())
    if organization:
        yield organization, _ORGANIZATION, 0
        if _bare(organization) not in ("", organization):
            yield _bare(organization), _ORGANIZATION, 0
        for short in _organization_short_forms(organization):
            yield short, _ORGANIZATION, ((_CASED if short[0].isupper() else 0) | _ORG_SHORT
                                         | (_SHORT if _is_short(short) else 0))
    for alias in organization_aliases:
        yield alias, _ORGANIZATION, 0


def _variants(readings: list[tuple[int, int, str]]) -> tuple[_Variant, ...]:
    if len(readings) == 1:  # nearly every term: one person, one reading
        rank, needs, pid = readings[0]
        return ((rank, needs, (pid,)),)
    owners: dict[tuple[int, int], dict[str, None]] = {}
    for rank, needs, pid in readings:
        owners.setdefault((rank, needs), {})[pid] = None  # a dict keeps ids unique, in order
    # By rank, then the reading that needs least first.
    return tuple((rank, needs, tuple(ids)) for (rank, needs), ids in sorted(owners.items()))


def _unspaced_variants(folded: str) -> list[str]:
    """A term of a script written without spaces as text may space it: without the
    roster's space ("山田 花子" as "山田花子"), or with one the roster leaves out
    ("陈伟" as "陈 伟"), for names of up to twelve folded characters (a Hangul
    syllable folds to its two or three letters)."""
    joined = folded.replace(" ", "")
    if not joined or not all(_unspaced(c) for c in joined):
        return []
    variants = [joined] if joined != folded else []
    if len(joined) <= 12:
        variants += [joined[:i] + " " + joined[i:] for i in range(1, len(joined))]
    return [v for v in variants if v != folded]


def _build(rows: Iterable[_Row], marked: bool = True) -> ahocorasick.Automaton | None:
    """An automaton from each folded term (word-marked, or as it is) to (length, variants), or None if nobody has a term."""
    readings: dict[str, list[tuple[int, int, str]]] = {}
    size = 0
    terms = 0
    for pid, *fields in rows:
        for term, rank, needs in _terms(*fields):
            terms += 1
            if not terms % _CHECK_EVERY:
                deadline.check()  # by terms, not people: 500 people of 500 words each are 250,000 terms
            folded = _fold_term(term)
            if folded:
                variants = [folded, *_unspaced_variants(folded)]
                size += sum(map(len, variants))
                if size > _MAX_BUILD_CHARS:
                    raise RosterTooLarge(f"the names of this request fold into more than {_MAX_BUILD_CHARS:,} "
                                         "characters of terms, more than one search may hold")
                for variant in variants:
                    readings.setdefault(variant, []).append((rank, needs, pid))
    if not readings:
        return None
    automaton = ahocorasick.Automaton()
    for folded, found in readings.items():
        automaton.add_word(_marked_key(folded) if marked else folded, (len(folded), _variants(found)))
    automaton.make_automaton()
    return automaton


# How often, in matches or people, a long search or build looks whether its caller still waits.
_CHECK_EVERY = 4096
# Matches of one reading of a text, per folded character, past which the whole
# text counts as naming (beyond what a quote naming someone in every word has).
_MAX_MATCHES_PER_CHAR = 2
# Characters of folded terms one matcher may be built from. The names of a
# check are bounded before folding (`--max-names-total`); folding and the
# spacing variants of unspaced scripts can multiply them, by 15 for U+FDFA.
_MAX_BUILD_CHARS = 2_000_000


class RosterTooLarge(Exception):
    """The names of one request fold into more than one matcher may hold: the item is denied (fail closed)."""


def _size(automaton: ahocorasick.Automaton | None) -> int:
    """Bytes an automaton holds, estimated: its trie as it reports it, and each word's value (a Python tuple)."""
    if automaton is None:
        return 0
    stats = automaton.get_stats()
    return stats["total_size"] + stats["words_count"] * _BYTES_PER_VALUE


_BYTES_PER_VALUE = 256  # a word's (length, variants) tuple and the strings it holds, measured roughly


# --- the cache ------------------------------------------------------------------------------------


class _MatcherCache:
    """Built automata by roster content: a bounded, thread-safe LRU.

    A quote's roster is the item's author, the group's participants and the people
    the item lists, so it changes from item to item while the group, the bulk of it,
    stays. On a miss, a recently built large roster found as a run inside the new one
    is reused and only the people around it get an automaton of their own; the pair
    is cached under the new roster. Bounded by entries and by estimated bytes
    (`_size`), counting a shared automaton in every entry that holds it, which
    errs small; the roster stored last stays whatever its size. What eviction
    frees is given back to the system (`_give_back`).
    Building happens outside the lock: two threads missing together both build,
    and the second store wins, which is harmless.
    """

    REUSE_AT_LEAST = 256  # people; a smaller roster is cheaper to build than to search for
    REUSE_CANDIDATES = 4
    REUSE_GROWTH = 1.125  # the people around a reused roster: at most an eighth of it

    def __init__(self, max_entries: int = 64, max_bytes: int = 32 * 2**20, marked: bool = True) -> None:
        self.marked = marked  # word-marked keys (`_matches`), or keys as they are (`_unmarked_matches`)
        # The roster stored last stays whatever its size in the main cache (a group's
        # next check is likely its own); unmarked matchers are rarely asked again.
        self._keep = 1 if marked else 0
        self._max_entries = max_entries
        self.max_bytes = max_bytes
        self._entries: OrderedDict[_Roster, tuple[ahocorasick.Automaton, ...]] = OrderedDict()
        self._terms = 0
        self._lock = threading.Lock()

    def automata(self, roster: _Roster) -> tuple[ahocorasick.Automaton, ...]:
        with self._lock:
            found = self._entries.get(roster)
            if found is not None:
                self._entries.move_to_end(roster)
                return found
            candidates = self._reusable(roster.size)
        reused, built = self._compose(roster, candidates)
        self._store(roster, built, reused)
        return built

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._terms = 0

    def _reusable(self, size: int) -> list[tuple[_Roster, ahocorasick.Automaton]]:
        """Recent entries built whole from one roster that could be most of a roster of `size`.

        Most, not just part: a small roster reused inside a large one would leave most
        of it to build each time, and the large one would never be cached whole.
        """
        found = []
        for key, automata in reversed(self._entries.items()):
            if len(automata) == 1 and self.REUSE_AT_LEAST <= key.size <= size <= key.size * self.REUSE_GROWTH:
                found.append((key, automata[0]))
                if len(found) == self.REUSE_CANDIDATES:
                    break
        return found

    def _compose(self, roster: _Roster, candidates: list[tuple[_Roster, ahocorasick.Automaton]],
                 ) -> tuple[_Roster | None, tuple[ahocorasick.Automaton, ...]]:
        """The automata for `roster`, and the cached roster they reuse, if any."""
        for key, automaton in candidates:
            around = roster.around(key)
            if around is not None:
                rest = _build(around.rows(), self.marked)
                return key, ((automaton,) if rest is None else (automaton, rest))
        whole = _build(roster.rows(), self.marked)
        return None, (() if whole is None else (whole,))

    def _store(self, roster: _Roster, automata: tuple[ahocorasick.Automaton, ...], reused: _Roster | None) -> None:
        with self._lock:
            if reused in self._entries:
                self._entries.move_to_end(reused)  # in use: a group's many items keep their group's matcher
            if roster in self._entries:
                self._terms -= sum(map(_size, self._entries.pop(roster)))
            self._entries[roster] = automata
            self._terms += sum(map(_size, automata))
            evicted = 0
            while len(self._entries) > self._keep and (
                    len(self._entries) > self._max_entries or self._terms > self.max_bytes):
                freed = sum(map(_size, self._entries.popitem(last=False)[1]))
                self._terms -= freed
                evicted += freed
        if evicted >= _GIVE_BACK_AT:
            _give_back()


# Freed matchers leave their pages in the C allocator's heap, where the next
# large build finds them fragmented: give them back to the system once this
# much is freed. (glibc only; elsewhere nothing is done.)
_GIVE_BACK_AT = 8 * 2**20


def _give_back() -> None:
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (AttributeError, OSError):
        pass


_CACHE = _MatcherCache()
# Unmarked matchers are built only for texts with invisible characters inside words: few, so a few kept.
_UNMARKED_CACHE = _MatcherCache(max_entries=8, marked=False)


def set_cache_budget(max_bytes: int) -> None:
    """The bytes recent rosters' matchers may hold in this process (`discretion serve --matcher-cache-bytes`).

    Four fifths for word-marked matchers, one fifth for the unmarked ones.
    """
    _CACHE.max_bytes = max_bytes * 4 // 5
    _UNMARKED_CACHE.max_bytes = max_bytes // 5


set_cache_budget(32 * 2**20)


def _automata(people: tuple[Person, ...], cache: _MatcherCache = _CACHE) -> tuple[ahocorasick.Automaton, ...]:
    roster = _Roster.of(people)
    if roster is None:  # a field holds a separator: correct but uncached
        whole = _build(((p.id, p.display_name, p.organization, list(p.handles), list(p.aliases),
                         list(p.organization_aliases)) for p in people), cache.marked)
        return () if whole is None else (whole,)
    return cache.automata(roster)


# --- matching -------------------------------------------------------------------------------------


def _rank(variants: tuple[_Variant, ...], lower_case: bool, allowed: int, excused: frozenset[str]) -> int | None:
    """What a match reveals, or None if no reading of it counts."""
    for rank, needs, owners in variants:
        if needs & _CASED:
            needs = (needs & ~_CASED) | (_LOWER if lower_case else 0)
        if needs & ~allowed:
            continue  # the agreement does not count this kind of term
        if excused and excused.issuperset(owners):  # names only people who may be named
            continue
        return rank
    return None


def _matches(automaton: ahocorasick.Automaton, text: _Folded, reading: str, allowed: int, excused: frozenset[str]):
    """(start, end, rank) in the original text of each match that counts; `reading` is the text word-marked.

    Keys and reading are word-marked, so every match is a whole word or words
    and the work is linear in the text: past `_MAX_MATCHES_PER_CHAR` matches
    per character (names of repeated words in a text of that word) the whole
    text is one match, the restrictive reading.
    """
    most = _MAX_MATCHES_PER_CHAR * len(text.folded) + _CHECK_EVERY
    marks, counted = 0, 0  # marks in reading[:counted]; matches come in order of their ends
    for seen, (last, (length, variants)) in enumerate(automaton.iter(reading)):
        if not seen % _CHECK_EVERY:
            deadline.check()
            if seen >= most:
                yield 0, len(text.text), 0
                return
        marks += reading.count(_MARK, counted, last + 1)
        counted = last + 1
        end = last + 1 - marks  # past the key's last character (a mark, or an unspaced script's letter)
        span = text.span(end - length, end)
        if span is None:
            continue
        rank = _rank(variants, text.text[span[0]].islower(), allowed, excused)
        if rank is not None:
            yield span[0], span[1], rank


def _unmarked_matches(automaton: ahocorasick.Automaton, text: _Folded, allowed: int, excused: frozenset[str]):
    """(start, end, rank) of each match that counts, in a text with invisible characters inside words.

    Every occurrence of a term is a candidate, and one counts if it begins
    and ends where a word may: at an invisible character too, each one read
    as a word's end or as nothing, whichever finds a name. Linear all the
    same: past `_MAX_MATCHES_PER_CHAR` candidates per character the whole
    text is one match, the restrictive reading.
    """
    most = _MAX_MATCHES_PER_CHAR * len(text.folded) + _CHECK_EVERY
    for seen, (last, (length, variants)) in enumerate(automaton.iter(text.folded)):
        if not seen % _CHECK_EVERY:
            deadline.check()
            if seen >= most:
                yield 0, len(text.text), 0
                return
        start, end = last + 1 - length, last + 1
        if not (text.boundary(start) and text.boundary(end)):
            continue  # inside a longer word
        span = text.span(start, end)
        if span is None:
            continue
        rank = _rank(variants, text.text[span[0]].islower(), allowed, excused)
        if rank is not None:
            yield span[0], span[1], rank


class Matcher:
    """The search for the names of one set of people, built (or found in the cache) once, for many texts.

    A check builds one for its roster and reuses it for every item
    (`obligations`): finding it again meant keying 10,000 people per item.
    """

    __slots__ = ("_people", "_built", "_too_large")

    def __init__(self, people: Iterable[Person]):
        self._people = tuple(people)
        # Each kind of matcher is built (or found) when a text first needs it: most
        # requests need only the marked one, a text with invisibles inside words the other.
        self._built: dict[bool, tuple[ahocorasick.Automaton, ...]] = {}
        # Remembered, not raised again by building again: each item of a request
        # would spend a second building what cannot be built.
        self._too_large: RosterTooLarge | None = None

    def _automata(self, marked: bool) -> tuple[ahocorasick.Automaton, ...]:
        if self._too_large is not None:
            raise self._too_large
        found = self._built.get(marked)
        if found is None:
            try:
                found = _automata(self._people, _CACHE if marked else _UNMARKED_CACHE) if self._people else ()
            except RosterTooLarge as error:
                self._too_large = error
                raise
            self._built[marked] = found
        return found

    def spans(self, text: str, *, excused: Iterable[str] = (), counts: int = FLAG_ALL) -> tuple[Span, ...]:
        """Spans of `text` naming any of the people but those `excused` (by id), who may be named.

        A term several people share still counts if any of them is not
        excused. `counts` is the agreement's judgement (`judgement(...)`):
        which less certain terms count.
        """
        if self._too_large is not None:
            raise self._too_large
        if not text or not self._people:
            return ()
        folded = _fold_text(text)
        excused = frozenset(filter(None, excused))
        if folded.invisible and folded.invisible_inside_words():
            found = [match for automaton in self._automata(marked=False)
                     for match in _unmarked_matches(automaton, folded, counts, excused)]
        else:
            reading = _marked(folded.folded)
            found = [match for automaton in self._automata(marked=True)
                     for match in _matches(automaton, folded, reading, counts, excused)]
        return tuple(Span(start, end, _REVEALS[rank]) for start, end, rank in _merge(found))


def identifying_spans(text: str, people: Iterable[Person], *, except_person: str = "", excused: Iterable[str] = (),
                      counts: int = FLAG_ALL) -> tuple[Span, ...]:
    """Spans of `text` naming any of `people` but those `excused` (by id): `Matcher(people).spans(...)`.

    `except_person` is one more id excused: the one acting, who may name themselves.
    """
    if not text:
        return ()
    return Matcher(people).spans(text, excused=(except_person, *excused), counts=counts)


def _merge(matches: list[tuple[int, int, int]]) -> list[tuple[int, int, int]]:
    """Sorted, with overlapping matches joined (a full name covers its surname); the first one's rank holds."""
    merged: list[tuple[int, int, int]] = []
    for start, end, rank in sorted(matches, key=lambda m: (m[0], -m[1], m[2])):
        if merged and start < merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end, merged[-1][2])
            continue
        merged.append((start, end, rank))
    return merged


def merge_spans(spans: Iterable[Span]) -> tuple[Span, ...]:
    """Spans of several findings as one list: sorted by text, overlapping spans of one text joined."""
    by_text: dict[tuple[str, str], list[tuple[int, int, int]]] = {}
    for span in spans:
        by_text.setdefault((span.field, span.item_id), []).append(
            (span.start, span.end, _REVEALS.index(span.reveals)))
    return tuple(Span(start, end, _REVEALS[rank], field, item_id)
                 for (field, item_id), found in by_text.items() for start, end, rank in _merge(found))


# --- units a caller indexes by --------------------------------------------------------------------

def in_unit(text: str, spans: tuple[Span, ...], unit: str) -> tuple[Span, ...]:
    """Spans of `text` counted in `unit`: code points (as found), UTF-16 code units or UTF-8 bytes."""
    if unit == "code_point" or not spans or text.isascii():
        return spans
    if unit == "utf16" and max(text) <= "\uffff":
        return spans
    # One pass over the text for all the spans' ends (counting each prefix
    # anew was quadratic: 100,000 one-letter matches took minutes).
    width = (lambda c: 2 if c > "\uffff" else 1) if unit == "utf16" else (
        lambda c: len(c.encode("utf-8", "surrogatepass")))
    ends = sorted({i for s in spans for i in (s.start, s.end)})
    offsets, at, counted = {}, 0, 0
    for i in ends:
        counted += sum(map(width, text[at:i]))
        at = i
        offsets[i] = counted
    return tuple(Span(offsets[s.start], offsets[s.end], s.reveals, s.field, s.item_id) for s in spans)
