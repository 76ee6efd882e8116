"""Client-side behaviour of discretion_client, against a controllable server.

The server here is a real gRPC server on 127.0.0.1 (port 0) whose servicer is a
small fake written below with the client's own stubs: it records what arrived
and answers, fails or stalls as a test asks. That is what client behaviour
needs (retries, deadlines, error details, connection spreading); what the real
service decides is tested against the real server elsewhere.

Every client test runs twice, once with Client and once with AsyncClient.
"""

from __future__ import annotations

import types

import asyncio
import collections
import dataclasses
import datetime as dt
import inspect
import json
import re
import socket
import threading
import typing
from collections.abc import Callable, Iterator
from concurrent import futures
from typing import Any

import grpc
import pytest
from google.protobuf import any_pb2, struct_pb2, timestamp_pb2
from google.protobuf.descriptor import FieldDescriptor
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

import discretion_client as dc
from discretion_client import _channel, _errors, _model
from discretion_client._gen.discretion.v1 import policy_pb2 as pb
from discretion_client._gen.discretion.v1 import policy_pb2_grpc as pb_grpc

UTC = dt.timezone.utc
PLUS_ONE = dt.timezone(dt.timedelta(hours=1))


# --- the fake server ---------------------------------------------------------


@dataclasses.dataclass
class Seen:
    method: str
    request: Any
    peer: str
    metadata: dict[str, str]
    time_remaining: float | None


