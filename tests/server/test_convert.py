"""The wire <-> engine conversion: every field arrives, every violation is named exactly."""

from __future__ import annotations

import dataclasses
import typing

import pytest
from google.protobuf import struct_pb2
from google.protobuf.timestamp_pb2 import Timestamp

from discretion.engine import model
from discretion.engine.compiled import AgreementInfo, VersionInfo
from discretion.engine.instants import SECOND
from discretion.server import convert, rosters
from discretion.server._gen.discretion.v1 import policy_pb2 as pb

MIN_SECONDS = -62_135_596_800  # 0001-01-01T00:00:00Z
MAX_SECONDS = 253_402_300_799  # 9999-12-31T23:59:59Z


def ts(seconds: int, nanos: int = 0) -> Timestamp:
    return Timestamp(seconds=seconds, nanos=nanos)


def ns(seconds: int, nanos: int = 0) -> int:
    """The engine's instant of `ts(seconds, nanos)`."""
    return seconds * SECOND + nanos


def minimal(**fields) -> pb.CheckRequest:
    """The smallest request that is understood, with `fields` replaced."""
    understood = dict(
        action=pb.ACTION_SHARE,
        actor=pb.Actor(id="ana"),
        group=pb.Group(id="g1"),
        items=[pb.Item(id="m1")],
        destination=pb.Destination(kind=pb.DESTINATION_KIND_PUBLIC),
    )
    return pb.CheckRequest(**{**understood, **fields})


def violations(request: pb.CheckRequest) -> list[tuple[str, str]]:
    with pytest.raises(convert.RequestInvalid) as raised:
        convert.request_from_proto(request)
    return [(v.field, v.description) for v in raised.value.violations]


def fields_at_fault(request: pb.CheckRequest) -> list[str]:
    return [field for field, _ in violations(request)]


# ---- every field arrives ------------------------------------------------------


def full_request() -> pb.CheckRequest:
    """A request with every field set to a distinct, non-default value."""
    attributes = struct_pb2.Struct()
    attributes.update({"ticket": "T-9", "count": 3, "ratio": 0.5, "ok": True, "none": None,
                       "nested": {"tags": ["a", 2]}})
    participants = [pb.Person(id="bo", display_name="Bo", organization="beta", handles=["@bo", "bobby"],
                              is_minor=True, aliases=["B."], organization_aliases=["BTA"])]
    return pb.CheckRequest(
        action=pb.ACTION_QUOTE,
        requested_at=ts(1_700_000_000, 500_000_000),
        actor=pb.Actor(
            id="ana", display_name="Ana", organization="acme", role=pb.ROLE_MODERATOR,
            member=True, joined_at=ts(1_600_000_000), kind=pb.ACTOR_KIND_PERSON,
        ),
        group=pb.Group(
            id="g1",
            privacy=pb.PRIVACY_PUBLIC,
            visibility=pb.VISIBILITY_HIDDEN,
            adoptions=[
                pb.Adoption(agreement="chatham-house", version=2, effective_from=ts(10),
                            disclosed_at=ts(20), replaces=["old", "older"], segments=["discussion"],
                            default_labels={"TLP": "amber"}, label_floors={"TLP": "green"}),
            ],
            participants=participants,
            community=["acme", "beta"],
            converted_at=ts(30),
            roster_digest=rosters.digest(participants),  # theirs: the roster by value, kept for the caller
        ),
        items=[
            pb.Item(
                id="m1",
                author=pb.Person(id="bo", display_name="Bo", organization="beta", handles=["@bo"], is_minor=True,
                                 aliases=["Bobby B"], organization_aliases=["beta.example"]),
                posted_at=ts(1_650_000_000, 1),
                retracted_at=ts(1_660_000_000),
                labels=[pb.Label(scheme="TLP", value="AMBER+Strict", set_by="author", set_at=ts(30),
                                 params={"descriptor": "a senior official"})],
                consents=[pb.Consent(by="bo", scope="attribution", recipients=["cy"],
                                     granted_at=ts(40), withdrawn_at=ts(50), id="c-bo")],
                text="hello",
                kind=pb.ITEM_KIND_TRANSCRIPT,
                listed_people=[
                    pb.Person(id="cy", display_name="Cy", organization="gamma", handles=["@cy"], is_minor=True,
                              aliases=["C"], organization_aliases=["GMA"])
                ],
                session=pb.Session(id="s1", segment="discussion", speaker_count=1),
                exchange_participants=["bo", "cy"],
                conversation="c1",
                link="https://example.org/m1",
            ),
            pb.Item(id="m2"),
        ],
        destination=pb.Destination(
            kind=pb.DESTINATION_KIND_AI_TOOL,
            channel="#general",
            recipients=[pb.Recipient(id="dee", organization="delta")],
            group_id="g2",
            publicly_accessible=True,
            service=pb.Service(name="summarizer", organization="ai-co", new_controller=True,
                               may_train=True, retains=True),
        ),
        attribution=pb.Attribution(author_identity=True, affiliation=True, descriptor="an analyst", link=True),
        format=pb.FORMAT_SCREENSHOT,
        derived=pb.DERIVATION_SUMMARY,
        quoted_text="she said",
        purpose=pb.Purpose(need_to_know=True, legal_basis=pb.LEGAL_BASIS_MEMBER_CONSENT,
                           notification_prohibited=True, use=pb.USE_LOOKUP),
        attributes=attributes,
        explain=True,
        span_unit=pb.SPAN_UNIT_UTF16,
        # The caller's, for the decision log: never a fact a rule reads (test_decision_log).
        request_context={"route": "share-button"},
    )


