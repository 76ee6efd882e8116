"""A quantifier over the request's own facts is asked once per request; one that reads the item, once per item.

`some: {of: group.participants, …}` has one answer for every item of a
request, and asking it per item made a 1,000-item export over a roster of
10,000 cost ten million evaluations. The compiler keeps its answer for the
request it was asked about; these check that the answer never leaks to
another request, nor to another item when the condition reads the item.
"""

from __future__ import annotations

import pytest

from discretion.compile import compile_documents
from discretion.engine import decide
from discretion.engine.model import Actor, Adoption, Destination, Group, Item, Person, Request

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
