"""`discretion explain` refuses what a real server answers INVALID_ARGUMENT, naming the same fields in the same words.

Each request is written once, as request data; the server gets it as the
wire message a platform would send (protobuf's JSON mapping of the same
fields), `explain` as a YAML file. Both must refuse it, with the same
(field, description) pairs; a request both take must get the same decision.
"""

from __future__ import annotations

import json
import re

import grpc
import pytest
from google.protobuf import json_format
from google.rpc import code_pb2, error_details_pb2
from grpc_status import rpc_status

from discretion.server._gen.discretion.v1 import policy_pb2 as pb
from discretion.server._gen.discretion.v1 import policy_pb2_grpc
from integration.conftest import RunningServer

from .conftest import RULES, installed


def _request(**fields) -> dict:
    """A member sharing one message with the public; `fields` replace parts."""
    return {"action": "share", "requested_at": "2026-03-02T09:00:00Z", "actor": {"id": "u-ana", "member": True},
            "group": {"id": "g-1", "adoptions": [{"agreement": "chatham-house", "version": 1}]},
            "items": [{"id": "m-1", "author": {"id": "u-chen"}, "posted_at": "2026-03-01T10:00:00Z"}],
            "destination": {"kind": "public"}, **fields}


REFUSED = {
    "no items": _request(items=[]),
    "items without an id, and one id twice": _request(items=[{"id": "m-1"}, {"posted_at": "2026-03-01T10:00:00Z"},
                                                             {"id": "m-1"}]),
    "blank ids": _request(actor={"id": " "}, group={"id": "g-1 ", "adoptions": [{"version": 1}]}),
    "a service with a role and an organization of its own": _request(
        actor={"id": "bot", "kind": "service", "role": "admin", "organization": "Contoso"}),
    "a person installed by someone": _request(actor={"id": "u-ana", "installed_by": "u-boss"}),
    "a same_group destination that leaves the group": _request(destination={
        "kind": "same_group", "group_id": "g-2", "publicly_accessible": True, "recipients": [{"id": "u-x"}],
        "service": {"name": "bot"}}),
    "a label without a scheme, and one scheme twice in a map": _request(
        items=[{"id": "m-1", "labels": [{"scheme": "tlp", "value": "red"}, {"scheme": " ", "value": "red"}]}],
        group={"id": "g-1", "adoptions": [{"agreement": "tlp", "version": 1,
                                           "default_labels": {"TLP": "red", "tlp ": "amber"}}]}),
    "recipients a community_peer does not reach": _request(
        group={"id": "g-1", "adoptions": [{"agreement": "tlp", "version": 1}], "community": ["Contoso"]},
        destination={"kind": "community_peer", "recipients": [{"id": "u-x", "organization": "Outsider Ltd"}]}),
    "a recipient of another organization inside the actor's": _request(
        actor={"id": "u-ana", "member": True, "organization": "Contoso"},
        destination={"kind": "actor_org_internal", "recipients": [{"id": "u-x", "organization": "Acme"}]}),
    "an original exchange nobody was party to": _request(
        destination={"kind": "original_exchange_participant", "recipients": [{"id": "u-x"}]}),
    "another group that is this one, an archive the public reads": _request(
        destination={"kind": "other_group", "group_id": "g-1"}),
    "a personal archive the public reads": _request(
        destination={"kind": "personal_archive", "publicly_accessible": True}),
}
DECIDED = {
    "a plain share": _request(),
    # Read as the server reads labels: ` TLP ` `AMBER` is `tlp` `amber`, which does not go public.
    "labels in another case and with blanks": _request(
        group={"id": "g-1", "adoptions": [{"agreement": "tlp", "version": 1}]},
        items=[{"id": "m-1", "posted_at": "2026-03-01T10:00:00Z", "labels": [{"scheme": " TLP ", "value": "AMBER"}]}]),
    "a default label in another case": _request(
        group={"id": "g-1", "adoptions": [{"agreement": "tlp", "version": 1, "default_labels": {"TLP": "Clear"}}]}),
}
_ENUMS = {("action",): "ACTION_", ("destination", "kind"): "DESTINATION_KIND_", ("actor", "kind"): "ACTOR_KIND_",
          ("actor", "role"): "ROLE_"}


def _wire(data: dict) -> pb.CheckRequest:
    """The request as a platform sends it: the same fields, enums by their proto names."""
    wire = json.loads(json.dumps(data))
    for path, prefix in _ENUMS.items():
        *parents, name = path
        holder = wire
        for parent in parents:
            holder = holder.get(parent, {})
        if name in holder:
            holder[name] = prefix + holder[name].upper()
    return json_format.ParseDict(wire, pb.CheckRequest())


@pytest.fixture(scope="module")
def what_if_server():
    # Decides as of `requested_at`, as explain does (`--max-clock-skew off`).
    server = RunningServer(RULES, "--max-clock-skew", "off")
    yield server
    server.stop()


