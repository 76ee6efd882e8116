"""decide(): one request, one decision. Pure: the clock and the tracer are parameters.

The order (domain notes §9): check the request (unknown action, destination or
group → deny); for each item resolve the governing versions (when posted and
now — the stricter wins, §6); compute its effective labels; let the author
release their own item (§7.2); evaluate the rules indexed for the action and
destination; fail closed on any error; then combine — atomically for share
and quote, item by item for export (§7.1).
"""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Callable, Iterable

from . import community, consent, deadline
from .build import entry_texts, traced_condition
from .compiled import CompiledPolicy, CompiledRule, CompiledVersion, scheme_key
from .model import (
    ACTIONS, AUTHORED_KINDS, DESTINATION_KINDS, NEW_TERMS_CONSENT, SOURCE_SETTERS, Decision, Destination, Finding,
    Instant, Item, ItemResult, Obligation, Person, Request,
)
from .identify import merge_spans
from .obligations import CONFLICTS, OBLIGATION_TYPES, UnreadableFact
from .scope import Scope
from .terms import Governing, Refusal, Terms, segment_key, terms_for
from .trace import (
    Decided, EntryOutcome, Event, FailedClosed, Fired, Governed, ItemDecided, ItemDenied, JudgedAsPublic, LabelCarried,
    NotApplicable, Reading, Refused, Released, RuleRef, explanation_lines,
)

Tracer = list[Event]

_ACTIONS = frozenset(ACTIONS)
_KINDS = frozenset(DESTINATION_KINDS)
_REDACTING = frozenset(name for name, kind in OBLIGATION_TYPES.items() if kind.redacts)

DENY, ALLOW, OBLIGE, REQUIRE = "deny", "allow", "allow_with_obligations", "require"
# Denies unless a rule of the same agreement version allowed the item: how an
# agreement says "only these audiences" without repeating them (TLP).
FALLBACK = "deny_unless_allowed"


class _Outcome:
    """What the rules of one version set said about one item."""

    __slots__ = ("denied", "obligations", "findings", "demands")

    def __init__(self):
        self.denied = False
        self.obligations: list[Obligation] = []
        self.findings: list[Finding] = []
        # (rule, obligation type, value) for every obligation a firing rule
        # demands, owed by this request or not: conflicts are between demands
        # (§7.4). The value is the descriptor of `use_agreed_descriptor`.
        self.demands: list[tuple[CompiledRule, str, str]] = []


def decide(policy: CompiledPolicy, request: Request, *, now: Instant, tracer: Tracer | None = None,
           abandoned: Callable[[], bool] | None = None) -> Decision:
    """The decision on `request` at `now`; raises `deadline.Abandoned` once `abandoned()` says the caller left."""
    if abandoned is None:
        return _decide(policy, request, now, tracer)
    with deadline.watching(abandoned):
        return _decide(policy, request, now, tracer)


def _decide(policy: CompiledPolicy, request: Request, now: Instant, tracer: Tracer | None) -> Decision:
    requested_at = request.requested_at if request.requested_at is not None else now
    refusal = _check_request(policy, request)
    if refusal is not None:
        return _refuse(policy, request, *refusal, tracer=tracer)
    # The group's central binding is the floor; the request's adoptions stack on it.
    terms = terms_for(policy, policy.bindings.get(request.group.id, ()), request.group.adoptions)
    if isinstance(terms, Refusal):
        return _refuse(policy, request, *terms, tracer=tracer)
    received = request.items
    request = _minors_everywhere(_undated_when_later(_service_as_itself(_community_labels(request, requested_at)), requested_at))
    audiences = _audiences(request)
    if len(audiences) > 1 and tracer is not None:
        tracer.append(JudgedAsPublic(request.destination.kind))
    results: list[tuple[Item, _Outcome, tuple[str, ...]]] = []
    memo: dict = {}  # what every item of this decision shares (scope.once_per_request)
    for item, as_received in zip(request.items, received):
        deadline.check()
        outcome = _Outcome()
        governed_by = _decide_item(policy, terms, audiences, item, requested_at, outcome, tracer, memo)
        _state_labels_as_received(policy, as_received, outcome)
        if tracer is not None:
            owes = () if outcome.denied else tuple(sorted({o.type for o in outcome.obligations}))
            tracer.append(ItemDecided(item.id, outcome.denied, owes))
        results.append((item, outcome, governed_by))
    if request.action == "export":
        decision = _combine_export(policy, results)
    else:
        decision = _combine_atomic(policy, results)
    if tracer is not None:
        tracer.append(Decided(decision.decision))
        return _with_explanation(decision, tracer)
    return decision


