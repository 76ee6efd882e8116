"""A copy of a compiled policy with some rules swapped: how coverage and the matrix look inside decide().

`decide()` stays as it is, with no hook on its hot path: the tools hand it a
policy whose rules record what they did (coverage) or hold a fixed value
(the matrix asks "what if this rule applied?"). Where each rule was written is
found from the rule model, so reports point at the file, line and column.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Callable, Iterator, TYPE_CHECKING

from ..engine.compiled import CompiledPolicy, CompiledRule
from ..policy import model
from ..policy.load import Document

if TYPE_CHECKING:  # the side table of positions; only policy/ reads rule files
    from ..source import Source

RuleKey = tuple[str, int, str]  # (agreement, version, rule id)


def key_of(rule: CompiledRule) -> RuleKey:
    return (rule.agreement, rule.version, rule.id)


def with_rules(policy: CompiledPolicy, swap: Callable[[CompiledRule], CompiledRule]) -> CompiledPolicy:
    """The policy with every rule replaced by `swap(rule)` (called once per rule)."""
    done: dict[int, CompiledRule] = {}

    def once(rule: CompiledRule) -> CompiledRule:
        if id(rule) not in done:
            done[id(rule)] = swap(rule)
        return done[id(rule)]

    versions = {
        agreement: {
            number: dataclasses.replace(version, index={k: tuple(map(once, rules)) for k, rules in version.index.items()})
            for number, version in numbered.items()
        }
        for agreement, numbered in policy.versions.items()
    }
    # Caches belong to the policy they were filled from: the copy starts empty.
    fresh = {f.name: f.default_factory() for f in dataclasses.fields(policy)
             if not f.compare and f.default_factory is not dataclasses.MISSING}
    return dataclasses.replace(policy, versions=versions, **fresh)


def rules_of(policy: CompiledPolicy) -> dict[RuleKey, CompiledRule]:
    """Every compiled rule by key, in the order of the versions' indexes."""
    found: dict[RuleKey, CompiledRule] = {}
    for numbered in policy.versions.values():
        for version in numbered.values():
            for rules in version.index.values():
                for rule in rules:
                    found.setdefault(key_of(rule), rule)
    return found


@dataclass(frozen=True)
class WrittenRule:
    """A rule as written, and where."""

    key: RuleKey
    rule: model.Rule
    source: Source  # its agreement's file and positions
    position: int  # order within its version

    @property
    def path(self) -> tuple:
        return self.rule.path  # ("versions", i, "rules", j)

    @property
    def file(self) -> str:
        return self.source.file

    def place(self, sub: tuple = ()) -> tuple[int, int]:
        return self.source.position(self.path + sub)


def written_rules(documents: list[Document]) -> Iterator[WrittenRule]:
    """Each rule the schema accepted, in file order, of the first agreement of each id (the one compiled)."""
    seen: set[str] = set()
    for agreement in model.read_policy(documents).agreements:
        if agreement.id in seen:
            continue
        seen.add(agreement.id)
        for version in agreement.versions:
            for rule in version.rules:
                yield WrittenRule((agreement.id, version.number, rule.id), rule, agreement.source, rule.path[-1])