def _server_answer(server: RunningServer, data: dict) -> tuple[str, list[tuple[str, str]]]:
    """(the decision, []) or ("INVALID_ARGUMENT", every (field, description) of its BadRequest)."""
    with grpc.insecure_channel(server.target) as channel:
        try:
            response = policy_pb2_grpc.PolicyServiceStub(channel).Check(_wire(data), timeout=30)
        except grpc.RpcError as error:
            status = rpc_status.from_call(error)
            assert status is not None and status.code == code_pb2.INVALID_ARGUMENT, error
            [detail] = status.details
            bad = error_details_pb2.BadRequest()
            assert detail.Unpack(bad)
            return "INVALID_ARGUMENT", [(v.field, v.description) for v in bad.field_violations]
    return pb.Decision.Name(response.decision).removeprefix("DECISION_").lower(), []


def _explain_answer(tmp_path, data: dict) -> tuple[str, list[tuple[str, str]]]:
    path = tmp_path / "request.json"  # JSON is YAML: the same text as the server's, but for the enum words
    path.write_text(json.dumps(data, indent=1))
    result = installed("explain", path, "--rules", RULES)
    assert "Traceback" not in result.err
    if result.code == 0:
        return re.search(r"^decision: (\S+)$", result.out, re.M).group(1), []
    assert result.code == 2, result.err
    refusals = re.findall(r"^\S+:\d+:\d+: (.*) at `([^`]+)` \[invalid_request\]$", result.err, re.M)
    assert refusals, result.err
    return "INVALID_ARGUMENT", [(field, description) for description, field in refusals]


@pytest.mark.parametrize("name", list(REFUSED))
def test_explain_refuses_what_the_server_refuses_naming_the_same_fields(what_if_server, tmp_path, name):
    server, violations = _server_answer(what_if_server, REFUSED[name])
    assert server == "INVALID_ARGUMENT" and violations
    explained, refusals = _explain_answer(tmp_path, REFUSED[name])
    # The server lists them in the order it checks, explain in the order of the file.
    assert (explained, sorted(refusals)) == (server, sorted(violations))


@pytest.mark.parametrize("name", list(DECIDED))
def test_explain_decides_what_the_server_decides_as_the_server_does(what_if_server, tmp_path, name):
    server = _server_answer(what_if_server, DECIDED[name])
    assert server[0] != "INVALID_ARGUMENT"
    assert _explain_answer(tmp_path, DECIDED[name]) == server


def test_explain_refuses_a_request_without_items_at_its_line(tmp_path):
    path = tmp_path / "request.yaml"
    path.write_text("action: share\nactor: {id: u-ana, member: true}\ngroup: {id: g-1}\nitems: []\n"
                    "destination: {kind: public}\n")
    result = installed("explain", path, "--rules", RULES)
    assert result.code == 2 and result.out == ""
    assert result.err.startswith(f"{path}:4:8: required: at least one item at `items` [invalid_request]\n")


def test_a_replayed_request_the_server_refuses_is_a_refusal_not_a_change(tmp_path):
    replay = tmp_path / "requests.jsonl"
    replay.write_text(json.dumps(_request()) + "\n" + json.dumps(_request(items=[])) + "\n")
    result = installed("diff", RULES, RULES, "--replay", replay)
    assert result.code == 2
    assert result.err == (f"error: {replay}:2: a server refuses this request (INVALID_ARGUMENT): items: required: "
                          "at least one item\n")


def test_a_suite_may_still_test_that_the_engine_denies_what_the_server_refuses_first():
    """The shipped TLP suite gives the engine a community_peer recipient outside the community."""
    result = installed("test", RULES / "tlp.test.yaml")
    assert result.code == 0, result.out
    refused = installed("explain", RULES / "tlp.test.yaml", "--case", "GREEN never outside the community",
                        "--rules", RULES)
    assert refused.code == 2 and "is not in `group.community`" in refused.err and "[invalid_request]" in refused.err


@pytest.mark.parametrize("number", [float("nan"), float("inf"), float("-inf")])
def test_a_request_built_in_process_refuses_a_number_that_is_not_finite_as_the_server_does(number):
    """No file can say it (the readers refuse `.nan`), but a Python caller of request_from_data can:
    a NaN made `attributes.risk: {ge: 5}` deny rules never apply."""
    from discretion.policy.requests import RequestDataError, request_from_data

    data = {"action": "share", "actor": {"id": "ana", "member": True}, "group": {"id": "g"},
            "items": [{"id": "m-1"}], "destination": {"kind": "public"},
            "attributes": {"risk": number, "nested": [1, {"ok": 2}]}}
    with pytest.raises(RequestDataError) as refused:
        request_from_data(data)
    assert refused.value.path == "attributes.risk"
