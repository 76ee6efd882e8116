"""GetInteractionPolicy over a real server: who may natively quote a post, by the group's agreement, through the
Python client, the HTTP face and LocalEngine alike; tenancy, limits, metrics and the decision log as for Check."""

from __future__ import annotations

import datetime as dt
import json
import os
import pathlib

import jsonschema
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


# ---- golden request/response pairs, each platform's shape checked against its schema -------------------

GOLDEN = pathlib.Path(__file__).resolve().parent.parent / "social" / "golden"
SCHEMAS = pathlib.Path(__file__).resolve().parent.parent / "social" / "schemas"
NEWSROOM = {"Authorization": f"Bearer {NEWSROOM_TOKEN}"}


def _schema(name: str) -> jsonschema.Validator:
    schema = json.loads((SCHEMAS / f"{name}.schema.json").read_text())
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


def _stable(answer: dict) -> dict:
    """The answer without what differs from call to call (the decision id) or with the rules (their revision)."""
    answer.pop("decisionId", None)
    for part in ("quote", "textShare"):
        if part in answer:
            answer[part].pop("decisionId", None)
            answer[part].pop("policyRevision", None)
    return answer


@pytest.mark.parametrize("case", sorted(p.name.removesuffix(".request.json") for p in GOLDEN.glob("*.request.json")))
def test_each_golden_question_is_answered_as_recorded_in_each_platforms_own_shape(served, case):
    server, _ = served
    request = json.loads((GOLDEN / f"{case}.request.json").read_text())
    path = "/v1/interaction-policy" if case.startswith("interaction-") else "/v1/quote-request"
    status, answer, _ = ask(server, "POST", path, request, NEWSROOM)
    assert status == 200, answer
    answer = _stable(answer)
    recorded = GOLDEN / f"{case}.response.json"
    if os.environ.get("DISCRETION_WRITE_GOLDEN"):
        recorded.write_text(json.dumps(answer, indent=2, sort_keys=True) + "\n")
    assert answer == json.loads(recorded.read_text())
    if path == "/v1/interaction-policy":
        _schema("postgate").validate(answer["postgate"])
        _schema("can-quote").validate({"automaticApproval": [], "manualApproval": [], **answer["canQuote"]})
        _schema("mastodon").validate({"quote_approval_policy": answer["quoteApprovalPolicy"],
                                      "current_user": answer["currentUser"]})
    elif "activity" in answer:
        _schema("quote-answer").validate(answer["activity"])


def test_the_schemas_refuse_what_the_platforms_refuse():
    gate = {"$type": "app.bsky.feed.postgate", "post": "at://did:plc:a/app.bsky.feed.post/1",
            "createdAt": "2026-12-05T10:30:00.000Z"}
    _schema("postgate").validate(gate)
    for wrong in ({**gate, "embeddingRules": [{"$type": "app.bsky.feed.postgate#disableRule"}] * 6},
                  {**gate, "detachedEmbeddingUris": ["at://did:plc:q/app.bsky.feed.post/1"] * 51},
                  {**gate, "embeddingRules": [{"$type": "app.bsky.feed.postgate#allowRule"}]}):
        with pytest.raises(jsonschema.ValidationError):
            _schema("postgate").validate(wrong)
    with pytest.raises(jsonschema.ValidationError):
        _schema("quote-answer").validate({"@context": ["https://www.w3.org/ns/activitystreams"], "type": "Accept",
                                          "id": "https://a/1", "actor": "https://a", "object": "https://b/2"})


def test_a_chatham_house_post_is_rejected_and_an_open_one_accepted_with_a_quote_authorization(served):
    server, _ = served
    activity = json.loads((GOLDEN / "quote-request-open-with-opt-out.request.json").read_text())["activity"]
    newsroom = [("authorization", f"Bearer {NEWSROOM_TOKEN}")]
    post = dc.Item(id="p-1", author=ANN, text="Rates will rise in March.", link=activity["object"])
    with dc.Client(server.target, metadata=newsroom) as client:
        rejected = client.answer_quote_request(_group("chatham-house", "g-news-2"), post, activity,
                                               authorization_base_uri="https://forum.example/qa",
                                               author_uri=AUTHOR_URI, requested_at=ASKED_AT)
        accepted = client.answer_quote_request(_group("open-with-opt-out", "g-news-2"), post, activity,
                                               authorization_base_uri="https://forum.example/qa",
                                               author_uri=AUTHOR_URI, requested_at=ASKED_AT)
        again = client.answer_quote_request(_group("open-with-opt-out", "g-news-2"), post, activity,
                                            authorization_base_uri="https://forum.example/qa",
                                            author_uri=AUTHOR_URI, requested_at=ASKED_AT)
        with pytest.raises(dc.InvalidRequestError) as refused:
            client.answer_quote_request(_group("open-with-opt-out", "g-news-2"), post,
                                        {**activity, "object": "https://forum.example/p/2"},
                                        authorization_base_uri="https://forum.example/qa", author_uri=AUTHOR_URI)
        assert [v.field for v in refused.value.field_violations] == ["activity.object"]
        with pytest.raises(dc.InvalidRequestError) as refused:
            client.answer_quote_request(_group("open-with-opt-out", "g-news-2"), post, activity,
                                        authorization_base_uri="", author_uri="")
        assert {v.field for v in refused.value.field_violations} == {"authorization_base_uri", "author_uri"}
    assert rejected.answer == "reject" and rejected.activity["type"] == "Reject"
    assert rejected.activity["object"] == activity["id"] and rejected.quote.decision == "allow_with_obligations"
    assert accepted.answer == "accept"
    _schema("quote-answer").validate(dict(accepted.activity))
    authorization = accepted.activity["result"]
    assert (authorization["attributedTo"], authorization["interactingObject"], authorization["interactionTarget"]) == (
        AUTHOR_URI, activity["instrument"], activity["object"])
    assert authorization["id"].startswith("https://forum.example/qa/")
    assert again.activity == accepted.activity  # a retry publishes nothing new


