"""Conditions → the compiled form's expressions. One small lowering per keyword and operator, in two tables.

A condition (policy.model) is a mapping whose entries must all hold. Each
entry is either a keyword (`all`, `any`, `not`, `some`, `every`, `none`,
`author_consented`, `author_withdrew`, `consented`, `actor_is_author`) or a
fact path with a test:

    destination.kind: public                  # equals
    destination.kind: [public, ai_tool]       # one of
    item.posted_at: {lt: 2026-01-01T00:00:00Z}
    destination.service.organization: {fact: actor.organization}

Everything is checked here, once: unknown facts, values outside a fact's
vocabulary, consent scopes outside theirs, tests that do not fit the fact's
type, unparseable times, patterns over budget. What comes out (`ir.Expr`) is
typed data an evaluator runs without checking anything again
(engine/build.py is the reference one).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Callable, TYPE_CHECKING

import re2

from .. import ir
from ..engine.build import compile_pattern
from ..engine.facts import BOOL, FactType, UnknownFact, resolve
from ..engine.instants import NoTimeZone, parse_iso
from ..engine.model import CONSENT_SCOPES, Instant
from ..errors import Diagnostic, did_you_mean
from ..policy import model
from ..policy.model import KEYWORDS, describe, flow

if TYPE_CHECKING:  # the side table of positions; only policy/ reads rule files
    from ..source import Source

__all__ = ["KEYWORDS", "Context", "Invalid", "Patterns", "consent_scope", "describe", "lower_condition",
           "parse_instant"]

_INT64 = 1 << 63


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
    # The policy's patterns: one budget for every rule file of a load.
    patterns: "Patterns" = field(default_factory=lambda: Patterns())
    # The consent scopes a rule may name: the built-in ones and those agreements add.
    known_scopes: tuple[str, ...] = tuple(CONSENT_SCOPES)

    def report(self, error: Invalid) -> None:
        self.problems.append(self.source.diagnostic(error.path, error.code, error.message,
                                                    help=error.help, rule=self.rule))


def lower_condition(condition: model.Condition, ctx: Context) -> ir.Condition:
    """A condition, checked, as the compiled form's: each entry with its text and expression.

    An entry with a problem is reported and left out (and the rule with it,
    by the compiler): the entries keep the authored order and nesting, so an
    entry's place leads back to where it was written.
    """
    lowered = ir.Condition()
    for entry in condition.entries:
        try:
            expr = _LOWER[type(entry)](entry, ctx)
        except Invalid as error:
            ctx.report(error)
            continue
        expr.text = entry.text
        lowered.entries.append(expr)
    return lowered


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


def _junction(entry: model.AllOf | model.AnyOf, ctx: Context) -> ir.Expr:
    conditions = ir.Conditions(conditions=[lower_condition(c, ctx) for c in entry.conditions])
    return ir.Expr(all=conditions) if isinstance(entry, model.AllOf) else ir.Expr(any=conditions)


def _not(entry: model.Not, ctx: Context) -> ir.Expr:
    return ir.Expr(**{"not": lower_condition(entry.condition, ctx)})  # `not` is a Python keyword


def _quantified(entry: model.Quantified, ctx: Context) -> ir.Expr:
    of_path = entry.path + ("of",)
    fact_type = _resolve(entry.of, of_path, ctx)
    if fact_type.kind != "list":
        raise Invalid(of_path, "not_a_list", f"`{entry.of}` is {fact_type.describe()}, not a list",
                      "`some`, `every` and `none` range over lists such as `item.labels`")
    inner = replace(ctx, variables={**ctx.variables, entry.name: fact_type.element})
    where = lower_condition(entry.where, inner)
    return ir.Expr(quantified=ir.Quantified(
        quantifier=ir.enum_value("Quantifier", entry.quantifier), of=ir.Fact(path=entry.of), where=where,
        **{"as": entry.name}))


def consent_scope(value: Any, path: tuple, ctx: Context) -> str:
    """A consent scope the rule names, checked against the vocabulary and noted as read."""
    if not isinstance(value, str) or value not in ctx.known_scopes:
        raise Invalid(path, "unknown_consent_scope", f"`{flow(value)}` is not a consent scope",
                      did_you_mean(flow(value), list(ctx.known_scopes)))
    ctx.consent_scopes.add(value)
    return value


def _author_consent(entry: model.AuthorConsent, ctx: Context) -> ir.Expr:
    scope = consent_scope(entry.scope, entry.path, ctx)
    test = "author_withdrew" if entry.withdrew else "author_consented"
    return ir.Expr(consent=ir.Consent(test=ir.enum_value("ConsentTest", test), scope=scope))


def _consented(entry: model.Consented, ctx: Context) -> ir.Expr:
    by_path = entry.path + ("by",)
    fact_type = _resolve(entry.by, by_path, ctx)
    if fact_type.kind != "text":
        raise Invalid(by_path, "wrong_type", f"`{entry.by}` is {fact_type.describe()}, not a person id")
    scope = consent_scope(entry.scope, entry.path + ("scope",), ctx)
    return ir.Expr(consent=ir.Consent(test=ir.enum_value("ConsentTest", "consented"), scope=scope,
                                      by=ir.Fact(path=entry.by)))


def _actor_is_author(entry: model.ActorIsAuthor, ctx: Context) -> ir.Expr:
    if not isinstance(entry.value, bool):
        raise Invalid(entry.path, "wrong_type", "`actor_is_author` is `true` or `false`")
    return ir.Expr(actor_is_author=entry.value)


# ---- fact tests -------------------------------------------------------------


def _resolve(fact: str, path: tuple, ctx: Context | None = None) -> FactType:
    try:
        return resolve(fact, ctx.variables if ctx else {})[1]
    except UnknownFact as error:
        raise Invalid(path, "unknown_fact", str(error), error.help) from None


def _fact_test(entry: model.FactTest, ctx: Context) -> ir.Expr:
    fact_type = _resolve(entry.fact, entry.path + ("<key>",), ctx)
    exprs = []
    for test in entry.tests:
        try:
            exprs.append(OPERATORS[test.op](entry.fact, fact_type, test.operand, test.path, ctx))
        except Invalid as error:
            ctx.report(error)
    return exprs[0] if len(exprs) == 1 else ir.Expr(tests=ir.Exprs(exprs=exprs))


def _fact(path: str) -> ir.Fact:
    return ir.Fact(path=path)


def _literal(fact: str, fact_type: FactType, value: Any, path: tuple) -> ir.Value:
    """A literal checked against the type of the fact it is compared with, as the compiled form's value."""
    kind = fact_type.kind
    if kind == "instant":
        return ir.Value(null=True) if value is None else ir.Value(instant=ir.instant(parse_instant(value, path)))
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
    return _value(value, path)


