"""Running a test suite: each case's request through `decide()`, compared with what it expects.

Expectations are exact where they matter to a group: the decision, the set of
obligation types (with any parameters the case spells out), the outcome of
each item named. Reason codes listed must all appear among the findings.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..engine import decide
from ..engine.compiled import CompiledPolicy
from ..engine.model import Decision, Obligation
from .load import Document
from .requests import RequestDataError, request_from_data

# Cases without `requested_at` are decided at this fixed instant, so a suite
# means the same thing on every run.
DEFAULT_NOW = 1_800_000_000.0


@dataclass(frozen=True)
class CaseResult:
    suite: str
    name: str
    file: str
    line: int
    problems: tuple[str, ...]  # empty when the case passed
    decision: Decision | None

    @property
    def passed(self) -> bool:
        return not self.problems


def run_suite(document: Document, policy: CompiledPolicy) -> list[CaseResult]:
    data, source = document.data, document.source
    fixtures = data.get("fixtures") or {}
    results = []
    for index, case in enumerate(data["cases"]):
        line = source.position(("cases", index))[0]
        try:
            request = request_from_data(case["request"], fixtures)
        except RequestDataError as error:
            results.append(CaseResult(data["suite"], case["name"], source.file, line,
                                      (f"request.{error}",), None))
            continue
        decision = decide(policy, request, now=DEFAULT_NOW)
        problems = tuple(compare(case["expect"], decision))
        results.append(CaseResult(data["suite"], case["name"], source.file, line, problems, decision))
    return results


def compare(expect: dict, decision: Decision) -> list[str]:
    problems = []
    if decision.decision != expect["decision"]:
        problems.append(f"decision: expected `{expect['decision']}`, got `{decision.decision}` ({decision.reason})")
    if "obligations" in expect:
        problems += _compare_obligations(expect["obligations"], decision.obligations)
    codes = {f.reason_code for f in decision.findings}
    for code in expect.get("reasons", ()):
        if code not in codes:
            problems.append(f"reasons: expected `{code}` among {sorted(codes)}")
    outcomes = {i.item_id: i.outcome for i in decision.items}
    for item_id, outcome in (expect.get("items") or {}).items():
        if outcomes.get(item_id) != outcome:
            problems.append(f"items: expected `{item_id}` {outcome}, got {outcomes.get(item_id, 'nothing')}")
    return problems


def _compare_obligations(expected: list, actual: tuple[Obligation, ...]) -> list[str]:
    problems = []
    want_types = sorted(e if isinstance(e, str) else e["type"] for e in expected)
    got_types = sorted(o.type for o in actual)
    if want_types != got_types:
        problems.append(f"obligations: expected {want_types}, got {got_types}")
        return problems
    for spec in expected:
        if isinstance(spec, str):
            continue
        candidates = [o for o in actual if o.type == spec["type"]]
        if not any(_matches(spec, o) for o in candidates):
            shown = [{k: _plain(getattr(o, k, None)) for k in spec if k != "type"} for o in candidates]
            wanted = {k: v for k, v in spec.items() if k != "type"}
            problems.append(f"obligations: `{spec['type']}` expected {wanted}, got {shown}")
    return problems


def _matches(spec: dict, obligation: Obligation) -> bool:
    return all(_plain(getattr(obligation, k, None)) == _plain(v) for k, v in spec.items() if k != "type")


def _plain(value: Any) -> Any:
    """Spans as [start, end] pairs and tuples as lists, so YAML expectations compare directly."""
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if hasattr(value, "start") and hasattr(value, "end"):
        return [value.start, value.end]
    return value
