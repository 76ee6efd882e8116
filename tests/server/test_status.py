"""Every error a caller can meet, as it meets it: through a real channel to a real server."""

from __future__ import annotations

import logging
import re

import grpc
import pytest
from google.rpc import code_pb2, error_details_pb2
from grpc_status import rpc_status

from discretion.server import servicer
from discretion.server._gen.discretion.v1 import policy_pb2 as pb
from discretion.store.files import compile_directory

from .support import RULES, StaticHolder, check, policy_stub, running


@pytest.fixture(scope="module")
def policy():
    return compile_directory(RULES)


def call(stub, method: str):
    """Send a well-formed request to `method`; the RpcError it fails with."""
    request = {
        "Check": check(),
        "CheckBatch": pb.CheckBatchRequest(checks=[check(), check()]),
        "ListAgreements": pb.ListAgreementsRequest(),
    }[method]
    with pytest.raises(grpc.RpcError) as raised:
        getattr(stub, method)(request, timeout=10)
    return raised.value


def bad_request(error: grpc.RpcError) -> list[tuple[str, str]]:
    status = rpc_status.from_call(error)
    assert status.code == code_pb2.INVALID_ARGUMENT
    [detail] = status.details
    violations = error_details_pb2.BadRequest()
    assert detail.Unpack(violations)
    return [(v.field, v.description) for v in violations.field_violations]


# ---- a fault of ours ----------------------------------------------------------


def fail_in_decide(*args, **kwargs):
    raise RuntimeError("decide broke over ana's item m1")


@pytest.mark.parametrize("method", ["Check", "CheckBatch"])
def test_a_fault_while_deciding_is_internal_and_tells_the_caller_nothing_more(monkeypatch, policy, method):
    # A broken engine is a fault no request can cause; put one in its place (the reference's `decide`).
    monkeypatch.setattr(servicer, "decide", fail_in_decide)
    with running(StaticHolder(policy), engine="reference") as channel:
        error = call(policy_stub(channel), method)

    assert error.code() == grpc.StatusCode.INTERNAL
    assert re.fullmatch(r"internal error \(incident [0-9a-f]{12}\)", error.details())
    for leak in ("Traceback", "RuntimeError", "ana", "m1", "decide"):
        assert leak not in error.details()
    assert rpc_status.from_call(error) is None  # no detail messages either


def test_the_traceback_of_a_fault_goes_to_the_server_log_under_the_incident_id(monkeypatch, policy, caplog):
    monkeypatch.setattr(servicer, "decide", fail_in_decide)
    with (caplog.at_level(logging.ERROR, logger="discretion.server"),
          running(StaticHolder(policy), engine="reference") as channel):
        error = call(policy_stub(channel), "Check")

    incident = re.search(r"incident ([0-9a-f]{12})", error.details()).group(1)
    [record] = [r for r in caplog.records if incident in r.getMessage()]
    assert record.exc_info and "decide broke over" in str(record.exc_info[1])


def test_a_fault_while_listing_is_internal(monkeypatch, policy):
    def fail(*args, **kwargs):
        raise ValueError("agreement table broken")

    monkeypatch.setattr(servicer.convert, "agreements_to_proto", fail)
    with running(StaticHolder(policy)) as channel:
        error = call(policy_stub(channel), "ListAgreements")
    assert error.code() == grpc.StatusCode.INTERNAL
    assert "agreement table" not in error.details()


# ---- requests that cannot be understood ---------------------------------------


def test_an_invalid_check_is_invalid_argument_naming_every_field(policy):
    request = check(actor=pb.Actor(), items=[pb.Item(id="m1"), pb.Item(id="m1")])
    with running(StaticHolder(policy)) as channel, pytest.raises(grpc.RpcError) as raised:
        policy_stub(channel).Check(request, timeout=10)

    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert bad_request(raised.value) == [
        ("actor.id", "required: the id of the person acting"),
        ("items[1].id", "duplicate item id `m1`, first at `items[0]`"),
    ]
    assert raised.value.details() == "2 invalid fields: `actor.id`, `items[1].id`"


