"""PolicyService over a real channel, deciding with the shipped rules."""

from __future__ import annotations

import pytest
from google.protobuf.timestamp_pb2 import Timestamp

from discretion.server import servicer
from discretion.server._gen.discretion.v1 import policy_pb2 as pb
from discretion.store.files import compile_directory

from .support import MARCH_2026, RULES, StaticHolder, check, policy_stub, running


@pytest.fixture(scope="module")
def policy():
    return compile_directory(RULES)


@pytest.fixture
def holder(policy):
    return StaticHolder(policy)


@pytest.fixture
def stub(holder):
    with running(holder) as channel:
        yield policy_stub(channel)


def test_check_answers_with_the_decision_and_the_revision(stub, policy):
    response = stub.Check(check(), timeout=10)
    assert response.decision == pb.DECISION_ALLOW
    assert [r.item_id for r in response.items] == ["m1"]
    assert response.policy_revision == policy.revision
    assert list(response.explanation) == []


def test_an_explanation_is_returned_when_asked_for(stub):
    response = stub.Check(check(explain=True), timeout=10)
    assert response.explanation
    assert response.explanation[-1] == "decision: allow"


def test_an_unspecified_action_is_a_denial_naming_the_field_not_an_error(stub):
    response = stub.Check(check(action=pb.ACTION_UNSPECIFIED), timeout=10)
    assert response.decision == pb.DECISION_DENY
    assert "action" in response.reason


def test_a_batch_answers_each_check_in_order_as_if_sent_alone(stub):
    checks = [
        check(),
        check(action=pb.ACTION_UNSPECIFIED),
        check(actor=pb.Actor(id="eve", member=False), explain=True),
        check(destination=pb.Destination(kind=pb.DESTINATION_KIND_PUBLIC)),
    ]
    batch = stub.CheckBatch(pb.CheckBatchRequest(checks=checks), timeout=10)
    alone = [stub.Check(c, timeout=10) for c in checks]
    # Each decision has its own id; otherwise each answer is the one its check gets alone.
    ids = [r.decision_id for r in [*batch.results, *alone]]
    assert len(set(ids)) == len(ids) == 2 * len(checks)
    for answer in [*batch.results, *alone]:
        answer.ClearField("decision_id")
    assert list(batch.results) == alone


@pytest.mark.parametrize("engine", ["native", "reference"])
def test_a_batch_reads_the_policy_and_the_clock_once(monkeypatch, holder, engine):
    seen_now = []

    def spy(policy, request, *, now, tracer=None, abandoned=None):
        seen_now.append(now)
        return real_decide(policy, request, now=now, tracer=tracer, abandoned=abandoned)

    real_decide = servicer.decide
    monkeypatch.setattr(servicer, "decide", spy)
    with running(holder, engine=engine) as channel:
        reads_before = holder.reads  # the server read it once to say whether it serves
        policy_stub(channel).CheckBatch(pb.CheckBatchRequest(checks=[check()] * 5), timeout=10)

    assert holder.reads - reads_before == 1
    if engine == "reference":  # the native engine decides a batch in one call, at the `now` it is given
        assert len(seen_now) == 5 and len(set(seen_now)) == 1


def test_list_agreements_lists_the_loaded_agreements(stub, policy):
    response = stub.ListAgreements(pb.ListAgreementsRequest(), timeout=10)
    assert response.policy_revision == policy.revision
    assert [a.id for a in response.agreements] == [a.id for a in policy.agreements]
    assert any(a.platform_wide for a in response.agreements)


def test_terms_change_at_an_instant_kept_to_the_nanosecond(stub):
    """A quote of a post made 100 ns before the group went on the record keeps the Chatham House protection."""
    switch = Timestamp(seconds=MARCH_2026 - 7 * 86_400)
    adoptions = [pb.Adoption(agreement="chatham-house", version=1, effective_from=Timestamp(seconds=0)),
                 pb.Adoption(agreement="on-the-record", version=1, effective_from=switch, replaces=["chatham-house"])]

    def quote(posted_at: Timestamp) -> pb.CheckResponse:
        request = check(action=pb.ACTION_QUOTE, group=pb.Group(id="g1", adoptions=adoptions),
                        items=[pb.Item(id="m1", author=pb.Person(id="bo"), posted_at=posted_at)],
                        destination=pb.Destination(kind=pb.DESTINATION_KIND_PUBLIC),
                        attribution=pb.Attribution(author_identity=True))
        return stub.Check(request, timeout=10)

    before = quote(Timestamp(seconds=switch.seconds - 1, nanos=999_999_900))
    assert before.decision == pb.DECISION_ALLOW_WITH_OBLIGATIONS
    assert [o.type for o in before.obligations] == ["redact_author_identity"]
    assert quote(switch).decision == pb.DECISION_ALLOW
