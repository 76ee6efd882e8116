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
from typing import Any, Iterator, NamedTuple, Sequence, TYPE_CHECKING

from .. import ir
from ..engine.model import ACTIONS, DESTINATION_KINDS
from ..errors import Diagnostic, did_you_mean
from ..pace import pace
from ..policy import model
from .conditions import Invalid, parse_instant
from ..engine.facts import UnknownFact, resolve

if TYPE_CHECKING:  # the side table of positions; only policy/ reads rule files
    from ..source import Source


def check_policy(authored: model.Policy, policy: ir.Policy, shadows: bool = True) -> list[Diagnostic]:
    """Diagnostics for every rule the schema accepts; only rules that compiled can shadow or be shadowed.

    `shadows=False` leaves out the shadowed-rule warnings, whose check is
    quadratic in a version's rules: the server, which reports no warnings.
    """
    compiled = {(a.id, v.number, r.id) for a in policy.agreements for v in a.versions for r in v.rules}
    schemes = {scheme.name: scheme for scheme in policy.label_schemes}
    found: list[Diagnostic] = []
    seen: set[str] = set()
    for agreement in authored.agreements:
        if agreement.id in seen:  # the compiler skipped every later agreement of the same id
            continue
        seen.add(agreement.id)
        for version in agreement.versions:
            rules = []
            for rule in version.rules:
                key = (agreement.id, version.number, rule.id)
                rules.append((rule, key in compiled))
                compiled.discard(key)  # a duplicate id further down is not this rule
            own = {name for name, scheme in schemes.items() if scheme.agreement == agreement.id}
            found += _check_version(agreement.source, rules, schemes, shadows, own)
    return found


def _check_version(source: Source, rules: list[tuple[model.Rule, bool]], schemes, shadows: bool = True,
                   own: set[str] | frozenset[str] = frozenset()) -> list[Diagnostic]:
    found = []
    for rule, _ in rules:
        pace()
        report = _Reporter(source, rule.id, found)
        _check_labels(rule, schemes, report)
        if rule.when is not None:
            scope = {"action": _values(rule.actions, ACTIONS), "destination.kind": _destinations(rule)}
            _check_conjunction(_conjuncts(rule.when), scope, report, {})
    compiled = [rule for rule, ok in rules if ok] if shadows else []
    for rule, earlier in shadowed(compiled, own):
        line = source.position(earlier.path)[0]
        found.append(source.diagnostic(
            rule.path + ("id",), "shadowed_rule",
            f"rule `{rule.id}` never changes a decision: `{earlier.id}` (line {line}) applies "
            "whenever it does, with the same effect", rule=rule.id, severity="warning",
            help=f"remove `{rule.id}`, or give it a condition or an obligation `{earlier.id}` lacks"))
    return found


@dataclass
class _Reporter:
    source: Source
    rule: str
    found: list[Diagnostic]

    def __call__(self, path: tuple, code: str, message: str, help: str = "") -> None:
        self.found.append(self.source.diagnostic(path, code, message, help=help, rule=self.rule))


def _values(spec: tuple[str, ...] | None, every: tuple[str, ...]) -> frozenset:
    return frozenset(spec) if spec else frozenset(every)


def _destinations(rule: model.Rule) -> frozenset:
    if rule.destinations is None:
        return frozenset(DESTINATION_KINDS) - set(rule.destinations_except)
    return _values(rule.destinations, DESTINATION_KINDS)


# ---- labels -----------------------------------------------------------------


def _check_labels(rule: model.Rule, schemes: dict[str, ir.LabelScheme], report: _Reporter) -> None:
    for where, fact, test in _fact_references(rule):
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
            for value_path, value in _literals(test):
                _check_label_value(scheme, value, value_path, report)
    # An obligation to state a label of a scheme nobody defines is never owed:
    # the item would leave without its marking.
    for obligation in rule.obligations:
        if obligation.type != "preserve_label":
            continue
        spec, where = obligation.parameters, obligation.path + ("preserve_label",)
        if isinstance(spec, dict):
            spec, where = spec.get("scheme"), where + ("scheme",)
        if isinstance(spec, str) and spec not in schemes:
            close = did_you_mean(spec, sorted(schemes)) if schemes else ""
            report(where, "unknown_label_scheme", f"no agreement defines the label scheme `{spec}`",
                   close if close.startswith("did you mean") else
                   "define it under `labels:` in an agreement, and lint the folder that holds both")