class FakePolicy(pb_grpc.PolicyServiceServicer):
    """Records each call; answers with `reply`, unless told to fail or stall."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.seen: list[Seen] = []
        self.reply: Callable[[str, Any], Any] = _default_reply
        self.fail_first = 0  # the first N calls fail with UNAVAILABLE
        self.abort_with: grpc.Status | None = None
        self.stall: threading.Event | None = None  # wait for this before answering

    def _serve(self, method: str, request: Any, context: grpc.ServicerContext) -> Any:
        seen = Seen(method, request, context.peer(), dict(context.invocation_metadata()), context.time_remaining())
        with self.lock:
            self.seen.append(seen)
            number = len(self.seen)
        if number <= self.fail_first:
            context.abort(grpc.StatusCode.UNAVAILABLE, "warming up")
        if self.abort_with is not None:
            context.abort_with_status(self.abort_with)
        if self.stall is not None:
            self.stall.wait(timeout=10)
        return self.reply(method, request)

    def Check(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self._serve("Check", request, context)

    def CheckBatch(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self._serve("CheckBatch", request, context)

    def ListAgreements(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self._serve("ListAgreements", request, context)


_OUTCOME = {pb.DECISION_ALLOW: pb.ITEM_OUTCOME_KEPT, pb.DECISION_ALLOW_WITH_OBLIGATIONS: pb.ITEM_OUTCOME_REDACTED,
            pb.DECISION_DENY: pb.ITEM_OUTCOME_EXCLUDED}


def answer(check: Any, decision: int, **fields: Any) -> pb.CheckResponse:
    """A well-formed answer to `check`: `decision`, and a result of the same decision for each item."""
    items = [pb.ItemResult(item_id=i.id, outcome=_OUTCOME[decision], decision=decision) for i in check.items]
    if decision == pb.DECISION_ALLOW_WITH_OBLIGATIONS and "obligations" not in fields:
        fields["obligations"] = [pb.Obligation(type="redact_author_identity", item_ids=[i.id for i in check.items])]
    return pb.CheckResponse(decision=decision, items=items, **fields)


def _default_reply(method: str, request: Any) -> Any:
    if method == "Check":
        return answer(request, pb.DECISION_ALLOW, reason="ok")
    if method == "CheckBatch":
        return pb.CheckBatchResponse(
            results=[answer(c, pb.DECISION_ALLOW, reason=c.items[0].id) for c in request.checks]
        )
    return pb.ListAgreementsResponse()


@pytest.fixture
def server() -> Iterator[tuple[FakePolicy, str]]:
    fake = FakePolicy()
    grpc_server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
    pb_grpc.add_PolicyServiceServicer_to_server(fake, grpc_server)
    port = grpc_server.add_insecure_port("127.0.0.1:0")
    grpc_server.start()
    yield fake, f"127.0.0.1:{port}"
    if fake.stall is not None:
        fake.stall.set()
    grpc_server.stop(grace=None).wait()


@pytest.fixture
def refused_target() -> Iterator[str]:
    # A port bound but never listened on refuses connections, and nothing else
    # can take it while the test runs.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    yield f"127.0.0.1:{sock.getsockname()[1]}"
    sock.close()


class _Blocking:
    """Drives an AsyncClient from a test body written for Client."""

    def __init__(self, client: dc.AsyncClient, loop: asyncio.AbstractEventLoop) -> None:
        self._client = client
        self._loop = loop

    def __getattr__(self, name: str) -> Callable[..., Any]:
        method = getattr(self._client, name)
        return lambda *args, **kwargs: self._loop.run_until_complete(method(*args, **kwargs))


@pytest.fixture(params=["sync", "async"])
def connect(request: pytest.FixtureRequest) -> Iterator[Callable[..., Any]]:
    """connect(target, **options) -> a Client, or an AsyncClient driven through one event loop."""
    closers: list[Callable[[], Any]] = []
    loop = asyncio.new_event_loop() if request.param == "async" else None

    def make(target: str, **options: Any) -> Any:
        if loop is None:
            client = dc.Client(target, **options)
            closers.append(client.close)
            return client
        aclient = dc.AsyncClient(target, **options)
        closers.append(lambda: loop.run_until_complete(aclient.close()))
        return _Blocking(aclient, loop)

    yield make
    for close in closers:
        close()
    if loop is not None:
        loop.close()


# --- request and response data that fill every field ---------------------------


def _ts(value: dt.datetime) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(value)
    return stamp


T1 = dt.datetime(2025, 3, 1, 10, 30, 15, 250000, tzinfo=PLUS_ONE)  # 09:30:15.25 UTC
T2 = dt.datetime(2025, 3, 2, 8, 0, tzinfo=UTC)
T3 = dt.datetime(2025, 3, 3, 8, 0, tzinfo=UTC)


def _person(n: int) -> dc.Person:
    return dc.Person(f"p{n}", display_name=f"P {n}", organization=f"org{n}", handles=[f"@p{n}"], is_minor=True,
                     aliases=[f"Pee {n}"], organization_aliases=[f"O{n}"])


def _pb_person(n: int) -> pb.Person:
    return pb.Person(id=f"p{n}", display_name=f"P {n}", organization=f"org{n}", handles=[f"@p{n}"], is_minor=True,
                     aliases=[f"Pee {n}"], organization_aliases=[f"O{n}"])


def full_request() -> dc.CheckRequest:
    return dc.CheckRequest(
        action="export",
        requested_at=T3,
        actor=dc.Actor("a1", display_name="Actor", organization="acme", role="moderator", member=True, joined_at=T1,
                       kind="service", installed_by="p1"),
        group=dc.Group(
            "g1",
            privacy="private",
            visibility="hidden",
            adoptions=[dc.Adoption("chatham-house", 2, effective_from=T1, disclosed_at=T2, replaces=["tlp"],
                                   segments=["discussion"], default_labels={"tlp": "amber"}, label_floors={"tlp": "green"})],
            participants=[_person(1)],
            community=["acme", "globex"],
            converted_at=T2,
        ),
        items=[
            dc.Item(
                "i1",
                author=_person(2),
                posted_at=T1,
                retracted_at=T2,
                labels=[dc.Label("tlp", "amber+strict", set_by="admin", set_at=T1, params={"descriptor": "an analyst"})],
                consents=[dc.Consent("p2", "attribution", recipients=["r1"], granted_at=T1, withdrawn_at=T2, id="c1")],
                text="the words",
                kind="attendee_list",
                listed_people=[_person(3)],
                session=dc.Session("s1", segment="discussion", speaker_count=1),
                exchange_participants=["p1", "p2"],
                conversation="c1",
                link="https://example.org/i1",
            )
        ],
        destination=dc.Destination(
            kind="ai_tool",
            channel="#general",
            recipients=[dc.Recipient("r1", organization="initech")],
            group_id="g2",
            publicly_accessible=True,
            service=dc.Service("summariser", organization="initech", new_controller=True, may_train=True, retains=True),
        ),
        attribution=dc.Attribution(author_identity=True, affiliation=True, descriptor="a senior official", link=True),
        format="screenshot",
        derived="paraphrase",
        quoted_text="P 2 said the words",
        purpose=dc.Purpose(need_to_know=True, legal_basis="member_consent", notification_prohibited=True, use="lookup"),
        attributes={"ticket": "T-1", "weight": 2.5, "flags": [True, None], "nested": {"n": 1}},
        request_context={"route": "export-button", "client": "web/4.2"},
        explain=True,
        span_unit="utf16",
    )


def full_request_pb() -> pb.CheckRequest:
    attributes = struct_pb2.Struct()
    attributes.update({"ticket": "T-1", "weight": 2.5, "flags": [True, None], "nested": {"n": 1}})
    return pb.CheckRequest(
        action=pb.ACTION_EXPORT,
        requested_at=_ts(T3),
        actor=pb.Actor(
            id="a1", display_name="Actor", organization="acme", role=pb.ROLE_MODERATOR, member=True, joined_at=_ts(T1),
            kind=pb.ACTOR_KIND_SERVICE, installed_by="p1",
        ),
        group=pb.Group(
            id="g1",
            privacy=pb.PRIVACY_PRIVATE,
            visibility=pb.VISIBILITY_HIDDEN,
            adoptions=[
                pb.Adoption(
                    agreement="chatham-house", version=2, effective_from=_ts(T1), disclosed_at=_ts(T2), replaces=["tlp"],
                    segments=["discussion"], default_labels={"tlp": "amber"}, label_floors={"tlp": "green"},
                )
            ],
            participants=[_pb_person(1)],
            community=["acme", "globex"],
            converted_at=_ts(T2),
        ),
        items=[
            pb.Item(
                id="i1",
                author=_pb_person(2),
                posted_at=_ts(T1),
                retracted_at=_ts(T2),
                labels=[
                    pb.Label(
                        scheme="tlp",
                        value="amber+strict",
                        set_by="admin",
                        set_at=_ts(T1),
                        params={"descriptor": "an analyst"},
                    )
                ],
                consents=[
                    pb.Consent(
                        by="p2", scope="attribution", recipients=["r1"], granted_at=_ts(T1), withdrawn_at=_ts(T2),
                        id="c1",
                    )
                ],
                text="the words",
                kind=pb.ITEM_KIND_ATTENDEE_LIST,
                listed_people=[_pb_person(3)],
                session=pb.Session(id="s1", segment="discussion", speaker_count=1),
                exchange_participants=["p1", "p2"],
                conversation="c1",
                link="https://example.org/i1",
            )
        ],
        destination=pb.Destination(
            kind=pb.DESTINATION_KIND_AI_TOOL,
            channel="#general",
            recipients=[pb.Recipient(id="r1", organization="initech")],
            group_id="g2",
            publicly_accessible=True,
            service=pb.Service(
                name="summariser", organization="initech", new_controller=True, may_train=True, retains=True
            ),
        ),
        attribution=pb.Attribution(author_identity=True, affiliation=True, descriptor="a senior official", link=True),
        format=pb.FORMAT_SCREENSHOT,
        derived=pb.DERIVATION_PARAPHRASE,
        quoted_text="P 2 said the words",
        purpose=pb.Purpose(need_to_know=True, legal_basis=pb.LEGAL_BASIS_MEMBER_CONSENT, notification_prohibited=True,
                           use=pb.USE_LOOKUP),
        attributes=attributes,
        request_context={"route": "export-button", "client": "web/4.2"},
        explain=True,
        span_unit=pb.SPAN_UNIT_UTF16,
    )


def full_response_pb() -> pb.CheckResponse:
    return pb.CheckResponse(
        decision=pb.DECISION_ALLOW_WITH_OBLIGATIONS,
        obligations=[
            pb.Obligation(
                type="hold_until",
                item_ids=["i1"],
                person_ids=["p2"],
                spans=[pb.Span(start=4, end=7, reveals="name", field="items.text", item_id="i1")],
                names=["P 2"],
                scope="attribution",
                until=_ts(T2),
                label="TLP:AMBER",
                notice="embargoed_until",
                descriptor="a senior official",
                link="https://example.org/i1",
            )
        ],
        items=[
            pb.ItemResult(
                item_id="i1",
                outcome=pb.ITEM_OUTCOME_REDACTED,
                decision=pb.DECISION_ALLOW_WITH_OBLIGATIONS,
                governed_by=["chatham-house@2"],
            )
        ],
        findings=[
            pb.Finding(
                agreement="chatham-house",
                version=2,
                rule="speaker-identity",
                item_id="i1",
                effect=pb.EFFECT_ALLOW_WITH_OBLIGATIONS,
                reason_code="speaker_identity_protected",
                message="The speaker may not be identified.",
            )
        ],
        reason="Allowed once the speaker is unnamed.",
        policy_revision="rev-1",
        explanation=["step 1", "step 2"],
        decision_id="0f1e2d3c4b5a69788796a5b4c3d2e1f0",
    )


EXPECTED_DECISION = dc.Decision(
    decision="allow_with_obligations",
    obligations=(
        dc.Obligation(
            type="hold_until",
            item_ids=("i1",),
            person_ids=("p2",),
            spans=(dc.Span(4, 7, "name", "items.text", "i1"),),
            names=("P 2",),
            scope="attribution",
            until=T2,
            label="TLP:AMBER",
            notice="embargoed_until",
            descriptor="a senior official",
            link="https://example.org/i1",
        ),
    ),
    items=(dc.ItemResult("i1", "redacted", "allow_with_obligations", ("chatham-house@2",)),),
    findings=(
        dc.Finding(
            "chatham-house",
            2,
            "speaker-identity",
            "i1",
            "allow_with_obligations",
            "speaker_identity_protected",
            "The speaker may not be identified.",
        ),
    ),
    reason="Allowed once the speaker is unnamed.",
    policy_revision="rev-1",
    explanation=("step 1", "step 2"),
    decision_id="0f1e2d3c4b5a69788796a5b4c3d2e1f0",
)


def unset_fields(message: Any, path: str = "") -> list[str]:
    """Every field of `message`, at any depth, left at its default: a fixture
    that must cover every field fails when the proto grows a new one."""
    missing = []
    for descriptor in message.DESCRIPTOR.fields:
        name = f"{path}{descriptor.name}"
        value = getattr(message, descriptor.name)
        is_message = descriptor.type == FieldDescriptor.TYPE_MESSAGE
        # Well-known types and map entries count as values, not as structure.
        recurse = is_message and not descriptor.message_type.full_name.startswith("google.protobuf.")
        recurse = recurse and not descriptor.message_type.GetOptions().map_entry
        if descriptor.is_repeated:
            if not value:
                missing.append(name)
            elif recurse:
                for index, element in enumerate(value):
                    missing += unset_fields(element, f"{name}[{index}].")
        elif is_message:
            if not message.HasField(descriptor.name):
                missing.append(name)
            elif recurse:
                missing += unset_fields(value, f"{name}.")
        elif value == descriptor.default_value:
            missing.append(name)
    return missing


# --- conversion ----------------------------------------------------------------


def test_the_fixtures_fill_every_field_of_the_contract() -> None:
    # The roster's digest is the client's to write, for a large roster (tests/ops/test_roster_by_reference.py).
    assert unset_fields(full_request_pb()) == ["group.roster_digest"]
    assert unset_fields(full_response_pb()) == []


def test_every_request_field_arrives_as_the_proto_says(server, connect) -> None:
    fake, target = server
    connect(target).check(full_request())
    assert len(fake.seen) == 1
    received = fake.seen[0].request
    assert received == full_request_pb()
    # Aware datetimes in any zone travel as the same instant.
    assert received.actor.joined_at.ToDatetime(tzinfo=UTC) == dt.datetime(2025, 3, 1, 9, 30, 15, 250000, tzinfo=UTC)


def test_every_response_field_comes_back(server, connect) -> None:
    fake, target = server
    fake.reply = lambda method, request: full_response_pb()
    decision = connect(target).check(full_request())
    assert decision == EXPECTED_DECISION
    assert decision.obligations[0].until.tzinfo is not None
    assert decision.allowed is False


def test_unset_times_and_empty_messages_read_as_none_and_empty(server, connect) -> None:
    fake, target = server
    fake.reply = lambda method, request: pb.CheckResponse(
        decision=pb.DECISION_DENY, obligations=[pb.Obligation(type="add_notice")],
        items=[pb.ItemResult(item_id="i1", outcome=pb.ITEM_OUTCOME_EXCLUDED, decision=pb.DECISION_DENY)],
    )
    decision = connect(target).check(full_request())
    assert decision.decision == "deny"
    assert decision.obligations[0].until is None
    assert decision.obligations[0].spans == ()
    assert decision.items[0].governed_by == () and decision.findings == () and decision.explanation == ()


def test_optional_request_parts_left_out_stay_unset_on_the_wire(server, connect) -> None:
    fake, target = server
    connect(target).check(
        dc.CheckRequest(
            action="share",
            actor=dc.Actor("a1"),
            group=dc.Group("g1"),
            items=[dc.Item("i1")],
            destination=dc.Destination("same_group"),
        )
    )
    received = fake.seen[0].request
    for name in ("requested_at", "attribution", "purpose", "attributes"):
        assert not received.HasField(name), name
    assert not received.items[0].HasField("author")
    assert not received.items[0].HasField("posted_at")
    assert received.format == pb.FORMAT_UNSPECIFIED and received.derived == pb.DERIVATION_UNSPECIFIED


def test_list_agreements_carries_every_field(server, connect) -> None:
    fake, target = server
    info = pb.AgreementInfo(
        id="chatham-house",
        version=2,
        title="Chatham House Rule",
        summary="Use, don't attribute.",
        source="https://example.org/chr",
        versions=[pb.AgreementVersion(version=2, effective_from=_ts(T1), disclosed_at=_ts(T2))],
        platform_wide=True,
    )
    assert unset_fields(info) == []
    fake.reply = lambda method, request: pb.ListAgreementsResponse(
        agreements=[info, pb.AgreementInfo(id="tlp", version=1, versions=[pb.AgreementVersion(version=1)])],
        policy_revision="rev-1",
    )
    agreements = connect(target).list_agreements()
    assert agreements == [
        dc.AgreementInfo(
            id="chatham-house",
            version=2,
            title="Chatham House Rule",
            summary="Use, don't attribute.",
            source="https://example.org/chr",
            platform_wide=True,
            versions=(dc.AgreementVersion(2, T1, T2),),
        ),
        dc.AgreementInfo("tlp", 1, "", "", "", False, (dc.AgreementVersion(1, None, None),)),
    ]
    assert fake.seen[0].method == "ListAgreements"


def test_check_batch_answers_in_order(server, connect) -> None:
    fake, target = server
    requests = [
        dataclasses.replace(full_request(), items=[dc.Item(name)]) for name in ("first", "second", "third")
    ]
    decisions = connect(target).check_batch(requests)
    assert [d.reason for d in decisions] == ["first", "second", "third"]
    assert [c.items[0].id for c in fake.seen[0].request.checks] == ["first", "second", "third"]


def test_an_empty_batch_needs_no_call(server, connect) -> None:
    fake, target = server
    assert connect(target).check_batch([]) == []
    assert fake.seen == []


def test_a_batch_answer_of_the_wrong_length_is_refused(server, connect) -> None:
    fake, target = server
    fake.reply = lambda method, request: pb.CheckBatchResponse(results=[pb.CheckResponse(decision=pb.DECISION_ALLOW)])
    with pytest.raises(dc.ServerError, match="asked 2 checks, got 1"):
        connect(target).check_batch([full_request(), full_request()])


@pytest.mark.parametrize(
    ("action", "decision", "allowed"),
    [
        ("share", pb.DECISION_ALLOW, True),
        ("quote", pb.DECISION_ALLOW_WITH_OBLIGATIONS, False),
        ("export", pb.DECISION_DENY, False),
    ],
)
def test_is_allowed_only_for_a_plain_allow(server, connect, action, decision, allowed) -> None:
    fake, target = server
    fake.reply = lambda method, request: answer(request, decision)
    assert connect(target).is_allowed(dataclasses.replace(full_request(), action=action)) is allowed


@pytest.mark.parametrize(
    "response",
    [
        pb.CheckResponse(decision=pb.DECISION_UNSPECIFIED),
        pb.CheckResponse(decision=99),
        pb.CheckResponse(
            decision=pb.DECISION_ALLOW,
            items=[pb.ItemResult(item_id="i1", outcome=pb.ITEM_OUTCOME_UNSPECIFIED, decision=pb.DECISION_ALLOW)],
        ),
        pb.CheckResponse(
            decision=pb.DECISION_ALLOW,
            items=[pb.ItemResult(item_id="i1", outcome=pb.ITEM_OUTCOME_KEPT, decision=42)],
        ),
    ],
    ids=["no-decision", "unknown-decision", "no-item-outcome", "unknown-item-decision"],
)
def test_a_decision_the_client_cannot_read_is_an_error_not_a_guess(server, connect, response) -> None:
    fake, target = server
    fake.reply = lambda method, request: response
    with pytest.raises(dc.ServerError, match="does not know"):
        connect(target).is_allowed(full_request())


def _kept(item_id: str = "i1") -> pb.ItemResult:
    return pb.ItemResult(item_id=item_id, outcome=pb.ITEM_OUTCOME_KEPT, decision=pb.DECISION_ALLOW)


def _redacted(item_id: str = "i1") -> pb.ItemResult:
    return pb.ItemResult(item_id=item_id, outcome=pb.ITEM_OUTCOME_REDACTED, decision=pb.DECISION_ALLOW_WITH_OBLIGATIONS)


def _obliged(*obligations: pb.Obligation) -> pb.CheckResponse:
    return pb.CheckResponse(decision=pb.DECISION_ALLOW_WITH_OBLIGATIONS, items=[_redacted()], obligations=obligations)


def _redact(*spans: pb.Span) -> pb.Obligation:
    return pb.Obligation(type="redact_identifying_content", item_ids=["i1"], spans=spans)


IMPOSSIBLE_ANSWERS = {
    "allow-with-obligations": pb.CheckResponse(
        decision=pb.DECISION_ALLOW, items=[_kept()],
        obligations=[pb.Obligation(type="redact_author_identity", item_ids=["i1"])]),
    "allow-with-an-item-redacted": pb.CheckResponse(decision=pb.DECISION_ALLOW, items=[_redacted()]),
    "no-item-results": pb.CheckResponse(decision=pb.DECISION_ALLOW),
    "a-missing-item-result": pb.CheckResponse(decision=pb.DECISION_ALLOW, items=[_kept("other")]),
    "an-extra-item-result": pb.CheckResponse(decision=pb.DECISION_ALLOW, items=[_kept(), _kept("i2")]),
    "a-twice-given-item-result": pb.CheckResponse(decision=pb.DECISION_ALLOW, items=[_kept(), _kept()]),
    "an-unknown-obligation": _obliged(pb.Obligation(type="blur_faces", item_ids=["i1"])),
    "an-obligation-on-an-item-not-asked": _obliged(pb.Obligation(type="exclude_items", item_ids=["i9"])),
    "a-span-ending-before-it-starts": _obliged(_redact(pb.Span(start=7, end=4, reveals="name",
                                                               field="quoted_text"))),
    "a-span-in-an-unknown-field": _obliged(_redact(pb.Span(start=0, end=4, reveals="name", field="link"))),
    "a-span-in-an-item-not-asked": _obliged(_redact(pb.Span(start=0, end=4, reveals="name", field="items.text",
                                                            item_id="i9"))),
    "an-item-text-span-naming-no-item": _obliged(_redact(pb.Span(start=0, end=4, reveals="name",
                                                                 field="items.text"))),
    "obligations-but-none-to-fulfil": pb.CheckResponse(decision=pb.DECISION_ALLOW_WITH_OBLIGATIONS, items=[_redacted()]),
    "an-obligation-naming-no-item": _obliged(pb.Obligation(type="redact_author_identity")),
    "a-hold-without-its-end": _obliged(pb.Obligation(type="hold_until", item_ids=["i1"])),
    "a-label-to-preserve-without-a-label": _obliged(pb.Obligation(type="preserve_label", item_ids=["i1"])),
    "a-redaction-of-no-text": _obliged(_redact()),
    "an-excluded-item-no-obligation-names": pb.CheckResponse(
        decision=pb.DECISION_ALLOW_WITH_OBLIGATIONS,
        items=[pb.ItemResult(item_id="i1", outcome=pb.ITEM_OUTCOME_EXCLUDED, decision=pb.DECISION_DENY)],
        obligations=[pb.Obligation(type="add_notice", item_ids=["i1"], notice="n")]),
    "an-excluded-item-that-is-kept": pb.CheckResponse(
        decision=pb.DECISION_ALLOW_WITH_OBLIGATIONS,
        items=[pb.ItemResult(item_id="i1", outcome=pb.ITEM_OUTCOME_KEPT, decision=pb.DECISION_ALLOW)],
        obligations=[pb.Obligation(type="exclude_items", item_ids=["i1"])]),
    "a-redacted-item-that-is-allowed": pb.CheckResponse(
        decision=pb.DECISION_ALLOW_WITH_OBLIGATIONS,
        items=[pb.ItemResult(item_id="i1", outcome=pb.ITEM_OUTCOME_REDACTED, decision=pb.DECISION_ALLOW)],
        obligations=[pb.Obligation(type="redact_author_identity", item_ids=["i1"])]),
}


@pytest.mark.parametrize("response", IMPOSSIBLE_ANSWERS.values(), ids=IMPOSSIBLE_ANSWERS.keys())
def test_an_answer_that_cannot_be_right_is_an_error_never_an_allow(server, connect, response) -> None:
    fake, target = server
    fake.reply = lambda method, request: response
    client = connect(target)
    with pytest.raises(dc.UnexpectedAnswerError, match="cannot be right"):
        client.is_allowed(full_request())
    with pytest.raises(dc.UnexpectedAnswerError, match="cannot be right"):
        client.check(full_request())
    fake.reply = lambda method, request: pb.CheckBatchResponse(
        results=[answer(request.checks[0], pb.DECISION_ALLOW), response])
    with pytest.raises(dc.UnexpectedAnswerError, match="cannot be right"):
        client.check_batch([full_request(), full_request()])


@pytest.mark.parametrize("action", ["share", "quote", "export"])
def test_only_an_export_may_leave_items_out(server, connect, action) -> None:
    # A share or a quote is all or nothing: acting on a partial one sends what the group never agreed to.
    fake, target = server
    fake.reply = lambda method, request: pb.CheckResponse(
        decision=pb.DECISION_ALLOW_WITH_OBLIGATIONS,
        items=[_kept("a"), pb.ItemResult(item_id="b", outcome=pb.ITEM_OUTCOME_EXCLUDED, decision=pb.DECISION_DENY)],
        obligations=[pb.Obligation(type="exclude_items", item_ids=["b"])])
    request = dataclasses.replace(full_request(), action=action, items=[dc.Item("a"), dc.Item("b")])
    if action == "export":
        assert [r.outcome for r in connect(target).check(request).items] == ["kept", "excluded"]
    else:
        with pytest.raises(dc.UnexpectedAnswerError, match="leaves out items"):
            connect(target).check(request)


def test_a_well_formed_answer_with_every_part_is_accepted(server, connect) -> None:
    """Guards the test above: each impossible answer is one step from this one, which is read."""
    fake, target = server
    fake.reply = lambda method, request: _obliged(
        _redact(pb.Span(start=0, end=0, reveals="name", field="quoted_text"),
                pb.Span(start=0, end=4, reveals="name", field="items.text", item_id="i1"),
                pb.Span(start=1, end=3, reveals="organization", field="attribution.descriptor")),
        pb.Obligation(type="add_notice", item_ids=["i1"], notice="chatham_house_rule"),
        # A listed person without an id is named by name only.
        pb.Obligation(type="redact_participant_identities", item_ids=["i1"], names=["Nobody Id"]))
    decision = connect(target).check(full_request())
    assert decision.decision == "allow_with_obligations" and len(decision.obligations) == 3


def test_an_unknown_finding_effect_reads_as_unspecified(server, connect) -> None:
    fake, target = server
    fake.reply = lambda method, request: answer(request, pb.DECISION_DENY, findings=[pb.Finding(rule="r", effect=7)])
    decision = connect(target).check(full_request())
    assert decision.findings[0].effect == "unspecified"
    assert decision.decision == "deny"


# --- errors ----------------------------------------------------------------------


def _bad_request_status(message: str, violations: list[tuple[str, str]]) -> grpc.Status:
    detail = any_pb2.Any()
    detail.Pack(
        error_details_pb2.BadRequest(
            field_violations=[
                error_details_pb2.BadRequest.FieldViolation(field=f, description=d) for f, d in violations
            ]
        )
    )
    return rpc_status.to_status(status_pb2.Status(code=code_pb2.INVALID_ARGUMENT, message=message, details=[detail]))


def test_invalid_argument_carries_the_field_violations(server, connect) -> None:
    fake, target = server
    fake.abort_with = _bad_request_status(
        "2 fields invalid",
        [("checks[1].destination.kind", "must be set"), ("checks[1].items[0].id", "required")],
    )
    with pytest.raises(dc.InvalidRequestError) as caught:
        connect(target).check_batch([full_request(), full_request()])
    error = caught.value
    assert error.field_violations == (
        dc.FieldViolation("checks[1].destination.kind", "must be set"),
        dc.FieldViolation("checks[1].items[0].id", "required"),
    )
    assert error.field_violations[0].field == "checks[1].destination.kind"
    assert (error.code, error.details) == ("INVALID_ARGUMENT", "2 fields invalid")
    assert "checks[1].items[0].id: required" in str(error)
    assert isinstance(error, dc.DiscretionError) and not isinstance(error, grpc.RpcError)


def test_invalid_argument_without_details_has_no_violations(server, connect) -> None:
    fake, target = server
    fake.abort_with = rpc_status.to_status(status_pb2.Status(code=code_pb2.INVALID_ARGUMENT, message="bad"))
    with pytest.raises(dc.InvalidRequestError) as caught:
        connect(target).check(full_request())
    assert caught.value.field_violations == ()
    assert str(caught.value) == "bad"


@pytest.mark.parametrize(
    ("code", "error_type"),
    [
        (code_pb2.PERMISSION_DENIED, dc.PermissionDeniedError),
        (code_pb2.UNAUTHENTICATED, dc.UnauthenticatedError),
        (code_pb2.INTERNAL, dc.ServerError),
        (code_pb2.NOT_FOUND, dc.ServerError),
        (code_pb2.RESOURCE_EXHAUSTED, dc.ServerError),
    ],
)
def test_each_status_maps_to_its_error(server, connect, code, error_type) -> None:
    fake, target = server
    fake.abort_with = rpc_status.to_status(status_pb2.Status(code=code, message="no"))
    with pytest.raises(error_type) as caught:
        connect(target).list_agreements()
    assert caught.value.code == code_pb2.Code.Name(code)
    assert caught.value.details == "no"
    assert not isinstance(caught.value, grpc.RpcError)


def test_unavailable_is_retried_until_it_succeeds(server, connect) -> None:
    fake, target = server
    fake.fail_first = 2
    assert connect(target).check(full_request()).decision == "allow"
    assert len(fake.seen) == 3


def test_unavailable_gives_up_after_four_attempts(server, connect) -> None:
    fake, target = server
    fake.fail_first = 100
    with pytest.raises(dc.UnavailableError) as caught:
        connect(target).check(full_request())
    assert len(fake.seen) == 4
    assert caught.value.details == "warming up"


def test_other_failures_are_not_retried(server, connect) -> None:
    fake, target = server
    fake.abort_with = rpc_status.to_status(status_pb2.Status(code=code_pb2.INTERNAL, message="boom"))
    with pytest.raises(dc.ServerError):
        connect(target).check(full_request())
    assert len(fake.seen) == 1


def test_a_refused_connection_is_unavailable(refused_target, connect) -> None:
    with pytest.raises(dc.UnavailableError) as caught:
        connect(refused_target).check(full_request())
    assert caught.value.code == "UNAVAILABLE"


def test_a_stalled_server_hits_the_deadline(server, connect) -> None:
    fake, target = server
    fake.stall = threading.Event()
    with pytest.raises(dc.DeadlineExceededError) as caught:
        connect(target, timeout=0.2).check(full_request())
    assert caught.value.code == "DEADLINE_EXCEEDED"


def test_every_call_carries_the_default_deadline_or_its_own(server, connect) -> None:
    fake, target = server
    client = connect(target, timeout=2.0)
    client.check(full_request())
    client.list_agreements(timeout=30)
    default, own = (seen.time_remaining for seen in fake.seen)
    # The wire rounds a timeout up to its unit, so allow a little slack above.
    assert 1.0 < default <= 2.5
    assert 20.0 < own <= 31.0


def test_a_per_call_timeout_shorter_than_the_default_applies(server, connect) -> None:
    fake, target = server
    fake.stall = threading.Event()
    with pytest.raises(dc.DeadlineExceededError):
        connect(target, timeout=30).check(full_request(), timeout=0.2)


def test_metadata_is_sent_with_every_call(server, connect) -> None:
    fake, target = server
    client = connect(target, metadata={"Authorization": "Bearer t0ken", "x-tenant": "acme"})
    client.check(full_request())
    client.list_agreements()
    for seen in fake.seen:
        assert seen.metadata["authorization"] == "Bearer t0ken"
        assert seen.metadata["x-tenant"] == "acme"


def test_tls_credentials_make_the_client_speak_tls(server, connect) -> None:
    fake, target = server
    # The fake server speaks plaintext only, so a client that really uses TLS
    # fails its handshake before any call reaches the servicer.
    with pytest.raises(dc.UnavailableError):
        connect(target, credentials=dc.TlsCredentials()).check(full_request())
    assert fake.seen == []
    assert connect(target).check(full_request()).allowed  # the same server, without TLS


def test_a_closed_client_refuses_calls(server, connect) -> None:
    _, target = server
    client = connect(target)
    client.close()
    client.close()  # repeating is harmless
    with pytest.raises(ValueError, match="closed"):
        client.check(full_request())


# --- the channel pool ------------------------------------------------------------


def _port(peer: str) -> str:
    return peer.rsplit(":", 1)[1]


def test_a_pool_spreads_calls_round_robin_over_separate_connections(server, connect) -> None:
    fake, target = server
    client = connect(target, channels=3)
    for _ in range(6):
        client.check(full_request())
    ports = [_port(seen.peer) for seen in fake.seen]
    assert sorted(collections.Counter(ports).values()) == [2, 2, 2]
    assert ports[:3] == ports[3:]


def test_one_channel_means_one_connection(server, connect) -> None:
    fake, target = server
    client = connect(target)
    for _ in range(3):
        client.list_agreements()
    assert len({seen.peer for seen in fake.seen}) == 1


def test_channels_carry_the_retry_policy() -> None:
    options = dict(_channel.channel_options())
    assert options["grpc.enable_retries"] == 1
    config = json.loads(options["grpc.service_config"])
    (method,) = config["methodConfig"]
    assert method["name"] == [{"service": "discretion.v1.PolicyService"}]
    assert method["retryPolicy"] == {
        "maxAttempts": 4,
        "initialBackoff": "0.05s",
        "maxBackoff": "1s",
        "backoffMultiplier": 2,
        "retryableStatusCodes": ["UNAVAILABLE", "CANCELLED"],
    }


@pytest.mark.parametrize(
    "options",
    [{"timeout": 0}, {"timeout": -1}, {"timeout": None}, {"channels": 0}, {"channels": 1.5}],
)
@pytest.mark.parametrize("kind", [dc.Client, dc.AsyncClient])
def test_clients_refuse_bad_settings(kind, options) -> None:
    with pytest.raises(ValueError):
        kind("127.0.0.1:1", **options)


@pytest.mark.parametrize("metadata", [{"authorization": 1}, [("x-id", None)], {b"x-id": "v"}])
@pytest.mark.parametrize("kind", [dc.Client, dc.AsyncClient])
def test_clients_refuse_metadata_that_is_not_text(kind, metadata) -> None:
    with pytest.raises(TypeError, match="metadata"):
        kind("127.0.0.1:1", metadata=metadata)


# --- the asyncio client as such ------------------------------------------------


def test_async_client_works_as_an_async_context_manager(server) -> None:
    fake, target = server

    async def scenario() -> tuple[dc.Decision, list[dc.Decision]]:
        async with dc.AsyncClient(target, channels=2) as client:
            one = await client.check(full_request())
            many = await asyncio.gather(*(client.check(full_request()) for _ in range(4)))
        with pytest.raises(ValueError, match="closed"):
            await client.check(full_request())
        return one, list(many)

    one, many = asyncio.run(scenario())
    assert one.decision == "allow" and [d.decision for d in many] == ["allow"] * 4
    assert len({seen.peer for seen in fake.seen}) == 2


def test_sync_client_works_as_a_context_manager(server) -> None:
    _, target = server
    with dc.Client(target) as client:
        assert client.check(full_request()).allowed
    with pytest.raises(ValueError, match="closed"):
        client.check(full_request())


def test_the_two_clients_are_twins() -> None:
    def public(cls: type) -> dict[str, inspect.Signature]:
        return {
            name: inspect.signature(member)
            for name, member in vars(cls).items()
            if callable(member) and (not name.startswith("_") or name == "__init__")
        }

    sync, asynchronous = public(dc.Client), public(dc.AsyncClient)
    assert set(sync) == set(asynchronous) == {
        "__init__",
        "check",
        "check_batch",
        "is_allowed",
        "get_interaction_policy",
        "answer_quote_request",
        "recheck_quotes",
        "list_agreements",
        "close",
    }
    for name in sync:
        assert str(sync[name]).replace("AsyncClient", "Client") == str(asynchronous[name]), name
    for name in ("check", "check_batch", "is_allowed", "get_interaction_policy", "answer_quote_request",
                 "recheck_quotes", "list_agreements", "close"):
        assert inspect.iscoroutinefunction(getattr(dc.AsyncClient, name)), name
    assert hasattr(dc.Client, "__enter__") and hasattr(dc.AsyncClient, "__aenter__")


# --- the public surface ----------------------------------------------------------

PUBLIC = {
    "UnexpectedAnswerError",
    "AsyncClient",
    "Client",
    "LocalEngine",
    "TlsCredentials",
    "Actor",
    "Adoption",
    "Attribution",
    "CheckRequest",
    "Consent",
    "Destination",
    "Group",
    "Item",
    "Label",
    "Person",
    "Purpose",
    "Quoter",
    "Recipient",
    "Service",
    "Session",
    "InteractionPolicy",
    "QuoteRequestAnswer",
    "QuoteRecheck",
    "DetachedQuote",
    "IssuedQuote",
    "AgreementInfo",
    "AgreementVersion",
    "Decision",
    "Finding",
    "ItemResult",
    "Obligation",
    "Span",
    "DeadlineExceededError",
    "DiscretionError",
    "FieldViolation",
    "InvalidRequestError",
    "PermissionDeniedError",
    "ServerError",
    "UnauthenticatedError",
    "UnavailableError",
}


def test_all_names_exactly_the_public_api() -> None:
    assert len(dc.__all__) == len(set(dc.__all__))
    assert set(dc.__all__) == PUBLIC
    for name in dc.__all__:
        assert getattr(dc, name).__module__.startswith("discretion_client."), name
    # Submodules (`discretion_client.misp`, an adapter) appear once imported; they are not the client's names.
    assert {n for n, v in vars(dc).items() if not n.startswith("_") and not isinstance(v, types.ModuleType)} == PUBLIC


def _annotations_of(obj: Any) -> list[tuple[str, Any]]:
    """(where, resolved annotation) for a public class's constructor, methods, properties and fields."""
    found: list[tuple[str, Any]] = []
    members = [("__init__", obj.__init__)] + [
        (name, member)
        for name, member in vars(obj).items()
        if not name.startswith("_") and (callable(member) or isinstance(member, property))
    ]
    for name, member in members:
        function = member.fget if isinstance(member, property) else member
        if not inspect.isfunction(function):
            continue  # inherited from object or Exception
        for key, hint in typing.get_type_hints(function).items():
            found.append((f"{obj.__name__}.{name}:{key}", hint))
    if dataclasses.is_dataclass(obj):
        for key, hint in typing.get_type_hints(obj).items():
            found.append((f"{obj.__name__}.{key}", hint))
    return found


