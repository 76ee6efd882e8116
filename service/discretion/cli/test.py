"""`discretion test PATH…`: run the suites beside the agreements; `--coverage` shows what no case exercised.

Exit 0 when every case passes, 4 when one fails (or coverage is below
`--min-coverage`), 3 when a rule or suite file has errors. Paths, case
names, expected and decided values and conditions are the suites' and rules'
authors' text, so every line is escaped for the terminal (discretion/escape.py).
"""

from __future__ import annotations

import argparse
import pathlib
from typing import TextIO

from ..author.coverage import AgreementCoverage
from ..escape import terminal, terminal_lines
from ..author.testing import TestRun, run_tests
from ..errors import Diagnostic
from ..policy.suites import CaseResult
from .common import (EXIT_RULE_ERRORS, EXIT_TESTS_FAILED, EXIT_USAGE, add_rule_paths, render_with_source,
                     rule_paths)
from .wire import read_case


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "test", help="run the test suites beside the agreements",
        description="Decide every case of the suites (`*.test.yaml`) with the compiled rules and compare the "
                    "decision, obligations, reasons and item outcomes with what the case expects.")
    add_rule_paths(parser, "rule folders, suites or agreement files")
    parser.add_argument("--coverage", action="store_true",
                        help="report which rules and condition outcomes no case exercised")
    parser.add_argument("--min-coverage", type=_percent, metavar="N",
                        help="fail when fewer than N%% of the rules are exercised (implies --coverage)")
    parser.add_argument("--verbose", "-v", action="store_true", help="name every case, not only the failures")
    parser.add_argument("--format", choices=("text", "junit"), default="text",
                        help="junit: JUnit XML on standard output, for CI's test reports (the rest on standard error)")
    parser.set_defaults(func=run)


def run(args, stdout: TextIO, stderr: TextIO) -> int:
    paths = rule_paths(args)
    missing = [p for p in paths if not pathlib.Path(p).exists()]
    if missing:
        stderr.write(terminal(f"error: `{missing[0]}` does not exist") + "\n")
        return EXIT_USAGE
    coverage = args.coverage or args.min_coverage is not None
    runs = [run_tests(p, coverage=coverage, wire=read_case) for p in paths]
    if args.format == "junit":
        stdout.write(junit(runs))
        stdout = stderr  # what a person reads goes beside the report, not into it
    errors = [d for r in runs for d in r.diagnostics if d.severity == "error"]
    for diagnostic in sorted({(d.file, d.line, d.column, d.code): d for d in errors}.values(), key=Diagnostic.sort_key):
        stdout.write(render_with_source(diagnostic) + "\n")
    results = [c for r in runs for c in r.results]
    for test_run in runs:
        _write_suites(test_run, args.verbose, stdout)
    failed = [c for c in results if not c.passed]
    for case in failed:
        stdout.write(terminal_lines(_failure(case)))
    if failed:
        stdout.write("\n")
    below = False
    if coverage:
        for test_run in runs:
            if test_run.coverage is not None:
                below |= _write_coverage(test_run, args.min_coverage, stdout)
    if not any(r.suites for r in runs) and not errors:
        stderr.write("error: no test suites (`*.test.yaml`) found\n")
        return EXIT_TESTS_FAILED
    summary = f"{len(results) - len(failed)} passed" + (f", {len(failed)} failed" if failed else "")
    stdout.write(summary + "\n")
    if errors:
        return EXIT_RULE_ERRORS
    return EXIT_TESTS_FAILED if failed or below else 0


