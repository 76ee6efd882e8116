"""The `discretion` command: one entry point, a module per subcommand.

`run(argv, stdout, stderr) -> exit code` is what tests call in-process; `main()`
is the installed console script. Each subcommand module has `register(subparsers)`
which sets `func(args, stdout, stderr) -> int` on its parser.

Exit codes: 0 success, 1 a change found (diff), 2 usage error (a file that
cannot be read as what the command takes included), 3 rule errors, 4 failing
tests, 70 a fault of the tool itself.
"""

from __future__ import annotations

import argparse
import sys
from typing import Sequence, TextIO

from .. import __version__
from . import diff, explain, fmt, hash_token, health, lint, matrix, serve, test
from .common import EXIT_INTERNAL

COMMANDS = (serve, health, lint, fmt, test, explain, matrix, diff, hash_token)
# The author tools answer any file with a diagnostic and one of their exit
# codes. Should one of them still fail, the author sees what failed and 70,
# not a traceback and Python's 1, which `diff` means as "changed". `serve`
# keeps its own handling: it says why it cannot start and exits 2.
_AUTHOR_TOOLS = {"lint", "fmt", "test", "explain", "matrix", "diff"}


class _Parser(argparse.ArgumentParser):
    """argparse writes to sys.stdout and sys.stderr; route them to ours."""

    stdout: TextIO = sys.stdout
    stderr: TextIO = sys.stderr

    def _print_message(self, message: str, file=None) -> None:
        if message:
            (self.stdout if file is sys.stdout else self.stderr).write(message)


def build_parser(stdout: TextIO, stderr: TextIO) -> argparse.ArgumentParser:
    _Parser.stdout = stdout
    _Parser.stderr = stderr
    parser = _Parser(prog="discretion", description="A policy engine for community norms.")
    parser.add_argument("--version", action="version", version=f"discretion {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for command in COMMANDS:
        command.register(subparsers)
    return parser


def run(argv: Sequence[str] | None = None, stdout: TextIO | None = None, stderr: TextIO | None = None) -> int:
    stdout = stdout or sys.stdout
    stderr = stderr or sys.stderr
    parser = build_parser(stdout, stderr)
    try:
        args = parser.parse_args(list(argv) if argv is not None else None)
    except SystemExit as exit_:
        return int(exit_.code or 0)
    if args.command not in _AUTHOR_TOOLS:
        return args.func(args, stdout, stderr)
    try:
        return args.func(args, stdout, stderr)
    except Exception as error:  # noqa: BLE001 — see _AUTHOR_TOOLS
        detail = str(error) if len(str(error)) <= 300 else str(error)[:300] + "…"
        stderr.write(f"error: `discretion {args.command}` failed: {type(error).__name__}: {detail}\n"
                     "  help: unless that is about this system (a full disk, a closed output), it is a fault of "
                     "discretion: please report it with the command and the files it read\n")
        return EXIT_INTERNAL


def main() -> None:
    sys.exit(run())