def _audiences(request: Request) -> tuple[Request, ...]:
    """The request as asked and, when the public can reach its destination, as a publication.

    A destination anyone can read (a community portal, a shared drive, a
    group that is public) is the public, whatever else it is: the item is
    judged both ways and the stricter holds, so no kind lets the public in
    by another name.
    """
    destination = request.destination
    if destination.publicly_accessible and destination.kind != "public":
        return request, replace(request, destination=replace(destination, kind="public"))
    return (request,)


def _community_labels(request: Request, requested_at: Instant) -> Request:
    """Labels in a sharing community's form (MISP tags, STIX markings) as the schemes read them (community.py)."""
    if not any(community.form_of(label) for item in request.items for label in item.labels):
        return request
    return replace(request, items=tuple(replace(i, labels=community.read_labels(i.labels, requested_at))
                                        for i in request.items))


def _state_labels_as_received(policy: CompiledPolicy, item: Item, outcome: _Outcome) -> None:
    """An obligation to state an item's label states it in the form the item's label came in: the MISP tag or
    STIX marking a caller sent, which is what it carries on the copy."""
    for index, obligation in enumerate(outcome.obligations):
        if obligation.type != "preserve_label":
            continue
        name, _, value = obligation.label.lower().partition(":")
        scheme = policy.label_schemes.get(name)
        if scheme is None:
            continue
        written = community.received_form(item.labels, name, value, scheme.normalize)
        if written is not None:
            outcome.obligations[index] = replace(obligation, label=written)


def _service_as_itself(request: Request) -> Request:
    """A service acting for the group holds no role and no organization of its own (§4.1).

    Whatever it was given: a bot claiming an owner's role would export what
    the owner in person may not, and one claiming a peer's organization would
    carry TLP:AMBER+STRICT to that peer. (The server refuses both, naming the
    field; this holds for every other caller of the engine.)
    """
    actor = request.actor
    if actor.kind != "service" or (actor.role == "member" and not actor.organization):
        return request
    return replace(request, actor=replace(actor, role="member", organization=""))


def _undated_when_later(request: Request, requested_at: Instant) -> Request:
    """An item said to be posted after the request is of unknown date, for the terms and every rule alike."""
    if all(i.posted_at is None or i.posted_at <= requested_at for i in request.items):
        return request
    items = tuple(replace(i, posted_at=None) if i.posted_at is not None and i.posted_at > requested_at else i
                  for i in request.items)
    return replace(request, items=items)


def _minors_everywhere(request: Request) -> Request:
    """A person any record of the request marks as a minor is a minor in every record of them.

    The author, a participant and a listed person are separate records of one
    person; when they disagree the stricter holds (§4.5).
    """
    minors = {p.id for p in request.group.participants if p.is_minor and p.id}
    children = [p for item in request.items for p in (item.author, *item.listed_people) if p.is_minor]
    minors.update(p.id for p in children if p.id)
    if not minors and not children:
        return request

    def person(p: Person) -> Person:
        return replace(p, is_minor=True) if p.id in minors and not p.is_minor else p

    items = tuple(replace(i, author=person(i.author), listed_people=tuple(map(person, i.listed_people)))
                  for i in request.items)
    # The roster holds every child the request names, so that a child who
    # wrote one item, or is on one item's list, is protected in every other
    # item's words too (`platform-baseline`'s minors-not-named reads it).
    rostered = {p.id for p in request.group.participants if p.id}
    added = []
    for child in children:
        if (child.id and child.id in rostered) or child in added:
            continue
        added.append(child)
        rostered.add(child.id)
    group = replace(request.group, participants=(*map(person, request.group.participants), *added))
    return replace(request, items=items, group=group)


