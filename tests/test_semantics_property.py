"""Properties: where a fact is unknown, odd or inconsistent, the answer is the most restrictive reading.

Each property is about one class of input that must never loosen a decision,
checked over the whole shipped library (`rules/`) with `decide()`. "At least
as strict" is `strategies.looser(a, b) is None`: a denial beats everything,
then item by item excluded > redacted > kept, then every obligation (and
every redacted span) of the stricter reading is owed too.
"""

from __future__ import annotations

import dataclasses
import math


from hypothesis import assume, given
from hypothesis import strategies as st

from discretion.engine import community, decide
from discretion.engine.compiled import scheme_key
from discretion.engine.model import (
    DESTINATION_KINDS, Adoption, Attribution, Consent, Item, Label, Person, Recipient,
    Request, Session,
)
from strategies import ADOPTABLE, NOW, PAIRS, PEOPLE, POLICY, POSTED, SCHEME_OWNER, S, budget, looser, requests

AGREEMENTS = st.lists(st.sampled_from(ADOPTABLE), min_size=1, max_size=3, unique=True)


def including(*agreements: str):
    """Adopted sets that always hold `agreements`, with up to one other: aims a property at the class it checks."""
    return st.lists(st.sampled_from(ADOPTABLE), max_size=1).map(lambda extra: list(dict.fromkeys([*agreements, *extra])))


def ordinary(request: Request) -> Request:
    """A member's plain-text request about items nobody retracted: nothing unrelated denies it."""
    return dataclasses.replace(
        request, format="text", actor=dataclasses.replace(request.actor, member=True, role="member"),
        items=tuple(dataclasses.replace(i, retracted_at=None, kind="message") for i in request.items))


def adopt(request: Request, agreements, **group_fields) -> Request:
    """The request in a group that adopted `agreements` (from the start of time unless given Adoptions)."""
    adoptions = tuple(a if isinstance(a, Adoption) else Adoption(a, effective_from=0) for a in agreements)
    return dataclasses.replace(request, group=dataclasses.replace(request.group, adoptions=adoptions, **group_fields))


def with_item(request: Request, index: int = 0, **fields) -> Request:
    items = list(request.items)
    items[index] = dataclasses.replace(items[index], **fields)
    return dataclasses.replace(request, items=tuple(items))


def assert_not_looser(a, b, context=""):
    why = looser(a, b)
    assert why is None, f"{why}\n  {context}\n  looser: {a.reason}"


def rule_denied(decision, item_id: str, *, agreement: str | None = None) -> bool:
    return any(f.item_id == item_id and f.effect == "deny" and f.reason_code != "not_permitted"
               and (agreement is None or f.agreement == agreement) for f in decision.findings)


# ---- 1. a consent that names recipients ----------------------------------------------


@budget(400)
@given(requests(AGREEMENTS), st.sampled_from(["attribution", "share_outside", "share_beyond_label", "listing"]))
def test_a_consent_naming_recipients_holds_only_for_those_recipients(drawn, scope):
    request, adopted = drawn
    request = adopt(request, adopted)
    item = request.items[0]
    named = ("r0",)
    scoped = with_item(request, consents=item.consents + (Consent(item.author.id, scope, named, NOW - 50 * S),))
    destination = request.destination
    covered = (destination.kind not in ("public", "ai_tool", "third_party_service")
               and not destination.publicly_accessible and destination.recipients
               and all(r.id in named for r in destination.recipients))
    assume(not covered)
    assert_not_looser(decide(POLICY, scoped, now=NOW), decide(POLICY, request, now=NOW), destination)


# ---- 3. a label carries its terms -------------------------------------------------------


