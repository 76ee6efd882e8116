"""Requests written as YAML (test cases, `explain`, `diff --replay`) → the engine's Request.

The shape mirrors the wire contract with lowercase enum words and ISO times.
A time is ISO 8601 text with a zone, kept to the nanosecond; a bare number is
POSIX seconds, as it always was here (an integer exactly, a decimal as written).
Named fixtures keep cases short: where a person, group or item is expected, a
string names a fixture. A person fixture serves as an actor too, so each
fixture may carry fields of both; the fields a target does not have are
ignored only for fixtures, never for what a case writes inline. A request may
start from a request fixture, `base: <name>`, and set only what differs.

A malformed request raises RequestDataError naming the field (`items[0].author`)
and where it sits in its document, so a suite's mistakes are reported at their
line like any other diagnostic. What the wire's types make impossible is
refused here too, so a file can say no more than a call can: a list or a
mapping where text is expected, a number outside what its field carries
(`version` and `speaker_count` are uint32), a time outside the Timestamp
range, a word outside an enum's vocabulary. `action` and `destination.kind`
are the exceptions: the engine denies a value it does not know, naming the
field, and the suites test that it does.
"""

from __future__ import annotations

import dataclasses
import decimal
import functools
import math
import types
import typing
from typing import Any, Mapping

from ..engine import model
from ..engine.instants import FIRST_INSTANT, LAST_INSTANT, SECOND, NoTimeZone, parse_iso
from ..engine.model import Instant

_FIXTURE_KIND = {model.Person: "people", model.Actor: "people", model.Group: "groups", model.Item: "items"}
REQUIRED = ("action", "actor", "group", "items", "destination")
BASE = "base"  # `base: <request fixture>` in a request
# The wire's uint32: `version`, `speaker_count`.
_MAX_UINT32 = 2**32 - 1
# The enum fields whose words the wire's enums define, by (dataclass, field).
# `action` and `destination.kind` are left out: see the module's docstring.
_OWNERS = {"": model.Request, "actor": model.Actor, "group": model.Group, "item": model.Item, "purpose": model.Purpose}
_VOCABULARY = {(_OWNERS[fact.rpartition(".")[0]], fact.rpartition(".")[2]): words
               for fact, words in model.VOCABULARIES.items() if fact not in ("action", "destination.kind")}


class RequestDataError(ValueError):
    """A request written as data is malformed.

    `path` names the field within the request (`items[0].author`); `location`
    is where the offending value sits in its document, as a path of keys and
    indexes (inside a fixture when the value came from one).
    """

    def __init__(self, path: str, message: str, location: tuple = ()):
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path
        self.detail = message
        self.location = location


def parse_instant(value: Any, path: str, location: tuple = (), *, bounded: bool = True) -> Instant:
    """A time as a request writes it; `bounded`: within what a Timestamp (and so the wire) can carry."""
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise RequestDataError(path, f"expected a time (ISO 8601 text with a zone, or POSIX seconds), "
                                     f"not {_shown(value)}", location)
    if isinstance(value, int):
        instant = Instant(value * SECOND)
    elif isinstance(value, float):
        instant = _from_seconds(value, path, location)
    else:
        try:
            instant = parse_iso(value)
        except NoTimeZone:
            raise RequestDataError(path, f"`{value}` has no time zone", location) from None
        except ValueError:
            raise RequestDataError(path, f"`{value}` is not an ISO 8601 time", location) from None
    if bounded and not FIRST_INSTANT <= instant <= LAST_INSTANT:
        raise RequestDataError(path, f"`{value}` is outside the times a request can carry (0001-01-01 to "
                                     "9999-12-31 UTC)", location)
    return instant


def _from_seconds(seconds: float, path: str, location: tuple) -> Instant:
    if not math.isfinite(seconds):
        raise RequestDataError(path, f"`{seconds}` is not a time", location)
    # The decimal the file wrote (`1700000000.1`), not the binary float nearest
    # to it, which is some nanoseconds off.
    return Instant(int((decimal.Decimal(repr(seconds)) * SECOND).to_integral_value()))


def request_from_data(data: Mapping, fixtures: Mapping | None = None, *, at: tuple = ()) -> model.Request:
    """Build a Request; `at` is where `data` sits in its document (for error locations)."""
    fixtures = {} if fixtures is None else fixtures
    if not isinstance(fixtures, Mapping):
        raise RequestDataError("fixtures", "expected a mapping of kinds (`people`, `groups`, `items`, `requests`) "
                                           "to named fixtures", ("fixtures",))
    if not isinstance(data, Mapping):
        raise RequestDataError("", "a request is a mapping of fields", at)
    origins = {key: at for key in data}
    data = dict(data)
    if BASE in data:
        name = data.pop(BASE)
        if not isinstance(name, str):
            raise RequestDataError(BASE, f"expected the name of a requests fixture, not {_shown(name)}", at + (BASE,))
        base = _fixtures_of(fixtures, "requests", BASE).get(name)
        if not isinstance(base, Mapping):
            raise RequestDataError(BASE, f"no requests fixture named `{name}`", at + (BASE,))
        root = ("fixtures", "requests", name)
        origins = {**{key: root for key in base}, **{key: at for key in data}}
        data = {**base, **data}
    for required in REQUIRED:
        if required not in data:
            raise RequestDataError(required, "is required", at)
    return _build(model.Request, data, "", at, fixtures, inline=True, origins=origins)


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls, vars(model))


