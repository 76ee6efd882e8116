"""Test suites: each case's request through `decide()`, compared with what it expects.

Expectations are exact where they matter to a group: the decision, the set of
obligation types (with any parameters the case spells out), the outcome of
each item named. Reason codes listed must all appear among the findings.

`check_suite` reports what is wrong with a suite itself (a request that cannot
be built, an obligation type that does not exist, two cases with one name) as
diagnostics with their place, like any rule file's.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from ..engine import decide
from ..engine.compiled import CompiledPolicy
from ..engine.instants import SECOND, to_iso
from ..engine.model import Decision, Instant, Obligation, Request, Span
from ..engine.obligations import OBLIGATION_TYPES
from ..errors import Diagnostic, did_you_mean
from .load import Document
from .requests import RequestDataError, parse_instant, request_diagnostics, request_from_data

# Cases without `requested_at` are decided at this fixed instant, so a suite
# means the same thing on every run.
DEFAULT_NOW = Instant(1_800_000_000 * SECOND)


@dataclass(frozen=True)
class Mismatch:
    """One way a decision differs from what a case expects."""

    field: str  # "decision", "obligations", "reasons", "items.<id>", "request"
    expected: str
    got: str

    def __str__(self) -> str:
        return f"{self.field}: expected {self.expected}, got {self.got}"


@dataclass(frozen=True)
class CaseResult:
    suite: str
    name: str
    file: str
    line: int
    mismatches: tuple[Mismatch, ...]  # empty when the case passed
    decision: Decision | None
    request: Request | None = None

    @property
    def passed(self) -> bool:
        return not self.mismatches

    @property
    def problems(self) -> tuple[str, ...]:
        return tuple(map(str, self.mismatches))


# Reads a case's `wire:` (a CheckRequest in the wire's JSON) as a server would, deciding at the given instant
# unless it states its own time; raises RequestDataError placed at the location given. The reader needs the
# wire's messages, which the core does not carry: the CLI supplies it (cli/wire.py).
WireReader = Callable[[Any, Instant, tuple], Request]


def case_request(document: Document, index: int, wire: WireReader | None = None) -> Request:
    """The request of case `index`; raises RequestDataError.

    Unchecked when written in the suite's words: a case may give the engine a
    request the server refuses at the door (a recipient outside the community
    of a `community_peer`), to test that the engine denies it too. A case
    written as the wire's JSON (`wire:`) is what a platform sends, so it is
    read and checked exactly as the server reads it.
    """
    data = document.data
    case = data["cases"][index]
    if "wire" in case:
        at = ("cases", index, "wire")
        if wire is None:
            raise RequestDataError("", "a case written as the wire's JSON is read by `discretion test`, which "
                                       "carries the wire's messages", at)
        return wire(case["wire"], DEFAULT_NOW, at)
    return request_from_data(case["request"], data.get("fixtures"), at=("cases", index, "request"),
                             checked=False)


def run_suite(document: Document, policy: CompiledPolicy, *, now: Instant = DEFAULT_NOW,
              traced: Callable[[tuple], None] | None = None, wire: WireReader | None = None) -> list[CaseResult]:
    """Each case's result; `traced`, when given, is handed the trace of each case's decision (coverage)."""
    data, source = document.data, document.source
    results = []
    for index, case in enumerate(data["cases"]):
        line = source.position(("cases", index))[0]
        if document.is_broken(("cases", index)):
            name = case.get("name") if isinstance(case, dict) else None
            mismatch = Mismatch("case", "a case the schema accepts", "schema errors (reported above)")
            results.append(CaseResult(data["suite"], str(name or f"case {index + 1}"), source.file, line,
                                      (mismatch,), None))
            continue
        try:
            request = case_request(document, index, wire)
        except RequestDataError as error:
            mismatch = Mismatch("request", "a request that can be built", f"`{error}`")
            results.append(CaseResult(data["suite"], case["name"], source.file, line, (mismatch,), None))
            continue
        decision = decide(policy, request, now=now, tracer=None if traced is None else [])
        if traced is not None:
            traced(decision.trace)
        mismatches = tuple(compare(case["expect"], decision))
        results.append(CaseResult(data["suite"], case["name"], source.file, line, mismatches, decision, request))
    return results


def compare(expect: dict, decision: Decision) -> list[Mismatch]:
    found = []
    if decision.decision != expect["decision"]:
        found.append(Mismatch("decision", f"`{expect['decision']}`", f"`{decision.decision}`"))
    if "obligations" in expect:
        found += _compare_obligations(expect["obligations"], decision.obligations)
    codes = sorted({f.reason_code for f in decision.findings})
    missing = [code for code in expect.get("reasons", ()) if code not in codes]
    if missing:
        found.append(Mismatch("reasons", "to include " + _words(missing), _words(codes)))
    outcomes = {i.item_id: i.outcome for i in decision.items}
    for item_id, outcome in (expect.get("items") or {}).items():
        if outcomes.get(item_id) != outcome:
            found.append(Mismatch(f"items.{item_id}", f"`{outcome}`", f"`{outcomes.get(item_id, 'no such item')}`"))
    return found


def _words(values) -> str:
    return "[" + ", ".join(f"`{v}`" for v in values) + "]"


def _compare_obligations(expected: list, actual: tuple[Obligation, ...]) -> list[Mismatch]:
    """The same types, as many of each; each spelled-out parameter matched by its own obligation."""
    want_types = sorted(e if isinstance(e, str) else e.get("type", "") for e in expected)
    got_types = sorted(o.type for o in actual)
    if want_types != got_types:
        return [Mismatch("obligations", _words(want_types), _words(got_types))]
    found = []
    unused = list(actual)
    for spec in (e for e in expected if isinstance(e, dict)):
        times = {name for name, kind in OBLIGATION_TYPES[spec["type"]].params if kind == "instant"}
        params = {k: _expected_instant(v) if k in times else _plain(v) for k, v in spec.items() if k != "type"}
        candidates = [o for o in unused if o.type == spec["type"]]
        # The obligation of this type that agrees on the most parameters: itself, or the one to compare with.
        best = max(candidates, key=lambda o: sum(_plain(getattr(o, k, None)) == v for k, v in params.items()))
        unused.remove(best)
        for key, want in params.items():
            have = _plain(getattr(best, key, None))
            if have != want:
                shown = to_iso(have) if key in times and have is not None else have
                found.append(Mismatch(f"obligations.{spec['type']}.{key}", f"`{spec[key]}`", f"`{shown}`"))
    return found


def _expected_instant(value: Any) -> Any:
    """An expected time as the obligation holds it: written as a request's times are (ISO, or POSIX seconds)."""
    try:
        # Unbounded: the engine may owe a hold past year 9999 (an embargo in
        # year 10000 UTC), which the wire writes as the last instant it has.
        return None if value is None else parse_instant(value, "", bounded=False)
    except RequestDataError:
        return value  # equal to no instant: reported as a mismatch


