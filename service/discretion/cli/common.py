"""What the subcommands share: exit codes, loading rules with their diagnostics, rendering a diagnostic."""

from __future__ import annotations

import pathlib
from typing import TextIO

from ..author.workspace import RuleSet, load_rules
from ..errors import Diagnostic

EXIT_OK = 0
EXIT_CHANGED = 1  # diff: something would change
EXIT_USAGE = 2
EXIT_RULE_ERRORS = 3
EXIT_TESTS_FAILED = 4
# A fault of the tool itself (a bug), never 1: Python's exit code for an
# uncaught exception is `diff`'s "changed", which CI would read as an answer.
EXIT_INTERNAL = 70  # sysexits' EX_SOFTWARE


def load_or_report(root: str | pathlib.Path, stderr: TextIO) -> RuleSet | None:
    """The compiled rules, or None after writing their errors (as `lint` shows them) to `stderr`."""
    rules = load_rules(root)
    if rules.ok:
        return rules
    for diagnostic in sorted(rules.errors, key=Diagnostic.sort_key):
        stderr.write(render_with_source(diagnostic) + "\n")
    count = len(rules.errors)
    stderr.write(f"{count} error{'s' if count != 1 else ''} in `{root}`: run `discretion lint {root}`\n")
    return None


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
