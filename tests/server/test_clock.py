"""The server decides at its own clock: a caller's `requested_at` can neither backdate nor forward-date a decision."""

from __future__ import annotations

import time

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from discretion.server._gen.discretion.v1 import policy_pb2 as pb
from discretion.store.files import compile_directory

from .support import RULES, StaticHolder, check, policy_stub, running
from .test_status import bad_request

HOUR = 3600


@pytest.fixture(scope="module")
def holder():
    return StaticHolder(compile_directory(RULES))


@pytest.fixture(scope="module")
def stub(holder):
    with running(holder) as channel:  # the default: 300 s of skew
        yield policy_stub(channel)


def at(offset_seconds: float) -> Timestamp:
    """The instant `offset_seconds` from now."""
    stamp = Timestamp()
    stamp.FromNanoseconds(time.time_ns() + round(offset_seconds * 1e9))
    return stamp


def retracted_share(requested_at: Timestamp | None, retracted_ago: float = 100) -> pb.CheckRequest:
    """A share to the group of an item its author retracted `retracted_ago` seconds ago."""
    request = check(items=[pb.Item(id="m1", author=pb.Person(id="bo"), posted_at=at(-HOUR),
                                   retracted_at=at(-retracted_ago))])
    if requested_at is not None:
        request.requested_at.CopyFrom(requested_at)
    return request


def embargoed_quote(requested_at: Timestamp | None, lifts_in: float) -> pb.CheckRequest:
    """A public quote of a press item embargoed until `lifts_in` seconds from now."""
    until = at(lifts_in).ToJsonString()
    request = check(action=pb.ACTION_QUOTE, destination=pb.Destination(kind=pb.DESTINATION_KIND_PUBLIC),
                    group=pb.Group(id="g1", adoptions=[pb.Adoption(agreement="press")]),
                    items=[pb.Item(id="m1", author=pb.Person(id="bo"), posted_at=at(-HOUR),
                                   labels=[pb.Label(scheme="embargo", value="until", params={"until": until})])])
    if requested_at is not None:
        request.requested_at.CopyFrom(requested_at)
    return request


def embargo_holds(response: pb.CheckResponse) -> bool:
    return response.decision == pb.DECISION_DENY or any(
        o.type == "hold_until" for o in response.obligations)


@pytest.mark.parametrize("offset", [-301, 301, -10 * 365 * 86_400, 10 * 365 * 86_400])
def test_a_requested_at_beyond_the_skew_is_refused_naming_it(stub, offset):
    with pytest.raises(grpc.RpcError) as raised:
        stub.Check(retracted_share(at(offset)), timeout=10)
    [(field, description)] = bad_request(raised.value)
    assert field == "requested_at"
    assert ("behind" if offset < 0 else "ahead of") in description and "300 s it allows" in description


def test_a_batch_entry_beyond_the_skew_refuses_the_batch_naming_it(stub):
    batch = pb.CheckBatchRequest(checks=[retracted_share(None), retracted_share(at(-HOUR))])
    with pytest.raises(grpc.RpcError) as raised:
        stub.CheckBatch(batch, timeout=10)
    assert [field for field, _ in bad_request(raised.value)] == ["checks[1].requested_at"]


def test_backdating_within_the_skew_does_not_reach_before_a_retraction(stub):
    # Decided as of 200 s ago the item was not yet retracted; the server's clock says it is.
    assert stub.Check(retracted_share(None), timeout=10).decision == pb.DECISION_DENY
    response = stub.Check(retracted_share(at(-200)), timeout=10)
    assert response.decision == pb.DECISION_DENY
    assert "retracted" in {f.reason_code for f in response.findings}


def test_forward_dating_within_the_skew_does_not_lift_an_embargo(stub):
    assert embargo_holds(stub.Check(embargoed_quote(None, lifts_in=100), timeout=10))
    assert embargo_holds(stub.Check(embargoed_quote(at(200), lifts_in=100), timeout=10))


def test_with_the_skew_off_requested_at_is_the_instant_decided_at(holder):
    # What-if and replay deployments: as of an hour ago the item was not yet retracted.
    with running(holder, max_clock_skew=None) as channel:
        stub = policy_stub(channel)
        assert stub.Check(retracted_share(at(-HOUR), retracted_ago=100), timeout=10).decision == pb.DECISION_ALLOW
        assert not embargo_holds(stub.Check(embargoed_quote(at(200), lifts_in=100), timeout=10))
        assert stub.Check(retracted_share(None), timeout=10).decision == pb.DECISION_DENY


