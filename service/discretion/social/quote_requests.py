"""Answering an ActivityPub quote request (FEP-044f, as Mastodon 4.5 does) by the group's agreement.

A quoting server sends the quoted post's author a `QuoteRequest` (actor: the
quoter; object: the quoted post; instrument: the quoting post). The author's
server answers `Accept`, whose `result` is a `QuoteAuthorization` it publishes
(`attributedTo` the author, `interactingObject` the quoting post,
`interactionTarget` the quoted post), or `Reject`. Here the answer is the
native quote's decision (quotes.quote_policy) for that quoter:

| the quote                                                 | the answer                                  |
|-----------------------------------------------------------|---------------------------------------------|
| automatic: anyone may quote it                            | `Accept` with a QuoteAuthorization          |
| manual: the author approves each quote                    | pending: ask the author (a consent recorded |
|                                                           | for everyone is no approval of this quote)  |
| nobody may quote natively; or the activity cannot be read | `Reject`                                    |

A `QuoteRequest` carries only URIs, so the group's and the post's facts are
the caller's. Its object must be the post the caller describes (the item's
`link`, required here): a request about another post is the caller's
mistake, refused, never answered as if it were about this one. A URI is read
only as http(s), at most 2,048 characters, without spaces or control
characters. The ids written are a digest of everything the answer says (the
request's id, actor, object and instrument), so a retry publishes nothing new
and two requests never share one.
"""

from __future__ import annotations

import hashlib
import json
from urllib.parse import urlsplit
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

from ..engine.compiled import CompiledPolicy
from ..engine.consent import latest
from ..engine.model import Decision, Group, Instant, Item
from .quotes import A_QUOTE_DOES, AUTOMATIC, MANUAL, Quoter, QuotePolicy, quote_policy

ACCEPT, REJECT, PENDING = "accept", "reject", "pending"
ACTIVITY_STREAMS = "https://www.w3.org/ns/activitystreams"
# The terms FEP-044f and the servers that implement it write a QuoteAuthorization with.
CONTEXT: list[Any] = [ACTIVITY_STREAMS, {
    "QuoteRequest": "https://w3id.org/fep/044f#QuoteRequest",
    "QuoteAuthorization": "https://w3id.org/fep/044f#QuoteAuthorization",
    "gts": "https://gotosocial.org/ns#",
    "interactingObject": {"@id": "gts:interactingObject", "@type": "@id"},
    "interactionTarget": {"@id": "gts:interactionTarget", "@type": "@id"},
}]
_QUOTE_REQUEST_TYPES = ("QuoteRequest", "https://w3id.org/fep/044f#QuoteRequest")


@dataclass(frozen=True)
class QuoteRequest:
    """What a `QuoteRequest` activity says: its id, who asks, the quoted post, the quoting post."""

    id: str
    actor: str
    object: str
    instrument: str


@dataclass(frozen=True)
class QuoteAnswer:
    answer: str  # ACCEPT, REJECT or PENDING
    activity: dict[str, Any] | None  # the Accept or the Reject to send; None while pending
    why: str  # for a person
    quotes: QuotePolicy | None = None  # None when the activity could not be read
    consent_scope: str = ""  # PENDING: the consent to ask the author for
    quoter: Quoter | None = None  # who asked, when the activity could be read

    @property
    def decision(self) -> Decision | None:
        return None if self.quotes is None else self.quotes.decision


class NotThisPost(ValueError):
    """The request quotes another post than the one described: the caller's facts and the activity disagree."""


def read(activity: Mapping[str, Any]) -> QuoteRequest | None:
    """The request, if the activity is a QuoteRequest naming each part by a URI (or an object with an `id`)."""
    if not isinstance(activity, Mapping) or activity.get("type") not in _QUOTE_REQUEST_TYPES:
        return None
    parts = [uri(activity.get(name)) for name in ("id", "actor", "object", "instrument")]
    if not all(parts):
        return None
    return QuoteRequest(*parts)


_MAX_URI = 2048


def uri(value: Any) -> str:
    """`value` if it is an http(s) URI this module writes into an answer, else ""."""
    if isinstance(value, Mapping):
        value = value.get("id")
    if not isinstance(value, str) or len(value) > _MAX_URI or not value.startswith(("https://", "http://")):
        return ""
    if any(c.isspace() or not c.isprintable() for c in value):
        return ""
    try:
        parts = urlsplit(value)
    except ValueError:
        return ""
    # A host, and no user or password in front of it: `https:///`, `https://?` and `https://u:p@x` name no one.
    return value if parts.hostname and "@" not in parts.netloc else ""


def answer(policy: CompiledPolicy, group: Group, item: Item, activity: Mapping[str, Any], *, at: Instant,
           author_uri: str, authorizations: str, member: bool = False) -> QuoteAnswer:
    """The answer to `activity` about `item`, posted in `group`: published under `authorizations` (a base URI)."""
    request = read(activity)
    if request is None:
        asked = uri(activity.get("id")) if isinstance(activity, Mapping) else ""
        return QuoteAnswer(REJECT, _reject(asked, "", author_uri, authorizations) if asked else None,
                           "the activity is not a QuoteRequest naming its actor, object and instrument by URI"
                           + ("" if asked else "; it has no id to answer"))
    if request.object != item.link:
        raise NotThisPost(f"the request quotes `{request.object}`, not the post described (`{item.link}`)")
    if request.actor == author_uri:  # the author may always quote their own post (can_quote says so too)
        return QuoteAnswer(ACCEPT, _accept(request, author_uri, authorizations),
                           "the author may always quote their own post")
    quoter = Quoter(id=request.actor, member=member)
    quotes = quote_policy(policy, group, item, at=at, quoter=quoter)
    if quotes.approval == AUTOMATIC:
        return QuoteAnswer(ACCEPT, _accept(request, author_uri, authorizations), quotes.decision.reason, quotes,
                           quoter=quoter)
    if quotes.approval == MANUAL:
        return QuoteAnswer(PENDING, None, f"the author approves each quote (`{quotes.consent_scope}`): ask them",
                           quotes, quotes.consent_scope, quoter)
    return QuoteAnswer(REJECT, _reject(request.id, request.actor, author_uri, authorizations), _why_not(quotes),
                       quotes, quoter=quoter)


