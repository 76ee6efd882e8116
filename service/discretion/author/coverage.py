"""Test coverage: which rules the cases made apply, and which condition entries they saw hold and fail.

A rule is exercised when some case made its condition hold (or made it fail
closed, which a case may test on purpose). A condition entry — each `key: value`
of a rule's `when`, at any depth of `all`, `any` and `not` — has two outcomes,
held and did not hold; the report names the outcomes no case produced. Entries
are evaluated as the engine does, left to right and stopping at the first that
decides, so an entry behind one that never held is never evaluated: that is
reported too.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, Callable

from ..compile.conditions import Context, lower_entries
from ..engine.build import predicate_of
from ..engine.compiled import CompiledPolicy, CompiledRule
from ..policy import model
from ..policy.load import Document
from .instrument import RuleKey, WrittenRule, key_of, rules_of, with_rules, written_rules

Predicate = Callable[[Any], bool]


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
    """Records, while cases run against `policy` (the instrumented copy), what the rules did."""

    def __init__(self, policy: CompiledPolicy, documents: list[Document]):
        self.uses: dict[RuleKey, RuleUse] = {}
        written = {}
        for rule in written_rules(documents):
            written.setdefault(rule.key, rule)
        compiled = rules_of(policy)
        conditions: dict[RuleKey, Predicate] = {}
        for key, rule in compiled.items():
            where = written.get(key)
            if where is None:
                continue  # defined by no document we were given: not counted
            line, column = where.place(("id",))
            use = RuleUse(key, where.file, line, column)
            self.uses[key] = use
            when = where.rule.when
            conditions[key] = _instrumented(when, where, use) if when is not None else rule.condition
        self.policy = with_rules(policy, lambda rule: _recording(rule, conditions, self.uses))
        self._order = [k for k in (w.key for w in written.values()) if k in self.uses]

    def report(self, agreements: set[str] | None = None) -> list[AgreementCoverage]:
        """Per agreement version, in file order; only `agreements` when given."""
        grouped: dict[tuple[str, int], list[RuleUse]] = {}
        for key in self._order:
            if agreements is None or key[0] in agreements:
                grouped.setdefault(key[:2], []).append(self.uses[key])
        return [AgreementCoverage(a, v, tuple(uses)) for (a, v), uses in sorted(grouped.items())]


def _recording(rule: CompiledRule, conditions: dict[RuleKey, Predicate], uses: dict[RuleKey, RuleUse]) -> CompiledRule:
    key = key_of(rule)
    use = uses.get(key)
    if use is None:
        return rule
    condition = conditions[key]

    def recorded(scope) -> bool:
        try:
            result = condition(scope)
        except Exception:
            use.errors += 1
            raise
        if result:
            use.applied += 1
        return result

    return dataclasses.replace(rule, condition=recorded)


def _instrumented(condition: model.Condition, where: WrittenRule, use: RuleUse) -> Predicate:
    return _build(condition, Context(where.source, where.key[2], []), use)


def _build(condition: model.Condition, ctx: Context, use: RuleUse) -> Predicate:
    """The condition as the engine compiles it, each entry wrapped to count its outcomes."""
    parts: list[Predicate] = []
    for written in condition.entries:
        if isinstance(written, (model.AllOf, model.AnyOf)):
            subs = [_build(c, ctx, use) for c in written.conditions]
            predicate = _every(subs) if isinstance(written, model.AllOf) else _either(subs)
        elif isinstance(written, model.Not):
            predicate = _negation(_build(written.condition, ctx, use))
        else:
            (lowered,) = lower_entries(model.Condition((written,), condition.path), ctx)
            predicate = predicate_of(lowered.expr)
        line, column = ctx.source.position(written.path + ("<key>",))
        entry = Entry(written.text, ctx.source.file, line, column)
        use.entries.append(entry)
        parts.append(_counted(predicate, entry))
    return _every(parts)


def _every(parts: list[Predicate]) -> Predicate:
    return lambda scope: all(p(scope) for p in parts)


def _either(parts: list[Predicate]) -> Predicate:
    return lambda scope: any(p(scope) for p in parts)


def _negation(inner: Predicate) -> Predicate:
    return lambda scope: not inner(scope)


def _counted(predicate: Predicate, entry: Entry) -> Predicate:
    def test(scope) -> bool:
        result = predicate(scope)
        if result:
            entry.held += 1
        else:
            entry.failed += 1
        return result

    return test
