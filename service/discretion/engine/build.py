"""The reference evaluator's loader: a compiled policy (the IR, `discretion.ir`) → closures.

The compiler has checked everything, so nothing here reports a diagnostic:
each fact path resolves, each literal has its fact's type, each pattern fits
RE2's budget. What this adds is speed: a rule becomes closures over the
evaluation scope, indexed by (action, destination kind), so a decision runs no
interpreter over the IR. A message that does not hold up (an unknown fact, an
unknown enum) raises `ValueError`: the policy is refused, never served in part.
"""

from __future__ import annotations

import operator
from collections import defaultdict
from typing import Any, Callable

import re2

from .. import ir
from . import consent
from .compiled import (
    AgreementInfo, CompiledObligation, CompiledPolicy, CompiledRule, CompiledVersion, LabelScheme, VersionInfo,
    consent_scopes_read,
)
from .facts import ROOTS, FactType, UnknownFact, resolve
from .instants import parse_iso
from .model import ACTIONS, AUTHORED_KINDS, DESTINATION_KINDS, Adoption, Instant
from .obligations import OBLIGATION_TYPES
from .scope import once_per_request

Predicate = Callable[[Any], bool]

# RE2's memory for each pattern: the compiler's budget (compile.conditions.Patterns) assumes it.
PATTERN_MEMORY = 1 << 20


def build_policy(policy: ir.Policy) -> CompiledPolicy:
    """The evaluator of `policy`."""
    ir.check_version(policy)
    builder = _Builder()
    schemes = {s.name: LabelScheme(s.name, tuple(s.order), dict(s.aliases), s.agreement, frozenset(s.relabel_by))
               for s in policy.label_schemes}
    versions: dict[str, dict[int, CompiledVersion]] = {}
    infos = []
    for agreement in policy.agreements:
        by_number = {v.number: builder.version(agreement, v, schemes) for v in agreement.versions}
        versions[agreement.id] = by_number
        infos.append(AgreementInfo(
            id=agreement.id, version=max(by_number, default=0), title=agreement.title, summary=agreement.summary,
            source=agreement.source, platform_wide=agreement.platform_wide,
            versions=tuple(VersionInfo(v.version, v.effective_from, v.disclosed_at) for v in by_number.values())))
    bindings = {b.group: tuple(_adoption(a) for a in b.adoptions) for b in policy.bindings}
    return CompiledPolicy(policy.revision, tuple(infos), versions,
                          tuple(a.id for a in policy.agreements if a.platform_wide), bindings, schemes,
                          consent_scopes_read(versions))


def predicate_of(expr: ir.Expr) -> Predicate:
    """The predicate of one expression of a rule's condition, as a rule holds it."""
    return _Builder().expr(expr, {}, set())


def _instant(message: Any, name: str) -> Instant | None:
    return Instant(getattr(message, name)) if message.HasField(name) else None


def _adoption(a: ir.Adoption) -> Adoption:
    return Adoption(a.agreement, a.version, _instant(a, "effective_from"), _instant(a, "disclosed_at"),
                    tuple(a.replaces), tuple(a.segments), dict(a.default_labels), dict(a.label_floors))


def compile_pattern(text: str):
    """An RE2 pattern with the memory the compiler's budget assumes."""
    options = re2.Options()
    options.max_mem = PATTERN_MEMORY
    options.log_errors = False  # a refusal is the caller's to report; RE2's own log line would go to stderr
    return re2.compile(text, options)