def _why_not(quotes: QuotePolicy) -> str:
    decision = quotes.decision
    if decision.decision == "deny":
        return decision.reason
    owed = ", ".join(sorted({o.type for o in decision.obligations if o.type not in A_QUOTE_DOES}))
    until = " until the embargo lifts" if quotes.ask_again_at is not None else ""
    return (f"a native quote shows the post under its author's name, which the agreement allows only with what a "
            f"quote cannot do ({owed}){until}")


def _token(*parts: str) -> str:
    # JSON, not a separator: no part can end where another begins.
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:32]


def _accept(request: QuoteRequest, author_uri: str, base: str) -> dict[str, Any]:
    token = _token("accept", author_uri, request.id, request.actor, request.object, request.instrument)
    authorization = f"{base.rstrip('/')}/{token}"
    return {"@context": CONTEXT, "type": "Accept", "id": f"{authorization}/accept", "actor": author_uri,
            "to": [request.actor], "object": request.id,
            "result": {"type": "QuoteAuthorization", "id": authorization, "attributedTo": author_uri,
                       "interactingObject": request.instrument, "interactionTarget": request.object}}


def _reject(asked: str, actor: str, author_uri: str, base: str) -> dict[str, Any]:
    """A Reject of the activity `asked`, to its `actor` when it could be read."""
    rejected: dict[str, Any] = {"@context": CONTEXT, "type": "Reject",
                                "id": f"{base.rstrip('/')}/{_token('reject', author_uri, asked, actor)}/reject",
                                "actor": author_uri, "object": asked}
    if actor:
        rejected["to"] = [actor]
    return rejected


# ---- revocation ------------------------------------------------------------------------------------------
#
# The service keeps nothing: the platform sends the quotes it authorized, each with the id of the consent it
# rests on, and gets back those to detach now. A quote rests on a consent while every record of that id is the
# author's, granted by now and not withdrawn, and the author's consent of that scope still holds as the engine
# reads it, among the records without an id (one history per person and scope: a withdrawal so recorded, however
# the person is spelled, ends it; one naming recipients never covers the public a native quote reaches). A
# withdrawal recorded under another id takes back only what that consent gave: one consent, one quote. One
# whose consent is gone from the item is detached too, and every quote of a retracted post. A quote that rests
# on no consent stands: a change of terms acts forward only, as both platforms do (past shares stand, nothing is
# shown anew, domain notes §4.4), while a withdrawn consent takes back what it gave.


@dataclass(frozen=True)
class IssuedQuote:
    authorization_id: str  # the QuoteAuthorization's id (or, for Bluesky alone, the embedding post's at-uri)
    consent_id: str = ""  # the consent it rests on; "" for a quote anyone could make
    embedding_uri: str = ""  # the at-uri of a Bluesky post embedding the quoted one


@dataclass(frozen=True)
class Detached:
    quote: IssuedQuote
    why: str
    delete: dict[str, Any] | None  # the ActivityPub Delete of the QuoteAuthorization; None for Bluesky alone


def to_detach(item: Item, issued: Sequence[IssuedQuote], *, at: Instant, author_uri: str) -> list[Detached]:
    """The quotes of `issued`, in order and each once, whose consent `item` no longer holds in force at `at`."""
    detached, seen = [], set()
    retracted = item.retracted_at is not None and item.retracted_at <= at
    for quote in issued:
        if quote.authorization_id in seen or not (quote.consent_id or retracted):
            continue
        why = "the post was retracted" if retracted else _consent_gone(item, quote.consent_id, at)
        if why:
            seen.add(quote.authorization_id)
            detached.append(Detached(quote, why, _delete(quote, author_uri)))
    return detached


def _consent_gone(item: Item, consent_id: str, at: Instant) -> str:
    records = [c for c in item.consents if c.id == consent_id]
    if not records:
        return f"the consent `{consent_id}` it rests on is no longer on record"
    if any(c.by != item.author.id for c in records):
        return f"the consent `{consent_id}` it rests on is not the author's"
    if any(c.withdrawn_at is not None and c.withdrawn_at <= at for c in records):
        return f"the consent `{consent_id}` it rests on was withdrawn"
    if any(c.granted_at is not None and c.granted_at > at for c in records):
        return f"the consent `{consent_id}` it rests on is not given yet"
    # Records with ids are consents of their own (a withdrawal of another id takes back only what that one gave);
    # a record without one speaks for the scope, as the engine reads every record.
    history = tuple(c for c in item.consents if c.id in ("", consent_id))
    for kind in sorted({c.scope for c in records}):
        event = latest(history, item.author.id, kind, at)
        if event is None or event[1]:
            return f"the author's consent `{kind}` was withdrawn since"
        if event[0].recipients:
            return f"the author's consent `{kind}` now names its recipients, never the public a quote reaches"
    return ""


def _delete(quote: IssuedQuote, author_uri: str) -> dict[str, Any] | None:
    if not uri(quote.authorization_id):
        return None
    return {"@context": CONTEXT, "type": "Delete", "id": f"{quote.authorization_id}/delete", "actor": author_uri,
            "object": quote.authorization_id}
