"""The agreement matrix: what an agreement means, computed by deciding every cell, not written by hand.

Rows are destination kinds, columns are actions; an agreement whose rules read
item labels gets one table per label value (one scheme at a time) after the
table for unlabelled items. Each cell is the decision `decide()` gives for one
typical request:

    a member who is not the author shares, quotes or exports one message
    another member posted after the group adopted the agreement; the request
    names the author and their organization and the text names the author;
    nobody has consented to anything; the service's terms are unknown.

That request is an example, so a cell also points at the agreement's rules
whose conditions read facts beyond the table (consents, sessions, recipients,
…) and that would change the cell if they went the other way: each such rule
is a numbered note under the table. The platform-wide agreements are in force
as they are for every group; one of their rules is noted only where it decides
the example's answer (a member's request, an item not retracted), not in every
cell it could change.
"""

from __future__ import annotations

import dataclasses
import itertools
from dataclasses import dataclass
from typing import Any, Callable, Iterator

from .. import ir
from ..engine import decide
from ..engine.build import predicate_of
from ..engine.compiled import CompiledPolicy, CompiledRule, CompiledVersion
from ..engine.instants import SECOND, to_iso
from ..engine.model import (
    ACTIONS, DESTINATION_KINDS, Actor, Adoption, Attribution, Destination, Group, Instant, Item, Label, Obligation,
    Person, Purpose, Request,
)
from ..engine.obligations import OBLIGATION_TYPES
from ..engine.scope import Scope
from ..policy import model
from ..policy.load import Document
from .instrument import RuleKey, key_of, with_rules, written_rules

DAY = 86_400 * SECOND
NOW = Instant(1_800_000_000 * SECOND)  # the instant cells are decided at, unless a platform version starts later
# What every cell's example request is, in words (the renderers print it).
SCENARIO = ("a member who is not the author passes on one message posted after the group adopted the agreement; "
            "the request names the author and their organization, and the text names the author; nobody has "
            "consented to anything; a service's terms are unknown")


@dataclass(frozen=True)
class Outcome:
    """A cell's decision and what it obliges, as (obligation type, its parameter) pairs."""

    decision: str
    obligations: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Cell:
    action: str
    destination: str
    outcome: Outcome
    notes: tuple[int, ...] = ()  # numbers of the notes that may change it


@dataclass(frozen=True)
class Section:
    label: tuple[str, str] | None  # (scheme, value); None for unlabelled items
    cells: tuple[Cell, ...]

    def cell(self, action: str, destination: str) -> Cell:
        return next(c for c in self.cells if c.action == action and c.destination == destination)

    @property
    def title(self) -> str:
        return "no label" if self.label is None else f"{self.label[0]}: {self.label[1]}"


@dataclass(frozen=True)
class Note:
    number: int
    agreement: str
    rule: str
    effect: str
    obligations: tuple[str, ...]  # obligation types the rule declares
    when: tuple[str, ...]  # its condition's entries, as written
    message: str  # its reason, for a person


@dataclass(frozen=True)
class Matrix:
    agreement: str
    version: int
    title: str
    summary: str
    source: str
    also_in_force: tuple[str, ...]  # the platform-wide versions, `id@n`
    floors: tuple[tuple[str, str], ...]  # the version's default labels: what unlabelled items read as
    actions: tuple[str, ...]
    destinations: tuple[str, ...]
    sections: tuple[Section, ...]
    notes: tuple[Note, ...]
    beside: tuple[str, ...] = ()  # the versions the example's group adopted with it, `id@n`
    use: str = ""  # the recipient's use the example states (`purpose.use`), when it states one

    @property
    def key(self) -> str:
        return f"{self.agreement}@{self.version}"


class UnknownAgreement(LookupError):
    """The policy has no such agreement or version; `choices` lists what it has."""

    def __init__(self, message: str, choices: list[str]):
        super().__init__(message)
        self.choices = choices


def select(policy: CompiledPolicy, name: str) -> CompiledVersion:
    """`chatham-house` (its latest version) or `chatham-house@1`."""
    agreement, _, number = name.partition("@")
    versions = policy.versions.get(agreement)
    if versions is None:
        raise UnknownAgreement(f"unknown agreement `{agreement}`", sorted(policy.versions))
    if not number:
        return versions[max(versions)]
    # A few ASCII digits: `int()` refuses 5,000 of them, and `١` is a digit to `isdigit()` too.
    if not (number.isascii() and number.isdigit() and len(number) < 10) or int(number) not in versions:
        raise UnknownAgreement(f"`{agreement}` has no version `{number}`", [f"{agreement}@{n}" for n in versions])
    return versions[int(number)]


