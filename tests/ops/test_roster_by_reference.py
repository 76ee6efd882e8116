"""A large group's roster sent once, then named by its digest (`Group.roster_digest`), over real servers.

Each replica keeps the rosters it was sent, per tenant, within a byte bound;
a digest it does not hold is FAILED_PRECONDITION naming it, and the client
sends the roster again without its caller seeing it. Nothing here may change
a decision: by reference, every request is decided as it is by value.
"""

from __future__ import annotations

import dataclasses

import grpc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from google.rpc import error_details_pb2
from grpc_status import rpc_status

import discretion_client as dc
from discretion_client import _convert
from discretion_client._rosters import Rosters
from discretion.server import rosters
from discretion.server._gen.discretion.v1 import policy_pb2 as pb
from integration.conftest import RULES, RunningServer
from security.conftest import FORUM_TOKEN, NEWSROOM_TOKEN, tenants_file

from readme_question import CHEN, ROUNDTABLE, chatham_quote

MEMBERS = [dc.Person(id=f"m{i}", display_name=f"Member Surname{i}", organization=f"Guild {i % 40}",
                     handles=(f"@member{i}",)) for i in range(300)]
BIG = dataclasses.replace(ROUNDTABLE, participants=(*ROUNDTABLE.participants, *MEMBERS))
NAMING = "As Member Surname17 told @member42, Chen was right."


def _quote(group: dc.Group = BIG, text: str = NAMING, **fields) -> dc.CheckRequest:
    return chatham_quote(group=group, quoted_text=text, **fields)


def _same(a: dc.Decision, b: dc.Decision) -> None:
    """The same decision, whoever decided it and whatever its id."""
    assert dataclasses.replace(a, decision_id="") == dataclasses.replace(b, decision_id="")


def _raw(target: str, method: str = "Check", metadata=()):
    """A stub on a connection of its own: a channel does not share its connection with any other."""
    channel = grpc.insecure_channel(target, options=[("grpc.use_local_subchannel_pool", 1)])
    call = channel.unary_unary(f"/discretion.v1.PolicyService/{method}",
                               request_serializer=lambda m: m.SerializeToString(), response_deserializer=bytes)
    return channel, lambda message: call(message, timeout=10, metadata=metadata)


def _by_reference(request: dc.CheckRequest, *, send: bool = False) -> pb.CheckRequest:
    """The request with its roster's digest alone, or (`send`) with the participants beside it."""
    refs = Rosters(1).refs()
    digest = _convert.check_request(request, refs).group.roster_digest
    return _convert.check_request(request, Rosters(1).refs(send=[digest] if send else []))


def _unknown(error: grpc.RpcError) -> list[tuple[str, str]]:
    """(subject, description) of each ROSTER_UNKNOWN violation the refusal names."""
    assert error.code() == grpc.StatusCode.FAILED_PRECONDITION, error
    named = []
    for detail in rpc_status.from_call(error).details:
        failure = error_details_pb2.PreconditionFailure()
        assert detail.Unpack(failure)
        named += [(v.subject, v.description) for v in failure.violations if v.type == "ROSTER_UNKNOWN"]
    return named


@pytest.fixture(scope="module")
def served():
    server = RunningServer(RULES, "--max-clock-skew", "off", "--workers", "1")
    yield server
    server.stop()


def test_by_reference_a_large_group_is_decided_as_by_value_and_its_request_is_small(served):
    with dc.Client(served.target, rosters_by_reference_from=None) as by_value, dc.Client(served.target) as client:
        expected = by_value.check(_quote())
        first, again = client.check(_quote()), client.check(_quote())  # the first one sends the roster again
    assert expected.decision == "allow_with_obligations"
    named = next(o for o in expected.obligations if o.type == "redact_identifying_content")
    assert [NAMING[s.start:s.end] for s in named.spans] == ["Member Surname17", "@member42", "Chen"]
    _same(first, expected)
    _same(again, expected)
    alone = _by_reference(_quote())
    assert not alone.group.participants and len(alone.SerializeToString()) <= 2048
    assert len(_convert.check_request(_quote()).SerializeToString()) > 5 * 2048


