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
line like any other diagnostic.
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
from ..engine.instants import SECOND, NoTimeZone, parse_iso
from ..engine.model import Instant

_FIXTURE_KIND = {model.Person: "people", model.Actor: "people", model.Group: "groups", model.Item: "items"}
REQUIRED = ("action", "actor", "group", "items", "destination")
BASE = "base"  # `base: <request fixture>` in a request


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


def parse_instant(value: Any, path: str, location: tuple = ()) -> Instant:
    if isinstance(value, int) and not isinstance(value, bool):
        return Instant(value * SECOND)
    if isinstance(value, float):
        return _from_seconds(value, path, location)
    try:
        return parse_iso(str(value))
    except NoTimeZone:
        raise RequestDataError(path, f"`{value}` has no time zone", location) from None
    except ValueError:
        raise RequestDataError(path, f"`{value}` is not an ISO 8601 time", location) from None


def _from_seconds(seconds: float, path: str, location: tuple) -> Instant:
    if not math.isfinite(seconds):
        raise RequestDataError(path, f"`{seconds}` is not a time", location)
    # The decimal the file wrote (`1700000000.1`), not the binary float nearest
    # to it, which is some nanoseconds off.
    return Instant(int((decimal.Decimal(repr(seconds)) * SECOND).to_integral_value()))


def request_from_data(data: Mapping, fixtures: Mapping | None = None, *, at: tuple = ()) -> model.Request:
    """Build a Request; `at` is where `data` sits in its document (for error locations)."""
    fixtures = fixtures or {}
    if not isinstance(data, Mapping):
        raise RequestDataError("", "a request is a mapping of fields", at)
    origins = {key: at for key in data}
    data = dict(data)
    if BASE in data:
        name = data.pop(BASE)
        base = (fixtures.get("requests") or {}).get(name)
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
        found = (fixtures.get(kind) or {}).get(value)
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
    try:
        return cls(**kwargs)
    except TypeError as error:
        raise RequestDataError(path, str(error), at) from None


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
        return {str(k): (str(v) if args[1] is str else v) for k, v in raw.items()}
    if hint is bool and not isinstance(raw, bool):
        raise RequestDataError(path, f"expected true or false, not `{raw}`", at)
    if hint is int and (isinstance(raw, bool) or not isinstance(raw, int)):
        raise RequestDataError(path, f"expected a number, not `{raw}`", at)
    if hint is str:
        return str(raw).lower() if path.endswith((".value", ".scheme")) else str(raw)
    return raw
