"""`discretion fmt PATH…`: rewrite rule files and suites in the canonical layout (policy/layout.py).

Exit 0 when every file is in the layout (or was rewritten into it), 1 with
`--check` or `--diff` when one is not (nothing is written), 3 when a file
cannot be laid out (it is left as it is), 2 on a usage error. `-` reads
standard input and writes the result to standard output.
"""

from __future__ import annotations

import difflib
import os
import pathlib
import sys
import tempfile
from typing import TextIO

from ..escape import terminal, terminal_lines
from ..errors import Diagnostic
from ..policy.layout import format_file
from ..store.files import RULE_SUFFIXES
from .common import EXIT_CHANGED, EXIT_RULE_ERRORS, EXIT_USAGE, add_rule_paths, render_with_source, rule_paths


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "fmt", help="rewrite rule files and suites in one canonical layout, keeping comments",
        description="Lay out every rule file and suite (`*.yaml`, `*.yml`) under the paths the same way: two "
                    "spaces a level, flow collections spaced and wrapped at 120 columns, comments and values "
                    "kept as written. A file that cannot be laid out without changing what it says is left as "
                    "it is.")
    add_rule_paths(parser, "rule folders or files; `-` reads standard input and writes standard output")
    parser.add_argument("--check", action="store_true",
                        help="write nothing; name each file not in the layout and exit 1 if there is one (for CI)")
    parser.add_argument("--diff", action="store_true", help="write nothing; show what would change, as a diff")
    parser.set_defaults(func=run)


def run(args, stdout: TextIO, stderr: TextIO) -> int:
    paths = rule_paths(args)
    if "-" in paths:
        if len(paths) > 1:
            stderr.write("error: `-` (standard input) is formatted alone\n")
            return EXIT_USAGE
        return _stream(args, stdout, stderr)
    missing = [p for p in paths if not pathlib.Path(p).exists()]
    if missing:
        stderr.write(terminal(f"error: `{missing[0]}` does not exist") + "\n")
        return EXIT_USAGE
    other = [p for p in paths if pathlib.Path(p).is_file() and not p.endswith(RULE_SUFFIXES)]
    if other:
        stderr.write(terminal(f"error: `{other[0]}` is not a rule file or suite (`*.yaml`, `*.yml`)") + "\n")
        return EXIT_USAGE
    files = list(dict.fromkeys(f for p in paths for f in _files(pathlib.Path(p))))
    errors: list[Diagnostic] = []
    changed = []
    for path in files:
        try:
            content = path.read_bytes()
        except OSError as error:
            errors.append(Diagnostic("no_rules", f"cannot read `{path}`: {error.strerror}", str(path)))
            continue
        formatted, problems = format_file(str(path), content)
        if formatted is None:
            errors += problems
            continue
        if formatted == content:
            continue
        changed.append(path)
        if args.diff:
            stdout.write(terminal_lines(list(_diff(path, content, formatted))))
        elif args.check:
            stdout.write(terminal(f"not in the layout: {path}") + "\n")
        else:
            try:
                _replace(path, formatted)
            except OSError as error:
                errors.append(Diagnostic("cannot_format", f"cannot write `{path}`: {error.strerror}", str(path),
                                         help="the file is left as it was"))
                continue
            stdout.write(terminal(f"laid out: {path}") + "\n")
    for diagnostic in sorted(errors, key=Diagnostic.sort_key):
        stderr.write(render_with_source(diagnostic) + "\n")
    if errors:
        return EXIT_RULE_ERRORS
    if changed and (args.check or args.diff):
        stderr.write(f"{len(changed)} of {len(files)} file{'s' if len(files) != 1 else ''} not in the layout: "
                     "run `discretion fmt` on them\n")
        return EXIT_CHANGED
    return 0


def _files(path: pathlib.Path) -> list[pathlib.Path]:
    """The YAML files under a folder (hidden entries skipped, as the server skips them), or the file named."""
    if path.is_file():
        return [path]
    return [p for p in sorted(path.rglob("*")) if p.is_file() and p.name.endswith(RULE_SUFFIXES)
            and not any(part.startswith(".") for part in p.relative_to(path).parts)]


def _stream(args, stdout: TextIO, stderr: TextIO) -> int:
    """Standard input laid out to standard output; with `--check` or `--diff`, whether it is in the layout."""
    content = sys.stdin.buffer.read()
    formatted, problems = format_file("<stdin>", content)
    if formatted is None:
        for diagnostic in problems:
            stderr.write(terminal(diagnostic.render()) + "\n")
        return EXIT_RULE_ERRORS
    if not (args.check or args.diff):
        stdout.write(formatted.decode("utf-8"))
        return 0
    if formatted == content:
        return 0
    if args.diff:
        stdout.write(terminal_lines(list(_diff(pathlib.Path("<stdin>"), content, formatted))))
    else:
        stdout.write("not in the layout: <stdin>\n")
    return EXIT_CHANGED


def _diff(path: pathlib.Path, before: bytes, after: bytes):
    old = before.decode("utf-8").splitlines()
    new = after.decode("utf-8").splitlines()
    yield from difflib.unified_diff(old, new, f"{path}", f"{path} (laid out)", lineterm="")


def _replace(path: pathlib.Path, content: bytes) -> None:
    """Written whole or not at all (a server reloading the folder never reads half a file), keeping the mode."""
    path = path.resolve()  # through a symbolic link (a ConfigMap's), to the file it names
    status = path.stat()
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".fmt")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(content)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(temporary, status.st_mode & 0o7777)
        try:
            os.chown(temporary, status.st_uid, status.st_gid)  # the owner's file stays the owner's
        except PermissionError:
            pass  # only the owner's group or root may give it away; the new file is then the writer's
        os.replace(temporary, path)
    except BaseException:
        pathlib.Path(temporary).unlink(missing_ok=True)
        raise
