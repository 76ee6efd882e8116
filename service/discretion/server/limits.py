"""Size limits on every request, checked on the raw message before it is converted.

A request over a limit is refused with INVALID_ARGUMENT and a field violation
naming the field, the limit and the flag that sets it, before any work scales
with its size: conversion, the roster index, the search of a quote for names.
The message as a whole is bounded earlier, by gRPC itself
(`grpc.max_receive_message_length`, `--max-message-bytes`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from google.protobuf import struct_pb2
from google.protobuf.descriptor import Descriptor, FieldDescriptor

from ..engine.compiled import scheme_key
from ..engine.model import Request
from ._gen.discretion.v1 import policy_pb2 as pb
from .convert import FieldViolation, RequestInvalid

__all__ = ["Limits", "check_batch", "check_batch_strings", "check_request", "check_strings"]


@dataclass(frozen=True, slots=True)
class Limits:
    """The most one request may carry; every field has a `discretion serve` flag of the same name.

    The checks per CheckBatch call are `ServerSettings.max_batch` (`--max-batch`).
    """

    max_items: int = 1000  # items of one check
    max_participants: int = 10_000  # group.participants, and recipients of the destination
    max_listed_people: int = 10_000  # items[i].listed_people, per item
    max_text: int = 100_000  # characters of quoted_text and of each items[i].text
    max_labels: int = 100  # labels, and consents, per item; and an adoption's segments, replaces, labels
    max_struct_depth: int = 16  # nesting of `attributes`
    max_adoptions: int = 100  # group.adoptions
    max_id: int = 256  # characters of an id or a vocabulary word (agreement, segment, label scheme and value)
    max_name: int = 1000  # characters of a name, handle, organization, alias, descriptor or link
    max_names_per_person: int = 32  # handles, aliases, organization aliases of one person
    # characters of every name in one check together: what the name matcher
    # is built from (a 4 MB message of names once built a 246 MiB matcher)
    max_names_total: int = 500_000
    max_context_entries: int = 16  # entries of request_context
    # characters of request_context's keys and values together, printable ASCII only: each decision's log line
    # carries them, and a caller must not be able to make its lines long enough to be dropped
    max_context_chars: int = 1024


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
    _over(problems, where, None, (
        ("group.adoptions", len(request.group.adoptions), limits.max_adoptions, "adoptions", "max-adoptions"),))
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


# ---- the strings --------------------------------------------------------------------------
# Every string a check carries is bounded, by what it is. A name of half a
# million characters is no one's name, and it once took a C extension (the
# name matcher) past the end of its stack; a control character in a name or
# an id is no one's either (format characters such as ZWJ are: scripts and
# emoji need them). Texts are bounded above (`max_text`) and may hold lines.

_IDS = frozenset({"id", "installed_by", "group_id", "agreement", "replaces", "segments", "segment", "scheme",
                  "value", "set_by", "by", "scope", "recipients", "exchange_participants", "conversation",
                  "channel"})
_NAMES = frozenset({"display_name", "organization", "handles", "aliases", "organization_aliases", "community",
                    "name", "descriptor", "link"})
_TEXTS = frozenset({"text", "quoted_text"})
# Repeated fields not counted above, and the limit each is counted against.
_COUNTED = {"handles": "max_names_per_person", "aliases": "max_names_per_person",
            "organization_aliases": "max_names_per_person", "community": "max_participants",
            "exchange_participants": "max_participants", "recipients": "max_participants",
            "replaces": "max_labels", "segments": "max_labels", "default_labels": "max_labels",
            "label_floors": "max_labels", "params": "max_labels", "request_context": "max_context_entries"}
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")  # C0, DEL and C1: U+0085 is a line break to Python
_NOT_PRINTABLE = re.compile(r"[^\x20-\x7e]")
_STRING, _MESSAGE, _MAP = FieldDescriptor.TYPE_STRING, FieldDescriptor.TYPE_MESSAGE, "map"
_plans: dict[str, tuple] = {}


def _plan(descriptor: Descriptor) -> tuple:
    """(field name, shape, repeated) for each string, map and message field a request's message holds, once per type.

    The shape is `_STRING`, `_MAP`, or the message type's descriptor.
    """
    plan = _plans.get(descriptor.full_name)
    if plan is None:
        fields = []
        for field in descriptor.fields:
            if field.type == _STRING:
                fields.append((field.name, _STRING, field.is_repeated))
            elif field.type == _MESSAGE and field.message_type.GetOptions().map_entry:
                fields.append((field.name, _MAP, True))
            elif field.type == _MESSAGE and not field.message_type.full_name.startswith("google.protobuf."):
                fields.append((field.name, field.message_type, field.is_repeated))
        plan = _plans[descriptor.full_name] = tuple(fields)
    return plan


def check_strings(request: pb.CheckRequest, read: Request, limits: Limits) -> None:
    """Raise RequestInvalid naming every string of `request` too long for what it is or holding a control character.

    `read` is the request as converted: its strings are the wire's, and
    reading them there costs a fraction of reading the wire message again.
    """
    problems: list[FieldViolation] = []
    _strings_over(problems, request, read, limits, "")
    if problems:
        raise RequestInvalid(problems)


def check_batch_strings(request: pb.CheckBatchRequest, batch: list[Request], limits: Limits) -> None:
    """`check_strings` for each entry of a batch, naming `checks[i].field`."""
    problems: list[FieldViolation] = []
    for index, (check, read) in enumerate(zip(request.checks, batch, strict=True)):
        _strings_over(problems, check, read, limits, f"checks[{index}].")
    if problems:
        raise RequestInvalid(problems)


def _strings_over(problems: list[FieldViolation], request: pb.CheckRequest, read: Request, limits: Limits,
                  where: str) -> None:
    """Add a violation for each string too long for what it is, or holding a control character, and each list too long.

    Every string is gathered by kind in one pass written out by hand over the
    converted request (a walk of the wire message cost more than converting
    it), then each kind is checked at once: its longest length, one search
    for a control character. Only a request found at fault is walked again,
    on the wire, to name the fields.
    """
    ids, names, counts, crowds = _gather(read)
    context = request.request_context  # the caller's, for the log: not a fact, so not in `read`
    if (max(counts, default=0) > min(limits.max_names_per_person, limits.max_labels)
            or max(crowds, default=0) > limits.max_participants
            or _unfit(ids, limits.max_id) or _unfit(names, limits.max_name)
            or (context and _context_unfit(context, limits))):
        before = len(problems)
        _name_the_fields(problems, request, limits, where)
        if len(problems) > before:
            return
    total = sum(map(len, names))
    if total > limits.max_names_total:
        problems.append(_violation(f"{where}group.participants", limits.max_names_total,
                                   "characters of names, handles and organizations in one check",
                                   "max-names-total", total))


def _context_unfit(context, limits: Limits) -> bool:
    keys, values = "".join(context), "".join(context.values())
    return (len(context) > limits.max_context_entries or len(keys) + len(values) > limits.max_context_chars
            or _NOT_PRINTABLE.search(keys + values) is not None)


def _context(problems: list[FieldViolation], field: str, entries, limits: Limits) -> None:
    """request_context holds the caller's ids for the log, not text: printable ASCII, and little of it."""
    total = sum(len(key) + len(value) for key, value in entries.items())
    if total > limits.max_context_chars:
        problems.append(_violation(field, limits.max_context_chars, "characters of keys and values",
                                   "max-context-chars", total))
        return
    for key, value in sorted(entries.items()):
        odd = _NOT_PRINTABLE.search(key) or _NOT_PRINTABLE.search(value)
        if odd:
            problems.append(FieldViolation(f"{field}[{key[:40]!r}]",
                                           f"a character outside printable ASCII (U+{ord(odd[0]):04X}) has no place "
                                           "in request_context, which holds the caller's ids"))


