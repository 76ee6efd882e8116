"""Checks across a whole rule, after compiling: what a rule's condition entries mean together.

The compiler checks every entry on its own (is the fact known, is the value in
its vocabulary). These checks look at a rule as a whole, where a mistake makes
a rule silently dead or redundant rather than invalid:

- `never_holds`: entries that cannot all hold at once (`item.kind: message`
  beside `item.kind: file` in one `all`), or a test of the action or the
  destination kind the rule never applies to;
- `unknown_label_scheme`, `unknown_label`, `label_alias`: a label test no
  item's effective label can pass (a scheme nobody defines, a value outside
  the scheme, an alias or an uppercase spelling: effective labels are
  canonical and lowercase);
- `shadowed_rule` (a warning): an earlier rule of the same version applies
  whenever this one does, with the same effect and at least its obligations,
  so this one never changes a decision.

They run on every rule the schema accepts, so a rule with another error is
still checked; only rules that compiled are compared for shadowing.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Iterator, TYPE_CHECKING

from .. import ir
from ..engine.model import ACTIONS, DESTINATION_KINDS
from ..errors import Diagnostic, did_you_mean
from ..pace import pace
from ..policy.load import Document
from .conditions import KEYWORDS, Invalid, describe, parse_instant
from ..engine.facts import UnknownFact, resolve

if TYPE_CHECKING:  # the side table of positions; only policy/ reads rule files
    from ..source import Source

_QUANTIFIERS = ("some", "every", "none")


def check_policy(documents: list[Document], policy: ir.Policy, shadows: bool = True) -> list[Diagnostic]:
    """Diagnostics for every rule the schema accepts; only rules that compiled can shadow or be shadowed.

    `shadows=False` leaves out the shadowed-rule warnings, whose check is
    quadratic in a version's rules: the server, which reports no warnings.
    """
    compiled = {(a.id, v.number, r.id) for a in policy.agreements for v in a.versions for r in v.rules}
    schemes = {scheme.name: scheme for scheme in policy.label_schemes}
    found: list[Diagnostic] = []
    seen: set[str] = set()
    for document in documents:
        if document.kind != "agreement":
            continue
        versions = document.data.get("versions")
        versions = [(i, v) for i, v in enumerate(versions) if isinstance(v, dict)] if isinstance(versions, list) else []
        rule_paths = [("versions", i, "rules", j) for i, v in versions
                      for j in range(len(v["rules"]) if isinstance(v.get("rules"), list) else 0)]
        agreement = document.data.get("agreement")
        # The compiler skipped a document broken outside its rules, and every later one of the same id.
        if document.broken_outside(rule_paths) or agreement in seen:
            continue
        seen.add(agreement)
        for index, version in versions:
            rules = []
            for j, rule in enumerate(version.get("rules") if isinstance(version.get("rules"), list) else []):
                if not isinstance(rule, dict) or document.is_broken(("versions", index, "rules", j)):
                    continue
                key = (agreement, version.get("version"), rule.get("id"))
                rules.append((("versions", index, "rules", j), rule, key in compiled))
                compiled.discard(key)  # a duplicate id further down is not this rule
            found += _check_version(document.source, rules, schemes, shadows)
    return found


def _check_version(source: Source, rules: list[tuple[tuple, dict, bool]], schemes, shadows: bool = True,
                   ) -> list[Diagnostic]:
    found = []
    for path, rule, _ in rules:
        pace()
        report = _Reporter(source, rule["id"], found)
        _check_labels(rule, path, schemes, report)
        if "when" in rule:
            scope = {"action": _values(rule.get("actions"), ACTIONS),
                     "destination.kind": _destinations(rule.get("destinations"))}
            _check_conjunction(_conjuncts(rule["when"], path + ("when",)), scope, report, {})
    compiled = [(path, rule) for path, rule, ok in rules if ok] if shadows else []
    for (path, rule), (earlier_path, earlier) in shadowed(compiled):
        line = source.position(earlier_path)[0]
        found.append(source.diagnostic(
            path + ("id",), "shadowed_rule",
            f"rule `{rule['id']}` never changes a decision: `{earlier['id']}` (line {line}) applies "
            "whenever it does, with the same effect", rule=rule["id"], severity="warning",
            help=f"remove `{rule['id']}`, or give it a condition or an obligation `{earlier['id']}` lacks"))
    return found


@dataclass
class _Reporter:
    source: Source
    rule: str
    found: list[Diagnostic]

    def __call__(self, path: tuple, code: str, message: str, help: str = "") -> None:
        self.found.append(self.source.diagnostic(path, code, message, help=help, rule=self.rule))


def _values(spec: list | None, every: tuple[str, ...]) -> frozenset:
    return frozenset(spec) if spec else frozenset(every)


def _destinations(spec: list | dict | None) -> frozenset:
    if isinstance(spec, dict):
        return frozenset(DESTINATION_KINDS) - set(spec.get("except") or ())
    return _values(spec, DESTINATION_KINDS)


# ---- labels -----------------------------------------------------------------


def _check_labels(rule: dict, path: tuple, schemes: dict[str, ir.LabelScheme], report: _Reporter) -> None:
    for where, fact, test in _fact_references(rule, path):
        parts = fact.split(".")
        if parts[:2] not in (["item", "label"], ["item", "label_param"]) or len(parts) < 3:
            continue
        scheme = schemes.get(parts[2])
        if scheme is None:
            close = did_you_mean(parts[2], sorted(schemes)) if schemes else ""
            report(where, "unknown_label_scheme", f"no agreement defines the label scheme `{parts[2]}`",
                   close if close.startswith("did you mean") else
                   "define it under `labels:` in an agreement, and lint the folder that holds both")
            continue
        if parts[1] == "label" and test is not None:
            for value_path, value in _literals(test, where[:-1]):
                _check_label_value(scheme, value, value_path, report)
    # An obligation to state a label of a scheme nobody defines is never owed:
    # the item would leave without its marking.
    for index, obligation in enumerate(rule.get("obligations") or ()):
        if not isinstance(obligation, dict) or "preserve_label" not in obligation:
            continue
        spec, where = obligation["preserve_label"], path + ("obligations", index, "preserve_label")
        if isinstance(spec, dict):
            spec, where = spec.get("scheme"), where + ("scheme",)
        if isinstance(spec, str) and spec not in schemes:
            close = did_you_mean(spec, sorted(schemes)) if schemes else ""
            report(where, "unknown_label_scheme", f"no agreement defines the label scheme `{spec}`",
                   close if close.startswith("did you mean") else
                   "define it under `labels:` in an agreement, and lint the folder that holds both")


def _check_label_value(scheme: LabelScheme, value: Any, path: tuple, report: _Reporter) -> None:
    if not isinstance(value, str) or value == "" or value in scheme.order:
        return
    lowered = value.strip().lower()
    if lowered in scheme.aliases:
        report(path, "label_alias", f"`{value}` never matches: an item's `{scheme.name}` label `{value}` "
               f"reads as `{scheme.aliases[lowered]}`", f"write `{scheme.aliases[lowered]}`")
    elif lowered in scheme.order:
        report(path, "unknown_label", f"`{value}` never matches: `{scheme.name}` labels are read in lowercase",
               f"write `{lowered}`")
    else:
        report(path, "unknown_label", f"`{value}` is not a `{scheme.name}` label",
               did_you_mean(value, list(scheme.order)))


def _fact_references(node: Any, path: tuple) -> Iterator[tuple[tuple, str, Any]]:
    """(path of the name, fact path, its test or None) for every fact a rule names."""
    if isinstance(node, dict):
        if set(node) == {"fact"} and isinstance(node["fact"], str):
            yield path + ("fact",), node["fact"], None
            return
        for key, value in node.items():
            child = path + (key,)
            if isinstance(key, str) and "." in key and key not in KEYWORDS:
                yield child + ("<key>",), key, value
            if key == "of" and isinstance(value, str):
                yield child, value, None
            yield from _fact_references(value, child)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _fact_references(value, path + (index,))


def _literals(test: Any, path: tuple) -> Iterator[tuple[tuple, Any]]:
    """The literal values a fact test compares with, each with its path."""
    if isinstance(test, dict):
        for op, operand in test.items():
            if op in ("eq", "ne", "in", "not_in"):
                yield from _literals(operand, path + (op,))
    elif isinstance(test, list):
        for index, value in enumerate(test):
            yield path + (index,), value
    else:
        yield path, test


# ---- conditions that can never hold ----------------------------------------------


@dataclass
class _Constraint:
    """What one fact may still be, given the entries seen so far in one conjunction."""

    allowed: frozenset | None = None  # None: anything
    excluded: set = field(default_factory=set)
    low: tuple[float, bool] = (-math.inf, True)  # (bound, inclusive)
    high: tuple[float, bool] = (math.inf, True)
    said: list[str] = field(default_factory=list)  # the entries, for the message

    def empty(self) -> bool:
        if self.allowed is not None and not (self.allowed - self.excluded):
            return True
        (lo, lo_in), (hi, hi_in) = self.low, self.high
        if lo > hi or (lo == hi and not (lo_in and hi_in)):
            return True
        if self.allowed is not None and all(isinstance(v, (int, float)) and not isinstance(v, bool)
                                            for v in self.allowed) and self.allowed:
            return not any(self._within(v) for v in self.allowed - self.excluded)
        return False

    def _within(self, value: float) -> bool:
        (lo, lo_in), (hi, hi_in) = self.low, self.high
        return (value > lo or (lo_in and value == lo)) and (value < hi or (hi_in and value == hi))


def _conjuncts(condition: Any, path: tuple) -> list[tuple[tuple, str, Any]]:
    """The entries that must all hold, `all` flattened in: (path, key, value)."""
    if not isinstance(condition, dict):
        return []
    entries = []
    for key, value in condition.items():
        if key == "all" and isinstance(value, list):
            for index, part in enumerate(value):
                entries += _conjuncts(part, path + ("all", index))
        else:
            entries.append((path + (key,), key, value))
    return entries


def _check_conjunction(entries: list[tuple[tuple, str, Any]], scope: dict[str, frozenset], report: _Reporter,
                       variables: dict) -> None:
    constraints: dict[str, _Constraint] = {}
    for fact, values in scope.items():
        constraints[fact] = _Constraint(allowed=values)
    for path, key, value in entries:
        if key == "any" and isinstance(value, list):
            for index, alternative in enumerate(value):
                _check_conjunction(_conjuncts(alternative, path + (index,)), scope, report, variables)
            continue
        if key in _QUANTIFIERS and isinstance(value, dict) and isinstance(value.get("of"), str):
            inner = _element_type(value["of"], variables)
            if inner is not None:
                bound = {**variables, value.get("as", "it"): inner}
                _check_conjunction(_conjuncts(value.get("where"), path + ("where",)), {}, report, bound)
            continue
        if key in KEYWORDS or not isinstance(key, str):
            continue
        constraint = constraints.setdefault(key, _Constraint())
        before = list(constraint.said)
        if not _narrow(constraint, key, value, variables):
            continue
        constraint.said.append(describe(key, value))
        if constraint.empty():
            _report_never(path, key, value, before, scope, report)
            return  # one report per conjunction: the rest follows from it


def _element_type(fact: str, variables: dict):
    try:
        _, fact_type = resolve(fact, variables)
    except UnknownFact:
        return None
    return fact_type.element if fact_type.kind == "list" else None


def _narrow(constraint: _Constraint, fact: str, test: Any, variables: dict) -> bool:
    """Apply one entry's test to the constraint; False when the test says nothing we can reason about."""
    try:
        _, fact_type = resolve(fact, variables)
    except UnknownFact:
        return False  # reported by the compiler
    ops = test if isinstance(test, dict) else {"in": test} if isinstance(test, list) else {"eq": test}
    changed = False
    for op, operand in ops.items():
        if isinstance(operand, dict) or op in ("fact", "contains"):
            continue  # compares with another fact: not known until a request
        if op in ("lt", "le", "gt", "ge"):
            bound = _number(operand, fact_type.kind)
            if bound is None:
                continue
            if op in ("gt", "ge"):
                constraint.low = max(constraint.low, (bound, op == "ge"), key=lambda b: (b[0], not b[1]))
            else:
                constraint.high = min(constraint.high, (bound, op == "le"), key=lambda b: (b[0], b[1]))
        elif op == "exists":
            absent = frozenset({None, "", ()})
            if operand:
                constraint.excluded |= absent
            else:
                constraint.allowed = absent if constraint.allowed is None else constraint.allowed & absent
        else:
            values = operand if isinstance(operand, list) else [operand]
            if any(isinstance(v, (list, dict)) for v in values):
                continue  # not a literal we can compare
            values = frozenset(_number(v, fact_type.kind) if fact_type.kind in ("instant", "int") else _key(v)
                               for v in values)
            if op in ("eq", "in"):
                constraint.allowed = values if constraint.allowed is None else constraint.allowed & values
            else:
                constraint.excluded |= values
        changed = True
    return changed


