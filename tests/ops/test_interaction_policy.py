"""GetInteractionPolicy over a real server: who may natively quote a post, by the group's agreement, through the
Python client, the HTTP face and LocalEngine alike; tenancy, limits, metrics and the decision log as for Check."""

from __future__ import annotations

import datetime as dt

import pytest

import discretion_client as dc
from security.conftest import FORUM_TOKEN, NEWSROOM_TOKEN, tenants_file

from .conftest import RULES, eventually, log_lines
from .test_http import ask

UTC = dt.timezone.utc
ASKED_AT = dt.datetime(2026, 12, 5, 10, 30, tzinfo=UTC)
ANN = dc.Person(id="u-ann", display_name="Ann Author", organization="Northwind Bank")
POST = dc.Item(id="p-1", author=ANN, posted_at=dt.datetime(2026, 12, 1, tzinfo=UTC), text="Rates will rise in March.",
               link="https://forum.example/p/1")
AUTHOR_URI = "https://forum.example/users/ann"
POST_URI = "at://did:plc:ann/app.bsky.feed.post/3k"
FORUM = [("authorization", f"Bearer {FORUM_TOKEN}")]


def _group(agreement: str, group_id: str = "g-forum-1") -> dc.Group:
    return dc.Group(id=group_id, adoptions=[dc.Adoption(agreement)], participants=[ANN])


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    from .conftest import OpsServer

    folder = tmp_path_factory.mktemp("quotes")
    log = folder / "decisions.jsonl"
    server = OpsServer(RULES, "--decision-log", str(log), "--tenants", str(tenants_file(folder)),
                       "--http-address", "127.0.0.1:0", "--max-clock-skew", "off", workers=1)
    yield server, log
    server.stop()


def test_a_chatham_house_post_is_quoted_natively_by_nobody_but_its_author(served):
    server, _ = served
    with dc.Client(server.target, metadata=FORUM) as client:
        answer = client.get_interaction_policy(_group("chatham-house"), POST, author_uri=AUTHOR_URI,
                                               post_uri=POST_URI, requested_at=ASKED_AT)
    assert answer.approval == "nobody"
    assert answer.quote.decision == "allow_with_obligations"
    assert "redact_author_identity" in {o.type for o in answer.quote.obligations}
    assert answer.text_share is not None and answer.text_share.decision == "allow"  # the words may travel
    assert answer.can_quote == {"automaticApproval": (AUTHOR_URI,), "manualApproval": ()}
    assert (answer.quote_approval_policy, answer.current_user) == ("nobody", "denied")
    assert answer.postgate == {"$type": "app.bsky.feed.postgate", "post": POST_URI,
                               "createdAt": "2026-12-05T10:30:00.000Z",
                               "embeddingRules": [{"$type": "app.bsky.feed.postgate#disableRule"}]}
    assert answer.decision_id and answer.quote.decision_id == answer.decision_id


def test_an_open_post_is_quoted_by_anyone_and_an_ask_first_one_with_the_authors_approval(served):
    server, _ = served
    newsroom = [("authorization", f"Bearer {NEWSROOM_TOKEN}")]
    with dc.Client(server.target, metadata=newsroom) as other:
        open_post = other.get_interaction_policy(_group("open-with-opt-out", "g-news-1"), POST,
                                                 author_uri=AUTHOR_URI, requested_at=ASKED_AT)
        ask_first = other.get_interaction_policy(_group("ask-before-quoting", "g-news-1"), POST,
                                                 quoter=dc.Quoter(id="u-q"), requested_at=ASKED_AT)
    assert (open_post.approval, open_post.quote_approval_policy) == ("automatic", "public")
    assert open_post.can_quote["automaticApproval"] == ("https://www.w3.org/ns/activitystreams#Public",)
    assert "embeddingRules" not in open_post.postgate and open_post.text_share is None
    assert (ask_first.approval, ask_first.consent_scope, ask_first.current_user) == ("manual", "share_outside",
                                                                                     "manual")


