"""The one place that turns the public data types into messages and back.

Both clients call these, so the sync and async clients cannot disagree about
what is sent or how an answer is read.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Iterable, Mapping
from typing import Any, cast

from google.protobuf import struct_pb2, timestamp_pb2
from google.protobuf.internal.enum_type_wrapper import EnumTypeWrapper

from . import _model as m
from ._errors import ServerError
from ._gen.discretion.v1 import policy_pb2 as pb

# --- enums -------------------------------------------------------------------


def _prefix(enum: EnumTypeWrapper) -> str:
    # Every enum of the contract opens with <PREFIX>_UNSPECIFIED = 0.
    return enum.Name(0).removesuffix("UNSPECIFIED")


def _to_enum(enum: EnumTypeWrapper, name: str | None) -> str | None:
    """The proto's name for a value; None leaves the field unspecified."""
    # Names were checked against the vocabulary when the request was built.
    return None if name is None else _prefix(enum) + name.upper()


def _from_enum(enum: EnumTypeWrapper, number: int) -> str | None:
    """The lowercase name of a value, or None for UNSPECIFIED or a value this client does not know."""
    if number == 0:
        return None
    try:
        return enum.Name(number).removeprefix(_prefix(enum)).lower()
    except ValueError:
        return None


def _required_enum(enum: EnumTypeWrapper, number: int, what: str) -> Any:
    # A decision or an item outcome is what the caller acts on: reading a value
    # it does not know as anything at all could let content through, so fail.
    name = _from_enum(enum, number)
    if name is not None:
        return name
    if number == 0:
        raise ServerError(f"the response's {what} is unspecified, which this client does not know how to act on")
    raise ServerError(
        f"the response's {what} is {number}, which this client does not know; "
        "upgrade discretion-client to match the server"
    )


# --- scalars -----------------------------------------------------------------


def _timestamp(value: _dt.datetime | None) -> timestamp_pb2.Timestamp | None:
    if value is None:
        return None
    stamp = timestamp_pb2.Timestamp()
    # Aware datetimes only (checked when built); FromDatetime converts to UTC.
    stamp.FromDatetime(value)
    return stamp


def _datetime(message: Any, name: str) -> _dt.datetime | None:
    # An unset Timestamp means "no time", not the epoch.
    if not message.HasField(name):
        return None
    stamp: timestamp_pb2.Timestamp = getattr(message, name)
    return stamp.ToDatetime(tzinfo=_dt.timezone.utc)


def _struct(values: Any) -> struct_pb2.Struct | None:
    if not values:
        return None
    struct = struct_pb2.Struct()
    struct.update(_plain(values))
    return struct


def _plain(value: Any) -> Any:
    # Struct.update accepts dicts and lists only; the request holds read-only
    # mappings and tuples.
    if isinstance(value, Mapping):
        return {key: _plain(element) for key, element in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(element) for element in value]
    return value


# --- requests ----------------------------------------------------------------


def _person(person: m.Person) -> pb.Person:
    return pb.Person(
        id=person.id,
        display_name=person.display_name,
        organization=person.organization,
        handles=person.handles,
        is_minor=person.is_minor,
    )


def _actor(actor: m.Actor) -> pb.Actor:
    return pb.Actor(
        id=actor.id,
        display_name=actor.display_name,
        organization=actor.organization,
        role=_to_enum(pb.Role, actor.role),
        member=actor.member,
        joined_at=_timestamp(actor.joined_at),
    )


def _adoption(adoption: m.Adoption) -> pb.Adoption:
    return pb.Adoption(
        agreement=adoption.agreement,
        version=adoption.version,
        effective_from=_timestamp(adoption.effective_from),
        disclosed_at=_timestamp(adoption.disclosed_at),
        replaces=adoption.replaces,
        segments=adoption.segments,
        default_labels=dict(adoption.default_labels),
    )


def _group(group: m.Group) -> pb.Group:
    return pb.Group(
        id=group.id,
        privacy=_to_enum(pb.Privacy, group.privacy),
        visibility=_to_enum(pb.Visibility, group.visibility),
        adoptions=[_adoption(a) for a in group.adoptions],
        participants=[_person(p) for p in group.participants],
        community=group.community,
        converted_at=_timestamp(group.converted_at),
    )


def _label(label: m.Label) -> pb.Label:
    return pb.Label(
        scheme=label.scheme,
        value=label.value,
        set_by=label.set_by,
        set_at=_timestamp(label.set_at),
        params=dict(label.params),
    )


def _consent(consent: m.Consent) -> pb.Consent:
    return pb.Consent(
        by=consent.by,
        scope=consent.scope,
        recipients=consent.recipients,
        granted_at=_timestamp(consent.granted_at),
        withdrawn_at=_timestamp(consent.withdrawn_at),
    )


def _session(session: m.Session | None) -> pb.Session | None:
    if session is None:
        return None
    return pb.Session(id=session.id, segment=session.segment, speaker_count=session.speaker_count)


def _item(item: m.Item) -> pb.Item:
    return pb.Item(
        id=item.id,
        author=None if item.author is None else _person(item.author),
        posted_at=_timestamp(item.posted_at),
        retracted_at=_timestamp(item.retracted_at),
        labels=[_label(label) for label in item.labels],
        consents=[_consent(consent) for consent in item.consents],
        text=item.text,
        kind=_to_enum(pb.ItemKind, item.kind),
        listed_people=[_person(p) for p in item.listed_people],
        session=_session(item.session),
        exchange_participants=item.exchange_participants,
        conversation=item.conversation,
        link=item.link,
    )


