"""`discretion lint PATH…`: every problem in the rules and their test suites at once, where it is and how to fix it.

Exit 0 when clean, 3 when there are errors (warnings fail only with --strict).
"""

from __future__ import annotations

import json
import pathlib
from typing import TextIO

from ..author.workspace import find_suites, is_suite, load_rules, load_suite
from ..errors import Diagnostic
from .. import __version__
from ..policy.suites import check_suite
from .common import EXIT_RULE_ERRORS, add_rule_paths, render_with_source, rule_paths
from .wire import read_case

__all__ = ["lint_paths", "register", "render_with_source"]


def register(subparsers) -> None:
    parser = subparsers.add_parser("lint", help="check rule files and suites; report every problem with its place",
                                   description="Check rule files and their test suites against the schema and "
                                               "for mistakes of meaning, and report every problem at once.")
    add_rule_paths(parser, "rule folders or files")
    parser.add_argument("--format", choices=("text", "json", "sarif"), default="text",
                        help="sarif: SARIF 2.1.0, which code-scanning services show on the lines at fault")
    parser.add_argument("--strict", action="store_true", help="fail on warnings too")
    parser.set_defaults(func=run)


def lint_paths(paths: list[str]) -> list[Diagnostic]:
    """Every diagnostic of the rules under `paths` and of the suites beside them, sorted."""
    found: list[Diagnostic] = []
    for path in map(pathlib.Path, paths):
        if not (path.is_file() and is_suite(path)):
            found += load_rules(path).diagnostics
        for suite in find_suites(path) if path.exists() else ():
            document, problems = load_suite(suite)
            found += problems
            if document is not None:
                found += check_suite(document, read_case)
    unique = {(d.file, d.line, d.column, d.code, d.message): d for d in found}
    return sorted(unique.values(), key=Diagnostic.sort_key)


def run(args, stdout: TextIO, stderr: TextIO) -> int:
    diagnostics = lint_paths(rule_paths(args))
    if args.format == "json":
        json.dump({"diagnostics": [d.to_dict() for d in diagnostics]}, stdout, indent=2)
        stdout.write("\n")
    elif args.format == "sarif":
        json.dump(sarif(diagnostics), stdout, indent=2)
        stdout.write("\n")
    else:
        for diagnostic in diagnostics:
            stdout.write(render_with_source(diagnostic) + "\n")
        errors = sum(d.severity == "error" for d in diagnostics)
        warnings = len(diagnostics) - errors
        summary = f"{errors} error{'s' if errors != 1 else ''}, {warnings} warning{'s' if warnings != 1 else ''}"
        (stderr if diagnostics else stdout).write(("ok: no problems found" if not diagnostics else summary) + "\n")
    failing = [d for d in diagnostics if d.severity == "error" or args.strict]
    return EXIT_RULE_ERRORS if failing else 0


def sarif(diagnostics: list[Diagnostic]) -> dict:
    """A SARIF 2.1.0 log of the diagnostics: one result per diagnostic, one rule per code, with the help."""
    codes = sorted({d.code for d in diagnostics})
    results = []
    for d in diagnostics:
        result: dict = {"ruleId": d.code, "ruleIndex": codes.index(d.code),
                        "level": "error" if d.severity == "error" else "warning",
                        "message": {"text": d.message + (f"\nhelp: {d.help}" if d.help else "")}}
        if d.file:
            location: dict = {"artifactLocation": {"uri": pathlib.Path(d.file).as_posix()}}
            if d.line > 0:
                location["region"] = {"startLine": d.line, **({"startColumn": d.column} if d.column > 0 else {})}
            result["locations"] = [{"physicalLocation": location}]
        if d.rule:
            result["properties"] = {"rule": d.rule}
        results.append(result)
    return {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "discretion", "version": __version__,
                                "rules": [{"id": code, "name": code} for code in codes]}},
            "results": results,
        }],
    }