def build_matrix(policy: CompiledPolicy, documents: list[Document], version: CompiledVersion, *,
                 beside: tuple[CompiledVersion, ...] = (), use: str = "") -> Matrix:
    """Decide every cell of `version`'s matrix; `documents` give the rules as written.

    An agreement that only restricts (PAP, IEP) permits nothing alone, so its
    matrix denies every cell outside the group; adopted `beside` one that
    permits, with the recipient's `use` stated, it shows what it takes away.
    """
    example = _Example(version, tuple(v for v in beside if v.agreement != version.agreement), use)
    at = _instant(policy)
    written: dict[RuleKey, model.Rule] = {}
    for w in written_rules(documents):
        written.setdefault(w.key, w.rule)
    rules = [written[key_of(r)] for r in _rules_of(version) if key_of(r) in written]
    label_params = _label_params(rules, at)
    labels: list[tuple[str, str] | None] = [None]
    for scheme in _schemes_read(rules, policy):
        labels += [(scheme, value) for value in policy.label_schemes[scheme].order]
    platform = [policy.versions[a][_platform_version(policy, a, at)] for a in policy.platform_wide
                if a != version.agreement]
    cells = _Cells(policy, version, platform)
    sections = [(label, [(action, kind, *cells.decide(_request(example, action, kind, label, at, label_params),
                                                      _known(policy, example, action, kind, label)))
                         for kind in DESTINATION_KINDS for action in ACTIONS])
                for label in labels]
    marked = {key for _, row in sections for *_, keys in row for key in keys}
    noted = [r for v in (version, *platform) for r in _rules_of(v) if key_of(r) in marked]
    numbers = {key_of(r): i for i, r in enumerate(noted, 1)}
    scope = _scope(_request(example, "share", "public", None, at, label_params), at)
    built = tuple(
        Section(label, tuple(Cell(a, k, o, tuple(sorted(numbers[key] for key in keys))) for a, k, o, keys in row))
        for label, row in sections
    )
    info = next(a for a in policy.agreements if a.id == version.agreement)
    return Matrix(version.agreement, version.version, info.title, info.summary, info.source,
                  tuple(v.key for v in platform), tuple(sorted(version.default_labels.items())), ACTIONS,
                  DESTINATION_KINDS, built, tuple(_note(numbers[key_of(r)], r, scope) for r in noted),
                  tuple(v.key for v in example.beside), use)


class _Cells:
    """Decides one cell's example, and finds the rules that would change it."""

    def __init__(self, policy: CompiledPolicy, version: CompiledVersion, platform: list[CompiledVersion]):
        self.policy, self.version, self.platform = policy, version, platform
        self.forced: dict[tuple[RuleKey, bool], CompiledPolicy] = {}
        self.statuses: dict[RuleKey, Status] = {}

    def decide(self, request: Request, known: dict[str, Any]) -> tuple[Outcome, set[RuleKey]]:
        at = request.requested_at
        outcome = _outcome(decide(self.policy, request, now=at))
        marks = set()
        key = (request.action, request.destination.kind)
        scope, facts = _known_scope(request, known), set(known)
        for rule in [r for v in (self.version, *self.platform) for r in v.index.get(key, ())]:
            if rule.compiled is None or not rule.compiled.when.entries or self._status(rule, facts)(scope) is not None:
                continue  # the cell's own facts settle it: the example shows what it does
            # A platform-wide rule is noted only where it shapes the example's answer:
            # the members-only and retraction rules would otherwise mark every cell.
            own = rule.agreement == self.version.agreement
            if any(_outcome(decide(self._forced(key_of(rule), value), request, now=at)) != outcome
                   for value in ((True, False) if own else (False,))):
                marks.add(key_of(rule))
        return outcome, marks

    def _status(self, rule: CompiledRule, known: set[str]) -> Status:
        if key_of(rule) not in self.statuses:
            self.statuses[key_of(rule)] = _condition(rule.compiled.when, known)
        return self.statuses[key_of(rule)]

    def _forced(self, rule: RuleKey, value: bool) -> CompiledPolicy:
        if (rule, value) not in self.forced:
            self.forced[(rule, value)] = with_rules(self.policy, _forcing(rule, value))
        return self.forced[(rule, value)]


# ---- the example request -------------------------------------------------------------

AUTHOR = Person(id="u-author", display_name="Alex Author", organization="Author Org")
MEMBER = Actor(id="u-member", display_name="Maria Member", organization="Member Org", role="member", member=True)
TEXT = "Alex Author said the rates will rise."