def test_what_a_quoter_sends_cannot_break_or_blur_the_answer(served):
    server, _ = served
    activity = json.loads((GOLDEN / "quote-request-open-with-opt-out.request.json").read_text())["activity"]
    newsroom = [("authorization", f"Bearer {NEWSROOM_TOKEN}")]
    post = dc.Item(id="p-1", author=ANN, text="Rates will rise in March.", link=activity["object"])
    open_group = _group("open-with-opt-out", "g-news-3")
    where = {"authorization_base_uri": "https://forum.example/qa", "author_uri": AUTHOR_URI, "requested_at": ASKED_AT}
    with dc.Client(server.target, metadata=newsroom) as client:
        # A number JSON cannot write (a quoter's `json.loads` takes NaN) is an activity nobody can read: rejected.
        broken = client.answer_quote_request(open_group, post, {**activity, "x": float("inf")}, **where)
        assert broken.answer == "reject" and broken.quote is None
        # Without an id there is nothing to answer: rejected, with no activity to send.
        anonymous = client.answer_quote_request(open_group, post, {"type": "QuoteRequest"}, **where)
        assert (anonymous.answer, anonymous.activity) == ("reject", None)
        # Two requests with one id, from two quoters, are two answers.
        first = client.answer_quote_request(_group("stays-in-group", "g-news-3"), post, activity, **where)
        other = {**activity, "actor": "https://elsewhere.example/users/mallory"}
        second = client.answer_quote_request(_group("stays-in-group", "g-news-3"), post, other, **where)
        assert first.activity["id"] != second.activity["id"]
        # The post the answer authorizes is the post described: a post without its URI is not answered.
        with pytest.raises(dc.InvalidRequestError) as refused:
            client.answer_quote_request(_group("open-with-opt-out", ""), dc.Item(id="p-1", author=ANN), activity,
                                        authorization_base_uri="javascript:alert(1)//", author_uri=" ")
        assert {v.field for v in refused.value.field_violations} == {
            "group.id", "item.link", "authorization_base_uri", "author_uri"}
        # A quote the author approves one by one stays pending, even with a consent recorded for everyone.
        consented = dc.Item(id="p-1", author=ANN, text="t", link=activity["object"],
                            consents=[dc.Consent(by=ANN.id, scope="share_outside",
                                                 granted_at=dt.datetime(2026, 12, 2, tzinfo=UTC))])
        pending = client.answer_quote_request(_group("ask-before-quoting", "g-news-3"), consented, activity, **where)
        assert (pending.answer, pending.activity, pending.consent_scope) == ("pending", None, "share_outside")
        # An embargo's end is when to ask again.
        embargoed = dc.Item(id="p-1", author=ANN, text="t", link=activity["object"],
                            labels=[dc.Label("press", "on_record"),
                                    dc.Label("embargo", "until", params={"until": "2027-01-20T00:00:00Z"})])
        held = client.answer_quote_request(_group("press", "g-news-3"), embargoed, activity, **where)
        assert (held.answer, held.ask_again_at) == ("reject", dt.datetime(2027, 1, 20, tzinfo=UTC))


def test_the_author_may_always_quote_their_own_post_and_a_uri_names_a_host(served):
    server, _ = served
    activity = json.loads((GOLDEN / "quote-request-chatham-house.request.json").read_text())["activity"]
    newsroom = [("authorization", f"Bearer {NEWSROOM_TOKEN}")]
    post = dc.Item(id="p-1", author=ANN, text="t", link=activity["object"])
    with dc.Client(server.target, metadata=newsroom) as client:
        own = client.answer_quote_request(_group("chatham-house", "g-news-4"), post, {**activity, "actor": AUTHOR_URI},
                                          authorization_base_uri="https://forum.example/qa", author_uri=AUTHOR_URI)
        assert own.answer == "accept" and own.activity["result"]["attributedTo"] == AUTHOR_URI
        for hostless in ("https:///", "https://?x", "https://user:pw@forum.example/users/q"):
            unread = client.answer_quote_request(_group("open-with-opt-out", "g-news-4"), post,
                                                 {**activity, "actor": hostless},
                                                 authorization_base_uri="https://forum.example/qa",
                                                 author_uri=AUTHOR_URI)
            assert unread.answer == "reject" and unread.quote is None, hostless
        with pytest.raises(dc.InvalidRequestError) as refused:
            client.answer_quote_request(_group("open-with-opt-out", "g-news-4"), post, activity,
                                        authorization_base_uri="https://forum.example/" + "q" * 1000,
                                        author_uri=AUTHOR_URI)
        assert [v.field for v in refused.value.field_violations] == ["authorization_base_uri"]
