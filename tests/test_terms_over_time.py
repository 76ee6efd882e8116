"""Terms over time, on small policies made for the purpose: "the latest" version, several adoptions at one instant.

The shipped library has one version of each agreement, so what a second,
looser version may and may not reach is shown here with a two-version one.
"""

from __future__ import annotations

import pathlib

import pytest

from discretion.compile import compile_documents
from discretion.engine import decide
from discretion.engine.decide import MAX_READINGS
from discretion.engine.instants import parse_iso
from discretion.engine.model import Actor, Adoption, Destination, Group, Item, Label, Person, Request

ROOT = pathlib.Path(__file__).resolve().parent.parent
CLUB = """
agreement: club
title: Club
summary: what the club lets out
versions:
  - version: 1
    rules:
      - {id: closed, destinations: {except: [same_group]}, effect: deny, reason: {code: closed, message: nothing leaves}}
"""
LOOSER = """
  - version: 2
    published_at: 2026-06-01T00:00:00Z
    rules:
      - {id: open, effect: allow, reason: {code: open, message: anything goes}}
"""
BASELINE = """
agreement: baseline
title: Baseline
summary: members only
platform_wide: true
versions:
  - version: 1
    rules:
      - {id: members, destinations: [same_group], effect: allow, reason: {code: members, message: members}}
"""


def at(text: str) -> int:
    return parse_iso(text)


def policy(*agreements: str):
    return compile_documents([(f"a{i}.yaml", text.encode()) for i, text in enumerate((BASELINE, *agreements))])


def ask(policy, adoptions, *, posted: str, requested: str = "2026-09-01T00:00:00Z"):
    request = Request(
        action="share", actor=Actor(id="u-me", member=True),
        group=Group(id="g", adoptions=tuple(adoptions)),
        items=(Item(id="m", author=Person(id="u-au"), posted_at=at(posted)),),
        destination=Destination(kind="public"), requested_at=at(requested))
    return decide(policy, request, now=at(requested))


LATEST = Adoption("club", 0, effective_from=at("2026-01-01T00:00:00Z"))


def test_the_latest_version_is_the_one_published_when_the_words_were_said():
    both = policy(CLUB + LOOSER)
    assert ask(both, [LATEST], posted="2026-03-01T00:00:00Z").decision == "deny"
    assert ask(both, [LATEST], posted="2026-07-01T00:00:00Z").decision == "allow"
    # Asked before the looser version existed, even its own later words follow the old one.
    assert ask(both, [LATEST], posted="2026-07-01T00:00:00Z", requested="2026-05-01T00:00:00Z").decision == "deny"


def test_a_looser_version_loaded_later_does_not_reach_back():
    before = ask(policy(CLUB), [LATEST], posted="2026-03-01T00:00:00Z")
    after = ask(policy(CLUB + LOOSER), [LATEST], posted="2026-03-01T00:00:00Z")
    assert before.decision == after.decision == "deny"
    assert [r.governed_by for r in after.items] == [("club@2", "baseline@1", "club@1")]


@pytest.mark.parametrize("order", [(1, 2), (2, 1)])
def test_two_versions_adopted_at_one_instant_both_govern_and_the_stricter_wins(order):
    adoptions = [Adoption("club", v, effective_from=at("2026-01-01T00:00:00Z")) for v in order]
    decision = ask(policy(CLUB + LOOSER), adoptions, posted="2026-07-01T00:00:00Z")
    assert decision.decision == "deny"
    assert {f.reason_code for f in decision.findings} >= {"closed"}


OTHER = CLUB.replace("agreement: club", "agreement: other")


@pytest.mark.parametrize("adoptions,code,field", [
    ([Adoption("club", replaces=("club",))], "adoption_replaces_itself", "group.adoptions[0].replaces"),
    ([Adoption("club", effective_from=0, replaces=("other",)), Adoption("other", effective_from=0, replaces=("club",))],
     "adoptions_replace_each_other", "group.adoptions[0].replaces"),
])
def test_adoptions_that_would_end_every_term_are_refused(adoptions, code, field):
    decision = ask(policy(CLUB, OTHER), adoptions, posted="2026-03-01T00:00:00Z")
    assert decision.decision == "deny"
    assert decision.findings[0].reason_code == code
    assert f"(field `{field}`)" in decision.reason


