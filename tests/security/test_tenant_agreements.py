"""A tenant decides only under the agreements it may use, over a real `discretion serve`.

The newsroom has an agreement of its own; the forum must not be able to adopt
it, read its reasons, or learn that it exists (its id, its versions, its label
scheme) from any answer: every refusal is word for word the one an agreement
nobody loaded gets. The platform-wide agreements and the forum's own group
bindings stay usable.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import shutil

import pytest
import yaml

import discretion_client as dc
from integration.conftest import RunningServer
from ops.conftest import chatham_quote

from .conftest import FORUM_TOKEN, NEWSROOM_TOKEN, RULES, sha256

SECRET = "the desk keeps its sources to itself"
PRIVATE = f"""\
agreement: newsroom-sources
title: The desk's sources
summary: Who a source is stays with the desk.
labels:
  desk: {{order: [open, sealed]}}
versions:
  - version: 1
    rules:
      - id: sources-stay
        when: {{item.label.desk: sealed}}
        effect: deny
        reason: {{code: desk_sealed, message: {SECRET}}}
"""
OPEN_TOKEN = "open-token-3f1d"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tenant-agreements")
    rules = folder / "rules"
    shutil.copytree(RULES, rules)
    (rules / "newsroom-sources.yaml").write_text(PRIVATE)
    bindings = yaml.safe_load((rules / "bindings.yaml").read_text())
    bindings["bindings"].append({"group": "g-forum-bound", "adoptions": [
        {"agreement": "stays-in-group", "version": 1, "effective_from": "2026-01-01T00:00:00Z"}]})
    (rules / "bindings.yaml").write_text(yaml.safe_dump(bindings))
    tenants = folder / "tenants.yaml"
    tenants.write_text(yaml.safe_dump({"tenants": [
        {"id": "forum", "tokens": [sha256(FORUM_TOKEN)], "groups": ["g-forum-*", "g-roundtable"],
         "agreements": ["chatham-house"]},
        {"id": "newsroom", "tokens": [sha256(NEWSROOM_TOKEN)], "groups": ["g-news-*"],
         "agreements": ["press", "newsroom-sources"]},
        {"id": "open", "tokens": [sha256(OPEN_TOKEN)], "groups": ["g-open-*"], "agreements": "*"},
    ]}))
    running = RunningServer(rules, "--metrics-address", "off", "--workers", "1", "--tenants", str(tenants))
    yield running
    running.stop()


def client(server, token: str) -> dc.Client:
    return dc.Client(server.target, metadata={"authorization": f"Bearer {token}"})


def adopting(group: str, *adoptions: dc.Adoption, labels=()) -> dc.CheckRequest:
    request = chatham_quote()
    item = dataclasses.replace(request.items[0], labels=list(labels))
    return dataclasses.replace(request, group=dataclasses.replace(request.group, id=group, adoptions=list(adoptions)),
                               items=[item])


SINCE = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
SEALED = dc.Label("desk", "sealed")


def as_unknown(decision: dc.Decision, name: str) -> tuple:
    """The refusal with the agreement's name put back: what the caller reads, to compare word for word."""
    return (decision.decision, decision.reason.replace("no-such-agreement", name),
            [(f.reason_code, f.message.replace("no-such-agreement", name)) for f in decision.findings])


def test_the_owner_of_a_private_agreement_decides_under_it(server):
    with client(server, NEWSROOM_TOKEN) as newsroom:
        decided = newsroom.check(adopting("g-news-1", dc.Adoption("newsroom-sources", 1, effective_from=SINCE),
                                          labels=[SEALED]))
    assert decided.decision == "deny"
    assert any(f.message == SECRET for f in decided.findings)


@pytest.mark.parametrize("version", [0, 1, 7])
def test_another_tenant_adopting_it_is_refused_as_if_it_were_not_loaded(server, version):
    with client(server, FORUM_TOKEN) as forum:
        seen = forum.check(adopting("g-forum-1", dc.Adoption("newsroom-sources", version, effective_from=SINCE),
                                    labels=[SEALED]))
        unknown = forum.check(adopting("g-forum-1", dc.Adoption("no-such-agreement", version, effective_from=SINCE),
                                       labels=[SEALED]))
        batch = forum.check_batch([adopting("g-forum-1", dc.Adoption("newsroom-sources", version,
                                                                     effective_from=SINCE))])
    assert seen.decision == "deny"
    assert (seen.decision, seen.reason, [(f.reason_code, f.message) for f in seen.findings]) == \
        as_unknown(unknown, "newsroom-sources")
    assert [f.reason_code for f in seen.findings] == ["unknown_agreement"]  # not "no version 7"
    assert SECRET not in repr(seen) and SECRET not in repr(batch)
    assert batch[0].findings[0].reason_code == "unknown_agreement"


def test_another_tenants_label_scheme_is_unknown_to_it(server):
    with client(server, FORUM_TOKEN) as forum:
        chatham = dc.Adoption("chatham-house", 1, effective_from=SINCE)
        seen = forum.check(adopting("g-forum-1", chatham, labels=[SEALED]))
        nobodys = forum.check(adopting("g-forum-1", chatham, labels=[dc.Label("no-such-scheme", "sealed")]))
    assert seen.decision == nobodys.decision == "deny"
    assert [(f.reason_code, f.message.replace("desk", "no-such-scheme")) for f in seen.findings] == \
        [(f.reason_code, f.message) for f in nobodys.findings]
    assert SECRET not in repr(seen)


def test_each_tenant_lists_its_agreements_the_platform_wide_ones_and_its_bindings(server):
    with client(server, FORUM_TOKEN) as forum, client(server, NEWSROOM_TOKEN) as newsroom, \
            client(server, OPEN_TOKEN) as open_:
        listed = {name: {a.id for a in c.list_agreements()}
                  for name, c in (("forum", forum), ("newsroom", newsroom), ("open", open_))}
    platform = {"data-rights", "platform-baseline"}
    assert listed["forum"] == {"chatham-house", "stays-in-group", *platform}  # stays-in-group binds g-forum-bound
    assert listed["newsroom"] == {"press", "newsroom-sources", *platform}
    assert {"newsroom-sources", "chatham-house", "tlp"} <= listed["open"]  # '*': every agreement


def test_platform_wide_agreements_and_the_tenants_bindings_stay_usable(server):
    with client(server, FORUM_TOKEN) as forum:
        bound = forum.check(adopting("g-forum-bound"))  # no adoptions: the binding governs
        assert bound.decision == "deny"
        assert {f.agreement for f in bound.findings if f.rule} == {"stays-in-group"}
        # Its bound agreement and a platform-wide one may be adopted in its requests too.
        adopted = forum.check(adopting("g-forum-2", dc.Adoption("stays-in-group", 1, effective_from=SINCE),
                                       dc.Adoption("data-rights")))
        assert {f.agreement for f in adopted.findings if f.rule} == {"stays-in-group"}
    with client(server, NEWSROOM_TOKEN) as newsroom:
        # The forum's binding is the forum's: the newsroom cannot adopt what it binds.
        seen = newsroom.check(adopting("g-news-2", dc.Adoption("stays-in-group", 1, effective_from=SINCE)))
        assert [f.reason_code for f in seen.findings] == ["unknown_agreement"]


def test_a_tenant_open_to_every_agreement_beside_others_with_lists_is_warned_about_at_start(server):
    assert server.wait_for_log(r"tenants `open` may adopt every loaded agreement \(`agreements: '\*'`\)")