def _decide_item(policy: CompiledPolicy, terms: Terms, audiences: tuple[Request, ...], item: Item,
                 requested_at: Instant, outcome: _Outcome, tracer: Tracer | None, memo: dict) -> tuple[str, ...]:
    """Evaluate one item under every set of terms, labelling and audience that may apply; the stricter holds."""
    # A release by consent is read for the widest audience: one naming recipients never reaches the public.
    sets = _governing_sets(terms, item, requested_at, audiences[-1].destination)
    governed_by = tuple(dict.fromkeys(key for governing, _ in sets for key in governing.keys))
    if tracer is not None:
        tracer.append(Governed(item.id, governed_by))
    schemes = policy.label_schemes
    readings = [(governing, released, _labellings(governing, schemes, item)) for governing, released in sets]
    count = sum(len(labellings) for _, _, labellings in readings) * len(audiences)
    if count > MAX_READINGS:
        _refuse_too_many_readings(item, count, outcome, tracer)
        return governed_by
    for governing, released, labellings in readings:
        if released and tracer is not None:
            tracer.append(Released(item.id, tuple(governing.keys)))
        for labels, params in labellings:
            for asked in audiences:
                _evaluate(policy, governing, labels, params, asked, item, requested_at, released, outcome, tracer,
                          memo)
    _refuse_uninterpreted_labels(schemes, item, outcome, tracer)
    _settle(item, outcome, schemes, tracer)
    _refuse_conflicts(item, outcome, tracer)
    return governed_by


# An item is judged under each set of terms and each reading of its labels
# that may apply; past this many the request is refused rather than slow.
MAX_READINGS = 64


def _refuse_too_many_readings(item: Item, count: int, outcome: _Outcome, tracer: Tracer | None) -> None:
    _deny_item(item, outcome, tracer, "too_many_readings",
               f"item `{item.id}` could be read {count} ways (sets of terms times readings of its labels), more "
               f"than the {MAX_READINGS} that are judged; it stays in the group")


def _deny_item(item: Item, outcome: _Outcome, tracer: Tracer | None, code: str, message: str,
               rule: CompiledRule | None = None, trace: str = "") -> None:
    """Deny the item with a finding the engine itself (or `rule`) reports; `trace` says it shorter."""
    outcome.denied = True
    where = (rule.agreement, rule.version, rule.id) if rule is not None else ("", 0, "")
    outcome.findings.append(Finding(*where, item.id, DENY, code, message))
    if tracer is not None:
        tracer.append(ItemDenied(item.id, code, trace or message, _ref(rule) if rule is not None else None))


def _settle(item: Item, outcome: _Outcome, schemes, tracer: Tracer | None) -> None:
    """Labels to state that several readings owe: the strictest of each scheme.

    A caller stating TLP:AMBER where TLP:RED also applies would invite passing
    it on. (Two different agreed descriptors are a conflict: _refuse_conflicts.)
    """
    stated = [o for o in outcome.obligations if o.type == "preserve_label"]
    if len(stated) > 1:
        strictest: dict[str, tuple[Obligation, str]] = {}
        for o in stated:
            name, _, value = o.label.lower().partition(":")
            scheme, held = schemes.get(name), strictest.get(name)
            if held is None or (scheme and value in scheme.order and held[1] in scheme.order
                                and scheme.stricter(value, held[1]) != held[1]):
                strictest[name] = (o, value)
        keep = {id(o) for o, _ in strictest.values()}
        outcome.obligations = [o for o in outcome.obligations if o.type != "preserve_label" or id(o) in keep]


# ---- the request ------------------------------------------------------------


