"""LocalEngine: the Client's interface answered in this process; every answer compared with a real server's."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

import discretion_client as dc
from integration.conftest import RULES, RunningServer
from readme_question import ANA, CHEN, ROUNDTABLE, chatham_quote


@pytest.fixture(scope="module")
def server():
    running = RunningServer(RULES, "--workers", "1", "--metrics-address", "off")
    yield running
    running.stop()


def same(decision: dc.Decision) -> dc.Decision:
    return dataclasses.replace(decision, decision_id="")  # each decision has its own id, wherever it is made


QUESTIONS = [
    chatham_quote(),
    chatham_quote(attribution=dc.Attribution()),
    chatham_quote(action="share", destination=dc.Destination(kind="same_group"), quoted_text=""),
    chatham_quote(destination=dc.Destination(kind="ai_tool", service=dc.Service(may_train=None))),
    chatham_quote(group=dataclasses.replace(ROUNDTABLE, adoptions=[dc.Adoption("tlp", 1)]),
                  items=[dc.Item(id="m-9", author=CHEN, labels=[dc.Label("tlp", "red")],
                                 posted_at=dt.datetime(2026, 3, 1, tzinfo=dt.timezone.utc))]),
]


@pytest.mark.parametrize("engine", ["native", "reference"])
def test_the_local_engine_answers_what_a_server_answers(server, engine):
    with dc.Client(server.target, timeout=30) as client, dc.LocalEngine(RULES, engine=engine) as local:
        for question in QUESTIONS:
            assert same(local.check(question)) == same(client.check(question)), question
        assert [same(d) for d in local.check_batch(QUESTIONS)] == [same(d) for d in client.check_batch(QUESTIONS)]
        assert local.list_agreements() == client.list_agreements()
        assert local.is_allowed(QUESTIONS[2]) is client.is_allowed(QUESTIONS[2]) is True
        assert len(local.check(chatham_quote(), request_id="local-1").decision_id) == 32


def test_the_local_engine_refuses_as_a_server_does(server):
    nobody = chatham_quote(actor=dataclasses.replace(ANA, id=""))
    with dc.Client(server.target, timeout=30) as client, dc.LocalEngine(RULES) as local:
        with pytest.raises(dc.InvalidRequestError) as remote:
            client.check_batch([chatham_quote(), nobody])
        with pytest.raises(dc.InvalidRequestError) as here:
            local.check_batch([chatham_quote(), nobody])
        assert here.value.field_violations == remote.value.field_violations
        assert [v.field for v in here.value.field_violations] == ["checks[1].actor.id"]
        with pytest.raises(ValueError, match="request_id"):
            local.check(chatham_quote(), request_id="no\nline breaks")
    with pytest.raises(ValueError, match="closed"):
        local.check(chatham_quote())
    # A message larger than a server takes (4 MiB) is refused here too, not decided.
    huge = chatham_quote(items=[dc.Item(id=f"m-{n}", author=CHEN, text="x" * 99_000) for n in range(46)])
    with dc.Client(server.target, timeout=30) as client, dc.LocalEngine(RULES) as local:
        with pytest.raises(dc.ServerError) as remote:
            client.check(huge)
        with pytest.raises(dc.ServerError) as here:
            local.check(huge)
        assert here.value.code == remote.value.code == "RESOURCE_EXHAUSTED"


def test_as_of_decides_at_that_instant(tmp_path):
    before = dt.datetime(2026, 1, 15, tzinfo=dt.timezone.utc)  # before the roundtable adopted the rule
    after = dt.datetime(2026, 3, 2, tzinfo=dt.timezone.utc)
    with dc.LocalEngine(RULES, as_of=after) as later, dc.LocalEngine(RULES, as_of=before) as earlier:
        assert later.check(chatham_quote()).decision == "allow_with_obligations"
        assert earlier.check(chatham_quote()).decision != later.check(chatham_quote()).decision
    with pytest.raises(ValueError, match="timezone-aware"):
        dc.LocalEngine(RULES, as_of=dt.datetime(2026, 3, 2))


def test_rules_that_do_not_compile_are_refused_with_their_diagnostics(tmp_path):
    import shutil

    shutil.copytree(RULES, tmp_path / "rules")
    chatham = tmp_path / "rules" / "chatham-house.yaml"
    chatham.write_text(chatham.read_text().replace("effect: allow", "effect: alow", 1))
    with pytest.raises(ValueError, match=r"chatham-house.yaml:\d+:\d+: .*alow"):
        dc.LocalEngine(tmp_path / "rules")