def _value(value: Any, path: tuple) -> ir.Value:
    if value is None:
        return ir.Value(null=True)
    if isinstance(value, bool):
        return ir.Value(boolean=value)
    if isinstance(value, int):
        if not -_INT64 <= value < _INT64:
            raise Invalid(path, "wrong_type", f"`{value}` is outside the numbers a fact can hold",
                          "facts are 64-bit integers")
        return ir.Value(integer=value)
    if isinstance(value, float):
        return ir.Value(number=value)
    if isinstance(value, str):
        return ir.Value(text=value)
    if isinstance(value, list):
        return ir.Value(list=ir.Values(values=[_value(v, path + (i,)) for i, v in enumerate(value)]))
    raise Invalid(path, "wrong_type", f"`{flow(value)}` cannot be compared with a fact", "compare with a plain value")


def _other(operand: model.FactRef, ctx: Context) -> FactType:
    return _resolve(operand.fact, operand.path, ctx)


def _compare(op: str, fact: str, **operand) -> ir.Expr:
    return ir.Expr(compare=ir.Compare(op=ir.enum_value("Operator", op), fact=_fact(fact), **operand))


def _equality(op: str):
    def lower(fact, fact_type, operand, path, ctx):
        if isinstance(operand, model.FactRef):
            _other(operand, ctx)
            return _compare(op, fact, other=_fact(operand.fact))
        return _compare(op, fact, value=_literal(fact, fact_type, operand, path))

    return lower


