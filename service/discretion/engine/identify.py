"""Finding text that identifies a participant: names, handles and affiliations.

The Chatham House Rule forbids revealing "the identity or the affiliation of
the speaker(s), nor that of any other participant"; a quote that says "as Chen
said" or "at Northwind Bank we…" does exactly that.

Every participant's terms are searched in one pass of an Aho-Corasick automaton
over a folded copy of the text: case-folded, compatibility-decomposed and
stripped of accents, so "jose nunez", "JOSÉ NÚÑEZ" and a decomposed "José Núñez"
all name José Núñez. Folding can change lengths ("ß" → "ss", "ﬁ" → "fi", a
dropped combining accent → nothing), so the folded text keeps a map back to the
original code points and spans are reported in the original text.

Terms per person: the full display name and the organization (any case), each
handle with and without its "@", and each part of a multi-part name of three or
more characters that starts with a capital, which matches only where the text
capitalises it too, so "will" is not taken for Will. A term matches whole words
only, and `except_person` (who may name themselves) is skipped.

The roster arrives with every request, and building an automaton for thousands
of people costs milliseconds, so built automata are cached by the roster's
content (see `_MatcherCache`).
"""

from __future__ import annotations

import threading
import unicodedata
from collections import OrderedDict
from collections.abc import Iterable
from functools import lru_cache
from typing import NamedTuple

import ahocorasick

from .model import Person, Span

_MIN_NAME_PART = 3
_REVEALS = ("name", "handle", "organization")  # by rank: a tie on one span reports the first

# Separators for the joined roster columns; a field holding one is not cached (see _Roster.of).
_PERSON_SEP = "\0"
_HANDLE_SEP = "\1"

# Letters with a stroke or without a dot have no Unicode decomposition, yet are
# written without it as readily as an accent ("Soren" for Søren, "Lukasz" for Łukasz).
_UNDECOMPOSED = str.maketrans({"ø": "o", "ł": "l", "đ": "d", "ħ": "h", "ŧ": "t", "ı": "i"})


# --- folding --------------------------------------------------------------------------------------


@lru_cache(maxsize=8192)
def _fold_char(ch: str) -> str:
    """One code point case-folded and with its accents removed; may be longer ("ß") or empty (an accent)."""
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", ch).casefold())
    kept = "".join(c for c in decomposed if not unicodedata.combining(c))
    return kept.translate(_UNDECOMPOSED)


def _fold(term: str) -> str:
    """A term folded exactly as the text is, so the automaton's keys meet the text's characters."""
    return term.lower() if term.isascii() else "".join(map(_fold_char, term))


class _Folded(NamedTuple):
    text: str  # the original
    folded: str
    origin: list[int] | None  # folded index -> original index (one longer); None when they coincide

    def span(self, start: int, end: int) -> tuple[int, int] | None:
        """The original code points behind folded[start:end], or None if it cuts through a folded character."""
        origin = self.origin
        if origin is None:
            return start, end
        if (start and origin[start - 1] == origin[start]) or origin[end - 1] == origin[end]:
            return None  # half of an "ss" from "ß" is not a word of its own
        # origin[end] is where the next letter begins, so accents trailing the match are inside the span.
        return origin[start], origin[end]


def _fold_text(text: str) -> _Folded:
    if text.isascii():  # the common case costs one C call
        return _Folded(text, text.lower(), None)
    pieces = list(map(_fold_char, text))
    folded = "".join(pieces)
    if len(folded) == len(text) and "" not in pieces:  # then every piece is one character
        return _Folded(text, folded, None)
    origin = [index for index, piece in enumerate(pieces) for _ in piece]
    origin.append(len(text))
    return _Folded(text, folded, origin)


# --- the roster as a cache key --------------------------------------------------------------------


_Row = tuple[str, str, str, Iterable[str]]  # id, display name, organization, handles


