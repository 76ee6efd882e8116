"""Properties of a tenant's view of the policy (`CompiledPolicy.restricted`), over the whole shipped library.

A tenant decides under the agreements it may use; every other one is as if it
were not loaded. Two things must hold for any request and any reach: the view
never answers more loosely than the whole policy, and it tells the tenant
nothing about what lies outside it, not even that it exists.
"""

from __future__ import annotations

import dataclasses
import shutil

from hypothesis import given
from hypothesis import strategies as st

from discretion.engine import decide
from discretion.engine.compiled import scheme_key
from discretion.engine.instants import SECOND
from discretion.engine.model import Actor, Destination, Group, Item, Person, Request
from discretion.store import compile_directory
from strategies import ADOPTABLE, NOW, POLICY, RULES, budget, requests
from test_semantics_property import AGREEMENTS, adopt, assert_not_looser

REACHES = st.lists(st.sampled_from(ADOPTABLE), max_size=4, unique=True)
NOBODY_OWNS = lambda group: False  # noqa: E731
BOUND = next(iter(POLICY.bindings))  # a group rules/bindings.yaml binds


def _view(reach):
    return POLICY.restricted(reach, NOBODY_OWNS)


def _within(view, request) -> bool:
    """Whether the request names only agreements and label schemes the view holds."""
    return (all(a.agreement in view.versions for a in request.group.adoptions)
            and all(scheme_key(label.scheme) in view.label_schemes for item in request.items for label in item.labels))


@budget(300)
@given(requests(AGREEMENTS), REACHES, st.booleans(), st.booleans())
def test_a_view_never_answers_more_loosely_and_within_reach_answers_the_same(drawn, reach, covers, bound):
    request, agreements = drawn
    # Half the time in the bound group, which the caller owns: its binding is the floor in the view too.
    request = adopt(request, agreements, id=BOUND if bound else request.group.id)
    if covers:  # half the time the reach holds what the group adopted, and the label agreements besides
        reach = [*reach, *agreements, "tlp", "press"]
    view = POLICY.restricted(reach, lambda group: group == BOUND)
    whole, seen = decide(POLICY, request, now=NOW), decide(view, request, now=NOW)
    assert_not_looser(seen, whole, f"reach {reach}, adopted {agreements}")
    if _within(view, request):
        # Every agreement whose labels the reached ones read came along: nothing judged differently.
        assert seen == whole


@budget(200)
@given(requests(AGREEMENTS), REACHES)
def test_an_agreement_out_of_reach_is_refused_in_the_words_an_unknown_one_gets(drawn, reach):
    request, agreements = drawn
    view = _view(reach)
    outside = [a for a in agreements if a not in view.versions]
    if not outside:
        reach = [a for a in reach if a != agreements[0]]
        view = _view(reach)
        outside = [a for a in agreements if a not in view.versions]
    if not outside:  # the first one is read by another in reach: always reachable
        return
    hidden = outside[0]
    seen = decide(view, adopt(request, agreements), now=NOW)
    unknown = decide(view, adopt(request, [a if a != hidden else "no-such-agreement" for a in agreements]), now=NOW)
    assert seen.decision == "deny"
    assert seen == dataclasses.replace(
        unknown, reason=unknown.reason.replace("no-such-agreement", hidden),
        findings=tuple(dataclasses.replace(f, message=f.message.replace("no-such-agreement", hidden))
                       for f in unknown.findings))
    assert all(f.agreement in view.versions or not f.agreement for f in seen.findings)


def test_a_view_holds_the_platform_wide_agreements_its_bindings_and_what_their_labels_need():
    bound = POLICY.restricted(["chatham-house"], lambda group: group == "g-bound-example")
    assert set(bound.versions) >= {"chatham-house", *POLICY.platform_wide}
    assert set(bound.bindings) == {"g-bound-example"}
    assert set(_view(["chatham-house"]).bindings) == set()
    # press reads its own schemes only; open-with-opt-out defines `flag`
    press = _view(["press"])
    assert {"press", "embargo"} <= set(press.label_schemes) and "tlp" not in press.label_schemes
    assert [a.id for a in press.agreements] == sorted({"press", *POLICY.platform_wide})
    assert "tlp" not in press.versions


CLUB = """\
agreement: club
title: A club that keeps TLP's terms for everything unlabelled
summary: Unlabelled items read as TLP:AMBER; the club adds one rule of its own on top.
versions:
  - version: 1
    default_labels: {tlp: amber}
    rules:
      - id: no-red-to-peers
        destinations: [community_peer]
        when: {item.label.tlp: red}
        effect: deny
        reason: {code: club_red, message: the club keeps red items to itself}
"""


def test_an_agreement_reading_another_agreements_labels_brings_it_into_reach(tmp_path):
    """No shipped agreement reads another's labels, so one is written here: without TLP its default means nothing."""
    rules = tmp_path / "rules"
    shutil.copytree(RULES, rules)
    (rules / "club.yaml").write_text(CLUB)
    policy = compile_directory(rules)
    view = policy.restricted(["club"], NOBODY_OWNS)
    assert "tlp" in view.versions and "tlp" in view.label_schemes
    request = adopt(Request(
        action="share", actor=Actor(id="u1", display_name="Ana Lopez", member=True),
        group=Group(id="g"), destination=Destination(kind="public"),
        items=(Item(id="m1", author=Person(id="u2", display_name="Li Chen"), posted_at=NOW - SECOND, text="figures"),),
    ), ["club"])
    whole = decide(policy, request, now=NOW)
    assert whole.decision == "deny" and any(f.agreement == "tlp" for f in whole.findings)
    assert decide(view, request, now=NOW) == whole
