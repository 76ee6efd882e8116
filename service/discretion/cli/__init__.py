"""The `discretion` command: one entry point, a module per subcommand.

`run(argv, stdout, stderr) -> exit code` is what tests call in-process; `main()`
is the installed console script. Each subcommand module has `register(subparsers)`
which sets `func(args, stdout, stderr) -> int` on its parser.

Exit codes: 0 success, 1 a change found (diff), 2 usage error, 3 rule errors,
4 failing tests.
"""

from __future__ import annotations

import argparse
import sys
from typing import Sequence, TextIO

from . import diff, explain, hash_token, lint, matrix, serve, test

COMMANDS = (serve, lint, test, explain, matrix, diff, hash_token)


class _Parser(argparse.ArgumentParser):
    """argparse writes usage errors to sys.stderr; route them to our stderr."""

    stderr: TextIO = sys.stderr

    def _print_message(self, message: str, file=None) -> None:  # noqa: ARG002
        if message:
            self.stderr.write(message)


def build_parser(stdout: TextIO, stderr: TextIO) -> argparse.ArgumentParser:
    _Parser.stderr = stderr
    parser = _Parser(prog="discretion", description="A policy engine for community norms.")
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
    return args.func(args, stdout, stderr)


def main() -> None:
    sys.exit(run())