def test_every_field_of_a_check_arrives_in_the_request():
    request = convert.request_from_proto(full_request())

    assert request == model.Request(
        action="quote",
        requested_at=ns(1_700_000_000, 500_000_000),
        actor=model.Actor(id="ana", display_name="Ana", organization="acme", role="moderator",
                          member=True, joined_at=ns(1_600_000_000), kind="person"),
        group=model.Group(
            id="g1",
            privacy="public",
            visibility="hidden",
            adoptions=(model.Adoption(agreement="chatham-house", version=2, effective_from=ns(10),
                                      disclosed_at=ns(20), replaces=("old", "older"), segments=("discussion",),
                                      default_labels={"tlp": "amber"}, label_floors={"tlp": "green"}),),
            participants=(model.Person(id="bo", display_name="Bo", organization="beta",
                                       handles=("@bo", "bobby"), is_minor=True, aliases=("B.",),
                                       organization_aliases=("BTA",)),),
            community=("acme", "beta"),
            converted_at=ns(30),
        ),
        items=(
            model.Item(
                id="m1",
                author=model.Person(id="bo", display_name="Bo", organization="beta", handles=("@bo",), is_minor=True,
                                    aliases=("Bobby B",), organization_aliases=("beta.example",)),
                posted_at=ns(1_650_000_000, 1),
                retracted_at=ns(1_660_000_000),
                labels=(model.Label(scheme="tlp", value="amber+strict", set_by="author", set_at=ns(30),
                                    params={"descriptor": "a senior official"}),),
                consents=(model.Consent(by="bo", scope="attribution", recipients=("cy",),
                                        granted_at=ns(40), withdrawn_at=ns(50), id="c-bo"),),
                text="hello",
                kind="transcript",
                listed_people=(
                    model.Person(id="cy", display_name="Cy", organization="gamma", handles=("@cy",), is_minor=True,
                                 aliases=("C",), organization_aliases=("GMA",)),
                ),
                session=model.Session(id="s1", segment="discussion", speaker_count=1),
                exchange_participants=("bo", "cy"),
                conversation="c1",
                link="https://example.org/m1",
            ),
            model.Item(id="m2"),
        ),
        destination=model.Destination(
            kind="ai_tool",
            channel="#general",
            recipients=(model.Recipient(id="dee", organization="delta"),),
            group_id="g2",
            publicly_accessible=True,
            service=model.Service(name="summarizer", organization="ai-co", new_controller=True,
                                  may_train=True, retains=True),
        ),
        attribution=model.Attribution(author_identity=True, affiliation=True, descriptor="an analyst", link=True),
        format="screenshot",
        derived="summary",
        quoted_text="she said",
        purpose=model.Purpose(need_to_know=True, legal_basis="member_consent", notification_prohibited=True,
                              use="lookup"),
        attributes={"ticket": "T-9", "count": 3, "ratio": 0.5, "ok": True, "none": None,
                    "nested": {"tags": ["a", 2]}},
        span_unit="utf16",
    )