def _build(cls: type, value: Any, path: str, at: tuple, fixtures: Mapping, inline: bool,
           origins: Mapping[str, tuple] | None = None) -> Any:
    if isinstance(value, str) and cls in _FIXTURE_KIND:
        kind = _FIXTURE_KIND[cls]
        found = _fixtures_of(fixtures, kind, path).get(value)
        if found is None:
            raise RequestDataError(path, f"no {kind} fixture named `{value}`", at)
        return _build(cls, found, path, ("fixtures", kind, value), fixtures, inline=False)
    if not isinstance(value, Mapping):
        raise RequestDataError(path, f"expected a mapping for {cls.__name__.lower()}", at)
    hints = _hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    kwargs = {}
    for key, raw in value.items():
        where = f"{path}.{key}" if path else str(key)
        location = (origins[key] if origins else at) + (key,)
        if key not in names:
            if inline:
                raise RequestDataError(where, f"unknown field `{key}`", location + ("<key>",))
            continue
        kwargs[key] = _convert(hints[key], raw, where, location, fixtures)
        words = _VOCABULARY.get((cls, key))
        if words is not None and kwargs[key] not in words:
            raise RequestDataError(where, f"`{kwargs[key]}` is not one of " + ", ".join(f"`{w}`" for w in words),
                                   location)
    for required in _REQUIRED_TEXT.get(cls, ()):
        # Left out, a required text is empty, as on the wire: the checks a
        # request must pass (engine/validate.py) then name it as the server does.
        kwargs.setdefault(required, "")
    try:
        return cls(**kwargs)
    except TypeError as error:
        raise RequestDataError(path, str(error), at) from None


def _fixtures_of(fixtures: Mapping, kind: str, path: str) -> Mapping:
    found = fixtures.get(kind)
    if found is None:
        return {}
    if not isinstance(found, Mapping):
        raise RequestDataError(path, f"`fixtures.{kind}` is not a mapping of names to fixtures", ("fixtures", kind))
    return found


def _shown(value: Any) -> str:
    """A value the request cannot use, as a message names it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, (list, tuple)):
        return "a list"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, (str, int, float)):
        return f"`{value}`"
    return f"a value of type `{type(value).__name__}`"


def _text(raw: Any, path: str, at: tuple) -> str:
    # A number reads as the text it is (`id: 42`); anything else here is a
    # mistake the wire's string fields cannot carry (`id: [a]`, `name: ~`).
    if isinstance(raw, str):
        return raw
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        return str(raw)
    raise RequestDataError(path, f"expected text, not {_shown(raw)}", at)


def _plain_value(raw: Any, path: str, at: tuple) -> Any:
    """An `attributes` value as a Struct carries it: text, number, true or false, null, lists and mappings of them."""
    pending = [(raw, path)]
    while pending:
        value, where = pending.pop()
        if isinstance(value, Mapping):
            pending.extend((v, f"{where}.{k}") for k, v in value.items())
        elif isinstance(value, list):
            pending.extend((v, f"{where}[{i}]") for i, v in enumerate(value))
        elif value is not None and not isinstance(value, (str, int, float, bool)):
            raise RequestDataError(where, f"expected text, a number, true, false, a list or a mapping, not "
                                          f"{_shown(value)}", at)
    return raw


@functools.cache
def _required_text(cls: type) -> tuple[str, ...]:
    hints = _hints(cls)
    return tuple(f.name for f in dataclasses.fields(cls)
                 if hints[f.name] is str and f.default is dataclasses.MISSING
                 and f.default_factory is dataclasses.MISSING)


_REQUIRED_TEXT = {cls: _required_text(cls) for cls in (model.Item, model.Label, model.Consent, model.Adoption)}


def _convert(hint: Any, raw: Any, path: str, at: tuple, fixtures: Mapping) -> Any:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Instant or (origin in (typing.Union, types.UnionType) and Instant in args):
        return None if raw is None else parse_instant(raw, path, at)
    if origin is tuple:
        if not isinstance(raw, list):
            raise RequestDataError(path, "expected a list", at)
        return tuple(_convert(args[0], v, f"{path}[{i}]", at + (i,), fixtures) for i, v in enumerate(raw))
    if dataclasses.is_dataclass(hint):
        return _build(hint, raw, path, at, fixtures, inline=not isinstance(raw, str))
    if origin is dict:
        if not isinstance(raw, Mapping):
            raise RequestDataError(path, "expected a mapping", at)
        if args[1] is str:
            return {str(k): _text(v, f"{path}.{k}", at + (k,)) for k, v in raw.items()}
        return {str(k): _plain_value(v, f"{path}.{k}", at + (k,)) for k, v in raw.items()}
    if hint is bool or (origin in (typing.Union, types.UnionType) and bool in args):
        if not isinstance(raw, bool) and not (raw is None and type(None) in args):
            raise RequestDataError(path, f"expected true or false, not {_shown(raw)}", at)
        return raw
    if hint is int:
        if isinstance(raw, bool) or not isinstance(raw, int):
            raise RequestDataError(path, f"expected a number, not {_shown(raw)}", at)
        if not 0 <= raw <= _MAX_UINT32:
            raise RequestDataError(path, f"expected a whole number from 0 to {_MAX_UINT32}, not `{raw}`", at)
        return raw
    if hint is str:
        text = _text(raw, path, at)
        return text.lower() if path.endswith((".value", ".scheme")) else text
    return raw
