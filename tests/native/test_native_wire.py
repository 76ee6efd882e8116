"""The native wire path (native/src/wire.rs) against the Python server's: bytes in, the same Request or the same
violations; a decision out, the same CheckResponse.

The Python side is what servicer._check does before deciding: `_read`, `limits.check_request`,
`convert.request_from_proto` with the server's clock, `limits.check_strings`.
"""

from __future__ import annotations

import dataclasses
import pathlib
import sys

import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from discretion.author.workspace import find_suites, load_rules, load_suite
from discretion.engine import decide, validate
from discretion.engine.instants import SECOND
from discretion.errors import RequestInvalid
from discretion.policy.requests import RequestDataError
from discretion.policy.suites import DEFAULT_NOW, case_request
from discretion.server import convert, limits, servicer
from discretion.server._gen.discretion.v1 import policy_pb2 as pb

import discretion_native as native  # noqa: E402 — built into the venv by make setup

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))  # the shared strategies of tests/
from strategies import budget  # noqa: E402

RULES = pathlib.Path(__file__).resolve().parents[2] / "rules"
NOW = 1_800_000_000 * SECOND
SKEW = 300 * SECOND


# ---- both sides -------------------------------------------------------------------------


def plain(value):
    """asdict's tuples as lists: the native hook gives lists."""
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def python_read(data: bytes, now: int = NOW, skew: int | None = SKEW, limit: limits.Limits = limits.Limits()):
    try:
        message = servicer._read(pb.CheckRequest, data)
        limits.check_request(message, limit)
        facts = convert.request_from_proto(message, convert.Clock(now, skew))
        limits.check_strings(message, facts, limit)
    except RequestInvalid as error:
        return False, [(v.field, v.description) for v in error.violations]
    return True, plain(dataclasses.asdict(facts))


def python_read_batch(data: bytes, now: int, skew: int | None, limit: limits.Limits, max_batch: int):
    try:
        message = servicer._read(pb.CheckBatchRequest, data)
        limits.check_batch(message, limit, max_batch)
        batch = convert.requests_from_batch(message, max_batch, convert.Clock(now, skew))
        limits.check_batch_strings(message, batch, limit)
    except RequestInvalid as error:
        return False, [(v.field, v.description) for v in error.violations]
    return True, [plain(dataclasses.asdict(facts)) for facts in batch]


def native_read(data: bytes, now: int = NOW, skew: int | None = SKEW, limit: limits.Limits = limits.Limits()):
    ok, read = native.read_check(data, now, skew, dataclasses.asdict(limit))
    return ok, (read if ok else [tuple(v) for v in read])


def native_read_batch(data: bytes, now: int, skew: int | None, limit: limits.Limits, max_batch: int):
    ok, read = native.read_batch(data, now, skew, dataclasses.asdict(limit), max_batch)
    return ok, (read if ok else [tuple(v) for v in read])


def assert_same(data: bytes, **how):
    assert native_read(data, **how) == python_read(data, **how)


# ---- the suites' requests -----------------------------------------------------------------


def suite_requests():
    for path in find_suites(RULES):
        document, _ = load_suite(path)
        if document is None:
            continue
        for index, case in enumerate(document.data["cases"]):
            try:
                yield f"{path.stem}:{case['name']}", case_request(document, index)
            except RequestDataError:
                continue


def sayable(request_) -> bool:
    """Whether the wire can say the request: a suite may test a word no wire enum has (`carrier_pigeon`)."""
    try:
        convert.request_to_proto(request_)
    except ValueError:
        return False
    return True


ALL_SUITE_REQUESTS = list(suite_requests())
SUITE_REQUESTS = [(name, r) for name, r in ALL_SUITE_REQUESTS if sayable(r)]


def test_there_are_suite_requests_and_few_the_wire_cannot_say():
    assert len(SUITE_REQUESTS) > 100
    assert len(ALL_SUITE_REQUESTS) - len(SUITE_REQUESTS) < 5


@pytest.mark.parametrize("name,request_", SUITE_REQUESTS, ids=[n for n, _ in SUITE_REQUESTS])
def test_request_to_proto_is_the_inverse_of_request_from_proto(name, request_):
    try:
        back = convert.request_from_proto(convert.request_to_proto(request_))
    except RequestInvalid:  # a suite may hand the engine a request the server refuses at the door
        assert validate.violations(request_)
        return
    assert back == request_


