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
import re
from typing import Any, Callable, Mapping

import re2

from .. import ir
from . import consent
from .compiled import (
    AgreementInfo, CompiledObligation, CompiledPolicy, CompiledRule, CompiledVersion, LabelScheme, VersionInfo,
    consent_scopes_read,
)
from .facts import BOOL, ROOTS, FactType, UnknownFact, resolve
from .instants import parse_iso
from .model import ACTIONS, AUTHORED_KINDS, CONSENT_SCOPES, DESTINATION_KINDS, Adoption, Instant
from .obligations import OBLIGATION_TYPES
from .scope import once_per_request

Predicate = Callable[[Any], bool]

# RE2's memory for each pattern: the compiler's budget (compile.conditions.Patterns) assumes it.
PATTERN_MEMORY = 1 << 20


def build_policy(policy: ir.Policy) -> CompiledPolicy:
    """The evaluator of `policy`."""
    ir.check_version(policy)
    schemes = _label_schemes(policy)
    builder = _Builder(known_scopes=_consent_scopes(policy))
    versions: dict[str, dict[int, CompiledVersion]] = {}
    infos = []
    for agreement in policy.agreements:
        if agreement.id in versions:
            raise ValueError(f"agreement `{agreement.id}` twice")
        by_number: dict[int, CompiledVersion] = {}
        for v in agreement.versions:
            if v.number in by_number:
                raise ValueError(f"version {v.number} of `{agreement.id}` twice")
            by_number[v.number] = builder.version(agreement, v, schemes)
        versions[agreement.id] = by_number
        infos.append(AgreementInfo(
            id=agreement.id, version=max(by_number, default=0), title=agreement.title, summary=agreement.summary,
            source=agreement.source, platform_wide=agreement.platform_wide,
            versions=tuple(VersionInfo(v.version, v.effective_from, v.disclosed_at) for v in by_number.values())))
    bindings = _bindings(policy, versions)
    return CompiledPolicy(policy.revision, tuple(infos), versions,
                          tuple(a.id for a in policy.agreements if a.platform_wide), bindings, schemes,
                          consent_scopes_read(versions))


def _label_schemes(policy: ir.Policy) -> dict[str, LabelScheme]:
    defined = {a.id for a in policy.agreements}
    schemes: dict[str, LabelScheme] = {}
    for s in policy.label_schemes:
        if s.name in schemes or not s.order or s.agreement not in defined:
            raise ValueError(f"label scheme `{s.name}`: defined twice, with no values or by no agreement")
        if not set(s.aliases.values()) <= set(s.order):
            raise ValueError(f"label scheme `{s.name}` has an alias for no value of it")
        schemes[s.name] = LabelScheme(s.name, tuple(s.order), dict(s.aliases), s.agreement, frozenset(s.relabel_by))
    return schemes


def _consent_scopes(policy: ir.Policy) -> frozenset[str]:
    defined = {a.id for a in policy.agreements}
    added = [s.name for s in policy.consent_scopes]
    if len(set(added)) != len(added) or set(added) & set(CONSENT_SCOPES) or any(
            s.agreement not in defined or not s.name for s in policy.consent_scopes):
        raise ValueError("a consent scope added twice, over a built-in one, unnamed or by no agreement")
    return frozenset(CONSENT_SCOPES) | set(added)


def _labels(values: Mapping[str, str], schemes: dict[str, LabelScheme]) -> dict[str, str]:
    """Default labels or label floors: each a canonical value of a defined scheme."""
    for scheme, value in values.items():
        if scheme not in schemes or value not in schemes[scheme].order:
            raise ValueError(f"label `{scheme}: {value}` of no defined scheme or value")
    return dict(values)