def _leaves(hint: Any) -> Iterator[Any]:
    yield hint
    for argument in typing.get_args(hint):
        yield from _leaves(argument)


def test_no_public_signature_mentions_grpc_or_protobuf() -> None:
    checked = 0
    for name in dc.__all__:
        for where, hint in _annotations_of(getattr(dc, name)):
            for leaf in _leaves(hint):
                module = getattr(leaf, "__module__", "") or ""
                text = f"{module} {leaf!r}"
                assert "grpc" not in text and "_pb2" not in text and "google" not in text, (where, leaf)
                checked += 1
    assert checked > 200  # the walk really saw the signatures


MIRRORS = [
    (dc.Person, pb.Person),
    (dc.Actor, pb.Actor),
    (dc.Adoption, pb.Adoption),
    (dc.Group, pb.Group),
    (dc.Label, pb.Label),
    (dc.Consent, pb.Consent),
    (dc.Session, pb.Session),
    (dc.Item, pb.Item),
    (dc.Recipient, pb.Recipient),
    (dc.Destination, pb.Destination),
    (dc.Service, pb.Service),
    (dc.Attribution, pb.Attribution),
    (dc.Purpose, pb.Purpose),
    (dc.CheckRequest, pb.CheckRequest),
    (dc.Decision, pb.CheckResponse),
    (dc.Obligation, pb.Obligation),
    (dc.Span, pb.Span),
    (dc.ItemResult, pb.ItemResult),
    (dc.Finding, pb.Finding),
    (dc.AgreementInfo, pb.AgreementInfo),
    (dc.AgreementVersion, pb.AgreementVersion),
]