@budget(400)
@given(requests(AGREEMENTS))
def test_a_label_is_judged_by_the_agreement_that_defines_it_whatever_the_group_adopted(drawn):
    request, adopted = drawn
    decision = decide(POLICY, adopt(request, adopted), now=NOW)
    for item in request.items:
        # A community's tag is judged as the label it reads as (engine/community.py); one of no vocabulary by none.
        read = [community.read(label) for label in item.labels]
        schemes = {label.scheme for label in read if label.scheme in SCHEME_OWNER}
        for owner in {SCHEME_OWNER[scheme] for scheme in schemes} - set(adopted):
            judged = decide(POLICY, adopt(request, [*adopted, owner]), now=NOW)
            # The label carries the rules of its agreement that read it, not the agreement's other terms.
            carried = {rule.id for version in POLICY.versions[owner].values() for rules in version.index.values()
                       for rule in rules if rule.schemes & schemes}
            if any(f.item_id == item.id and f.effect == "deny" and f.reason_code != "not_permitted"
                   and f.agreement == owner and f.rule in carried for f in judged.findings):
                assert rule_denied(decision, item.id), (owner, item.labels, decision.reason)


@budget(200)
@given(requests(AGREEMENTS), st.sampled_from(["chr", "TLP ", "custom", "", "tl\u0440", "\u0442lp", "tlp2"]))
def test_a_label_no_agreement_defines_denies_the_item_wherever_it_goes(drawn, scheme):
    # Even inside the group: a look-alike `tlр` would otherwise carry TLP:RED past its recipients.
    request, adopted = drawn
    assume(scheme_key(scheme) not in POLICY.label_schemes)
    item = request.items[0]
    labelled = with_item(adopt(request, adopted), labels=item.labels + (Label(scheme, "anything"),))
    decision = decide(POLICY, labelled, now=NOW)
    assert rule_denied(decision, item.id) or decision.decision == "deny", decision.reason


# ---- 4. the author's waiver covers only their own words -----------------------------------


@budget(400)
@given(requests(AGREEMENTS), st.sampled_from(["attendee_list", "member_list", "transcript", "file", "image"]))
def test_an_author_releases_only_items_whose_words_are_theirs_alone(drawn, kind):
    request, adopted = drawn
    request = adopt(dataclasses.replace(request, items=tuple(dataclasses.replace(i, kind=kind) for i in request.items)),
                    adopted)
    author = request.items[0].author
    as_author = dataclasses.replace(request, actor=dataclasses.replace(request.actor, id=author.id))
    someone_else = dataclasses.replace(request, actor=dataclasses.replace(request.actor, id="u-other"))
    assume(all(i.author.id == author.id for i in request.items))
    # Only the verdicts are compared: an actor may always name themselves, so
    # what is redacted legitimately differs with who acts.
    mine, theirs = decide(POLICY, as_author, now=NOW), decide(POLICY, someone_else, now=NOW)
    assert mine.decision == "deny" or theirs.decision != "deny", (mine.reason, theirs.reason)
    for own, other in zip(mine.items, theirs.items):
        assert own.outcome == "excluded" or other.outcome != "excluded", (own, theirs.reason)


# ---- 5. obligations never contradict each other ----------------------------------------------

NAMING = "add_attribution"
UNNAMING = {"redact_author_identity", "use_agreed_descriptor", "redact_descriptor"}


@budget(500)
@given(requests(st.one_of(AGREEMENTS, st.sampled_from(["chatham-house", "press", "tlp"]).flatmap(
    lambda other: including("open-with-opt-out", other)))))
def test_no_answer_asks_to_name_an_author_another_answer_forbids_naming(drawn):
    request, adopted = drawn
    request = adopt(ordinary(request), adopted)
    silent = decide(POLICY, dataclasses.replace(request, attribution=Attribution()), now=NOW)
    named = decide(POLICY, dataclasses.replace(
        request, attribution=Attribution(author_identity=True, affiliation=True, descriptor="a banker", link=True)), now=NOW)
    for decision in (silent, named, decide(POLICY, request, now=NOW)):
        for item in request.items:
            types = {o.type for o in decision.obligations if item.id in o.item_ids}
            assert not (NAMING in types and types & UNNAMING), (item.id, types)
            if item.author.is_minor:
                assert NAMING not in types, decision.reason
    for item in request.items:
        asks = {o.type for o in silent.obligations if item.id in o.item_ids}
        forbids = {o.type for o in named.obligations if item.id in o.item_ids}
        assert not (NAMING in asks and forbids & UNNAMING), (item.id, asks, forbids, named.reason)


# ---- 6. an export is protected as a share or a quote is ------------------------------------