def _check_request(policy: CompiledPolicy, request: Request) -> tuple[str, str, str] | None:
    """(reason code, field, message) when the policy cannot know what is asked; deny, never guess."""
    if request.action not in _ACTIONS:
        return "unknown_action", "action", f"the action `{request.action or 'unspecified'}` is not one the policy knows"
    if request.destination.kind not in _KINDS:
        return ("unknown_destination", "destination.kind",
                f"the destination kind `{request.destination.kind or 'unspecified'}` is not one the policy knows")
    if not request.group.adoptions and request.group.id not in policy.bindings:
        return ("unknown_group", "group.adoptions",
                f"group `{request.group.id}` carries no adoptions and has no binding, so its agreement is unknown")
    return None  # the adoptions themselves are checked with the terms they resolve to (terms_for)


def _refuse(policy: CompiledPolicy, request: Request, code: str, field: str, message: str,
            *, tracer: Tracer | None) -> Decision:
    reason = f"denied: {message} (field `{field}`)"
    finding = Finding("", 0, "", "", DENY, code, reason)
    items = tuple(ItemResult(item.id, "excluded", DENY, ()) for item in request.items)
    decision = Decision(DENY, (), items, (finding,), reason, policy.revision)
    if tracer is not None:
        tracer.append(Refused(code, field, message))
        return _with_explanation(decision, tracer)
    return decision


def _governing_sets(terms: Terms, item: Item, requested_at: Instant,
                    destination: Destination) -> list[tuple[Governing, bool]]:
    """The terms in force when the item was posted and now; the stricter outcome wins (§6.2).

    Each set comes with whether the author released it: an author who consented
    to the new terms after they changed lets them govern an older item, but
    only as far as the author may waive; what the old terms owe other people
    (participants named, children, lists) still holds.
    """
    segment = segment_key(item.session.segment)
    # A meeting segment not given may be any: each segment's terms, and those of none.
    segments = (segment,) if segment or not terms.segments else ("", *terms.segments)
    # Unknown date: every set of terms the group ever had, the first included (§6.2.4).
    undated = item.posted_at is None
    sets: list[tuple[Governing, bool]] = []
    for name in segments:
        current = terms.at(requested_at, name)
        posted = terms.ever(name) if undated else [terms.at(item.posted_at, name)]
        sets.append((current, False))
        sets.extend((g, None) for g in posted if not g.same_terms(current))
    if len(sets) == len(segments):
        return sets  # the same terms then and now: nothing for a consent to release
    released = _released(terms, item, requested_at, destination)
    return [(g, released if flag is None else flag) for g, flag in sets]


def _released(terms: Terms, item: Item, requested_at: Instant, destination: Destination) -> bool:
    """Whether the author consented to the new terms after they changed, for this destination."""
    changed = terms.last_change(-math.inf if item.posted_at is None else item.posted_at, requested_at)
    return (item.kind in AUTHORED_KINDS and changed is not None
            and consent.granted_since(item.consents, item.author.id, NEW_TERMS_CONSENT, changed, requested_at,
                                      destination))


# ---- one item under one set of versions ---------------------------------------


