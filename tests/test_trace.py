"""The trace: decide() records what it did as events, and tracing never changes what it decides."""

from __future__ import annotations

import dataclasses
import pathlib

from discretion.engine import decide, trace
from discretion.engine.instants import SECOND
from discretion.engine.model import Actor, Adoption, Attribution, Destination, Group, Item, Person, Request, Session
from discretion.policy.load import load_document
from discretion.policy.suites import case_request
from discretion.store import compile_directory

RULES = pathlib.Path(__file__).resolve().parent.parent / "rules"
POLICY = compile_directory(RULES)
CHEN = Person(id="u-chen", display_name="Li Chen", organization="Northwind Bank")


def _quote(*items: Item) -> Request:
    return Request(
        action="quote", actor=Actor(id="u-ana", member=True),
        group=Group(id="g", adoptions=(Adoption("chatham-house", 1, effective_from=0),)),
        items=items, destination=Destination(kind="public"), requested_at=1_800_000_000 * SECOND,
        attribution=Attribution(author_identity=True))


def test_the_trace_names_rules_entries_and_outcomes_as_data():
    request = _quote(Item(id="m-1", author=CHEN, posted_at=1_700_000_000 * SECOND, session=Session(speaker_count=4)),
                     Item(id="m-2", author=CHEN, posted_at=1_700_000_000 * SECOND, session=Session(speaker_count=1)))
    events = decide(POLICY, request, now=0, tracer=[]).trace
    identified = trace.RuleRef("chatham-house", 1, "identified-by-context")
    assert trace.Governed("m-1", ("chatham-house@1", "data-rights@1", "platform-baseline@1")) == events[0]
    not_applicable = [e for e in events if isinstance(e, trace.NotApplicable) and e.rule == identified]
    assert [(e.item, e.text) for e in not_applicable] == [("m-1", "item.session.speaker_count: 1")]
    place = not_applicable[0].place
    # The entry that failed was evaluated, and did not hold; the entries before it held.
    outcomes = [e for e in events if isinstance(e, trace.EntryOutcome) and e.rule == identified and e.item == "m-1"]
    assert outcomes[-1].place == place and outcomes[-1].held is False
    assert all(e.held for e in outcomes[:-1] if len(e.place) == 1)
    fired = [e for e in events if isinstance(e, trace.Fired) and e.rule == identified]
    assert [(e.item, e.effect, e.reason_code) for e in fired] == [("m-2", "deny", "identified_by_context")]
    speaker = [e for e in events if isinstance(e, trace.Fired) and e.rule.id == "speaker-not-named" and e.item == "m-1"]
    assert speaker[0].effect == "require" and "redact_author_identity" in speaker[0].owed
    assert trace.ItemDecided("m-2", True, ()) in events
    assert events[-1] == trace.Decided("deny")


def test_the_explanation_is_the_trace_in_words():
    request = _quote(Item(id="m-1", author=CHEN, posted_at=1_700_000_000 * SECOND, session=Session(speaker_count=1)))
    decision = decide(POLICY, request, now=0, tracer=[])
    assert decision.explanation == trace.explanation_lines(decision.trace)
    assert "  item m-1: chatham-house@1/identified-by-context: deny [identified_by_context]" in decision.explanation


def _shipped_cases():
    for path in sorted(RULES.glob("*.test.yaml")):
        document, _ = load_document(str(path), path.read_bytes())
        for index, case in enumerate(document.data["cases"]):
            yield case["name"], case_request(document, index)


def test_tracing_never_changes_a_decision_and_every_rule_looked_at_is_accounted_for():
    """Traced, a condition is evaluated entry by entry by another build of the same compiled form: it must agree."""
    count = 0
    for name, request in _shipped_cases():
        plain = decide(POLICY, request, now=1_767_225_600 * SECOND)
        traced = decide(POLICY, request, now=1_767_225_600 * SECOND, tracer=[])
        assert dataclasses.replace(traced, explanation=(), trace=()) == plain, name
        for event in traced.trace:
            if isinstance(event, trace.NotApplicable):
                # The entry it names was evaluated and failed, at the top of the rule's condition.
                assert len(event.place) == 1 and event.text, (name, event)
                assert any(isinstance(e, trace.EntryOutcome) and e.rule == event.rule and e.item == event.item
                           and e.place == event.place and not e.held for e in traced.trace), (name, event)
        count += 1
    assert count > 150