def _schemes_read(rule: model.Rule) -> set[str]:
    """The label schemes a rule's condition reads (`item.label.tlp`, `item.label_param.press.until`)."""
    return {parts[2] for parts in (fact.split(".") for _, fact, _ in _fact_references(rule))
            if parts[:2] in (["item", "label"], ["item", "label_param"]) and len(parts) >= 3}


def _check_label_value(scheme: ir.LabelScheme, value: Any, path: tuple, report: _Reporter) -> None:
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


def _fact_references(rule: model.Rule) -> Iterator[tuple[tuple, str, model.FactTest | None]]:
    """(path of the name, fact path, the entry that tests it or None) for every fact a rule names.

    Those are the facts a condition tests, the lists it ranges over, and the
    facts its tests and its obligations' parameters read (`{fact: …}`); a
    consent's `by` is a person, never a label.
    """
    if rule.when is not None:
        for entry in model.walk(rule.when):
            if isinstance(entry, model.Quantified):
                yield entry.path + ("of",), entry.of, None
            elif isinstance(entry, model.FactTest):
                yield entry.path + ("<key>",), entry.fact, entry
                yield from _operands(entry)
    for obligation in rule.obligations:
        yield from _fact_parameters(obligation.parameters, obligation.path + (obligation.type,))


def _operands(entry: model.FactTest) -> Iterator[tuple[tuple, str, None]]:
    for test in entry.tests:
        if not isinstance(test.operand, model.FactRef):
            continue
        if test.path[-1:] == ("fact",):  # `fact: {fact: other}`, alone: where its name is written
            if len(entry.tests) == 1:
                yield test.path, test.operand.fact, None
        else:
            yield test.operand.path, test.operand.fact, None


def _fact_parameters(node: Any, path: tuple) -> Iterator[tuple[tuple, str, None]]:
    """The `{fact: …}` an obligation's parameters read, as written."""
    if isinstance(node, dict):
        if set(node) == {"fact"} and isinstance(node["fact"], str):
            yield path + ("fact",), node["fact"], None
            return
        for key, value in node.items():
            yield from _fact_parameters(value, path + (key,))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _fact_parameters(value, path + (index,))


def _literals(entry: model.FactTest) -> Iterator[tuple[tuple, Any]]:
    """The literal values a fact test compares with for (in)equality, each with its path."""
    for test in entry.tests:
        if test.op in ("eq", "ne", "in", "not_in") and not isinstance(test.operand, model.FactRef):
            yield from _written_literals(test.operand, test.path)


def _written_literals(operand: Any, path: tuple) -> Iterator[tuple[tuple, Any]]:
    if isinstance(operand, dict):  # not a literal the schema lets through; read it as the tests it spells
        for op, inner in operand.items():
            if op in ("eq", "ne", "in", "not_in"):
                yield from _written_literals(inner, path + (op,))
    elif isinstance(operand, list):
        for index, value in enumerate(operand):
            yield path + (index,), value
    else:
        yield path, operand


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


def _conjuncts(condition: model.Condition | None) -> list[model.Entry]:
    """The entries that must all hold, `all` flattened in."""
    entries: list[model.Entry] = []
    for entry in condition.entries if condition is not None else ():
        if isinstance(entry, model.AllOf):
            for part in entry.conditions:
                entries += _conjuncts(part)
        else:
            entries.append(entry)
    return entries


def _check_conjunction(entries: list[model.Entry], scope: dict[str, frozenset], report: _Reporter,
                       variables: dict) -> None:
    constraints: dict[str, _Constraint] = {}
    for fact, values in scope.items():
        constraints[fact] = _Constraint(allowed=values)
    for entry in entries:
        if isinstance(entry, model.AnyOf):
            for alternative in entry.conditions:
                _check_conjunction(_conjuncts(alternative), scope, report, variables)
            continue
        if isinstance(entry, model.Quantified):
            inner = _element_type(entry.of, variables)
            if inner is not None:
                _check_conjunction(_conjuncts(entry.where), {}, report, {**variables, entry.name: inner})
            continue
        if not isinstance(entry, model.FactTest):
            continue
        constraint = constraints.setdefault(entry.fact, _Constraint())
        before = list(constraint.said)
        if not _narrow(constraint, entry, variables):
            continue
        constraint.said.append(entry.text)
        if constraint.empty():
            _report_never(entry, before, scope, report)
            return  # one report per conjunction: the rest follows from it


