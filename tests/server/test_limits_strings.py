"""Every string a check carries is bounded by what it is, and holds no control character.

The check reads the strings from the converted request in one pass written
out by hand (`limits._gather`); these tests put a string that is too long,
and one with a control character, into every string field the proto defines,
so a field added to the proto and forgotten there fails here.
"""

from __future__ import annotations

import dataclasses

import pytest
from google.protobuf.descriptor import FieldDescriptor

from discretion.engine.compiled import scheme_key
from discretion.server import convert, limits
from discretion.server._gen.discretion.v1 import policy_pb2 as pb

LIMITS = limits.Limits(max_id=20, max_name=30, max_names_per_person=2, max_labels=2)
TEXTS = {"text", "quoted_text"}  # bounded by --max-text, and may hold line breaks


def service_to_other_group() -> pb.CheckRequest:
    """What `full` cannot also say: a service acting, and another group as the destination."""
    request = full()
    request.actor.CopyFrom(pb.Actor(id="bot", display_name="Digest bot", member=True, kind=pb.ACTOR_KIND_SERVICE,
                                    installed_by="u2"))
    request.destination.CopyFrom(pb.Destination(kind=pb.DESTINATION_KIND_OTHER_GROUP, group_id="g2"))
    return request


VARIANTS = {"full": lambda: full(), "service": service_to_other_group}


def full() -> pb.CheckRequest:
    """A request that sets one of everything that holds a string, and converts."""
    person = dict(id="u1", display_name="Li Chen", organization="Northwind", handles=["@li"], aliases=["Li"],
                  organization_aliases=["NW"])
    return pb.CheckRequest(
        action=pb.ACTION_SHARE,
        actor=pb.Actor(id="u2", display_name="Ana Lopez", organization="Contoso", member=True),
        group=pb.Group(id="g1", participants=[pb.Person(**person)], community=["Contoso"], adoptions=[pb.Adoption(
            agreement="tlp", replaces=["chatham-house"], segments=["day-1"], default_labels={"tlp": "amber"},
            label_floors={"tlp": "green"})]),
        items=[pb.Item(id="m1", author=pb.Person(**person), listed_people=[pb.Person(**person)], text="hello",
                       labels=[pb.Label(scheme="press", value="background", set_by="u1", params={"descriptor": "a banker"})],
                       consents=[pb.Consent(by="u1", scope="attribution", recipients=["r1"], id="c1")],
                       session=pb.Session(id="s1", segment="day-1"), exchange_participants=["r1"],
                       conversation="c1", link="https://example.org/m1")],
        destination=pb.Destination(kind=pb.DESTINATION_KIND_EXTERNAL_INDIVIDUAL, channel="email",
                                   recipients=[pb.Recipient(id="r1", organization="Fabrikam")],
                                   service=pb.Service(name="mailer", organization="Mailco")),
        attribution=pb.Attribution(descriptor="a banker"),
        quoted_text="hello",
        request_context={"route": "share-button"},
    )


def string_fields(message, path: str = ""):
    """(path as a violation names it, holder, field name, how to set it) for every string field set in `message`."""
    for field, value in message.ListFields():
        at = f"{path}{field.name}"
        if field.type == FieldDescriptor.TYPE_STRING:
            if field.is_repeated:
                yield f"{at}[0]", message, field.name, "list"
            else:
                yield at, message, field.name, "scalar"
        elif field.type == FieldDescriptor.TYPE_MESSAGE and field.message_type.GetOptions().map_entry:
            key = next(iter(value))
            yield f"{at}[{key!r}]", message, field.name, "map"
        elif field.type == FieldDescriptor.TYPE_MESSAGE and not field.message_type.full_name.startswith("google."):
            for index, child in enumerate(value if field.is_repeated else [value]):
                yield from string_fields(child, f"{at}[{index}]." if field.is_repeated else f"{at}.")


def every_string_field():
    """(variant, path) for every string field, each once."""
    found = {}
    for variant, build in VARIANTS.items():
        for path, *_ in string_fields(build()):
            found.setdefault(path, variant)
    # request_context holds ids of the caller's for the log, bounded as a whole (tests/ops/test_correlation.py).
    return [(variant, path) for path, variant in found.items()
            if path.rsplit(".", 1)[-1] not in TEXTS and not path.startswith("request_context")]


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_the_full_requests_convert_and_pass(variant):
    request = VARIANTS[variant]()
    limits.check_strings(request, convert.request_from_proto(request), LIMITS)


def test_the_full_requests_set_every_string_field_the_proto_defines():
    """So the tests below reach every one."""
    declared = set()

    def walk(descriptor, seen=()):
        for field in descriptor.fields:
            if field.type == FieldDescriptor.TYPE_STRING or (
                    field.type == FieldDescriptor.TYPE_MESSAGE and field.message_type.GetOptions().map_entry):
                declared.add(f"{descriptor.name}.{field.name}")
            elif (field.type == FieldDescriptor.TYPE_MESSAGE and field.message_type.name not in seen
                  and not field.message_type.full_name.startswith("google.")):
                walk(field.message_type, (*seen, descriptor.name))
    walk(pb.CheckRequest.DESCRIPTOR)
    declared.discard("Group.roster_digest")  # read whole before any limit, or refused (tests/ops/test_roster_by_reference.py)
    reached = {f"{holder.DESCRIPTOR.name}.{name}" for build in VARIANTS.values()
               for _, holder, name, _ in string_fields(build())}
    assert reached == declared