class _Builder:
    def __init__(self) -> None:
        self.patterns: dict[str, Any] = {}  # each distinct pattern compiled once

    def version(self, agreement: ir.Agreement, v: ir.Version, schemes: dict[str, LabelScheme]) -> CompiledVersion:
        rules = [self.rule(agreement.id, v.number, r) for r in v.rules]
        return CompiledVersion(
            agreement=agreement.id, version=v.number, effective_from=_instant(v, "effective_from"),
            disclosed_at=_instant(v, "disclosed_at"), index=_index(rules), label_schemes=schemes,
            default_labels=dict(v.default_labels), authors_may_restrict_later=v.authors_may_restrict_later,
            label_floors=dict(v.label_floors), published_at=_instant(v, "published_at"),
            frozen_schemes=frozenset(v.frozen_schemes))

    def rule(self, agreement: str, version: int, r: ir.Rule) -> CompiledRule:
        # A rule indexed under nothing would never apply: a deny lost without a word.
        if not r.actions or not set(r.actions) <= set(ACTIONS):
            raise ValueError(f"rule `{r.id}` applies to actions {list(r.actions)}")
        if not r.destinations or not set(r.destinations) <= set(DESTINATION_KINDS):
            raise ValueError(f"rule `{r.id}` applies to destination kinds {list(r.destinations)}")
        conjuncts = tuple((entry.text, self.expr(entry.expr, {}, set())) for entry in r.when)
        return CompiledRule(
            agreement=agreement, version=version, id=r.id, effect=ir.enum_name("Effect", r.effect),
            waivable_by_author=r.waivable_by_author, condition=_conjunction([p for _, p in conjuncts]),
            conjuncts=conjuncts, obligations=tuple(self.obligation(o) for o in r.obligations),
            reason_code=r.reason_code, message=_message(r.message), actions=tuple(r.actions),
            destinations=tuple(r.destinations), schemes=frozenset(r.schemes_read),
            consent_scopes=frozenset(r.consent_scopes_read), compiled=r)

    def obligation(self, o: ir.Obligation) -> CompiledObligation:
        kind = OBLIGATION_TYPES.get(o.type)
        if kind is None:
            raise ValueError(f"an obligation of no known type: `{o.type}`")
        declared = dict(kind.params)
        if not set(o.parameters) <= set(declared):
            raise ValueError(f"`{o.type}` has parameters {sorted(o.parameters)}, not {sorted(declared)}")
        params = {name: _parameter(p, declared[name]) for name, p in sorted(o.parameters.items())}
        return CompiledObligation(o.type, kind.build, params)

    # ---- expressions ----------------------------------------------------------

    def expr(self, e: ir.Expr, variables: dict[str, FactType], reads: set[str]) -> Predicate:
        """The predicate of `e`; adds to `reads` what it reads (see `_quantified`)."""
        kind = e.WhichOneof("kind")
        if kind == "all" or kind == "any":
            parts = [self.expr(x, variables, reads) for x in getattr(e, kind).exprs]
            if len(parts) == 1:
                return parts[0]
            if kind == "any":
                return lambda scope: any(p(scope) for p in parts)
            if len(parts) == 2:
                first, second = parts
                return lambda scope: first(scope) and second(scope)
            return lambda scope: all(p(scope) for p in parts)
        if kind == "not":
            inner = self.expr(getattr(e, "not"), variables, reads)  # `not` and `as` are Python keywords
            return lambda scope: not inner(scope)
        if kind == "quantified":
            return self.quantified(e.quantified, variables, reads)
        if kind == "compare":
            return self.compare(e.compare, variables, reads)
        if kind == "exists":
            return _exists(*_fact(e.exists.fact, variables, reads), e.exists.present)
        if kind == "matches":
            return self.matches(e.matches, variables, reads)
        if kind == "consent":
            return _consent(e.consent, variables, reads)
        if kind == "actor_is_author":
            reads.add(_THE_ITEM)
            value = e.actor_is_author
            return lambda scope: scope.actor_is_author is value
        raise ValueError(f"an expression of no known kind: {kind}")

    def quantified(self, q: ir.Quantified, variables: dict[str, FactType], reads: set[str]) -> Predicate:
        getter, fact_type = _fact(q.of, variables, reads)
        name = getattr(q, "as")
        inner_reads: set[str] = set()
        where = self.expr(q.where, {**variables, name: fact_type.element}, inner_reads)
        reads |= inner_reads
        quantifier = ir.enum_name("Quantifier", q.quantifier)  # refuses one of no known kind
        combine = all if quantifier == "every" else any
        negate = quantifier == "none"

        def test(scope) -> bool:
            bound = scope.vars
            outer = bound.get(name)
            try:
                result = combine(_bind(scope, name, element, where) for element in getter(scope))
            finally:
                bound[name] = outer
            return not result if negate else result

        # What it reads, by first word; a word bound by an enclosing quantifier
        # (`as: actor` may shadow the fact `actor`) is that quantifier's element.
        read = (inner_reads - {name}) | {q.of.path.split(".", 1)[0]}
        if read - _PER_REQUEST or read & set(variables):
            return test

        # Over the request's facts alone (`some: {of: group.participants, …}`):
        # the same answer for every item, so asked once per request, not once
        # per item of a 1,000-item export over a roster of 10,000.
        def per_request(scope) -> bool:
            return once_per_request(scope, test, lambda: test(scope))

        return per_request

    def compare(self, c: ir.Compare, variables: dict[str, FactType], reads: set[str]) -> Predicate:
        getter, _ = _fact(c.fact, variables, reads)
        which = c.WhichOneof("operand")
        op = c.op
        ir.enum_name("Operator", op)  # refuses one of no known kind
        if which == "other":
            other, _ = _fact(c.other, variables, reads)
            return _COMPARE_FACTS[op](getter, other)
        if which == "values":
            values = frozenset(_value(v) for v in c.values.values)
            if op == _IN:
                return lambda scope: getter(scope) in values
            if op == _NOT_IN:
                return lambda scope: getter(scope) not in values
            raise ValueError(f"a list of values for {ir.enum_name('Operator', op)}")
        if which is None or op not in _COMPARE_VALUE:
            raise ValueError(f"{ir.enum_name('Operator', op)} without an operand it takes")
        return _COMPARE_VALUE[op](getter, _value(c.value))

    def matches(self, m: ir.Matches, variables: dict[str, FactType], reads: set[str]) -> Predicate:
        getter, _ = _fact(m.fact, variables, reads)
        text = m.pattern
        pattern = self.patterns.get(text)
        if pattern is None:
            pattern = self.patterns[text] = compile_pattern(text)
        search = pattern.search

        def test(scope) -> bool:
            value = getter(scope)
            if not isinstance(value, str):
                return False
            # Once per pattern and text in a request, however many rules and readings ask:
            # a pattern is budgeted once, so it must cost once (the same 100,000-character
            # quote searched by one pattern in 100 rules once took 19 s).
            return once_per_request(scope, ("matches", text, value), lambda: search(value) is not None)

        return test


