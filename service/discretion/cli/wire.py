"""A request written as the wire's JSON (what grpcurl and the HTTP face take: `requestedAt`, `ACTION_QUOTE`), read
exactly as a server reads it: protobuf's JSON mapping, then the server's own conversion with its checks.

The author tools are the only part of the core's users that take it: the
suite reader and `explain` are core and carry no protobuf, so the CLI hands
them this reader.
"""

from __future__ import annotations

import re
from typing import Any

from ..engine.instants import SECOND
from ..engine.model import Instant, Request
from ..policy.requests import RequestDataError, RequestRefused

# The server's default `--max-clock-skew`.
SERVER_SKEW = 300 * SECOND


def read_check_request(data: Any, now: Instant, *, max_skew: int | None = SERVER_SKEW,
                       location: tuple = ()) -> Request:
    """The request of `data` (a CheckRequest in protobuf's JSON mapping: its text, or parsed JSON or YAML), decided at `now`
    as a server whose clock reads `now` would decide it; `max_skew` None decides at the request's own
    `requestedAt` (replay, and suites). Raises RequestDataError when it is no CheckRequest, RequestRefused naming
    every field the server would refuse; both placed at `location`."""
    from google.protobuf import json_format

    from ..server import convert
    from ..server._gen.discretion.v1 import policy_pb2

    if not isinstance(data, (str, dict)):
        raise RequestDataError("", "the wire's JSON of a CheckRequest is an object of its fields", location)
    try:
        # The text is parsed by protobuf itself, which refuses a key written twice.
        parse = json_format.Parse if isinstance(data, str) else json_format.ParseDict
        message = parse(data, policy_pb2.CheckRequest())
    except (json_format.ParseError, RecursionError, TypeError, ValueError) as error:
        raise RequestDataError("", f"does not read as a CheckRequest: {error}", location) from None
    try:
        return convert.request_from_proto(message, convert.Clock(now, max_skew))
    except convert.RequestInvalid as error:
        violations = list(error.violations)
        raise RequestRefused(violations, [_place(data, v.field, location) for v in violations]) from None


_STEP = re.compile(r"([A-Za-z0-9_]+)|\[(\d+)\]")


def _place(data: Any, field: str, location: tuple) -> tuple:
    """Where in `data` the value of a violation's `field` (`items[0].posted_at`) is written, as deep as it is
    written (a missing field: its parent): the field in snake_case or in the wire's camelCase."""
    if not isinstance(data, dict):
        return location
    node, place = data, location
    for name, index in _STEP.findall(field):
        if index:
            if not isinstance(node, list) or int(index) >= len(node):
                break
            node, place = node[int(index)], place + (int(index),)
            continue
        camel = re.sub(r"_([a-z0-9])", lambda m: m.group(1).upper(), name)
        key = name if isinstance(node, dict) and name in node else camel
        if not isinstance(node, dict) or key not in node:
            break
        node, place = node[key], place + (key,)
    return place


def read_case(data: Any, now: Instant, location: tuple) -> Request:
    """A suite case's `wire:` (policy/suites.WireReader): decided at its own `requestedAt`, else at the suite's
    fixed instant, so a suite means the same thing on every run; every other check as the server's."""
    return read_check_request(data, now, max_skew=None, location=location)
