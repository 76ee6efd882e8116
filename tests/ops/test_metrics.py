"""The metrics page of a running server with two workers: names, labels, aggregation, and promtool's lint."""

from __future__ import annotations

import shutil
import subprocess

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

import discretion_client as dc
from discretion.server._gen.discretion.v1 import policy_pb2 as pb
from discretion.server._gen.discretion.v1 import policy_pb2_grpc

from .conftest import RULES, OpsServer, chatham_quote

SERVICE = "discretion.v1.PolicyService"
# The ids the requests carry; none may become a label value.
IDS = {"g-roundtable", "u-ana", "u-chen", "m-1", "m-2"}

EXPECTED_FAMILIES = {
    "discretion_decisions", "discretion_check_duration_seconds", "discretion_check_batch_size",
    "discretion_obligations", "discretion_rule_evaluation_errors", "discretion_policy_reloads",
    "discretion_policy_last_reload_success_timestamp_seconds", "discretion_policy_last_reload_successful",
    "discretion_policy_reload_duration_seconds", "discretion_policy_info",
    "discretion_decision_log_dropped", "discretion_worker_restarts", "grpc_server_started", "grpc_server_handled",
}


@pytest.fixture(scope="module")
def traffic_server(request):
    """A server that answered a known mix of calls: 12 checks, one batch of 3, one invalid check.

    Of the 15 decisions, one (no attribution, no quoted text) is a plain allow.
    """
    server = OpsServer(RULES)
    request.addfinalizer(server.stop)
    # Four connections, so both workers are likely to take some calls; the
    # totals must be the same wherever they landed.
    with dc.Client(server.target, channels=4) as client:
        for _ in range(12):
            client.check(chatham_quote())
        plain = chatham_quote(attribution=dc.Attribution(), quoted_text="")
        client.check_batch([chatham_quote(), chatham_quote(), plain])
        with pytest.raises(dc.InvalidRequestError):
            client.check(chatham_quote(actor=dc.Actor(id="")))
    server.status()
    return server


def test_every_metric_the_issue_names_is_served(traffic_server):
    page = traffic_server.scrape()
    families = {line.split()[2] for line in page.splitlines() if line.startswith("# TYPE ")}
    served = {name.removesuffix("_total") for name in families}
    assert EXPECTED_FAMILIES <= served, EXPECTED_FAMILIES - served


def test_decisions_are_counted_once_across_workers(traffic_server):
    s = traffic_server.sample
    assert s("discretion_decisions_total", action="quote", decision="allow_with_obligations") == 14
    assert s("discretion_decisions_total", action="quote", decision="allow") == 1
    assert s("discretion_obligations_total", type="redact_author_identity") == 14
    assert s("discretion_check_duration_seconds_count", method="Check") == 12
    assert s("discretion_check_duration_seconds_count", method="CheckBatch") == 1
    assert s("discretion_check_batch_size_count") == 1
    assert s("discretion_check_batch_size_sum") == 3
    assert s("discretion_rule_evaluation_errors_total") == 0
    assert s("discretion_decision_log_dropped_total") == 0


def test_grpc_calls_are_counted_by_method_and_code(traffic_server):
    s = traffic_server.sample
    unary = {"grpc_type": "unary", "grpc_service": SERVICE}
    assert s("grpc_server_started_total", grpc_method="Check", **unary) == 13
    assert s("grpc_server_handled_total", grpc_method="Check", grpc_code="OK", **unary) == 12
    assert s("grpc_server_handled_total", grpc_method="Check", grpc_code="InvalidArgument", **unary) == 1
    assert s("grpc_server_handled_total", grpc_method="CheckBatch", grpc_code="OK", **unary) == 1
    assert s("grpc_server_handled_total", grpc_method="GetPolicyStatus", grpc_code="OK", **unary) == 1


def test_the_policy_in_force_is_visible(traffic_server):
    revision = traffic_server.status().policy_revision
    s = traffic_server.sample
    assert s("discretion_policy_info", revision=revision) == 1
    assert s("discretion_policy_reloads_total", result="success") == 2  # one first load per worker
    assert s("discretion_policy_reloads_total", result="failure") == 0
    assert s("discretion_policy_last_reload_success_timestamp_seconds") > 1.7e9
    assert s("discretion_policy_last_reload_successful") == 1
    # Each worker's first load, timed: the shipped rules take well under the 30 s bucket.
    assert s("discretion_policy_reload_duration_seconds_count") == 2
    assert s("discretion_policy_reload_duration_seconds_bucket", le="30.0") == 2
    assert 0 < s("discretion_policy_reload_duration_seconds_sum") < 60


def test_no_label_carries_a_group_person_or_item_id(traffic_server):
    values = {value for _, labels in traffic_server.samples() for _, value in labels}
    assert not values & IDS
    assert not any(v.startswith(("g-", "u-", "m-")) for v in values)


def test_a_rule_that_cannot_be_evaluated_is_counted(start_ops, rules_copy):
    (rules_copy / "needs-a-fact.yaml").write_text(
        "agreement: needs-a-fact\ntitle: Needs a fact\nsummary: A rule over a custom fact.\n"
        "source: https://example.org\nversions:\n  - version: 1\n    rules:\n"
        "      - id: secret-stays\n        when: {attributes.clearance: secret}\n        effect: deny\n"
        "        reason: {code: secret, message: secret items stay here}\n"
    )
    server = start_ops(rules_copy)
    group = dc.Group(id="g-1", adoptions=[dc.Adoption("needs-a-fact", 1)])
    with dc.Client(server.target) as client:
        share = chatham_quote(group=group, action="share", destination=dc.Destination(kind="same_group"))
        decision = client.check(share)
    assert decision.decision == "deny"
    assert server.sample("discretion_rule_evaluation_errors_total") == 1


def test_promtool_accepts_the_page(traffic_server, tmp_path):
    promtool = shutil.which("promtool")
    if not promtool:
        pytest.skip("promtool is missing, so the metrics page was NOT linted (install Debian's `prometheus`; "
                    "`make test` does when it runs as root)")
    page = traffic_server.scrape()
    result = subprocess.run([promtool, "check", "metrics"], input=page, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_health_of_a_worker_answers_over_the_shared_port(traffic_server):
    with grpc.insecure_channel(traffic_server.target) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        for name in ("", SERVICE, "liveness"):
            reply = stub.Check(health_pb2.HealthCheckRequest(service=name), timeout=10)
            assert reply.status == health_pb2.HealthCheckResponse.SERVING
        policy_pb2_grpc.PolicyServiceStub(channel).ListAgreements(pb.ListAgreementsRequest(), timeout=10)


def test_only_the_revisions_being_served_are_series(start_ops, rules_copy):
    """Ten edits once left eleven `discretion_policy_info` series until restart: only the one served shows."""
    from .conftest import eventually

    server = start_ops(rules_copy, workers=2)
    chatham = rules_copy / "chatham-house.yaml"
    original = chatham.read_text()
    revisions = {server.status().policy_revision}
    for edit in range(3):
        chatham.write_text(original + f"\n# edit {edit}\n")
        eventually(lambda: server.status().policy_revision not in revisions
                   and server.sample("discretion_policy_reloads_total", result="success") == 2 * (edit + 2))
        revisions.add(server.status().policy_revision)
    shown = {dict(labels)["revision"]: value for (name, labels), value in server.samples().items()
             if name == "discretion_policy_info"}
    assert len(revisions) == 4
    assert shown == {server.status().policy_revision: 1}