@pytest.mark.parametrize(("public", "message"), MIRRORS, ids=[m[0].__name__ for m in MIRRORS])
def test_public_types_mirror_the_proto_field_for_field(public, message) -> None:
    written_by_the_client = {"roster_digest"}  # how the roster travels, not a fact of the group's
    assert {f.name for f in dataclasses.fields(public)} == {f.name for f in message.DESCRIPTOR.fields} - written_by_the_client


VOCABULARIES = [
    (_model.ActionName, pb.Action),
    (_model.DestinationKindName, pb.DestinationKind),
    (_model.ItemKindName, pb.ItemKind),
    (_model.FormatName, pb.Format),
    (_model.DerivationName, pb.Derivation),
    (_model.RoleName, pb.Role),
    (_model.PrivacyName, pb.Privacy),
    (_model.VisibilityName, pb.Visibility),
    (_model.LegalBasisName, pb.LegalBasis),
    (_model.UseName, pb.Use),
    (_model.DecisionName, pb.Decision),
    (_model.ItemOutcomeName, pb.ItemOutcome),
]


@pytest.mark.parametrize(("vocabulary", "enum"), VOCABULARIES, ids=[v[1].DESCRIPTOR.name for v in VOCABULARIES])
def test_enum_vocabularies_match_the_proto(vocabulary, enum) -> None:
    prefix = enum.Name(0).removesuffix("UNSPECIFIED")
    from_proto = {name.removeprefix(prefix).lower() for name, number in enum.items() if number != 0}
    assert set(typing.get_args(vocabulary)) == from_proto