def _bindings(policy: ir.Policy, versions: dict[str, dict[int, CompiledVersion]]) -> dict[str, tuple[Adoption, ...]]:
    bindings: dict[str, tuple[Adoption, ...]] = {}
    for b in policy.bindings:
        if b.group in bindings:
            raise ValueError(f"group `{b.group}` bound twice")
        for a in b.adoptions:
            known = versions.get(a.agreement)
            if known is None or (a.version and a.version not in known) or not set(a.replaces) <= set(versions):
                raise ValueError(f"group `{b.group}` adopts `{a.agreement}` version {a.version}, which is not loaded")
        bindings[b.group] = tuple(_adoption(a) for a in b.adoptions)
    return bindings


def predicate_of(expr: ir.Expr) -> Predicate:
    """The predicate of one expression of a rule's condition, as a rule holds it."""
    return _Builder().expr(expr, {}, set())


def traced_condition(rule: CompiledRule) -> Predicate:
    """The rule's condition, recording each entry it evaluates, at any depth of `all`, `any` and `not`.

    The same predicates as the rule's own, evaluated in the same order and
    stopping where they stop, so what is recorded is what the engine did:
    `(place, held)` pairs appended to `scope.outcomes`, where a place is the
    entry's path of indexes (ir.Condition). Built on first use: only explanations
    and coverage ask for it.
    """
    traced = rule.cache.get("traced")
    if traced is None:
        if rule.compiled is None:
            raise ValueError(f"rule `{rule.id}` has no compiled form to trace")
        traced = rule.cache["traced"] = _Builder(traced=True).condition(rule.compiled.when, {}, set(), ())
    return traced


def entry_texts(rule: ir.Rule) -> dict[tuple[int, ...], str]:
    """Each traced entry's text as written, by place."""
    texts: dict[tuple[int, ...], str] = {}

    def walk(condition: ir.Condition, at: tuple[int, ...]) -> None:
        for i, entry in enumerate(condition.entries):
            texts[at + (i,)] = entry.text
            kind = entry.WhichOneof("kind")
            if kind in ("all", "any"):
                for j, nested in enumerate(getattr(entry, kind).conditions):
                    walk(nested, at + (i, j))
            elif kind == "not":
                walk(getattr(entry, "not"), at + (i, 0))

    walk(rule.when, ())
    return texts


def _recorded(predicate: Predicate, place: tuple[int, ...]) -> Predicate:
    def record(scope) -> bool:
        held = predicate(scope)
        scope.outcomes.append((place, held))
        return held

    return record