def test_a_digest_alone_that_the_server_lacks_is_failed_precondition_naming_it(served):
    group = dataclasses.replace(BIG, id="g-unsent", participants=BIG.participants[:-1])
    message = _by_reference(_quote(group))
    channel, call = _raw(served.target)
    with channel, pytest.raises(grpc.RpcError) as refused:
        call(message)
    assert _unknown(refused.value) == [(message.group.roster_digest, "`group.roster_digest`: no roster of this "
                                        "digest is held here for the caller; send the request again with "
                                        "`group.participants`")]


def test_a_digest_that_is_not_the_participants_is_invalid_argument(served):
    sent = _by_reference(_quote(), send=True)
    sent.group.participants[5].display_name = "Someone Else"  # the roster changed, the digest did not
    malformed = _by_reference(_quote())
    malformed.group.roster_digest = malformed.group.roster_digest.upper()
    channel, call = _raw(served.target)
    with channel:
        for message, words in ((sent, "is not the digest of `group.participants`"),
                               (malformed, "not a roster digest")):
            with pytest.raises(grpc.RpcError) as refused:
                call(message)
            assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
            violations = rpc_status.from_call(refused.value).details
            bad = error_details_pb2.BadRequest()
            assert violations[0].Unpack(bad)
            assert [v.field for v in bad.field_violations] == ["group.roster_digest"]
            assert words in bad.field_violations[0].description


def test_a_changed_roster_is_a_new_digest_and_its_new_member_is_recognised(served):
    newcomer = dc.Person(id="m-new", display_name="Zora Quillfeather", organization="Harbour Trust")
    changed = dataclasses.replace(BIG, participants=(*BIG.participants, newcomer))
    text = "Zora Quillfeather said rates will rise."
    assert _by_reference(_quote(changed)).group.roster_digest != _by_reference(_quote()).group.roster_digest
    with dc.Client(served.target) as client:
        before = client.check(_quote(BIG, text))  # the old roster, held: nobody named
        after = client.check(_quote(changed, text))
    assert not any(o.type == "redact_identifying_content" for o in before.obligations)
    spans = next(o for o in after.obligations if o.type == "redact_identifying_content").spans
    assert [text[s.start:s.end] for s in spans] == ["Zora Quillfeather"]


def test_a_batch_names_every_roster_it_lacks_and_the_client_sends_them(served):
    other = dataclasses.replace(BIG, id="g-other", participants=BIG.participants[::-1])
    requests = [_quote(other), _quote(dataclasses.replace(BIG, participants=BIG.participants[1:])), _quote(other)]
    batch = pb.CheckBatchRequest(checks=[_by_reference(r) for r in requests])
    channel, call = _raw(served.target, "CheckBatch")
    with channel, pytest.raises(grpc.RpcError) as refused:
        call(batch)
    named = _unknown(refused.value)
    assert [subject for subject, _ in named] == [batch.checks[i].group.roster_digest for i in (0, 1, 2)]
    assert [words.split("`")[1] for _, words in named] == [f"checks[{i}].group.roster_digest" for i in (0, 1, 2)]
    with dc.Client(served.target, rosters_by_reference_from=None) as by_value, dc.Client(served.target) as client:
        for got, expected in zip(client.check_batch(requests), by_value.check_batch(requests), strict=True):
            _same(got, expected)


def test_the_reference_engine_keeps_its_own_and_explains_by_reference(served):
    explained = _quote(dataclasses.replace(BIG, id="g-explained"), explain=True)
    with dc.Client(served.target, rosters_by_reference_from=None) as by_value, dc.Client(served.target) as client:
        expected = by_value.check(explained)
        _same(client.check(explained), expected)
        _same(client.check(explained), expected)
    assert expected.explanation