def test_a_smaller_skew_refuses_sooner(holder):
    with running(holder, max_clock_skew=5) as channel:
        stub = policy_stub(channel)
        assert stub.Check(retracted_share(at(-1)), timeout=10).decision == pb.DECISION_DENY
        with pytest.raises(grpc.RpcError) as raised:
            stub.Check(retracted_share(at(-60)), timeout=10)
        [(field, description)] = bad_request(raised.value)
        assert field == "requested_at" and "5 s it allows" in description


def quote_under(adoptions: list[pb.Adoption], **item_fields) -> pb.CheckRequest:
    """A member's public quote, naming nobody, of an item posted an hour ago."""
    return check(action=pb.ACTION_QUOTE, destination=pb.Destination(kind=pb.DESTINATION_KIND_EXTERNAL_INDIVIDUAL),
                 group=pb.Group(id="g1", adoptions=adoptions),
                 items=[pb.Item(id="m1", author=pb.Person(id="bo"), posted_at=at(-HOUR), **item_fields)])


ON_THE_RECORD = pb.Adoption(agreement="on-the-record", effective_from=at(-24 * HOUR))


def held(response: pb.CheckResponse) -> bool:
    """Not passed on as asked: denied, or only once the author agrees."""
    return response.decision == pb.DECISION_DENY or any(o.type == "require_author_consent"
                                                        for o in response.obligations)


@pytest.mark.parametrize("case", ["retraction", "withdrawal", "tightening"])
def test_an_end_stamped_within_the_skew_ahead_of_the_server_has_already_happened(holder, stub, case):
    # The caller's clock may be a minute ahead: in its world the item is retracted, the consent withdrawn,
    # the terms tightened. Read at the server's clock none of it would have happened yet.
    if case == "retraction":
        request = quote_under([ON_THE_RECORD], retracted_at=at(60))
    elif case == "withdrawal":
        ask_first = pb.Adoption(agreement="ask-before-quoting", effective_from=at(-24 * HOUR))
        request = quote_under([ask_first], consents=[
            pb.Consent(by="bo", scope="share_outside", granted_at=at(-2 * HOUR), withdrawn_at=at(60))])
    else:
        stays = pb.Adoption(agreement="stays-in-group", effective_from=at(60), replaces=["on-the-record"])
        request = quote_under([ON_THE_RECORD, stays])
    assert held(stub.Check(request, timeout=10))
    with running(holder, max_clock_skew=None) as channel:  # as of the stated instants: not yet
        assert not held(policy_stub(channel).Check(request, timeout=10))


def test_a_grant_stamped_ahead_of_the_server_is_not_yet_granted(stub):
    ask_first = pb.Adoption(agreement="ask-before-quoting", effective_from=at(-24 * HOUR))
    request = quote_under([ask_first], consents=[pb.Consent(by="bo", scope="share_outside", granted_at=at(60))])
    assert held(stub.Check(request, timeout=10))
    request.items[0].consents[0].granted_at.CopyFrom(at(-60))
    assert not held(stub.Check(request, timeout=10))


@pytest.mark.parametrize("field", ["items[0].retracted_at", "items[0].consents[0].withdrawn_at"])
def test_a_retraction_or_withdrawal_stamped_beyond_the_skew_ahead_is_refused_naming_it(holder, stub, field):
    # Read as "not yet", what its author took back would pass; nobody schedules a retraction.
    if field == "items[0].retracted_at":
        request = quote_under([ON_THE_RECORD], retracted_at=at(301))
    else:
        ask_first = pb.Adoption(agreement="ask-before-quoting", effective_from=at(-24 * HOUR))
        request = quote_under([ask_first], consents=[
            pb.Consent(by="bo", scope="share_outside", granted_at=at(-2 * HOUR), withdrawn_at=at(3600))])
    with pytest.raises(grpc.RpcError) as raised:
        stub.Check(request, timeout=10)
    [(named, description)] = bad_request(raised.value)
    assert named == field and "ahead of the server's clock" in description
    with running(holder, max_clock_skew=None) as channel:  # what-if and replay: as stated
        policy_stub(channel).Check(request, timeout=10)
