"""The native engine keeps, with a roster, the answer of a condition that reads the roster alone
(`conditions::quantifier`): a held roster asked about again must be answered as the roster sent whole is, and a
condition that also reads the request (the actor, the item) must be asked afresh for every request."""

from __future__ import annotations

import dataclasses
import pathlib
import shutil

import pytest

import discretion_native
from discretion.server import rosters
from discretion.server._gen.discretion.v1 import policy_pb2 as pb
from discretion.server.limits import Limits
from discretion.store.files import lower_directory


RULES = pathlib.Path(__file__).resolve().parents[2] / "rules"
NOW = 1_800_000_000 * 10**9
LIMITS = dataclasses.asdict(Limits())

PROBE = """\
agreement: roster-probe
title: Conditions over the roster
summary: test only
versions:
  - version: 1
    rules:
      - id: a-child-here
        destinations: {except: [same_group]}
        when: {some: {of: group.participants, where: {it.is_minor: true}}}
        effect: deny
        reason: {code: child_here, message: a child is in the group}
      - id: the-actor-listed
        destinations: {except: [same_group]}
        when: {some: {of: group.participants, where: {it.id: {eq: {fact: actor.id}}}}}
        effect: deny
        reason: {code: actor_listed, message: the actor is on the roster}
      - id: the-author-listed-under-a-nested-quantifier
        destinations: {except: [same_group]}
        when: {some: {of: group.participants, as: p,
                      where: {some: {of: item.listed_people, where: {it.id: {eq: {fact: p.id}}}}}}}
        effect: deny
        reason: {code: listed_twice, message: someone on the list is on the roster}
"""


@pytest.fixture(scope="module")
def engine(tmp_path_factory):
    folder = tmp_path_factory.mktemp("rules") / "rules"
    shutil.copytree(RULES, folder)
    (folder / "roster-probe.yaml").write_text(PROBE)
    return discretion_native.Engine(lower_directory(folder).SerializeToString())


def _request(people: list[pb.Person], actor: str, listed: str = "", digest: str = "") -> pb.CheckRequest:
    return pb.CheckRequest(
        action=pb.ACTION_SHARE,
        actor=pb.Actor(id=actor, member=True),
        group=pb.Group(id="g-probe", adoptions=[pb.Adoption(agreement="roster-probe")], participants=people,
                       roster_digest=digest),
        items=[pb.Item(id="m1", author=pb.Person(id="author"), text="hello",
                       listed_people=[pb.Person(id=listed)] if listed else [])],
        destination=pb.Destination(kind=pb.DESTINATION_KIND_EXTERNAL_INDIVIDUAL),
    )


def _answer(engine, request: pb.CheckRequest, caller: str) -> pb.CheckResponse:
    answer, _ = engine.check(engine.decode_check(request.SerializeToString()), NOW, None, LIMITS, caller)
    return pb.CheckResponse.FromString(answer)


@pytest.mark.parametrize("minor", [False, True])
def test_held_rosters_answer_every_condition_as_rosters_sent_whole(engine, minor):
    people = [pb.Person(id=f"p{i}", display_name=f"P {i}", is_minor=minor and i == 7) for i in range(20)]
    digest = rosters.digest(people)
    caller = f"answers-{minor}"
    engine.check(engine.decode_check(_request(people, "p1", digest=digest).SerializeToString()), NOW, None, LIMITS,
                 caller)  # held from here on
    asked = [("p1", ""), ("outsider", ""), ("p3", "p9"), ("outsider", "nobody"), ("p1", "p2"), ("outsider", "")]
    seen = []
    for actor, listed in asked:
        whole = _answer(engine, _request(people, actor, listed), caller)
        held = _answer(engine, _request([], actor, listed, digest), caller)
        assert held == whole, (actor, listed)
        seen.append({finding.reason_code for finding in whole.findings})
    # The conditions did decide: the actor's and the list's ones changed with the request, the child's with the roster.
    assert any("actor_listed" in codes for codes in seen) and any("actor_listed" not in codes for codes in seen)
    assert any("listed_twice" in codes for codes in seen) and any("listed_twice" not in codes for codes in seen)
    assert all(("child_here" in codes) == minor for codes in seen)