@pytest.mark.parametrize("skew", [None, SKEW, 0])
def test_every_suite_request_reads_the_same(skew):
    for name, request_ in SUITE_REQUESTS:
        data = convert.request_to_proto(request_).SerializeToString()
        assert native_read(data, skew=skew) == python_read(data, skew=skew), name


def test_suite_requests_read_the_same_as_a_batch():
    checks = [convert.request_to_proto(r) for _, r in SUITE_REQUESTS]
    data = pb.CheckBatchRequest(checks=checks).SerializeToString()
    for max_batch in (len(checks), len(checks) - 1):
        how = dict(now=NOW, skew=SKEW, limit=limits.Limits(), max_batch=max_batch)
        assert native_read_batch(data, **how) == python_read_batch(data, **how)


# ---- requests made up -----------------------------------------------------------------------

ODD_TEXT = st.text(alphabet=st.sampled_from(
    list("aAbZ09 _-.:") + ["\t", "\n", "\x1c", "\x00", "\x7f", "\x85", "\u00a0", "\u200b", "\u2028", "\u3000",
                           "\ufeff", "İ", "ß", "Σ", "ﬁ", "ｔ", "é", "e", "\u0301", "😀", "\U000e0001", "'", '"', "\\",
                           "Ⅻ", "\u0378"]), max_size=12)
SHORT_LIST = st.lists(ODD_TEXT, max_size=3)
ENUM_NUMBER = st.one_of(st.integers(0, 5), st.integers(-3, 20), st.integers(-2**31, 2**31 - 1))
SECONDS = st.one_of(st.integers(NOW // SECOND - 1000, NOW // SECOND + 1000),
                    st.integers(-62_135_596_801, -62_135_596_799), st.integers(253_402_300_798, 253_402_300_800),
                    st.integers(-2**63, 2**63 - 1))
NANOS = st.one_of(st.integers(0, 999_999_999), st.sampled_from([0, 500_000_000, -1, 1_000_000_000]),
                  st.integers(-2**31, 2**31 - 1))
STAMP = st.one_of(st.none(), st.builds(Timestamp, seconds=SECONDS, nanos=NANOS))
IDS = st.sampled_from(["a", "b", " a", "a ", "", "g1", "P", "p"])
ORGS = st.sampled_from(["", "Acme", "acme ", "ACME  Inc", "Straße", "STRASSE", "other"])


def stamp(message, name, value):
    if value is not None:
        getattr(message, name).CopyFrom(value)
    return message


def person():
    return st.builds(pb.Person, id=IDS, display_name=ODD_TEXT, organization=ORGS, handles=SHORT_LIST,
                     is_minor=st.booleans(), aliases=SHORT_LIST, organization_aliases=SHORT_LIST)


def label():
    return st.builds(lambda s, v, b, at, params: stamp(pb.Label(scheme=s, value=v, set_by=b, params=params),
                                                       "set_at", at),
                     st.one_of(st.sampled_from(["tlp", " TLP", "ｔｌｐ", "t\u200blp", "", " "]), ODD_TEXT),
                     ODD_TEXT, ODD_TEXT, STAMP, st.dictionaries(ODD_TEXT, ODD_TEXT, max_size=1))


def consent():
    return st.builds(lambda by, scope, recipients, granted, withdrawn: stamp(stamp(
        pb.Consent(by=by, scope=scope, recipients=recipients), "granted_at", granted), "withdrawn_at", withdrawn),
        IDS, st.sampled_from(["quote", "new_terms", ""]), st.lists(IDS, max_size=3), STAMP, STAMP)


def item():
    return st.builds(
        lambda id_, author, posted, retracted, labels, consents, text, kind, listed, session, exchange: stamp(stamp(
            pb.Item(id=id_, author=author, labels=labels, consents=consents, text=text, kind=kind,
                    listed_people=listed, exchange_participants=exchange, **session), "posted_at", posted),
            "retracted_at", retracted),
        IDS, person(), STAMP, STAMP, st.lists(label(), max_size=3), st.lists(consent(), max_size=2), ODD_TEXT,
        ENUM_NUMBER, st.lists(person(), max_size=2),
        st.one_of(st.just({}), st.builds(lambda i, s, n: {"session": pb.Session(id=i, segment=s, speaker_count=n)},
                                         ODD_TEXT, ODD_TEXT, st.integers(0, 2**32 - 1))),
        st.lists(IDS, max_size=3))


def adoption():
    return st.builds(
        lambda agreement, version, effective, disclosed, replaces, segments, defaults, floors: stamp(stamp(
            pb.Adoption(agreement=agreement, version=version, replaces=replaces, segments=segments,
                        default_labels=defaults, label_floors=floors), "effective_from", effective),
            "disclosed_at", disclosed),
        st.sampled_from(["tlp", "", " ", "no-ai"]), st.integers(0, 3), STAMP, STAMP, SHORT_LIST, SHORT_LIST,
        st.dictionaries(st.sampled_from(["tlp", "TLP", " tlp", "", "x"]), ODD_TEXT, max_size=3),
        st.dictionaries(ODD_TEXT, ODD_TEXT, max_size=2))


JSON = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-2**60, 2**60), st.floats(allow_nan=True, allow_infinity=True),
              ODD_TEXT),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(ODD_TEXT, inner, max_size=3)),
    max_leaves=12)