def _element_type(fact: str, variables: dict):
    try:
        _, fact_type = resolve(fact, variables)
    except UnknownFact:
        return None
    return fact_type.element if fact_type.kind == "list" else None


def _narrow(constraint: _Constraint, entry: model.FactTest, variables: dict) -> bool:
    """Apply one entry's tests to the constraint; False when they say nothing we can reason about."""
    try:
        _, fact_type = resolve(entry.fact, variables)
    except UnknownFact:
        return False  # reported by the compiler
    changed = False
    for test in entry.tests:
        op, operand = test.op, test.operand
        if isinstance(operand, (dict, model.FactRef)) or op == "contains":
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


def _report_never(entry: model.FactTest, before: list[str], scope: dict, report: _Reporter) -> None:
    where, key = entry.path + ("<key>",), entry.fact
    if key in scope and not before:
        applies = ", ".join(f"`{v}`" for v in sorted(scope[key]))
        field_name = "actions" if key == "action" else "destinations"
        report(where, "never_holds", f"`{entry.text}` never holds: the rule applies only to {applies}",
               f"remove the test, or widen the rule's `{field_name}`")
        return
    if not before:
        report(where, "never_holds", f"`{entry.text}` never holds: no value passes all of its tests",
               "check the values and bounds")
        return
    earlier = " and ".join(f"`{b}`" for b in before)
    report(where, "never_holds", f"this condition never holds: `{entry.text}` contradicts {earlier}",
           "to accept any of several values write one list, `fact: [a, b]`; for either condition use `any`")


# ---- shadowed rules ---------------------------------------------------------------


def shadowed(rules: Sequence[model.Rule], own: set[str] | frozenset[str] = frozenset(),
             ) -> Iterator[tuple[model.Rule, model.Rule]]:
    """Each rule an earlier one shadows (`_shadows`), with the first such earlier rule, in file order.

    Comparing every pair took minutes for a few thousand rules. An earlier rule
    can only shadow a later one if each of its conjuncts is implied by one of
    the later's with the same key: in particular the one on its first key
    (its pivot), whose test equals one of the later rule's, or accepts
    every literal the later one chooses among. So each rule is filed under its
    effect, pivot key, and that conjunct's test and literals; a later rule is
    compared only with the rules filed under its own keys, tests and one of
    its literals, and with those that have no condition.
    """
    filed: dict[tuple, list[int]] = defaultdict(list)
    for index, rule in enumerate(rules):
        effect = rule.effect
        conjuncts = [_Conjunct.of(entry) for entry in _conjuncts(rule.when)]
        candidates: set[int] = set(filed[(effect,)])
        for c in conjuncts:
            candidates.update(filed[(effect, c.key, "=", c.test)])
            if c.choice:  # an earlier rule must accept each of these literals: look one up
                candidates.update(filed[(effect, c.key, "in", min(c.choice, key=repr))])
            elif c.choice is not None:  # `in: []` holds for nothing: any choice on the key accepts it
                candidates.update(filed[(effect, c.key, "*")])
        # A label of the version's own schemes carries the rules that read it into groups that did not adopt
        # the agreement, without the others (decide._interpreters): there no rule reading none shadows it.
        carried = _schemes_read(rule) & own
        for earlier in sorted(candidates):
            if carried and not _schemes_read(rules[earlier]) & carried:
                continue
            if _shadows(rules[earlier], rule):
                yield rule, rules[earlier]
                break
        if not conjuncts:
            filed[(effect,)].append(index)
            continue
        pivot = min(c.key for c in conjuncts)
        first = next(c for c in conjuncts if c.key == pivot)
        filed[(effect, pivot, "=", first.test)].append(index)
        for literal in first.choice or ():
            filed[(effect, pivot, "in", literal)].append(index)
        if first.choice is not None:
            filed[(effect, pivot, "*")].append(index)


