"""Diagnostics: every problem a policy author can make, with where and how to fix it.

A Diagnostic is data (code, message, help, position, rule id) so the same
objects feed the CLI, the server's logs and status RPC, and the tests.
Messages follow the style guide: lowercase, user values in backticks, the fix
in `help`, a stable `code` tests can match.

A request that cannot be decided is the caller's problem, not the author's:
its violations name fields of the request (`items[0].id`), as the server's
INVALID_ARGUMENT does, and the author tools name the same ones.

The error tree:

    DiscretionError            base of everything this package raises
    ├── PolicyError            rule files that cannot be compiled; carries
    │                          every Diagnostic found, sorted
    └── RequestInvalid         a request that cannot be understood; carries
                               a FieldViolation for every field at fault
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import Iterable, Sequence


@dataclass(frozen=True, slots=True)
class Diagnostic:
    code: str
    message: str
    file: str = ""
    line: int = 0  # 1-based; 0 when the problem has no place in a file
    column: int = 0  # 1-based
    rule: str = ""  # the rule id, when the problem is inside a rule
    help: str = ""
    severity: str = "error"  # or "warning"

    def sort_key(self) -> tuple:
        return (self.file, self.line, self.column, self.code, self.message)

    def render(self) -> str:
        """`file:line:column: message [code]`, the form editors and CI understand."""
        where = f"{self.file}:{self.line}:{self.column}" if self.file else "<policy>"
        rule = f" (rule `{self.rule}`)" if self.rule else ""
        severity = "warning: " if self.severity == "warning" else ""
        head = f"{where}: {severity}{self.message}{rule} [{self.code}]"
        return f"{head}\n  help: {self.help}" if self.help else head

    def to_dict(self) -> dict:
        return {
            "code": self.code,
            "severity": self.severity,
            "message": self.message,
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "rule": self.rule,
            "help": self.help,
        }


class DiscretionError(Exception):
    """Base of every error this package raises."""


class PolicyError(DiscretionError):
    """The rule files have errors; `diagnostics` holds all of them, sorted."""

    def __init__(self, diagnostics: Iterable[Diagnostic]):
        self.diagnostics: tuple[Diagnostic, ...] = tuple(sorted(diagnostics, key=Diagnostic.sort_key))
        count = len(self.errors)
        super().__init__(f"{count} error{'s' if count != 1 else ''} in the rules")

    @property
    def errors(self) -> tuple[Diagnostic, ...]:
        return tuple(d for d in self.diagnostics if d.severity == "error")


@dataclass(frozen=True, slots=True)
class FieldViolation:
    field: str  # a path into the request, e.g. `items[0].id` or `checks[3].actor.id`
    description: str


class RequestInvalid(DiscretionError):
    """The request cannot be understood; `violations` names every field at fault."""

    def __init__(self, violations: Iterable[FieldViolation]):
        self.violations: tuple[FieldViolation, ...] = tuple(violations)
        count = len(self.violations)
        fields = ", ".join(f"`{v.field}`" for v in self.violations)
        super().__init__(f"{count} invalid field{'s' if count != 1 else ''}: {fields}")


def did_you_mean(word: str, choices: Sequence[str]) -> str:
    """A help text naming the closest known word, or listing the choices."""
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    if close:
        return f"did you mean `{close[0]}`?"
    if len(choices) <= 12:
        return "expected one of " + ", ".join(f"`{c}`" for c in choices)
    return ""
