"""Test coverage: which rules the cases made apply, and which condition entries they saw hold and fail.

A rule is exercised when some case made its condition hold (or made it fail
closed, which a case may test on purpose). A condition entry — each `key: value`
of a rule's `when`, at any depth of `all`, `any` and `not` — has two outcomes,
held and did not hold; the report names the outcomes no case produced. Entries
are evaluated as the engine does, left to right and stopping at the first that
decides, so an entry behind one that never held is never evaluated: that is
reported too.

Coverage is a filter over the trace of each case's decision (engine/trace.py):
the engine records what it evaluated; this module counts it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..engine import trace
from ..engine.compiled import CompiledPolicy
from ..policy import model
from ..policy.load import Document
from .instrument import RuleKey, rules_of, written_rules


@dataclass
class Entry:
    """One entry of a rule's condition and what the cases made of it."""

    text: str
    file: str
    line: int
    column: int
    held: int = 0
    failed: int = 0


@dataclass
class RuleUse:
    key: RuleKey
    file: str
    line: int
    column: int
    applied: int = 0
    errors: int = 0
    entries: list[Entry] = field(default_factory=list)

    @property
    def exercised(self) -> bool:
        return self.applied > 0 or self.errors > 0


@dataclass(frozen=True)
class AgreementCoverage:
    agreement: str
    version: int
    rules: tuple[RuleUse, ...]

    @property
    def exercised(self) -> int:
        return sum(r.exercised for r in self.rules)

    @property
    def outcomes(self) -> tuple[int, int]:
        """(outcomes seen, outcomes possible) over every condition entry."""
        entries = [e for r in self.rules for e in r.entries]
        return sum((e.held > 0) + (e.failed > 0) for e in entries), 2 * len(entries)


class Coverage:
    """Counts, from the traces of the cases' decisions (`record`), what the rules of `policy` did."""

    def __init__(self, policy: CompiledPolicy, documents: list[Document]):
        self.uses: dict[RuleKey, RuleUse] = {}
        self._entries: dict[tuple[RuleKey, tuple[int, ...]], Entry] = {}
        written = {}
        for rule in written_rules(documents):
            written.setdefault(rule.key, rule)
        for key in rules_of(policy):
            where = written.get(key)
            if where is None:
                continue  # defined by no document we were given: not counted
            line, column = where.place(("id",))
            use = RuleUse(key, where.file, line, column)
            self.uses[key] = use
            when = where.rule.when
            if when is not None:
                for place, entry in _entries(when):
                    line, column = where.source.position(entry.path + ("<key>",))
                    counted = Entry(entry.text, where.source.file, line, column)
                    use.entries.append(counted)
                    self._entries[(key, place)] = counted
        self._order = [k for k in (w.key for w in written.values()) if k in self.uses]

    def record(self, events) -> None:
        """Count what one decision's trace says the rules did."""
        for event in events:
            if isinstance(event, trace.EntryOutcome):
                entry = self._entries.get((_key(event.rule), event.place))
                if entry is not None:
                    if event.held:
                        entry.held += 1
                    else:
                        entry.failed += 1
            elif isinstance(event, (trace.Fired, trace.FailedClosed)):
                use = self.uses.get(_key(event.rule))
                if use is not None:
                    if isinstance(event, trace.Fired):
                        use.applied += 1
                    else:
                        use.errors += 1

    def report(self, agreements: set[str] | None = None) -> list[AgreementCoverage]:
        """Per agreement version, in file order; only `agreements` when given."""
        grouped: dict[tuple[str, int], list[RuleUse]] = {}
        for key in self._order:
            if agreements is None or key[0] in agreements:
                grouped.setdefault(key[:2], []).append(self.uses[key])
        return [AgreementCoverage(a, v, tuple(uses)) for (a, v), uses in sorted(grouped.items())]


def _key(rule: trace.RuleRef) -> RuleKey:
    return (rule.agreement, rule.version, rule.id)


def _entries(condition: model.Condition, at: tuple[int, ...] = ()):
    """(place, entry) of every entry the engine traces, nested ones before the entry holding them."""
    for index, entry in enumerate(condition.entries):
        place = at + (index,)
        if isinstance(entry, (model.AllOf, model.AnyOf)):
            for j, nested in enumerate(entry.conditions):
                yield from _entries(nested, place + (j,))
        elif isinstance(entry, model.Not):
            yield from _entries(entry.condition, place + (0,))
        yield place, entry