def request():
    def build(action, actor, actor_joined, group, group_converted, adoptions, participants, items, destination,
              recipients, service, requested, attribution, format_, derived, quoted, purpose, attributes, unit):
        message = pb.CheckRequest(action=action, actor=stamp(actor, "joined_at", actor_joined), items=items,
                                  format=format_, derived=derived, quoted_text=quoted, span_unit=unit)
        message.group.CopyFrom(stamp(group, "converted_at", group_converted))
        message.group.adoptions.extend(adoptions)
        message.group.participants.extend(participants)
        message.destination.CopyFrom(destination)
        message.destination.recipients.extend(recipients)
        if service is not None:
            message.destination.service.CopyFrom(service)
        stamp(message, "requested_at", requested)
        if attribution is not None:
            message.attribution.CopyFrom(attribution)
        if purpose is not None:
            message.purpose.CopyFrom(purpose)
        if attributes is not None:
            message.attributes.update(attributes)
        return message

    optional_bool = st.one_of(st.none(), st.booleans())
    return st.builds(
        build, ENUM_NUMBER,
        st.builds(pb.Actor, id=IDS, display_name=ODD_TEXT, organization=ORGS, role=ENUM_NUMBER,
                  member=st.booleans(), kind=ENUM_NUMBER, installed_by=IDS),
        STAMP,
        st.builds(pb.Group, id=IDS, privacy=ENUM_NUMBER, visibility=ENUM_NUMBER, community=st.lists(ORGS, max_size=3)),
        STAMP, st.lists(adoption(), max_size=2), st.lists(person(), max_size=3), st.lists(item(), max_size=3),
        st.builds(pb.Destination, kind=ENUM_NUMBER, channel=ODD_TEXT, group_id=IDS, publicly_accessible=st.booleans()),
        st.lists(st.builds(pb.Recipient, id=IDS, organization=ORGS), max_size=3),
        st.one_of(st.none(), st.builds(lambda n, o, a, b, c: pb.Service(
            name=n, organization=o, **{k: v for k, v in (("new_controller", a), ("may_train", b), ("retains", c))
                                       if v is not None}), ODD_TEXT, ORGS, optional_bool, optional_bool, optional_bool)),
        STAMP,
        st.one_of(st.none(), st.builds(pb.Attribution, author_identity=st.booleans(), affiliation=st.booleans(),
                                       descriptor=ODD_TEXT, link=st.booleans())),
        ENUM_NUMBER, ENUM_NUMBER, ODD_TEXT,
        st.one_of(st.none(), st.builds(pb.Purpose, need_to_know=st.booleans(), legal_basis=ENUM_NUMBER,
                                       notification_prohibited=st.booleans())),
        st.one_of(st.none(), st.dictionaries(ODD_TEXT, JSON, max_size=3)),
        ENUM_NUMBER,
    )


SMALL_LIMITS = st.builds(limits.Limits, max_items=st.integers(0, 3), max_participants=st.integers(0, 3),
                         max_listed_people=st.integers(0, 2), max_text=st.integers(0, 10),
                         max_labels=st.integers(0, 3), max_struct_depth=st.integers(0, 3),
                         max_adoptions=st.integers(0, 2), max_id=st.integers(0, 4), max_name=st.integers(0, 8),
                         max_names_per_person=st.integers(0, 3), max_names_total=st.integers(0, 60))