@budget(500)
@given(requests(AGREEMENTS), st.sampled_from(["share", "quote"]))
def test_what_refuses_or_redacts_a_share_or_quote_also_excludes_or_redacts_the_export(drawn, action):
    request, adopted = drawn
    item = request.items[0]
    # One item; its words are what a quote would publish; a member (owners have export rights of their own).
    single = adopt(dataclasses.replace(request, items=(item,), quoted_text=item.text,
                                       actor=dataclasses.replace(request.actor, role="member")), adopted)
    assume(single.destination.kind != "same_group")
    shared = decide(POLICY, dataclasses.replace(single, action=action), now=NOW)
    exported = decide(POLICY, dataclasses.replace(single, action="export"), now=NOW)
    outcome = exported.items[0].outcome
    archive = single.destination.kind == "personal_archive"
    refused = [f for f in shared.findings if f.effect == "deny" and f.reason_code != "conflicting_obligations"
               and not (archive and f.reason_code == "not_permitted")]
    if refused:
        assert outcome == "excluded", (refused[0].message, exported.reason)
    elif shared.decision != "deny" and shared.items[0].outcome == "redacted":
        assert outcome in ("redacted", "excluded"), (shared.reason, exported.reason)


# ---- 7. unknown, blank and oddly written facts ----------------------------------------------


@budget(400)
@given(requests(AGREEMENTS), st.sampled_from(["may_train", "retains", "new_controller"]), st.booleans(),
       st.sampled_from(["ai_tool", "third_party_service"]), st.booleans())
def test_a_service_flag_not_given_reads_as_yes(drawn, flag, value, kind, child):
    request, adopted = drawn
    request = adopt(request, adopted)
    if child:
        request = with_item(request, author=PEOPLE[3])
    request = dataclasses.replace(request, destination=dataclasses.replace(request.destination, kind=kind))
    service = request.destination.service

    def told(answer):
        return dataclasses.replace(request, destination=dataclasses.replace(
            request.destination, service=dataclasses.replace(service, **{flag: answer})))

    assert_not_looser(decide(POLICY, told(None), now=NOW), decide(POLICY, told(value), now=NOW), flag)


@budget(300)
@given(requests(st.one_of(AGREEMENTS, including("press"))), st.sampled_from([None, "", "not a time"]),
       st.sampled_from([NOW - 10 * S, NOW + 10 ** 6 * S]))
def test_an_embargo_whose_end_is_unreadable_never_lifts(drawn, unreadable, until):
    request, adopted = drawn
    request = adopt(ordinary(request), adopted)

    def embargoed(value):
        params = {} if value is None else {"until": value}
        return with_item(request, labels=(Label("embargo", "until", params=params),))

    known = "2099-01-01T00:00:00Z" if until > NOW else "2000-01-01T00:00:00Z"
    assert_not_looser(decide(POLICY, embargoed(unreadable), now=NOW), decide(POLICY, embargoed(known), now=NOW))


@budget(400)
@given(requests(st.one_of(AGREEMENTS, including("tlp"))), st.sampled_from(["red", "amber+strict", "green"]),
       st.integers(1, 2))
def test_a_blank_organization_or_id_is_unknown_and_matches_nothing(drawn, tlp, recipients):
    request, adopted = drawn
    request = adopt(ordinary(request), adopted)
    if "tlp" in adopted:
        request = with_item(request, labels=(Label("tlp", tlp),), exchange_participants=("", "u0"))
        request = dataclasses.replace(request, purpose=dataclasses.replace(request.purpose, need_to_know=True),
                                      destination=dataclasses.replace(request.destination, recipients=tuple(
                                          Recipient(f"r{i}", "") for i in range(recipients))))
    blank = dataclasses.replace(
        request, actor=dataclasses.replace(request.actor, organization=""),
        destination=dataclasses.replace(request.destination, recipients=tuple(
            Recipient(id="", organization="") for _ in request.destination.recipients)))
    # The same request with every blank made into a distinct name nobody else has.
    distinct = dataclasses.replace(
        request, actor=dataclasses.replace(request.actor, organization="Org of the actor"),
        destination=dataclasses.replace(request.destination, recipients=tuple(
            Recipient(id=f"someone-{i}", organization=f"Org {i}") for i, _ in enumerate(request.destination.recipients))))
    assert_not_looser(decide(POLICY, blank, now=NOW), decide(POLICY, distinct, now=NOW))