def test_a_question_without_its_group_or_post_is_refused_naming_the_field(served):
    server, _ = served
    with dc.Client(server.target, metadata=FORUM) as client:
        with pytest.raises(dc.InvalidRequestError) as refused:
            client.get_interaction_policy(_group("chatham-house", ""), dc.Item(id=""))
        assert {v.field for v in refused.value.field_violations} == {"group.id", "item.id"}
        with pytest.raises(dc.InvalidRequestError) as refused:
            client.get_interaction_policy(_group("chatham-house"), dc.Item(id="p-1"))
        assert {v.field for v in refused.value.field_violations} == {"item.author.id"}
        # A fact of the post the server cannot read is named as the caller wrote it, not as a Check's `items[0]`.
        odd = dc.Item(id="p-1", author=ANN, labels=[dc.Label("", "red")])
        with pytest.raises(dc.InvalidRequestError) as refused:
            client.get_interaction_policy(_group("chatham-house"), odd)
        assert [v.field for v in refused.value.field_violations] == ["item.labels[0].scheme"]
        # So is a limit the question breaks.
        with pytest.raises(dc.InvalidRequestError) as refused:
            client.get_interaction_policy(_group("chatham-house"), dc.Item(id="p-1", author=ANN, text="x" * 100_001))
        assert [v.field for v in refused.value.field_violations] == ["item.text"]


def test_a_tenant_asks_only_about_its_own_groups(served):
    server, _ = served
    with dc.Client(server.target, metadata=[("authorization", f"Bearer {NEWSROOM_TOKEN}")]) as client:
        with pytest.raises(dc.PermissionDeniedError):
            client.get_interaction_policy(_group("chatham-house"), POST)
    with dc.Client(server.target) as client:
        with pytest.raises(dc.UnauthenticatedError):
            client.get_interaction_policy(_group("chatham-house"), POST)


def test_each_answer_is_logged_and_counted_as_a_check_is(served):
    server, log = served
    def quotes_decided() -> float:
        return sum(value for (name, labels), value in server.samples().items()
                   if name == "discretion_decisions_total" and ("decision", "allow_with_obligations") in labels)

    before = quotes_decided()
    with dc.Client(server.target, metadata=FORUM) as client:
        answer = client.get_interaction_policy(_group("chatham-house"), POST, requested_at=ASKED_AT,
                                               request_context={"route": "quote-button"})
    eventually(lambda: any(line["decision_id"] == answer.decision_id for line in log_lines(log)))
    line = next(line for line in log_lines(log) if line["decision_id"] == answer.decision_id)
    assert (line["group_id"], line["action"], line["destination_kind"], line["decision"]) == (
        "g-forum-1", "quote", "external_individual", "allow_with_obligations")
    assert line["request_context"] == {"route": "quote-button"}
    assert "Rates will rise" not in log.read_text() and "Ann Author" not in log.read_text()
    counted = {labels: value for (name, labels), value in server.samples().items()
               if name == "discretion_check_duration_seconds_count" and ("method", "GetInteractionPolicy") in labels}
    assert counted and max(counted.values()) >= 1
    assert quotes_decided() == before + 1


def test_the_http_face_and_the_in_process_engine_answer_as_the_grpc_method(served):
    server, _ = served
    body = {"group": {"id": "g-forum-1", "adoptions": [{"agreement": "chatham-house"}],
                      "participants": [{"id": "u-ann", "displayName": "Ann Author"}]},
            "item": {"id": "p-1", "author": {"id": "u-ann", "displayName": "Ann Author"}, "text": "Rates will rise."},
            "authorUri": AUTHOR_URI, "requestedAt": "2026-12-05T10:30:00Z"}
    status, answer, _ = ask(server, "POST", "/v1/interaction-policy", body, {"Authorization": f"Bearer {FORUM_TOKEN}"})
    assert status == 200, answer
    assert answer["approval"] == "QUOTE_APPROVAL_NOBODY" and answer["canQuote"]["automaticApproval"] == [AUTHOR_URI]
    status, refused, _ = ask(server, "POST", "/v1/interaction-policy", {"item": {"id": "p-1"}},
                             {"Authorization": f"Bearer {FORUM_TOKEN}"})
    assert status == 400 and "group.id" in str(refused), refused
    with dc.LocalEngine(rules=RULES, as_of=ASKED_AT) as local:
        here = local.get_interaction_policy(_group("chatham-house"), POST, author_uri=AUTHOR_URI, post_uri=POST_URI)
    assert (here.approval, here.can_quote, here.postgate["createdAt"]) == (
        "nobody", {"automaticApproval": (AUTHOR_URI,), "manualApproval": ()}, "2026-12-05T10:30:00.000Z")