def test_quote_questions_take_the_roster_by_reference(served):
    post = dc.Item(id="p-1", author=CHEN, text="t", link="https://forum.example/p/1")
    with dc.Client(served.target, rosters_by_reference_from=None) as by_value, dc.Client(served.target) as client:
        expected = by_value.get_interaction_policy(BIG, post, author_uri="https://forum.example/u/chen")
        got = client.get_interaction_policy(BIG, post, author_uri="https://forum.example/u/chen")
    assert (got.approval, got.can_quote) == (expected.approval, expected.can_quote)


def test_two_replicas_behind_one_address_each_fill_their_own_and_then_both_decide_by_reference(start_ops):
    server = start_ops(RULES, "--max-clock-skew", "off", workers=2)
    alone, sent = _by_reference(_quote()), _by_reference(_quote(), send=True)
    with dc.Client(server.target, rosters_by_reference_from=None) as by_value:
        expected = pb.CheckResponse.FromString(_raw_answer(server.target, _convert.check_request(_quote())))
    misses, answers = 0, []
    for _ in range(40):  # fresh connections, which the kernel spreads over the two workers
        channel, call = _raw(server.target)
        with channel:
            try:
                answers.append(call(alone))
            except grpc.RpcError as error:
                assert _unknown(error)
                misses += 1
                answers.append(call(sent))
    assert misses == 2, f"each worker asks once for the roster, then holds it: {misses} asked"
    for answer in answers:
        got = pb.CheckResponse.FromString(answer)
        got.decision_id = expected.decision_id
        assert got == expected
    assert by_value is not None


def _raw_answer(target: str, message: pb.CheckRequest) -> bytes:
    channel, call = _raw(target)
    with channel:
        return call(message)


def test_a_tenant_cannot_use_another_tenants_digest(tmp_path):
    server = RunningServer(RULES, "--tenants", str(tenants_file(tmp_path)), "--max-clock-skew", "off",
                           "--workers", "1")
    try:
        forum = [("authorization", f"Bearer {FORUM_TOKEN}")]
        newsroom = [("authorization", f"Bearer {NEWSROOM_TOKEN}")]
        request = _quote(dataclasses.replace(BIG, id="g-forum-1"))
        with dc.Client(server.target, metadata=forum) as client:
            assert client.check(request).decision == "allow_with_obligations"  # the forum's server holds it now
        theirs = _by_reference(dataclasses.replace(request, group=dataclasses.replace(
            BIG, id="g-news-1", adoptions=[dc.Adoption("chatham-house")])))
        channel, call = _raw(server.target, metadata=newsroom)
        with channel, pytest.raises(grpc.RpcError) as refused:
            call(theirs)
        assert [subject for subject, _ in _unknown(refused.value)] == [theirs.group.roster_digest]
        channel, call = _raw(server.target, metadata=forum)
        with channel:  # the forum itself is answered by reference
            assert pb.CheckResponse.FromString(call(_by_reference(request))).decision == pb.DECISION_ALLOW_WITH_OBLIGATIONS
    finally:
        server.stop()


def _kept_bytes(engine: str, message: pb.CheckRequest) -> int:
    """The bytes one roster takes in `engine`'s store, as it counts them, measured in this process."""
    if engine == "reference":
        store = rosters.Rosters(2**30)
        rosters.keep([message.group], rosters.resolve([("", message.group)], store, "t"), store, "t")
        return store.usage("t")[1]
    import dataclasses as dc_

    import discretion_native
    from discretion.server.limits import Limits
    from discretion.store.files import lower_directory

    native = discretion_native.Engine(lower_directory(RULES).SerializeToString())
    before = discretion_native.roster_cache_usage("size-probe")[1]
    native.check(native.decode_check(message.SerializeToString()), 1_800_000_000 * 10**9, None,
                 dc_.asdict(Limits()), "size-probe")
    return discretion_native.roster_cache_usage("size-probe")[1] - before


