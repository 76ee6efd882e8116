"""Who may natively quote a post, by the group's agreement, as ActivityPub, Mastodon and Bluesky say it.

Mastodon (FEP-044f quote requests) and Bluesky (postgates) let an author say,
post by post, who may quote or embed it; none of them knows that the post was
made in a group held under the Chatham House Rule, an ask-first agreement or
"nothing leaves this group". Here the engine is asked the question a native
quote puts, and its answer is read as each platform's control.

The question: may a member who is not the author `quote` the item to the
quoter (`external_individual`, or `same_group` when the caller says the
quoter is a member), somewhere the public can reach (a quote post is shown
wherever the quoting post is), naming the author and linking the post, as a
native quote does. Decided at the request's instant, with the group's facts as
the caller gives them (followers and following are the caller's, not the
engine's: no agreement reads them).

The answer, as an approval:

| the decision | a native quote |
|---|---|
| allow, owing nothing a native quote does not already do | `automatic`: anyone |
| owes `require_author_consent` and nothing else a quote cannot do | `manual`: the author approves each |
| allowed only by a consent the author recorded (to be named, say) | `manual`: each quote is still theirs to approve |
| owes `hold_until` | `nobody` until then, and the time to ask again (terms that change later give it too) |
| owes anything else (a redaction, a label, a notice), or deny | `nobody` but the author |

Where nobody may quote natively, the answer also says whether the text may
still be shared without its author's name (`text_share`): under the Chatham
House Rule the words may travel, who said them may not.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from ..engine import decide
from ..engine.compiled import CompiledPolicy
from ..engine.instants import to_iso
from ..engine.model import Actor, Attribution, Decision, Destination, Group, Instant, Item, Recipient, Request

AUTOMATIC, MANUAL, NOBODY = "automatic", "manual", "nobody"
APPROVALS = (AUTOMATIC, MANUAL, NOBODY)

# What a native quote does by itself: it names the author and links the post.
A_QUOTE_DOES = frozenset({"add_attribution"})
# The member passing the item on, in the question: nobody the request names (not the author, whose own post would
# be theirs to release; not a participant, whose name in the text would be their own to give).
_PASSED_ON_BY = "quote-request"

ACTIVITY_STREAMS_PUBLIC = "https://www.w3.org/ns/activitystreams#Public"
POSTGATE = "app.bsky.feed.postgate"
POSTGATE_MAX_DETACHED = 50  # the lexicon's bound on `detachedEmbeddingUris`


@dataclass(frozen=True)
class Quoter:
    """Who would quote: an id the caller knows them by, and whether the caller says they are a member."""

    id: str = ""
    member: bool = False


@dataclass(frozen=True)
class QuotePolicy:
    """Who may natively quote one item, and the decision that says so."""

    approval: str  # one of APPROVALS
    decision: Decision  # the native quote's, as decided
    consent_scope: str = ""  # `manual`: the consent the author gives by approving
    ask_again_at: Instant | None = None  # `nobody` until this instant (an embargo lifts)
    text_share: Decision | None = None  # where no native quote may be: sharing the text without its author's name


def quote_policy(policy: CompiledPolicy, group: Group, item: Item, *, at: Instant,
                 quoter: Quoter = Quoter()) -> QuotePolicy:
    """Who may natively quote `item`, posted in `group`, at `at` (for `quoter` when the caller names one)."""
    question = native_quote(group, item, quoter, at)
    decision = decide(policy, question, now=at)
    approval, scope, until = _approval(decision)
    if approval == AUTOMATIC:
        rests_on = _consent_it_rests_on(policy, question, at)
        if rests_on:
            approval, scope = MANUAL, rests_on
    # Terms that change later (an adoption starting, one replacing another) may change the answer: ask again then.
    changes = [t for a in group.adoptions for t in (a.effective_from, a.disclosed_at) if t is not None and t > at]
    if changes:
        until = min([until, *changes]) if until is not None else min(changes)
    text_share = None
    if approval == NOBODY:
        text_share = decide(policy, dataclasses.replace(question, action="share", attribution=Attribution()), now=at)
    return QuotePolicy(approval, decision, scope, until, text_share)


def native_quote(group: Group, item: Item, quoter: Quoter, at: Instant) -> Request:
    """The question a native quote puts, as a request (see the module's docstring)."""
    kind = "same_group" if quoter.member else "external_individual"
    recipients = (Recipient(id=quoter.id),) if quoter.id else ()
    return Request(action="quote", actor=Actor(id=_nobody_named(group, item, quoter), member=True), group=group,
                   items=(item,),
                   destination=Destination(kind=kind, recipients=recipients, publicly_accessible=True),
                   attribution=Attribution(author_identity=True, link=True), quoted_text=item.text, requested_at=at)


def _nobody_named(group: Group, item: Item, quoter: Quoter) -> str:
    """An id for the member passing the item on that no person of the question has."""
    named = {quoter.id, item.author.id, *(p.id for p in group.participants), *(p.id for p in item.listed_people),
             *(c.by for c in item.consents), *item.exchange_participants}
    actor, n = _PASSED_ON_BY, 0
    while actor.strip().lower() in {name.strip().lower() for name in named}:
        n += 1
        actor = f"{_PASSED_ON_BY}-{n}"
    return actor


def _approval(decision: Decision) -> tuple[str, str, Instant | None]:
    if decision.decision == "deny":
        return NOBODY, "", None
    owed = [o for o in decision.obligations if o.type not in A_QUOTE_DOES]
    holds = [o.until for o in owed if o.type == "hold_until" and o.until is not None]
    if holds:
        return NOBODY, "", max(holds)
    if not owed:
        return AUTOMATIC, "", None
    if all(o.type == "require_author_consent" for o in owed):
        return MANUAL, owed[0].scope, None
    return NOBODY, "", None


def _consent_it_rests_on(policy: CompiledPolicy, question: Request, at: Instant) -> str:
    """The scope of the author's consents without which a native quote would not be automatic, if any: every
    record of a scope taken away at once (two grants of one scope are one consent), then all of them."""
    item = question.items[0]
    theirs = [c for c in item.consents if c.by.strip().lower() == item.author.id.strip().lower()]
    scopes = sorted({c.scope for c in theirs})
    for taken in [[scope] for scope in scopes] + ([scopes] if len(scopes) > 1 else []):
        without = dataclasses.replace(item, consents=tuple(c for c in item.consents
                                                           if not (c in theirs and c.scope in taken)))
        if _approval(decide(policy, dataclasses.replace(question, items=(without,)), now=at))[0] != AUTOMATIC:
            return taken[0]
    return ""


# ---- each platform's control ----------------------------------------------------------------------


def can_quote(quotes: QuotePolicy, author_uri: str) -> dict[str, list[str]]:
    """ActivityPub's `interactionPolicy.canQuote` (FEP-044f): the author may always quote their own post."""
    if quotes.approval == AUTOMATIC:
        return {"automaticApproval": [ACTIVITY_STREAMS_PUBLIC], "manualApproval": []}
    if quotes.approval == MANUAL:
        return {"automaticApproval": [author_uri], "manualApproval": [ACTIVITY_STREAMS_PUBLIC]}
    return {"automaticApproval": [author_uri], "manualApproval": []}


def quote_approval_policy(quotes: QuotePolicy) -> str:
    """Mastodon's `quote_approval_policy`: `public`, or `nobody`, which is also what manual approval falls back
    to, since Mastodon's policy has no "ask me" for strangers (`followers` and `following` never: no agreement
    reads them)."""
    return "public" if quotes.approval == AUTOMATIC else "nobody"


def current_user(quotes: QuotePolicy, viewer_id: str, author_id: str) -> str:
    """Mastodon's `QuoteApproval.current_user` for the viewer `quotes` was decided for."""
    if viewer_id and viewer_id == author_id:
        return AUTOMATIC
    return {AUTOMATIC: "automatic", MANUAL: "manual"}.get(quotes.approval, "denied")


def postgate(quotes: QuotePolicy, post_uri: str, created_at: Instant,
             detached: tuple[str, ...] = ()) -> dict[str, object]:
    """A Bluesky `app.bsky.feed.postgate` record: embedding disabled unless anyone may quote automatically
    (Bluesky asks no one), `createdAt` the request's instant so records are the same for the same question."""
    record: dict[str, object] = {"$type": POSTGATE, "post": post_uri, "createdAt": to_iso(created_at, digits=3)}
    if quotes.approval != AUTOMATIC:
        record["embeddingRules"] = [{"$type": f"{POSTGATE}#disableRule"}]
    if detached:
        record["detachedEmbeddingUris"] = list(detached)
    return record