@budget(300)
@given(requests(AGREEMENTS), st.sampled_from([None, 0, POSTED + 10 * S, NOW]))
def test_a_missing_join_date_never_lifts_the_protection_of_a_converted_group(drawn, joined):
    request, adopted = drawn
    converted = adopt(request, adopted, converted_at=POSTED + 1 * S)
    unknown = dataclasses.replace(converted, actor=dataclasses.replace(converted.actor, joined_at=None))
    known = dataclasses.replace(converted, actor=dataclasses.replace(converted.actor, joined_at=joined))
    assert_not_looser(decide(POLICY, unknown, now=NOW), decide(POLICY, known, now=NOW))
    undated = with_item(unknown, posted_at=None)
    for posted in (POSTED, POSTED + 2 * S):
        assert_not_looser(decide(POLICY, undated, now=NOW), decide(POLICY, with_item(unknown, posted_at=posted), now=NOW))


SEGMENTED = st.sampled_from(PAIRS).map(lambda pair: (
    Adoption(pair[0], effective_from=0, segments=("Presentation",)),
    Adoption(pair[1], effective_from=0, segments=("discussion",)),
))


@budget(300)
@given(requests(AGREEMENTS), SEGMENTED,
       st.sampled_from(["presentation", "DISCUSSION", " discussion ", "dis\u0301cussion", "ｄiscus\u200bsion", "qa"]))
def test_segment_names_compare_without_case_and_an_unknown_segment_gets_every_segments_terms(drawn, adoptions, segment):
    request, _ = drawn
    request = adopt(request, adoptions)
    written = decide(POLICY, with_item(request, session=Session(segment=segment)), now=NOW)
    canonical = decide(POLICY, with_item(request, session=Session(segment="qa" if segment == "qa" else
                                                                  "presentation" if "present" in segment else "discussion")),
                       now=NOW)
    assert (written.decision, [i.outcome for i in written.items]) == (canonical.decision, [i.outcome for i in canonical.items])
    unknown = decide(POLICY, with_item(request, session=Session(segment="")), now=NOW)
    for known in ("presentation", "discussion"):
        assert_not_looser(unknown, decide(POLICY, with_item(request, session=Session(segment=known)), now=NOW), known)


# ---- 8. consent history ---------------------------------------------------------------------


@budget(400)
@given(requests(AGREEMENTS), st.sampled_from(["attribution", "share_outside", "share_beyond_label", "listing", "new_terms"]))
def test_a_withdrawal_ends_every_earlier_grant(drawn, scope):
    request, adopted = drawn
    request = adopt(request, adopted)
    item = request.items[0]
    others = tuple(c for c in item.consents if c.scope != scope)
    grants = (Consent(item.author.id, scope, granted_at=NOW - 300 * S), Consent(item.author.id, scope))
    withdrawn = with_item(request, consents=others + grants + (
        Consent(item.author.id, scope, granted_at=NOW - 200 * S, withdrawn_at=NOW - 100 * S),))
    never = with_item(request, consents=others)
    assert_not_looser(decide(POLICY, withdrawn, now=NOW), decide(POLICY, never, now=NOW), scope)
    # A record withdrawn "before" it was granted is a withdrawal, not a grant.
    odd = with_item(request, consents=others + (Consent(item.author.id, scope, granted_at=NOW - 5 * S,
                                                        withdrawn_at=NOW - 10 * S),))
    assert_not_looser(decide(POLICY, odd, now=NOW), decide(POLICY, never, now=NOW), scope)


@budget(300)
@given(requests(st.one_of(AGREEMENTS, st.sampled_from(["chatham-house", "ask-before-quoting", "tlp"]).map(lambda a: [a]))),
       st.sampled_from(["attribution", "share_outside", "share_beyond_label", "listing"]))