def _instant(message: Any, name: str) -> Instant | None:
    return Instant(ir.nanoseconds(getattr(message, name))) if message.HasField(name) else None


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
    paths_read: set[str]  # of the rule being built: fact paths
    scopes_read: set[str]  # and consent scopes

    def __init__(self, traced: bool = False, known_scopes: frozenset[str] | None = None) -> None:
        # The consent scopes a rule may read: the built-in ones and those the policy's agreements add;
        # None for a rule already built once (a traced condition, a tool's predicate), checked then.
        self.known_scopes = known_scopes
        self.paths_read, self.scopes_read = set(), set()
        self.patterns: dict[str, Any] = {}  # each distinct pattern compiled once
        # Whether the entries' outcomes are recorded (`traced_condition`).
        self.traced = traced

    def version(self, agreement: ir.Agreement, v: ir.Version, schemes: dict[str, LabelScheme]) -> CompiledVersion:
        rules = [self.rule(agreement.id, v.number, r) for r in v.rules]
        return CompiledVersion(
            agreement=agreement.id, version=v.number, effective_from=_instant(v, "effective_from"),
            disclosed_at=_instant(v, "disclosed_at"), index=_index(rules), label_schemes=schemes,
            default_labels=_labels(v.default_labels, schemes), authors_may_restrict_later=v.authors_may_restrict_later,
            label_floors=_labels(v.label_floors, schemes), published_at=_instant(v, "published_at"),
            frozen_schemes=frozenset(v.frozen_schemes))

    def rule(self, agreement: str, version: int, r: ir.Rule) -> CompiledRule:
        # A rule indexed under nothing would never apply: a deny lost without a word.
        if not r.actions or not set(r.actions) <= set(ACTIONS):
            raise ValueError(f"rule `{r.id}` applies to actions {list(r.actions)}")
        if not r.destinations or not set(r.destinations) <= set(DESTINATION_KINDS):
            raise ValueError(f"rule `{r.id}` applies to destination kinds {list(r.destinations)}")
        self.paths_read, self.scopes_read = set(), set()
        conjuncts = tuple((entry.text, self.expr(entry, {}, set(), None)) for entry in r.when.entries)
        obligations = tuple(self.obligation(o) for o in r.obligations)
        message = self.message(r.message)
        # What the rule reads is worked out here as well as read from the compiled
        # form: a label carries the rules that read it, and a field left empty
        # must not let an item's label out from under them.
        schemes = set(r.schemes_read) | {m.group(1).lower() for path in self.paths_read
                                         if (m := _LABEL_FACT.fullmatch(path))}
        return CompiledRule(
            agreement=agreement, version=version, id=r.id, effect=ir.enum_name("Effect", r.effect),
            waivable_by_author=r.waivable_by_author, condition=_conjunction([p for _, p in conjuncts]),
            conjuncts=conjuncts, obligations=obligations, reason_code=r.reason_code, message=message,
            actions=tuple(r.actions), destinations=tuple(r.destinations), schemes=frozenset(schemes),
            consent_scopes=frozenset(r.consent_scopes_read) | self.scopes_read, compiled=r)

    def obligation(self, o: ir.Obligation) -> CompiledObligation:
        kind = OBLIGATION_TYPES.get(o.type)
        if kind is None:
            raise ValueError(f"an obligation of no known type: `{o.type}`")
        declared = dict(kind.params)
        if not set(o.parameters) <= set(declared):
            raise ValueError(f"`{o.type}` has parameters {sorted(o.parameters)}, not {sorted(declared)}")
        missing = set(kind.required) - set(o.parameters)
        if missing:
            raise ValueError(f"`{o.type}` without {sorted(missing)}")
        choices = dict(kind.choices)
        params = {}
        for name, p in sorted(o.parameters.items()):
            if name in choices and (p.WhichOneof("kind") != "text" or p.text not in choices[name]):
                raise ValueError(f"`{o.type}` has `{name}` outside {list(choices[name])}")
            params[name] = self.parameter(p, declared[name])
        self.scopes_read.update(kind.consent_scopes)
        return CompiledObligation(o.type, kind.build, params)

    def parameter(self, p: ir.Parameter, kind: str) -> Callable:
        which = p.WhichOneof("kind")
        if which == "fact":
            if kind == "consent_scope":
                raise ValueError("a consent scope read from a fact")  # the compiler must know every scope read
            getter, fact_type = self.fact(p.fact, {}, set())
            if kind == "instant" and fact_type.kind not in ("instant", "text", "any"):
                raise ValueError(f"`{p.fact.path}` is not a time")
            return _instant_from_text(getter) if kind == "instant" and fact_type.kind != "instant" else getter
        if which == "instant" and kind == "instant":
            value: Any = ir.nanoseconds(p.instant)
        elif which == "text" and kind != "instant":
            value = p.text
            if kind == "consent_scope":
                _scope(self, value)
                self.scopes_read.add(value)
        else:
            raise ValueError(f"a parameter of kind `{kind}` given as {which}")
        return lambda _scope: value

    def message(self, pieces) -> Callable:
        parts: list[Any] = []
        for p in pieces:
            which = p.WhichOneof("kind")
            if which is None:
                raise ValueError("a message piece with nothing in it")
            parts.append(p.text if which == "text" else self.fact(p.fact, {}, set())[0])
        if all(isinstance(p, str) for p in parts):
            text = "".join(parts)
            return lambda scope: text
        return lambda scope: "".join(p if isinstance(p, str) else str(p(scope)) for p in parts)

    def fact(self, fact: ir.Fact, variables: dict[str, FactType], reads: set[str]):
        """The getter and type of a fact the rule reads, noted as read."""
        self.paths_read.add(fact.path)
        return _fact(fact, variables, reads)

    # ---- conditions and expressions -------------------------------------------

    def condition(self, c: ir.Condition, variables: dict[str, FactType], reads: set[str],
                  at: tuple[int, ...] | None) -> Predicate:
        """Every entry holds. `at`: the condition's place when its entries' outcomes are traced."""
        parts = []
        for index, entry in enumerate(c.entries):
            place = None if at is None else at + (index,)
            predicate = self.expr(entry, variables, reads, place)
            parts.append(predicate if place is None or not self.traced else _recorded(predicate, place))
        return _conjunction(parts)

    def expr(self, e: ir.Expr, variables: dict[str, FactType], reads: set[str],
             at: tuple[int, ...] | None = None) -> Predicate:
        """The predicate of `e`; adds to `reads` what it reads (see `quantified`).

        `at` is the place of the entry `e` belongs to, when outcomes are traced:
        the entries of its nested conditions are traced too.
        """
        kind = e.WhichOneof("kind")
        if kind == "all" or kind == "any":
            nested = getattr(e, kind).conditions
            # Only a rule's own condition may be empty (no `when`: always); an
            # empty one nested would hold or fail by accident of the format.
            if not nested or not all(c.entries for c in nested):
                raise ValueError(f"`{kind}` of an empty condition")
            parts = [self.condition(c, variables, reads, None if at is None else at + (j,))
                     for j, c in enumerate(nested)]
            if kind == "any":
                return parts[0] if len(parts) == 1 else (lambda scope: any(p(scope) for p in parts))
            return _conjunction(parts)
        if kind == "not":
            # `not` and `as` are Python keywords: read with getattr
            if not getattr(e, "not").entries:
                raise ValueError("`not` of an empty condition")
            inner = self.condition(getattr(e, "not"), variables, reads, None if at is None else at + (0,))
            return lambda scope: not inner(scope)
        if kind == "tests":
            if not e.tests.exprs:
                raise ValueError("tests of a fact with no test")
            return _conjunction([self.expr(x, variables, reads) for x in e.tests.exprs])
        if kind == "quantified":
            return self.quantified(e.quantified, variables, reads)
        if kind == "compare":
            return self.compare(e.compare, variables, reads)
        if kind == "exists":
            return _exists(*self.fact(e.exists.fact, variables, reads), e.exists.present)
        if kind == "matches":
            return self.matches(e.matches, variables, reads)
        if kind == "consent":
            return _consent(self, e.consent, variables, reads)
        if kind == "actor_is_author":
            reads.add(_THE_ITEM)
            value = e.actor_is_author
            return lambda scope: scope.actor_is_author is value
        raise ValueError(f"an expression of no known kind: {kind}")

    def quantified(self, q: ir.Quantified, variables: dict[str, FactType], reads: set[str]) -> Predicate:
        getter, fact_type = self.fact(q.of, variables, reads)
        if fact_type.kind != "list":
            raise ValueError(f"a quantifier over `{q.of.path}`, which is not a list")
        name = getattr(q, "as")
        inner_reads: set[str] = set()
        if not q.where.entries:
            raise ValueError(f"a quantifier over `{q.of.path}` with no condition")
        where = self.condition(q.where, {**variables, name: fact_type.element}, inner_reads, None)
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
        getter, fact_type = self.fact(c.fact, variables, reads)
        which = c.WhichOneof("operand")
        op = c.op
        name = ir.enum_name("Operator", op)  # refuses one of no known kind
        if name == "contains" and fact_type.kind != "list":
            raise ValueError(f"`contains` on `{c.fact.path}`, which is not a list")
        if name in ("lt", "le", "gt", "ge") and fact_type.kind not in ("int", "instant", "any"):
            raise ValueError(f"`{name}` on `{c.fact.path}`, which is not ordered")
        if which == "other":
            other, other_type = self.fact(c.other, variables, reads)
            if name in ("in", "not_in") and other_type.kind != "list":
                raise ValueError(f"`{name}` a fact that is not a list: `{c.other.path}`")
            return _COMPARE_FACTS[op](getter, other)
        # A literal of another type than its fact's would make a test that never holds.
        checked = (fact_type.element or BOOL) if name == "contains" else fact_type
        if which == "values":
            values = frozenset(_typed(v, checked, c.fact.path) for v in c.values.values)
            if op == _IN:
                return lambda scope: getter(scope) in values
            if op == _NOT_IN:
                return lambda scope: getter(scope) not in values
            raise ValueError(f"a list of values for {ir.enum_name('Operator', op)}")
        if which is None or op not in _COMPARE_VALUE:
            raise ValueError(f"{name} without an operand it takes")
        return _COMPARE_VALUE[op](getter, _typed(c.value, checked, c.fact.path))

    def matches(self, m: ir.Matches, variables: dict[str, FactType], reads: set[str]) -> Predicate:
        getter, fact_type = self.fact(m.fact, variables, reads)
        if fact_type.kind not in ("text", "any"):
            raise ValueError(f"`matches` on `{m.fact.path}`, which is not text")
        text = m.pattern
        pattern = self.patterns.get(text)
        if pattern is None:
            try:
                pattern = self.patterns[text] = compile_pattern(text)
            except re2.error as error:
                raise ValueError(f"the pattern `{text}`: {error}") from None
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
_LABEL_FACT = re.compile(r"item\.label(?:_param)?\.([A-Za-z0-9_+-]+)(?:\..*)?")
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
    if kind == "instant":
        return ir.nanoseconds(v.instant)
    return getattr(v, kind)


