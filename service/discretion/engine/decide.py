"""decide(): one request, one decision. Pure: the clock and the tracer are parameters.

The order (domain notes §9): check the request (unknown action, destination or
group → deny); for each item resolve the governing versions (when posted and
now — the stricter wins, §6); compute its effective labels; let the author
release their own item (§7.2); evaluate the rules indexed for the action and
destination; fail closed on any error; then combine — atomically for share
and quote, item by item for export (§7.1).
"""

from __future__ import annotations

from typing import Iterable

from .compiled import CompiledPolicy, CompiledRule
from .model import ACTIONS, DESTINATION_KINDS, Decision, Finding, Instant, Item, ItemResult, Obligation, Request
from .obligations import OBLIGATION_TYPES
from .scope import Scope
from .terms import Governing, Terms, terms_for

_ACTIONS = frozenset(ACTIONS)
_KINDS = frozenset(DESTINATION_KINDS)
_REDACTING = frozenset(name for name, kind in OBLIGATION_TYPES.items() if kind.redacts)
# An author who consented to the group's new terms lets them govern their
# older items too (a loosening is opt-in, §6.2.3).
NEW_TERMS_CONSENT = "new_terms"

DENY, ALLOW, OBLIGE, REQUIRE = "deny", "allow", "allow_with_obligations", "require"
# Denies unless a rule of the same agreement version allowed the item: how an
# agreement says "only these audiences" without repeating them (TLP).
FALLBACK = "deny_unless_allowed"


class _Outcome:
    """What the rules of one version set said about one item."""

    __slots__ = ("denied", "obligations", "findings")

    def __init__(self):
        self.denied = False
        self.obligations: list[Obligation] = []
        self.findings: list[Finding] = []


def decide(policy: CompiledPolicy, request: Request, *, now: Instant, tracer: list[str] | None = None) -> Decision:
    requested_at = request.requested_at if request.requested_at is not None else now
    refusal = _check_request(policy, request)
    if refusal is not None:
        return _refuse(policy, request, *refusal, tracer=tracer)
    adoptions = request.group.adoptions or policy.bindings[request.group.id]
    terms = terms_for(policy, adoptions)
    results: list[tuple[Item, _Outcome, tuple[str, ...]]] = []
    schemes = policy.label_schemes
    for item in request.items:
        sets = _governing_sets(terms, item, requested_at)
        governed_by = tuple(dict.fromkeys(key for governing in sets for key in governing.keys))
        if tracer is not None:
            tracer.append(f"item {item.id}: governed by {', '.join(governed_by)}")
        outcome = _Outcome()
        for governing in sets:
            _evaluate(governing, schemes, request, item, requested_at, outcome, tracer)
        if tracer is not None:
            tracer.append(f"item {item.id}: {'deny' if outcome.denied else 'allowed'}"
                          + (f", owes {', '.join(sorted({o.type for o in outcome.obligations}))}"
                             if outcome.obligations and not outcome.denied else ""))
        results.append((item, outcome, governed_by))
    if request.action == "export":
        decision = _combine_export(policy, results)
    else:
        decision = _combine_atomic(policy, results)
    if tracer is not None:
        tracer.append(f"decision: {decision.decision}")
        return _with_explanation(decision, tracer)
    return decision


# ---- the request ------------------------------------------------------------


def _check_request(policy: CompiledPolicy, request: Request) -> tuple[str, str, str] | None:
    """(reason code, field, message) when the policy cannot know what is asked; deny, never guess."""
    if request.action not in _ACTIONS:
        return "unknown_action", "action", f"the action `{request.action or 'unspecified'}` is not one the policy knows"
    if request.destination.kind not in _KINDS:
        return ("unknown_destination", "destination.kind",
                f"the destination kind `{request.destination.kind or 'unspecified'}` is not one the policy knows")
    adoptions = request.group.adoptions
    if not adoptions:
        if request.group.id not in policy.bindings:
            return ("unknown_group", "group.adoptions",
                    f"group `{request.group.id}` carries no adoptions and has no binding, so its agreement is unknown")
        return None
    for index, adoption in enumerate(adoptions):
        versions = policy.versions.get(adoption.agreement)
        if versions is None:
            return ("unknown_agreement", f"group.adoptions[{index}].agreement",
                    f"the agreement `{adoption.agreement}` is not loaded")
        if adoption.version and adoption.version not in versions:
            return ("unknown_agreement_version", f"group.adoptions[{index}].version",
                    f"`{adoption.agreement}` has no version {adoption.version}")
    return None