class _Roster(NamedTuple):
    """The searchable fields of a roster, one joined string per column.

    Joined strings are the cheapest key to build, hash and compare for thousands of
    people (one C-level join, hash and memcmp per column instead of one per field),
    and splitting them back gives the exact fields, so an automaton built from a key
    is a function of that key alone. (A handle holding _HANDLE_SEP reads back as two
    handles, which can only find more.)
    """

    size: int
    ids: str
    names: str
    organizations: str
    handles: str  # people joined by _PERSON_SEP, each one's handles by _HANDLE_SEP

    @classmethod
    def of(cls, people: tuple[Person, ...]) -> _Roster | None:
        """The key, or None if a field holds a separator and splitting would shift people."""
        sep = _PERSON_SEP
        roster = cls(
            len(people),
            sep.join([p.id for p in people]),
            sep.join([p.display_name for p in people]),
            sep.join([p.organization for p in people]),
            sep.join([_HANDLE_SEP.join(p.handles) for p in people]),
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
        ids, names, organizations, handles = self.columns()
        for pid, name, organization, joined in zip(ids, names, organizations, handles):
            yield pid, name, organization, joined.split(_HANDLE_SEP) if joined else []

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


# A term's readings, best first: (rank in _REVEALS, capitalised_only, ids of the people it names).
# Plain tuples: a roster of thousands makes tens of thousands of them per build.
_Variant = tuple[int, bool, tuple[str, ...]]
_NAME, _HANDLE, _ORGANIZATION = range(len(_REVEALS))


def _terms(name: str, organization: str, handles: Iterable[str]):
    """(term, rank, capitalised_only) for one person."""
    name = name.strip()
    if name:
        yield name, _NAME, False
        parts = name.split()
        if len(parts) > 1:
            for part in parts:
                if len(part) >= _MIN_NAME_PART and part[0].isupper():
                    yield part, _NAME, True
    for handle in handles:
        bare = handle.strip().removeprefix("@")
        if bare:
            yield bare, _HANDLE, False
            yield "@" + bare, _HANDLE, False
    organization = organization.strip()
    if organization:
        yield organization, _ORGANIZATION, False


def _variants(readings: list[tuple[int, bool, str]]) -> tuple[_Variant, ...]:
    if len(readings) == 1:  # nearly every term: one person, one reading
        rank, capitalised_only, pid = readings[0]
        return ((rank, capitalised_only, (pid,)),)
    owners: dict[tuple[int, bool], dict[str, None]] = {}
    for rank, capitalised_only, pid in readings:
        owners.setdefault((rank, capitalised_only), {})[pid] = None  # a dict keeps ids unique, in order
    # Any case before capitalised only, so a reading that needs no capital is tried first.
    return tuple((rank, capitalised_only, tuple(ids)) for (rank, capitalised_only), ids in sorted(owners.items()))


def _build(rows: Iterable[_Row]) -> ahocorasick.Automaton | None:
    """An automaton from each folded term to (length, variants), or None if nobody has a term."""
    readings: dict[str, list[tuple[int, bool, str]]] = {}
    for pid, name, organization, handles in rows:
        for term, rank, capitalised_only in _terms(name, organization, handles):
            folded = _fold(term)
            if folded:
                readings.setdefault(folded, []).append((rank, capitalised_only, pid))
    if not readings:
        return None
    automaton = ahocorasick.Automaton()
    for folded, found in readings.items():
        automaton.add_word(folded, (len(folded), _variants(found)))
    automaton.make_automaton()
    return automaton


def _size(automaton: ahocorasick.Automaton | None) -> int:
    return len(automaton) if automaton is not None else 0


# --- the cache ------------------------------------------------------------------------------------


class _MatcherCache:
    """Built automata by roster content: a bounded, thread-safe LRU.

    A quote's roster is the item's author, the group's participants and the people
    the item lists, so it changes from item to item while the group, the bulk of it,
    stays. On a miss, a recently built large roster found as a run inside the new one
    is reused and only the people around it get an automaton of their own; the pair
    is cached under the new roster. Bounded by entries and by total terms (memory),
    counting a shared automaton in every entry that holds it, which errs small.
    Building happens outside the lock: two threads missing together both build,
    and the second store wins, which is harmless.
    """

    REUSE_AT_LEAST = 256  # people; a smaller roster is cheaper to build than to search for
    REUSE_CANDIDATES = 4
    REUSE_GROWTH = 1.125  # the people around a reused roster: at most an eighth of it

    def __init__(self, max_entries: int = 64, max_terms: int = 200_000) -> None:
        self._max_entries = max_entries
        self._max_terms = max_terms
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

    @staticmethod
    def _compose(roster: _Roster, candidates: list[tuple[_Roster, ahocorasick.Automaton]],
                 ) -> tuple[_Roster | None, tuple[ahocorasick.Automaton, ...]]:
        """The automata for `roster`, and the cached roster they reuse, if any."""
        for key, automaton in candidates:
            around = roster.around(key)
            if around is not None:
                rest = _build(around.rows())
                return key, ((automaton,) if rest is None else (automaton, rest))
        whole = _build(roster.rows())
        return None, (() if whole is None else (whole,))

    def _store(self, roster: _Roster, automata: tuple[ahocorasick.Automaton, ...], reused: _Roster | None) -> None:
        with self._lock:
            if reused in self._entries:
                self._entries.move_to_end(reused)  # in use: a group's many items keep their group's matcher
            if roster in self._entries:
                self._terms -= sum(map(_size, self._entries.pop(roster)))
            self._entries[roster] = automata
            self._terms += sum(map(_size, automata))
            while len(self._entries) > 1 and (
                    len(self._entries) > self._max_entries or self._terms > self._max_terms):
                _, evicted = self._entries.popitem(last=False)
                self._terms -= sum(map(_size, evicted))


_CACHE = _MatcherCache()


def _automata(people: tuple[Person, ...]) -> tuple[ahocorasick.Automaton, ...]:
    roster = _Roster.of(people)
    if roster is None:  # a field holds a separator: correct but uncached
        whole = _build((p.id, p.display_name, p.organization, p.handles) for p in people)
        return () if whole is None else (whole,)
    return _CACHE.automata(roster)


# --- matching -------------------------------------------------------------------------------------


def _is_word_char(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def _rank(variants: tuple[_Variant, ...], capitalised: bool, excused: tuple[str, ...]) -> int | None:
    """What a match reveals, or None if every reading of it is excused."""
    for rank, capitalised_only, owners in variants:
        if capitalised_only and not capitalised:
            continue
        if owners == excused:  # names only the person who may name themselves
            continue
        return rank
    return None


def _matches(automaton: ahocorasick.Automaton, text: _Folded, excused: tuple[str, ...]):
    """(start, end, rank) in the original text of each whole-word match that is not excused."""
    folded = text.folded
    for last, (length, variants) in automaton.iter(folded):
        start, end = last + 1 - length, last + 1
        if (start and _is_word_char(folded[start - 1])) or (end < len(folded) and _is_word_char(folded[end])):
            continue  # inside a longer word
        span = text.span(start, end)
        if span is None:
            continue
        rank = _rank(variants, not text.text[span[0]].islower(), excused)
        if rank is not None:
            yield span[0], span[1], rank


def identifying_spans(text: str, people: Iterable[Person], *, except_person: str = "") -> tuple[Span, ...]:
    """Spans of `text` naming any of `people` (but not `except_person`, who may name themselves)."""
    if not text:
        return ()
    people = tuple(people)
    if not people:
        return ()
    automata = _automata(people)
    if not automata:
        return ()
    folded = _fold_text(text)
    excused = (except_person,) if except_person else ()
    found = [match for automaton in automata for match in _matches(automaton, folded, excused)]
    return tuple(Span(start, end, _REVEALS[rank]) for start, end, rank in _merge(found))


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
