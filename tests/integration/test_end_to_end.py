"""The whole path: shipped rules → `discretion serve` → the Python client."""

from __future__ import annotations

import dataclasses
import datetime as dt
import subprocess
import sys
import time

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

import discretion_client as dc
from integration.conftest import RULES
from readme_question import ANA, CHEN, ROUNDTABLE, UTC

REMARK = dc.Item(id="m-1", author=CHEN, posted_at=dt.datetime(2026, 3, 1, 10, tzinfo=UTC))


def quote(**overrides) -> dc.CheckRequest:
    fields = dict(action="quote", actor=ANA, group=ROUNDTABLE, items=[REMARK],
                  destination=dc.Destination(kind="public"))
    fields.update(overrides)
    return dc.CheckRequest(**fields)


def test_a_named_quote_must_be_redacted(shared_server):
    with dc.Client(shared_server.target) as client:
        decision = client.check(quote(attribution=dc.Attribution(author_identity=True, affiliation=True)))
    assert decision.decision == "allow_with_obligations"
    assert sorted(o.type for o in decision.obligations) == ["redact_author_affiliation", "redact_author_identity"]
    assert decision.obligations[0].item_ids == ("m-1",)
    assert {f.reason_code for f in decision.findings} >= {"speaker_identity_protected"}
    assert decision.items[0].governed_by == ("chatham-house@1", "data-rights@1", "platform-baseline@1")
    assert len(decision.policy_revision) == 16
    assert not decision.allowed


def test_quoted_text_naming_a_participant_gets_spans(shared_server):
    text = "At Northwind Bank we think, as Chen said, rates rise"
    with dc.Client(shared_server.target) as client:
        decision = client.check(quote(quoted_text=text))
    (obligation,) = decision.obligations
    assert obligation.type == "redact_identifying_content"
    assert [text[s.start:s.end] for s in obligation.spans] == ["Northwind Bank", "Chen"]


def test_an_unspecified_destination_is_denied_naming_the_field(shared_server):
    # The typed client refuses to build such a request, so send it as another
    # platform's backend might: raw protobuf.
    from discretion.server._gen.discretion.v1 import policy_pb2 as pb, policy_pb2_grpc as rpc

    request = pb.CheckRequest(action=pb.ACTION_SHARE, actor=pb.Actor(id="u-ana", member=True),
                              group=pb.Group(id="g-roundtable", adoptions=[pb.Adoption(agreement="chatham-house")]),
                              items=[pb.Item(id="m-1")])
    with grpc.insecure_channel(shared_server.target) as channel:
        reply = rpc.PolicyServiceStub(channel).Check(request, timeout=5)
    assert reply.decision == pb.DECISION_DENY
    assert "`destination.kind`" in reply.reason
    assert reply.findings[0].reason_code == "unknown_destination"


def test_batch_answers_in_order(shared_server):
    requests = [quote(), quote(attribution=dc.Attribution(author_identity=True)), quote(actor=dc.Actor(id="u-out"))]
    with dc.Client(shared_server.target) as client:
        decisions = client.check_batch(requests)
    assert [d.decision for d in decisions] == ["allow", "allow_with_obligations", "deny"]


def test_batch_over_the_cap_is_invalid(shared_server):
    with dc.Client(shared_server.target) as client, pytest.raises(dc.InvalidRequestError) as raised:
        client.check_batch([quote()] * 101)
    assert any(v.field == "checks" for v in raised.value.field_violations)


def test_a_request_missing_required_fields_is_invalid_naming_them(shared_server):
    request = quote(actor=dc.Actor(id=""), items=[REMARK, dc.Item(id="")])
    with dc.Client(shared_server.target) as client, pytest.raises(dc.InvalidRequestError) as raised:
        client.check(request)
    fields = {v.field for v in raised.value.field_violations}
    assert fields == {"actor.id", "items[1].id"}


def test_the_server_decides_at_its_own_clock_unless_told_off(shared_server, start_server):
    now = dt.datetime.now(UTC)
    retracted = dc.Item(id="m-1", author=CHEN, posted_at=now - dt.timedelta(hours=2),
                        retracted_at=now - dt.timedelta(hours=1))
    backdated = dc.CheckRequest(action="share", actor=ANA, group=ROUNDTABLE, items=[retracted],
                                destination=dc.Destination(kind="same_group"),
                                requested_at=now - dt.timedelta(hours=1, minutes=30))
    with dc.Client(shared_server.target) as client, pytest.raises(dc.InvalidRequestError) as refused:
        client.check(backdated)
    assert [v.field for v in refused.value.field_violations] == ["requested_at"]

    replay = start_server(RULES, "--max-clock-skew", "off")
    with dc.Client(replay.target) as client:
        assert client.check(backdated).decision == "allow"  # as of before the retraction
        assert client.check(dataclasses.replace(backdated, requested_at=None)).decision == "deny"


@pytest.mark.parametrize("value", ["soon", "-5", "nan"])
def test_a_clock_skew_that_is_not_seconds_or_off_is_a_usage_error(value):
    done = subprocess.run([sys.executable, "-m", "discretion", "serve", "--max-clock-skew", value],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "--max-clock-skew" in done.stderr and value in done.stderr


def test_an_embargo_past_the_last_timestamp_is_answered_with_one_the_client_reads(shared_server):
    # 9999-12-31T23:00-05:00 is in year 10000 in UTC: the server once wrote it out of range.
    item = dc.Item(id="m-1", author=CHEN, posted_at=dt.datetime(2026, 3, 1, 10, tzinfo=UTC),
                   labels=[dc.Label("embargo", "until", params={"until": "9999-12-31T23:00:00-05:00"})])
    request = dc.CheckRequest(action="quote", actor=ANA, items=[item], destination=dc.Destination(kind="public"),
                              group=dc.Group(id="g-press", adoptions=[dc.Adoption("press", 1)]),
                              quoted_text="rates will rise")
    with dc.Client(shared_server.target) as client:
        decision = client.check(request)
    [hold] = [o for o in decision.obligations if o.type == "hold_until"]
    assert hold.until == dt.datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)