_IN, _NOT_IN = ir.enum_value("Operator", "in"), ir.enum_value("Operator", "not_in")
_AUTHOR_CONSENTED, _AUTHOR_WITHDREW, _CONSENTED = (
    ir.enum_value("ConsentTest", t) for t in ("author_consented", "author_withdrew", "consented"))
# What a test that reads the item's consents or author records: no variable can be named so (`as: item` could).
_THE_ITEM = "item()"
# Facts that are the same for every item of a request, by the first word of their path.
_PER_REQUEST = frozenset(ROOTS) - {"item"}


def _fact(fact: ir.Fact, variables: dict[str, FactType], reads: set[str]):
    reads.add(fact.path.split(".", 1)[0])
    try:
        return resolve(fact.path, variables)
    except UnknownFact as error:
        raise ValueError(f"the compiled policy reads {error}") from None


def _bind(scope, name: str, element: Any, where: Predicate) -> bool:
    scope.vars[name] = element
    return where(scope)


def _value(v: ir.Value) -> Any:
    kind = v.WhichOneof("kind")
    if kind == "null":
        return None
    if kind == "list":
        return [_value(x) for x in v.list.values]
    if kind is None:
        raise ValueError("a value with nothing in it")
    return getattr(v, kind)


def _known(value: Any) -> bool:
    """A blank text or a missing value is unknown, and an unknown equals nothing, not even another unknown."""
    return value is not None and value != ""


def _same(a: Any, b: Any) -> bool:
    # Two recipients without an organization are not "of the same
    # organization"; an empty id is no participant (TLP:AMBER+STRICT, RED).
    return a == b and _known(a)


def _ordered(compare: Callable[[Any, Any], bool]):
    # A time that was not given orders with nothing: the test is false.
    def with_value(getter, value):
        def test(scope):
            a = getter(scope)
            return a is not None and compare(a, value)
        return test

    def with_fact(getter, other):
        def test(scope):
            a, b = getter(scope), other(scope)
            return a is not None and b is not None and compare(a, b)
        return test

    return with_value, with_fact


def _in_fact(getter, other):
    return lambda scope: _known(value := getter(scope)) and value in other(scope)


def _contains_fact(getter, other):
    return lambda scope: _known(element := other(scope)) and element in getter(scope)


_ORDERINGS = {op: _ordered(f) for op, f in (("lt", operator.lt), ("le", operator.le), ("gt", operator.gt),
                                             ("ge", operator.ge))}
