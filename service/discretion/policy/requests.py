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

A request read whole then passes the checks the server runs on every call
(engine/validate.py): one the server would answer INVALID_ARGUMENT (no items,
an item without an id, a destination whose facts contradict its kind) raises
RequestRefused, naming every field at fault as the server does. `explain` and
`diff --replay` show what a server would do, so they take only what it takes;
a suite tests the engine itself, which must still deny what the server's
checks refuse before it (`checked=False`). Labels are read as the server reads
them: schemes folded (`scheme_key`), values trimmed and without case.
"""

from __future__ import annotations

import dataclasses
import decimal
import functools
import math
import re
import types
import typing
from dataclasses import dataclass, field
from typing import Any, Mapping

from ..engine import model
from ..engine.compiled import scheme_key
from ..engine.instants import FIRST_INSTANT, LAST_INSTANT, SECOND, NoTimeZone, parse_iso
from ..engine.model import Instant
from ..engine.validate import label_map, label_value, label_word, violations
from ..errors import Diagnostic, FieldViolation
from ..source import Source

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
# Every enum field's words, `action` and `destination.kind` included: a word written as the wire names it
# (`ACTION_QUOTE`, what grpcurl's JSON holds) is refused with the word meant, never read as an unknown word.
_WIRE_NAMED = {(({**_OWNERS, "destination": model.Destination})[fact.rpartition(".")[0]], fact.rpartition(".")[2]):
               words for fact, words in model.VOCABULARIES.items()}


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


class RequestRefused(RequestDataError):
    """A request read whole that the server would refuse (INVALID_ARGUMENT).

    `violations` name every field at fault, as the server's BadRequest does;
    `locations[i]` is where the value of `violations[i]` sits in its document.
    """

    def __init__(self, found: list[FieldViolation], locations: list[tuple]):
        super().__init__(found[0].field, found[0].description, locations[0])
        self.violations = tuple(found)
        self.locations = tuple(locations)
        self.args = ("; ".join(f"{v.field}: {v.description}" for v in self.violations),)


def request_diagnostics(error: RequestDataError, source: Source) -> list[Diagnostic]:
    """What is wrong with a request of `source`, at its place: one diagnostic per field the server would name."""
    if isinstance(error, RequestRefused):
        found = [source.diagnostic(location, "invalid_request", f"{v.description} at `{v.field}`",
                                   help=f"a server answers this request INVALID_ARGUMENT naming `{v.field}`")
                 for v, location in zip(error.violations, error.locations)]
        return sorted(found, key=Diagnostic.sort_key)
    wire = error.location[-1:] == ("wire",)
    return [source.diagnostic(error.location, "bad_request",
                              f"{error.detail} at `{error.path}`" if error.path else error.detail,
                              help="`wire:` is a CheckRequest as grpcurl takes it: camelCase fields, enum names"
                                   if wire else "a request has the fields of the wire contract, in lowercase words")]


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


def request_from_data(data: Mapping, fixtures: Mapping | None = None, *, at: tuple = (),
                      checked: bool = True) -> model.Request:
    """Build a Request; `at` is where `data` sits in its document (for error locations).

    `checked`: refuse (RequestRefused) what the server would refuse.
    """
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
    reading = _Reading(fixtures)
    request = _build(model.Request, data, "", at, reading, inline=True, origins=origins)
    found = reading.problems + violations(request) if checked else []
    if found:
        raise RequestRefused(found, [reading.place(v.field, at) for v in found])
    return request


@dataclass
class _Reading:
    """One request being read: its fixtures, where each field's value sits, what the label maps refused."""

    fixtures: Mapping
    places: dict[str, tuple] = field(default_factory=dict)  # `items[0].id` -> its path in the document
    problems: list[FieldViolation] = field(default_factory=list)

    def place(self, path: str, default: tuple) -> tuple:
        """Where the value of `path` sits, or of its nearest enclosing field (a required field left out has none)."""
        while path and path not in self.places:
            path = _LAST_STEP.sub("", path)
        return self.places.get(path, default)


