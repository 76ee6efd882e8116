"""What the subcommands share: exit codes, loading rules with their diagnostics, rendering a diagnostic.

Everything a subcommand writes to the terminal that a rule file, a suite, a
request or the command line supplied goes through discretion/escape.py's
`terminal`, so no such text can move the cursor, overwrite or reorder a line.
"""

from __future__ import annotations

import dataclasses
import pathlib
from typing import TextIO

from ..escape import terminal
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


def add_rule_paths(parser, help: str) -> None:
    """PATH… and `--rules DIR`, as every author tool takes them: both name rules to read; neither means `rules`."""
    parser.add_argument("paths", nargs="*", metavar="PATH", help=f"{help} (default: rules)")
    parser.add_argument("--rules", action="append", default=[], metavar="DIR",
                        help="the rules directory, as a PATH (may be given more than once)")


def rule_paths(args) -> list[str]:
    """The paths `add_rule_paths` read, in the order given; `rules` when none was."""
    return [*args.paths, *args.rules] or ["rules"]


def load_or_report(root: str | pathlib.Path, stderr: TextIO) -> RuleSet | None:
    """The compiled rules, or None after writing their errors (as `lint` shows them) to `stderr`."""
    rules = load_rules(root)
    if rules.ok:
        return rules
    for diagnostic in sorted(rules.errors, key=Diagnostic.sort_key):
        stderr.write(render_with_source(diagnostic) + "\n")
    count = len(rules.errors)
    stderr.write(terminal(f"{count} error{'s' if count != 1 else ''} in `{root}`: run `discretion lint {root}`") + "\n")
    return None


def render_with_source(diagnostic: Diagnostic) -> str:
    """The diagnostic, then the offending line with a caret under the column, then the help.

    Each line is escaped on its own (a message quotes the author's values, the
    source line is theirs), and the caret counts the escaped characters before
    the column, so it stays under the place it points at.
    """
    lines = [terminal(dataclasses.replace(diagnostic, help="").render())]
    source_line = _line(diagnostic.file, diagnostic.line)
    if source_line is not None:
        number = str(diagnostic.line)
        column = max(diagnostic.column - 1, 0)
        if len(source_line) > _SNIPPET:
            # A line of a flow-style or generated file can be a megabyte: show the
            # stretch around the column, marked as cut on each side it was.
            start = max(0, min(column - _SNIPPET // 2, len(source_line) - _SNIPPET))
            cut = source_line[start:start + _SNIPPET]
            source_line = ("…" if start else "") + cut + ("…" if start + _SNIPPET < len(source_line) else "")
            column = column - start + (1 if start else 0)
        indent = len(terminal(source_line[:column])) + max(column - len(source_line), 0)
        lines.append(f"{' ' * len(number)} |")
        lines.append(f"{number} | {terminal(source_line)}")
        lines.append(f"{' ' * len(number)} | {' ' * indent}^")
    if diagnostic.help:
        lines.append(f"  = help: {terminal(diagnostic.help)}")
    return "\n".join(lines)


_SNIPPET = 120  # characters of a long source line shown around the column


def _line(file: str, line: int) -> str | None:
    if not file or line < 1:
        return None
    try:
        text = pathlib.Path(file).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return None
    return text[line - 1] if line <= len(text) else None