def test_a_consent_with_a_blank_id_matches_no_one(drawn, scope):
    request, adopted = drawn
    request = adopt(ordinary(request), adopted)
    anonymous = Person(id="", display_name="Someone", organization="Contoso")
    unknown = with_item(request, author=anonymous, consents=())
    blank = with_item(request, author=anonymous, consents=(Consent("", scope, granted_at=NOW - 50 * S),))
    assert_not_looser(decide(POLICY, blank, now=NOW), decide(POLICY, unknown, now=NOW))


# ---- 2, 9. several labels of one scheme ----------------------------------------------------

PARAMS = [{}, {"until": "2026-01-01T00:00:00Z"}, {"until": "2099-01-01T00:00:00Z"}, {"until": ""},
          {"descriptor": "an official"}, {"descriptor": "Li Chen of Northwind Bank"}]


@budget(500)
@given(requests(st.one_of(AGREEMENTS, including("press"), including("tlp"))), st.data())
def test_two_labels_of_one_scheme_are_at_least_as_strict_as_either_alone(drawn, data):
    request, adopted = drawn
    request = adopt(ordinary(request), adopted)
    scheme = data.draw(st.sampled_from(["embargo", "press"] if "press" in adopted else sorted(POLICY.label_schemes)))
    values = POLICY.label_schemes[scheme].order
    first, second = (Label(scheme, data.draw(st.sampled_from(values)), set_by=setter,
                           params=data.draw(st.sampled_from(PARAMS)))
                     for setter in ("", data.draw(st.sampled_from(["", "admin"]))))
    both = decide(POLICY, with_item(request, labels=(first, second)), now=NOW)
    # Beside the source's label, any other adds restrictions; two of the source's are each binding.
    for alone in (first, second) if second.set_by == "" else (first,):
        assert_not_looser(both, decide(POLICY, with_item(request, labels=(alone,)), now=NOW), (first, second))


# ---- 9. who set a label -----------------------------------------------------------------------


@budget(500)
@given(requests(st.one_of(AGREEMENTS, st.sampled_from(sorted(set(SCHEME_OWNER.values()))).map(lambda a: [a]))),
       st.sampled_from(sorted((scheme, value) for scheme, s in POLICY.label_schemes.items() for value in s.order)),
       st.sampled_from(["admin", "platform", "u1", "a moderator", "AUTHOR-ish"]))
def test_a_label_set_by_anyone_but_the_source_never_lifts_a_restriction(drawn, label, setter):
    request, adopted = drawn
    request = adopt(ordinary(request), adopted)
    item = request.items[0]
    scheme, value = label
    added = with_item(request, labels=item.labels + (Label(scheme, value, set_by=setter,
                                                            params={"until": "2099-01-01T00:00:00Z"}),))
    assert_not_looser(decide(POLICY, added, now=NOW), decide(POLICY, request, now=NOW), (scheme, value, setter))


# ---- 10. an owner's bulk export ----------------------------------------------------------------


@budget(300)
@given(requests(AGREEMENTS), st.sampled_from(["owner", "admin"]), st.sampled_from(DESTINATION_KINDS))
def test_an_owners_export_of_others_words_needs_a_legal_basis_wherever_it_goes(drawn, role, kind):
    request, adopted = drawn
    assume(kind != "same_group")
    request = adopt(request, adopted)
    export = dataclasses.replace(request, action="export", actor=dataclasses.replace(request.actor, role=role),
                                 destination=dataclasses.replace(request.destination, kind=kind),
                                 purpose=dataclasses.replace(request.purpose, legal_basis="none"))
    decision = decide(POLICY, export, now=NOW)
    for item, result in zip(export.items, decision.items):
        if item.author.id != export.actor.id:
            assert result.outcome == "excluded", (item.id, decision.reason)


# ---- 11. default labels and floors ---------------------------------------------------------------


@budget(400)
@given(requests(AGREEMENTS), st.sampled_from(["clear", "green", "amber", "amber+strict", "red"]),
       st.sampled_from(["clear", "green", "amber", "red"]))