@pytest.mark.parametrize("engine", ["native", "reference"])
def test_rosters_are_evicted_least_recently_used_first_within_the_byte_bound(tmp_path, engine):
    one = _kept_bytes(engine, _by_reference(_quote(), send=True))
    assert one > 0
    bound = one * 3 // 2  # room for one roster of BIG (with what is derived from it), not two
    server = RunningServer(RULES, "--max-clock-skew", "off", "--workers", "1", "--engine", engine,
                           "--roster-cache-bytes", str(bound))
    try:
        first = _quote()
        second = _quote(dataclasses.replace(BIG, participants=BIG.participants[::-1]))
        channel, call = _raw(server.target)
        with channel:
            call(_by_reference(first, send=True))
            call(_by_reference(first))  # held
            call(_by_reference(second, send=True))  # the first goes to make room
            call(_by_reference(second))
            with pytest.raises(grpc.RpcError) as refused:
                call(_by_reference(first))
            assert [s for s, _ in _unknown(refused.value)] == [_by_reference(first).group.roster_digest]
    finally:
        server.stop()


_TEXT = st.text(max_size=12)
_PEOPLE = st.lists(st.builds(dc.Person, id=_TEXT, display_name=_TEXT, organization=_TEXT,
                             handles=st.lists(_TEXT, max_size=3), is_minor=st.booleans(),
                             aliases=st.lists(_TEXT, max_size=2), organization_aliases=st.lists(_TEXT, max_size=2)),
                   min_size=1, max_size=6)


@settings(max_examples=200, deadline=None)
@given(_PEOPLE)
def test_the_client_the_server_and_the_native_engine_compute_one_digest(people):
    import discretion_native

    from_client = Rosters(1).digest(tuple(people), _convert._fill_person)
    sent = _convert.check_request(_quote(dataclasses.replace(BIG, participants=people))).group.participants
    assert from_client == rosters.digest(sent)
    assert from_client == discretion_native.roster_digest(pb.Roster(participants=sent).SerializeToString())


def test_the_digest_of_nobody_is_the_same_everywhere_and_small_rosters_go_by_value():
    import discretion_native

    assert rosters.digest(()) == rosters.NOBODY == discretion_native.roster_digest(b"")
    assert Rosters().digest(tuple(ROUNDTABLE.participants), _convert._fill_person) is None
    assert not _convert.check_request(_quote(ROUNDTABLE), Rosters().refs()).group.roster_digest


def test_a_batch_naming_a_held_roster_many_times_is_refused_as_the_message_it_stands_for(tmp_path):
    """The reference engine fills each digest in: a batch may not name more roster than a message may carry."""
    one = len(pb.Roster(participants=_by_reference(_quote(), send=True).group.participants).SerializeToString())
    server = RunningServer(RULES, "--max-clock-skew", "off", "--workers", "1", "--max-message-bytes",
                           str(one * 5))
    try:
        explained = _quote(explain=True)  # an explanation is the reference engine's
        batch = pb.CheckBatchRequest(checks=[_by_reference(explained)] * 8)
        channel, call = _raw(server.target)
        batches = channel.unary_unary("/discretion.v1.PolicyService/CheckBatch",
                                      request_serializer=lambda m: m.SerializeToString(), response_deserializer=bytes)
        with channel:
            call(_by_reference(explained, send=True))  # held by the reference engine from here on
            batches(pb.CheckBatchRequest(checks=[_by_reference(explained)] * 4), timeout=30)  # within the bound
            with pytest.raises(grpc.RpcError) as refused:
                batches(batch, timeout=30)
        assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        bad = error_details_pb2.BadRequest()
        assert rpc_status.from_call(refused.value).details[0].Unpack(bad)
        assert [v.field for v in bad.field_violations] == ["checks[5].group.roster_digest"]
        assert "--max-message-bytes" in bad.field_violations[0].description
    finally:
        server.stop()