def test_the_full_request_sets_every_field_it_converts():
    """Guards the test above: a proto field added later must be set there too."""

    def unset(message, path=""):
        for field in message.DESCRIPTOR.fields:
            where = f"{path}{field.name}"
            if field.is_repeated:
                values = getattr(message, field.name)
                if not values:
                    yield where
                elif field.message_type and not field.message_type.GetOptions().map_entry:
                    yield from unset(values[0], f"{where}[0].")
            elif field.message_type:
                if not message.HasField(field.name):
                    yield where
                elif field.message_type.full_name not in ("google.protobuf.Timestamp", "google.protobuf.Struct"):
                    yield from unset(getattr(message, field.name), f"{where}.")
            elif not getattr(message, field.name):
                yield where

    # A person has no installer and a service no organization: `installed_by`
    # arrives in test_a_service_installed_by_a_member_is_understood.
    assert list(unset(full_request())) == ["actor.installed_by"]


def _model_type(hint) -> type | None:
    """The dataclass a model field holds, directly or in a tuple."""
    for candidate in (hint, *typing.get_args(hint)):
        if dataclasses.is_dataclass(candidate):
            return candidate
    return None


@pytest.mark.parametrize(
    ("message", "dataclass"),
    [(pb.CheckRequest.DESCRIPTOR, model.Request)],
)
def test_proto_and_model_have_the_same_fields(message, dataclass):
    """Field for field, all the way down, so neither side can drift from the other."""
    # A wish about the answer, and the caller's ids for the log: not facts.
    wire_only = {"CheckRequest": {"explain", "request_context"},
                 "Group": {"roster_digest"}}  # how the roster travels: read into `participants` (server/rosters.py)
    # Facts that never come over the wire (e.g. only from rules/bindings.yaml) go here, by model class.
    model_only: dict[str, set[str]] = {}

    def compare(descriptor, cls):
        hints = typing.get_type_hints(cls)
        wire = {f.name for f in descriptor.fields} - wire_only.get(descriptor.name, set())
        assert wire == set(hints) - model_only.get(cls.__name__, set()), f"{descriptor.name} vs {cls.__name__}"
        for field in descriptor.fields:
            nested = _model_type(hints.get(field.name))
            if field.message_type and nested:
                compare(field.message_type, nested)

    compare(message, dataclass)


# ---- enums --------------------------------------------------------------------

ENUM_VOCABULARIES = [
    (pb.Action, "action", model.ACTIONS, ""),
    (pb.DestinationKind, "destination.kind", model.DESTINATION_KINDS, ""),
    (pb.ItemKind, "item.kind", model.ITEM_KINDS, "message"),
    (pb.Format, "format", model.FORMATS, "text"),
    (pb.Derivation, "derived", model.DERIVATIONS, "verbatim"),
    (pb.Role, "actor.role", model.ROLES, "member"),
    (pb.ActorKind, "actor.kind", model.ACTOR_KINDS, "person"),
    (pb.Privacy, "group.privacy", model.PRIVACIES, "private"),
    (pb.Visibility, "group.visibility", model.VISIBILITIES, "visible"),
    (pb.LegalBasis, "purpose.legal_basis", model.LEGAL_BASES, "none"),
    (pb.Use, "purpose.use", model.USES, ""),
    (pb.SpanUnit, "span_unit", model.SPAN_UNITS, "code_point"),
]


def read_enum(fact: str, number: int) -> str:
    """Send `number` in the field behind `fact` and read back the converted word."""
    request = minimal()
    if fact == "action":
        request.action = number
        return convert.request_from_proto(request).action
    if fact == "destination.kind":
        request.destination.kind = number
        return convert.request_from_proto(request).destination.kind
    if fact == "item.kind":
        request.items[0].kind = number
        return convert.request_from_proto(request).items[0].kind
    if fact == "format":
        request.format = number
        return convert.request_from_proto(request).format
    if fact == "derived":
        request.derived = number
        return convert.request_from_proto(request).derived
    if fact == "actor.role":
        request.actor.role = number
        return convert.request_from_proto(request).actor.role
    if fact == "actor.kind":
        request.actor.kind = number
        if number == pb.ACTOR_KIND_SERVICE:
            request.actor.installed_by = "bo"
        return convert.request_from_proto(request).actor.kind
    if fact == "group.privacy":
        request.group.privacy = number
        return convert.request_from_proto(request).group.privacy
    if fact == "group.visibility":
        request.group.visibility = number
        return convert.request_from_proto(request).group.visibility
    if fact == "purpose.legal_basis":
        request.purpose.legal_basis = number
        return convert.request_from_proto(request).purpose.legal_basis
    if fact == "purpose.use":
        request.purpose.use = number
        return convert.request_from_proto(request).purpose.use
    if fact == "span_unit":
        request.span_unit = number
        return convert.request_from_proto(request).span_unit
    raise AssertionError(fact)