def test_a_default_label_is_for_unlabelled_items_and_a_floor_for_every_item(drawn, default, own):
    request, adopted = drawn
    item = request.items[0]
    labelled = dataclasses.replace(request, items=tuple(
        dataclasses.replace(i, labels=(Label("tlp", own),)) for i in request.items))
    plain = adopt(labelled, [Adoption(a, effective_from=0) for a in adopted])
    defaulted = adopt(labelled, [Adoption(a, effective_from=0, default_labels={"tlp": default}) for a in adopted])
    same = (decide(POLICY, plain, now=NOW), decide(POLICY, defaulted, now=NOW))
    assert (same[0].decision, same[0].obligations) == (same[1].decision, same[1].obligations), item.id
    floored = adopt(labelled, [Adoption(a, effective_from=0, label_floors={"tlp": default}) for a in adopted])
    raised = POLICY.label_schemes["tlp"].stricter(default, own)
    at_floor = adopt(dataclasses.replace(request, items=tuple(
        dataclasses.replace(i, labels=(Label("tlp", raised),)) for i in request.items)), adopted)
    a, b = decide(POLICY, floored, now=NOW), decide(POLICY, at_floor, now=NOW)
    assert (a.decision, a.obligations) == (b.decision, b.obligations), (default, own, a.reason, b.reason)


# ---- 15. consent to new terms ------------------------------------------------------------------

CHANGE = POSTED + 100 * S
CHANGED_TERMS = st.sampled_from(ADOPTABLE).flatmap(lambda old: st.sampled_from(ADOPTABLE).filter(lambda new: new != old).map(
    lambda new: (Adoption(old, effective_from=0), Adoption(new, effective_from=CHANGE, replaces=(old,)))))


@budget(400)
@given(requests(st.just(())), CHANGED_TERMS, st.sampled_from([POSTED + 50 * S, CHANGE, NOW - 1 * S]))
def test_consent_to_new_terms_releases_only_what_the_author_may_waive_and_only_after_the_change(drawn, history, granted):
    request, _ = drawn
    request = with_item(adopt(request, history), posted_at=POSTED)
    item = request.items[0]
    without = with_item(request, consents=())
    consented = with_item(request, consents=(Consent(item.author.id, "new_terms", granted_at=granted),))
    released, strict = decide(POLICY, consented, now=NOW), decide(POLICY, without, now=NOW)
    if granted < CHANGE:
        assert_not_looser(released, strict, "a consent given before the change")
        return
    if request.destination.kind in ("public", "ai_tool", "third_party_service") or not request.destination.recipients:
        scoped = with_item(request, consents=(Consent(item.author.id, "new_terms", ("r9",), granted_at=granted),))
        assert_not_looser(decide(POLICY, scoped, now=NOW), strict, "a consent to new terms for recipients not there")
    # What the old terms owe other people survives: redactions of others' names, children, lists.
    others = {"redact_identifying_content", "redact_participant_identities"}
    if strict.decision != "deny" and released.decision != "deny":
        before, after = _protected(strict, others), _protected(released, others)
        assert before <= after, (before - after, released.reason)
    for finding in strict.findings:
        rule = _rule(finding)
        if finding.effect == "deny" and rule is not None and not rule.waivable_by_author and finding.item_id == item.id:
            assert released.decision == "deny" or released.items[0].outcome == "excluded", (finding.rule, released.reason)


def _protected(decision, types: set[str]) -> set[tuple]:
    """The spans and people the decision's redactions of `types` protect."""
    return ({(o.type, s.start, s.end) for o in decision.obligations if o.type in types for s in o.spans}
            | {(o.type, p) for o in decision.obligations if o.type in types for p in o.person_ids})


def _rule(finding):
    for version in POLICY.versions.get(finding.agreement, {}).values():
        for rules in version.index.values():
            for rule in rules:
                if rule.id == finding.rule and rule.version == finding.version:
                    return rule
    return None


# ---- 16. children's names ------------------------------------------------------------------------

CHILD = PEOPLE[3]


