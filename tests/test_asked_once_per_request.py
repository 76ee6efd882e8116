"""What is the same for every item of a request is worked out once per request, and never reaches another.

`some: {of: group.participants, …}` has one answer for every item of a
request, and asking it per item made a 1,000-item export over a roster of
10,000 cost ten million evaluations; a quote beside 1,000 items was searched
for names 1,000 times. The compiler keeps a quantifier's answer for the
request it was asked about, and the obligations the spans of the request's
own texts; these check that neither leaks to another request, nor to an item
it does not hold for.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from discretion.compile import compile_documents
from discretion.engine import decide
from discretion.engine.model import Actor, Adoption, Attribution, Consent, Destination, Group, Item, Person, Request
from strategies import NOW as LATER
from strategies import POLICY as SHIPPED

PROBE = """
agreement: probe
title: Probe
summary: made for the purpose
versions:
  - version: 1
    rules:
      - id: author-listed
        when: {some: {of: group.participants, where: {it.id: {fact: item.author.id}}}}
        effect: deny
        reason: {code: author_listed, message: the author is a participant}
      - id: a-child-in-the-group
        when: {some: {of: group.participants, where: {it.is_minor: true}}}
        effect: deny
        reason: {code: child_present, message: a child is in the group}
      - id: anyone-else
        effect: allow
        reason: {code: open, message: anything else goes}
"""
POLICY = compile_documents([("probe.yaml", PROBE.encode())])
NOW = 1_780_000_000


def ask(participants, authors):
    request = Request(action="share", actor=Actor(id="me", member=True),
                      group=Group(id="g", participants=tuple(participants), adoptions=(Adoption("probe"),)),
                      items=tuple(Item(id=f"m{i}", author=Person(id=a), posted_at=NOW - 10) for i, a in enumerate(authors)),
                      destination=Destination(kind="public"))
    decision = decide(POLICY, request, now=NOW)
    return [(item.decision, [f.rule for f in decision.findings if f.item_id == item.item_id])
            for item in decision.items]


def test_a_condition_reading_the_item_is_asked_for_each_item():
    outcomes = ask([Person(id="ann"), Person(id="bo")], ["ann", "zed", "bo", "zed"])
    assert [decision for decision, _ in outcomes] == ["deny", "allow", "deny", "allow"]


@pytest.mark.parametrize("order", [(True, False, True), (False, True, False)])
def test_a_condition_over_the_request_alone_answers_for_that_request_only(order):
    for child in order:
        outcomes = ask([Person(id="ann"), Person(id="kid", is_minor=child)], ["zed", "zed"])
        assert [decision for decision, _ in outcomes] == (["deny", "deny"] if child else ["allow", "allow"])


def quote(text: str, participants, items) -> list[tuple]:
    request = Request(action="quote", actor=Actor(id="me", member=True), quoted_text=text,
                      group=Group(id="g", participants=tuple(participants), adoptions=(Adoption("chatham-house"),)),
                      items=tuple(items), destination=Destination(kind="public"),
                      attribution=Attribution(descriptor="a banker"))
    decision = decide(SHIPPED, request, now=LATER)
    return sorted((s.start, s.end, s.field) for o in decision.obligations
                  if o.type == "redact_identifying_content" for s in o.spans)


def test_a_quote_is_searched_for_each_item_with_who_that_item_excuses():
    chen, sam = Person(id="chen", display_name="Li Chen"), Person(id="sam", display_name="Sam Okafor")
    consented = Item(id="m1", author=chen, posted_at=LATER - 100,
                     consents=(Consent(by="chen", scope="attribution"),))
    plain = Item(id="m2", author=chen, posted_at=LATER - 100)
    # Chen consented, on m1, to be named: a quote of m1 alone redacts only Sam; beside m2, where
    # Chen did not, Chen too, whichever item is decided first.
    assert quote("Chen and Sam agreed", [chen, sam], [consented]) == [(9, 12, "quoted_text")]
    for items in ([consented, plain], [plain, consented]):
        assert quote("Chen and Sam agreed", [chen, sam], items) == [(0, 4, "quoted_text"), (9, 12, "quoted_text")]


def test_one_quote_in_two_requests_is_searched_against_each_roster():
    chen, sam = Person(id="chen", display_name="Li Chen"), Person(id="sam", display_name="Sam Okafor")
    item = Item(id="m1", author=Person(id="bo"), posted_at=LATER - 100)
    text = "Chen and Sam agreed"
    assert quote(text, [chen], [item]) == [(0, 4, "quoted_text")]
    assert quote(text, [sam], [item]) == [(9, 12, "quoted_text")]


PORTAL = compile_documents([("portal.yaml", b"""
agreement: portal
title: Portal
summary: made for the purpose
versions:
  - version: 1
    rules:
      - id: public-with-people
        when: {some: {of: group.participants, where: {destination.kind: public}}}
        effect: deny
        reason: {code: public, message: not to the public while anyone is in the group}
      - {id: otherwise, effect: allow, reason: {code: open, message: anything else goes}}
