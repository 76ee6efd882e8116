"""`discretion matrix AGREEMENT`: what an agreement means, as a table a group member can read.

Computed by deciding every cell with the compiled rules (see discretion.author.matrix).
"""

from __future__ import annotations

import pathlib
from typing import TextIO

from ..escape import terminal
from ..author.matrix import UnknownAgreement, build_matrix, select
from ..author.render import to_html, to_markdown
from ..engine.model import USES
from ..errors import did_you_mean
from .common import EXIT_RULE_ERRORS, EXIT_USAGE, load_or_report


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "matrix", help="what an agreement means: actions × destinations → allow, deny or obligations",
        description="Decide every action toward every destination kind (and every label value the agreement "
                    "reads) under one agreement, and print the table as Markdown or a self-contained HTML page.")
    parser.add_argument("agreement", metavar="AGREEMENT", help="an agreement id, or `id@version`")
    parser.add_argument("--with", dest="beside", action="append", default=[], metavar="AGREEMENT",
                        help="also adopted by the example's group (repeatable): an agreement that only restricts "
                             "shows what it takes away from one that permits")
    parser.add_argument("--use", choices=USES, default="",
                        help="the recipient's use the example states (`purpose.use`); unstated reads as the most "
                             "invasive")
    parser.add_argument("--rules", default="rules", metavar="DIR", help="the rules directory (default: rules)")
    parser.add_argument("--format", choices=("markdown", "html"), default="markdown")
    parser.add_argument("--output", "-o", metavar="FILE", help="write to FILE instead of standard output")
    parser.set_defaults(func=run)


def run(args, stdout: TextIO, stderr: TextIO) -> int:
    rules = load_or_report(args.rules, stderr)
    if rules is None:
        return EXIT_RULE_ERRORS
    versions = []
    for name in (args.agreement, *args.beside):
        try:
            versions.append(select(rules.policy, name))
        except UnknownAgreement as error:
            hint = did_you_mean(name, error.choices)
            stderr.write(terminal(f"error: {error}") + (f"\n  help: {terminal(hint)}" if hint else "") + "\n")
            return EXIT_USAGE
    version, *beside = versions
    matrix = build_matrix(rules.policy, rules.documents, version, beside=tuple(beside), use=args.use)
    text = to_html(matrix) if args.format == "html" else to_markdown(matrix)
    if args.output:
        try:
            pathlib.Path(args.output).write_text(text, encoding="utf-8")
        except OSError as error:
            stderr.write(terminal(f"error: cannot write `{args.output}`: {error.strerror}") + "\n")
            return EXIT_USAGE
        stderr.write(terminal(f"wrote {args.output}") + "\n")
    else:
        stdout.write(text)
    return 0
