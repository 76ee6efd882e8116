"""The impact of a change to the rules, before it ships: what an old and a new rules folder decide differently.

Three views, each computed, none guessed:

- the matrix of every agreement version present on both sides, cell by cell
  (see author/matrix.py); versions and label tables that appear or disappear;
- the rules as written: added, removed or changed rules, and changed agreement
  settings (label schemes, default labels, dates), so a change no matrix cell
  shows is still reported;
- a replay (author/replay.py): recorded requests decided by both sides.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from ..engine.compiled import CompiledPolicy
from ..engine.model import rule_key
from ..policy import model
from .instrument import RuleKey, written_rules
from .matrix import Matrix, Outcome, build_matrix
from .replay import ReplayResult
from .workspace import RuleSet


@dataclass(frozen=True)
class CellChange:
    version: str  # `agreement@n`
    table: str  # the section's title: "no label", "tlp: green"
    action: str
    destination: str
    old: Outcome
    new: Outcome


@dataclass(frozen=True)
class Change:
    """Something that appeared, disappeared or changed: a version, a label table, a rule, a setting."""

    kind: str  # "version", "table", "rule", "setting"
    what: str
    change: str  # "added", "removed", "changed"
    where: str = ""  # file:line:column on the side that has it


@dataclass
class Impact:
    cells: list[CellChange] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    replay: ReplayResult | None = None

    @property
    def changed(self) -> bool:
        replayed = self.replay is not None and self.replay.changed_anything
        return bool(self.cells or self.changes or replayed)


def compare(old: RuleSet, new: RuleSet) -> Impact:
    impact = Impact()
    old_versions, new_versions = _versions(old.policy), _versions(new.policy)
    for key in sorted(old_versions.keys() - new_versions.keys()):
        impact.changes.append(Change("version", key, "removed"))
    for key in sorted(new_versions.keys() - old_versions.keys()):
        impact.changes.append(Change("version", key, "added"))
    for key in sorted(old_versions.keys() & new_versions.keys()):
        before = build_matrix(old.policy, old.documents, old_versions[key])
        after = build_matrix(new.policy, new.documents, new_versions[key])
        _compare_matrices(before, after, impact)
    impact.changes += _rule_changes(old, new)
    impact.changes += _setting_changes(old, new)
    return impact


def _versions(policy: CompiledPolicy) -> dict[str, Any]:
    return {v.key: v for numbered in policy.versions.values() for v in numbered.values()}


def _compare_matrices(before: Matrix, after: Matrix, impact: Impact) -> None:
    old_tables = {s.title: s for s in before.sections}
    new_tables = {s.title: s for s in after.sections}
    for title in old_tables.keys() - new_tables.keys():
        impact.changes.append(Change("table", f"{before.key} `{title}`", "removed"))
    for title in new_tables.keys() - old_tables.keys():
        impact.changes.append(Change("table", f"{after.key} `{title}`", "added"))
    for section in after.sections:
        if section.title not in old_tables:
            continue
        for cell in section.cells:
            was = old_tables[section.title].cell(cell.action, cell.destination).outcome
            if was != cell.outcome:
                impact.cells.append(CellChange(after.key, section.title, cell.action, cell.destination, was,
                                               cell.outcome))


def _rule_changes(old: RuleSet, new: RuleSet) -> list[Change]:
    before, after = _written(old), _written(new)
    changes = []
    for key in sorted(before.keys() | after.keys(), key=_order(before, after)):
        what = rule_key(*key)
        if key not in after:
            changes.append(Change("rule", what, "removed", before[key][1]))
        elif key not in before:
            changes.append(Change("rule", what, "added", after[key][1]))
        elif _canonical(before[key][0]) != _canonical(after[key][0]):
            changes.append(Change("rule", what, "changed", after[key][1]))
    return changes


def _written(rules: RuleSet) -> dict[RuleKey, tuple[Any, str]]:
    """Each rule as written, wherever it stands in its file, and where."""
    found: dict[RuleKey, tuple[Any, str]] = {}
    for rule in written_rules(rules.documents):
        if rule.key not in found:
            line, column = rule.place(("id",))
            found[rule.key] = (model.without_paths(rule.rule), f"{rule.file}:{line}:{column}")
    return found


def _order(before: dict, after: dict):
    positions = {key: i for i, key in enumerate(list(before) + [k for k in after if k not in before])}
    return lambda key: positions[key]


def _setting_changes(old: RuleSet, new: RuleSet) -> list[Change]:
    """Agreement fields that change decisions without being rules: label schemes, defaults, dates."""
    before, after = _settings(old), _settings(new)
    changes = []
    for agreement in sorted(before.keys() & after.keys()):
        for name in sorted(before[agreement].keys() | after[agreement].keys()):
            if _canonical(before[agreement].get(name)) != _canonical(after[agreement].get(name)):
                changes.append(Change("setting", f"{agreement} `{name}`", "changed"))
    return changes


def _settings(rules: RuleSet) -> dict[str, dict[str, Any]]:
    """Per agreement, what it says beyond its rules and its words for people; a default is as if unsaid."""
    found: dict[str, dict[str, Any]] = {}
    for agreement in model.read_policy(rules.documents).agreements:
        if agreement.id in found:
            continue  # the compiler uses the first agreement of an id
        said = {"platform_wide": agreement.platform_wide or None,
                "labels": {scheme.name: model.without_paths(scheme) for scheme in agreement.labels} or None}
        for version in agreement.versions:
            n = version.number
            said |= {f"effective_from@{n}": version.effective_from, f"disclosed_at@{n}": version.disclosed_at,
                     f"published_at@{n}": version.published_at, f"default_labels@{n}": dict(version.default_labels) or None,
                     f"label_floors@{n}": dict(version.label_floors) or None,
                     f"authors_may_restrict_later@{n}": None if version.authors_may_restrict_later else False}
        found[agreement.id] = {name: value for name, value in said.items() if value is not None}
    if rules.policy is not None:
        found["bindings"] = {group: repr(adoptions) for group, adoptions in rules.policy.bindings.items()}
    return found


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)