def _key(value: Any) -> Any:
    # `true` and `1` hash alike in Python; keep them apart.
    return ("bool", value) if isinstance(value, bool) else value


def _number(value: Any, kind: str) -> float | None:
    if kind == "instant":
        try:
            return parse_instant(value, ())
        except Invalid:
            return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    return None


def _report_never(path: tuple, key: str, value: Any, before: list[str], scope: dict, report: _Reporter) -> None:
    entry = describe(key, value)
    if key in scope and not before:
        applies = ", ".join(f"`{v}`" for v in sorted(scope[key]))
        field_name = "actions" if key == "action" else "destinations"
        report(path + ("<key>",), "never_holds",
               f"`{entry}` never holds: the rule applies only to {applies}",
               f"remove the test, or widen the rule's `{field_name}`")
        return
    if not before:
        report(path + ("<key>",), "never_holds", f"`{entry}` never holds: no value passes all of its tests",
               "check the values and bounds")
        return
    earlier = " and ".join(f"`{b}`" for b in before)
    report(path + ("<key>",), "never_holds", f"this condition never holds: `{entry}` contradicts {earlier}",
           "to accept any of several values write one list, `fact: [a, b]`; for either condition use `any`")


# ---- shadowed rules ---------------------------------------------------------------


def shadowed(rules: list[tuple[tuple, dict]]) -> Iterator[tuple[tuple[tuple, dict], tuple[tuple, dict]]]:
    """Each rule an earlier one shadows (`_shadows`), with the first such earlier rule, in file order.

    Comparing every pair took minutes for a few thousand rules. An earlier rule
    can only shadow a later one if each of its conjuncts is implied by one of
    the later's with the same key: in particular the one on its first key
    (its pivot), whose value equals a value of the later rule's, or accepts
    every literal the later one chooses among. So each rule is filed under its
    effect, pivot key, and that conjunct's value and literals; a later rule is
    compared only with the rules filed under its own keys, values and one of
    its literals, and with those that have no condition.
    """
    filed: dict[tuple, list[int]] = defaultdict(list)
    for index, (path, rule) in enumerate(rules):
        effect = rule["effect"]
        entries = [(key, value) for _, key, value in _conjuncts(rule.get("when"), ())]
        candidates: set[int] = set(filed[(effect,)])
        for key, value in entries:
            candidates.update(filed[(effect, key, "=", _canonical(value))])
            chosen = _choice(value)
            if chosen:  # an earlier rule must accept each of these literals: look one up
                candidates.update(filed[(effect, key, "in", min(chosen, key=repr))])
            elif chosen is not None:  # `in: []` holds for nothing: any choice on the key accepts it
                candidates.update(filed[(effect, key, "*")])
        for earlier in sorted(candidates):
            if _shadows(rules[earlier][1], rule):
                yield (path, rule), rules[earlier]
                break
        if not entries:
            filed[(effect,)].append(index)
            continue
        pivot = min(key for key, _ in entries)
        value = next(value for key, value in entries if key == pivot)
        filed[(effect, pivot, "=", _canonical(value))].append(index)
        for literal in _choice(value) or ():
            filed[(effect, pivot, "in", literal)].append(index)
        if _choice(value) is not None:
            filed[(effect, pivot, "*")].append(index)