def _shadows(earlier: model.Rule, later: model.Rule) -> bool:
    """True when `earlier` applies whenever `later` does, with the same effect and at least its obligations."""
    if earlier.effect != later.effect:
        return False
    if earlier.author_may_waive and not later.author_may_waive:
        return False  # the author may release the earlier rule, never the later one
    if not (_values(later.actions, ACTIONS) <= _values(earlier.actions, ACTIONS)):
        return False
    if not (_destinations(later) <= _destinations(earlier)):
        return False
    if not {_canonical(o) for o in later.obligations} <= {_canonical(o) for o in earlier.obligations}:
        return False
    later_conjuncts = [_Conjunct.of(entry) for entry in _conjuncts(later.when)]
    return all(any(_implies(entry, wanted) for entry in later_conjuncts)
               for wanted in map(_Conjunct.of, _conjuncts(earlier.when)))


class _Conjunct(NamedTuple):
    """One entry of a conjunction, as the shadow check compares it."""

    key: str  # the fact it tests, or its keyword
    test: str  # what it says of it, canonical: equal tests are equal text
    choice: frozenset | None  # the literal values it accepts, when it is a plain choice among them

    @classmethod
    def of(cls, entry: model.Entry) -> "_Conjunct":
        if isinstance(entry, model.FactTest):
            return cls(entry.fact, _canonical(entry), _choice(entry))
        return cls(_KEYWORDS[type(entry)](entry), _canonical(entry), None)


_KEYWORDS = {
    model.AnyOf: lambda entry: "any",
    model.Not: lambda entry: "not",
    model.Quantified: lambda entry: entry.quantifier,
    model.AuthorConsent: lambda entry: "author_withdrew" if entry.withdrew else "author_consented",
    model.Consented: lambda entry: "consented",
    model.ActorIsAuthor: lambda entry: "actor_is_author",
}


def _implies(entry: _Conjunct, wanted: _Conjunct) -> bool:
    """Whether `entry` holding means `wanted` holds: equal, or a narrower choice among literal values."""
    if entry.key != wanted.key:
        return False
    if entry.test == wanted.test:
        return True
    return entry.choice is not None and wanted.choice is not None and entry.choice <= wanted.choice


def _choice(entry: model.FactTest) -> frozenset | None:
    """The values `fact: a`, `fact: [a, b]`, `{eq: a}` or `{in: [a, b]}` accepts; None for any other test."""
    if len(entry.tests) != 1:
        return None
    (test,) = entry.tests
    operand = test.operand
    if test.op == "in" and isinstance(operand, list):
        values = operand
    elif test.op == "eq" and not isinstance(operand, (dict, list, model.FactRef)):
        values = [operand]
    else:
        return None
    if any(isinstance(v, (dict, list)) for v in values):
        return None
    return frozenset(_key(v) for v in values)


def _canonical(node: model.Entry | model.Obligation) -> str:
    return json.dumps(_plain(node), sort_keys=True, default=str)


def _plain(node: Any) -> Any:
    """A model object as JSON-able data without its places in the file, for comparing what two rules say."""
    if isinstance(node, model.Condition):  # a mapping: the order of its keys says nothing
        return sorted((_plain(entry) for entry in node.entries), key=lambda e: json.dumps(e, sort_keys=True, default=str))
    if isinstance(node, model.FactTest):
        # How each test was written tells `fact: a` from `fact: {eq: a}`, as the file does.
        return ["test", node.fact, sorted(([_spelled(node, test), _plain(test.operand)] for test in node.tests),
                                          key=lambda t: json.dumps(t, sort_keys=True, default=str))]
    if isinstance(node, model.FactRef):
        return {"fact": node.fact}
    if isinstance(node, tuple):
        return [_plain(value) for value in node]
    if hasattr(node, "__dataclass_fields__"):
        return [type(node).__name__, *(_plain(getattr(node, name)) for name in node.__dataclass_fields__
                                       if name not in ("path", "text"))]
    return node


def _spelled(entry: model.FactTest, test: model.Test) -> str:
    """The key a test was written under: "" for `fact: value`, else its operator (or `fact`)."""
    return "" if test.path == entry.path else str(test.path[-1])
