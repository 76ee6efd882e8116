"""Properties of the front door: what a request may say, over the whole shipped library.

Requests are drawn as the engine's model (tests/strategies.py), sent through
the wire converter (`server.convert`) as a platform would send them, and
decided by `decide()`. A refused request (INVALID_ARGUMENT) is the strictest
answer there is; every other answer is compared with `strategies.looser`.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from discretion.engine import decide
from discretion.server import convert
from discretion.server._gen.discretion.v1 import policy_pb2 as pb
from strategies import NOW, POLICY, budget, requests
from test_semantics_property import AGREEMENTS, adopt
from wire import enum_fields, to_wire


def wire_request(drawn) -> pb.CheckRequest:
    request, agreements = drawn
    return to_wire(adopt(request, agreements))


def test_every_enum_field_of_the_request_is_reached():
    """Guards the property below: an enum field added to the proto is drawn too."""
    message = pb.CheckRequest(items=[pb.Item()])
    paths = {path for path, _, _ in enum_fields(message)}
    assert paths == {"action", "actor.role", "group.privacy", "group.visibility", "items[0].kind",
                     "destination.kind", "format", "derived", "purpose.legal_basis", "span_unit"}


@budget(300)
@given(requests(AGREEMENTS), st.data())
def test_an_enum_number_the_proto_does_not_define_is_refused_naming_its_field(drawn, data):
    message = wire_request(drawn)
    path, holder, name = data.draw(st.sampled_from(enum_fields(message)), label="field")
    defined = set(holder.DESCRIPTOR.fields_by_name[name].enum_type.values_by_number)
    number = data.draw(st.integers(-2**31, 2**31 - 1).filter(lambda n: n not in defined), label="number")
    setattr(holder, name, number)
    with pytest.raises(convert.RequestInvalid) as raised:
        convert.request_from_proto(message)
    assert [v.field for v in raised.value.violations] == [path]


@budget(200)
@given(requests(AGREEMENTS))
def test_the_wire_carries_a_request_whole(drawn):
    """Guards the helper the properties send through: converting back gives the same decision."""
    request, agreements = drawn
    sent = adopt(request, agreements)
    received = convert.request_from_proto(to_wire(sent))
    assert received == sent
    assert decide(POLICY, received, now=NOW) == decide(POLICY, sent, now=NOW)
