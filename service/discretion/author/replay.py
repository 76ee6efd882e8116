"""Replaying recorded requests against old and new rules, to see which decisions a change would alter.

A replay file holds requests in the request-data format of policy/requests.py:

- JSON lines (`.jsonl`, `.ndjson`, `.json`): one request per line, or
  `{"request": …, "fixtures": …}`;
- YAML: one request, a list of them, `{requests: […], fixtures: …}`, or a test
  suite (each case's request, with the suite's fixtures).

Lines of the server's decision log may be mixed in.
They deliberately carry no content — no people, no items, no text — so they
cannot be decided again. What they do carry (the group, the action, the
destination kind, the agreement versions that governed and the rules that
decided) is enough to say whether the change can affect them. A decision
depends only on the request's facts and on:

- the rules indexed for its action and destination kind in the versions that
  governed it, and for its action toward `public` (a destination the public
  can reach is judged as public too, and the line does not say whether it
  could), with those versions' default labels, floors and freezes;
- which versions of those agreements exist and when each was published: an
  adoption of version 0 follows the latest published, so a version added (or
  published earlier) governs what the line's version governed;
- the group's binding (rules/bindings.yaml), the floor of its terms: a line of
  a group whose binding changed may change whatever governed it; a line whose
  group is logged as a hash (`--decision-log-hash-ids`) may be of any group;
- the rules that read a label scheme, in every version of the agreement that
  defines it: an item carries its label's terms into any group;
- the label schemes and the platform-wide versions.

When none of those changed, the decision is unchanged; otherwise the line is
reported as one that may change.
"""

from __future__ import annotations

import json
import pathlib
import re
from dataclasses import dataclass, field
from typing import Any

from ..engine import decide
from ..engine.model import Decision, Instant, Request
from ..policy import model
from ..policy.requests import RequestDataError, RequestRefused, request_from_data
from ..errors import Diagnostic
from ..source import decode, parse, parse_json
from .instrument import key_of, written_rules
from .workspace import RuleSet

JSON_SUFFIXES = (".jsonl", ".ndjson", ".json")


@dataclass(frozen=True)
class Replayed:
    where: str  # file:line, with the case's name for a suite
    request: Request
    old: Decision
    new: Decision

    @property
    def changed(self) -> bool:
        return self.old.decision != self.new.decision or self.old.obligations != self.new.obligations


@dataclass(frozen=True)
class LoggedDecision:
    where: str
    record: dict
    may_change: bool | None  # None: the record lacks what the comparison needs
    why: str


@dataclass
class ReplayResult:
    file: str
    replayed: list[Replayed] = field(default_factory=list)
    logged: list[LoggedDecision] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # entries that are neither: `file:line: why`

    @property
    def changed(self) -> list[Replayed]:
        return [r for r in self.replayed if r.changed]

    @property
    def may_change(self) -> list[LoggedDecision]:
        return [r for r in self.logged if r.may_change is not False]

    @property
    def changed_anything(self) -> bool:
        return bool(self.changed or self.may_change)


@dataclass(frozen=True)
class _Entry:
    where: str
    request: Request | None = None
    record: dict | None = None
    problem: str = ""


def replay(path: pathlib.Path, old: RuleSet, new: RuleSet, *, now: Instant) -> ReplayResult:
    """Decide every request of the file with both rule sets, at `now` when it has no `requested_at`."""
    result = ReplayResult(str(path))
    slices = _Slices(old), _Slices(new)
    for entry in read_entries(path):
        if entry.problem:
            result.problems.append(f"{entry.where}: {entry.problem}")
        elif entry.request is not None:
            result.replayed.append(Replayed(entry.where, entry.request, decide(old.policy, entry.request, now=now),
                                            decide(new.policy, entry.request, now=now)))
        elif entry.record is not None:
            result.logged.append(_compare_record(entry.where, entry.record, *slices))
    return result


# ---- reading --------------------------------------------------------------------------