def _enum_id(value) -> str:
    """A test id that is the same in every process (an enum wrapper's repr holds its address)."""
    descriptor = getattr(value, "DESCRIPTOR", None)
    return descriptor.name if descriptor is not None else str(value)


@pytest.mark.parametrize(("enum", "fact", "vocabulary", "unspecified"), ENUM_VOCABULARIES, ids=_enum_id)
def test_every_wire_enum_value_reads_as_its_domain_word(enum, fact, vocabulary, unspecified):
    words = [read_enum(fact, value.number) for value in enum.DESCRIPTOR.values if value.number]
    assert words == list(vocabulary)
    assert model.VOCABULARIES[fact] == vocabulary


@pytest.mark.parametrize(("enum", "fact", "vocabulary", "unspecified"), ENUM_VOCABULARIES, ids=_enum_id)
def test_an_unspecified_enum_reads_as_its_documented_default(enum, fact, vocabulary, unspecified):
    assert read_enum(fact, 0) == unspecified


# The field each fact arrives in, as a violation names it.
WIRE_FIELD = {"item.kind": "items[0].kind"}


@pytest.mark.parametrize(("enum", "fact", "vocabulary", "unspecified"), ENUM_VOCABULARIES, ids=_enum_id)
@pytest.mark.parametrize("number", [-1, 99, 2**31 - 1])
def test_an_enum_number_the_proto_does_not_define_is_refused_naming_the_field(enum, fact, vocabulary,
                                                                             unspecified, number):
    # Read as any word, the rules that test the field would pass it by.
    number = number if number != 99 else max(enum.values()) + 1
    with pytest.raises(convert.RequestInvalid) as raised:
        read_enum(fact, number)
    [violation] = raised.value.violations
    assert violation.field == WIRE_FIELD.get(fact, fact)
    assert f"{number} is not a defined {enum.DESCRIPTOR.name}" in violation.description
    assert enum.Name(1) in violation.description


def test_unspecified_action_and_destination_are_not_errors_of_form():
    request = convert.request_from_proto(minimal(action=pb.ACTION_UNSPECIFIED, destination=pb.Destination()))
    assert (request.action, request.destination.kind) == ("", "")


def test_unset_facts_read_as_the_model_defaults():
    request = convert.request_from_proto(minimal())
    assert request.requested_at is None
    assert request.actor.joined_at is None
    assert request.items[0].posted_at is None and request.items[0].retracted_at is None
    assert request.items[0] == model.Item(id="m1")
    assert request.attributes == {}
    assert request.purpose == model.Purpose()
    assert (request.format, request.derived) == ("text", "verbatim")


# ---- violations ---------------------------------------------------------------


def test_an_empty_request_names_every_required_field():
    assert violations(pb.CheckRequest()) == [
        ("actor.id", "required: the id of the person acting"),
        ("group.id", "required: the id of the group the items were posted in"),
        ("items", "required: at least one item"),
    ]


def test_a_blank_id_is_missing():
    assert fields_at_fault(minimal(actor=pb.Actor(id="  "), group=pb.Group(id="\t"))) == ["actor.id", "group.id"]


def test_every_item_needs_an_id():
    request = minimal(items=[pb.Item(id="m1"), pb.Item(), pb.Item(id="m3"), pb.Item()])
    assert violations(request) == [
        ("items[1].id", "required: the id of the item"),
        ("items[3].id", "required: the id of the item"),
    ]


def test_item_ids_are_unique_within_a_request():
    request = minimal(items=[pb.Item(id="m1"), pb.Item(id="m2"), pb.Item(id="m1"), pb.Item(id="m1")])
    assert violations(request) == [
        ("items[2].id", "duplicate item id `m1`, first at `items[0]`"),
        ("items[3].id", "duplicate item id `m1`, first at `items[0]`"),
    ]


