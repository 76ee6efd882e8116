"""The one place that turns the public data types into messages and back.

Both clients call these, so the sync and async clients cannot disagree about
what is sent or how an answer is read.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import functools
from collections.abc import Iterable, Mapping
from typing import Any, cast, get_args

from google.protobuf import json_format, timestamp_pb2
from google.protobuf.internal.enum_type_wrapper import EnumTypeWrapper

from . import _model as m
from ._errors import UnexpectedAnswerError
from ._gen.discretion.v1 import policy_pb2 as pb
from ._rosters import RosterRefs

# --- enums -------------------------------------------------------------------


@functools.cache
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
        raise UnexpectedAnswerError(f"the response's {what} is unspecified, which this client does not know how "
                                    "to act on")
    raise UnexpectedAnswerError(
        f"the response's {what} is {number}, which this client does not know; "
        "upgrade discretion-client to match the server"
    )


# --- scalars -----------------------------------------------------------------


def _datetime(message: Any, name: str) -> _dt.datetime | None:
    # An unset Timestamp means "no time", not the epoch.
    if not message.HasField(name):
        return None
    stamp: timestamp_pb2.Timestamp = getattr(message, name)
    return stamp.ToDatetime(tzinfo=_dt.timezone.utc)


def _plain(value: Any) -> Any:
    # Struct.update accepts dicts and lists only; the request holds read-only
    # mappings and tuples.
    if isinstance(value, Mapping):
        return {key: _plain(element) for key, element in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(element) for element in value]
    return value


# --- requests ----------------------------------------------------------------
#
# Messages are filled in place, from the top: a sub-message built on its own
# and handed to its parent's constructor is copied into it, and those copies
# were most of what building a request cost (14 µs for the benchmark's
# checks, 6 µs filled in place).


def _set_enum(message: Any, field: str, enum: EnumTypeWrapper, name: str | None) -> None:
    value = _to_enum(enum, name)
    if value is not None:  # None leaves the field unspecified
        setattr(message, field, value)


def _set_time(message: Any, field: str, value: _dt.datetime | None) -> None:
    if value is not None:  # an unset Timestamp means "no time"
        stamp = getattr(message, field)
        stamp.SetInParent()  # present even at the epoch, where every field is 0
        stamp.FromDatetime(value)


def _fill_person(message: pb.Person, person: m.Person) -> None:
    message.SetInParent()
    message.id = person.id
    message.display_name = person.display_name
    message.organization = person.organization
    message.handles.extend(person.handles)
    message.is_minor = person.is_minor
    message.aliases.extend(person.aliases)
    message.organization_aliases.extend(person.organization_aliases)


def _fill_actor(message: pb.Actor, actor: m.Actor) -> None:
    message.SetInParent()
    message.id = actor.id
    message.display_name = actor.display_name
    message.organization = actor.organization
    _set_enum(message, "role", pb.Role, actor.role)
    message.member = actor.member
    _set_time(message, "joined_at", actor.joined_at)
    _set_enum(message, "kind", pb.ActorKind, actor.kind)
    message.installed_by = actor.installed_by


def _fill_adoption(message: pb.Adoption, adoption: m.Adoption) -> None:
    message.agreement = adoption.agreement
    message.version = adoption.version
    _set_time(message, "effective_from", adoption.effective_from)
    _set_time(message, "disclosed_at", adoption.disclosed_at)
    message.replaces.extend(adoption.replaces)
    message.segments.extend(adoption.segments)
    message.default_labels.update(adoption.default_labels)
    message.label_floors.update(adoption.label_floors)


def _fill_group(message: pb.Group, group: m.Group, refs: RosterRefs | None = None) -> None:
    message.SetInParent()
    message.id = group.id
    _set_enum(message, "privacy", pb.Privacy, group.privacy)
    _set_enum(message, "visibility", pb.Visibility, group.visibility)
    for adoption in group.adoptions:
        _fill_adoption(message.adoptions.add(), adoption)
    digest, by_value = refs.digest(tuple(group.participants), _fill_person) if refs else ("", True)
    message.roster_digest = digest
    if by_value:
        for person in group.participants:
            _fill_person(message.participants.add(), person)
    message.community.extend(group.community)
    _set_time(message, "converted_at", group.converted_at)


def _fill_label(message: pb.Label, label: m.Label) -> None:
    message.scheme = label.scheme
    message.value = label.value
    message.set_by = label.set_by
    _set_time(message, "set_at", label.set_at)
    message.params.update(label.params)


def _fill_consent(message: pb.Consent, consent: m.Consent) -> None:
    message.by = consent.by
    message.scope = consent.scope
    message.id = consent.id
    message.recipients.extend(consent.recipients)
    _set_time(message, "granted_at", consent.granted_at)
    _set_time(message, "withdrawn_at", consent.withdrawn_at)


def _fill_item(message: pb.Item, item: m.Item) -> None:
    message.id = item.id
    if item.author is not None:
        _fill_person(message.author, item.author)
    _set_time(message, "posted_at", item.posted_at)
    _set_time(message, "retracted_at", item.retracted_at)
    for label in item.labels:
        _fill_label(message.labels.add(), label)
    for consent in item.consents:
        _fill_consent(message.consents.add(), consent)
    message.text = item.text
    _set_enum(message, "kind", pb.ItemKind, item.kind)
    for person in item.listed_people:
        _fill_person(message.listed_people.add(), person)
    if item.session is not None:
        session = message.session
        session.SetInParent()
        session.id = item.session.id
        session.segment = item.session.segment
        session.speaker_count = item.session.speaker_count
    message.exchange_participants.extend(item.exchange_participants)
    message.conversation = item.conversation
    message.link = item.link


def _fill_destination(message: pb.Destination, destination: m.Destination) -> None:
    message.SetInParent()
    _set_enum(message, "kind", pb.DestinationKind, destination.kind)
    message.channel = destination.channel
    for recipient in destination.recipients:
        message.recipients.add(id=recipient.id, organization=recipient.organization)
    message.group_id = destination.group_id
    message.publicly_accessible = destination.publicly_accessible
    if destination.service is not None:
        service, given = message.service, destination.service
        service.SetInParent()
        service.name = given.name
        service.organization = given.organization
        # None is "not known": left unset on the wire, which every rule reads as the worse case.
        if given.new_controller is not None:
            service.new_controller = given.new_controller
        if given.may_train is not None:
            service.may_train = given.may_train
        if given.retains is not None:
            service.retains = given.retains


def _fill_request(message: pb.CheckRequest, request: m.CheckRequest, refs: RosterRefs | None = None) -> None:
    if not isinstance(request, m.CheckRequest):
        raise TypeError(f"expected a CheckRequest, got {type(request).__name__}")
    _set_enum(message, "action", pb.Action, request.action)
    _set_time(message, "requested_at", request.requested_at)
    _fill_actor(message.actor, request.actor)
    _fill_group(message.group, request.group, refs)
    for item in request.items:
        _fill_item(message.items.add(), item)
    _fill_destination(message.destination, request.destination)
    if request.attribution is not None:
        attribution = message.attribution
        attribution.SetInParent()
        attribution.author_identity = request.attribution.author_identity
        attribution.affiliation = request.attribution.affiliation
        attribution.descriptor = request.attribution.descriptor
        attribution.link = request.attribution.link
    _set_enum(message, "format", pb.Format, request.format)
    _set_enum(message, "derived", pb.Derivation, request.derived)
    message.quoted_text = request.quoted_text
    if request.purpose is not None:
        purpose = message.purpose
        purpose.SetInParent()
        purpose.need_to_know = request.purpose.need_to_know
        _set_enum(purpose, "legal_basis", pb.LegalBasis, request.purpose.legal_basis)
        purpose.notification_prohibited = request.purpose.notification_prohibited
        _set_enum(purpose, "use", pb.Use, request.purpose.use)
    if request.attributes:
        message.attributes.update(_plain(request.attributes))
    message.explain = request.explain
    _set_enum(message, "span_unit", pb.SpanUnit, request.span_unit)
    for key, value in request.request_context.items():
        if not isinstance(key, str) or not isinstance(value, str):
            raise TypeError(f"request_context: expected str keys and values, got {key!r}: {value!r}")
        message.request_context[key] = value


def check_request(request: m.CheckRequest, refs: RosterRefs | None = None) -> pb.CheckRequest:
    """The message for one request; its roster by reference as `refs` say (None: by value)."""
    message = pb.CheckRequest()
    _fill_request(message, request, refs)
    return message


def check_batch_request(requests: Iterable[m.CheckRequest], refs: RosterRefs | None = None) -> pb.CheckBatchRequest:
    """The message for a batch, in the caller's order."""
    batch = pb.CheckBatchRequest()
    for request in requests:
        _fill_request(batch.checks.add(), request, refs)
    return batch


