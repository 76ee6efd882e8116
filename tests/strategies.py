"""Random requests over the shipped rules' vocabulary, for property tests.

Properties run derandomized, with a stated example budget, in `make test`;
`make fuzz` runs them again at PROPERTY_SCALE times the budget with fresh
randomness (and the stacking property over triples of agreements).
"""

from __future__ import annotations

import itertools
import os
import pathlib

import yaml
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from discretion.engine.instants import SECOND
from discretion.engine.model import (
    ACTIONS, DESTINATION_KINDS, Actor, Attribution, Consent, Destination, Group, Item, Label, Person,
    Purpose, Recipient, Request, Service, Session,
)
from discretion.store import compile_directory

RULES = pathlib.Path(__file__).resolve().parent.parent / "rules"
POLICY = compile_directory(RULES)
# Read from the rule files themselves, not from the engine: the oracle of the properties.
_AGREEMENTS = [yaml.safe_load(p.read_text()) for p in sorted(RULES.glob("*.yaml"))
               if not p.name.endswith(".test.yaml") and p.name != "bindings.yaml"]
# Which agreement defines each label scheme.
SCHEME_OWNER = {scheme: a["agreement"] for a in _AGREEMENTS for scheme in (a.get("labels") or {})}
# Agreements whose authors may not restrict after speaking (press).
FROZEN = sorted(a["agreement"] for a in _AGREEMENTS
                if any(v.get("authors_may_restrict_later") is False for v in a["versions"]))
ADOPTABLE = sorted(a.id for a in POLICY.agreements if not a.platform_wide)
PAIRS = list(itertools.combinations(ADOPTABLE, 2))
ORGS = ["Northwind Bank", "Contoso", "Acme CERT"]
PEOPLE = [Person(id=f"u{i}", display_name=name, organization=ORGS[i % 3], is_minor=(i == 3))
          for i, name in enumerate(["Li Chen", "Ana Lopez", "Sam Okafor", "Kim Young"])]
S = SECOND
NOW = 1_800_000_000 * SECOND
POSTED = NOW - 1000 * S
LABELS = [("tlp", v) for v in ("red", "amber+strict", "amber", "green", "clear", "white", "purple")] + [
    ("press", v) for v in ("on_record", "background", "deep_background", "off_record")] + [
    ("flag", "no_sharing"), ("embargo", "until"), ("attribution", "withheld")] + [
    # The sharing communities' own forms (engine/community.py), read and unread.
    ("misp", "tlp:amber+strict"), ("misp", "TLP:RED"), ("misp", "tlp:ex:chr"), ("misp", "tlp:unclear"),
    ("misp", "PAP:AMBER"), ("misp", "workflow:state=\"draft\""),
    ("stix", "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"),
    ("stix", "marking-definition--d0f8c7a1-9b2e-4c3d-8e5f-6a7b8c9d0e1f")]
SETTERS = ["", "author", "admin", "platform", "u1"]
SCOPES = sorted(POLICY.consent_scopes_read)
TEXTS = ["", "as Chen said", "At Contoso we think", "Kim Young from Acme CERT spoke", "Ana Lopez and Sam Okafor"]
SCALE = int(os.environ.get("PROPERTY_SCALE", "1"))


def budget(examples: int) -> settings:
    """`examples` fixed examples in `make test`; SCALE times as many, random, in `make fuzz`."""
    return settings(max_examples=examples * SCALE, derandomize=SCALE == 1, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])


optional_bool = st.sampled_from([None, True, False])


@st.composite
def labels(draw) -> Label:
    scheme, value = draw(st.sampled_from(LABELS))
    return Label(scheme, value, set_by=draw(st.sampled_from(SETTERS)),
                 set_at=draw(st.sampled_from([None, POSTED - 10 * S, POSTED + 10 * S])),
                 params={"until": "2027-01-01T00:00:00Z", "descriptor": "an official"})


@st.composite
def consents(draw, by: str) -> Consent:
    return Consent(by=by, scope=draw(st.sampled_from(SCOPES)),
                   recipients=draw(st.sampled_from([(), ("r0",), ("r0", "r1")])),
                   granted_at=draw(st.sampled_from([None, NOW - 100 * S, NOW - 5 * S])),
                   withdrawn_at=draw(st.sampled_from([None, None, NOW - 10 * S])))


@st.composite
def items(draw, index: int) -> Item:
    author = draw(st.sampled_from(PEOPLE))
    return Item(
        id=f"i{index}", author=author, posted_at=draw(st.sampled_from([None, POSTED])),
        retracted_at=draw(st.sampled_from([None, None, NOW - 5 * S])),
        labels=tuple(draw(st.lists(labels(), max_size=2))),
        consents=tuple(draw(st.lists(consents(author.id), max_size=2))),
        text=draw(st.sampled_from(TEXTS)),
        kind=draw(st.sampled_from(["message", "message", "attendee_list", "transcript"])), listed_people=tuple(PEOPLE[:2]),
        session=Session(segment=draw(st.sampled_from(["", "discussion", "Discussion "])),
                        speaker_count=draw(st.integers(0, 3))),
        exchange_participants=("u0", "u1"),
    )


@st.composite
def requests(draw, agreements=None) -> tuple[Request, list[str]]:
    adopted = list(draw(agreements if agreements is not None else st.sampled_from(PAIRS)))
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
        quoted_text=draw(st.sampled_from(TEXTS)),
        purpose=Purpose(need_to_know=draw(st.booleans()), legal_basis=draw(st.sampled_from(["none", "member_consent"])),
                        use=draw(st.sampled_from(["", "passive", "lookup", "active", "resale"]))),
    )
    return request, adopted


# ---- comparing decisions -----------------------------------------------------------

_OUTCOME = {"kept": 0, "redacted": 1, "excluded": 2}


def looser(a, b) -> str | None:
    """Why decision `a` is less restrictive than `b`, or None when it is at least as restrictive.

    Denial beats everything; then, item by item, excluded > redacted > kept;
    then every obligation type `b` owes for an item `a` keeps must be owed by
    `a` too, and every span `b` redacts must be redacted by `a`.
    """
    if a.decision == "deny":
        return None
    if b.decision == "deny":
        return f"{a.decision} where the stricter reading is denied: {b.reason}"
    for item_a, item_b in zip(a.items, b.items):
        if _OUTCOME[item_a.outcome] < _OUTCOME[item_b.outcome]:
            return f"item {item_a.item_id} {item_a.outcome} where the stricter reading has it {item_b.outcome}"
    kept = {i.item_id for i in a.items if i.outcome != "excluded"}
    owed_a = _owed(a, kept)
    missing = _owed(b, kept) - owed_a
    if missing:
        return f"owes none of {sorted(missing)}; stricter reading: {b.reason}"
    return None


def _owed(decision, kept: set[str]) -> set[tuple]:
    """What is owed for the items kept; a span in an item's own text is owed for that item alone (when the item
    is left out, so is its text)."""
    owed = set()
    for o in decision.obligations:
        for item_id in set(o.item_ids) & kept:
            owed.add((o.type, item_id))
            owed.update((o.type, item_id, span.start, span.end) for span in o.spans if span.field != "items.text")
        owed.update((o.type, "text of", span.item_id, span.start, span.end) for span in o.spans
                    if span.field == "items.text" and span.item_id in kept)
    return owed