def _plain(value: Any) -> Any:
    """Spans and tuples as lists, so YAML expectations compare directly.

    A span of `quoted_text` is [start, end]; of another field [start, end, field],
    and of an item's text [start, end, items.text, item id].
    """
    if isinstance(value, (tuple, list)):
        return [_plain(v) for v in value]
    if isinstance(value, Span):
        if value.field in ("", "quoted_text"):
            return [value.start, value.end]
        return [value.start, value.end, value.field, *([value.item_id] if value.item_id else [])]
    return value


# ---- checking a suite ----------------------------------------------------------


def check_suite(document: Document, wire: WireReader | None = None) -> list[Diagnostic]:
    """What is wrong with the suite itself.

    An adoption of an unknown agreement is not reported: a case may adopt one on
    purpose, to test that it is denied (the failure output names the reason).
    """
    source, data = document.source, document.data
    found: list[Diagnostic] = []
    names: dict[str, int] = {}
    for index, case in enumerate(data["cases"]):
        if document.is_broken(("cases", index)):
            continue  # reported by the schema pass
        name = case["name"]
        if name in names:
            found.append(source.diagnostic(("cases", index, "name"), "duplicate_case",
                                           f"two cases are named `{name}`",
                                           help=f"the other is on line {source.position(('cases', names[name]))[0]}; "
                                                "give each case its own name"))
        names.setdefault(name, index)
        try:
            case_request(document, index, wire)
        except RequestDataError as error:
            found += request_diagnostics(error, source)
        for at, spec in enumerate((case.get("expect") or {}).get("obligations") or ()):
            kind = spec if isinstance(spec, str) else spec.get("type") if isinstance(spec, dict) else None
            if kind not in OBLIGATION_TYPES:
                found.append(source.diagnostic(("cases", index, "expect", "obligations", at), "unknown_value",
                                               f"`{kind}` is not an obligation type",
                                               help=did_you_mean(str(kind), sorted(OBLIGATION_TYPES))))
    return found
