"""Finding text that identifies a participant: names, handles and affiliations.

The Chatham House Rule forbids revealing "the identity or the affiliation of
the speaker(s), nor that of any other participant"; a quote that says "as Chen
said" or "at Northwind Bank we…" does exactly that. Matching is on word
boundaries; full names, handles and organizations match in any case, a single
part of a name (a surname) only capitalised, so "will" is not taken for Will.
"""

from __future__ import annotations

from .model import Person, Span

_MIN_NAME_PART = 3


def _is_word_char(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


def _occurrences(haystack: str, needle: str):
    start = haystack.find(needle)
    while start != -1:
        end = start + len(needle)
        before_ok = start == 0 or not _is_word_char(haystack[start - 1])
        after_ok = end == len(haystack) or not _is_word_char(haystack[end])
        if before_ok and after_ok:
            yield start, end
        start = haystack.find(needle, start + 1)


def _terms(person: Person):
    """(term, case_sensitive, reveals) for one person."""
    name = person.display_name.strip()
    if name:
        yield name, False, "name"
        parts = name.split()
        if len(parts) > 1:
            for part in parts:
                if len(part) >= _MIN_NAME_PART and part[0].isupper():
                    yield part, True, "name"
    for handle in person.handles:
        handle = handle.strip()
        if handle:
            yield handle, False, "handle"
            if handle.startswith("@") and len(handle) > 1:
                yield handle[1:], False, "handle"
    if person.organization.strip():
        yield person.organization.strip(), False, "organization"


def identifying_spans(text: str, people, *, except_person: str = "") -> tuple[Span, ...]:
    """Spans of `text` naming any of `people` (but not `except_person`, who may name themselves)."""
    if not text:
        return ()
    folded = text.casefold() if len(text.casefold()) == len(text) else None
    found: list[Span] = []
    for person in people:
        if except_person and person.id == except_person:
            continue
        for term, case_sensitive, reveals in _terms(person):
            if case_sensitive:
                hits = _occurrences(text, term)
            elif folded is not None:
                hits = _occurrences(folded, term.casefold())
            else:  # casefolding changed lengths (e.g. ß): fall back to exact case
                hits = _occurrences(text, term)
            found.extend(Span(start, end, reveals) for start, end in hits)
    return _merge(found)


def _merge(spans: list[Span]) -> tuple[Span, ...]:
    """Sorted, with overlapping spans joined (a full name covers its surname)."""
    merged: list[Span] = []
    for span in sorted(spans, key=lambda s: (s.start, -s.end)):
        if merged and span.start < merged[-1].end:
            last = merged[-1]
            if span.end > last.end:
                merged[-1] = Span(last.start, span.end, last.reveals)
            continue
        merged.append(span)
    return tuple(merged)
