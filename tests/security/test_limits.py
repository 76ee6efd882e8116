"""Every request limit refuses with INVALID_ARGUMENT naming the field and the flag; a passed deadline is not decided."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf import struct_pb2
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from discretion.server._gen.discretion.v1 import policy_pb2 as pb
from discretion.server.limits import Limits
from discretion.server.servicer import PolicyServicer
from discretion.server.config import ServerSettings
from discretion.store.files import compile_directory
from server.support import RULES, StaticHolder, check, policy_stub, running

SMALL = Limits(max_items=3, max_participants=4, max_listed_people=2, max_text=50, max_labels=2,
               max_struct_depth=3, max_adoptions=2, max_id=20, max_name=30, max_names_per_person=2)


@pytest.fixture(scope="module")
def holder():
    return StaticHolder(compile_directory(RULES))


@pytest.fixture(scope="module")
def stub(holder):
    with running(holder, limits=SMALL, max_batch=2, max_message_bytes=64 * 1024) as channel:
        yield policy_stub(channel)


def items(count: int, **fields) -> list[pb.Item]:
    return [pb.Item(id=f"m{i}", author=pb.Person(id="bo"), **fields) for i in range(count)]


def nested(depth: int) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    inner = struct
    for _ in range(depth - 1):
        inner = inner.fields["deeper"].struct_value
    inner.fields["leaf"].string_value = "x"
    return struct


def violations(error: grpc.RpcError) -> dict[str, str]:
    assert error.code() == grpc.StatusCode.INVALID_ARGUMENT, error
    status = rpc_status.from_call(error)
    found = {}
    for detail in status.details:
        bad = error_details_pb2.BadRequest()
        detail.Unpack(bad)
        found.update({v.field: v.description for v in bad.field_violations})
    return found


OVER_THE_LIMIT = {
    "items": (dict(items=items(4)), "at most 3 items (limit --max-items), got 4"),
    "group.participants": (
        dict(group=pb.Group(id="g1", adoptions=[pb.Adoption(agreement="chatham-house")],
                            participants=[pb.Person(id=f"p{i}") for i in range(5)])),
        "at most 4 participants (limit --max-participants), got 5"),
    "destination.recipients": (
        dict(destination=pb.Destination(kind=pb.DESTINATION_KIND_SAME_GROUP,
                                        recipients=[pb.Recipient(id=f"r{i}") for i in range(5)])),
        "at most 4 recipients (limit --max-participants), got 5"),
    "items[0].listed_people": (dict(items=items(1, listed_people=[pb.Person(id=f"p{i}") for i in range(3)])),
                               "at most 2 listed people (limit --max-listed-people), got 3"),
    "quoted_text": (dict(quoted_text="é" * 51), "at most 50 characters (limit --max-text), got 51"),
    "items[0].text": (dict(items=items(1, text="x" * 60)), "at most 50 characters (limit --max-text), got 60"),
    "items[0].labels": (dict(items=items(1, labels=[pb.Label(scheme="tlp", value="red")] * 3)),
                        "at most 2 labels (limit --max-labels), got 3"),
    "items[0].consents": (dict(items=items(1, consents=[pb.Consent(by="bo", scope="export")] * 3)),
                          "at most 2 consents (limit --max-labels), got 3"),
    "attributes": (dict(attributes=nested(5)), "at most 3 levels of nesting (limit --max-struct-depth), got 4"),
    "group.adoptions": (dict(group=pb.Group(id="g1", adoptions=[pb.Adoption(agreement="chatham-house")] * 3)),
                        "at most 2 adoptions (limit --max-adoptions), got 3"),
    "group.participants[0].display_name": (
        dict(group=pb.Group(id="g1", adoptions=[pb.Adoption(agreement="chatham-house")],
                            participants=[pb.Person(id="p0", display_name="Li " * 11)])),
        "at most 30 characters (limit --max-name), got 33"),
    "items[0].id": (dict(items=[pb.Item(id="m" * 21, author=pb.Person(id="bo"))]),
                    "at most 20 characters (limit --max-id), got 21"),
    "items[0].author.handles": (dict(items=[pb.Item(id="m1", author=pb.Person(id="bo", handles=["@a", "@b", "@c"]))]),
                                "at most 2 entries (limit --max-names-per-person), got 3"),
    "items[0].author.display_name": (dict(items=[pb.Item(id="m1", author=pb.Person(id="bo", display_name="Bo\x00"))]),
                                     "a control character (U+0000) has no place in a name"),
}


@pytest.mark.parametrize("field", sorted(OVER_THE_LIMIT))
def test_each_limit_is_refused_naming_the_field_and_the_flag(stub, field):
    fields, description = OVER_THE_LIMIT[field]
    with pytest.raises(grpc.RpcError) as refused:
        stub.Check(check(**fields), timeout=10)
    assert violations(refused.value) == {field: description}


def test_a_request_at_every_limit_is_decided(stub):
    at_the_limit = check(items=items(3, text="x" * 50, labels=[pb.Label(scheme="flag", value="x")] * 2),
                         quoted_text="y" * 50, attributes=nested(3))
    assert stub.Check(at_the_limit, timeout=10).decision != pb.DECISION_UNSPECIFIED


def test_a_batch_names_the_entry_over_a_limit_and_its_own_size(stub):
    with pytest.raises(grpc.RpcError) as refused:
        stub.CheckBatch(pb.CheckBatchRequest(checks=[check(), check(items=items(4))]), timeout=10)
    assert violations(refused.value) == {"checks[1].items": "at most 3 items (limit --max-items), got 4"}
    with pytest.raises(grpc.RpcError) as refused:
        stub.CheckBatch(pb.CheckBatchRequest(checks=[check()] * 3), timeout=10)
    assert violations(refused.value) == {"checks": "at most 2 checks per batch (limit --max-batch), got 3"}


def test_a_name_of_half_a_million_characters_is_refused_and_the_server_serves_on(holder):
    """Such a name once took the name matcher (a C extension) past its stack when freed: the worker died."""
    with running(holder) as channel:
        stub = policy_stub(channel)
        roster = [pb.Person(id="p0", display_name="a" * 600_000), pb.Person(id="p1", organization="b\x00" * 1000)]
        with pytest.raises(grpc.RpcError) as refused:
            stub.Check(check(group=pb.Group(id="g1", adoptions=[pb.Adoption(agreement="chatham-house")],
                                            participants=roster)), timeout=30)
        assert violations(refused.value) == {
            "group.participants[0].display_name": "at most 1,000 characters (limit --max-name), got 600,000",
            "group.participants[1].organization": "at most 1,000 characters (limit --max-name), got 2,000"}
        assert stub.Check(check(), timeout=10).decision != pb.DECISION_UNSPECIFIED


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited protobuf field, written by hand: these bytes are what no protobuf library would write."""
    tag, length, out = (number << 3) | 2, len(payload), bytearray()
    for value in (tag, length):
        while value >= 0x80:
            out.append(value & 0x7F | 0x80)
            value >>= 7
        out.append(value)
    return bytes(out) + payload