def _typed(v: ir.Value, fact_type: FactType | None, fact: str) -> Any:
    """A literal, refused unless it is of its fact's type and in its fact's vocabulary (the compiler's checks)."""
    kind = v.WhichOneof("kind")
    expected = fact_type.kind if fact_type is not None else "any"
    fits = {"text": kind == "text", "bool": kind == "boolean", "int": kind == "integer",
            "instant": kind in ("instant", "null")}.get(expected, expected in ("any", "map"))
    if not fits:
        raise ValueError(f"`{fact}` is compared with a {kind} literal")
    value = _value(v)
    if expected == "text" and fact_type.vocabulary and value not in fact_type.vocabulary:
        raise ValueError(f"`{value}` is no value of `{fact}`")
    return value


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


def _scope(builder: "_Builder", name: str) -> str:
    if builder.known_scopes is not None and name not in builder.known_scopes:
        raise ValueError(f"`{name}` is not a consent scope")
    return name


def _consent(builder: "_Builder", c: ir.Consent, variables: dict[str, FactType], reads: set[str]) -> Predicate:
    reads.add(_THE_ITEM)
    kind = _scope(builder, c.scope)
    builder.scopes_read.add(kind)
    if c.test == _AUTHOR_CONSENTED:
        # Who posted a transcript, a list, a file or an image cannot consent for
        # the other people in it: only a message's words are its author's alone.
        return lambda scope: scope.item.kind in AUTHORED_KINDS and consent.holds(scope, scope.item.author.id, kind)
    if c.test == _AUTHOR_WITHDREW:
        return lambda scope: consent.withdrawn(scope, scope.item.author.id, kind)
    if c.test == _CONSENTED:
        getter, by_type = builder.fact(c.by, variables, reads)
        if by_type.kind != "text":
            raise ValueError(f"`consented` by `{c.by.path}`, which is no person id")
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