# --- responses ---------------------------------------------------------------


def _obligation(message: pb.Obligation) -> m.Obligation:
    return m.Obligation(
        type=cast(m.ObligationTypeName, message.type),
        item_ids=tuple(message.item_ids),
        person_ids=tuple(message.person_ids),
        spans=tuple(m.Span(s.start, s.end, s.reveals, cast(m.SpanFieldName, s.field), s.item_id)
                    for s in message.spans),
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


def decision(message: pb.CheckResponse, request: m.CheckRequest) -> m.Decision:
    """The Decision a response to `request` carries; UnexpectedAnswerError if it cannot be right."""
    read = m.Decision(
        decision=_required_enum(pb.Decision, message.decision, "decision"),
        obligations=tuple(_obligation(o) for o in message.obligations),
        items=tuple(_item_result(i) for i in message.items),
        findings=tuple(_finding(f) for f in message.findings),
        reason=message.reason,
        policy_revision=message.policy_revision,
        explanation=tuple(message.explanation),
        decision_id=message.decision_id,
    )
    _check_answer(read, [item.id for item in request.items], request.action)
    return read


def decisions(message: pb.CheckBatchResponse, requests: list[m.CheckRequest]) -> list[m.Decision]:
    """One Decision per request, in order; a short or long answer cannot be matched up, so it fails."""
    if len(message.results) != len(requests):
        raise UnexpectedAnswerError(f"asked {len(requests)} checks, got {len(message.results)} results")
    return [decision(result, request) for result, request in zip(message.results, requests)]


_OBLIGATION_TYPES = frozenset(get_args(m.ObligationTypeName))
_SPAN_FIELDS = frozenset(get_args(m.SpanFieldName))
# How an item may come out: kept as it is, or kept once its obligations are
# met (some of which redact), or left out.
_ITEM_VERDICTS = frozenset({("kept", "allow"), ("kept", "allow_with_obligations"),
                            ("redacted", "allow_with_obligations"), ("excluded", "deny")})
# What an obligation cannot be fulfilled without: one of these, at least.
_REQUIRED_PARTS = {
    "hold_until": ("until",),
    "preserve_label": ("label",),
    "add_notice": ("notice",),
    "require_author_consent": ("scope",),
    "redact_identifying_content": ("spans",),
    # A listed person without an id is named only by `names`.
    "redact_participant_identities": ("person_ids", "names"),
}


def _check_answer(answer: m.Decision, asked: list[str], action: str) -> None:
    """Refuse an answer no server of this contract gives: acting on it is acting on a guess."""

    def wrong(why: str) -> UnexpectedAnswerError:
        return UnexpectedAnswerError(f"the answer cannot be right: {why}; act as on a denial")

    results = [result.item_id for result in answer.items]
    if sorted(results) != sorted(asked) or len(set(results)) != len(results):
        raise wrong(f"asked about items {asked}, got results for {results}")
    for result in answer.items:
        if (result.outcome, result.decision) not in _ITEM_VERDICTS:
            raise wrong(f"item `{result.item_id}` is {result.outcome} with decision `{result.decision}`")
    if answer.decision == "deny":
        return  # nothing is done with a denial's details
    if answer.decision == "allow":
        if answer.obligations:
            raise wrong(f"`allow` with obligations ({', '.join(o.type for o in answer.obligations)})")
        held = [r.item_id for r in answer.items if (r.decision, r.outcome) != ("allow", "kept")]
        if held:
            raise wrong(f"`allow` while items {held} are not allowed as they are")
    elif not answer.obligations:
        raise wrong("`allow_with_obligations` with no obligation to fulfil")
    known = set(asked)
    named: set[str] = set()
    left_out: set[str] = set()
    for obligation in answer.obligations:
        if obligation.type not in _OBLIGATION_TYPES:
            raise wrong(f"obligation `{obligation.type}` is not one this client knows how to fulfil; "
                        "upgrade discretion-client to match the server")
        if not obligation.item_ids or not set(obligation.item_ids) <= known:
            raise wrong(f"obligation `{obligation.type}` names items {list(obligation.item_ids)}, not those asked about")
        named.update(obligation.item_ids)
        parts = _REQUIRED_PARTS.get(obligation.type, ())
        if parts and not any(getattr(obligation, part) for part in parts):
            raise wrong(f"obligation `{obligation.type}` without its {' or '.join(parts)}")
        if obligation.type == "exclude_items":
            left_out.update(obligation.item_ids)
            kept = [r.item_id for r in answer.items if r.item_id in obligation.item_ids and r.outcome != "excluded"]
            if kept:
                raise wrong(f"`exclude_items` names items {kept} whose results keep them")
        for span in obligation.spans:
            if span.end < span.start:
                raise wrong(f"a span of `{obligation.type}` ends ({span.end}) before it starts ({span.start})")
            if span.field not in _SPAN_FIELDS:
                raise wrong(f"a span of `{obligation.type}` points into `{span.field}`, no field it may index")
            if (span.field == "items.text") != bool(span.item_id) or (span.item_id and span.item_id not in known):
                raise wrong(f"a span of `{obligation.type}` in `{span.field}` names item `{span.item_id}`")
    unnamed = [r.item_id for r in answer.items if r.decision == "allow_with_obligations" and r.item_id not in named]
    if unnamed:
        raise wrong(f"items {unnamed} owe something, yet no obligation names them")
    unexcluded = [r.item_id for r in answer.items if r.outcome == "excluded" and r.item_id not in left_out]
    if unexcluded:
        raise wrong(f"items {unexcluded} are left out, yet no `exclude_items` says so")
    if left_out and action != "export":
        # A share or a quote is all or nothing: an item that cannot go denies the whole.
        raise wrong(f"a {action} that leaves out items {sorted(left_out)}")


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


# --- GetInteractionPolicy ------------------------------------------------------


def interaction_policy_request(group: m.Group, item: m.Item, quoter: m.Quoter | None, author_uri: str,
                               post_uri: str, requested_at: _dt.datetime | None,
                               request_context: Mapping[str, str],
                               refs: RosterRefs | None = None) -> pb.GetInteractionPolicyRequest:
    message = pb.GetInteractionPolicyRequest(author_uri=author_uri, post_uri=post_uri)
    _fill_group(message.group, group, refs)
    _fill_item(message.item, item)
    if quoter is not None:
        message.quoter.id, message.quoter.member = quoter.id, quoter.member
    _set_time(message, "requested_at", requested_at)
    message.request_context.update(request_context)
    return message


_APPROVALS: dict[int, m.QuoteApprovalName] = {pb.QUOTE_APPROVAL_AUTOMATIC: "automatic",
                                              pb.QUOTE_APPROVAL_MANUAL: "manual", pb.QUOTE_APPROVAL_NOBODY: "nobody"}


def interaction_policy(message: pb.GetInteractionPolicyResponse, item: m.Item) -> m.InteractionPolicy:
    """The answer; UnexpectedAnswerError for an approval this client does not know (read as nothing at all)."""
    approval = _APPROVALS.get(message.approval)
    if approval is None:
        raise UnexpectedAnswerError(f"an approval this client does not know: {message.approval}")
    asked = _quote_question(item)
    quote = decision(message.quote, asked)
    text_share = None
    if message.HasField("text_share"):
        text_share = decision(message.text_share, dataclasses.replace(asked, action="share"))
    return m.InteractionPolicy(
        approval=approval, consent_scope=message.consent_scope, ask_again_at=_datetime(message, "ask_again_at"),
        quote=quote, text_share=text_share,
        can_quote={"automaticApproval": tuple(message.can_quote.automatic_approval),
                   "manualApproval": tuple(message.can_quote.manual_approval)},
        quote_approval_policy=message.quote_approval_policy, current_user=message.current_user,
        postgate=_plain_struct(message.postgate), decision_id=message.decision_id)


def _plain_struct(struct: Any) -> dict[str, Any]:
    """A Struct as the JSON object it holds."""
    return dict(json_format.MessageToDict(struct))


def _quote_question(item: m.Item) -> m.CheckRequest:
    """The Check a quote answer's decisions answer, for reading them: a quote of `item`, to the public."""
    return m.CheckRequest(action="quote", actor=m.Actor(id="quote-request"), group=m.Group(id=""), items=[item],
                          destination=m.Destination(kind="public"))


def quote_request_request(group: m.Group, item: m.Item, activity: Mapping[str, Any], authorization_base_uri: str,
                          author_uri: str, quoter_is_member: bool, requested_at: _dt.datetime | None,
                          request_context: Mapping[str, str],
                          refs: RosterRefs | None = None) -> pb.AnswerQuoteRequestRequest:
    message = pb.AnswerQuoteRequestRequest(authorization_base_uri=authorization_base_uri, author_uri=author_uri,
                                           quoter_is_member=quoter_is_member)
    _fill_group(message.group, group, refs)
    _fill_item(message.item, item)
    message.activity.update(_plain(activity))
    _set_time(message, "requested_at", requested_at)
    message.request_context.update(request_context)
    return message


_ANSWERS: dict[int, m.QuoteAnswerName] = {pb.QUOTE_ANSWER_ACCEPT: "accept", pb.QUOTE_ANSWER_REJECT: "reject",
                                          pb.QUOTE_ANSWER_PENDING: "pending"}


def quote_request_answer(message: pb.AnswerQuoteRequestResponse, item: m.Item) -> m.QuoteRequestAnswer:
    answer = _ANSWERS.get(message.answer)
    if answer is None:
        raise UnexpectedAnswerError(f"an answer to a quote request this client does not know: {message.answer}")
    if (answer == "pending" and message.HasField("activity")) or (answer == "accept" and not message.HasField("activity")):
        raise UnexpectedAnswerError(f"a `{answer}` answer {'with' if answer == 'pending' else 'without'} an activity")
    asked = _quote_question(item)
    return m.QuoteRequestAnswer(
        answer=answer, activity=_plain_struct(message.activity) if message.HasField("activity") else None,
        consent_scope=message.consent_scope, reason=message.reason,
        quote=decision(message.quote, asked) if message.HasField("quote") else None,
        ask_again_at=_datetime(message, "ask_again_at"), decision_id=message.decision_id)


def recheck_request(group: m.Group, item: m.Item, quotes: Iterable[m.IssuedQuote], author_uri: str, post_uri: str,
                    requested_at: _dt.datetime | None, request_context: Mapping[str, str],
                    refs: RosterRefs | None = None) -> pb.RecheckQuotesRequest:
    message = pb.RecheckQuotesRequest(author_uri=author_uri, post_uri=post_uri)
    _fill_group(message.group, group, refs)
    _fill_item(message.item, item)
    for quote in quotes:
        message.quotes.add(authorization_id=quote.authorization_id, consent_id=quote.consent_id,
                           embedding_uri=quote.embedding_uri)
    _set_time(message, "requested_at", requested_at)
    message.request_context.update(request_context)
    return message


def quote_recheck(message: pb.RecheckQuotesResponse, asked: pb.RecheckQuotesRequest) -> m.QuoteRecheck:
    """The answer; UnexpectedAnswerError for a quote to detach that was not sent, or one named twice."""
    sent = {q.authorization_id for q in asked.quotes}
    named = [d.authorization_id for d in message.detach]
    if not set(named) <= sent or len(named) != len(set(named)):
        raise UnexpectedAnswerError("quotes to detach that were not sent, or named twice")
    return m.QuoteRecheck(
        detach=tuple(m.DetachedQuote(d.authorization_id, d.consent_id, d.reason,
                                     _plain_struct(d.delete) if d.HasField("delete") else None)
                     for d in message.detach),
        postgate=_plain_struct(message.postgate) if message.HasField("postgate") else None,
        decision_id=message.decision_id)
