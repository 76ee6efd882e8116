"""The obligation vocabulary (domain notes §7.4): one small builder per type, in one table.

A builder turns a rule's obligation into a concrete Obligation for one item,
or returns None when the request would not do what the obligation guards
against: "an obligation is owed only for what the request would actually do"
(no identity named → no `redact_author_identity`). Parameters arrive as
compiled getters `(scope) -> value`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from .consent import holds
from .identify import FLAG, IGNORE, JUDGEMENTS, Matcher, in_unit, judgement
from .model import Obligation, Person, Span
from .scope import Scope, once_per_request

Params = dict[str, Callable[[Scope], object]]


class UnreadableFact(Exception):
    """A fact an obligation needs is missing or unreadable: the rule fails closed (the item is denied)."""


# Obligations no request can meet together: one names the author, the other
# forbids it. When rules of the agreements in force demand both for one item
# the item is denied, naming both rules (README: "Obligations that conflict").
CONFLICTS: tuple[tuple[str, str], ...] = (
    ("add_attribution", "redact_author_identity"),
    ("add_attribution", "use_agreed_descriptor"),
    ("add_attribution", "redact_descriptor"),
    ("use_agreed_descriptor", "redact_descriptor"),
)


@dataclass(frozen=True, slots=True)
class ObligationType:
    name: str
    build: Callable[[Scope, Params], Obligation | None]
    # Parameter name -> "text" | "instant" | "consent_scope"; the first is the
    # one a scalar sets (`add_notice: chatham_house_rule`).
    params: tuple[tuple[str, str], ...] = ()
    required: tuple[str, ...] = ()
    # Values the compiler gives parameters a rule leaves out.
    defaults: tuple[tuple[str, str], ...] = ()
    # Parameters that take one of a few literal values, and those values.
    choices: tuple[tuple[str, tuple[str, ...]], ...] = ()
    # Consent scopes the builder reads by itself, beside those its parameters name.
    consent_scopes: tuple[str, ...] = ()
    # True when fulfilling it changes what is published (the item is "redacted").
    redacts: bool = False


def _exports_authorship(scope: Scope) -> bool:
    # An export carries who said what, and so does what a service acting for
    # the group is handed (the posts with their metadata); a person's share or
    # quote carries what the request's attribution says it will.
    return scope.action == "export" or scope.actor.kind == "service"


def _for_item(evaluated: Scope, name: str, **fields) -> Obligation:
    # Not called `scope`: an Obligation has a `scope` field of its own.
    return Obligation(name, item_ids=(evaluated.item.id,), **fields)


def _author(scope: Scope) -> tuple[str, ...]:
    author = scope.item.author.id
    return (author,) if author else ()


def _redact_identity(scope: Scope, params: Params):
    if _exports_authorship(scope) or scope.attribution.author_identity:
        return _for_item(scope, "redact_author_identity", person_ids=_author(scope))
    return None


def _redact_affiliation(scope: Scope, params: Params):
    if _exports_authorship(scope) or scope.attribution.affiliation:
        return _for_item(scope, "redact_author_affiliation", person_ids=_author(scope))
    return None


def _redact_descriptor(scope: Scope, params: Params):
    if scope.attribution.descriptor:
        return _for_item(scope, "redact_descriptor", person_ids=_author(scope))
    return None


def _use_agreed_descriptor(scope: Scope, params: Params):
    descriptor = str(params["descriptor"](scope) or "")
    attribution = scope.attribution
    if not attribution.author_identity and attribution.descriptor in ("", descriptor):
        return None  # no name, and no descriptor other than the agreed one
    return _for_item(scope, "use_agreed_descriptor", descriptor=descriptor)


# A speaker who consented to attribution may be named in what is quoted.
_NAMED = "attribution"


def _people_in_scope(scope: Scope) -> tuple[Person, ...]:
    """Everyone the request knows by name: the roster, and every item's author and listed people.

    Every item's, not only this one's: a text shared or exported beside
    another item may name that item's author, or a child on another's list.
    The same people, in the same order, for every item of a request, so the
    roster's matcher is built once per request and not once per item (an
    export of 1,000 items by 1,000 authors rebuilt a 10,000-person roster
    for each); who may be named is said by `excused`, never by leaving
    people out.
    """
    request = scope.request
    return once_per_request(scope, "everyone", lambda: (
        *request.group.participants,
        *(person for item in request.items for person in (item.author, *item.listed_people))))


# `people: minors` limits a redaction to the children among the people, whom
# no consent recorded here releases (a child's consent needs a parent's, §4.5).
# `people: author` to the item's author, for who must not learn who wrote it
# (a service acting for the group, §4.1): no consent to be named releases it.
PEOPLE = ("everyone", "minors", "author")


def _people_mode(scope: Scope, params: Params) -> str:
    return str(params["people"](scope)) if "people" in params else "everyone"


def _minors_only(scope: Scope, params: Params) -> bool:
    return _people_mode(scope, params) == "minors"


def _is_actor(scope: Scope, person: Person) -> bool:
    """Whether `person` is the one acting, who may give their own name; a blank id is nobody's."""
    return bool(person.id) and person.id == scope.acting_person