def test_every_adoption_names_an_agreement():
    group = pb.Group(id="g1", adoptions=[pb.Adoption(agreement="tlp"), pb.Adoption(version=2)])
    assert violations(minimal(group=group)) == [
        ("group.adoptions[1].agreement", "required: an agreement id loaded from the rules"),
    ]


def every_timestamp(stamp: Timestamp) -> pb.CheckRequest:
    """A request whose every Timestamp field holds `stamp`, each in its second element."""
    request = minimal()
    request.requested_at.CopyFrom(stamp)
    request.actor.joined_at.CopyFrom(stamp)
    request.group.adoptions.extend([pb.Adoption(agreement="a"), pb.Adoption(agreement="b")])
    request.group.adoptions[1].effective_from.CopyFrom(stamp)
    request.group.adoptions[1].disclosed_at.CopyFrom(stamp)
    item = request.items.add(id="m2")
    item.posted_at.CopyFrom(stamp)
    item.retracted_at.CopyFrom(stamp)
    item.labels.extend([pb.Label(scheme="tlp"), pb.Label(scheme="chr")])
    item.labels[1].set_at.CopyFrom(stamp)
    item.consents.extend([pb.Consent(by="x"), pb.Consent(by="y")])
    item.consents[1].granted_at.CopyFrom(stamp)
    item.consents[1].withdrawn_at.CopyFrom(stamp)
    return request


TIMESTAMP_PATHS = [
    "actor.joined_at",
    "group.adoptions[1].effective_from",
    "group.adoptions[1].disclosed_at",
    "items[1].posted_at",
    "items[1].retracted_at",
    "items[1].labels[1].set_at",
    "items[1].consents[1].granted_at",
    "items[1].consents[1].withdrawn_at",
    "requested_at",
]


@pytest.mark.parametrize(
    "stamp",
    [ts(MAX_SECONDS + 1), ts(MIN_SECONDS - 1), ts(0, -1), ts(0, 1_000_000_000)],
    ids=["after-9999", "before-0001", "negative-nanos", "nanos-overflow"],
)
def test_a_malformed_timestamp_is_named_wherever_it_is(stamp):
    found = violations(every_timestamp(stamp))
    assert [field for field, _ in found] == TIMESTAMP_PATHS
    assert all(description.startswith("malformed timestamp") for _, description in found)