def _labellings(governing: Governing, schemes, item: Item) -> list[tuple[dict[str, str], dict[str, dict]]]:
    """Every reading of the item's labels, each as the label per scheme and the parameters of the label that set it.

    The first is the source's labelling (§7.1): per scheme the most
    restrictive of the source's labels (and those of setters the scheme names
    in `relabel_by`); a scheme the source left unlabelled takes the governing
    default; floors raise it. Then one reading per other label the item
    carries — another value, or the same value with other parameters (a later
    embargo, another descriptor), from any setter — in place of the chosen one.
    The item is judged under each and the stricter outcome holds, so a label
    adds restrictions and lifts none, whoever set it, and no order of a scheme
    is trusted to say which of two readings is the stricter one (TLP:RED lets
    the original exchange hear what AMBER keeps to the organization). Under an
    agreement whose authors may not restrict after speaking, the source's later
    labels of that agreement's own schemes are ignored (press, §3.1).
    """
    if not item.labels and not governing.default_labels and not governing.label_floors:
        return _UNLABELLED
    source: dict[str, tuple[str, dict]] = {}
    readings: list[tuple[str, str, dict]] = []
    for label in item.labels:
        name = scheme_key(label.scheme)
        scheme = schemes.get(name)
        if scheme is None:
            continue  # no order to read it by: refused outside the group (_refuse_uninterpreted_labels)
        setter = label.set_by.strip().lower()
        by_source = setter in SOURCE_SETTERS
        if by_source and name in governing.frozen and _set_after_posting(label.set_at, item.posted_at):
            continue
        value = scheme.normalize(label.value)
        readings.append((name, value, label.params))
        if (by_source or setter in scheme.relabel_by) and (
                name not in source or scheme.stricter(value, source[name][0]) != source[name][0]):
            source[name] = (value, label.params)
    labels = {name: value for name, value in governing.default_labels.items() if name not in source}
    params: dict[str, dict] = {}
    for name, (value, label_params) in source.items():
        labels[name], params[name] = value, label_params
    floors = governing.label_floors
    for name, floor in floors.items():
        if name not in labels or schemes[name].stricter(floor, labels[name]) != labels[name]:
            labels[name], params[name] = floor, {}
    result = [(labels, params)]
    seen = {(name, labels[name], _frozen(params.get(name, {}))) for name in labels}
    for name, value, label_params in readings:
        if name in floors and schemes[name].stricter(floors[name], value) != value:
            value, label_params = floors[name], {}
        key = (name, value, _frozen(label_params))
        if key in seen:
            continue
        seen.add(key)
        result.append(({**labels, name: value}, {**params, name: label_params}))
    return result


# Read only: rules never change the labels they are given.
_UNLABELLED: list[tuple[dict[str, str], dict[str, dict]]] = [({}, {})]


def _frozen(params: dict) -> tuple:
    return tuple(sorted(params.items())) if params else ()


def _set_after_posting(set_at: Instant | None, posted_at: Instant | None) -> bool:
    return set_at is not None and posted_at is not None and set_at > posted_at


def _interpreters(policy: CompiledPolicy, governing: Governing, labels: dict[str, str],
                  requested_at: Instant) -> list[tuple[CompiledVersion, frozenset[str]]]:
    """The versions that judge labels of schemes no governing agreement defines: a label carries its terms.

    Every version of the defining agreement published by the time of the
    request, since no adoption says which one the group follows.
    """
    adopted = {v.agreement for v in governing.versions}
    carried: dict[str, set[str]] = {}
    for name in labels:
        agreement = policy.label_schemes[name].agreement
        if agreement not in adopted:
            carried.setdefault(agreement, set()).add(name)
    return [
        (version, frozenset(names))
        for agreement, names in carried.items()
        for version in policy.versions[agreement].values()
        if version.published_at is None or version.published_at <= requested_at
    ]


def _evaluate(policy: CompiledPolicy, governing: Governing, labels: dict[str, str], label_params: dict[str, dict],
              request: Request, item: Item, requested_at: Instant, released: bool,
              outcome: _Outcome, tracer: Tracer | None, memo: dict) -> None:
    scope = Scope(request, item, requested_at, labels, label_params, memo)
    if tracer is not None:
        tracer.append(Reading(item.id, tuple(sorted(labels.items())), request.destination.kind))
    key = (request.action, request.destination.kind)
    # The author may release their own item (§7.2), if its words are theirs alone.
    waiver = released or (scope.actor_is_author and item.kind in AUTHORED_KINDS)
    permitted = waiver
    versions = [(version, None) for version in governing.versions]
    if labels:
        versions += _interpreters(policy, governing, labels, requested_at)
    for version, carried in versions:
        permitted_here = False
        if carried is not None and tracer is not None:
            tracer.append(LabelCarried(item.id, version.key, tuple(sorted(carried))))
        for rule in version.index.get(key, ()):  # fallback rules come last
            if carried is not None and not (rule.schemes & carried):
                continue
            if waiver and rule.waivable_by_author:
                continue
            if permitted_here and rule.effect == FALLBACK:
                continue  # this agreement allowed the item: its "otherwise deny" does not apply
            try:
                holds = rule.condition(scope) if tracer is None else _traced(rule, scope, tracer)
            except Exception as error:  # noqa: BLE001 — any failure of a rule must deny, never skip
                _fail_closed(rule, scope, outcome, error, tracer)
                continue
            if not holds:
                continue
            effect = _fire(rule, scope, outcome, tracer)
            if effect == ALLOW or effect == OBLIGE:
                permitted_here = True
                if carried is None:
                    permitted = True
    if not permitted and not outcome.denied:
        _deny_item(item, outcome, tracer, "not_permitted",
                   f"no agreement in force permits a {request.action} of item `{item.id}` to "
                   f"`{request.destination.kind}`; what is said in the group stays in the group unless an agreement "
                   "says otherwise", trace="no rule permits it (members only)")


