"""What decide() did, as events: the one record explanations, coverage and tests read.

`decide(..., tracer=[])` appends these in the order it works. Everything a
person or a tool learns about a decision is a filter over them: the
explanation the API returns (`explanation_lines`), `discretion explain`
(author/explain.py), coverage of the rules and condition entries
(author/coverage.py). Nothing parses an explanation's words back.

An entry of a rule's condition is named by its place: its index in the rule's
condition and, for an entry nested in `all`, `any` or `not`, the index of the
nested condition and of the entry in it (ir.Condition). The same place leads to
the authored entry, and so to its file, line and column.
"""

from __future__ import annotations

from dataclasses import dataclass

from .model import rule_key


@dataclass(frozen=True, slots=True)
class RuleRef:
    agreement: str
    version: int
    id: str

    @property
    def key(self) -> str:
        return rule_key(self.agreement, self.version, self.id)


@dataclass(frozen=True, slots=True)
class Event:
    pass


@dataclass(frozen=True, slots=True)
class Refused(Event):
    """The request was refused before any rule was read: the policy cannot know what is asked."""

    code: str
    field: str
    message: str


@dataclass(frozen=True, slots=True)
class JudgedAsPublic(Event):
    """A destination the public can reach: the request is judged as a publication too."""

    kind: str


@dataclass(frozen=True, slots=True)
class Governed(Event):
    """The agreement versions whose terms govern the item."""

    item: str
    versions: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Released(Event):
    """The author consented to newer terms: under them only what others are owed still applies."""

    item: str
    versions: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Reading(Event):
    """One reading the item is judged under: its effective labels and the destination kind as judged."""

    item: str
    labels: tuple[tuple[str, str], ...]
    destination: str


@dataclass(frozen=True, slots=True)
class LabelCarried(Event):
    """A version the group did not adopt judges the item's label: its rules may restrict, never permit."""

    item: str
    version: str
    schemes: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class EntryOutcome(Event):
    """An entry of a rule's condition was evaluated."""

    item: str
    rule: RuleRef
    place: tuple[int, ...]
    text: str
    held: bool


@dataclass(frozen=True, slots=True)
class NotApplicable(Event):
    """A rule's condition did not hold; `place` and `text` name its first entry that did not."""

    item: str
    rule: RuleRef
    place: tuple[int, ...]
    text: str


@dataclass(frozen=True, slots=True)
class Fired(Event):
    """A rule's condition held and the rule did what its effect says."""

    item: str
    rule: RuleRef
    effect: str
    reason_code: str
    owed: tuple[str, ...]  # the obligation types it owes for this item


@dataclass(frozen=True, slots=True)
class FailedClosed(Event):
    """A rule could not be evaluated: the item is denied, never the rule skipped."""

    item: str
    rule: RuleRef
    detail: str


@dataclass(frozen=True, slots=True)
class ItemDenied(Event):
    """The engine itself denied the item (no rule permits it, an unknown label, conflicting obligations…)."""

    item: str
    code: str
    said: str  # in a person's words
    rule: RuleRef | None = None


@dataclass(frozen=True, slots=True)
class ItemDecided(Event):
    item: str
    denied: bool
    owes: tuple[str, ...]  # obligation types, sorted


@dataclass(frozen=True, slots=True)
class Decided(Event):
    decision: str


def explanation_lines(events: list[Event] | tuple[Event, ...]) -> tuple[str, ...]:
    """The explanation the API returns (`CheckResponse.explanation`): one line per event a person reads."""
    return tuple(line for event in events if (line := _line(event)) is not None)


def _line(event: Event) -> str | None:
    if isinstance(event, Refused):
        return f"denied: {event.message} (field `{event.field}`)"
    if isinstance(event, JudgedAsPublic):
        return (f"the `{event.kind}` destination is publicly accessible: judged as `public` too, "
                "and the stricter holds")
    if isinstance(event, Governed):
        return f"item {event.item}: governed by {', '.join(event.versions)}"
    if isinstance(event, Released):
        return (f"  item {event.item}: the author consented to the new terms: under {', '.join(event.versions)} "
                "only what others are owed still applies")
    if isinstance(event, LabelCarried):
        return (f"  item {event.item}: {event.version} judges its {', '.join(event.schemes)} label "
                "(not adopted: its rules may restrict, never permit)")
    if isinstance(event, NotApplicable):
        return f"  item {event.item}: {event.rule.key}: not applicable, `{event.text}` does not hold"
    if isinstance(event, Fired):
        owed = f" owes {', '.join(event.owed)}" if event.owed else ""
        if event.effect == "require" and not event.owed:
            owed = " (nothing owed: the request does not do what it guards against)"
        return f"  item {event.item}: {event.rule.key}: {event.effect} [{event.reason_code}]{owed}"
    if isinstance(event, FailedClosed):
        return f"  item {event.item}: {event.rule.key}: error ({event.detail}) → deny"
    if isinstance(event, ItemDenied):
        return f"  item {event.item}: {event.said} → deny"
    if isinstance(event, ItemDecided):
        if event.denied:
            return f"item {event.item}: deny"
        return f"item {event.item}: allowed" + (f", owes {', '.join(event.owes)}" if event.owes else "")
    if isinstance(event, Decided):
        return f"decision: {event.decision}"
    return None  # Reading, EntryOutcome: for tools, not for the explanation's reader