def read_entries(path: pathlib.Path) -> list[_Entry]:
    text, problems = _read(path)
    if text is None:
        return [_Entry(f"{p.file}:{p.line}:{p.column}", problem=p.message) for p in problems]
    if path.suffix in JSON_SUFFIXES:
        return [_json_line(str(path), number, line) for number, line in enumerate(text.splitlines(), 1)
                if line.strip()]
    return _yaml_entries(str(path), text)


def _read(path: pathlib.Path) -> tuple[str | None, list[Diagnostic]]:
    try:
        content = path.read_bytes()
    except OSError as error:
        return None, [Diagnostic("no_rules", f"cannot read the file ({error.strerror})", str(path), 1, 1)]
    return decode(content, str(path))


def is_log_record(data: dict) -> bool:
    """A decision-log line: a decision with no request facts."""
    return "decision" in data and not {"actor", "items"} <= data.keys() and "request" not in data


def _json_line(file: str, number: int, line: str) -> _Entry:
    where = f"{file}:{number}"
    data, problems = parse_json(line, file, number)
    if problems:
        return _Entry(f"{where}:{problems[0].column}", problem=problems[0].message)
    if not isinstance(data, dict):
        return _Entry(where, problem="a line holds one JSON object")
    if is_log_record(data):
        return _Entry(where, record=data)
    body, fixtures = (data["request"], data.get("fixtures")) if "request" in data else (data, None)
    return _request_entry(where, body, fixtures)


def _request_entry(where: str, body: Any, fixtures: Any, at: tuple = ()) -> _Entry:
    try:
        return _Entry(where, request_from_data(body, fixtures, at=at))
    except RequestRefused as error:
        return _Entry(where, problem=f"a server refuses this request (INVALID_ARGUMENT): {error}")
    except RequestDataError as error:
        return _Entry(where, problem=f"not a request: {error}")


def _yaml_entries(file: str, text: str) -> list[_Entry]:
    source, problems = parse(text, file)
    if problems:
        return [_Entry(f"{p.file}:{p.line}:{p.column}", problem=p.message) for p in problems]
    data = source.data

    def where(path: tuple, name: str = "") -> str:
        line = source.position(path)[0]
        return f"{file}:{line}" + (f" ({name})" if name else "")

    if isinstance(data, list):
        return [_request_entry(where((i,)), *_split(element), at=(i,)) for i, element in enumerate(data)]
    if not isinstance(data, dict):
        return [_Entry(file, problem="expected requests: a mapping, a list, or a suite")]
    fixtures = data.get("fixtures")
    if isinstance(data.get("cases"), list):
        return [_request_entry(where(("cases", i)), case.get("request"), fixtures, at=("cases", i, "request"))
                if isinstance(case, dict) else _Entry(where(("cases", i)), problem="a case is a mapping")
                for i, case in enumerate(data["cases"])]
    if isinstance(data.get("requests"), list):
        return [_request_entry(where(("requests", i)), body, fixtures, at=("requests", i))
                for i, body in enumerate(data["requests"])]
    if "request" in data:
        return [_request_entry(where(("request",)), data["request"], fixtures)]
    if is_log_record(data):
        return [_Entry(where(()), record=data)]
    return [_request_entry(where(()), {k: v for k, v in data.items() if k != "fixtures"}, fixtures)]


def _split(element: Any) -> tuple[Any, Any]:
    if isinstance(element, dict) and "request" in element:
        return element["request"], element.get("fixtures")
    return element, None


def case_names(path: pathlib.Path) -> dict[str, str]:
    """For a suite: each case's `file:line` → its name, to label what changed."""
    text = None if path.suffix in JSON_SUFFIXES else _read(path)[0]
    if text is None:
        return {}
    source, problems = parse(text, str(path))
    cases = source.data.get("cases") if not problems and isinstance(source.data, dict) else None
    if not isinstance(cases, list):
        return {}
    return {f"{path}:{source.position(('cases', i))[0]}": c.get("name", "") for i, c in enumerate(cases)
            if isinstance(c, dict)}


# ---- decision-log lines ------------------------------------------------------------------


# A group id as `--decision-log-hash-ids` logs it: HMAC-SHA256 in hex.
_HASHED_ID = re.compile(r"[0-9a-f]{64}")