def test_every_enum_number_the_proto_does_not_define_is_invalid_argument_naming_its_field(policy):
    # Each was once read as "" and the rules testing the field passed it by.
    request = check(action=41, format=42, derived=43, span_unit=44,
                    actor=pb.Actor(id="ana", role=45), group=pb.Group(id="g1", privacy=46, visibility=47),
                    items=[pb.Item(id="m1", kind=48)], destination=pb.Destination(kind=49),
                    purpose=pb.Purpose(legal_basis=50))
    with running(StaticHolder(policy)) as channel, pytest.raises(grpc.RpcError) as raised:
        policy_stub(channel).Check(request, timeout=10)
    assert [(field, description.split(";")[0]) for field, description in bad_request(raised.value)] == [
        ("action", "41 is not a defined Action"),
        ("actor.role", "45 is not a defined Role"),
        ("group.privacy", "46 is not a defined Privacy"),
        ("group.visibility", "47 is not a defined Visibility"),
        ("items[0].kind", "48 is not a defined ItemKind"),
        ("destination.kind", "49 is not a defined DestinationKind"),
        ("format", "42 is not a defined Format"),
        ("derived", "43 is not a defined Derivation"),
        ("purpose.legal_basis", "50 is not a defined LegalBasis"),
        ("span_unit", "44 is not a defined SpanUnit"),
    ]


def test_destination_facts_that_contradict_the_kind_are_invalid_argument_naming_them(policy):
    # Called `same_group`, a share to the public with an outsider among its recipients was kept "in the group".
    request = check(destination=pb.Destination(kind=pb.DESTINATION_KIND_SAME_GROUP, group_id="g2",
                                               publicly_accessible=True,
                                               recipients=[pb.Recipient(id="ana"), pb.Recipient(id="eve")]),
                    group=pb.Group(id="g1", adoptions=[pb.Adoption(agreement="chatham-house")],
                                   participants=[pb.Person(id="bo")]))
    with running(StaticHolder(policy)) as channel, pytest.raises(grpc.RpcError) as raised:
        policy_stub(channel).Check(request, timeout=10)
    assert [field for field, _ in bad_request(raised.value)] == [
        "destination.group_id", "destination.publicly_accessible", "destination.recipients[1].id"]


def test_an_invalid_batch_entry_is_named_by_its_check(policy):
    request = pb.CheckBatchRequest(checks=[check(), check(), check(), check(actor=pb.Actor())])
    with running(StaticHolder(policy)) as channel, pytest.raises(grpc.RpcError) as raised:
        policy_stub(channel).CheckBatch(request, timeout=10)
    assert [field for field, _ in bad_request(raised.value)] == ["checks[3].actor.id"]


def test_a_batch_over_the_cap_is_invalid_argument_naming_checks_and_the_cap(policy):
    request = pb.CheckBatchRequest(checks=[check()] * 3)
    with running(StaticHolder(policy), max_batch=2) as channel, pytest.raises(grpc.RpcError) as raised:
        policy_stub(channel).CheckBatch(request, timeout=10)
    [(field, description)] = bad_request(raised.value)
    assert field == "checks"
    assert "at most 2 checks" in description


# ---- no rules yet ---------------------------------------------------------------


@pytest.mark.parametrize("method", ["Check", "CheckBatch", "ListAgreements"])
def test_before_the_rules_first_load_every_call_is_unavailable(method):
    with running(StaticHolder(None)) as channel:
        error = call(policy_stub(channel), method)
    assert error.code() == grpc.StatusCode.UNAVAILABLE
    assert error.details() == "no rules loaded yet"


def test_a_number_that_is_not_finite_in_attributes_is_refused_naming_it(policy):
    """NaN compares false with everything: a deny on `attributes.x: {ge: 5}` would never apply to it."""
    request = check()
    request.attributes.update({"x": float("nan"), "nested": {"list": [1, float("inf")]}, "fine": 3})
    with running(StaticHolder(policy)) as channel:
        with pytest.raises(grpc.RpcError) as raised:
            policy_stub(channel).Check(request, timeout=10)
    fields = [field for field, _ in bad_request(raised.value)]
    assert sorted(fields) == ["attributes.nested.list[1]", "attributes.x"]
