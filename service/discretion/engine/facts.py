"""The fact catalogue: which paths a rule may name, their types, and how to read them.

The catalogue is the request model itself (engine/model.py): its type hints
say what each field holds. A path is resolved once, at compile time, into a
getter over the evaluation scope; an unknown path is a diagnostic with a
"did you mean".
"""

from __future__ import annotations

import dataclasses
import functools
import operator
import typing
from dataclasses import dataclass
from typing import Any, Callable

from . import model
from .model import VOCABULARIES, Instant


@dataclass(frozen=True)
class FactType:
    kind: str  # "text", "bool", "int", "instant", "list", "map", "record", "any"
    element: "FactType | None" = None  # for lists and maps
    record: type | None = None  # for records (and list elements that are records)
    vocabulary: tuple[str, ...] = ()

    def describe(self) -> str:
        if self.kind == "list" and self.element:
            return f"a list of {self.element.describe()}s"
        return {"text": "text", "bool": "true/false", "int": "a number", "instant": "a time",
                "map": "a map", "record": "a record", "any": "any value"}.get(self.kind, self.kind)


TEXT, BOOL, INT, INSTANT, ANY = (FactType(k) for k in ("text", "bool", "int", "instant", "any"))

# The roots of a fact path, as the evaluation scope holds them.
ROOTS: dict[str, Any] = {
    "action": str,
    "format": str,
    "derived": str,
    "quoted_text": str,
    "requested_at": Instant,
    "actor": model.Actor,
    "group": model.Group,
    "item": model.Item,
    "destination": model.Destination,
    "attribution": model.Attribution,
    "purpose": model.Purpose,
    "attributes": dict[str, Any],
}


class UnknownFact(Exception):
    def __init__(self, message: str, help: str = ""):
        super().__init__(message)
        self.help = help


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls, vars(model))


@functools.cache  # over the model's types and its fact paths only: a finite set
def type_of(hint: Any, path: str = "") -> FactType:
    vocabulary = VOCABULARIES.get(path, ())
    if hint is Instant:
        return INSTANT
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, getattr(__import__("types"), "UnionType", None)):
        inner = [a for a in args if a is not type(None)]
        return type_of(inner[0], path) if len(inner) == 1 else ANY
    if origin is tuple:
        return FactType("list", element=type_of(args[0]))
    if origin is dict:
        return FactType("map", element=type_of(args[1]))
    if hint is str:
        return FactType("text", vocabulary=vocabulary)
    if hint is bool:
        return BOOL
    if hint is int:
        return INT
    if dataclasses.is_dataclass(hint):
        return FactType("record", record=hint)
    return ANY


@functools.cache
def fields_of(record: type) -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(record))


def resolve(path: str, variables: dict[str, FactType]) -> tuple[Callable[[Any], Any], FactType]:
    """A getter over the scope for `path`, and the type of what it returns.

    Getters are pure, so one is shared by every rule that names the same
    path with the same variables: the compiler checks a path, the
    evaluator's loader builds it, and a policy of 10,000 rules names a few
    dozen paths.
    """
    return _resolve(path, tuple(variables.items()))


@functools.lru_cache(maxsize=4096)  # rule files name the paths: bounded, not keyed by anything a request sends
def _resolve(path: str, variables: tuple[tuple[str, FactType], ...]) -> tuple[Callable[[Any], Any], FactType]:
    return _uncached(path, dict(variables))


def _uncached(path: str, variables: dict[str, FactType]) -> tuple[Callable[[Any], Any], FactType]:
    parts = path.split(".")
    head, rest = parts[0], parts[1:]
    if head in variables:
        fact_type = variables[head]
        base: Callable = lambda scope, _n=head: scope.vars[_n]  # noqa: E731
        trail = [head]
    elif head == "item" and rest[:1] == ["label_param"]:
        if len(rest) != 3:
            raise UnknownFact(f"`{path}` must name a label scheme and a parameter",
                              "write `item.label_param.<scheme>.<name>`, e.g. `item.label_param.press.descriptor`")
        scheme, name = rest[1], rest[2]
        return (lambda scope, _s=scheme, _n=name: scope.label_param.get(_s, {}).get(_n, "")), TEXT
    elif head == "item" and rest[:1] == ["label"]:
        if len(rest) != 2:
            raise UnknownFact(f"`{path}` must name one label scheme", "write `item.label.<scheme>`, e.g. `item.label.tlp`")
        scheme = rest[1]
        return (lambda scope, _s=scheme: scope.label.get(_s, "")), TEXT
    elif head in ROOTS:
        fact_type = type_of(ROOTS[head], head)
        base = operator.attrgetter(head)
        trail = [head]
    else:
        choices = sorted(ROOTS) + sorted(variables)
        raise UnknownFact(f"unknown fact `{path}`", _suggest(head, choices))
    getter = base
    attrs: list[str] = []
    unset_is_yes = False
    for part in rest:
        trail.append(part)
        where = ".".join(trail)
        if fact_type.kind == "record":
            names = fields_of(fact_type.record)
            if part not in names:
                raise UnknownFact(f"unknown fact `{where}`", _suggest(part, names))
            attrs.append(part)
            hint = _hints(fact_type.record)[part]
            unset_is_yes = hint == (bool | None)
            fact_type = type_of(hint, where if head not in variables else "")
            continue
        getter = _chain(getter, attrs)
        attrs = []
        if fact_type.kind == "map":
            # Custom attributes a rule needs but the request lacks are a
            # missing fact: KeyError, and the rule fails closed. Label
            # parameters are text and simply empty when not given.
            strict = fact_type.element is ANY
            getter = _map_get(getter, part, strict)
            fact_type = fact_type.element or ANY
            continue
        if fact_type.kind == "any":
            getter = _map_get(getter, part, True)
            continue
        raise UnknownFact(f"`{'.'.join(trail[:-1])}` is {fact_type.describe()} and has no `{part}`",
                          "lists are read with `some`, `every` or `none`" if fact_type.kind == "list" else "")
    getter = _chain(getter, attrs)
    if unset_is_yes:
        # A yes/no the platform did not give (`may_train`, `retains`,
        # `new_controller`) reads as yes in every rule that tests it: no rule
        # can read "not said" as the harmless answer.
        getter = _yes_when_unset(getter)
    return getter, fact_type


def _yes_when_unset(getter: Callable) -> Callable:
    def read(scope):
        value = getter(scope)
        return True if value is None else value
    return read


def _chain(getter: Callable, attrs: list[str]) -> Callable:
    if not attrs:
        return getter
    tail = operator.attrgetter(".".join(attrs))
    if isinstance(getter, operator.attrgetter):
        # Fold into one C-level getter: `item` + `author.id` -> `item.author.id`.
        return operator.attrgetter(_attrgetter_path(getter) + "." + ".".join(attrs))
    return lambda scope: tail(getter(scope))


def _attrgetter_path(getter: operator.attrgetter) -> str:
    # attrgetter's repr is "operator.attrgetter('a.b')"
    return repr(getter).split("'")[1]


def _map_get(getter: Callable, key: str, strict: bool) -> Callable:
    if strict:
        return lambda scope: getter(scope)[key]
    return lambda scope: getter(scope).get(key, "")


def _suggest(word: str, choices: list[str]) -> str:
    from ..errors import did_you_mean

    return did_you_mean(word, choices)