def _words(scope: Scope):
    """(field, item id, text) of each field whose words reach the destination (see the proto's Span).

    The request's `quoted_text` is the text as published. A share or an export
    sends the item itself; a quote sends `quoted_text`, or, when the caller did
    not give it, possibly any of the item, so the item's text is read instead.
    The descriptor the attribution uses is published beside the words.
    """
    request = scope.request
    quoted = request.quoted_text
    if quoted:
        yield "quoted_text", "", quoted
    if scope.item.text and not (quoted and scope.action == "quote"):
        yield "items.text", scope.item.id, scope.item.text
    descriptor = request.attribution.descriptor
    if descriptor:
        yield "attribution.descriptor", "", descriptor


def _counts(scope: Scope, params: Params) -> int:
    return judgement(**{name: params[name](scope) for name in JUDGEMENTS if name in params})


def _redact_identifying_content(scope: Scope, params: Params):
    people = _people_in_scope(scope)
    actor = scope.acting_person
    mode = _people_mode(scope, params)
    excused = (actor,) if actor else ()
    if mode == "minors":
        # Not even a child may name a child, themselves included: it is not theirs to waive.
        matcher = once_per_request(scope, "minors", lambda: Matcher(p for p in people if p.is_minor))
        excused = ()
    elif mode == "author":
        matcher = Matcher((scope.item.author,))
    else:
        matcher = once_per_request(scope, "everyone's matcher", lambda: Matcher(people))
        # A speaker who consented to attribution may be named.
        author = scope.item.author.id
        if author and author != scope.acting_person and holds(scope, author, _NAMED):
            excused = (*excused, author)
    counts = _counts(scope, params)
    unit = scope.request.span_unit
    spans: list[Span] = []
    for field, item_id, text in _words(scope):
        # The actor may name themselves, and a consenting author be named.
        if mode == "author":
            spans.extend(_placed(matcher, text, field, item_id, excused, counts, unit))
        else:
            # Once per decision for each text, not for each item (a quote) nor each reading of an
            # item's labels and audiences (its own text): the same spans, one tuple, held once.
            whose = id(scope.item) if field == "items.text" else None  # the request holds the item: ids stay unique
            spans.extend(once_per_request(scope, (field, whose, mode, excused, counts), lambda: _placed(
                matcher, text, field, item_id, excused, counts, unit)))
    return _for_item(scope, "redact_identifying_content", spans=tuple(spans)) if spans else None


def _placed(matcher: Matcher, text: str, field: str, item_id: str, excused: tuple[str, ...], counts: int,
            unit: str) -> tuple[Span, ...]:
    """The spans of `text` naming someone, in the field they were found in and the caller's unit.

    Past `_MOST_SPANS` (and one for every 50 characters) the whole text is
    one span, the restrictive reading: a text naming people that often is
    not made safe by cutting it into thousands of pieces, and a quote of
    `a a a …` beside a thousand items once held a gigabyte of them.
    """
    found = matcher.spans(text, excused=excused, counts=counts)
    if not found:
        return ()
    if len(found) > _MOST_SPANS + len(text) // 50:
        found = (Span(0, len(text), found[0].reveals),)
    return in_unit(text, tuple(Span(s.start, s.end, s.reveals, field, item_id) for s in found), unit)


_MOST_SPANS = 256