def _deep_struct(depth: int) -> bytes:
    """A Struct of `depth` levels: fields {"k": {struct_value: …}}."""
    struct = b""
    for _ in range(depth):
        struct = _field(1, _field(1, b"k") + _field(2, _field(5, struct)))  # Struct.fields entry -> Value.struct_value
    return struct


MALFORMED = {
    "a string that is not UTF-8": _field(10, b"\xff\xfe"),  # quoted_text
    "a Struct nested 90 deep": _field(12, _deep_struct(90)),  # attributes
    "a length past the end": b"\x52\x7f" + b"x",
}


def raw(channel, method: str, data: bytes, metadata=None):
    response = {"Check": pb.CheckResponse, "CheckBatch": pb.CheckBatchResponse}[method]
    return channel.unary_unary(f"/discretion.v1.PolicyService/{method}", request_serializer=None,
                               response_deserializer=response.FromString)(data, timeout=10, metadata=metadata)


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_bytes_that_are_no_request_are_invalid_argument_not_internal(holder, case):
    with running(holder) as channel:
        for method, data in (("Check", MALFORMED[case]), ("CheckBatch", _field(1, MALFORMED[case]))):
            with pytest.raises(grpc.RpcError) as refused:
                raw(channel, method, data)
            found = violations(refused.value)
            assert list(found) == [""], found
            assert found[""].startswith(f"the request is not a well-formed discretion.v1.{method}Request")
        assert policy_stub(channel).Check(check(), timeout=10).decision != pb.DECISION_UNSPECIFIED


def test_a_message_over_the_size_limit_is_refused_before_it_is_read(stub):
    # gRPC itself refuses it, with its own status, before any of our code runs.
    with pytest.raises(grpc.RpcError) as refused:
        stub.Check(check(quoted_text="x" * 100_000), timeout=10)
    assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED


def test_a_deep_nesting_is_refused_at_the_first_level_past_the_limit(stub):
    with pytest.raises(grpc.RpcError) as refused:
        stub.Check(check(attributes=nested(25)), timeout=10)
    assert violations(refused.value) == {
        "attributes": "at most 3 levels of nesting (limit --max-struct-depth), got 4"}


class _Aborted(Exception):
    pass


class PassedDeadline:
    """A servicer context whose caller stopped waiting a moment ago."""

    code: grpc.StatusCode | None = None

    def time_remaining(self) -> float:
        return -0.001

    def invocation_metadata(self):
        return ()

    def abort(self, code, details):
        self.code = code
        raise _Aborted(details)


def test_a_call_whose_deadline_passed_is_not_decided(holder):
    decided = []
    servicer = PolicyServicer(holder, ServerSettings())
    servicer._metrics.decided = lambda *args: decided.append(args)  # every decision is counted
    for call, request in ((servicer.Check, check()), (servicer.CheckBatch, pb.CheckBatchRequest(checks=[check()]))):
        context = PassedDeadline()
        with pytest.raises(_Aborted):
            call(request.SerializeToString(), context)
        assert context.code == grpc.StatusCode.DEADLINE_EXCEEDED
    assert decided == []



def test_the_serve_flags_default_to_the_limits_of_the_settings():
    from discretion.cli import serve

    defaults = {flag.replace("-", "_"): default for flag, default, _ in serve._LIMITS}
    assert defaults.pop("max_message_bytes") == ServerSettings().max_message_bytes
    assert defaults == {name: getattr(Limits(), name) for name in Limits.__slots__}