def _instant(policy: CompiledPolicy) -> Instant:
    starts = [max(v.effective_from or 0, v.disclosed_at or 0)
              for a in policy.platform_wide for v in policy.versions[a].values()]
    return max([NOW, *(s + 3 * DAY for s in starts)])


@dataclass(frozen=True)
class _Example:
    """What every cell's request shares: the agreement, those adopted beside it, the use it states."""

    version: CompiledVersion
    beside: tuple[CompiledVersion, ...]
    use: str


def _request(example: _Example, action: str, kind: str, label: tuple[str, str] | None, at: Instant,
             label_params: dict[str, dict[str, str]]) -> Request:
    """The example request of one cell (see the module's docstring)."""
    labels = ()
    if label is not None:
        labels = (Label(label[0], label[1], set_by="author", set_at=at - DAY, params=dict(label_params.get(label[0], {}))),)
    adoptions = tuple(Adoption(v.agreement, v.version, effective_from=at - 30 * DAY)
                      for v in (example.version, *example.beside))
    group = Group(id="g-example", adoptions=adoptions,
                  participants=(AUTHOR, Person(id=MEMBER.id, display_name=MEMBER.display_name,
                                               organization=MEMBER.organization)))
    item = Item(id="1", author=AUTHOR, posted_at=at - DAY, labels=labels, text=TEXT)
    return Request(action=action, actor=MEMBER, group=group, items=(item,), destination=Destination(kind=kind),
                   requested_at=at, attribution=Attribution(author_identity=True, affiliation=True), quoted_text=TEXT,
                   purpose=Purpose(use=example.use))


_VOCABULARY = {name: i for i, name in enumerate(OBLIGATION_TYPES)}


def _outcome(decision) -> Outcome:
    owed = {(o.type, _parameter(o)) for o in decision.obligations}
    return Outcome(decision.decision, tuple(sorted(owed, key=lambda o: (_VOCABULARY.get(o[0], len(_VOCABULARY)), o))))


def _parameter(obligation: Obligation) -> str:
    return obligation.notice or obligation.label or obligation.scope or ""


def _scope(request: Request, at: Instant) -> Scope:
    return Scope(request, request.items[0], at, {})


def _platform_version(policy: CompiledPolicy, agreement: str, at: Instant) -> int:
    versions = list(policy.versions[agreement].values())
    in_force = [v for v in versions if max(v.effective_from or 0, v.disclosed_at or 0) <= at]
    return (in_force or versions)[-1].version


# ---- what the agreement's rules read ---------------------------------------------------


def _rules_of(version: CompiledVersion) -> list[CompiledRule]:
    seen: dict[RuleKey, CompiledRule] = {}
    for rules in version.index.values():
        for rule in rules:
            seen.setdefault(key_of(rule), rule)
    return list(seen.values())


def _condition_facts(rule: model.Rule) -> Iterator[str]:
    """Every fact path a rule's condition tests or compares with, in written order."""
    for entry in model.walk(rule.when) if rule.when is not None else ():
        if isinstance(entry, model.FactTest):
            yield entry.fact
            yield from (test.operand.fact for test in entry.tests if isinstance(test.operand, model.FactRef))


def _facts_read(parameters: Any) -> Iterator[str]:
    """The `{fact: …}` an obligation's parameters read, as written."""
    if isinstance(parameters, dict):
        for key, value in parameters.items():
            if key == "fact" and isinstance(value, str):
                yield value
            yield from _facts_read(value)
    elif isinstance(parameters, list):
        for value in parameters:
            yield from _facts_read(value)


def _schemes_read(rules: list[model.Rule], policy: CompiledPolicy) -> list[str]:
    schemes: list[str] = []
    for rule in rules:
        for fact in _condition_facts(rule):
            parts = fact.split(".")
            if parts[:2] == ["item", "label"] and len(parts) == 3 and parts[2] in policy.label_schemes:
                if parts[2] not in schemes:
                    schemes.append(parts[2])
    return schemes