def _refuse_uninterpreted_labels(schemes, item: Item, outcome: _Outcome, tracer: Tracer | None) -> None:
    """A label of a scheme no loaded agreement defines: what it allows cannot be known, even inside the group.

    Inside the group too: a misspelt `tlp` (a look-alike letter) would
    otherwise carry a TLP:RED item past the recipients its label allows.
    """
    if not item.labels:
        return
    unread = [label for label in item.labels if community.form_of(label)]
    if unread:
        # Read as no scheme (community.py): a tag of no sharing namespace, a STIX marking not of TLP.
        _deny_item(item, outcome, tracer, "not_a_sharing_label",
                   f"item `{item.id}` carries {community.refused(unread[0])}, so what it allows cannot be known "
                   "and it is not passed on",
                   trace=f"label `{unread[0].scheme}: {unread[0].value}` is no sharing label")
        return
    unknown = sorted({scheme_key(label.scheme) for label in item.labels} - set(schemes))
    if not unknown:
        return
    names = ", ".join(f"`{name or '(blank)'}`" for name in unknown)
    _deny_item(item, outcome, tracer, "uninterpreted_label",
               f"item `{item.id}` carries a {names} label that no loaded agreement defines, "
               "so what it allows cannot be known and it is not passed on",
               trace=f"label scheme {names} is defined by no agreement")


def _refuse_conflicts(item: Item, outcome: _Outcome, tracer: Tracer | None) -> None:
    """Obligations no request can meet together deny the item, naming the rules that demand them (§7.4)."""
    if not outcome.demands:
        return
    first: dict[str, CompiledRule] = {}
    descriptors: dict[str, CompiledRule] = {}
    for rule, kind, value in outcome.demands:
        first.setdefault(kind, rule)
        if kind == "use_agreed_descriptor":
            descriptors.setdefault(value, rule)
    if len(descriptors) > 1:
        # Two readings agree different descriptors: complying with one breaks the other.
        (a_text, a), (b_text, b) = sorted(descriptors.items())[:2]
        _refuse_conflict(item, outcome, tracer, b, f"`{_where(a)}` requires the descriptor `{a_text}` and "
                                                   f"`{_where(b)}` requires `{b_text}` for item `{item.id}`")
        return
    for one, other in CONFLICTS:
        if one in first and other in first:
            a, b = first[one], first[other]
            _refuse_conflict(item, outcome, tracer, b,
                             f"`{_where(a)}` requires `{one}` and `{_where(b)}` requires `{other}` for item `{item.id}`")
            return


def _refuse_conflict(item: Item, outcome: _Outcome, tracer: Tracer | None, rule: CompiledRule, what: str) -> None:
    _deny_item(item, outcome, tracer, "conflicting_obligations", f"{what}; no request can meet both, so it is refused",
               rule)


def _where(rule: CompiledRule) -> str:
    return _ref(rule).key


