"""`discretion diff OLD_DIR NEW_DIR`: what a change to the rules would decide differently, before it ships.

Every matrix cell whose outcome changes, every rule added, removed or changed,
and with `--replay FILE` every recorded request whose decision would change.
Exit 0 when nothing changed, 1 when something did (so CI can gate on it), 2 on
a usage error or an unreadable replay file, 3 when either side has rule errors.
Names, case names and the fields of replayed decision-log lines are other
people's text, so every line is escaped for the terminal (discretion/escape.py).
"""

from __future__ import annotations

import pathlib
import time
from typing import TextIO

from ..escape import terminal, terminal_lines
from ..author.impact import Impact, compare
from ..author.matrix import Outcome
from ..author.replay import ReplayResult, case_names, replay
from ..engine.model import Decision
from ..engine.obligations import OBLIGATION_TYPES
from ..policy.requests import RequestDataError, parse_instant
from .common import EXIT_CHANGED, EXIT_RULE_ERRORS, EXIT_USAGE, load_or_report


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "diff", help="what a change to the rules would decide differently",
        description="Compare two rules folders: every matrix cell whose outcome changes, every rule added, "
                    "removed or changed, and with --replay every recorded request decided differently. "
                    "Exit 0 when nothing changed, 1 when something did.")
    parser.add_argument("old", metavar="OLD_DIR", help="the rules in force")
    parser.add_argument("new", metavar="NEW_DIR", help="the rules as changed")
    parser.add_argument("--replay", metavar="FILE", action="append", default=[],
                        help="requests to decide with both (JSON lines, YAML, a test suite, or decision-log "
                             "lines); may be given more than once")
    parser.add_argument("--now", metavar="TIME",
                        help="the time to decide replayed requests that have no `requested_at` (default: now)")
    parser.set_defaults(func=run)


def run(args, stdout: TextIO, stderr: TextIO) -> int:
    missing = [p for p in [*args.replay] if not pathlib.Path(p).is_file()]
    if missing:
        stderr.write(terminal(f"error: `{missing[0]}` is not a file") + "\n")
        return EXIT_USAGE
    try:
        now = parse_instant(args.now, "--now") if args.now else time.time_ns()
    except RequestDataError as error:
        stderr.write(terminal(f"error: {error}") + "\n")
        return EXIT_USAGE
    old, new = load_or_report(args.old, stderr), load_or_report(args.new, stderr)
    if old is None or new is None:
        return EXIT_RULE_ERRORS
    impact = compare(old, new)
    replays = [replay(pathlib.Path(p), old, new, now=now) for p in args.replay]
    stdout.write(render(impact, replays, args.old, args.new))
    problems = [p for r in replays for p in r.problems]
    for problem in problems:
        stderr.write(terminal(f"error: {problem}") + "\n")
    if problems:
        return EXIT_USAGE
    changed = impact.changed or any(r.changed_anything for r in replays)
    return EXIT_CHANGED if changed else 0


def render(impact: Impact, replays: list[ReplayResult], old: str, new: str) -> str:
    lines: list[str] = []
    if impact.cells:
        lines.append(f"matrix cells that change ({len(impact.cells)}):")
        for version in dict.fromkeys(c.version for c in impact.cells):
            lines.append(f"  {version}")
            for cell in (c for c in impact.cells if c.version == version):
                table = f" [{cell.table}]" if cell.table != "no label" else ""
                lines.append(f"    {cell.action} → {cell.destination}{table}: "
                             f"{_change(_of_outcome(cell.old), _of_outcome(cell.new))}")
    if impact.changes:
        lines.append(f"changes to the rules ({len(impact.changes)}):")
        for change in impact.changes:
            where = f"  ({change.where})" if change.where else ""
            lines.append(f"  {change.kind} {change.what} {change.change}{where}")
    for result in replays:
        lines += _replay_lines(result)
    if not impact.changed and not any(r.changed_anything for r in replays):
        replayed = sum(len(r.replayed) for r in replays)
        also = f" and the {replayed} replayed request{'s' if replayed != 1 else ''}" if replays else ""
        lines.append(f"no change: `{old}` and `{new}` decide every matrix cell{also} alike")
    return terminal_lines(lines)


def _change(before: tuple[str, list[str]], after: tuple[str, list[str]]) -> str:
    """`allow → deny`, or for the same decision what is no longer and what is newly owed."""
    (was, owed_before), (now, owed_after) = before, after
    if was != now:
        owed = f" ({', '.join(owed_after)})" if owed_after else ""
        return f"{was} → {now}{owed}"
    gone = [o for o in owed_before if o not in owed_after]
    added = [o for o in owed_after if o not in owed_before]
    parts = ([f"no longer owes {', '.join(gone)}"] if gone else []) + ([f"now owes {', '.join(added)}"] if added else [])
    return f"{now}, " + "; ".join(parts)


def _of_outcome(outcome: Outcome) -> tuple[str, list[str]]:
    return outcome.decision, [f"{t}: {p}" if p else t for t, p in outcome.obligations]


def _of_decision(decision: Decision) -> tuple[str, list[str]]:
    order = {name: i for i, name in enumerate(OBLIGATION_TYPES)}
    owed = {(o.type, o.notice or o.label or o.scope) for o in decision.obligations}
    return decision.decision, [f"{t}: {p}" if p else t for t, p in sorted(owed, key=lambda o: (order.get(o[0], 99), o))]


def _replay_lines(result: ReplayResult) -> list[str]:
    names = case_names(pathlib.Path(result.file))
    total = len(result.replayed)
    lines = [f"replay of {result.file}: {len(result.changed)} of {total} request{'s' if total != 1 else ''} "
             "decided differently"]
    for replayed in result.changed:
        name = f" {names[replayed.where]}" if replayed.where in names else ""
        lines.append(f"  {replayed.where}:{name}")
        lines.append(f"    {_change(_of_decision(replayed.old), _of_decision(replayed.new))}{_reasons(replayed.new)}")
    if result.logged:
        unknown = [r for r in result.logged if r.may_change is None]
        touched = [r for r in result.logged if r.may_change]
        lines.append(f"  {len(result.logged)} decision-log line{'s' if len(result.logged) != 1 else ''} carry no "
                     f"request facts to decide again; {len(touched)} of them were decided under rules this change "
                     "touches" + (f", {len(unknown)} do not say which rules governed" if unknown else ""))
        lines += [f"  {r.where}: may change ({r.record.get('action')} → {r.record.get('destination_kind')}, "
                  f"was {r.record.get('decision')})" for r in touched]
    return lines


def _reasons(decision: Decision) -> str:
    if decision.decision != "deny":
        return ""
    codes = list(dict.fromkeys(f.reason_code for f in decision.findings if f.effect == "deny"))
    return f" [{', '.join(codes)}]" if codes else ""