def _redact_participant_identities(scope: Scope, params: Params):
    kind = str(params["scope"](scope))
    if _minors_only(scope, params):
        hidden = [p for p in scope.item.listed_people if p.is_minor]
    else:
        hidden = [p for p in scope.item.listed_people if not _is_actor(scope, p) and not holds(scope, p.id, kind)]
    if not hidden:
        return None
    return _for_item(scope, "redact_participant_identities",
                     person_ids=tuple(p.id for p in hidden), names=tuple(p.display_name for p in hidden))


def _exclude_items(scope: Scope, params: Params):
    return _for_item(scope, "exclude_items")


def _encrypt_in_transit(scope: Scope, params: Params):
    # Owed on every copy: no request says how its copy will travel.
    return _for_item(scope, "encrypt_in_transit")


def _require_author_consent(scope: Scope, params: Params):
    if not scope.item.author.id:
        raise UnreadableFact("the item's author has no id, so nobody can be asked for consent")
    return _for_item(scope, "require_author_consent", person_ids=_author(scope),
                     scope=str(params["scope"](scope)))


def _until(scope: Scope, params: Params):
    """The instant a rule names (an embargo's end). Named but not given reads as never lifting: fail closed."""
    until = params["until"](scope)
    if until is None:
        raise UnreadableFact("the time `until` is missing or empty, so it cannot be known to have passed")
    return until


def _hold_until(scope: Scope, params: Params):
    until = _until(scope, params)
    if until <= scope.requested_at:
        return None  # the embargo has lifted
    return _for_item(scope, "hold_until", until=until)


def _preserve_label(scope: Scope, params: Params):
    scheme = str(params["scheme"](scope))
    value = scope.label.get(scheme)
    if not value:
        return None
    return _for_item(scope, "preserve_label", label=f"{scheme}:{value}".upper())


def _add_notice(scope: Scope, params: Params):
    until = _until(scope, params) if "until" in params else None
    if until is not None and until <= scope.requested_at:
        return None  # a notice of an embargo that has lifted says nothing
    return _for_item(scope, "add_notice", notice=str(params["notice"](scope)), until=until)


def _add_attribution(scope: Scope, params: Params):
    if scope.attribution.author_identity and scope.attribution.link:
        return None  # the request already attributes, with the link
    return _for_item(scope, "add_attribution", person_ids=_author(scope), link=scope.item.link)


def _notify_affected_members(scope: Scope, params: Params):
    if scope.purpose.notification_prohibited:
        return None
    return _for_item(scope, "notify_affected_members", person_ids=_author(scope))


OBLIGATION_TYPES: dict[str, ObligationType] = {
    t.name: t
    for t in (
        ObligationType("redact_author_identity", _redact_identity, redacts=True),
        ObligationType("redact_author_affiliation", _redact_affiliation, redacts=True),
        ObligationType("redact_descriptor", _redact_descriptor, redacts=True),
        ObligationType("use_agreed_descriptor", _use_agreed_descriptor, (("descriptor", "text"),),
                       ("descriptor",), redacts=True),
        ObligationType("redact_identifying_content", _redact_identifying_content,
                       (("people", "text"), *((name, "text") for name in JUDGEMENTS)),
                       choices=(("people", PEOPLE), *((name, (FLAG, IGNORE)) for name in JUDGEMENTS)),
                       redacts=True, consent_scopes=(_NAMED,)),
        ObligationType("redact_participant_identities", _redact_participant_identities,
                       (("scope", "consent_scope"), ("people", "text")), defaults=(("scope", "listing"),),
                       choices=(("people", PEOPLE),), redacts=True),
        ObligationType("exclude_items", _exclude_items),
        ObligationType("encrypt_in_transit", _encrypt_in_transit),
        ObligationType("require_author_consent", _require_author_consent, (("scope", "consent_scope"),), ("scope",)),
        ObligationType("hold_until", _hold_until, (("until", "instant"),), ("until",)),
        ObligationType("preserve_label", _preserve_label, (("scheme", "text"),), ("scheme",)),
        ObligationType("add_notice", _add_notice, (("notice", "text"), ("until", "instant")), ("notice",)),
        ObligationType("add_attribution", _add_attribution),
        ObligationType("notify_affected_members", _notify_affected_members),
    )
}
