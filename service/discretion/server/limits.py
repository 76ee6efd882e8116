"""Size limits on every request, checked on the raw message before it is converted.

A request over a limit is refused with INVALID_ARGUMENT and a field violation
naming the field, the limit and the flag that sets it, before any work scales
with its size: conversion, the roster index, the search of a quote for names.
The message as a whole is bounded earlier, by gRPC itself
(`grpc.max_receive_message_length`, `--max-message-bytes`).
"""

from __future__ import annotations

from dataclasses import dataclass

from google.protobuf import struct_pb2

from ._gen.discretion.v1 import policy_pb2 as pb
from .convert import FieldViolation, RequestInvalid

__all__ = ["Limits", "check_batch", "check_request"]


@dataclass(frozen=True, slots=True)
class Limits:
    """The most one request may carry; every field has a `discretion serve` flag of the same name.

    The checks per CheckBatch call are `ServerSettings.max_batch` (`--max-batch`).
    """

    max_items: int = 1000  # items of one check
    max_participants: int = 10_000  # group.participants, and recipients of the destination
    max_listed_people: int = 10_000  # items[i].listed_people, per item
    max_text: int = 100_000  # characters of quoted_text and of each items[i].text
    max_labels: int = 100  # labels, and consents, per item
    max_struct_depth: int = 16  # nesting of `attributes`


def check_request(request: pb.CheckRequest, limits: Limits) -> None:
    """Raise RequestInvalid naming every limit `request` exceeds."""
    problems = _exceeded(request, limits, "")
    if problems:
        raise RequestInvalid(problems)


def check_batch(request: pb.CheckBatchRequest, limits: Limits, max_batch: int) -> None:
    """Raise RequestInvalid naming every limit the batch or one of its entries exceeds (`checks[i].field`)."""
    checks = request.checks
    if len(checks) > max_batch:
        # Refused before any entry is looked at: their number is what is too large.
        raise RequestInvalid([_violation("checks", max_batch, "checks per batch", "max-batch", len(checks))])
    problems: list[FieldViolation] = []
    for index, check in enumerate(checks):
        problems.extend(_exceeded(check, limits, f"checks[{index}]."))
    if problems:
        raise RequestInvalid(problems)


def _exceeded(request: pb.CheckRequest, limits: Limits, where: str) -> list[FieldViolation]:
    problems: list[FieldViolation] = []
    items = request.items
    _over(problems, where, None, (
        ("items", len(items), limits.max_items, "items", "max-items"),
        ("group.participants", len(request.group.participants), limits.max_participants, "participants",
         "max-participants"),
        ("destination.recipients", len(request.destination.recipients), limits.max_participants, "recipients",
         "max-participants"),
        ("quoted_text", len(request.quoted_text), limits.max_text, "characters", "max-text"),
    ))
    for index, item in enumerate(items[: limits.max_items]):  # past the limit the call is refused anyway
        _over(problems, where, index, (
            ("text", len(item.text), limits.max_text, "characters", "max-text"),
            ("listed_people", len(item.listed_people), limits.max_listed_people, "listed people",
             "max-listed-people"),
            ("labels", len(item.labels), limits.max_labels, "labels", "max-labels"),
            ("consents", len(item.consents), limits.max_labels, "consents", "max-labels"),
        ))
    if request.HasField("attributes"):
        depth = _depth(request.attributes, limits.max_struct_depth)
        _over(problems, where, None,
              (("attributes", depth, limits.max_struct_depth, "levels of nesting", "max-struct-depth"),))
    return problems


def _over(problems: list[FieldViolation], where: str, item: int | None,
          counts: tuple[tuple[str, int, int, str, str], ...]) -> None:
    """Add a violation for each (field, count, limit, what, flag) over its limit.

    The field's full name is formatted only then: this runs for every check
    of every call, and almost always finds nothing.
    """
    for field, count, limit, what, flag in counts:
        if count > limit:
            at = f"{where}{field}" if item is None else f"{where}items[{item}].{field}"
            problems.append(_violation(at, limit, what, flag, count))


def _violation(field: str, limit: int, what: str, flag: str, got: int) -> FieldViolation:
    return FieldViolation(field, f"at most {limit:,} {what} (limit --{flag}), got {got:,}")


def _depth(struct: struct_pb2.Struct, limit: int) -> int:
    """How deeply `struct` nests (a flat Struct is 1), counting no further than `limit + 1`.

    Iterative, so a hostile depth costs a loop, never the interpreter's stack.
    """
    deepest = 0
    pending: list[tuple[object, int]] = [(struct, 1)]
    while pending:
        value, depth = pending.pop()
        deepest = max(deepest, depth)
        if deepest > limit:
            return deepest
        children = value.fields.values() if isinstance(value, struct_pb2.Struct) else value.values
        for child in children:
            kind = child.WhichOneof("kind")
            if kind == "struct_value":
                pending.append((child.struct_value, depth + 1))
            elif kind == "list_value":
                pending.append((child.list_value, depth + 1))
    return deepest