@budget(400)
@given(requests(AGREEMENTS), st.sampled_from(["Kim Young said so", "ask kim young at school", "KIM YOUNG"]))
def test_a_childs_name_never_leaves_the_group_whoever_wrote_it(drawn, text):
    request, adopted = drawn
    assume(request.destination.kind != "same_group")
    request = adopt(request, adopted)
    request = with_item(dataclasses.replace(request, quoted_text=text), text=text,
                        author=PEOPLE[0] if request.items[0].author.id == CHILD.id else request.items[0].author)
    decision = decide(POLICY, request, now=NOW)
    if decision.decision == "deny" or decision.items[0].outcome == "excluded":
        return
    start = text.lower().index("kim young")
    spans = [s for o in decision.obligations if o.type == "redact_identifying_content" and "i0" in o.item_ids
             for s in o.spans]
    assert any(s.start <= start and s.end >= start + len("kim young") for s in spans), decision.reason


@budget(200)
@given(requests(AGREEMENTS))
def test_a_child_on_a_list_is_never_named_outside_the_group(drawn):
    request, adopted = drawn
    assume(request.destination.kind != "same_group")
    request = with_item(adopt(request, adopted), kind="attendee_list", listed_people=(PEOPLE[0], CHILD),
                        consents=(Consent(CHILD.id, "listing", granted_at=NOW - 50 * S),))
    decision = decide(POLICY, request, now=NOW)
    if decision.decision == "deny" or decision.items[0].outcome == "excluded":
        return
    hidden = {p for o in decision.obligations if o.type == "redact_participant_identities" for p in o.person_ids}
    assert CHILD.id in hidden, decision.reason


@budget(300)
@given(requests(AGREEMENTS))
def test_a_person_any_record_marks_as_a_child_is_a_child_in_every_record(drawn):
    request, adopted = drawn
    request = adopt(request, adopted)
    author = PEOPLE[0]
    as_author = dataclasses.replace(with_item(request, author=dataclasses.replace(author, is_minor=True)),
                                    group=dataclasses.replace(request.group, participants=tuple(PEOPLE)))
    as_participant = dataclasses.replace(with_item(request, author=author), group=dataclasses.replace(
        request.group, participants=(dataclasses.replace(author, is_minor=True), *PEOPLE[1:])))
    first, second = decide(POLICY, as_author, now=NOW), decide(POLICY, as_participant, now=NOW)
    assert_not_looser(second, first, "the author's record says adult, the roster says child")
    assert_not_looser(first, second, "the roster says adult, the author's record says child")


# ---- 17, 18. the history of a group's terms -------------------------------------------------------

INSTANTS = [None, 0, POSTED - 100 * S, POSTED + 100 * S]


@st.composite
def histories(draw):
    """Adoption histories: the first often undated and soon replaced, one agreement often adopted twice at once."""
    adoptions = []
    first = draw(st.sampled_from(ADOPTABLE))
    if draw(st.booleans()):
        adoptions.append(Adoption(first))
        adoptions.append(Adoption(draw(st.sampled_from([a for a in ADOPTABLE if a != first])), effective_from=0,
                                  replaces=(first,)))
    if draw(st.booleans()):
        twice = draw(st.sampled_from(["tlp", *ADOPTABLE]))
        start = draw(st.sampled_from(INSTANTS))
        adoptions += [Adoption(twice, effective_from=start, default_labels={"tlp": "amber"}),
                      Adoption(twice, effective_from=start, default_labels={"tlp": "clear"})]
    for _ in range(draw(st.integers(0 if adoptions else 1, 3))):
        agreement = draw(st.sampled_from(ADOPTABLE))
        replaces = tuple(draw(st.lists(st.sampled_from(ADOPTABLE), max_size=1)))
        start = draw(st.sampled_from(INSTANTS))
        adoptions.append(Adoption(agreement, effective_from=start,
                                  replaces=tuple(r for r in replaces if r != agreement),
                                  default_labels=draw(st.sampled_from([{}, {"tlp": "amber"}, {"tlp": "clear"}]))))
    return tuple(adoptions)


@budget(400)
@given(requests(st.just(())), histories())
def test_an_undated_item_gets_the_strictest_terms_the_group_ever_had(drawn, history):
    request, _ = drawn
    request = adopt(ordinary(request), history)
    undated = decide(POLICY, with_item(request, posted_at=None), now=NOW)
    # Every instant from the first adoption on (before it the group had no terms of its own, §6.2.4).
    first = min(-math.inf if a.effective_from is None else a.effective_from for a in history)
    for instant in [i for i in INSTANTS[1:] + [-1 * S, NOW - 1 * S] if i >= first]:
        dated = decide(POLICY, with_item(request, posted_at=instant), now=NOW)
        assert_not_looser(undated, dated, (instant, history))


