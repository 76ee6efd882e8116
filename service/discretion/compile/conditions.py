"""Conditions → closures. One small builder per keyword, registered in one table.

A condition is a mapping whose entries must all hold. Each entry is either a
keyword (`all`, `any`, `not`, `some`, `every`, `none`, `author_consented`,
`author_withdrew`, `actor_is_author`) or a fact path with a test:

    destination.kind: public                  # equals
    destination.kind: [public, ai_tool]       # one of
    item.posted_at: {lt: 2026-01-01T00:00:00Z}
    destination.service.organization: {fact: actor.organization}

Everything is checked here, once: unknown facts, values outside a fact's
vocabulary, consent scopes outside theirs, tests that do not fit the fact's
type, unparseable times.
"""

from __future__ import annotations

import operator
from dataclasses import dataclass, field, replace
from typing import Any, Callable

import re2

from ..engine import consent
from ..engine.scope import once_per_request
from ..engine.instants import NoTimeZone, parse_iso
from ..engine.model import AUTHORED_KINDS, CONSENT_SCOPES, Instant
from ..errors import Diagnostic, did_you_mean
from ..source import Source
from .facts import BOOL, ROOTS, FactType, UnknownFact, resolve

Predicate = Callable[[Any], bool]


class Invalid(Exception):
    """A problem in the condition at `path`; collected by the compiler."""

    def __init__(self, path: tuple, code: str, message: str, help: str = ""):
        super().__init__(message)
        self.path, self.code, self.message, self.help = path, code, message, help


@dataclass
class Context:
    source: Source
    rule: str
    problems: list[Diagnostic]
    variables: dict[str, FactType] = field(default_factory=dict)
    # The consent scopes the rule names, shared with the contexts nested in it.
    consent_scopes: set[str] = field(default_factory=set)
    # What the condition being compiled reads: the first word of each fact path
    # (`group`, `item`, a quantifier's variable), and `_THE_ITEM` for each keyword
    # that reads the item's consents or author. Says which parts are the same for
    # every item of a request (`_quantifier`).
    reads: set[str] = field(default_factory=set)
    # The policy's patterns: one budget for every rule file of a load.
    patterns: "Patterns" = field(default_factory=lambda: Patterns())

    def report(self, error: Invalid) -> None:
        self.problems.append(self.source.diagnostic(error.path, error.code, error.message,
                                                    help=error.help, rule=self.rule))


def compile_condition(condition: dict, path: tuple, ctx: Context) -> Predicate:
    parts = [predicate for _, predicate in compile_conjuncts(condition, path, ctx)]
    if len(parts) == 1:
        return parts[0]
    return lambda scope: all(p(scope) for p in parts)


def compile_conjuncts(condition: dict, path: tuple, ctx: Context) -> list[tuple[str, Predicate]]:
    """Each entry of a condition as (its text, its predicate).

    The rule's condition is their conjunction; `explain` names the first entry
    that did not hold, by evaluating these same predicates.
    """
    parts: list[tuple[str, Predicate]] = []
    for key, value in condition.items():
        builder = KEYWORDS.get(key)
        if builder is not None and key not in _LOGIC:
            ctx.reads.add(_THE_ITEM)  # consents, authors: the item's
        try:
            predicate = builder(value, path + (key,), ctx) if builder else _fact_test(key, value, path + (key,), ctx)
        except Invalid as error:
            ctx.report(error)
            continue
        parts.append((describe(key, value), predicate))
    return parts


def describe(key: str, value: Any) -> str:
    """`key: value` in compact YAML flow style, for explanations."""
    return f"{key}: {_flow(value)}"


