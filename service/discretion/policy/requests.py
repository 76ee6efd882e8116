"""Requests written as YAML (test cases, `explain`) → the engine's Request.

The shape mirrors the wire contract with lowercase enum words and ISO times.
Named fixtures keep cases short: where a person, group or item is expected, a
string names a fixture. A person fixture serves as an actor too, so each
fixture may carry fields of both; the fields a target does not have are
ignored only for fixtures, never for what a case writes inline.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import typing
from typing import Any, Mapping

from ..engine import model
from ..engine.model import Instant

_FIXTURE_KIND = {model.Person: "people", model.Actor: "people", model.Group: "groups", model.Item: "items"}


class RequestDataError(ValueError):
    """A request written as data is malformed; `path` names the field."""

    def __init__(self, path: str, message: str):
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path


def parse_instant(value: Any, path: str) -> float:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    try:
        instant = dt.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        raise RequestDataError(path, f"`{value}` is not an ISO 8601 time") from None
    if instant.tzinfo is None:
        raise RequestDataError(path, f"`{value}` has no time zone")
    return instant.timestamp()


def request_from_data(data: Mapping, fixtures: Mapping | None = None) -> model.Request:
    fixtures = fixtures or {}
    data = dict(data)
    for required in ("action", "actor", "group", "items", "destination"):
        if required not in data:
            raise RequestDataError(required, "is required")
    return _build(model.Request, data, "", fixtures, inline=True)


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls, vars(model))


def _build(cls: type, value: Any, path: str, fixtures: Mapping, inline: bool) -> Any:
    if isinstance(value, str) and cls in _FIXTURE_KIND:
        kind = _FIXTURE_KIND[cls]
        found = (fixtures.get(kind) or {}).get(value)
        if found is None:
            raise RequestDataError(path, f"no {kind} fixture named `{value}`")
        return _build(cls, found, path, fixtures, inline=False)
    if not isinstance(value, Mapping):
        raise RequestDataError(path, f"expected a mapping for {cls.__name__.lower()}")
    hints = _hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    kwargs = {}
    for key, raw in value.items():
        where = f"{path}.{key}" if path else key
        if key not in names:
            if inline:
                raise RequestDataError(where, f"unknown field `{key}`")
            continue
        kwargs[key] = _convert(hints[key], raw, where, fixtures)
    try:
        return cls(**kwargs)
    except TypeError as error:
        raise RequestDataError(path, str(error)) from None


def _convert(hint: Any, raw: Any, path: str, fixtures: Mapping) -> Any:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Instant or (origin in (typing.Union, __import__("types").UnionType) and Instant in args):
        return None if raw is None else parse_instant(raw, path)
    if origin is tuple:
        if not isinstance(raw, list):
            raise RequestDataError(path, "expected a list")
        return tuple(_convert(args[0], v, f"{path}[{i}]", fixtures) for i, v in enumerate(raw))
    if dataclasses.is_dataclass(hint):
        return _build(hint, raw, path, fixtures, inline=not isinstance(raw, str))
    if origin is dict:
        if not isinstance(raw, Mapping):
            raise RequestDataError(path, "expected a mapping")
        return {str(k): (str(v) if args[1] is str else v) for k, v in raw.items()}
    if hint is bool and not isinstance(raw, bool):
        raise RequestDataError(path, f"expected true or false, not `{raw}`")
    if hint is int and (isinstance(raw, bool) or not isinstance(raw, int)):
        raise RequestDataError(path, f"expected a number, not `{raw}`")
    if hint is str:
        return str(raw).lower() if path.endswith((".value", ".scheme")) else str(raw)
    return raw