def test_effect_vocabulary_is_the_decisions_plus_unspecified() -> None:
    prefix = "EFFECT_"
    from_proto = {name.removeprefix(prefix).lower() for name in pb.Effect.keys()}
    assert set(typing.get_args(_model.EffectName)) == from_proto


def test_the_errors_docstring_names_every_error() -> None:
    for name in PUBLIC:
        if name.endswith("Error"):
            assert name in _errors.__doc__, name
            assert issubclass(getattr(dc, name), dc.DiscretionError)


# --- builders ----------------------------------------------------------------------


def _request(**changes: Any) -> dc.CheckRequest:
    fields = {
        "action": "share",
        "actor": dc.Actor("a1"),
        "group": dc.Group("g1"),
        "items": [dc.Item("i1")],
        "destination": dc.Destination("same_group"),
    }
    return dc.CheckRequest(**{**fields, **changes})


BAD_ENUMS: list[tuple[str, Callable[[], Any]]] = [
    ("CheckRequest.action", lambda: _request(action="delete")),
    ("CheckRequest.action", lambda: _request(action="SHARE")),
    ("CheckRequest.format", lambda: _request(format="pdf")),
    ("CheckRequest.derived", lambda: _request(derived="gist")),
    ("Destination.kind", lambda: dc.Destination("internet")),
    ("Destination.kind", lambda: dc.Destination("AI_TOOL")),
    ("Destination.kind", lambda: dc.Destination("destination_kind_public")),
    ("Actor.role", lambda: dc.Actor("a1", role="king")),
    ("Actor.kind", lambda: dc.Actor("a1", kind="robot")),
    ("Group.privacy", lambda: dc.Group("g1", privacy="secret")),
    ("Group.visibility", lambda: dc.Group("g1", visibility="invisible")),
    ("Item.kind", lambda: dc.Item("i1", kind="video")),
    ("Purpose.legal_basis", lambda: dc.Purpose(legal_basis="because")),
    ("Purpose.use", lambda: dc.Purpose(use="sell")),
]


