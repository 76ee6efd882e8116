"""RecheckQuotes over a real server: withdrawing one consent detaches exactly the quote resting on it, and nothing
else changes; what rests on no consent stands (a change of terms acts forward only)."""

from __future__ import annotations

import datetime as dt

import pytest

import discretion_client as dc
from security.conftest import NEWSROOM_TOKEN

from .test_interaction_policy import ANN, AUTHOR_URI, served  # noqa: F401 — the module's server, shared

UTC = dt.timezone.utc
AT = dt.datetime(2026, 12, 5, 10, 30, tzinfo=UTC)
NEWSROOM = [("authorization", f"Bearer {NEWSROOM_TOKEN}")]
POST_URI = "at://did:plc:ann/app.bsky.feed.post/3k1"
GROUP = dc.Group(id="g-news-recheck", adoptions=[dc.Adoption("ask-before-quoting")], participants=[ANN])
ISSUED = [
    dc.IssuedQuote("https://forum.example/qa/q1", consent_id="c-1", embedding_uri="at://did:plc:q1/app.bsky.feed.post/1"),
    dc.IssuedQuote("https://forum.example/qa/q2", consent_id="c-2", embedding_uri="at://did:plc:q2/app.bsky.feed.post/2"),
    dc.IssuedQuote("https://forum.example/qa/q3"),  # anyone could make it when it was made
]


def _post(*consents: dc.Consent) -> dc.Item:
    return dc.Item(id="p-1", author=ANN, text="t", link="https://forum.example/p/1", consents=list(consents))


def _granted(consent_id: str, withdrawn: dt.datetime | None = None) -> dc.Consent:
    return dc.Consent(by=ANN.id, scope="share_outside", granted_at=dt.datetime(2026, 12, 1, tzinfo=UTC),
                      withdrawn_at=withdrawn, id=consent_id)


def test_withdrawing_one_consent_detaches_exactly_the_quote_that_rests_on_it(served):  # noqa: F811
    server, _ = served
    with dc.Client(server.target, metadata=NEWSROOM) as client:
        standing = client.recheck_quotes(GROUP, _post(_granted("c-1"), _granted("c-2")), ISSUED,
                                         author_uri=AUTHOR_URI, post_uri=POST_URI, requested_at=AT)
        withdrawn = client.recheck_quotes(
            GROUP, _post(_granted("c-1", withdrawn=dt.datetime(2026, 12, 4, tzinfo=UTC)), _granted("c-2")), ISSUED,
            author_uri=AUTHOR_URI, post_uri=POST_URI, requested_at=AT)
    assert standing.detach == () and "detachedEmbeddingUris" not in standing.postgate
    (gone,) = withdrawn.detach
    assert (gone.authorization_id, gone.consent_id) == ("https://forum.example/qa/q1", "c-1")
    assert "withdrawn" in gone.reason
    assert gone.delete == {"@context": gone.delete["@context"], "type": "Delete", "actor": AUTHOR_URI,
                           "id": "https://forum.example/qa/q1/delete", "object": "https://forum.example/qa/q1"}
    assert withdrawn.postgate["detachedEmbeddingUris"] == ["at://did:plc:q1/app.bsky.feed.post/1"]
    # Nothing else changed: the rest of the record is the one without the withdrawal.
    assert {k: v for k, v in withdrawn.postgate.items() if k != "detachedEmbeddingUris"} == dict(standing.postgate)


def test_a_consent_no_longer_on_record_or_not_given_yet_holds_nothing_up(served):  # noqa: F811
    server, _ = served
    later = dc.Consent(by=ANN.id, scope="share_outside", granted_at=dt.datetime(2026, 12, 9, tzinfo=UTC), id="c-2")
    with dc.Client(server.target, metadata=NEWSROOM) as client:
        answer = client.recheck_quotes(GROUP, _post(later), ISSUED, author_uri=AUTHOR_URI, requested_at=AT)
    assert [(d.consent_id, d.reason.split("`")[2].strip()) for d in answer.detach] == [
        ("c-1", "it rests on is no longer on record"), ("c-2", "it rests on is not given yet")]
    assert answer.postgate is None  # no post_uri, no record


def test_a_recheck_is_refused_naming_what_it_cannot_be_answered_without(served):  # noqa: F811
    server, _ = served
    with dc.Client(server.target, metadata=NEWSROOM) as client:
        with pytest.raises(dc.InvalidRequestError) as refused:
            client.recheck_quotes(GROUP, _post(), [dc.IssuedQuote("")], author_uri="")
        assert {v.field for v in refused.value.field_violations} == {"author_uri", "quotes[0].authorization_id"}
        many = [dc.IssuedQuote(f"https://forum.example/qa/{n}", consent_id="gone",
                               embedding_uri=f"at://did:plc:q/app.bsky.feed.post/{n}") for n in range(51)]
        with pytest.raises(dc.InvalidRequestError) as refused:
            client.recheck_quotes(GROUP, _post(), many, author_uri=AUTHOR_URI, post_uri=POST_URI)
        assert [v.field for v in refused.value.field_violations] == ["quotes"]


def test_the_authors_consent_is_read_as_the_engine_reads_it(served):  # noqa: F811
    server, _ = served
    day = dt.timedelta(days=1)
    # A withdrawal recorded without an id speaks for the scope: it ends the author's consent however spelled.
    elsewhere = dc.Consent(by="U-ANN", scope="share_outside", granted_at=AT - 3 * day, withdrawn_at=AT - day)
    # Someone else's consent, and one naming recipients (never the public a quote reaches), hold nothing up.
    bobs = dc.Consent(by="u-bob", scope="share_outside", granted_at=AT - 3 * day, id="c-2")
    named = dc.Consent(by=ANN.id, scope="attribution", recipients=["u-x"], granted_at=AT - 3 * day, id="c-3")
    quotes = [dc.IssuedQuote("https://forum.example/qa/1", consent_id="c-1"),
              dc.IssuedQuote("https://forum.example/qa/2", consent_id="c-2"),
              dc.IssuedQuote("https://forum.example/qa/3", consent_id="c-3")]
    with dc.Client(server.target, metadata=NEWSROOM) as client:
        answer = client.recheck_quotes(GROUP, _post(_granted("c-1"), elsewhere, bobs, named), quotes,
                                       author_uri=AUTHOR_URI, requested_at=AT)
        assert [d.authorization_id for d in answer.detach] == [q.authorization_id for q in quotes]
        # A retracted post's quotes are all detached, those that rest on no consent too.
        retracted = dc.Item(id="p-1", author=ANN, text="t", link="https://forum.example/p/1", retracted_at=AT - day)
        answer = client.recheck_quotes(GROUP, retracted, ISSUED, author_uri=AUTHOR_URI, requested_at=AT)
        assert [d.reason for d in answer.detach] == ["the post was retracted"] * 3
        # Ids and URIs a postgate could not hold, or one quote sent twice, are refused.
        with pytest.raises(dc.InvalidRequestError) as refused:
            client.recheck_quotes(GROUP, _post(), [ISSUED[0], ISSUED[0], dc.IssuedQuote("q", embedding_uri="https://x")],
                                  author_uri=AUTHOR_URI, post_uri="not a uri")
        assert {v.field for v in refused.value.field_violations} == {
            "post_uri", "quotes[1].authorization_id", "quotes[2].embedding_uri"}