@pytest.mark.parametrize(
    ("stamp", "instant"),
    [(ts(MIN_SECONDS), ns(MIN_SECONDS)), (ts(MAX_SECONDS, 999_999_999), ns(MAX_SECONDS, 999_999_999)),
     (ts(0), 0), (ts(-1, 500_000_000), -SECOND // 2)],
    ids=["0001-01-01", "9999-12-31-last-nano", "epoch", "before-epoch"],
)
def test_timestamps_at_the_edges_of_the_range_are_understood(stamp, instant):
    request = convert.request_from_proto(every_timestamp(stamp))
    assert request.requested_at == instant
    assert request.items[1].consents[1].withdrawn_at == instant


def test_all_violations_of_a_request_are_reported_together():
    request = pb.CheckRequest(
        group=pb.Group(adoptions=[pb.Adoption()]),
        items=[pb.Item(id="m1", posted_at=ts(0, -5)), pb.Item(id="m1")],
    )
    assert fields_at_fault(request) == [
        "actor.id",
        "group.id",
        "group.adoptions[0].agreement",
        "items[0].posted_at",
        "items[1].id",
    ]


def test_request_invalid_says_which_fields():
    with pytest.raises(convert.RequestInvalid, match=r"^2 invalid fields: `actor.id`, `group.id`$"):
        convert.request_from_proto(minimal(actor=pb.Actor(), group=pb.Group()))


# ---- batches ------------------------------------------------------------------


def test_a_batch_converts_every_check_in_order():
    checks = [minimal(items=[pb.Item(id=f"m{i}")]) for i in range(5)]
    requests = convert.requests_from_batch(pb.CheckBatchRequest(checks=checks), max_batch=5)
    assert [r.items[0].id for r in requests] == ["m0", "m1", "m2", "m3", "m4"]


def test_an_empty_batch_is_an_empty_answer():
    assert convert.requests_from_batch(pb.CheckBatchRequest(), max_batch=100) == []


def test_batch_violations_are_named_by_their_check():
    checks = [minimal(), minimal(), minimal(), minimal(actor=pb.Actor()), minimal(items=[pb.Item(id="a"), pb.Item()])]
    with pytest.raises(convert.RequestInvalid) as raised:
        convert.requests_from_batch(pb.CheckBatchRequest(checks=checks), max_batch=100)
    assert [v.field for v in raised.value.violations] == ["checks[3].actor.id", "checks[4].items[1].id"]


def test_a_batch_over_the_cap_is_refused_naming_checks_and_the_cap():
    checks = [minimal()] * 4
    with pytest.raises(convert.RequestInvalid) as raised:
        convert.requests_from_batch(pb.CheckBatchRequest(checks=checks), max_batch=3)
    [violation] = raised.value.violations
    assert violation.field == "checks"
    assert "at most 3 checks" in violation.description and "got 4" in violation.description


# ---- answers ------------------------------------------------------------------


def full_decision(explanation=("rule tlp.amber matched",)) -> model.Decision:
    return model.Decision(
        decision="allow_with_obligations",
        obligations=(
            model.Obligation(
                type="redact_identifying_content",
                item_ids=("m1",),
                person_ids=("bo",),
                spans=(model.Span(start=3, end=7, reveals="name", field="items.text", item_id="m1"),),
                names=("Bo",),
                scope="attribution",
                until=ns(1_700_000_000, 250_000_000),
                label="TLP:AMBER",
                notice="chatham_house_rule",
                descriptor="a senior official",
                link="https://example.org/m1",
            ),
            model.Obligation(type="add_notice"),
        ),
        items=(
            model.ItemResult(item_id="m1", outcome="redacted", decision="allow_with_obligations",
                             governed_by=("chatham-house@1",)),
            model.ItemResult(item_id="m2", outcome="excluded", decision="deny", governed_by=()),
            model.ItemResult(item_id="m3", outcome="kept", decision="allow", governed_by=()),
        ),
        findings=(
            model.Finding(agreement="chatham-house", version=1, rule="no-attribution", item_id="m1",
                          effect="allow_with_obligations", reason_code="speaker_identity_protected",
                          message="the speaker may not be identified"),
        ),
        reason="allowed once the speaker's name is removed",
        policy_revision="rev-1",
        explanation=explanation,
    )


def test_every_field_of_a_decision_arrives_in_the_response():
    response = convert.response_to_proto(full_decision(), explain=True)

    assert response == pb.CheckResponse(
        decision=pb.DECISION_ALLOW_WITH_OBLIGATIONS,
        obligations=[
            pb.Obligation(
                type="redact_identifying_content",
                item_ids=["m1"],
                person_ids=["bo"],
                spans=[pb.Span(start=3, end=7, reveals="name", field="items.text", item_id="m1")],
                names=["Bo"],
                scope="attribution",
                until=ts(1_700_000_000, 250_000_000),
                label="TLP:AMBER",
                notice="chatham_house_rule",
                descriptor="a senior official",
                link="https://example.org/m1",
            ),
            pb.Obligation(type="add_notice"),
        ],
        items=[
            pb.ItemResult(item_id="m1", outcome=pb.ITEM_OUTCOME_REDACTED,
                          decision=pb.DECISION_ALLOW_WITH_OBLIGATIONS, governed_by=["chatham-house@1"]),
            pb.ItemResult(item_id="m2", outcome=pb.ITEM_OUTCOME_EXCLUDED, decision=pb.DECISION_DENY),
            pb.ItemResult(item_id="m3", outcome=pb.ITEM_OUTCOME_KEPT, decision=pb.DECISION_ALLOW),
        ],
        findings=[
            pb.Finding(agreement="chatham-house", version=1, rule="no-attribution", item_id="m1",
                       effect=pb.EFFECT_ALLOW_WITH_OBLIGATIONS, reason_code="speaker_identity_protected",
                       message="the speaker may not be identified"),
        ],
        reason="allowed once the speaker's name is removed",
        policy_revision="rev-1",
        explanation=["rule tlp.amber matched"],
    )
    assert not response.obligations[1].HasField("until")


def test_the_explanation_is_sent_only_when_asked_for():
    assert list(convert.response_to_proto(full_decision(), explain=False).explanation) == []


@pytest.mark.parametrize("word", ["allow", "allow_with_obligations", "deny"])
def test_every_decision_word_has_a_wire_value(word):
    decision = dataclasses.replace(full_decision(), decision=word)
    assert pb.Decision.Name(convert.response_to_proto(decision, explain=False).decision) == f"DECISION_{word.upper()}"


def test_a_decision_word_the_wire_cannot_carry_fails_loudly():
    with pytest.raises(KeyError):
        convert.response_to_proto(dataclasses.replace(full_decision(), decision="maybe"), explain=False)


@pytest.mark.parametrize(
    ("instant", "seconds", "nanos"),
    [(0, 0, 0), (ns(1, 500_000_000), 1, 500_000_000), (-SECOND // 4, -1, 750_000_000), (-1, -1, 999_999_999),
     # Past the range a Timestamp carries: its last (or first) instant, never one no reader can parse.
     (ns(MAX_SECONDS + 5 * 3600), MAX_SECONDS, 999_999_999), (ns(MIN_SECONDS - 1), MIN_SECONDS, 0)],
)
def test_instants_go_out_as_well_formed_timestamps(instant, seconds, nanos):
    obligation = dataclasses.replace(full_decision().obligations[0], until=instant)
    decision = dataclasses.replace(full_decision(), obligations=(obligation,))
    assert convert.response_to_proto(decision, explain=False).obligations[0].until == ts(seconds, nanos)


def _round_trip(stamp: Timestamp) -> tuple[int, Timestamp]:
    """The engine's instant of `stamp` as a request brings it, and the Timestamp an answer carrying it sends."""
    instant = convert.request_from_proto(every_timestamp(stamp)).requested_at
    obligation = dataclasses.replace(full_decision().obligations[0], until=instant)
    decision = dataclasses.replace(full_decision(), obligations=(obligation,))
    return instant, convert.response_to_proto(decision, explain=False).obligations[0].until


@pytest.mark.parametrize(
    ("earlier", "later"),
    [(ts(MIN_SECONDS), ts(MIN_SECONDS, 1)), (ts(-1, 999_999_999), ts(0)),
     (ts(1_772_323_199, 999_999_999), ts(1_772_323_200)), (ts(1_772_323_200, 1), ts(1_772_323_200, 2)),
     (ts(MAX_SECONDS, 999_999_998), ts(MAX_SECONDS, 999_999_999))],
    ids=["0001-01-01", "epoch", "2026-a-second-turns", "2026-within-a-second", "9999-12-31-last-nano"],
)
def test_timestamps_a_nanosecond_apart_stay_apart_and_come_back_exactly(earlier, later):
    # A float of seconds merges instants some hundred nanoseconds apart at today's dates.
    (first, first_back), (second, second_back) = _round_trip(earlier), _round_trip(later)
    assert type(first) is int and second - first == 1
    assert (first_back, second_back) == (earlier, later)


def test_agreements_are_listed_with_their_versions():
    agreements = (
        AgreementInfo(id="chatham-house", version=2, title="Chatham House Rule", summary="no attribution",
                      source="https://example.org/chr", platform_wide=False,
                      versions=(VersionInfo(1),
                                VersionInfo(2, effective_from=ns(100), disclosed_at=ns(90, 500_000_000)))),
        AgreementInfo(id="platform", version=1, title="Platform", summary="", source="", platform_wide=True,
                      versions=(VersionInfo(1),)),
    )
    assert convert.agreements_to_proto(agreements, "rev-7") == pb.ListAgreementsResponse(
        agreements=[
            pb.AgreementInfo(id="chatham-house", version=2, title="Chatham House Rule", summary="no attribution",
                             source="https://example.org/chr",
                             versions=[pb.AgreementVersion(version=1),
                                       pb.AgreementVersion(version=2, effective_from=ts(100),
                                                           disclosed_at=ts(90, 500_000_000))]),
            pb.AgreementInfo(id="platform", version=1, title="Platform", platform_wide=True,
                             versions=[pb.AgreementVersion(version=1)]),
        ],
        policy_revision="rev-7",
    )


def test_the_status_carries_the_wall_clock_readings_of_the_store():
    # The store reads `time.time()`, float seconds: not an engine instant.
    from discretion.store import PolicyStatus

    status = PolicyStatus(revision="rev-7", loaded_at=1_700_000_000.25, last_error=(), last_attempt_at=None)
    answer = convert.policy_status_to_proto(status)
    assert answer.loaded_at == ts(1_700_000_000, 250_000_000) and not answer.HasField("last_attempt_at")


def test_service_facts_not_given_stay_unknown():
    """`optional` on the wire: an unset may_train is None (unknown), not False (a promise)."""
    request = pb.CheckRequest(
        action=pb.ACTION_EXPORT, actor=pb.Actor(id="a"), group=pb.Group(id="g"), items=[pb.Item(id="i")],
        destination=pb.Destination(kind=pb.DESTINATION_KIND_AI_TOOL, service=pb.Service(name="x", may_train=False)),
    )
    service = convert.request_from_proto(request).destination.service
    assert (service.may_train, service.retains, service.new_controller) == (False, None, None)


def test_the_python_client_knows_every_obligation_the_engine_can_ask_for():
    # It refuses an answer with any other type (UnexpectedAnswerError): one added here must reach it too.
    from discretion.engine.obligations import OBLIGATION_TYPES
    from discretion_client import _model as client_model

    assert set(typing.get_args(client_model.ObligationTypeName)) == set(OBLIGATION_TYPES)
    assert set(typing.get_args(client_model.SpanFieldName)) == set(model.SPAN_FIELDS)


def test_the_typescript_and_go_clients_know_every_obligation_the_engine_can_ask_for():
    # Each refuses an answer with any other type (UnexpectedAnswerError, ErrUnexpectedAnswer).
    import pathlib
    import re

    from discretion.engine.obligations import OBLIGATION_TYPES

    clients = pathlib.Path(__file__).resolve().parents[2] / "clients"
    typescript = (clients / "typescript" / "src" / "client.ts").read_text()
    listed = typescript[typescript.index("export const OBLIGATION_TYPES"):]
    assert set(re.findall(r'^  "([a-z_]+)",$', listed[:listed.index("];")], re.M)) == set(OBLIGATION_TYPES)
    go = (clients / "go" / "client.go").read_text()
    listed = go[go.index("var ObligationTypes"):]
    assert set(re.findall(r'^\t"([a-z_]+)": +true,$', listed[:listed.index("\n}")], re.M)) == set(OBLIGATION_TYPES)


@pytest.mark.parametrize(("actor", "fields"), [
    (pb.Actor(id="bot", kind=pb.ACTOR_KIND_SERVICE), ["actor.installed_by"]),
    (pb.Actor(id="bot", kind=pb.ACTOR_KIND_SERVICE, installed_by=" "), ["actor.installed_by"]),
    (pb.Actor(id="bot", kind=pb.ACTOR_KIND_SERVICE, installed_by="ana", role=pb.ROLE_OWNER), ["actor.role"]),
    (pb.Actor(id="ana", installed_by="root"), ["actor.installed_by"]),
    (pb.Actor(id="ana", kind=pb.ACTOR_KIND_PERSON, installed_by="root"), ["actor.installed_by"]),
], ids=["service-without-installer", "blank-installer", "service-as-owner", "person-installed", "person-installed-2"])
def test_an_actor_whose_kind_and_facts_disagree_is_refused_naming_the_field(actor, fields):
    # A service acts for the person who installed it, in no role of its own: an owner's bot exports nothing alone.
    assert fields_at_fault(minimal(actor=actor)) == fields


def test_a_service_installed_by_a_member_is_understood():
    actor = convert.request_from_proto(minimal(actor=pb.Actor(id="bot", kind=pb.ACTOR_KIND_SERVICE,
                                                              installed_by="ana", role=pb.ROLE_MEMBER))).actor
    assert (actor.kind, actor.installed_by, actor.role) == ("service", "ana", "member")


@pytest.mark.parametrize("group_id", ["g1 ", " g1", "g1\t"])
def test_a_group_id_with_blanks_around_it_is_refused(group_id):
    # Read as another group, `g1 ` would escape the floor rules/bindings.yaml binds to `g1`.
    assert fields_at_fault(minimal(group=pb.Group(id=group_id))) == ["group.id"]