SOME_LIMITS = st.one_of(st.just(limits.Limits()), SMALL_LIMITS)
NOWS = st.one_of(st.just(NOW), st.integers(NOW - 10**12, NOW + 10**12))
SKEWS = st.one_of(st.none(), st.just(SKEW), st.integers(0, 10**13))


@settings(parent=budget(100), suppress_health_check=[HealthCheck.too_slow])
@given(request(), NOWS, SKEWS, SOME_LIMITS)
def test_made_up_requests_read_or_are_refused_the_same(message, now, skew, limit):
    data = message.SerializeToString()
    assert native_read(data, now=now, skew=skew, limit=limit) == python_read(data, now=now, skew=skew, limit=limit)


@settings(parent=budget(10), suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(st.lists(request(), max_size=2), NOWS, SKEWS, SOME_LIMITS, st.integers(0, 3))
def test_made_up_batches_read_or_are_refused_the_same(checks, now, skew, limit, max_batch):
    data = pb.CheckBatchRequest(checks=checks).SerializeToString()
    how = dict(now=now, skew=skew, limit=limit, max_batch=max_batch)
    assert native_read_batch(data, **how) == python_read_batch(data, **how)


# ---- bytes that are no request ------------------------------------------------------------------


def varint(n: int) -> bytes:
    out = b""
    while n >= 0x80:
        out += bytes([n & 0x7F | 0x80])
        n >>= 7
    return out + bytes([n])


def delimited(field: int, payload: bytes) -> bytes:
    return varint(field << 3 | 2) + varint(len(payload)) + payload


def nested_structs(levels: int) -> bytes:
    inner = b""
    for _ in range(levels):
        value = delimited(5, inner)  # Value.struct_value
        inner = delimited(1, delimited(1, b"a") + delimited(2, value))  # Struct.fields entry
    return inner


def groups(levels: int) -> bytes:
    return b"".join([varint(20 << 3 | 3)] * levels + [varint(20 << 3 | 4)] * levels)


FIXED = [
    b"", b"\x0a", b"\xff", b"\x08\x01\x0a\x00", b"\x2a\x03\x0a\x01\xff", b"\x00", b"\x0a\x02\x08\x01", b"\x10\x05",
    b"\x08" + b"\xff" * 9 + b"\x7f", b"\x08" + b"\xff" * 9 + b"\x01", b"\x08" + b"\xff" * 10 + b"\x01",
    b"\xf8\xff\xff\xff\x0f\x00", b"\xf8\xff\xff\xff\x1f\x00", b"\xf8\xff\xff\xff\x8f\x00\x00", b"\x0e", b"\x0f",
    b"\x00\x00", b"\xcb\x01\xcc\x01", b"\xcb\x01\xd4\x01", b"\xcc\x01", b"\xcb\x01", b"\x1b\x1c", b"\x13\x14",
    b"\x13\x08\x05\x14", b"\x52\x05ab", b"\x09\x01\x02", b"\x0d\x01\x02\x03\x04", b"\xa2\x06\x01\xff",
    b"\x52\xff\xff\xff\xff\x0f", b"\x52\x80\x80\x80\x80\x08", b"\x68\x02", b"\x08\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01",
    b"\x0a\x01\x08\x0c", b"\x1a\x01\x0c", b"\x1a\x02\x0b\x0c", b"\x1a\x01\x0b", b"\x1a\x02\x08\x80",
    delimited(10, b"\xff") + b"\x0e", b"\x0e" + delimited(10, b"\xff"), delimited(10, b"\xed\xa0\x80"),
    delimited(10, b"\xc0\x80"), delimited(3, delimited(1, b"\xff")), delimited(3, b"\x0a\x01\xff"),
    # map entries holding a field their type does not know (or in another wire type) are no entries to upb
    delimited(5, b"\x0a\x01i" + delimited(5, b"\x0a\x01t" + delimited(5, b"\x0a\x01a\x12\x01b\x18\x01"))),
    delimited(4, b"\x0a\x01g" + delimited(4, b"\x0a\x01t" + delimited(8, b"\x0a\x00\x08\x00"))),
    delimited(12, delimited(1, b"\x0a\x01a" + delimited(2, b"\x20\x01") + b"\x18\x01")),
    # a label ending in its value's tag: upb reads the value's length, and its bytes, from the item past it
    # (found by fuzz/fuzz_native.py)
    delimited(4, b"\x2a\x01\x12\x01\xcd"), delimited(4, b"\x2a\x01\x12\x00\x00"),
    delimited(4, b"\x2a\x01\x12\x81\x01"), delimited(4, b"\x2a\x01\x12\x01a"),
] + [delimited(12, nested_structs(n)) for n in (32, 33, 34)] + [groups(n) for n in (99, 100, 101)] + [
    delimited(5, groups(n)) for n in (98, 99, 100)]


@pytest.mark.parametrize("data", FIXED, ids=[d[:12].hex() for d in FIXED])
def test_bytes_upb_reads_or_refuses_are_read_or_refused_the_same(data):
    assert_same(data)


@settings(parent=budget(300))
@given(st.binary(max_size=40))
def test_random_bytes_are_refused_or_read_the_same(data):
    assert_same(data)


@settings(parent=budget(100), suppress_health_check=[HealthCheck.too_slow])
@given(request(), st.data())
def test_a_cut_or_flipped_request_is_refused_or_read_the_same(message, data):
    raw = bytearray(message.SerializeToString())
    if raw:
        at = data.draw(st.integers(0, len(raw) - 1))
        if data.draw(st.booleans()):
            raw = raw[:at]
        else:
            raw[at] = data.draw(st.integers(0, 255))
    assert_same(bytes(raw))


def test_a_batch_of_bytes_that_is_none_is_refused_the_same():
    for data in FIXED:
        framed = delimited(1, data)
        how = dict(now=NOW, skew=SKEW, limit=limits.Limits(), max_batch=10)
        assert native_read_batch(framed, **how) == python_read_batch(framed, **how)


# ---- responses -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def decisions():
    policy = load_rules(RULES).policy
    return [decide(policy, r, now=DEFAULT_NOW) for _, r in SUITE_REQUESTS]


def test_every_suite_decision_is_written_as_python_writes_it(decisions):
    assert decisions
    for decision in decisions:
        written = pb.CheckResponse.FromString(native.write_response(dataclasses.asdict(decision)))
        assert written == convert.response_to_proto(decision, explain=False)


def test_a_batch_of_decisions_is_written_as_python_writes_it(decisions):
    written = pb.CheckBatchResponse.FromString(
        native.write_batch_response([dataclasses.asdict(d) for d in decisions]))
    expected = pb.CheckBatchResponse()
    for decision in decisions:
        convert.response_to_proto(decision, explain=False, into=expected.results.add())
    assert written == expected


def test_an_until_past_the_range_is_written_as_its_last_instant(decisions):
    obligation = {"type": "embargo", "item_ids": [], "person_ids": [], "spans": [], "names": [], "scope": "",
                  "until": 253_402_300_800 * SECOND + 5, "label": "", "notice": "", "descriptor": "", "link": ""}
    decision = {"decision": "allow_with_obligations", "obligations": [obligation], "items": [], "findings": [],
                "reason": "", "policy_revision": "r"}
    written = pb.CheckResponse.FromString(native.write_response(decision))
    assert written.obligations[0].until == Timestamp(seconds=253_402_300_799, nanos=999_999_999)
    obligation["until"] = -62_135_596_800 * SECOND - 1
    written = pb.CheckResponse.FromString(native.write_response(decision))
    assert written.obligations[0].until == Timestamp(seconds=-62_135_596_800, nanos=0)


@pytest.mark.parametrize("odd", ["\x1c", "\x1f", "\u3000", "\u200b", "\x85", "\u0130", "\u00df", "\u03a3"])
def test_blanks_and_cases_python_sees_are_seen_the_same(odd):
    message = pb.CheckRequest(action=1, actor=pb.Actor(id="a"), group=pb.Group(id=f"g1{odd}"), items=[pb.Item(
        id="i", labels=[pb.Label(scheme=f"{odd}TLP", value=f"{odd}AMBER{odd}", set_by=f" X{odd}")])],
        destination=pb.Destination(kind=1))
    message.group.adoptions.add(agreement="tlp", default_labels={f"{odd}tlp": f"{odd}RED"})
    assert_same(message.SerializeToString())
    message.group.id = "g1"
    assert_same(message.SerializeToString())