def _unfit(values: list[str], limit: int) -> bool:
    return bool(values) and (max(map(len, values)) > limit or _CONTROL.search("".join(values)) is not None)


def _people(people, ids: list[str], names: list[str], counts: list[int]) -> None:
    ids.extend([p.id for p in people])
    names.extend([p.display_name for p in people])
    names.extend([p.organization for p in people])
    for p in [p for p in people if p.handles or p.aliases or p.organization_aliases]:
        counts.extend((len(p.handles), len(p.aliases), len(p.organization_aliases)))
        names.extend(p.handles)
        names.extend(p.aliases)
        names.extend(p.organization_aliases)


def _gather(r: Request) -> tuple[list[str], list[str], list[int], list[int]]:
    """(ids, names, lengths of short lists, lengths of lists of people) of every string and list the request carries.

    Kept in step with the proto by tests/server/test_limits.py, which puts
    an oversized string and a control character into every string field the
    proto defines.
    """
    actor, group, destination = r.actor, r.group, r.destination
    ids = [actor.id, actor.installed_by, group.id, destination.channel, destination.group_id]
    names = [actor.display_name, actor.organization, r.attribution.descriptor]
    counts: list[int] = []
    crowds = [len(group.community)]
    _people(group.participants, ids, names, counts)
    names.extend(group.community)
    for a in group.adoptions:
        ids.append(a.agreement)
        if a.replaces or a.segments or a.default_labels or a.label_floors:
            counts.extend((len(a.replaces), len(a.segments), len(a.default_labels), len(a.label_floors)))
            ids.extend(a.replaces)
            ids.extend(a.segments)
            for entries in (a.default_labels, a.label_floors):
                ids.extend(entries)
                names.extend(entries.values())
    authors = []
    for item in r.items:
        ids.append(item.id)
        ids.append(item.conversation)
        names.append(item.link)
        authors.append(item.author)
        if item.listed_people:
            _people(item.listed_people, ids, names, counts)
        for label in item.labels:
            ids.extend((label.scheme, label.value, label.set_by))
            if label.params:
                counts.append(len(label.params))
                ids.extend(label.params)
                names.extend(label.params.values())
        for consent in item.consents:
            ids.extend((consent.by, consent.scope, consent.id))
            if consent.recipients:
                crowds.append(len(consent.recipients))
                ids.extend(consent.recipients)
        ids.extend((item.session.id, item.session.segment))
        if item.exchange_participants:
            crowds.append(len(item.exchange_participants))
            ids.extend(item.exchange_participants)
    for recipient in destination.recipients:
        ids.append(recipient.id)
        names.append(recipient.organization)
    names.extend((destination.service.name, destination.service.organization))
    _people(authors, ids, names, counts)
    return ids, names, counts, crowds