def _service(service: m.Service | None) -> pb.Service | None:
    if service is None:
        return None
    return pb.Service(
        name=service.name,
        organization=service.organization,
        new_controller=service.new_controller,
        may_train=service.may_train,
        retains=service.retains,
    )


def _destination(destination: m.Destination) -> pb.Destination:
    return pb.Destination(
        kind=_to_enum(pb.DestinationKind, destination.kind),
        channel=destination.channel,
        recipients=[pb.Recipient(id=r.id, organization=r.organization) for r in destination.recipients],
        group_id=destination.group_id,
        publicly_accessible=destination.publicly_accessible,
        service=_service(destination.service),
    )


def _attribution(attribution: m.Attribution | None) -> pb.Attribution | None:
    if attribution is None:
        return None
    return pb.Attribution(
        author_identity=attribution.author_identity,
        affiliation=attribution.affiliation,
        descriptor=attribution.descriptor,
        link=attribution.link,
    )


def _purpose(purpose: m.Purpose | None) -> pb.Purpose | None:
    if purpose is None:
        return None
    return pb.Purpose(
        need_to_know=purpose.need_to_know,
        legal_basis=_to_enum(pb.LegalBasis, purpose.legal_basis),
        notification_prohibited=purpose.notification_prohibited,
    )


def check_request(request: m.CheckRequest) -> pb.CheckRequest:
    """The message for one request."""
    if not isinstance(request, m.CheckRequest):
        raise TypeError(f"expected a CheckRequest, got {type(request).__name__}")
    return pb.CheckRequest(
        action=_to_enum(pb.Action, request.action),
        requested_at=_timestamp(request.requested_at),
        actor=_actor(request.actor),
        group=_group(request.group),
        items=[_item(item) for item in request.items],
        destination=_destination(request.destination),
        attribution=_attribution(request.attribution),
        format=_to_enum(pb.Format, request.format),
        derived=_to_enum(pb.Derivation, request.derived),
        quoted_text=request.quoted_text,
        purpose=_purpose(request.purpose),
        attributes=_struct(request.attributes),
        explain=request.explain,
    )


def check_batch_request(requests: Iterable[m.CheckRequest]) -> pb.CheckBatchRequest:
    """The message for a batch, in the caller's order."""
    return pb.CheckBatchRequest(checks=[check_request(r) for r in requests])


# --- responses ---------------------------------------------------------------


def _obligation(message: pb.Obligation) -> m.Obligation:
    return m.Obligation(
        type=message.type,
        item_ids=tuple(message.item_ids),
        person_ids=tuple(message.person_ids),
        spans=tuple(m.Span(s.start, s.end, s.reveals) for s in message.spans),
        names=tuple(message.names),
        scope=message.scope,
        until=_datetime(message, "until"),
        label=message.label,
        notice=message.notice,
        descriptor=message.descriptor,
        link=message.link,
    )


def _item_result(message: pb.ItemResult) -> m.ItemResult:
    return m.ItemResult(
        item_id=message.item_id,
        outcome=_required_enum(pb.ItemOutcome, message.outcome, f"outcome of item {message.item_id!r}"),
        decision=_required_enum(pb.Decision, message.decision, f"decision on item {message.item_id!r}"),
        governed_by=tuple(message.governed_by),
    )


def _finding(message: pb.Finding) -> m.Finding:
    return m.Finding(
        agreement=message.agreement,
        version=message.version,
        rule=message.rule,
        item_id=message.item_id,
        # Explanatory only, so an unknown effect must not cost the caller its decision.
        effect=cast(m.EffectName, _from_enum(pb.Effect, message.effect) or "unspecified"),
        reason_code=message.reason_code,
        message=message.message,
    )


def decision(message: pb.CheckResponse) -> m.Decision:
    """The Decision a response carries; ServerError if it carries none this client knows."""
    return m.Decision(
        decision=_required_enum(pb.Decision, message.decision, "decision"),
        obligations=tuple(_obligation(o) for o in message.obligations),
        items=tuple(_item_result(i) for i in message.items),
        findings=tuple(_finding(f) for f in message.findings),
        reason=message.reason,
        policy_revision=message.policy_revision,
        explanation=tuple(message.explanation),
    )


def decisions(message: pb.CheckBatchResponse, expected: int) -> list[m.Decision]:
    """One Decision per request, in order; a short or long answer cannot be matched up, so it fails."""
    if len(message.results) != expected:
        raise ServerError(f"asked {expected} checks, got {len(message.results)} results")
    return [decision(result) for result in message.results]


def _agreement(message: pb.AgreementInfo) -> m.AgreementInfo:
    return m.AgreementInfo(
        id=message.id,
        version=message.version,
        title=message.title,
        summary=message.summary,
        source=message.source,
        platform_wide=message.platform_wide,
        versions=tuple(
            m.AgreementVersion(
                version=v.version,
                effective_from=_datetime(v, "effective_from"),
                disclosed_at=_datetime(v, "disclosed_at"),
            )
            for v in message.versions
        ),
    )


def agreements(message: pb.ListAgreementsResponse) -> list[m.AgreementInfo]:
    """The loaded agreements, in the server's order."""
    return [_agreement(a) for a in message.agreements]