def _refuse(policy: CompiledPolicy, request: Request, code: str, field: str, message: str,
            *, tracer: list[str] | None) -> Decision:
    reason = f"denied: {message} (field `{field}`)"
    finding = Finding("", 0, "", "", DENY, code, reason)
    items = tuple(ItemResult(item.id, "excluded", DENY, ()) for item in request.items)
    decision = Decision(DENY, (), items, (finding,), reason, policy.revision)
    if tracer is not None:
        tracer.append(reason)
        return _with_explanation(decision, tracer)
    return decision


def _governing_sets(terms: Terms, item: Item, requested_at: Instant) -> list[Governing]:
    """The terms in force when the item was posted and now; the stricter outcome wins (§6.2)."""
    segment = item.session.segment
    current = terms.at(requested_at, segment)
    if item.posted_at is None:
        # Unknown date: every set of terms the group ever had (§6.2.4).
        sets = terms.ever(segment)
        return sets if any(current.same_terms(s) for s in sets) else [current, *sets]
    posted = terms.at(item.posted_at, segment)
    if posted.same_terms(current) or _consented_to_new_terms(item, requested_at):
        return [current]
    return [posted, current]


def _consented_to_new_terms(item: Item, requested_at: Instant) -> bool:
    author = item.author.id
    return any(
        c.by == author and c.scope == NEW_TERMS_CONSENT
        and (c.granted_at is None or c.granted_at <= requested_at)
        and (c.withdrawn_at is None or c.withdrawn_at > requested_at)
        for c in item.consents
    )


# ---- one item under one set of versions ---------------------------------------


def _effective_labels(governing: Governing, schemes, item: Item) -> tuple[dict[str, str], dict[str, dict]]:
    """Per scheme, the most restrictive of the item's labels and the governing floors (§7.1).

    Also the parameters of the label that set each value (an agreed descriptor,
    an embargo's end), which rules read as `item.label_param.<scheme>.<name>`.
    """
    labels: dict[str, str] = {}
    params: dict[str, dict] = {}
    if item.labels:
        frozen = any(not v.authors_may_restrict_later for v in governing.versions)
        for label in item.labels:
            scheme = schemes.get(label.scheme)
            if scheme is None:
                continue  # a scheme no agreement defines has no order; rules read it from `item.labels`
            if frozen and label.set_by == "author" and _set_after_posting(label.set_at, item.posted_at):
                continue  # press ground rules: no tightening after speaking (§3.1)
            value = scheme.normalize(label.value)
            if label.scheme not in labels or scheme.stricter(value, labels[label.scheme]) != labels[label.scheme]:
                labels[label.scheme] = value
                params[label.scheme] = label.params
    for name, value in governing.default_labels.items():
        if name not in labels:
            labels[name] = value
        elif schemes[name].stricter(value, labels[name]) != labels[name]:
            labels[name] = value
            params[name] = {}
    return labels, params


def _set_after_posting(set_at: Instant | None, posted_at: Instant | None) -> bool:
    return set_at is not None and posted_at is not None and set_at > posted_at