@pytest.mark.parametrize(("field", "build"), BAD_ENUMS, ids=[f"{f}-{i}" for i, (f, _) in enumerate(BAD_ENUMS)])
def test_builders_refuse_unknown_enum_names_naming_the_field(field, build) -> None:
    with pytest.raises(ValueError, match="^" + re.escape(field) + ": unknown value"):
        build()


@pytest.mark.parametrize("build", [lambda: _request(action=None), lambda: dc.Destination(None)])
def test_required_enums_cannot_be_left_out(build) -> None:
    with pytest.raises(ValueError, match="required"):
        build()


NAIVE = dt.datetime(2025, 3, 1, 9, 30)
NAIVE_TIMES: list[tuple[str, Callable[[], Any]]] = [
    ("CheckRequest.requested_at", lambda: _request(requested_at=NAIVE)),
    ("Actor.joined_at", lambda: dc.Actor("a1", joined_at=NAIVE)),
    ("Adoption.effective_from", lambda: dc.Adoption("x", effective_from=NAIVE)),
    ("Adoption.disclosed_at", lambda: dc.Adoption("x", disclosed_at=NAIVE)),
    ("Label.set_at", lambda: dc.Label("tlp", "red", set_at=NAIVE)),
    ("Consent.granted_at", lambda: dc.Consent("p1", "export", granted_at=NAIVE)),
    ("Consent.withdrawn_at", lambda: dc.Consent("p1", "export", withdrawn_at=NAIVE)),
    ("Item.posted_at", lambda: dc.Item("i1", posted_at=NAIVE)),
    ("Item.retracted_at", lambda: dc.Item("i1", retracted_at=NAIVE)),
]


