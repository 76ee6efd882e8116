"""`explain`: one request decided with a tracer, its trace grouped per item for a person to read.

The trace is the one behind the API's explanation for `explain: true`
(decide(..., tracer=[]), engine/trace.py): this module only sorts its events —
per item, the governing versions, the rules that decided, the rules whose
condition did not hold and the item's outcome — it never evaluates anything
itself.
Beside the trace, it notes each consent that no rule deciding its item reads:
such a consent changes nothing, and is most often recorded under another name
than the one the rules read.

A request is read from YAML: the request's fields, or `request:` with
`fixtures:` beside it, or a suite and the name (or number) of one of its cases.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..engine import decide, trace
from ..engine.compiled import CompiledPolicy
from ..engine.model import NEW_TERMS_CONSENT, Decision, Instant, Request
from ..errors import Diagnostic, did_you_mean
from ..policy.requests import RequestDataError, request_diagnostics, request_from_data
from ..source import decode, parse

@dataclass
class ItemTrace:
    item_id: str
    governed_by: str = ""
    decided: list[tuple[str, str]] = field(default_factory=list)  # (agreement@version/rule, what it did)
    not_applicable: list[tuple[str, str]] = field(default_factory=list)  # (rule, the condition that failed)
    other: list[str] = field(default_factory=list)
    outcome: str = ""


@dataclass
class Explanation:
    request: Request
    decision: Decision
    now: Instant
    items: list[ItemTrace]
    other: list[str]  # lines about no item (a refused request)
    notes: list[str] = field(default_factory=list)  # consents nothing reads


def explain(policy: CompiledPolicy, request: Request, *, now: Instant) -> Explanation:
    decision = decide(policy, request, now=now, tracer=[])
    items = {item.id: ItemTrace(item.id) for item in request.items}
    other: list[str] = []
    for event in decision.trace:
        text = trace.explanation_lines([event])
        owner = items.get(getattr(event, "item", None))
        if owner is None:
            if text and not isinstance(event, trace.Decided):
                other.append(text[0].strip())
        elif isinstance(event, trace.Governed):
            owner.governed_by = ", ".join(event.versions)
        elif isinstance(event, trace.ItemDecided):
            owner.outcome = _after_item(text[0], event.item)
        elif isinstance(event, trace.NotApplicable):
            owner.not_applicable.append((event.rule.key, f"`{event.text}` does not hold"))
        elif isinstance(event, (trace.Fired, trace.FailedClosed)):
            owner.decided.append((event.rule.key, _after_item(text[0], event.item).removeprefix(f"{event.rule.key}: ")))
        elif text:
            owner.other.append(_after_item(text[0], event.item))
    return Explanation(request, decision, now, list(items.values()), other, unread_consents(policy, request, decision))


def _after_item(line: str, item: str) -> str:
    """An explanation line without its `item <id>: ` prefix: the grouping says which item."""
    return line.strip().removeprefix(f"item {item}: ")


def unread_consents(policy: CompiledPolicy, request: Request, decision: Decision) -> list[str]:
    """A note for each consent on an item whose scope no rule that can decide the item reads.

    The rules that can decide it are those of its governing versions indexed for
    the request's action and destination; the engine itself reads `new_terms`.
    """
    versions = {v.key: v for by_number in policy.versions.values() for v in by_number.values()}
    key = (request.action, request.destination.kind)
    notes = []
    for item, result in zip(request.items, decision.items):
        if not result.governed_by:
            continue  # a refused request: no rule was looked at
        rules = [rule for version in result.governed_by for rule in versions[version].index.get(key, ())]
        read = {NEW_TERMS_CONSENT}.union(*(rule.consent_scopes for rule in rules))
        for consent in item.consents:
            if consent.scope in read:
                continue
            where = (f"that can decide it under {', '.join(result.governed_by)}"
                     if consent.scope in policy.consent_scopes_read else "of the loaded policy")
            notes.append(f"consent `{consent.scope}` by `{consent.by}` on item `{item.id}` is read by no rule {where}; "
                         + did_you_mean(consent.scope, sorted(read)))
    return notes


class RequestFileError(ValueError):
    """The file holds no request that can be decided; `diagnostics` say where and why."""

    def __init__(self, diagnostics: list[Diagnostic]):
        super().__init__("; ".join(d.message for d in diagnostics))
        self.diagnostics = diagnostics


def read_request_file(content: bytes, file: str, case: str | None = None) -> Request:
    """`read_request` of a file's bytes, which must be UTF-8."""
    text, problems = decode(content, file)
    if text is None:
        raise RequestFileError(problems)
    return read_request(text, file, case)


def read_request(text: str, file: str, case: str | None = None) -> Request:
    """The request written in a YAML file: bare, under `request:` with `fixtures:`, or a suite's case."""
    source, problems = parse(text, file)
    if problems:
        raise RequestFileError(problems)
    data = source.data
    if not isinstance(data, dict):
        raise RequestFileError([source.diagnostic((), "bad_request", "a request file holds a mapping",
                                                  help="write the request's fields, or `request:` and `fixtures:`")])
    fixtures = data.get("fixtures")
    if "cases" in data:
        index = _case_index(data["cases"], case, source)
        at = ("cases", index, "request")
        body = data["cases"][index].get("request")
    elif case is not None:
        raise RequestFileError([source.diagnostic((), "bad_request", "`--case` needs a suite, and this file has no `cases`")])
    elif "request" in data:
        at, body = ("request",), data["request"]
    else:
        at, body = (), {k: v for k, v in data.items() if k != "fixtures"}
    try:
        return request_from_data(body, fixtures, at=at)
    except RequestDataError as error:
        raise RequestFileError(request_diagnostics(error, source)) from None


def _case_index(cases, wanted: str | None, source) -> int:
    if not isinstance(cases, list) or not cases:
        raise RequestFileError([source.diagnostic(("cases",), "bad_request", "the suite has no cases")])
    names = [c.get("name") if isinstance(c, dict) else None for c in cases]
    if wanted is None:
        if len(cases) == 1:
            return 0
        raise RequestFileError([source.diagnostic(("cases",), "bad_request",
                                                  f"the suite has {len(cases)} cases: name one with `--case`",
                                                  help="`--case` takes a case's name or its number, from 1")])
    if wanted in names:
        return names.index(wanted)
    if wanted.isdigit() and 1 <= int(wanted) <= len(cases):
        return int(wanted) - 1
    starting = [i for i, n in enumerate(names) if isinstance(n, str) and n.startswith(wanted)]
    if len(starting) == 1:
        return starting[0]
    raise RequestFileError([source.diagnostic(("cases",), "bad_request", f"no case named `{wanted}`",
                                              help=did_you_mean(wanted, [n for n in names if isinstance(n, str)]))])