def _membership(op: str):
    def lower(fact, fact_type, operand, path, ctx):
        if isinstance(operand, model.FactRef):
            if _other(operand, ctx).kind != "list":
                raise Invalid(path, "not_a_list", f"`{operand.fact}` is not a list")
            return _compare(op, fact, other=_fact(operand.fact))
        if not isinstance(operand, list):
            raise Invalid(path, "wrong_type", "`in` takes a list of values", "write `[a, b]`")
        for i, v in enumerate(operand):
            if isinstance(v, (list, dict)):
                raise Invalid(path + (i,), "wrong_type", "`in` takes a list of plain values, not of lists or mappings")
        values = [_literal(fact, fact_type, v, path + (i,)) for i, v in enumerate(operand)]
        return _compare(op, fact, values=ir.Values(values=values))

    return lower


def _contains(fact, fact_type, operand, path, ctx):
    if fact_type.kind != "list":
        raise Invalid(path, "wrong_type", f"`contains` needs a list, and `{fact}` is {fact_type.describe()}")
    if isinstance(operand, model.FactRef):
        _other(operand, ctx)
        return _compare("contains", fact, other=_fact(operand.fact))
    return _compare("contains", fact, value=_literal(fact, fact_type.element or BOOL, operand, path))


def _ordering(op: str):
    def lower(fact, fact_type, operand, path, ctx):
        if fact_type.kind not in ("int", "instant", "any"):
            raise Invalid(path, "wrong_type", f"`{fact}` is {fact_type.describe()} and cannot be ordered",
                          "order times and numbers only")
        if isinstance(operand, model.FactRef):
            _other(operand, ctx)
            return _compare(op, fact, other=_fact(operand.fact))
        return _compare(op, fact, value=_literal(fact, fact_type, operand, path))

    return lower


def _exists(fact, fact_type, operand, path, ctx):
    if not isinstance(operand, bool):
        raise Invalid(path, "wrong_type", "`exists` is `true` or `false`")
    return ir.Expr(exists=ir.Exists(fact=_fact(fact), present=operand))


def _matches(fact, fact_type, operand, path, ctx):
    """`matches: <pattern>` — RE2 syntax, linear in the text: no pattern can hang the server."""
    if fact_type.kind not in ("text", "any"):
        raise Invalid(path, "wrong_type", f"`matches` needs text, and `{fact}` is {fact_type.describe()}")
    if not isinstance(operand, str):
        raise Invalid(path, "wrong_type", "`matches` takes a pattern", "write `matches: \"^a.*z$\"`")
    ctx.patterns.compile(operand, path)
    return ir.Expr(matches=ir.Matches(fact=_fact(fact), pattern=operand))


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
        try:
            pattern = compile_pattern(operand)
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


OPERATORS: dict[str, Callable[..., ir.Expr]] = {
    "eq": _equality("eq"),
    "ne": _equality("ne"),
    "in": _membership("in"),
    "not_in": _membership("not_in"),
    "contains": _contains,
    "lt": _ordering("lt"),
    "le": _ordering("le"),
    "gt": _ordering("gt"),
    "ge": _ordering("ge"),
    "exists": _exists,
    "matches": _matches,
}

_LOWER: dict[type, Callable[[Any, Context], ir.Expr]] = {
    model.AllOf: _junction,
    model.AnyOf: _junction,
    model.Not: _not,
    model.Quantified: _quantified,
    model.AuthorConsent: _author_consent,
    model.Consented: _consented,
    model.ActorIsAuthor: _actor_is_author,
    model.FactTest: _fact_test,
}