@pytest.mark.parametrize(("field", "build"), NAIVE_TIMES, ids=[f for f, _ in NAIVE_TIMES])
def test_builders_refuse_naive_datetimes(field, build) -> None:
    with pytest.raises(ValueError, match="^" + re.escape(field) + ": datetime must be timezone-aware"):
        build()


@pytest.mark.parametrize(
    "when",
    [dt.datetime(9999, 12, 31, 23, tzinfo=dt.timezone(dt.timedelta(hours=-5))),
     dt.datetime(1, 1, 1, 1, tzinfo=dt.timezone(dt.timedelta(hours=5)))],
    ids=["after-9999", "before-0001"],
)
def test_builders_refuse_times_a_timestamp_cannot_carry(when) -> None:
    # Once a raw ValueError from protobuf while sending; now the field is named when the request is built.
    with pytest.raises(ValueError, match=r"^Item\.posted_at: .* outside the range a timestamp carries"):
        dc.Item("i1", posted_at=when)
    with pytest.raises(ValueError, match=r"^CheckRequest\.requested_at: "):
        _request(requested_at=when)


def test_builders_refuse_wrong_shapes() -> None:
    with pytest.raises(TypeError, match=r"Person\.handles"):
        dc.Person("p1", handles="@p1")  # a lone string is not a list of handles
    with pytest.raises(TypeError, match=r"Group\.participants\[1\]"):
        dc.Group("g1", participants=[dc.Person("p1"), {"id": "p2"}])
    with pytest.raises(TypeError, match=r"CheckRequest\.attributes\.when"):
        _request(attributes={"when": dt.datetime.now(UTC)})
    with pytest.raises(ValueError, match=r"Adoption\.version"):
        dc.Adoption("x", version=-1)
    with pytest.raises(ValueError, match=r"Session\.speaker_count"):
        dc.Session(speaker_count=2**32)
    with pytest.raises(TypeError, match=r"Item\.posted_at"):
        dc.Item("i1", posted_at="2025-03-01T09:30:00Z")
    with pytest.raises(TypeError, match=r"CheckRequest\.actor"):
        _request(actor=dc.Person("a1"))
    with pytest.raises(TypeError, match="expected a CheckRequest"):
        dc.Client("127.0.0.1:1").check({"action": "share"})