_COMPARE_VALUE: dict[int, Callable] = {
    ir.enum_value("Operator", "eq"): lambda g, v: (lambda scope: g(scope) == v),
    ir.enum_value("Operator", "ne"): lambda g, v: (lambda scope: g(scope) != v),
    ir.enum_value("Operator", "contains"): lambda g, v: (lambda scope: v in g(scope)),
    **{ir.enum_value("Operator", op): pair[0] for op, pair in _ORDERINGS.items()},
}
_COMPARE_FACTS: dict[int, Callable] = {
    ir.enum_value("Operator", "eq"): lambda g, o: (lambda scope: _same(g(scope), o(scope))),
    ir.enum_value("Operator", "ne"): lambda g, o: (lambda scope: not _same(g(scope), o(scope))),
    _IN: _in_fact,
    _NOT_IN: lambda g, o: (lambda scope, test=_in_fact(g, o): not test(scope)),
    ir.enum_value("Operator", "contains"): _contains_fact,
    **{ir.enum_value("Operator", op): pair[1] for op, pair in _ORDERINGS.items()},
}


def _exists(getter: Callable, fact_type: FactType, present_wanted: bool) -> Predicate:
    if fact_type.kind in ("map", "any"):
        def present(scope):
            try:
                value = getter(scope)
            except (KeyError, TypeError):
                return False
            return value not in (None, "")
    else:
        def present(scope):
            value = getter(scope)
            return value is not None and value != "" and value != ()
    return present if present_wanted else (lambda scope: not present(scope))


def _consent(c: ir.Consent, variables: dict[str, FactType], reads: set[str]) -> Predicate:
    reads.add(_THE_ITEM)
    kind = c.scope
    if c.test == _AUTHOR_CONSENTED:
        # Who posted a transcript, a list, a file or an image cannot consent for
        # the other people in it: only a message's words are its author's alone.
        return lambda scope: scope.item.kind in AUTHORED_KINDS and consent.holds(scope, scope.item.author.id, kind)
    if c.test == _AUTHOR_WITHDREW:
        return lambda scope: consent.withdrawn(scope, scope.item.author.id, kind)
    if c.test == _CONSENTED:
        getter, _ = _fact(c.by, variables, reads)
        return lambda scope: consent.holds(scope, getter(scope), kind)
    raise ValueError(f"a consent test of no known kind: {c.test}")


def _always(scope) -> bool:
    return True


def _conjunction(parts: list[Callable]) -> Callable:
    if not parts:
        return _always
    if len(parts) == 1:
        return parts[0]
    if len(parts) == 2:
        first, second = parts
        return lambda scope: first(scope) and second(scope)
    return lambda scope: all(p(scope) for p in parts)


def _message(pieces) -> Callable:
    parts: list[Any] = [p.text if p.WhichOneof("kind") == "text" else resolve(p.fact.path, {})[0] for p in pieces]
    if all(isinstance(p, str) for p in parts):
        text = "".join(parts)
        return lambda scope: text
    return lambda scope: "".join(p if isinstance(p, str) else str(p(scope)) for p in parts)


def _parameter(p: ir.Parameter, kind: str) -> Callable:
    which = p.WhichOneof("kind")
    if which == "fact":
        getter, fact_type = resolve(p.fact.path, {})
        if kind == "instant" and fact_type.kind != "instant":
            return _instant_from_text(getter)
        return getter
    value = p.instant if which == "instant" else p.text
    return lambda _scope: value


def _instant_from_text(getter: Callable) -> Callable:
    # Label parameters arrive as text (`until: 2026-03-01T00:00:00Z`). Parsing
    # here is the one place the request path reads a time from text; a bad
    # value raises and the rule fails closed.
    def read(scope):
        text = getter(scope)
        if not text:
            return None
        return parse_iso(str(text))

    return read


def _index(rules: list[CompiledRule]) -> dict[tuple[str, str], tuple[CompiledRule, ...]]:
    index: dict[tuple[str, str], list[CompiledRule]] = defaultdict(list)
    for rule in rules:
        for action in rule.actions:
            for destination in rule.destinations:
                index[(action, destination)].append(rule)
    # "Otherwise deny" rules are looked at after every other rule of the
    # version, once it is known whether the version allowed the item.
    return {key: tuple(sorted(value, key=lambda r: r.effect == "deny_unless_allowed")) for key, value in index.items()}