def _fire(rule: CompiledRule, scope: Scope, outcome: _Outcome, tracer: Tracer | None) -> str:
    """Record what a rule whose condition holds does. Any error denies the item (fail closed)."""
    effect = DENY if rule.effect == FALLBACK else rule.effect
    try:
        obligations = [o for ob in rule.obligations if (o := ob.build(scope, ob.params)) is not None]
        message = rule.message(scope)
        demands = [(rule, ob.type, _demanded_value(ob, scope)) for ob in rule.obligations] \
            if effect == OBLIGE or effect == REQUIRE else ()
    except Exception as error:  # noqa: BLE001 — any failure of a rule must deny, never skip
        return _fail_closed(rule, scope, outcome, error, tracer)
    outcome.demands.extend(demands)
    if effect == OBLIGE and not obligations:
        effect = ALLOW  # nothing the request does needs fixing (§7.4)
    if effect == DENY:
        outcome.denied = True
    if obligations:
        outcome.obligations.extend(obligations)
    if effect != REQUIRE or obligations:
        # A `require` rule that owes nothing did nothing: no finding to report.
        reported = OBLIGE if effect == REQUIRE else effect
        outcome.findings.append(Finding(rule.agreement, rule.version, rule.id, scope.item.id, reported,
                                        rule.reason_code, message))
    if tracer is not None:
        tracer.append(Fired(scope.item.id, _ref(rule), effect, rule.reason_code, tuple(o.type for o in obligations)))
    return effect


def _demanded_value(obligation, scope: Scope) -> str:
    if obligation.type == "use_agreed_descriptor":
        return str(obligation.params["descriptor"](scope) or "")
    return ""


def _ref(rule: CompiledRule) -> RuleRef:
    return RuleRef(rule.agreement, rule.version, rule.id)


def _traced(rule: CompiledRule, scope: Scope, tracer: Tracer) -> bool:
    """The rule's condition, each entry's outcome traced; the first top-level entry that fails names why it did not hold.

    A rule a tool swapped in (author.instrument) has no compiled form: its
    condition is asked as it is, and it traces no entries.
    """
    item, ref = scope.item.id, _ref(rule)
    if rule.compiled is None:
        holds = rule.condition(scope)
        if not holds:
            tracer.append(NotApplicable(item, ref, (), "when"))
        return holds
    texts = rule.cache.get("texts")
    if texts is None:
        texts = rule.cache["texts"] = entry_texts(rule.compiled)
    scope.outcomes = []
    try:
        holds = traced_condition(rule)(scope)
    finally:
        outcomes, scope.outcomes = scope.outcomes, None
        tracer.extend(EntryOutcome(item, ref, place, texts[place], held) for place, held in outcomes)
    if not holds:
        failed = next((place for place, held in outcomes if len(place) == 1 and not held), ())
        tracer.append(NotApplicable(item, ref, failed, texts.get(failed, "when")))
    return holds


def _fail_closed(rule: CompiledRule, scope: Scope, outcome: _Outcome, error: Exception,
                 tracer: Tracer | None) -> str:
    if isinstance(error, KeyError):
        detail = f"the fact `{error.args[0]}` is missing from the request"
    elif isinstance(error, UnreadableFact):
        detail = str(error)
    else:
        detail = f"{type(error).__name__}: {error}"
    outcome.denied = True
    outcome.findings.append(Finding(
        rule.agreement, rule.version, rule.id, scope.item.id, DENY, "rule_evaluation_failed",
        f"rule `{rule.id}` could not be evaluated ({detail}), so the item is denied"))
    if tracer is not None:
        tracer.append(FailedClosed(scope.item.id, _ref(rule), detail))
    return DENY


# ---- combining items --------------------------------------------------------------


def _combine_atomic(policy: CompiledPolicy, results) -> Decision:
    """Share and quote: the most restrictive item governs; obligations are the union."""
    findings = tuple(f for _, outcome, _ in results for f in outcome.findings)
    if any(outcome.denied for _, outcome, _ in results):
        # Each item still reports its own verdict: the request is refused as a
        # whole, but an item that was allowed owed what it owed.
        items = tuple(ItemResult(item.id, "excluded", DENY, g) if o.denied else _item_result(item, o, g)
                      for item, o, g in results)
        return Decision(DENY, (), items, findings, _reason(DENY, findings), policy.revision)
    obligations = merge_obligations(o for _, outcome, _ in results for o in outcome.obligations)
    items = tuple(_item_result(item, outcome, governed) for item, outcome, governed in results)
    verdict = OBLIGE if obligations else ALLOW
    return Decision(verdict, obligations, items, findings, _reason(verdict, findings), policy.revision)