def _set(request: pb.CheckRequest, target: str, value: str, key: str | None = None) -> pb.CheckRequest:
    for path, holder, name, shape in string_fields(request):
        if path == target:
            if shape == "scalar":
                setattr(holder, name, value)
            elif shape == "list":
                getattr(holder, name)[0] = value
            else:
                entries = getattr(holder, name)
                entries[next(iter(entries))] = value
            return request
    raise AssertionError(target)


def refused(request: pb.CheckRequest) -> dict[str, str]:
    with pytest.raises(convert.RequestInvalid) as raised:
        limits.check_request(request, LIMITS)
        limits.check_strings(request, convert.request_from_proto(request), LIMITS)
    return {v.field: v.description for v in raised.value.violations}


@pytest.mark.parametrize("variant, path", every_string_field())
def test_a_string_too_long_for_what_it_is_is_refused_naming_its_field(variant, path):
    request = _set(VARIANTS[variant](), path, "x" * 300)
    found = refused(request)
    assert list(found) == [path]
    assert found[path] in ("at most 20 characters (limit --max-id), got 300",
                           "at most 30 characters (limit --max-name), got 300")


@pytest.mark.parametrize("variant, path", every_string_field())
@pytest.mark.parametrize("control", ["\x00", "\n", "\x1b", "\x7f", "\x85", "\x9f"])
def test_a_control_character_in_a_name_or_id_is_refused_naming_its_field(variant, path, control):
    request = _set(VARIANTS[variant](), path, f"a{control}b")
    if path.endswith(".scheme") and scheme_key(f"a{control}b") == "ab":
        # A label scheme's blanks and invisibles fold away as it is read (` TLP` is `tlp`,
        # test_request_property.py): the scheme `ab` arrives, and no control character with it.
        read = convert.request_from_proto(request)
        limits.check_strings(request, read, LIMITS)
        assert read.items[0].labels[0].scheme == "ab"
        return
    found = refused(request)
    assert list(found) == [path]
    assert found[path].startswith(f"a control character (U+{ord(control):04X}) has no place in")


def test_format_characters_stay_legal_in_names():
    request = full()
    request.group.participants[0].display_name = "Zoë \u200dJoiner 👩\u200d💻"
    limits.check_strings(request, convert.request_from_proto(request), LIMITS)


@pytest.mark.parametrize("path, flag", [
    ("group.participants[0].handles", "max-names-per-person"),
    ("items[0].author.aliases", "max-names-per-person"),
    ("items[0].listed_people[0].organization_aliases", "max-names-per-person"),
    ("group.adoptions[0].segments", "max-labels"),
    ("group.adoptions[0].replaces", "max-labels"),
])
def test_a_list_longer_than_its_limit_is_refused_naming_it(path, flag):
    request = full()
    holder = request
    for part in path.split(".")[:-1]:
        name, _, index = part.partition("[")
        holder = getattr(holder, name)
        if index:
            holder = holder[int(index.rstrip("]"))]
    getattr(holder, path.rsplit(".", 1)[-1]).extend(["x1", "x2"])
    assert refused(request) == {path: f"at most 2 entries (limit --{flag}), got 3"}


def test_the_names_of_one_check_together_are_bounded():
    """A message of names within every other limit once built a name matcher of 246 MiB."""
    request = full()
    request.group.participants.extend(pb.Person(id=f"p{i}", display_name="Ana Lopez", organization="Contoso")
                                      for i in range(20))
    small = limits.Limits(max_id=20, max_name=30, max_names_per_person=2, max_labels=2, max_names_total=300)
    with pytest.raises(convert.RequestInvalid) as raised:
        limits.check_strings(request, convert.request_from_proto(request), small)
    [violation] = raised.value.violations
    assert violation.field == "group.participants"
    assert violation.description.startswith("at most 300 characters of names, handles and organizations in one "
                                            "check (limit --max-names-total), got ")


def test_the_entries_of_a_map_at_fault_are_named_in_the_order_of_their_keys():
    """upb orders a map by its own hash table, a process's own: named in key order, every worker and both
    engines give the same list (the native engine's is tests/ops/test_correlation.py's and the fuzzer's)."""
    request = full()
    params = request.items[0].labels[0].params
    params.clear()
    for key in ("k7", "k2", "k9", "k0", "k5", "k1", "k8", "k3", "k6", "k4"):
        params[key] = "bad\nvalue"
    many = dataclasses.replace(LIMITS, max_labels=10)
    with pytest.raises(convert.RequestInvalid) as raised:
        limits.check_strings(request, convert.request_from_proto(request), many)
    assert [v.field for v in raised.value.violations] == [f"items[0].labels[0].params['k{n}']" for n in range(10)]