def _label_params(rules: list[model.Rule], at: Instant) -> dict[str, dict[str, str]]:
    """A value for each label parameter the rules read: a time a week ahead where an obligation wants a time."""
    found: dict[str, dict[str, str]] = {}
    for rule in rules:
        read = [_facts_read(obligation.parameters) for obligation in rule.obligations]
        for fact in itertools.chain(_condition_facts(rule), *read):
            parts = fact.split(".")
            if parts[:2] == ["item", "label_param"] and len(parts) == 4:
                found.setdefault(parts[2], {})[parts[3]] = "as agreed"
        for obligation in rule.obligations:
            declared = OBLIGATION_TYPES[obligation.type].params if obligation.type in OBLIGATION_TYPES else ()
            raw = obligation.parameters
            if not isinstance(raw, dict) or set(raw) == {"fact"}:
                raw = {declared[0][0]: raw} if declared else {}
            kinds = dict(declared)
            for param, value in raw.items():
                fact = value.get("fact", "") if isinstance(value, dict) else ""
                parts = fact.split(".")
                if kinds.get(param) == "instant" and parts[:2] == ["item", "label_param"] and len(parts) == 4:
                    found[parts[2]][parts[3]] = to_iso(at + 7 * DAY)
    return found


# ---- which rules may change a cell -------------------------------------------------------


def _known(policy: CompiledPolicy, example: _Example, action: str, kind: str,
           label: tuple[str, str] | None) -> dict[str, Any]:
    """The facts a cell fixes: the action, the destination kind, every scheme's effective label, a stated use."""
    version = example.version
    known: dict[str, Any] = {"action": action, "destination.kind": kind}
    if example.use:
        known["purpose.use"] = example.use
    for name, scheme in policy.label_schemes.items():
        value = label[1] if label is not None and label[0] == name else ""
        floor = version.default_labels.get(name)
        if floor:
            value = scheme.stricter(value, floor) if value else floor
        known[f"item.label.{name}"] = value
    return known


# Whether a rule's condition holds in a cell, knowing only the cell's facts: True,
# False, or None for "it depends" on facts the example only pretends to know.
Status = Callable[[Scope], "bool | None"]


def _known_scope(request: Request, known: dict[str, Any]) -> Scope:
    """The example as a rule's condition sees it, its effective labels those the cell fixes."""
    labels = {fact.removeprefix("item.label."): value for fact, value in known.items() if fact.startswith("item.label.")}
    return Scope(request, request.items[0], request.requested_at, labels)


def _condition(condition: ir.Condition, known: set[str]) -> Status:
    return _all([_three_valued(entry, known) for entry in condition.entries])


def _three_valued(expr: ir.Expr, known: set[str]) -> Status:
    """The compiled expression in Kleene's logic: a test reading only `known` facts is decided as the engine
    decides it; any other test is unknown, and so is what it alone settles."""
    kind = expr.WhichOneof("kind")
    if kind in ("all", "any"):
        parts = [_condition(c, known) for c in getattr(expr, kind).conditions]
        return _all(parts) if kind == "all" else _any(parts)
    if kind == "tests":
        return _all([_three_valued(e, known) for e in expr.tests.exprs])
    if kind == "not":
        inner = _condition(getattr(expr, "not"), known)  # `not` is a Python keyword
        return lambda scope: None if (held := inner(scope)) is None else not held
    if kind in ("compare", "exists", "matches") and _facts_of(expr) <= known:
        return predicate_of(expr)
    return lambda scope: None  # consents, quantifiers, the author, facts the example makes up


def _facts_of(expr: ir.Expr) -> set[str]:
    test = getattr(expr, expr.WhichOneof("kind"))
    facts = {test.fact.path}
    if isinstance(test, ir.Compare) and test.WhichOneof("operand") == "other":
        facts.add(test.other.path)
    return facts


def _all(parts: list[Status]) -> Status:
    def status(scope: Scope) -> bool | None:
        result: bool | None = True
        for part in parts:
            held = part(scope)
            if held is False:
                return False
            if held is None:
                result = None
        return result

    return status


def _any(parts: list[Status]) -> Status:
    def status(scope: Scope) -> bool | None:
        result: bool | None = False
        for part in parts:
            held = part(scope)
            if held is True:
                return True
            if held is None:
                result = None
        return result

    return status


def _forcing(target: RuleKey, value: bool):
    def swap(rule: CompiledRule) -> CompiledRule:
        if key_of(rule) != target:
            return rule
        # Without its compiled form: a traced decision asks the forced condition, not the rule's own.
        return dataclasses.replace(rule, condition=(lambda scope: True) if value else (lambda scope: False),
                                   compiled=None, cache={})

    return swap


def _note(number: int, rule: CompiledRule, scope: Scope) -> Note:
    try:
        message = rule.message(scope)
    except Exception:  # noqa: BLE001 — a message that reads a fact the example lacks: say nothing
        message = ""
    when = tuple(text for text, _ in rule.conjuncts)
    return Note(number, rule.agreement, rule.id, rule.effect, tuple(o.type for o in rule.obligations), when, message)