def test_built_requests_cannot_change_after_the_fact() -> None:
    handles = ["@p1"]
    attributes = {"ticket": "T-1"}
    person = dc.Person("p1", handles=handles)
    request = _request(attributes=attributes)
    handles.append("@other")
    attributes["ticket"] = "T-2"
    assert person.handles == ("@p1",)
    assert request.attributes["ticket"] == "T-1"
    with pytest.raises(dataclasses.FrozenInstanceError):
        request.action = "export"  # type: ignore[misc]
    with pytest.raises(TypeError):
        request.attributes["ticket"] = "T-3"  # type: ignore[index]


def test_small_builders_read_positionally_like_the_proto() -> None:
    assert dc.Adoption("chatham-house", 1) == dc.Adoption(agreement="chatham-house", version=1)
    assert dc.Label("tlp", "amber") == dc.Label(scheme="tlp", value="amber")
    with pytest.raises(TypeError):
        dc.CheckRequest("share")  # type: ignore[misc]  # too many fields to pass by position


def test_tls_credentials_need_key_and_chain_together() -> None:
    with pytest.raises(ValueError, match="together"):
        dc.TlsCredentials(private_key=b"key")
    assert dc.TlsCredentials(private_key=b"k", certificate_chain=b"c").certificate_chain == b"c"
