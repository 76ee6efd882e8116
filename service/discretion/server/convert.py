"""Wire messages <-> the engine's values, and the checks a request must pass to be understood.

This runs on every call, so it builds the dataclasses field by field (never
MessageToDict over a whole request), looks enums up in tables built at import,
and skips empty repeated fields. Dataclasses are built with positional
arguments in field order, each named in a comment: keywords cost a quarter
more here, and the full round trip in the tests (every field a distinct value)
catches any slip in the order. Field paths for violations are formatted only
where something is wrong, except the short prefix of each repeated element
that holds a timestamp.

A request is either understood whole or refused whole: every violation found
is collected and raised at once as `RequestInvalid`, so a caller fixes all of
them in one round trip. What is refused beyond form: an enum number the proto
does not define, a `requested_at` (or a retraction, a withdrawal) beyond the
clock's skew — and, by the checks the author tools share (engine/validate.py),
a blank or twice-given label scheme, destination facts that contradict their
kind, a service actor's role or organization. Each would otherwise be read as
some value, and a rule testing it passed by.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Iterable

from google.protobuf import struct_pb2
from google.protobuf.descriptor import EnumDescriptor
from google.protobuf.timestamp_pb2 import Timestamp

from ..engine import model
from ..engine.compiled import AgreementInfo, VersionInfo, scheme_key
from ..engine.instants import FIRST_INSTANT, LAST_INSTANT, SECOND, to_iso
from ..engine.validate import (check_actor, check_destination, check_group, check_items, label_map, label_value,
                               label_word)
from ..errors import Diagnostic, FieldViolation, RequestInvalid
from ..social.quote_requests import ACCEPT, PENDING, REJECT, Detached, IssuedQuote, QuoteAnswer, uri
from ..social.quotes import (AUTOMATIC, MANUAL, NOBODY, QuotePolicy, can_quote, current_user, postgate,
                             quote_approval_policy)
from ._gen.discretion.v1 import policy_pb2 as pb

if TYPE_CHECKING:  # the converter does not load the store
    from ..store import PolicyStatus

__all__ = [
    "Clock",
    "FieldViolation",
    "RequestInvalid",
    "agreements_to_proto",
    "policy_status_to_proto",
    "request_from_proto",
    "requests_from_batch",
    "response_to_proto",
]


# What can be wrong with a request, FieldViolation and RequestInvalid, is the
# core's (errors.py): the author tools name the same fields. Kept importable
# from here, where the server's modules and tests have always found them.


# ---- enums ------------------------------------------------------------------


class _Enum:
    """One wire enum as domain words: DESTINATION_KIND_AI_TOOL -> `ai_tool`.

    The zero value reads as the proto comment says (e.g. ITEM_KIND_UNSPECIFIED
    is a message; an unspecified action is denied by name). A number the proto
    does not define (a newer client's, or a forged one) is no value at all:
    reading it as any word would let the rules that test the field pass it by,
    so the request is refused naming the field.
    """

    __slots__ = ("descriptor", "words")

    def __init__(self, enum: EnumDescriptor, unspecified: str):
        prefix = enum.values_by_number[0].name.removesuffix("UNSPECIFIED")
        self.descriptor = enum
        self.words = {value.number: unspecified if value.number == 0 else value.name.removeprefix(prefix).lower()
                      for value in enum.values}

    def read(self, number: int, field: str, problems: list[FieldViolation]) -> str:
        word = self.words.get(number)
        if word is None:
            names = ", ".join(f"{v.name} ({v.number})" for v in self.descriptor.values)
            problems.append(FieldViolation(field, f"{number} is not a defined {self.descriptor.name}; "
                                                  f"send one of {names}"))
            return ""
        return word


def _numbers_by_word(enum: EnumDescriptor) -> dict[str, int]:
    """Domain word -> wire number, for the answer; the zero value is never sent."""
    prefix = enum.values_by_number[0].name.removesuffix("UNSPECIFIED")
    return {value.name.removeprefix(prefix).lower(): value.number for value in enum.values if value.number}


# The engine denies an unspecified action or destination kind, naming the
# field: that is a decision, not a malformed request.
_ACTIONS = _Enum(pb.Action.DESCRIPTOR, "")
_DESTINATION_KINDS = _Enum(pb.DestinationKind.DESCRIPTOR, "")
_ITEM_KINDS = _Enum(pb.ItemKind.DESCRIPTOR, "message")
_FORMATS = _Enum(pb.Format.DESCRIPTOR, "text")
_DERIVATIONS = _Enum(pb.Derivation.DESCRIPTOR, "verbatim")
_ROLES = _Enum(pb.Role.DESCRIPTOR, "member")
_ACTOR_KINDS = _Enum(pb.ActorKind.DESCRIPTOR, "person")
_PRIVACIES = _Enum(pb.Privacy.DESCRIPTOR, "private")
_VISIBILITIES = _Enum(pb.Visibility.DESCRIPTOR, "visible")
_LEGAL_BASES = _Enum(pb.LegalBasis.DESCRIPTOR, "none")
_USES = _Enum(pb.Use.DESCRIPTOR, "")
_SPAN_UNITS = _Enum(pb.SpanUnit.DESCRIPTOR, "code_point")

# An answer word the wire cannot carry is an engine bug: the KeyError surfaces
# as INTERNAL rather than as a silently wrong decision.
_DECISIONS = _numbers_by_word(pb.Decision.DESCRIPTOR)
_EFFECTS = _numbers_by_word(pb.Effect.DESCRIPTOR)
_OUTCOMES = _numbers_by_word(pb.ItemOutcome.DESCRIPTOR)


# ---- timestamps -------------------------------------------------------------

# The range google.protobuf.Timestamp defines (engine/instants.py).
_MIN_SECONDS = FIRST_INSTANT // SECOND
_MAX_SECONDS = LAST_INSTANT // SECOND
_MAX_NANOS = SECOND - 1


def _instant(parent: Any, name: str, where: str, problems: list[FieldViolation]) -> model.Instant | None:
    """The instant of `parent.name` (nanoseconds, exact), None when unset; a malformed one is a violation."""
    if not parent.HasField(name):
        return None
    stamp = getattr(parent, name)
    seconds, nanos = stamp.seconds, stamp.nanos
    if _MIN_SECONDS <= seconds <= _MAX_SECONDS and 0 <= nanos <= _MAX_NANOS:
        return model.Instant(seconds * SECOND + nanos)
    problems.append(
        FieldViolation(
            f"{where}.{name}" if where else name,
            f"malformed timestamp (seconds={seconds}, nanos={nanos}): seconds must fall within "
            "0001-01-01..9999-12-31 and nanos within 0..999999999",
        )
    )
    return None


def _timestamp(instant: model.Instant | None) -> Timestamp | None:
    """The instant as a Timestamp, always one a reader can parse.

    An instant past the range (an embargo `until` of 9999-12-31T23:00-05:00,
    which is in year 10000 in UTC) is written as the range's last instant:
    a hold lasts as long as anything can read, and no client fails on it.
    """
    if instant is None:
        return None
    instant = min(max(instant, FIRST_INSTANT), LAST_INSTANT)
    seconds, nanos = divmod(instant, SECOND)  # floor: nanos count forward, also before 1970
    return Timestamp(seconds=seconds, nanos=nanos)


def _clock_reading(seconds: float | None) -> Timestamp | None:
    """A reading of the wall clock (`time.time()`), which the store keeps as float seconds."""
    if seconds is None:
        return None
    # Only the fraction is scaled: a float of seconds times 1e9 is some hundred nanoseconds off.
    whole = math.floor(seconds)
    return _timestamp(model.Instant(whole * SECOND + round((seconds - whole) * SECOND)))


# ---- the instant a call is decided at -----------------------------------------


@dataclass(frozen=True, slots=True)
class Clock:
    """The server's reading of its clock for one call, and how far a caller's `requested_at` may stray from it.

    A caller's clock is a fact the server cannot check: backdated, a request
    would dodge a retraction, a withdrawn consent or a tightening; forward-
    dated, it would lift an embargo. So the server decides at its own reading,
    and a `requested_at` further than `max_skew` from it is refused (it says
    the caller's clock, or its intent, is wrong). `max_skew` None is the
    what-if and replay deployment: `requested_at` is the instant decided at.
    """

    now: model.Instant
    max_skew: int | None  # nanoseconds


def _decided_at(stated: model.Instant | None, clock: Clock | None,
                problems: list[FieldViolation]) -> model.Instant | None:
    if clock is None:
        return stated  # the engine's own callers: as of what they say
    if clock.max_skew is None:
        return clock.now if stated is None else stated
    if stated is not None and abs(stated - clock.now) > clock.max_skew:
        off = (stated - clock.now) / SECOND
        problems.append(FieldViolation(
            "requested_at",
            f"{to_iso(stated)} is {abs(off):.0f} s {'ahead of' if off > 0 else 'behind'} the server's clock "
            f"({to_iso(clock.now)}), more than the {clock.max_skew / SECOND:g} s it allows; omit requested_at, "
            "or fix the clock that set it"))
    return clock.now


# ---- CheckRequest -> Request ------------------------------------------------


def request_from_proto(message: pb.CheckRequest, clock: Clock | None = None) -> model.Request:
    """The facts of one check; raises RequestInvalid naming every field at fault.

    With a `clock`, the request's `requested_at` is the instant the server
    decides at (see Clock); without one, it stays as the caller gave it.
    """
    problems: list[FieldViolation] = []
    request = _request(message, clock, problems)
    if problems:
        raise RequestInvalid(problems)
    return request


def requests_from_batch(message: pb.CheckBatchRequest, max_batch: int,
                        clock: Clock | None = None) -> list[model.Request]:
    """The facts of every check of a batch, in order; violations are named `checks[i].field`.

    One entry that cannot be understood refuses the whole batch, so a caller
    never acts on a partly understood one. Every entry is read by one clock.
    """
    checks = message.checks
    if len(checks) > max_batch:
        raise RequestInvalid(
            [FieldViolation("checks", f"at most {max_batch} checks per batch, got {len(checks)}; split the batch")]
        )
    problems: list[FieldViolation] = []
    requests = []
    for index, check in enumerate(checks):
        found: list[FieldViolation] = []
        requests.append(_request(check, clock, found))
        problems.extend(FieldViolation(f"checks[{index}].{v.field}", v.description) for v in found)
    if problems:
        raise RequestInvalid(problems)
    return requests


def _strings(repeated: Iterable[str]) -> tuple[str, ...]:
    # Most repeated fields are empty; tuple() of an empty wire container costs
    # more than the rest of the field's conversion.
    return tuple(repeated) if repeated else ()


# What an absent sub-message converts to, built once: most requests leave
# these out, and nothing downstream changes the model it is given.
_NO_ATTRIBUTION = model.Attribution()
_NO_PURPOSE = model.Purpose()
_NO_SESSION = model.Session()
_NO_SERVICE = model.Service()


def _request(message: pb.CheckRequest, clock: Clock | None, problems: list[FieldViolation]) -> model.Request:
    request = _facts(message, clock, problems)
    check_destination(request, problems)
    if clock is not None and clock.max_skew is not None:
        _no_events_ahead(request, clock.now + clock.max_skew, problems)
        request = _ends_ahead_as_past(request, clock.now, clock.now + clock.max_skew)
    return request


def _no_events_ahead(request: model.Request, limit: model.Instant, problems: list[FieldViolation]) -> None:
    """A retraction or a withdrawal is something that happened: one stamped beyond the skew ahead did not, yet.

    Read as "not yet", it would let pass what its author took back; no
    platform schedules a retraction, so the stamp is a wrong clock.
    """
    for index, item in enumerate(request.items):
        if item.retracted_at is not None and item.retracted_at > limit:
            problems.append(FieldViolation(f"items[{index}].retracted_at", _ahead(item.retracted_at, limit)))
        for number, consent in enumerate(item.consents):
            if consent.withdrawn_at is not None and consent.withdrawn_at > limit:
                problems.append(FieldViolation(f"items[{index}].consents[{number}].withdrawn_at",
                                               _ahead(consent.withdrawn_at, limit)))


def _ahead(instant: model.Instant, limit: model.Instant) -> str:
    return (f"{to_iso(instant)} is ahead of the server's clock by more than the skew it allows (past "
            f"{to_iso(limit)}); a retraction or a withdrawal has happened by the time it is sent")


def _ends_ahead_as_past(request: model.Request, now: model.Instant, limit: model.Instant) -> model.Request:
    """An end stamped ahead of the server's clock, by no more than the skew, reads as already past.

    The caller's clock may be that far ahead: in its world a retraction, a
    withdrawn consent, new terms or a group's going public stamped a minute
    from now have happened. Read at the server's clock they would not have,
    and what they end would pass. Only ends move: a grant or a post stamped
    ahead stays ahead (not yet granted; of unknown date), which is stricter.
    """

    def ahead(instant: model.Instant | None) -> bool:
        return instant is not None and now < instant <= limit

    items = request.items
    if any(ahead(i.retracted_at) or any(ahead(c.withdrawn_at) for c in i.consents) for i in items):
        items = tuple(replace(
            item,
            retracted_at=now if ahead(item.retracted_at) else item.retracted_at,
            consents=tuple(replace(c, withdrawn_at=now) if ahead(c.withdrawn_at) else c for c in item.consents),
        ) for item in items)
    group = request.group
    if ahead(group.converted_at) or any(ahead(a.effective_from) or ahead(a.disclosed_at) for a in group.adoptions):
        group = replace(
            group,
            converted_at=now if ahead(group.converted_at) else group.converted_at,
            adoptions=tuple(replace(
                a,
                effective_from=now if ahead(a.effective_from) else a.effective_from,
                disclosed_at=now if ahead(a.disclosed_at) else a.disclosed_at,
            ) for a in group.adoptions),
        )
    if items is request.items and group is request.group:
        return request
    return replace(request, items=items, group=group)


def _facts(message: pb.CheckRequest, clock: Clock | None, problems: list[FieldViolation]) -> model.Request:
    return model.Request(
        _ACTIONS.read(message.action, "action", problems),  # action
        _actor(message.actor, problems),  # actor
        _group(message.group, problems),  # group
        _items(message.items, problems),  # items
        _destination(message.destination, problems),  # destination
        _decided_at(_instant(message, "requested_at", "", problems), clock, problems),  # requested_at
        _attribution(message.attribution) if message.HasField("attribution") else _NO_ATTRIBUTION,  # attribution
        _FORMATS.read(message.format, "format", problems),  # format
        _DERIVATIONS.read(message.derived, "derived", problems),  # derived
        message.quoted_text,  # quoted_text
        _purpose(message.purpose, problems) if message.HasField("purpose") else _NO_PURPOSE,  # purpose
        _struct(message.attributes, "attributes", problems) if message.HasField("attributes") else {},  # attributes
        _SPAN_UNITS.read(message.span_unit, "span_unit", problems),  # span_unit
    )


def _actor(actor: pb.Actor, problems: list[FieldViolation]) -> model.Actor:
    read = model.Actor(
        actor.id,  # id
        actor.display_name,  # display_name
        actor.organization,  # organization
        _ROLES.read(actor.role, "actor.role", problems),  # role
        actor.member,  # member
        _instant(actor, "joined_at", "actor", problems),  # joined_at
        _ACTOR_KINDS.read(actor.kind, "actor.kind", problems),  # kind
        actor.installed_by,  # installed_by
    )
    check_actor(read, problems)
    return read


def _person(person: pb.Person) -> model.Person:
    return model.Person(
        person.id,  # id
        person.display_name,  # display_name
        person.organization,  # organization
        _strings(person.handles),  # handles
        person.is_minor,  # is_minor
        _strings(person.aliases),  # aliases
        _strings(person.organization_aliases),  # organization_aliases
    )


def _group(group: pb.Group, problems: list[FieldViolation]) -> model.Group:
    read = model.Group(
        group.id,  # id
        _PRIVACIES.read(group.privacy, "group.privacy", problems),  # privacy
        _VISIBILITIES.read(group.visibility, "group.visibility", problems),  # visibility
        _adoptions(group.adoptions, problems) if group.adoptions else (),  # adoptions
        tuple([_person(p) for p in group.participants]) if group.participants else (),  # participants
        _strings(group.community),  # community
        _instant(group, "converted_at", "group", problems),  # converted_at
    )
    check_group(read, problems)
    return read


def _adoptions(adoptions: Iterable[pb.Adoption], problems: list[FieldViolation]) -> tuple[model.Adoption, ...]:
    return tuple([_adoption(a, f"group.adoptions[{i}]", problems) for i, a in enumerate(adoptions)])


def _adoption(adoption: pb.Adoption, where: str, problems: list[FieldViolation]) -> model.Adoption:
    return model.Adoption(
        adoption.agreement,  # agreement
        adoption.version,  # version
        _instant(adoption, "effective_from", where, problems),  # effective_from
        _instant(adoption, "disclosed_at", where, problems),  # disclosed_at
        _strings(adoption.replaces),  # replaces
        _strings(adoption.segments),  # segments
        label_map(adoption.default_labels.items(), f"{where}.default_labels", problems)
        if adoption.default_labels else {},  # default_labels
        label_map(adoption.label_floors.items(), f"{where}.label_floors", problems)
        if adoption.label_floors else {},  # label_floors
    )


def _items(items: Iterable[pb.Item], problems: list[FieldViolation]) -> tuple[model.Item, ...]:
    read = tuple([_item(item, f"items[{index}]", problems) for index, item in enumerate(items)])
    check_items(read, problems)
    return read


def _item(item: pb.Item, where: str, problems: list[FieldViolation]) -> model.Item:
    session = item.session
    return model.Item(
        item.id,  # id
        _person(item.author),  # author
        _instant(item, "posted_at", where, problems),  # posted_at
        _instant(item, "retracted_at", where, problems),  # retracted_at
        _labels(item.labels, where, problems) if item.labels else (),  # labels
        _consents(item.consents, where, problems) if item.consents else (),  # consents
        item.text,  # text
        _ITEM_KINDS.read(item.kind, f"{where}.kind", problems),  # kind
        tuple([_person(p) for p in item.listed_people]) if item.listed_people else (),  # listed_people
        model.Session(session.id, session.segment, session.speaker_count)
        if item.HasField("session") else _NO_SESSION,  # session
        _strings(item.exchange_participants),  # exchange_participants
        item.conversation,  # conversation
        item.link,  # link
    )


def _labels(labels: Iterable[pb.Label], where: str, problems: list[FieldViolation]) -> tuple[model.Label, ...]:
    return tuple([_label(label, f"{where}.labels[{i}]", problems) for i, label in enumerate(labels)])


def _label(label: pb.Label, where: str, problems: list[FieldViolation]) -> model.Label:
    # Labels are matched trimmed and without case (` TLP ` `AMBER` is `tlp` `amber`); a blank
    # scheme is refused by check_items.
    scheme = scheme_key(label.scheme)
    return model.Label(
        scheme,  # scheme
        label_value(scheme, label.value),  # value
        label_word(label.set_by),  # set_by
        _instant(label, "set_at", where, problems),  # set_at
        dict(label.params) if label.params else {},  # params
    )


def _consents(consents: Iterable[pb.Consent], where: str, problems: list[FieldViolation]) -> tuple[model.Consent, ...]:
    return tuple([_consent(c, f"{where}.consents[{i}]", problems) for i, c in enumerate(consents)])


def _consent(consent: pb.Consent, where: str, problems: list[FieldViolation]) -> model.Consent:
    return model.Consent(
        consent.by,  # by
        consent.scope,  # scope
        _strings(consent.recipients),  # recipients
        _instant(consent, "granted_at", where, problems),  # granted_at
        _instant(consent, "withdrawn_at", where, problems),  # withdrawn_at
        consent.id,  # id
    )


def _destination(destination: pb.Destination, problems: list[FieldViolation]) -> model.Destination:
    service = destination.service
    return model.Destination(
        _DESTINATION_KINDS.read(destination.kind, "destination.kind", problems),  # kind
        destination.channel,  # channel
        _recipients(destination.recipients) if destination.recipients else (),  # recipients
        destination.group_id,  # group_id
        destination.publicly_accessible,  # publicly_accessible
        model.Service(
            service.name,  # name
            service.organization,  # organization
            # `optional` on the wire: unset stays None, "not said" (fail closed).
            service.new_controller if service.HasField("new_controller") else None,  # new_controller
            service.may_train if service.HasField("may_train") else None,  # may_train
            service.retains if service.HasField("retains") else None,  # retains
        ) if destination.HasField("service") else _NO_SERVICE,  # service
    )


def _recipients(recipients: Iterable[pb.Recipient]) -> tuple[model.Recipient, ...]:
    return tuple([model.Recipient(r.id, r.organization) for r in recipients])


def _attribution(attribution: pb.Attribution) -> model.Attribution:
    return model.Attribution(
        attribution.author_identity,  # author_identity
        attribution.affiliation,  # affiliation
        attribution.descriptor,  # descriptor
        attribution.link,  # link
    )


def _purpose(purpose: pb.Purpose, problems: list[FieldViolation]) -> model.Purpose:
    return model.Purpose(
        purpose.need_to_know,  # need_to_know
        _LEGAL_BASES.read(purpose.legal_basis, "purpose.legal_basis", problems),  # legal_basis
        purpose.notification_prohibited,  # notification_prohibited
        _USES.read(purpose.use, "purpose.use", problems),  # use
    )


def _struct(struct: struct_pb2.Struct, field: str, problems: list[FieldViolation]) -> dict[str, Any]:
    return {key: _plain(value, f"{field}.{key}", problems) for key, value in struct.fields.items()}


def _plain(value: struct_pb2.Value, field: str, problems: list[FieldViolation]) -> Any:
    """A Struct value as the plain Python value a YAML rule would have written."""
    kind = value.WhichOneof("kind")
    if kind == "string_value":
        return value.string_value
    if kind == "number_value":
        number = value.number_value
        if not math.isfinite(number):
            # NaN compares false with everything: `attributes.x: {ge: 5}` would never
            # hold, and a deny on it would never apply. JSON cannot say it; binary can.
            problems.append(FieldViolation(field, f"{number} is not a finite number"))
            return None
        # JSON has one number type; 3 should compare and print as the 3 a rule wrote.
        return int(number) if number.is_integer() and abs(number) < 2**53 else number
    if kind == "bool_value":
        return value.bool_value
    if kind == "struct_value":
        return _struct(value.struct_value, field, problems)
    if kind == "list_value":
        return [_plain(v, f"{field}[{i}]", problems) for i, v in enumerate(value.list_value.values)]
    return None  # null_value, or a Value with nothing set


# ---- Request -> CheckRequest (the inverse, for tools and tests) ---------------


def request_to_proto(request: model.Request) -> pb.CheckRequest:
    """The wire message `request_from_proto` reads back as `request` (without a clock).

    For the tools and tests that send a suite's request as bytes: a word no
    wire enum carries raises ValueError (the wire could not say it); a
    domain word the zero value also reads as is sent by its own number.
    """
    r = request
    message = pb.CheckRequest(
        action=_number(_ACTIONS, r.action, "action"),
        actor=_actor_to_proto(r.actor),
        group=_group_to_proto(r.group),
        items=[_item_to_proto(item) for item in r.items],
        destination=_destination_to_proto(r.destination),
        format=_number(_FORMATS, r.format, "format"),
        derived=_number(_DERIVATIONS, r.derived, "derived"),
        quoted_text=r.quoted_text,
        span_unit=_number(_SPAN_UNITS, r.span_unit, "span_unit"),
    )
    _set_instant(message, "requested_at", r.requested_at)
    if r.attribution != _NO_ATTRIBUTION:
        a = r.attribution
        message.attribution.CopyFrom(pb.Attribution(author_identity=a.author_identity, affiliation=a.affiliation,
                                                    descriptor=a.descriptor, link=a.link))
    if r.purpose != _NO_PURPOSE:
        p = r.purpose
        message.purpose.CopyFrom(pb.Purpose(
            need_to_know=p.need_to_know, notification_prohibited=p.notification_prohibited,
            legal_basis=_number(_LEGAL_BASES, p.legal_basis, "purpose.legal_basis"),
            use=_number(_USES, p.use, "purpose.use")))
    if r.attributes:
        message.attributes.update(r.attributes)
    return message


def _number(enum: _Enum, word: str, field: str) -> int:
    numbers = [number for number, said in enum.words.items() if said == word]
    if not numbers:
        raise ValueError(f"`{word}` is no {enum.descriptor.name} the wire carries ({field})")
    return max(numbers)  # the value of its own, not the zero value that reads as it


def _set_instant(parent: Any, name: str, instant: model.Instant | None) -> None:
    if instant is not None:
        seconds, nanos = divmod(instant, SECOND)
        getattr(parent, name).CopyFrom(Timestamp(seconds=seconds, nanos=nanos))


def _person_to_proto(person: model.Person) -> pb.Person:
    return pb.Person(id=person.id, display_name=person.display_name, organization=person.organization,
                     handles=person.handles, is_minor=person.is_minor, aliases=person.aliases,
                     organization_aliases=person.organization_aliases)


def _actor_to_proto(actor: model.Actor) -> pb.Actor:
    message = pb.Actor(id=actor.id, display_name=actor.display_name, organization=actor.organization,
                       role=_number(_ROLES, actor.role, "actor.role"), member=actor.member,
                       kind=_number(_ACTOR_KINDS, actor.kind, "actor.kind"), installed_by=actor.installed_by)
    _set_instant(message, "joined_at", actor.joined_at)
    return message


def _group_to_proto(group: model.Group) -> pb.Group:
    message = pb.Group(id=group.id, privacy=_number(_PRIVACIES, group.privacy, "group.privacy"),
                       visibility=_number(_VISIBILITIES, group.visibility, "group.visibility"),
                       participants=[_person_to_proto(p) for p in group.participants], community=group.community)
    for a in group.adoptions:
        adoption = message.adoptions.add(agreement=a.agreement, version=a.version, replaces=a.replaces,
                                         segments=a.segments, default_labels=a.default_labels,
                                         label_floors=a.label_floors)
        _set_instant(adoption, "effective_from", a.effective_from)
        _set_instant(adoption, "disclosed_at", a.disclosed_at)
    _set_instant(message, "converted_at", group.converted_at)
    return message


def _item_to_proto(item: model.Item) -> pb.Item:
    message = pb.Item(id=item.id, author=_person_to_proto(item.author), text=item.text,
                      kind=_number(_ITEM_KINDS, item.kind, "items.kind"),
                      listed_people=[_person_to_proto(p) for p in item.listed_people],
                      exchange_participants=item.exchange_participants, conversation=item.conversation,
                      link=item.link)
    _set_instant(message, "posted_at", item.posted_at)
    _set_instant(message, "retracted_at", item.retracted_at)
    for label in item.labels:
        _set_instant(message.labels.add(scheme=label.scheme, value=label.value, set_by=label.set_by,
                                        params=label.params), "set_at", label.set_at)
    for consent in item.consents:
        added = message.consents.add(by=consent.by, scope=consent.scope, recipients=consent.recipients, id=consent.id)
        _set_instant(added, "granted_at", consent.granted_at)
        _set_instant(added, "withdrawn_at", consent.withdrawn_at)
    if item.session != _NO_SESSION:
        s = item.session
        message.session.CopyFrom(pb.Session(id=s.id, segment=s.segment, speaker_count=s.speaker_count))
    return message


def _destination_to_proto(destination: model.Destination) -> pb.Destination:
    message = pb.Destination(kind=_number(_DESTINATION_KINDS, destination.kind, "destination.kind"),
                             channel=destination.channel, group_id=destination.group_id,
                             publicly_accessible=destination.publicly_accessible,
                             recipients=[pb.Recipient(id=r.id, organization=r.organization)
                                         for r in destination.recipients])
    if destination.service != _NO_SERVICE:
        s = destination.service
        service = pb.Service(name=s.name, organization=s.organization)
        for name in ("new_controller", "may_train", "retains"):
            if getattr(s, name) is not None:
                setattr(service, name, getattr(s, name))
        message.service.CopyFrom(service)
    return message


# ---- Decision -> CheckResponse ----------------------------------------------


def response_to_proto(decision: model.Decision, *, explain: bool,
                      into: pb.CheckResponse | None = None) -> pb.CheckResponse:
    """The wire answer, written into `into` if given; the explanation only when the caller asked for it.

    A batch passes `into=response.results.add()`: filled in place, an answer
    is not built and then copied into the batch (which costs twice as much).
    """
    message = pb.CheckResponse() if into is None else into
    message.decision = _DECISIONS[decision.decision]
    if decision.obligations:
        message.obligations.extend([_obligation(o) for o in decision.obligations])
    items = message.items
    for result in decision.items:
        items.add(item_id=result.item_id, outcome=_OUTCOMES[result.outcome], decision=_DECISIONS[result.decision],
                  governed_by=result.governed_by)
    findings = message.findings
    for finding in decision.findings:
        findings.add(agreement=finding.agreement, version=finding.version, rule=finding.rule,
                     item_id=finding.item_id, effect=_EFFECTS[finding.effect], reason_code=finding.reason_code,
                     message=finding.message)
    message.reason = decision.reason
    message.policy_revision = decision.policy_revision
    if explain and decision.explanation:
        message.explanation.extend(decision.explanation)
    return message


def _obligation(obligation: model.Obligation) -> pb.Obligation:
    return pb.Obligation(
        type=obligation.type,
        item_ids=obligation.item_ids,
        person_ids=obligation.person_ids,
        spans=[pb.Span(start=s.start, end=s.end, reveals=s.reveals, field=s.field, item_id=s.item_id)
               for s in obligation.spans],
        names=obligation.names,
        scope=obligation.scope,
        until=_timestamp(obligation.until),
        label=obligation.label,
        notice=obligation.notice,
        descriptor=obligation.descriptor,
        link=obligation.link,
    )


# ---- AgreementInfo -> ListAgreementsResponse --------------------------------


def agreements_to_proto(agreements: Iterable[AgreementInfo], revision: str) -> pb.ListAgreementsResponse:
    return pb.ListAgreementsResponse(
        agreements=[_agreement(a) for a in agreements],
        policy_revision=revision,
    )


def _agreement(agreement: AgreementInfo) -> pb.AgreementInfo:
    return pb.AgreementInfo(
        id=agreement.id,
        version=agreement.version,
        title=agreement.title,
        summary=agreement.summary,
        source=agreement.source,
        versions=[_version(v) for v in agreement.versions],
        platform_wide=agreement.platform_wide,
    )


def _version(version: VersionInfo) -> pb.AgreementVersion:
    return pb.AgreementVersion(
        version=version.version,
        effective_from=_timestamp(version.effective_from),
        disclosed_at=_timestamp(version.disclosed_at),
    )


# ---- PolicyStatus -> GetPolicyStatusResponse ----------------------------------


def policy_status_to_proto(status: PolicyStatus) -> pb.GetPolicyStatusResponse:
    return pb.GetPolicyStatusResponse(
        policy_revision=status.revision,
        loaded_at=_clock_reading(status.loaded_at),
        last_attempt_at=_clock_reading(status.last_attempt_at),
        last_error=[_diagnostic(d) for d in status.last_error],
    )


def _diagnostic(diagnostic: Diagnostic) -> pb.Diagnostic:
    return pb.Diagnostic(
        code=diagnostic.code,
        severity=diagnostic.severity,
        message=diagnostic.message,
        file=diagnostic.file,
        line=diagnostic.line,
        column=diagnostic.column,
        rule=diagnostic.rule,
        help=diagnostic.help,
    )


# ---- GetInteractionPolicy ------------------------------------------------------------


def quote_question(message: pb.GetInteractionPolicyRequest | pb.AnswerQuoteRequestRequest) -> pb.CheckRequest:
    """The CheckRequest a native quote of the item puts (social.quotes.native_quote), for the limits and the
    conversion a Check gets: its fields are the question's own, so what it refuses is what the question said."""
    check = pb.CheckRequest(action=pb.ACTION_QUOTE, group=message.group, items=[message.item],
                            actor=pb.Actor(id="quote-request", member=True),
                            destination=pb.Destination(kind=pb.DESTINATION_KIND_PUBLIC),
                            request_context=message.request_context)
    if message.HasField("requested_at"):
        check.requested_at.CopyFrom(message.requested_at)
    return check


def interaction_question_from_proto(message: pb.GetInteractionPolicyRequest | pb.AnswerQuoteRequestRequest,
                                    clock: Clock | None = None) -> model.Request:
    """The question as the Check `quote_question` writes it, converted; raises RequestInvalid naming every field
    at fault as the caller wrote it (`item.labels[0]`, not a Check's `items[0]`)."""
    problems: list[FieldViolation] = []
    if not message.group.id:
        problems.append(FieldViolation("group.id", "required: the group the item was posted in"))
    if not message.item.id:
        problems.append(FieldViolation("item.id", "required: the post whose quotes are asked about"))
    elif not message.item.author.id:
        problems.append(FieldViolation("item.author.id", "required: the author, who may always quote their post"))
    if problems:
        raise RequestInvalid(problems)
    found: list[FieldViolation] = []
    request = _request(quote_question(message), clock, found)
    if found:
        raise as_question(RequestInvalid(found))
    return request


def as_question(refused: RequestInvalid) -> RequestInvalid:
    """A refusal of the Check a question was written as (its limits, its strings), naming the question's fields."""
    return RequestInvalid([FieldViolation(re.sub(r"^items\[0\]", "item", v.field), v.description)
                           for v in refused.violations])


_APPROVALS = {AUTOMATIC: pb.QUOTE_APPROVAL_AUTOMATIC, MANUAL: pb.QUOTE_APPROVAL_MANUAL, NOBODY: pb.QUOTE_APPROVAL_NOBODY}


def interaction_policy_to_proto(quotes: QuotePolicy, message: pb.GetInteractionPolicyRequest, item: model.Item,
                                at: model.Instant) -> pb.GetInteractionPolicyResponse:
    """Each platform's control, as `quotes` says it, and the decisions it rests on."""
    response = pb.GetInteractionPolicyResponse(
        approval=_APPROVALS[quotes.approval], consent_scope=quotes.consent_scope,
        quote=response_to_proto(quotes.decision, explain=False),
        quote_approval_policy=quote_approval_policy(quotes),
        current_user=current_user(quotes, message.quoter.id, item.author.id))
    if quotes.ask_again_at is not None:
        response.ask_again_at.CopyFrom(_timestamp(quotes.ask_again_at))
    if quotes.text_share is not None:
        response.text_share.CopyFrom(response_to_proto(quotes.text_share, explain=False))
    lists = can_quote(quotes, message.author_uri)
    response.can_quote.automatic_approval.extend(u for u in lists["automaticApproval"] if u)
    response.can_quote.manual_approval.extend(u for u in lists["manualApproval"] if u)
    response.postgate.update(postgate(quotes, message.post_uri, at))
    return response


_ANSWERS = {ACCEPT: pb.QUOTE_ANSWER_ACCEPT, REJECT: pb.QUOTE_ANSWER_REJECT, PENDING: pb.QUOTE_ANSWER_PENDING}


def quote_request_fields(message: pb.AnswerQuoteRequestRequest) -> list[FieldViolation]:
    """Each URI an answer cannot be written without, missing or not an http(s) URI."""
    given = {"authorization_base_uri": message.authorization_base_uri, "author_uri": message.author_uri,
             "item.link": message.item.link}
    why = {"authorization_base_uri": "where the platform publishes QuoteAuthorizations",
           "author_uri": "the quoted author's ActivityPub actor",
           "item.link": "the quoted post's URI, which the request's `object` must be"}
    missing = [FieldViolation(name, f"required: {why[name]}, an http(s) URI with a host")
               for name, value in given.items() if not uri(value)]
    if len(message.authorization_base_uri) > _MAX_BASE_URI:  # the ids written under it stay within what is read
        missing.append(FieldViolation("authorization_base_uri", f"at most {_MAX_BASE_URI} characters"))
    return missing


_MAX_BASE_URI = 1000


def quote_answer_to_proto(answered: QuoteAnswer) -> pb.AnswerQuoteRequestResponse:
    response = pb.AnswerQuoteRequestResponse(answer=_ANSWERS[answered.answer], consent_scope=answered.consent_scope,
                                             reason=answered.why)
    if answered.activity is not None:
        response.activity.update(answered.activity)
    if answered.decision is not None:
        response.quote.CopyFrom(response_to_proto(answered.decision, explain=False))
    if answered.quotes is not None and answered.quotes.ask_again_at is not None:
        response.ask_again_at.CopyFrom(_timestamp(answered.quotes.ask_again_at))
    return response


MAX_ISSUED_QUOTES = 1000


def recheck_fields(message: pb.RecheckQuotesRequest) -> list[FieldViolation]:
    """What a recheck cannot be answered without: the author's actor, and an id for every quote sent."""
    problems = [] if uri(message.author_uri) else [
        FieldViolation("author_uri", "required: the quoted author's ActivityPub actor, an http(s) URI with a host")]
    if len(message.quotes) > MAX_ISSUED_QUOTES:
        problems.append(FieldViolation("quotes", f"at most {MAX_ISSUED_QUOTES} quotes a call, got "
                                                 f"{len(message.quotes)}: send them in parts"))
        return problems
    if message.post_uri and not message.post_uri.startswith("at://"):
        problems.append(FieldViolation("post_uri", "an at-uri (`at://…`), the post a Bluesky postgate governs"))
    seen: dict[str, int] = {}
    for index, quote in enumerate(message.quotes):
        if quote.embedding_uri and not quote.embedding_uri.startswith("at://"):
            problems.append(FieldViolation(f"quotes[{index}].embedding_uri", "an at-uri (`at://…`)"))
        if quote.authorization_id in seen:
            problems.append(FieldViolation(f"quotes[{index}].authorization_id",
                                           f"sent twice, first at `quotes[{seen[quote.authorization_id]}]`"))
        seen.setdefault(quote.authorization_id, index)
        for name in ("authorization_id", "consent_id", "embedding_uri"):
            value = getattr(quote, name)
            if len(value) > 2048 or any(not c.isprintable() for c in value):
                problems.append(FieldViolation(f"quotes[{index}].{name}",
                                               "at most 2,048 printable characters"))
        if not quote.authorization_id:
            problems.append(FieldViolation(f"quotes[{index}].authorization_id", "required: the quote's id"))
    return problems


def issued_quotes(message: pb.RecheckQuotesRequest) -> list[IssuedQuote]:
    return [IssuedQuote(q.authorization_id, q.consent_id, q.embedding_uri) for q in message.quotes]


def recheck_to_proto(detached: list[Detached], gate: dict[str, Any] | None) -> pb.RecheckQuotesResponse:
    response = pb.RecheckQuotesResponse()
    for one in detached:
        added = response.detach.add(authorization_id=one.quote.authorization_id, consent_id=one.quote.consent_id,
                                    reason=one.why)
        if one.delete is not None:
            added.delete.update(one.delete)
    if gate is not None:
        response.postgate.update(gate)
    return response