_LAST_STEP = re.compile(r"(\.[^.\[\]]+|\[\d+\])$")
_LABEL_MAPS = ("default_labels", "label_floors")


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls, vars(model))


def _build(cls: type, value: Any, path: str, at: tuple, reading: _Reading, inline: bool,
           origins: Mapping[str, tuple] | None = None) -> Any:
    if isinstance(value, str) and cls in _FIXTURE_KIND:
        kind = _FIXTURE_KIND[cls]
        found = _fixtures_of(reading.fixtures, kind, path).get(value)
        if found is None:
            raise RequestDataError(path, f"no {kind} fixture named `{value}`", at)
        return _build(cls, found, path, ("fixtures", kind, value), reading, inline=False)
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
        reading.places[where] = location
        kwargs[key] = _convert(hints[key], raw, where, location, reading)
        if cls is model.Adoption and key in _LABEL_MAPS:
            kwargs[key] = label_map(kwargs[key].items(), where, reading.problems)
        meant = _wire_word(_WIRE_NAMED.get((cls, key), ()), kwargs[key])
        if meant is not None:
            raise RequestDataError(where, f"`{kwargs[key]}` is the wire's name: did you mean `{meant}`?", location)
        words = _VOCABULARY.get((cls, key))
        if words is not None and kwargs[key] not in words:
            raise RequestDataError(where, f"`{kwargs[key]}` is not one of " + ", ".join(f"`{w}`" for w in words),
                                   location)
    for required in _REQUIRED_TEXT.get(cls, ()):
        # Left out, a required text is empty, as on the wire: the checks a
        # request must pass (engine/validate.py) then name it as the server does.
        kwargs.setdefault(required, "")
    if cls is model.Label:
        # Read as the server reads a label (convert._label): ` TLP ` `AMBER` is `tlp` `amber`.
        kwargs["scheme"] = scheme_key(kwargs["scheme"])
        kwargs["value"] = label_value(kwargs["scheme"], kwargs["value"])
        kwargs["set_by"] = label_word(kwargs.get("set_by", ""))
    try:
        return cls(**kwargs)
    except TypeError as error:
        raise RequestDataError(path, str(error), at) from None


def _wire_word(words: tuple[str, ...], value: object) -> str | None:
    """The word `value` names as the wire's enum does (`ACTION_QUOTE`: `quote`), if it is one."""
    if not words or not isinstance(value, str) or not value.isupper() or "_" not in value:
        return None
    lowered = value.lower()
    return next((word for word in words if lowered.endswith("_" + word)), None)


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
        elif isinstance(value, float) and not math.isfinite(value):
            # As the server refuses it: NaN compares false with everything, so a deny on it never applies.
            raise RequestDataError(where, f"{value} is not a finite number", at)
    return raw


def _required_text(cls: type) -> tuple[str, ...]:
    hints = _hints(cls)
    return tuple(f.name for f in dataclasses.fields(cls)
                 if hints[f.name] is str and f.default is dataclasses.MISSING
                 and f.default_factory is dataclasses.MISSING)


_REQUIRED_TEXT = {cls: _required_text(cls) for cls in (model.Item, model.Label, model.Consent, model.Adoption)}


def _convert(hint: Any, raw: Any, path: str, at: tuple, reading: _Reading) -> Any:
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if hint is Instant or (origin in (typing.Union, types.UnionType) and Instant in args):
        return None if raw is None else parse_instant(raw, path, at)
    if origin is tuple:
        if not isinstance(raw, list):
            raise RequestDataError(path, "expected a list", at)
        reading.places.update((f"{path}[{i}]", at + (i,)) for i in range(len(raw)))
        return tuple(_convert(args[0], v, f"{path}[{i}]", at + (i,), reading) for i, v in enumerate(raw))
    if dataclasses.is_dataclass(hint):
        return _build(hint, raw, path, at, reading, inline=not isinstance(raw, str))
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
        return _text(raw, path, at)
    return raw