def _shadows(earlier: dict, later: dict) -> bool:
    """True when `earlier` applies whenever `later` does, with the same effect and at least its obligations."""
    if earlier["effect"] != later["effect"]:
        return False
    if earlier.get("author_may_waive", True) and not later.get("author_may_waive", True):
        return False  # the author may release the earlier rule, never the later one
    if not (_values(later.get("actions"), ACTIONS) <= _values(earlier.get("actions"), ACTIONS)):
        return False
    if not (_destinations(later.get("destinations")) <= _destinations(earlier.get("destinations"))):
        return False
    if not {_canonical(o) for o in later.get("obligations") or ()} <= {_canonical(o) for o in earlier.get("obligations") or ()}:
        return False
    later_entries = [(key, value) for _, key, value in _conjuncts(later.get("when"), ())]
    return all(any(_implies(entry, (key, value)) for entry in later_entries)
               for _, key, value in _conjuncts(earlier.get("when"), ()))


def _implies(entry: tuple[str, Any], wanted: tuple[str, Any]) -> bool:
    """Whether `entry` holding means `wanted` holds: equal, or a narrower choice among literal values."""
    (key, value), (wanted_key, wanted_value) = entry, wanted
    if key != wanted_key:
        return False
    if _canonical(value) == _canonical(wanted_value):
        return True
    chosen, allowed = _choice(value), _choice(wanted_value)
    return chosen is not None and allowed is not None and chosen <= allowed


def _choice(test: Any) -> frozenset | None:
    if isinstance(test, dict):
        if set(test) == {"in"} and isinstance(test["in"], list):
            test = test["in"]
        elif set(test) == {"eq"} and not isinstance(test["eq"], (dict, list)):
            test = test["eq"]
        else:
            return None
    values = test if isinstance(test, list) else [test]
    if any(isinstance(v, (dict, list)) for v in values):
        return None
    return frozenset(_key(v) for v in values)


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)