def test_a_service_flag_left_unknown_is_sent_unset_and_read_as_yes(shared_server):
    ai = dc.Destination(kind="ai_tool", service=dc.Service(name="summarizer", may_train=None, retains=False))
    item = dc.Item(id="m-1", author=CHEN, posted_at=dt.datetime(2026, 3, 1, 10, tzinfo=UTC))
    request = dc.CheckRequest(action="share", actor=ANA, items=[item], destination=ai,
                              group=dc.Group(id="g-ai", adoptions=[dc.Adoption("ai-no-training", 1)]))
    with dc.Client(shared_server.target) as client:
        unknown = client.check(request)
        said_no = client.check(dataclasses.replace(
            request, destination=dataclasses.replace(ai, service=dc.Service(name="summarizer", may_train=False,
                                                                           retains=False))))
    assert unknown.decision == "deny" and said_no.decision != "deny"


def test_a_service_acting_for_the_group_gets_posts_without_who_wrote_them(shared_server):
    bot = dc.Actor(id="app-digest", kind="service", installed_by="u-ana", member=True)
    share = dc.CheckRequest(action="share", actor=bot, group=ROUNDTABLE, items=[REMARK],
                            destination=dc.Destination(kind="same_group"))
    with dc.Client(shared_server.target) as client:
        decision = client.check(share)
        assert sorted((o.type, o.person_ids) for o in decision.obligations) == [
            ("redact_author_affiliation", ("u-chen",)), ("redact_author_identity", ("u-chen",))]
        with pytest.raises(dc.InvalidRequestError) as refused:
            client.check(dataclasses.replace(share, actor=dataclasses.replace(bot, role="owner")))
    assert [v.field for v in refused.value.field_violations] == ["actor.role"]


def test_list_agreements(shared_server):
    with dc.Client(shared_server.target) as client:
        agreements = {a.id: a for a in client.list_agreements()}
    assert agreements["chatham-house"].title == "Chatham House Rule"
    assert agreements["chatham-house"].source.startswith("https://www.chathamhouse.org/")
    assert agreements["platform-baseline"].platform_wide


def test_the_async_client_gets_the_same_decision(shared_server):
    import asyncio

    request = quote(attribution=dc.Attribution(author_identity=True))

    async def ask():
        async with dc.AsyncClient(shared_server.target) as client:
            return await client.check(request)

    decision = asyncio.run(ask())
    assert decision.decision == "allow_with_obligations"
    with dc.Client(shared_server.target) as client:
        again = client.check(request)
    assert again.decision_id != decision.decision_id  # each decision its own
    assert dataclasses.replace(again, decision_id="") == dataclasses.replace(decision, decision_id="")


def test_health_is_serving(shared_server):
    with grpc.insecure_channel(shared_server.target) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        for service in ("", "discretion.v1.PolicyService"):
            reply = stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
            assert reply.status == health_pb2.HealthCheckResponse.SERVING


def test_a_broken_rules_file_keeps_the_last_good_rules(start_server, rules_copy):
    server = start_server(rules_copy)
    with dc.Client(server.target) as client:
        before = client.check(quote())
        good_revision = before.policy_revision
        chatham = rules_copy / "chatham-house.yaml"
        chatham.write_text(chatham.read_text().replace("effect: allow\n", "effect: alow\n", 1))
        assert server.wait_for_log(r"chatham-house\.yaml:\d+:\d+: .*\[unknown_value\]"), server.log()
        after = client.check(quote())
        assert after.policy_revision == good_revision
        assert after.decision == before.decision == "allow"
        # A fix is picked up, with a new revision.
        chatham.write_text(chatham.read_text().replace("effect: alow\n", "effect: allow\n", 1)
                           .replace("Chatham House Rule\n", "Chatham House Rule.\n", 1))
        deadline = time.monotonic() + 15
        while client.check(quote()).policy_revision == good_revision and time.monotonic() < deadline:
            time.sleep(0.1)
        assert client.check(quote()).policy_revision != good_revision


def test_sigterm_during_calls_loses_none_of_them(start_server):
    import concurrent.futures
    import signal

    server = start_server()
    with dc.Client(server.target, timeout=20) as client:
        client.check(quote())  # connected and warm
        with concurrent.futures.ThreadPoolExecutor(16) as pool:
            futures = [pool.submit(client.check_batch, [quote()] * 50) for _ in range(64)]
            time.sleep(0.05)
            server.signal(signal.SIGTERM)
            outcomes = []
            for future in futures:
                try:
                    outcomes.append(("ok", len(future.result())))
                except dc.UnavailableError:
                    # Sent after the server stopped accepting (or queued and
                    # never started, which the client retried until the
                    # server was gone): refused, not lost.
                    outcomes.append(("refused", 0))
    assert server.process.wait(30) == 0
    answered = [n for kind, n in outcomes if kind == "ok"]
    # Calls in flight at SIGTERM finished with every decision; no call failed
    # any other way (a call cut off mid-way would raise another error here).
    assert answered and all(n == 50 for n in answered)
    assert len(outcomes) == 64
    assert "discretion: stopped" in server.log()
