"""The explanation: per item, the governing versions, the rules that decided, the condition that failed."""

from __future__ import annotations

import pathlib

from discretion.engine import decide
from discretion.engine.instants import SECOND
from discretion.engine.model import Actor, Adoption, Attribution, Destination, Group, Item, Person, Request, Session
from discretion.store import compile_directory

POLICY = compile_directory(pathlib.Path(__file__).resolve().parent.parent / "rules")
CHEN = Person(id="u-chen", display_name="Li Chen", organization="Northwind Bank")


def test_explain_names_versions_rules_and_the_failed_condition():
    request = Request(
        action="quote",
        actor=Actor(id="u-ana", member=True),
        group=Group(id="g", adoptions=(Adoption("chatham-house", 1, effective_from=0),)),
        items=(Item(id="m-1", author=CHEN, posted_at=1_700_000_000 * SECOND, session=Session(speaker_count=4)),
               Item(id="m-2", author=CHEN, posted_at=1_700_000_000 * SECOND, session=Session(speaker_count=1))),
        destination=Destination(kind="public"),
        requested_at=1_800_000_000 * SECOND,
        attribution=Attribution(author_identity=True),
    )
    decision = decide(POLICY, request, now=0, tracer=[])
    lines = decision.explanation
    assert lines[0] == "item m-1: governed by chatham-house@1, data-rights@1, platform-baseline@1"
    assert ("  item m-1: chatham-house@1/identified-by-context: not applicable, "
            "`item.session.speaker_count: 1` does not hold") in lines
    assert ("  item m-1: chatham-house@1/speaker-not-named: require [speaker_identity_protected] "
            "owes redact_author_identity") in lines
    assert "item m-1: allowed, owes redact_author_identity" in lines
    assert "  item m-2: chatham-house@1/identified-by-context: deny [identified_by_context]" in lines
    assert "item m-2: deny" in lines
    assert lines[-1] == "decision: deny"
    # The same decision without a tracer, minus the explanation.
    plain = decide(POLICY, request, now=0)
    assert plain.explanation == () and plain.findings == decision.findings


def test_the_reason_of_an_export_that_leaves_items_out_says_why():
    me = Person(id="u-me")
    request = Request(
        action="export", actor=Actor(id="u-me", member=True),
        group=Group(id="g", adoptions=(Adoption("platform-baseline"),)),
        items=(Item(id="mine", author=me, posted_at=1_700_000_000 * SECOND),
               Item(id="theirs", author=CHEN, posted_at=1_700_000_000 * SECOND)),
        destination=Destination(kind="ai_tool"), requested_at=1_800_000_000 * SECOND)
    decision = decide(POLICY, request, now=0)
    assert decision.decision == "allow_with_obligations"
    assert [o.type for o in decision.obligations] == ["exclude_items"]
    assert decision.reason == ("allowed once the obligations are met: items are left out because other members' "
                               "messages are left out of an export a new controller would use for its own purposes")