def test_replacements_at_different_instants_are_a_history_not_a_cycle():
    adoptions = [Adoption("club", effective_from=at("2026-01-01T00:00:00Z"), replaces=("other",)),
                 Adoption("other", effective_from=at("2026-02-01T00:00:00Z"), replaces=("club",))]
    decision = ask(policy(CLUB, OTHER), adoptions, posted="2026-03-01T00:00:00Z")
    assert [r.governed_by for r in decision.items] == [("other@1", "baseline@1")]


def test_an_agreement_adopted_and_replaced_at_one_instant_still_governs():
    start = at("2026-01-01T00:00:00Z")
    adoptions = [Adoption("club", effective_from=start), Adoption("other", effective_from=start, replaces=("club",))]
    decision = ask(policy(CLUB, OTHER.replace("effect: deny", "effect: allow")), adoptions, posted="2026-03-01T00:00:00Z")
    assert decision.decision == "deny"
    assert [r.governed_by for r in decision.items] == [("club@1", "other@1", "baseline@1")]


def test_a_blank_segment_name_is_refused():
    decision = ask(policy(CLUB), [Adoption("club", segments=("discussion", " \u200b"))], posted="2026-03-01T00:00:00Z")
    assert decision.findings[0].reason_code == "blank_segment"
    assert "(field `group.adoptions[0].segments`)" in decision.reason


def test_an_item_read_more_ways_than_are_judged_stays_in_the_group():
    embargoes = tuple(Label("embargo", "until", set_by="admin", params={"until": f"2027-01-01T00:00:{i:02d}Z"})
                      for i in range(MAX_READINGS + 1))
    request = Request(action="share", actor=Actor(id="u-me", member=True), group=Group(id="g", adoptions=(LATEST,)),
                      items=(Item(id="m", author=Person(id="u-au"), posted_at=at("2026-03-01T00:00:00Z"), labels=embargoes),),
                      destination=Destination(kind="same_group"), requested_at=at("2026-09-01T00:00:00Z"))
    with_press = compile_documents([("p.yaml", (ROOT / "rules" / "press.yaml").read_bytes()),
                                    ("b.yaml", BASELINE.encode()), ("c.yaml", CLUB.encode())])
    decision = decide(with_press, request, now=request.requested_at)
    assert decision.decision == "deny"
    assert decision.findings[0].reason_code == "too_many_readings"


def test_an_agreed_descriptor_that_cannot_be_read_denies_and_does_not_crash():
    custom = CLUB.replace("agreement: club", "agreement: custom").replace(
        "- {id: closed, destinations: {except: [same_group]}, effect: deny, reason: {code: closed, message: nothing leaves}}",
        "- {id: described, effect: require, obligations: [{use_agreed_descriptor: {fact: attributes.descriptor}}],"
        " reason: {code: described, message: as agreed}}\n"
        "      - {id: open, effect: allow, reason: {code: open, message: open}}")
    decision = ask(policy(custom), [Adoption("custom", effective_from=0)], posted="2026-03-01T00:00:00Z")
    assert decision.decision == "deny"
    assert decision.findings[0].reason_code == "rule_evaluation_failed"


def test_segment_names_no_adoption_names_share_one_entry_of_the_terms_cache():
    """A caller's segment names once grew a worker's memory without end (66 → 480 MiB over 100 calls)."""
    from discretion.engine.model import Adoption
    from discretion.engine.terms import terms_for
    from strategies import POLICY

    terms = terms_for(POLICY, (), (Adoption("chatham-house", effective_from=0, segments=("day-1",)),
                                   Adoption("tlp", effective_from=0)))
    named = terms.at(10**18, "day-1")
    for n in range(1000):
        assert terms.at(10**18, f"segment {n}") == terms.at(10**18, "")
    assert terms.at(10**18, "DAY-1") == named != terms.at(10**18, "")
    assert len(terms._cache) <= 2