def _combine_export(policy: CompiledPolicy, results) -> Decision:
    """Export: exclude what cannot go, keep the rest (§4.3); deny only when nothing may go."""
    findings = tuple(f for _, outcome, _ in results for f in outcome.findings)
    excluded = [item.id for item, outcome, _ in results if outcome.denied or _excludes(outcome)]
    if len(excluded) == len(results):
        items = tuple(ItemResult(item.id, "excluded", DENY, g) for item, _, g in results)
        return Decision(DENY, (), items, findings, _reason(DENY, findings), policy.revision)
    gone = set(excluded)
    kept = [o for item, outcome, _ in results if item.id not in gone for o in outcome.obligations]
    if excluded:
        kept.insert(0, Obligation("exclude_items", item_ids=tuple(excluded)))
    obligations = merge_obligations(kept)
    items = tuple(
        ItemResult(item.id, "excluded", DENY, governed) if item.id in gone else _item_result(item, outcome, governed)
        for item, outcome, governed in results
    )
    verdict = OBLIGE if obligations else ALLOW
    return Decision(verdict, obligations, items, findings, _reason(verdict, findings), policy.revision)


def _excludes(outcome: _Outcome) -> bool:
    return any(o.type == "exclude_items" for o in outcome.obligations)


def _item_result(item: Item, outcome: _Outcome, governed: tuple[str, ...]) -> ItemResult:
    redacted = any(o.type in _REDACTING for o in outcome.obligations)
    verdict = OBLIGE if outcome.obligations else ALLOW
    return ItemResult(item.id, "redacted" if redacted else "kept", verdict, governed)


def merge_obligations(obligations: Iterable[Obligation]) -> tuple[Obligation, ...]:
    """One obligation per kind and parameters, with the items, people and spans it covers joined."""
    groups: dict[tuple, list[Obligation]] = {}
    for o in obligations:
        key = (o.type, o.scope, o.until, o.label, o.notice, o.descriptor, o.link)
        group = groups.get(key)
        if group is None:
            groups[key] = [o]
        else:
            group.append(o)
    return tuple(group[0] if len(group) == 1 else _joined(group) for group in groups.values())


def _joined(group: list[Obligation]) -> Obligation:
    first = group[0]
    item_ids = tuple(dict.fromkeys(i for o in group for i in o.item_ids))
    person_ids = tuple(dict.fromkeys(p for o in group for p in o.person_ids if p))
    spans = merge_spans(s for o in group for s in o.spans)
    names = tuple(dict.fromkeys(n for o in group for n in o.names))
    return Obligation(first.type, item_ids, person_ids, spans, names, first.scope, first.until, first.label,
                      first.notice, first.descriptor, first.link)


def _reason(verdict: str, findings: tuple[Finding, ...]) -> str:
    if verdict == DENY:
        first = next((f for f in findings if f.effect == DENY), None)
        return f"denied: {first.message}" if first else "denied"
    if verdict == OBLIGE:
        messages = list(dict.fromkeys(f.message for f in findings if f.effect == OBLIGE))
        left_out = list(dict.fromkeys(f.message for f in findings if f.effect == DENY))
        if left_out:
            # An export that keeps some items: say why the others stay behind.
            messages.append("items are left out because " + "; ".join(left_out))
        return "allowed once the obligations are met: " + "; ".join(messages)
    messages = list(dict.fromkeys(f.message for f in findings if f.effect == ALLOW))
    return "allowed: " + (messages[0] if messages else "the author may share their own words")


def _with_explanation(decision: Decision, tracer: Tracer) -> Decision:
    return Decision(decision.decision, decision.obligations, decision.items, decision.findings, decision.reason,
                    decision.policy_revision, explanation_lines(tracer), tuple(tracer))
