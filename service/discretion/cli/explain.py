"""`discretion explain REQUEST.yaml`: why the rules decide a request as they do, for a person to read.

The same trace the API returns for `explain: true`, grouped per item: the
agreement versions that govern it, the rules that decided, the rules whose
condition did not hold (and which entry failed), then the decision with its
obligations, and a note for each consent that no rule deciding its item reads.
Ids, messages and conditions are the request's and the rules' authors' text,
so every line is escaped for the terminal (discretion/escape.py).
"""

from __future__ import annotations

import pathlib
import re
import sys
import time
from typing import TextIO

from ..escape import terminal, terminal_lines
from ..author.explain import Explanation, RequestFileError, explain, read_request_file
from ..engine.instants import to_iso
from ..engine.model import Obligation
from ..policy.requests import RequestDataError, RequestRefused, parse_instant
from .common import EXIT_RULE_ERRORS, EXIT_USAGE, load_or_report, render_with_source
from .wire import read_check_request


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "explain", help="decide one request and show why, item by item",
        description="Decide the request in a file (the wire's JSON, as grpcurl takes it; or YAML: its fields, "
                    "or `request:` with `fixtures:`, or a suite with `--case`) and show, per item, the governing "
                    "agreement versions, the rules that "
                    "decided, the conditions that did not hold, and the decision with its obligations.")
    parser.add_argument("request", metavar="REQUEST.yaml", help="the request file; `-` reads standard input")
    parser.add_argument("--rules", default="rules", metavar="DIR", help="the rules directory (default: rules)")
    parser.add_argument("--case", metavar="NAME", help="when the file is a suite: the case's name or number")
    parser.add_argument("--now", metavar="TIME",
                        help="the time to decide at when the request has no `requested_at` (default: now)")
    parser.set_defaults(func=run)


def run(args, stdout: TextIO, stderr: TextIO) -> int:
    try:
        content = sys.stdin.buffer.read() if args.request == "-" else pathlib.Path(args.request).read_bytes()
    except OSError as error:
        stderr.write(terminal(f"error: cannot read `{args.request}`: {error.strerror}") + "\n")
        return EXIT_USAGE
    try:
        now = parse_instant(args.now, "--now") if args.now else time.time_ns()
    except RequestDataError as error:
        stderr.write(terminal(f"error: {error}") + "\n")
        return EXIT_USAGE
    request = _wire_request(content, args, now, stderr)
    if request is None:
        try:
            request = read_request_file(content, "<stdin>" if args.request == "-" else args.request, args.case)
        except RequestFileError as error:
            for diagnostic in error.diagnostics:
                stderr.write(render_with_source(diagnostic) + "\n")
            return EXIT_USAGE
    elif isinstance(request, int):
        return request
    rules = load_or_report(args.rules, stderr)
    if rules is None:
        return EXIT_RULE_ERRORS
    stdout.write(render(explain(rules.policy, request, now=now)))
    return 0


def _wire_request(content: bytes, args, now: int, stderr: TextIO):
    """The request of a file written as the wire's JSON (what grpcurl and the HTTP face take: `requestedAt`,
    `ACTION_QUOTE`), read as a server with its default clock skew reads it at `now` (`--now`, or the clock):
    decided at that instant, a time or event stamped further ahead refused, as the server would; None when the
    file is no such JSON (then it is the suite's YAML), or EXIT_USAGE after saying what the server would refuse."""
    if args.case is not None or not content.lstrip().startswith(b"{"):
        return None
    try:
        text = content.decode("utf-8")
    except UnicodeDecodeError:
        return None  # not JSON at all: the request file's reader says what it is
    try:
        return read_check_request(text, now)
    except RequestRefused as error:
        for violation in error.violations:
            stderr.write(terminal(f"{args.request}: `{violation.field}`: {violation.description} "
                                  "[invalid_argument]") + "\n")
        return EXIT_USAGE
    except RequestDataError as error:
        if not _wire_shaped(content):
            return None  # not the wire's JSON: read as a request file, whose errors say where
        stderr.write(terminal(f"{args.request}: the wire's JSON {error} [bad_request]") + "\n")
        return EXIT_USAGE


_CAMEL = re.compile(r"[a-z][a-z0-9]*[A-Z][A-Za-z0-9]*")


def _wire_shaped(content: bytes) -> bool:
    """Whether JSON that does not read as a CheckRequest was meant as one: a key in camelCase (`postedAt`) or a
    value one of the wire's enum names (`ACTION_QUOTE`). Its own fault is then named, not the words a YAML
    request uses."""
    import json

    from ..server._gen.discretion.v1 import policy_pb2

    wire_words = {value.name for enum in policy_pb2.DESCRIPTOR.enum_types_by_name.values() for value in enum.values}
    try:
        data = json.loads(content.decode("utf-8-sig"))
    except (ValueError, UnicodeDecodeError, RecursionError):
        return False
    stack = [data]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if any(isinstance(key, str) and _CAMEL.fullmatch(key) for key in node):
                return True
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
        elif isinstance(node, str) and node in wire_words:
            return True
    return False


def render(explanation: Explanation) -> str:
    request, decision = explanation.request, explanation.decision
    at = request.requested_at if request.requested_at is not None else explanation.now
    count = len(request.items)
    lines = [f"{request.action} of {count} item{'s' if count != 1 else ''} to {request.destination.kind or '?'} "
             f"by {request.actor.id or '?'} at {to_iso(at)}"]
    lines += [f"  {line}" for line in explanation.other]
    for item in explanation.items:
        lines += ["", f"item {item.item_id}: {item.outcome or decision.decision}"]
        if item.governed_by:
            lines.append(f"  governed by {item.governed_by}")
        width = max((len(where) for where, _ in item.decided + item.not_applicable), default=0)
        lines += _table("decided", item.decided, width)
        lines += _table("did not apply", item.not_applicable, width)
        lines += [f"  {line}" for line in item.other]
    lines += ["", f"decision: {decision.decision}"]
    if decision.obligations:
        width = max(len(o.type) for o in decision.obligations)
        lines.append("  obligations:")
        lines += [f"    {o.type:<{width}}  {_details(o)}".rstrip() for o in decision.obligations]
    lines.append(f"  reason: {decision.reason}")
    if explanation.notes:
        lines += [""] + [f"note: {note}" for note in explanation.notes]
    return terminal_lines(lines)


def _table(title: str, rows: list[tuple[str, str]], width: int) -> list[str]:
    if not rows:
        return []
    return [f"  {title}:"] + [f"    {where:<{width}}  {what}" for where, what in rows]


def _details(obligation: Obligation) -> str:
    parts = []
    if obligation.item_ids:
        parts.append("items " + ", ".join(obligation.item_ids))
    if obligation.person_ids:
        parts.append("people " + ", ".join(obligation.person_ids))
    if obligation.spans:
        parts.append("text " + ", ".join(f"{_field(s)}{s.start}–{s.end} ({s.reveals})" for s in obligation.spans))
    if obligation.names:
        parts.append("names " + ", ".join(obligation.names))
    for name in ("scope", "label", "notice", "descriptor", "link"):
        if value := getattr(obligation, name):
            parts.append(f"{name} {value}")
    if obligation.until is not None:
        parts.append(f"until {to_iso(obligation.until)}")
    return "; ".join(parts)


def _field(span) -> str:
    """Where a span points, unless it is the quote itself: `items[m-1].text `, `attribution.descriptor `."""
    if span.field in ("", "quoted_text"):
        return ""
    return f"items[{span.item_id}].text " if span.field == "items.text" else f"{span.field} "