""")])


def test_a_request_judged_as_asked_and_as_a_publication_gets_each_answer_in_one_decision():
    """A destination the public can read is judged both ways in one decision: the answers are not shared."""
    request = Request(action="share", actor=Actor(id="me", member=True),
                      group=Group(id="g", participants=(Person(id="ann"),), adoptions=(Adoption("portal"),)),
                      items=(Item(id="m1", author=Person(id="bo"), posted_at=NOW - 10),),
                      destination=Destination(kind="third_party_service", publicly_accessible=True))
    assert decide(PORTAL, request, now=NOW).decision == "deny"
    private = replace(request, destination=replace(request.destination, publicly_accessible=False))
    assert decide(PORTAL, private, now=NOW).decision == "allow"


SHADOW = compile_documents([("shadow.yaml", b"""
agreement: shadow
title: Shadow
summary: made for the purpose
versions:
  - version: 1
    rules:
      - id: listed-child
        when: {some: {of: item.listed_people, as: actor, where:
                 {some: {of: group.participants, where: {all: [{it.id: {fact: actor.id}}, {it.is_minor: true}]}}}}}
        effect: deny
        reason: {code: child, message: a child of the group is listed}
      - {id: otherwise, effect: allow, reason: {code: open, message: anything else goes}}
""")])


def test_a_quantifier_reading_an_enclosing_element_named_like_a_fact_is_asked_for_each_item():
    """`as: actor` shadows the fact `actor`: the inner quantifier reads the listed person, not the request."""
    ann, kid = Person(id="ann"), Person(id="kid", is_minor=True)
    request = Request(action="share", actor=Actor(id="me", member=True),
                      group=Group(id="g", participants=(ann, kid), adoptions=(Adoption("shadow"),)),
                      items=(Item(id="m1", author=Person(id="bo"), posted_at=NOW - 10, listed_people=(ann,)),
                             Item(id="m2", author=Person(id="bo"), posted_at=NOW - 10, listed_people=(kid,))),
                      destination=Destination(kind="public"))
    assert [item.decision for item in decide(SHADOW, request, now=NOW).items] == ["allow", "deny"]


def test_items_without_an_id_are_each_searched_for_names():
    """A blank item id (the engine's own callers may send one) is no request-wide text."""
    sam, bo = Person(id="sam", display_name="Sam Okafor"), Person(id="bo", display_name="Bo Lind")
    items = (Item(id="", author=bo, posted_at=LATER - 100, text="rates will rise"),
             Item(id="", author=bo, posted_at=LATER - 100, text="Sam Okafor thinks rates will rise"))
    request = Request(action="share", actor=Actor(id="me", member=True),
                      group=Group(id="g", participants=(sam, bo), adoptions=(Adoption("chatham-house"),)),
                      items=items, destination=Destination(kind="public"))
    spans = [(s.start, s.end) for o in decide(SHIPPED, request, now=LATER).obligations
             if o.type == "redact_identifying_content" for s in o.spans]
    assert spans == [(0, 10)]


def test_a_keyword_reading_the_item_is_asked_for_each_item_whatever_the_variable_is_named():
    """`as: item` names the element `item`; `author_consented` still reads the item being decided."""
    policy = compile_documents([("leave.yaml", b"""
agreement: leave
title: Leave
summary: made for the purpose
versions:
  - version: 1
    rules:
      - {id: may-leave, effect: allow, reason: {code: may_leave, message: may leave}}
      - id: only-with-consent
        when: {not: {some: {of: group.participants, as: item, where: {author_consented: share_outside}}}}
        effect: deny
        reason: {code: needs_consent, message: the author must consent}
""")])
    consented = Item(id="m1", author=Person(id="u1"), posted_at=NOW - 10,
                     consents=(Consent(by="u1", scope="share_outside"),))
    not_asked = Item(id="m2", author=Person(id="u2"), posted_at=NOW - 10)
    for items, expected in (((consented, not_asked), ["allow", "deny"]), ((not_asked, consented), ["deny", "allow"])):
        request = Request(action="export", actor=Actor(id="me", member=True),
                          group=Group(id="g", participants=(Person(id="ann"),), adoptions=(Adoption("leave"),)),
                          items=items, destination=Destination(kind="public"))
        assert [item.decision for item in decide(policy, request, now=NOW).items] == expected


def test_a_roster_too_large_to_search_is_built_once_per_request_and_every_item_denied(monkeypatch):
    """Names folding past what one matcher may hold deny each item; building them again per item cost a second each."""
    from discretion.engine import identify
    people = tuple(Person(id=f"p{i}", display_name=f"{chr(0x4E00 + i)}{chr(0x5E00 + i)}" + "\ufdfa" * 998)
                   for i in range(500))
    builds = []
    real_build = identify._build
    monkeypatch.setattr(identify, "_build", lambda *args: builds.append(1) or real_build(*args))
    identify._CACHE.clear()
    request = Request(action="export", actor=Actor(id="me", member=True),
                      group=Group(id="g", participants=people, adoptions=(Adoption("chatham-house"),)),
                      items=tuple(Item(id=f"m{i}", author=Person(id="bo"), posted_at=LATER - 100, text="hello")
                                  for i in range(5)),
                      destination=Destination(kind="public"))
    decision = decide(SHIPPED, request, now=LATER)
    assert [item.decision for item in decision.items] == ["deny"] * 5
    assert {f.reason_code for f in decision.findings if f.effect == "deny"} == {"rule_evaluation_failed"}
    assert len(builds) == 1