def _percent(text: str) -> float:
    try:
        value = float(text.rstrip("%"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a percentage, got `{text}`") from None
    if not 0 <= value <= 100:
        raise argparse.ArgumentTypeError(f"expected 0 to 100, got `{text}`")
    return value


def _write_suites(test_run: TestRun, verbose: bool, stdout: TextIO) -> None:
    width = max((len(str(s.path)) for s in test_run.suites), default=0)
    lines = []
    for suite in test_run.suites:
        if suite.document is None:
            lines.append(f"{str(suite.path):<{width}}  not run: the file has errors")
            continue
        failed = len(suite.failed)
        counts = f"{len(suite.results) - failed} passed" + (f", {failed} failed" if failed else "")
        lines.append(f"{str(suite.path):<{width}}  {counts}")
        if verbose:
            lines += [f"  {'ok  ' if case.passed else 'FAIL'} {case.name}" for case in suite.results]
    stdout.write(terminal_lines(lines))


def _failure(case: CaseResult) -> list[str]:
    lines = ["", f"FAIL {case.file}:{case.line}: {case.name}"]
    for mismatch in case.mismatches:
        lines.append(f"  - {mismatch.field}: {mismatch.expected}")
        lines.append(f"  + {mismatch.field}: {mismatch.got}")
    if case.decision is not None:
        lines.append(f"  reason: {case.decision.reason}")
        decided = [f"{f.rule_key} {f.effect} [{f.reason_code}]" if f.rule
                   else f"{f.effect} [{f.reason_code}]" for f in case.decision.findings]
        if decided:
            lines.append("  decided by: " + "; ".join(dict.fromkeys(decided)))
    return lines


def _write_coverage(test_run: TestRun, minimum: float | None, stdout: TextIO) -> bool:
    """Write the coverage table and what was not exercised; True when below `minimum`."""
    report = test_run.coverage.report(test_run.agreements)
    cases = len(test_run.results)
    stdout.write(terminal_lines(["", f"coverage of {test_run.path} by {cases} case{'s' if cases != 1 else ''}:"]))
    rows = [(f"{a.agreement}@{a.version}", _ratio(a.exercised, len(a.rules)), _ratio(*a.outcomes)) for a in report]
    rules_total = (sum(a.exercised for a in report), sum(len(a.rules) for a in report))
    outcomes_total = (sum(a.outcomes[0] for a in report), sum(a.outcomes[1] for a in report))
    if len(rows) > 1:
        rows.append(("all", _ratio(*rules_total), _ratio(*outcomes_total)))
    widths = [max(len(r[i]) for r in rows + [("agreement", "rules", "")]) for i in range(2)]
    stdout.write(f"  {'agreement':<{widths[0]}}  {'rules':<{widths[1]}}  condition outcomes\n")
    for name, rules, outcomes in rows:
        stdout.write(f"  {name:<{widths[0]}}  {rules:<{widths[1]}}  {outcomes}\n".rstrip() + "\n")
    gaps = _gaps(report)
    if gaps:
        stdout.write(terminal_lines(["not exercised:", *(f"  {gap}" for gap in gaps)]))
    percent = _percent_of(*rules_total)
    if minimum is not None and percent < minimum:
        stdout.write(f"rule coverage {percent:g}% is below the minimum {minimum:g}%\n")
        return True
    return False


def _ratio(seen: int, total: int) -> str:
    if total == 0:
        return "—"
    return f"{seen}/{total} {_percent_of(seen, total):g}%"


def _percent_of(seen: int, total: int) -> float:
    # Rounded down, so 100% means every one.
    return 100.0 if total == 0 else int(1000 * seen / total) / 10


def _gaps(report: list[AgreementCoverage]):
    """What no case exercised, in file order."""
    found = []
    for agreement in report:
        for use in agreement.rules:
            if not use.exercised:
                found.append((use.file, use.line, use.column, f"rule `{use.key[2]}` never applied"))
                continue
            for entry in use.entries:
                missing = [word for word, count in (("held", entry.held), ("failed", entry.failed)) if not count]
                if missing:
                    what = "was never evaluated" if len(missing) == 2 else f"never {missing[0]}"
                    found.append((entry.file, entry.line, entry.column, f"`{entry.text}` {what} (rule `{use.key[2]}`)"))
    return [f"{file}:{line}:{column}: {text}" for file, line, column, text in sorted(found)]


def junit(runs: list[TestRun]) -> str:
    """The runs as JUnit XML: a <testsuite> per suite, a <testcase> per case, a <failure> per failed case with
    what differed, an <error> per suite that could not run and per rule error. Every text is escaped for the
    terminal first (authors' text may hold control characters, which XML 1.0 cannot carry)."""
    from xml.etree import ElementTree as ET

    root = ET.Element("testsuites", name="discretion test")
    errors = sorted({(d.file, d.line, d.column, d.code): d for r in runs for d in r.rules.diagnostics
                     if d.severity == "error"}.values(), key=Diagnostic.sort_key)
    if errors:
        rules = ET.SubElement(root, "testsuite", name="rules", tests="1", failures="0", errors="1")
        case = ET.SubElement(rules, "testcase", classname="rules", name="the rules compile")
        ET.SubElement(case, "error", message=terminal(f"{len(errors)} rule errors"), type="rule_errors").text = \
            terminal("\n".join(d.render() for d in errors))
    total = failures = suite_errors = 0
    for test_run in runs:
        for suite in test_run.suites:
            failed = suite.failed
            element = ET.SubElement(root, "testsuite", name=terminal(str(suite.path)), file=terminal(str(suite.path)),
                                    tests=str(len(suite.results) or 1), failures=str(len(failed)),
                                    errors="0" if suite.document is not None else "1")
            if suite.document is None:
                suite_errors += 1
                case = ET.SubElement(element, "testcase", classname=terminal(str(suite.path)), name="the suite reads")
                ET.SubElement(case, "error", message="the file has errors", type="suite_errors").text = \
                    terminal("\n".join(d.render() for d in suite.diagnostics))
                continue
            for result in suite.results:
                total += 1
                case = ET.SubElement(element, "testcase", classname=terminal(result.suite or str(suite.path)),
                                     name=terminal(result.name), file=terminal(result.file), line=str(result.line))
                if not result.passed:
                    failures += 1
                    ET.SubElement(case, "failure", message=terminal("; ".join(result.problems)),
                                  type="mismatch").text = "\n".join(terminal(line) for line in _failure(result)[1:])
    root.set("tests", str(total + bool(errors) + suite_errors))
    root.set("failures", str(failures))
    root.set("errors", str(bool(errors) + suite_errors))
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"