def _name_the_fields(problems: list[FieldViolation], request: pb.CheckRequest, limits: Limits, where: str) -> None:
    pending = [(request, where.removesuffix("."))]
    while pending:
        message, at = pending.pop()
        for name, shape, repeated in _plan(message.DESCRIPTOR):
            value = getattr(message, name)
            field = f"{at}.{name}" if at else name
            if repeated and name in _COUNTED:
                limit = getattr(limits, _COUNTED[name])
                if len(value) > limit:
                    problems.append(_violation(field, limit, "entries", _COUNTED[name].replace("_", "-"), len(value)))
                    continue
            if name == "request_context":
                _context(problems, field, value, limits)
                continue
            if shape not in (_STRING, _MAP):
                if repeated:
                    pending.extend((child, f"{field}[{index}]") for index, child in enumerate(value))
                elif message.HasField(name):
                    pending.append((value, field))
            elif shape == _MAP:
                for key, entry in sorted(value.items()):  # upb's order is its hash table's: a process's own
                    _string(problems, f"{field}[{key[:40]!r}]", key, "id", limits)
                    _string(problems, f"{field}[{key[:40]!r}]", entry, "name", limits)
            elif name not in _TEXTS:
                kind = "id" if name in _IDS else "name"
                if repeated:
                    for index, one in enumerate(value):
                        _string(problems, f"{field}[{index}]", one, kind, limits)
                elif value:
                    if name == "scheme":  # blanks and invisibles in a scheme fold away, as it is read
                        value = scheme_key(value)
                    _string(problems, field, value, kind, limits)


def _string(problems: list[FieldViolation], field: str, value: str, kind: str, limits: Limits) -> None:
    limit = limits.max_id if kind == "id" else limits.max_name
    if len(value) > limit:
        problems.append(_violation(field, limit, "characters", f"max-{kind}", len(value)))
    elif _CONTROL.search(value):
        problems.append(FieldViolation(field, f"a control character (U+{ord(_CONTROL.search(value)[0]):04X}) "
                                              f"has no place in {'an id' if kind == 'id' else 'a name'}"))
