"""Who may natively quote a post, by the group's agreement (discretion.social.quotes): every row of the README's
table decided here, and each platform's control read from it."""

from __future__ import annotations

import pathlib
import re

import pytest

from discretion.author.workspace import load_rules
from discretion.engine.instants import SECOND, to_iso
from discretion.engine.model import Adoption, Consent, Group, Item, Label, Person
from discretion.social import quotes
from discretion.social.quotes import Quoter, quote_policy

ROOT = pathlib.Path(__file__).resolve().parent.parent.parent
POLICY = load_rules(ROOT / "rules").policy
NOW = 1_800_000_000 * SECOND
DAY = 86_400 * SECOND
AUTHOR = Person(id="u-au", display_name="Ann Author", organization="Northwind Bank")
AUTHOR_URI = "https://group.example/users/ann"
EMBARGO = "2027-01-20T00:00:00Z"

# The README's rows: what the group adopted, what the item carries, and the example that decides the row.
ROWS = {
    ("chatham-house", "any"): ("chatham-house", {}),
    ("chatham-house", "its author consented to be named"): (
        "chatham-house", {"consents": (Consent(by=AUTHOR.id, scope="attribution", granted_at=NOW - DAY),)}),
    ("ask-before-quoting", "any"): ("ask-before-quoting", {}),
    ("stays-in-group", "any"): ("stays-in-group", {}),
    ("open-with-opt-out", "any"): ("open-with-opt-out", {}),
    ("open-with-opt-out", "`flag: no_sharing`"): (
        "open-with-opt-out", {"labels": (Label("flag", "no_sharing", set_by="author"),)}),
    ("on-the-record", "any"): ("on-the-record", {}),
    ("tlp", "`tlp: clear`"): ("tlp", {"labels": (Label("tlp", "clear"),)}),
    ("tlp", "`tlp: green`, `amber`, `red`"): ("tlp", *({"labels": (Label("tlp", value),)}
                                                      for value in ("green", "amber", "red"))),
    ("press", "on the record, embargoed `until`"): (
        "press", {"labels": (Label("press", "on_record"), Label("embargo", "until", params={"until": EMBARGO}))}),
    ("press", "off the record"): ("press", {"labels": (Label("press", "off_record"),)}),
    ("pap", "any"): ("pap", {}),
    ("iep2", "any"): ("iep2", {}),
    ("no-ai", "any"): ("no-ai", {}),
}


def _decided(agreement: str, facts: dict, quoter: Quoter = Quoter()) -> quotes.QuotePolicy:
    group = Group(id="g-1", adoptions=(Adoption(agreement, effective_from=0),), participants=(AUTHOR,))
    item = Item(id="p-1", author=AUTHOR, posted_at=NOW - DAY, text="Rates will rise in March.",
                link="https://group.example/p/1", **facts)
    return quote_policy(POLICY, group, item, at=NOW, quoter=quoter)


def _cells(decided: quotes.QuotePolicy) -> list[str]:
    """A row's cells after its first two, as the README writes them."""
    approval = {"automatic": "anyone, automatically", "manual": "the author approves each",
                "nobody": "nobody but the author"}[decided.approval]
    if decided.consent_scope:
        approval += f" (`{decided.consent_scope}`)"
    if decided.ask_again_at is not None:
        approval += ", until `until`: ask again then"
    text = "—" if decided.text_share is None else decided.text_share.decision.replace("_", " ")
    can_quote = quotes.can_quote(decided, AUTHOR_URI)
    activitypub = "; ".join(f"{kind.removesuffix('Approval')}: {', '.join(_short(u) for u in who)}"
                            for kind, who in can_quote.items() if who)
    gate = quotes.postgate(decided, "at://did:plc:ann/app.bsky.feed.post/1", NOW)
    bluesky = "`#disableRule`" if "embeddingRules" in gate else "no rule"
    return [approval, text, activitypub, f"`{quotes.quote_approval_policy(decided)}`", bluesky]


def _short(uri: str) -> str:
    return "Public" if uri == quotes.ACTIVITY_STREAMS_PUBLIC else "the author"