@budget(400)
@given(requests(st.just(())), histories())
def test_the_order_of_adoptions_never_matters(drawn, history):
    request = ordinary(drawn[0])
    forward = decide(POLICY, adopt(request, history), now=NOW)
    backward = decide(POLICY, adopt(request, tuple(reversed(history))), now=NOW)
    assert forward.decision == backward.decision, (forward.reason, backward.reason)
    assert [i.outcome for i in forward.items] == [i.outcome for i in backward.items]
    assert sorted(o.type for o in forward.obligations) == sorted(o.type for o in backward.obligations)


# ---- 20. a central binding is a floor --------------------------------------------------------------


@budget(400)
@given(requests(AGREEMENTS))
def test_a_requests_adoptions_never_loosen_the_groups_binding(drawn):
    request, adopted = drawn
    bound = dataclasses.replace(request, group=dataclasses.replace(request.group, id="g-bound-example", adoptions=()))
    alone = decide(POLICY, bound, now=NOW)
    stacked = decide(POLICY, adopt(bound, [Adoption(a, replaces=("chatham-house",) if a != "chatham-house" else ())
                                           for a in adopted]), now=NOW)
    for item in bound.items:
        if rule_denied(alone, item.id, agreement="chatham-house"):
            assert rule_denied(stacked, item.id), (item.id, stacked.reason)
    if alone.decision != "deny" and stacked.decision != "deny":
        kept = {i.item_id for i in stacked.items if i.outcome != "excluded"}
        owed = {(o.type, i) for o in alone.obligations for i in o.item_ids if i in kept and o.type != "exclude_items"}
        assert owed <= {(o.type, i) for o in stacked.obligations for i in o.item_ids}, stacked.reason


# ---- a destination the public can reach is the public ------------------------------------


@budget(400)
@given(requests(AGREEMENTS), st.sampled_from([k for k in DESTINATION_KINDS if k != "public"]))
def test_a_publicly_accessible_destination_is_never_looser_than_the_public(drawn, kind):
    request, adopted = drawn
    request = adopt(request, adopted)
    reachable = dataclasses.replace(request, destination=dataclasses.replace(
        request.destination, kind=kind, publicly_accessible=True))
    public = dataclasses.replace(request, destination=dataclasses.replace(
        request.destination, kind="public", publicly_accessible=True))
    assert_not_looser(decide(POLICY, reachable, now=NOW), decide(POLICY, public, now=NOW), kind)


@budget(300)
@given(requests(AGREEMENTS), st.sampled_from(["author", "listed"]), st.sampled_from(["share", "quote", "export"]))
def test_a_child_one_item_names_is_protected_in_every_other_items_words(drawn, record, action):
    """The roster may leave the child out: naming them as one item's author or on its list is enough."""
    request, adopted = drawn
    assume(request.destination.kind != "same_group")
    child = dataclasses.replace(CHILD, id="u-child", organization="")
    grown_ups = tuple(p for p in request.group.participants if not p.is_minor)
    request = dataclasses.replace(adopt(request, adopted), action=action, quoted_text="",
                                  group=dataclasses.replace(request.group, participants=grown_ups,
                                                            adoptions=adopt(request, adopted).group.adoptions))
    first = request.items[0]
    first = (dataclasses.replace(first, author=child) if record == "author" else
             dataclasses.replace(first, kind="attendee_list", listed_people=(child,)))
    other = Item("other", author=PEOPLE[1], posted_at=POSTED, text="Kim Young was there")
    request = dataclasses.replace(request, items=(first, other))
    decision = decide(POLICY, request, now=NOW)
    if decision.decision == "deny" or decision.items[1].outcome == "excluded":
        return
    spans = [s for o in decision.obligations if o.type == "redact_identifying_content" for s in o.spans
             if s.item_id == "other"]
    assert any(s.start == 0 and s.end >= len("Kim Young") for s in spans), decision.reason