def _flow(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {_flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(_flow(v) for v in value) + "]"
    if value is True or value is False:
        return str(value).lower()
    return "null" if value is None else str(value)


def parse_instant(text: Any, path: tuple) -> Instant:
    if not isinstance(text, str):
        raise Invalid(path, "bad_time", f"`{text}` is not a time", "write an ISO 8601 time such as `2026-01-15T09:00:00Z`")
    try:
        return parse_iso(text)
    except NoTimeZone:
        raise Invalid(path, "bad_time", f"`{text}` has no time zone", "add `Z` for UTC or an offset like `+02:00`") from None
    except ValueError:
        raise Invalid(path, "bad_time", f"`{text}` is not a valid time",
                      "write an ISO 8601 time such as `2026-01-15T09:00:00Z`") from None


# ---- keywords ---------------------------------------------------------------


def _all(value: list, path: tuple, ctx: Context) -> Predicate:
    parts = [compile_condition(c, path + (i,), ctx) for i, c in enumerate(value)]
    return lambda scope: all(p(scope) for p in parts)


def _any(value: list, path: tuple, ctx: Context) -> Predicate:
    parts = [compile_condition(c, path + (i,), ctx) for i, c in enumerate(value)]
    return lambda scope: any(p(scope) for p in parts)


def _not(value: dict, path: tuple, ctx: Context) -> Predicate:
    inner = compile_condition(value, path, ctx)
    return lambda scope: not inner(scope)


def _quantifier(combine: Callable[[Any], bool], negate: bool):
    def build(value: dict, path: tuple, ctx: Context) -> Predicate:
        getter, fact_type = _resolve(value["of"], path + ("of",), ctx)
        if fact_type.kind != "list":
            raise Invalid(path + ("of",), "not_a_list", f"`{value['of']}` is {fact_type.describe()}, not a list",
                          "`some`, `every` and `none` range over lists such as `item.labels`")
        name = value.get("as", "it")
        inner_ctx = replace(ctx, variables={**ctx.variables, name: fact_type.element}, reads=set())
        where = compile_condition(value["where"], path + ("where",), inner_ctx)
        ctx.reads |= inner_ctx.reads

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
        reads = (inner_ctx.reads - {name}) | {value["of"].split(".", 1)[0]}
        if reads - _PER_REQUEST or reads & set(ctx.variables):
            return test
        # Over the request's facts alone (`some: {of: group.participants, …}`):
        # the same answer for every item, so asked once per request, not once
        # per item of a 1,000-item export over a roster of 10,000.
        def per_request(scope) -> bool:
            return once_per_request(scope, test, lambda: test(scope))

        return per_request

    return build


def _bind(scope, name: str, element: Any, where: Predicate) -> bool:
    scope.vars[name] = element
    return where(scope)


def consent_scope(value: Any, path: tuple, ctx: Context) -> str:
    """A consent scope the rule names, checked against the vocabulary and noted as read."""
    if not isinstance(value, str) or value not in CONSENT_SCOPES:
        raise Invalid(path, "unknown_consent_scope", f"`{_flow(value)}` is not a consent scope",
                      did_you_mean(_flow(value), list(CONSENT_SCOPES)))
    ctx.consent_scopes.add(value)
    return value


def _author_consented(value: str, path: tuple, ctx: Context) -> Predicate:
    kind = consent_scope(value, path, ctx)
    # Who posted a transcript, a list, a file or an image cannot consent for
    # the other people in it: only a message's words are its author's alone.
    return lambda scope: scope.item.kind in AUTHORED_KINDS and consent.holds(scope, scope.item.author.id, kind)


def _author_withdrew(value: str, path: tuple, ctx: Context) -> Predicate:
    kind = consent_scope(value, path, ctx)
    return lambda scope: consent.withdrawn(scope, scope.item.author.id, kind)


def _consented(value: dict, path: tuple, ctx: Context) -> Predicate:
    getter, fact_type = _resolve(value["by"], path + ("by",), ctx)
    if fact_type.kind != "text":
        raise Invalid(path + ("by",), "wrong_type", f"`{value['by']}` is {fact_type.describe()}, not a person id")
    kind = consent_scope(value["scope"], path + ("scope",), ctx)
    return lambda scope: consent.holds(scope, getter(scope), kind)


def _actor_is_author(value: bool, path: tuple, ctx: Context) -> Predicate:
    return lambda scope: scope.actor_is_author is value


_LOGIC = frozenset({"all", "any", "not", "some", "every", "none"})  # keywords that read nothing themselves
# What a keyword that reads the item records: no variable can be named so (`as: item` could).
_THE_ITEM = "item()"
# Facts that are the same for every item of a request, by the first word of their path.
_PER_REQUEST = frozenset(ROOTS) - {"item"}

KEYWORDS: dict[str, Callable[[Any, tuple, Context], Predicate]] = {
    "all": _all,
    "any": _any,
    "not": _not,
    "some": _quantifier(any, False),
    "every": _quantifier(all, False),
    "none": _quantifier(any, True),
    "author_consented": _author_consented,
    "author_withdrew": _author_withdrew,
    "consented": _consented,
    "actor_is_author": _actor_is_author,
}


# ---- fact tests -------------------------------------------------------------


def _resolve(fact: str, path: tuple, ctx: Context):
    ctx.reads.add(fact.split(".", 1)[0])
    try:
        return resolve(fact, ctx.variables)
    except UnknownFact as error:
        raise Invalid(path, "unknown_fact", str(error), error.help) from None


def _fact_test(fact: str, test: Any, path: tuple, ctx: Context) -> Predicate:
    getter, fact_type = _resolve(fact, path + ("<key>",), ctx)
    if isinstance(test, dict):
        ops = test
    elif isinstance(test, list):
        ops = {"in": test}
    else:
        ops = {"eq": test}
    parts = []
    for op, operand in ops.items():
        if op == "fact":
            op, operand = "eq", {"fact": operand}
        builder = OPERATORS[op]
        try:
            parts.append(builder(getter, fact, fact_type, operand, path + ((op,) if isinstance(test, dict) else ()), ctx))
        except Invalid as error:
            ctx.report(error)
    if len(parts) == 1:
        return parts[0]
    return lambda scope: all(p(scope) for p in parts)


def _operand(fact: str, fact_type: FactType, operand: Any, path: tuple, ctx: Context):
    """(getter_or_None, literal): a `{fact: path}` becomes a getter, a literal is checked and converted."""
    if isinstance(operand, dict):
        other, other_type = _resolve(operand["fact"], path + ("fact",), ctx)
        return other, other_type
    return None, _literal(fact, fact_type, operand, path)


def _literal(fact: str, fact_type: FactType, value: Any, path: tuple):
    kind = fact_type.kind
    if kind == "instant":
        return None if value is None else parse_instant(value, path)
    if kind == "bool" and not isinstance(value, bool):
        raise Invalid(path, "wrong_type", f"`{fact}` is true or false, not `{value}`", "write `true` or `false`")
    if kind == "int" and (isinstance(value, bool) or not isinstance(value, int)):
        raise Invalid(path, "wrong_type", f"`{fact}` is a number, not `{value}`")
    if kind == "text":
        if not isinstance(value, str):
            raise Invalid(path, "wrong_type", f"`{fact}` is text, not `{value}`", f"quote it: `\"{value}\"`")
        if fact_type.vocabulary and value not in fact_type.vocabulary:
            raise Invalid(path, "unknown_value", f"`{value}` is not a known value of `{fact}`",
                          did_you_mean(value, list(fact_type.vocabulary)))
    if kind in ("list", "record"):
        raise Invalid(path, "wrong_type", f"`{fact}` is {fact_type.describe()} and cannot be compared with a value",
                      "use `some`, `every` or `none` for lists" if kind == "list" else "compare one of its fields")
    return value


def _known(value: Any) -> bool:
    """A blank text or a missing value is unknown, and an unknown equals nothing, not even another unknown."""
    return value is not None and value != ""


def _same(a: Any, b: Any) -> bool:
    # Two recipients without an organization are not "of the same
    # organization"; an empty id is no participant (TLP:AMBER+STRICT, RED).
    return a == b and _known(a)


def _equality(negate: bool):
    def build(getter, fact, fact_type, operand, path, ctx):
        other, value = _operand(fact, fact_type, operand, path, ctx)
        if other is not None:
            if negate:
                return lambda scope: not _same(getter(scope), other(scope))
            return lambda scope: _same(getter(scope), other(scope))
        if negate:
            return lambda scope: getter(scope) != value
        return lambda scope: getter(scope) == value

    return build


def _membership(negate: bool):
    def build(getter, fact, fact_type, operand, path, ctx):
        if isinstance(operand, dict):
            other, other_type = _resolve(operand["fact"], path + ("fact",), ctx)
            if other_type.kind != "list":
                raise Invalid(path, "not_a_list", f"`{operand['fact']}` is not a list")
            test = lambda scope: _known(value := getter(scope)) and value in other(scope)  # noqa: E731
        else:
            if not isinstance(operand, list):
                raise Invalid(path, "wrong_type", "`in` takes a list of values", "write `[a, b]`")
            for i, v in enumerate(operand):
                if isinstance(v, (list, dict)):
                    raise Invalid(path + (i,), "wrong_type", "`in` takes a list of plain values, not of lists or mappings")
            values = frozenset(_literal(fact, fact_type, v, path + (i,)) for i, v in enumerate(operand))
            test = lambda scope: getter(scope) in values  # noqa: E731
        return (lambda scope: not test(scope)) if negate else test

    return build


def _contains(getter, fact, fact_type, operand, path, ctx):
    if fact_type.kind != "list":
        raise Invalid(path, "wrong_type", f"`contains` needs a list, and `{fact}` is {fact_type.describe()}")
    other, value = _operand(fact, fact_type.element or BOOL, operand, path, ctx)
    if other is not None:
        return lambda scope: _known(element := other(scope)) and element in getter(scope)
    return lambda scope: value in getter(scope)


def _ordering(compare: Callable[[Any, Any], bool]):
    def build(getter, fact, fact_type, operand, path, ctx):
        if fact_type.kind not in ("int", "instant", "any"):
            raise Invalid(path, "wrong_type", f"`{fact}` is {fact_type.describe()} and cannot be ordered",
                          "order times and numbers only")
        other, value = _operand(fact, fact_type, operand, path, ctx)

        # A time that was not given orders with nothing: the test is false.
        if other is not None:
            def test(scope):
                a, b = getter(scope), other(scope)
                return a is not None and b is not None and compare(a, b)
        else:
            def test(scope):
                a = getter(scope)
                return a is not None and compare(a, value)
        return test

    return build


def _exists(getter, fact, fact_type, operand, path, ctx):
    if not isinstance(operand, bool):
        raise Invalid(path, "wrong_type", "`exists` is `true` or `false`")
    if fact_type.kind == "map" or fact_type.kind == "any":
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
    return present if operand else (lambda scope: not present(scope))


def _matches(getter, fact, fact_type, operand, path, ctx):
    """`matches: <pattern>` — RE2 syntax, linear in the text: no pattern can hang the server."""
    if fact_type.kind not in ("text", "any"):
        raise Invalid(path, "wrong_type", f"`matches` needs text, and `{fact}` is {fact_type.describe()}")
    if not isinstance(operand, str):
        raise Invalid(path, "wrong_type", "`matches` takes a pattern", "write `matches: \"^a.*z$\"`")
    search = ctx.patterns.compile(operand, path).search

    def test(scope) -> bool:
        value = getter(scope)
        if not isinstance(value, str):
            return False
        # Once per pattern and text in a request, however many rules and readings ask:
        # a pattern is budgeted once, so it must cost once (the same 100,000-character
        # quote searched by one pattern in 100 rules once took 19 s).
        return once_per_request(scope, ("matches", operand, value), lambda: search(value) is not None)

    return test


class Patterns:
    """The `matches` patterns of one load, each compiled once and all held to one budget.

    RE2 is linear in the text, but the factor is the pattern's program: when a
    pattern's automaton outgrows its memory RE2 simulates the program instead,
    at about 1 ms per instruction per 100,000 characters of text, and every
    pattern may keep up to its memory in automaton states for the life of the
    worker. So the policy as a whole (not each file: a policy may have any
    number of files) is held to a number of distinct patterns and of program
    instructions: together at most 16 MiB of a worker's memory and, measured
    with the worst patterns found, about half a second per 100,000 characters
    of crafted text (1 ms for ordinary patterns and text). Each distinct pattern
    searches each text once per request, however many rules and items ask. Realistic patterns
    take 15–60 instructions: an e-mail address 22, four keywords with word
    boundaries 48. Unicode classes cost most: `\\p{Han}{2,4}` takes 326, more
    than a pattern may, while `\\p{Han}+` fits.
    """

    MAX_PATTERN = 250  # program instructions of one pattern
    MAX_TOTAL = 500  # program instructions of all distinct patterns of the policy
    MAX_COUNT = 16  # distinct patterns of the policy
    MAX_MEMORY = 1 << 20  # RE2's memory for each pattern: program and automaton states

    def __init__(self) -> None:
        self._compiled: dict[str, Any] = {}
        self._tried = 0  # distinct patterns compiled, refused or not
        self.instructions = 0

    def compile(self, operand: str, path: tuple):
        known = self._compiled.get(operand)
        if known is not None:  # the same pattern in many rules is one automaton
            return known
        # Checked before compiling: a file of a thousand patterns RE2 refuses
        # would otherwise cost a thousand refusals' time.
        if self._tried >= self.MAX_COUNT:
            raise Invalid(path, "pattern_budget",
                          f"more than the {self.MAX_COUNT} distinct patterns all rule files together may have",
                          "the same pattern in many rules counts once: reuse patterns, or join them with `|`")
        if self.instructions >= self.MAX_TOTAL:
            raise Invalid(path, "pattern_budget", f"the patterns before this one take the {self.MAX_TOTAL} RE2 "
                          "instructions all rule files together may have",
                          "the same pattern in many rules counts once: reuse patterns, or shorten them")
        self._tried += 1
        options = re2.Options()
        options.max_mem = self.MAX_MEMORY
        options.log_errors = False  # the diagnostic says it; RE2's own log line would go to the server's stderr
        try:
            pattern = re2.compile(operand, options)
        except re2.error as error:
            if "too large" not in str(error):
                raise Invalid(path, "bad_pattern", f"`{_shown(operand)}` is not a valid pattern: {error}",
                              "patterns use RE2 syntax: no backreferences or lookaround") from None
            size = None
        else:
            size = pattern.programsize
        if size is None or size > self.MAX_PATTERN:
            self.instructions += self.MAX_PATTERN  # a refused pattern still cost its compiling
            said = "needs more memory than" if size is None else f"compiles to {size} RE2 instructions, more than"
            raise Invalid(path, "pattern_too_large",
                          f"`{_shown(operand)}` {said} the {self.MAX_PATTERN} instructions a pattern may have",
                          "large counted repetitions (`{n}`) and Unicode classes multiply a pattern's size: "
                          "write a shorter pattern, or split it over rules")
        if self.instructions + size > self.MAX_TOTAL:
            raise Invalid(path, "pattern_budget",
                          f"this pattern takes the patterns of all rule files together to "
                          f"{self.instructions + size} RE2 instructions, more than the {self.MAX_TOTAL} they may have",
                          "the same pattern in many rules counts once: reuse patterns, or shorten them")
        self.instructions += size
        self._compiled[operand] = pattern
        return pattern


def _shown(pattern: str) -> str:
    """A pattern as a diagnostic quotes it: long ones cut, so a message stays one readable line."""
    return pattern if len(pattern) <= 80 else pattern[:77] + "..."


OPERATORS = {
    "eq": _equality(False),
    "ne": _equality(True),
    "in": _membership(False),
    "not_in": _membership(True),
    "contains": _contains,
    "lt": _ordering(operator.lt),
    "le": _ordering(operator.le),
    "gt": _ordering(operator.gt),
    "ge": _ordering(operator.ge),
    "exists": _exists,
    "matches": _matches,
}