class _Slices:
    """What a logged decision depended on, as comparable text, in one rule set."""

    def __init__(self, rules: RuleSet):
        self.policy = rules.policy
        self.written = {}
        for rule in written_rules(rules.documents):
            self.written.setdefault(rule.key, model.without_paths(rule.rule))
        schemes = {n: (s.order, dict(s.aliases)) for n, s in self.policy.label_schemes.items()}
        platform = {a: [(v.version, v.effective_from, v.disclosed_at) for v in self.policy.versions[a].values()]
                    for a in self.policy.platform_wide}
        self.shared = json.dumps([schemes, platform], sort_keys=True, default=str)
        # What a request refused before any rule is read depends on: the agreements and bindings known.
        self.catalog = json.dumps([sorted(f"{a}@{n}" for a, numbered in self.policy.versions.items()
                                          for n in numbered), repr(sorted(self.policy.bindings.items()))])
        # Per agreement, its versions and when each was published: what "version 0" resolves to.
        self.published = {agreement: [[n, v.published_at] for n, v in sorted(numbered.items())]
                          for agreement, numbered in self.policy.versions.items()}
        self.bindings = {group: repr(adoptions) for group, adoptions in self.policy.bindings.items()}
        # The agreements that define label schemes: their rules judge labelled items in any group.
        self.interpreting = sorted({s.agreement for s in self.policy.label_schemes.values()})

    def of(self, governing: list[str], action: str, kind: str) -> str:
        keys = [(action, kind)] + ([(action, "public")] if kind != "public" else [])
        parts = []
        for key in governing:
            agreement, _, number = key.rpartition("@")
            # A number of a few ASCII digits: `int()` of 5,000 digits raises, and `١` is a digit to `isdigit()`.
            found = number.isascii() and number.isdigit() and len(number) < 10
            version = self.policy.versions.get(agreement, {}).get(int(number)) if found else None
            if version is None:
                parts.append([key, None])
                continue
            parts.append([key, self._rules(version, keys), dict(version.default_labels), dict(version.label_floors),
                          version.authors_may_restrict_later, sorted(version.frozen_schemes),
                          self.published[agreement]])
        for agreement in self.interpreting:
            for version in self.policy.versions[agreement].values():
                parts.append([version.key, version.published_at,
                              self._rules(version, keys, reading_labels=True)])
        return json.dumps(parts, sort_keys=True, default=str) + self.shared

    def _rules(self, version, keys: list[tuple[str, str]], reading_labels: bool = False) -> list:
        return [[key, [self.written.get(key_of(r)) for r in version.index.get(key, ())
                       if r.schemes or not reading_labels]] for key in keys]


def _binding_changed(group: object, old: _Slices, new: _Slices) -> str:
    """Why a change of the bindings may reach a line of `group`; "" when it cannot."""
    if old.bindings == new.bindings:
        return ""
    if not isinstance(group, str):
        return "the bindings changed, and the line does not name its group"
    if old.bindings.get(group) != new.bindings.get(group):
        return "its group's binding changed"
    if _HASHED_ID.fullmatch(group) and group not in old.bindings and group not in new.bindings:
        return "the bindings changed, and the line names its group by a hash"
    return ""


def _compare_record(where: str, record: dict, old: _Slices, new: _Slices) -> LoggedDecision:
    action, kind = record.get("action"), record.get("destination_kind")
    governing = record.get("agreements")
    if governing == [] and old.catalog == new.catalog:
        return LoggedDecision(where, record, False, "refused before any rule, and the agreements known did not change")
    if not isinstance(action, str) or not isinstance(kind, str) or not isinstance(governing, list) or not governing:
        return LoggedDecision(where, record, None, "the line does not say which agreement versions governed it")
    bound = _binding_changed(record.get("group_id"), old, new)
    if bound:
        return LoggedDecision(where, record, True, bound)
    keys = [str(k) for k in governing]
    if old.of(keys, action, kind) == new.of(keys, action, kind):
        return LoggedDecision(where, record, False, "the rules that could apply to it did not change")
    return LoggedDecision(where, record, True, "rules that could apply to it changed; the line carries no request "
                                               "facts to decide it again")