def _readme_rows() -> dict[tuple[str, str], list[str]]:
    text = (ROOT / "README.md").read_text()
    table = text.split("<!-- quote-controls -->", 2)[1]
    rows = {}
    for line in table.strip().splitlines()[2:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        rows[(cells[0].strip("`"), cells[1])] = cells[2:]
    return rows


def test_every_row_of_the_readme_table_is_what_the_engine_decides():
    written = _readme_rows()
    assert set(written) == set(ROWS)
    for key, (agreement, *examples) in ROWS.items():
        for facts in examples:
            assert written[key] == _cells(_decided(agreement, facts)), (key, facts)


def test_the_chatham_house_rule_keeps_native_quotes_to_the_author_and_lets_the_words_travel():
    decided = _decided("chatham-house", {})
    assert decided.approval == "nobody" and decided.decision.decision == "allow_with_obligations"
    assert "redact_author_identity" in {o.type for o in decided.decision.obligations}
    assert decided.text_share is not None and decided.text_share.decision == "allow"
    assert quotes.can_quote(decided, AUTHOR_URI) == {"automaticApproval": [AUTHOR_URI], "manualApproval": []}


def test_an_embargo_says_when_to_ask_again_and_quotes_are_automatic_once_it_lifts():
    facts = ROWS[("press", "on the record, embargoed `until`")][1]
    before = _decided("press", facts)
    assert (before.approval, to_iso(before.ask_again_at)) == ("nobody", EMBARGO)
    group = Group(id="g-1", adoptions=(Adoption("press", effective_from=0),), participants=(AUTHOR,))
    item = Item(id="p-1", author=AUTHOR, posted_at=NOW - DAY, text="t", link="https://group.example/p/1", **facts)
    after = quote_policy(POLICY, group, item, at=before.ask_again_at)
    assert after.approval == "automatic" and after.ask_again_at is None


def test_a_consent_withdrawn_takes_the_quote_back_to_the_agreements_own_answer():
    withdrawn = Consent(by=AUTHOR.id, scope="attribution", granted_at=NOW - DAY, withdrawn_at=NOW - 1)
    assert _decided("chatham-house", {"consents": (withdrawn,)}).approval == "nobody"
    # Someone else's consent to the author's being named is no consent.
    other = Consent(by="u-other", scope="attribution", granted_at=NOW - DAY)
    assert _decided("chatham-house", {"consents": (other,)}).approval == "nobody"


@pytest.mark.parametrize("member", [False, True])
def test_the_viewers_approval_is_the_quote_decided_for_them_and_the_author_may_always_quote(member):
    decided = _decided("ask-before-quoting", {}, Quoter(id="u-q", member=member))
    assert quotes.current_user(decided, "u-q", AUTHOR.id) == "manual"
    assert quotes.current_user(_decided("stays-in-group", {}, Quoter(id="u-q", member=member)), "u-q",
                               AUTHOR.id) == "denied"
    assert quotes.current_user(_decided("stays-in-group", {}), AUTHOR.id, AUTHOR.id) == "automatic"


def test_a_postgate_is_the_same_record_for_the_same_question():
    decided = _decided("stays-in-group", {})
    gate = quotes.postgate(decided, "at://did:plc:ann/app.bsky.feed.post/1", NOW, ("at://did:plc:q/app.bsky.feed.post/9",))
    assert gate == {"$type": "app.bsky.feed.postgate", "post": "at://did:plc:ann/app.bsky.feed.post/1",
                    "createdAt": to_iso(NOW, digits=3),
                    "embeddingRules": [{"$type": "app.bsky.feed.postgate#disableRule"}],
                    "detachedEmbeddingUris": ["at://did:plc:q/app.bsky.feed.post/9"]}
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", gate["createdAt"])


@pytest.mark.parametrize("agreement", ["stays-in-group", "chatham-house", "ask-before-quoting"])
def test_no_id_a_request_names_makes_the_quote_the_authors_own(agreement):
    # The member passing the post on is nobody the question names: were they the author, their own post would be
    # theirs to release under every agreement.
    for taken in ("quote-request", "QUOTE-REQUEST ", "quote-request-1"):
        author = Person(id=taken, display_name="Quinn Rivers")
        group = Group(id="g-1", adoptions=(Adoption(agreement, effective_from=0),),
                      participants=(author, Person(id="quote-request-1"), Person(id="quote-request")))
        item = Item(id="p-1", author=author, posted_at=NOW - DAY, text="Quinn Rivers says rates will rise.")
        assert quote_policy(POLICY, group, item, at=NOW).approval != "automatic", taken


def test_two_grants_of_one_consent_are_still_one_consent_the_quote_rests_on():
    grants = tuple(Consent(by=AUTHOR.id, scope="attribution", granted_at=NOW - d * DAY) for d in (1, 2))
    decided = _decided("chatham-house", {"consents": grants})
    assert (decided.approval, decided.consent_scope) == ("manual", "attribution")
    twice = (grants[0], grants[0])
    assert _decided("chatham-house", {"consents": twice}).approval == "manual"


def test_terms_that_change_later_say_when_to_ask_again():
    later = NOW + 3 * DAY
    group = Group(id="g-1", participants=(AUTHOR,), adoptions=(
        Adoption("on-the-record", effective_from=0),
        Adoption("stays-in-group", effective_from=later, replaces=("on-the-record",))))
    item = Item(id="p-1", author=AUTHOR, posted_at=NOW - DAY, text="t")
    decided = quote_policy(POLICY, group, item, at=NOW)
    assert (decided.approval, decided.ask_again_at) == ("automatic", later)
    assert quote_policy(POLICY, group, item, at=later).approval == "nobody"