def _evaluate(governing: Governing, schemes, request: Request, item: Item, requested_at: Instant,
              outcome: _Outcome, tracer: list[str] | None) -> None:
    labels, label_params = _effective_labels(governing, schemes, item)
    scope = Scope(request, item, requested_at, labels, label_params)
    key = (request.action, request.destination.kind)
    waiver = scope.actor_is_author
    permitted = waiver  # the author may release their own item (§7.2)
    for version in governing.versions:
        permitted_here = False
        for rule in version.index.get(key, ()):  # fallback rules come last
            if waiver and rule.waivable_by_author:
                continue
            if permitted_here and rule.effect == FALLBACK:
                continue  # this agreement allowed the item: its "otherwise deny" does not apply
            try:
                holds = rule.condition(scope)
            except Exception as error:  # noqa: BLE001 — any failure of a rule must deny, never skip
                _fail_closed(rule, scope, outcome, error, tracer)
                continue
            if not holds:
                if tracer is not None:
                    tracer.append(f"  item {item.id}: {_where(rule)}: not applicable, "
                                  f"`{_failed_conjunct(rule, scope)}` does not hold")
                continue
            effect = _fire(rule, scope, outcome, tracer)
            if effect == ALLOW or effect == OBLIGE:
                permitted = permitted_here = True
    if not permitted and not outcome.denied:
        outcome.denied = True
        message = (f"no agreement in force permits a {request.action} of item `{item.id}` "
                   f"to `{request.destination.kind}`; what is said in the group stays in the group unless an agreement says otherwise")
        outcome.findings.append(Finding("", 0, "", item.id, DENY, "not_permitted", message))
        if tracer is not None:
            tracer.append(f"  item {item.id}: no rule permits it → deny (members only)")


def _where(rule: CompiledRule) -> str:
    return f"{rule.agreement}@{rule.version}/{rule.id}"


def _fire(rule: CompiledRule, scope: Scope, outcome: _Outcome, tracer: list[str] | None) -> str:
    """Record what a rule whose condition holds does. Any error denies the item (fail closed)."""
    try:
        obligations = [o for ob in rule.obligations if (o := ob.build(scope, ob.params)) is not None]
        message = rule.message(scope)
    except Exception as error:  # noqa: BLE001 — any failure of a rule must deny, never skip
        return _fail_closed(rule, scope, outcome, error, tracer)
    effect = DENY if rule.effect == FALLBACK else rule.effect
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
        owed = f" owes {', '.join(o.type for o in obligations)}" if obligations else ""
        if effect == REQUIRE and not obligations:
            owed = " (nothing owed: the request does not do what it guards against)"
        tracer.append(f"  item {scope.item.id}: {_where(rule)}: {effect} [{rule.reason_code}]{owed}")
    return effect


def _failed_conjunct(rule: CompiledRule, scope: Scope) -> str:
    """The first entry of the rule's condition that does not hold: the same predicates, one by one."""
    return next((text for text, predicate in rule.conjuncts if not predicate(scope)), "when")


def _fail_closed(rule: CompiledRule, scope: Scope, outcome: _Outcome, error: Exception,
                 tracer: list[str] | None) -> str:
    if isinstance(error, KeyError):
        detail = f"the fact `{error.args[0]}` is missing from the request"
    else:
        detail = f"{type(error).__name__}: {error}"
    outcome.denied = True
    outcome.findings.append(Finding(
        rule.agreement, rule.version, rule.id, scope.item.id, DENY, "rule_evaluation_failed",
        f"rule `{rule.id}` could not be evaluated ({detail}), so the item is denied"))
    if tracer is not None:
        tracer.append(f"  item {scope.item.id}: {_where(rule)}: error ({detail}) → deny")
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
    spans = tuple(sorted(dict.fromkeys(s for o in group for s in o.spans), key=lambda s: (s.start, s.end)))
    names = tuple(dict.fromkeys(n for o in group for n in o.names))
    return Obligation(first.type, item_ids, person_ids, spans, names, first.scope, first.until, first.label,
                      first.notice, first.descriptor, first.link)


def _reason(verdict: str, findings: tuple[Finding, ...]) -> str:
    if verdict == DENY:
        first = next((f for f in findings if f.effect == DENY), None)
        return f"denied: {first.message}" if first else "denied"
    if verdict == OBLIGE:
        messages = list(dict.fromkeys(f.message for f in findings if f.effect == OBLIGE))
        return "allowed once the obligations are met: " + "; ".join(messages)
    messages = list(dict.fromkeys(f.message for f in findings if f.effect == ALLOW))
    return "allowed: " + (messages[0] if messages else "the author may share their own words")


def _with_explanation(decision: Decision, tracer: list[str]) -> Decision:
    return Decision(decision.decision, decision.obligations, decision.items, decision.findings, decision.reason,
                    decision.policy_revision, tuple(tracer))
