"""`discretion lint PATH…`: every problem in the rules at once, where it is and how to fix it.

Exit 0 when clean, 3 when there are errors (warnings fail only with --strict).
"""

from __future__ import annotations

import json
import pathlib
from typing import TextIO

from ..errors import Diagnostic, PolicyError
from ..store import compile_directory

EXIT_RULE_ERRORS = 3


def register(subparsers) -> None:
    parser = subparsers.add_parser("lint", help="check rule files and report every problem with its place")
    parser.add_argument("paths", nargs="+", help="rule folders or files")
    parser.add_argument("--format", choices=("text", "json"), default="text")
    parser.add_argument("--strict", action="store_true", help="fail on warnings too")
    parser.set_defaults(func=run)


def lint_paths(paths: list[str]) -> list[Diagnostic]:
    found: list[Diagnostic] = []
    for path in paths:
        try:
            compile_directory(pathlib.Path(path))
        except PolicyError as error:
            found.extend(error.diagnostics)
    return sorted(found, key=Diagnostic.sort_key)


def run(args, stdout: TextIO, stderr: TextIO) -> int:
    diagnostics = lint_paths(args.paths)
    if args.format == "json":
        json.dump({"diagnostics": [d.to_dict() for d in diagnostics]}, stdout, indent=2)
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


def render_with_source(diagnostic: Diagnostic) -> str:
    """The diagnostic, then the offending line with a caret under the column, then the help."""
    head = diagnostic.render().split("\n  help: ")[0]
    lines = [head]
    source_line = _line(diagnostic.file, diagnostic.line)
    if source_line is not None:
        number = str(diagnostic.line)
        lines.append(f"{' ' * len(number)} |")
        lines.append(f"{number} | {source_line}")
        lines.append(f"{' ' * len(number)} | {' ' * max(diagnostic.column - 1, 0)}^")
    if diagnostic.help:
        lines.append(f"  = help: {diagnostic.help}")
    return "\n".join(lines)


def _line(file: str, line: int) -> str | None:
    if not file or line < 1:
        return None
    try:
        text = pathlib.Path(file).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    return text[line - 1] if line <= len(text) else None
