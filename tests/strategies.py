"""Random requests over the shipped rules' vocabulary, for property tests."""

from __future__ import annotations

import pathlib

from hypothesis import strategies as st

from discretion.engine.instants import SECOND
from discretion.engine.model import (
    ACTIONS, DESTINATION_KINDS, Actor, Attribution, Consent, Destination, Group, Item, Label, Person,
    Purpose, Recipient, Request, Service, Session,
)
from discretion.store import compile_directory

POLICY = compile_directory(pathlib.Path(__file__).resolve().parent.parent / "rules")
ADOPTABLE = sorted(a.id for a in POLICY.agreements if not a.platform_wide)
ORGS = ["Northwind Bank", "Contoso", "Acme CERT"]
PEOPLE = [Person(id=f"u{i}", display_name=name, organization=ORGS[i % 3], is_minor=(i == 3))
          for i, name in enumerate(["Li Chen", "Ana Lopez", "Sam Okafor", "Kim Young"])]
NOW = 1_800_000_000 * SECOND
LABELS = [("tlp", v) for v in ("red", "amber+strict", "amber", "green", "clear", "white", "purple")] + [
    ("press", v) for v in ("on_record", "background", "deep_background", "off_record")] + [
    ("flag", "no_sharing"), ("embargo", "until")]
SCOPES = ["attribution", "share_outside", "listing", "share_beyond_label", "new_terms"]

optional_bool = st.sampled_from([None, True, False])


@st.composite
def items(draw, index: int) -> Item:
    author = draw(st.sampled_from(PEOPLE))
    labels = tuple(
        Label(scheme, value, params={"until": "2027-01-01T00:00:00Z", "descriptor": "an official"})
        for scheme, value in draw(st.lists(st.sampled_from(LABELS), max_size=2))
    )
    consents = tuple(
        Consent(by=author.id, scope=scope, granted_at=NOW - 100 * SECOND,
                withdrawn_at=draw(st.sampled_from([None, NOW - 10 * SECOND])))
        for scope in draw(st.lists(st.sampled_from(SCOPES), max_size=2, unique=True))
    )
    return Item(
        id=f"i{index}", author=author, posted_at=draw(st.sampled_from([None, NOW - 1000 * SECOND])),
        retracted_at=draw(st.sampled_from([None, None, NOW - 5 * SECOND])), labels=labels, consents=consents,
        kind=draw(st.sampled_from(["message", "message", "attendee_list"])), listed_people=tuple(PEOPLE[:2]),
        session=Session(segment=draw(st.sampled_from(["", "discussion"])), speaker_count=draw(st.integers(0, 3))),
        exchange_participants=("u0", "u1"),
    )


@st.composite
def requests(draw) -> tuple[Request, list[str]]:
    adopted = draw(st.lists(st.sampled_from(ADOPTABLE), min_size=2, max_size=3, unique=True))
    actor_person = draw(st.sampled_from(PEOPLE))
    actor = Actor(id=actor_person.id, organization=actor_person.organization, member=draw(st.booleans()),
                  role=draw(st.sampled_from(["member", "owner"])))
    recipients = tuple(Recipient(id=f"r{i}", organization=draw(st.sampled_from(ORGS + ["Elsewhere"])))
                       for i in range(draw(st.integers(0, 2))))
    request = Request(
        action=draw(st.sampled_from(ACTIONS)),
        actor=actor,
        group=Group(id="g", participants=tuple(PEOPLE), community=tuple(ORGS[:2])),
        items=tuple(draw(items(i)) for i in range(draw(st.integers(1, 3)))),
        destination=Destination(
            kind=draw(st.sampled_from(DESTINATION_KINDS)), recipients=recipients,
            publicly_accessible=draw(st.booleans()),
            service=Service(may_train=draw(optional_bool), retains=draw(optional_bool),
                            new_controller=draw(optional_bool)),
        ),
        requested_at=NOW,
        attribution=Attribution(author_identity=draw(st.booleans()), affiliation=draw(st.booleans()),
                                descriptor=draw(st.sampled_from(["", "a banker"])), link=draw(st.booleans())),
        format=draw(st.sampled_from(["text", "screenshot"])),
        quoted_text=draw(st.sampled_from(["", "as Chen said", "At Contoso we think"])),
        purpose=Purpose(need_to_know=draw(st.booleans()), legal_basis=draw(st.sampled_from(["none", "member_consent"]))),
    )
    return request, adopted
